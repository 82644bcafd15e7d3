//! EVTX throughput: the `evtx_input` modular input (rendering as the Windows
//! add-on does, XML streaming, a checkpoint commit after every write) beside
//! `evtx_dump -t 1 -o xml` from the evtx crate, single thread each, on EVTX
//! files copied until the corpus reaches `--mb` megabytes: the bundled
//! undamaged fixtures, or every `.evtx` below `--from DIR`. (The bundled
//! file with a bad chunk is left out by default: evtx_dump spends 80 ms on
//! it, which would flatter us.)
//!
//! ```text
//! cargo install evtx --version 0.11.0     # provides evtx_dump
//! cargo build --release
//! cargo run --release --example evtx_bench -- [--mb 100] [--runs 5] [--evtx-dump PATH]
//!     [--from DIR] [--input PATH]
//! ```
//!
//! Each copy is its own input stanza: copies of one log share an identity,
//! and one stanza reads a log once however many copies it finds.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Occurrences of `needle` in everything `r` gives (a fast reader, so the
/// consumer is not what is measured).
fn count(mut r: impl Read, needle: &[u8]) -> std::io::Result<u64> {
    let finder = memchr::memmem::Finder::new(needle);
    let mut buf = vec![0u8; 1 << 20];
    let (mut n, mut keep) = (0u64, 0usize);
    loop {
        let got = r.read(&mut buf[keep..])?;
        if got == 0 {
            return Ok(n);
        }
        let end = keep + got;
        n += finder.find_iter(&buf[..end]).count() as u64;
        // Keep a tail shorter than the needle: a match across two reads.
        keep = (needle.len() - 1).min(end);
        buf.copy_within(end - keep..end, 0);
    }
}

/// CPU seconds of the children waited for so far (Linux: cutime + cstime
/// of /proc/self/stat, in clock ticks of 1/100 s); 0 elsewhere.
fn children_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields after the command name start at field 3; cutime is 16, cstime 17.
    (f.get(13).unwrap_or(&0.0) + f.get(14).unwrap_or(&0.0)) / 100.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let mb: u64 = arg("--mb").map_or(Ok(100), |s| s.parse())?;
    let dump = arg("--evtx-dump").unwrap_or_else(|| "evtx_dump".into());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let input =
        arg("--input").map_or_else(|| root.join("target/release/evtx_input"), PathBuf::from);
    if !input.exists() {
        return Err(format!("{} missing: cargo build --release", input.display()).into());
    }

    let work = std::env::temp_dir().join(format!("wd-evtx-bench-{}", std::process::id()));
    let corpus = work.join("corpus");
    std::fs::create_dir_all(&corpus)?;
    let fixtures = match arg("--from") {
        Some(dir) => winrmdetect::modinput::expand(&dir)?,
        None => {
            let mut f =
                winrmdetect::modinput::expand(&root.join("tests/fixtures/evtx").to_string_lossy())?;
            f.retain(|p| !p.to_string_lossy().contains("bad_chunk"));
            f
        }
    };
    if fixtures.is_empty() {
        return Err("no .evtx files".into());
    }
    let (mut files, mut bytes) = (Vec::new(), 0u64);
    'fill: for copy in 0.. {
        for f in &fixtures {
            if bytes >= mb << 20 {
                break 'fill;
            }
            let to = corpus.join(format!("{copy:04}-{}.evtx", files.len()));
            bytes += std::fs::copy(f, &to)?;
            files.push(to);
        }
    }
    println!(
        "corpus: {} files, {:.1} MB ({} fixtures repeated)",
        files.len(),
        bytes as f64 / 1e6,
        fixtures.len()
    );

    // The stanzas for evtx_input: one process for the whole corpus.
    let stanzas: String = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            format!(
                "<stanza name=\"evtx_input://f{i}\"><param name=\"path\">{}</param></stanza>",
                f.display()
            )
        })
        .collect();

    // Best of `--runs` for each, interleaved: the machines this runs on are
    // noisy, and the least time is the one least disturbed.
    let runs: usize = arg("--runs").map_or(Ok(5), |s| s.parse())?;
    let (mut dumped, mut dump_s, mut dump_cpu) = (0u64, f64::MAX, f64::MAX);
    let (mut events, mut input_s, mut input_cpu) = (0u64, f64::MAX, f64::MAX);
    for run in 0..runs {
        // evtx_dump, one process per file, single thread, XML.
        let (t0, c0) = (Instant::now(), children_cpu());
        dumped = 0;
        for f in &files {
            let mut c = Command::new(&dump)
                .args(["-t", "1", "-o", "xml"])
                .arg(f)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| {
                    format!("running {dump}: {e} (cargo install evtx --version 0.11.0)")
                })?;
            dumped += count(c.stdout.take().unwrap(), b"<Event xmlns")?;
            c.wait()?;
        }
        dump_s = dump_s.min(t0.elapsed().as_secs_f64());
        dump_cpu = dump_cpu.min(children_cpu() - c0);

        // evtx_input, from fresh checkpoints.
        let cfg = format!(
            "<input><checkpoint_dir>{}</checkpoint_dir><configuration>{stanzas}</configuration></input>",
            work.join(format!("cp{run}")).display()
        );
        let (t0, c0) = (Instant::now(), children_cpu());
        let mut c = Command::new(&input)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        c.stdin.take().unwrap().write_all(cfg.as_bytes())?;
        events = count(c.stdout.take().unwrap(), b"<event ")?;
        c.wait()?;
        input_s = input_s.min(t0.elapsed().as_secs_f64());
        input_cpu = input_cpu.min(children_cpu() - c0);
    }
    println!("best of {runs} runs each:");

    let rate = |n: u64, s: f64| n as f64 / s;
    println!(
        "evtx_dump -t 1 -o xml: {dumped} records, {dump_s:.2} s wall, {dump_cpu:.2} CPU-s = {:.0} records/s, {:.0} records/CPU-s",
        rate(dumped, dump_s),
        rate(dumped, dump_cpu)
    );
    println!(
        "evtx_input:            {events} events,  {input_s:.2} s wall, {input_cpu:.2} CPU-s = {:.0} records/s, {:.0} records/CPU-s",
        rate(events, input_s),
        rate(events, input_cpu)
    );
    println!(
        "evtx_input / evtx_dump: {:.0}% wall, {:.0}% per CPU-second (target >= 90%){}",
        100.0 * rate(events, input_s) / rate(dumped, dump_s),
        100.0 * rate(events, input_cpu) / rate(dumped, dump_cpu),
        if events == dumped {
            ""
        } else {
            "  RECORD COUNTS DIFFER"
        }
    );
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
