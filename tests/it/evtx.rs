//! Issue 4: the EVTX reader, the `evtx_input` modular input and `hunt`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use winrmdetect::event::Event;
use winrmdetect::evtx::{EvtxFile, Position, Rendered};

use crate::harness::*;

fn records(name: &str) -> (Vec<Rendered>, usize) {
    let mut f = EvtxFile::open(&fixture_path(&format!("evtx/{name}"))).unwrap();
    let (mut out, mut damaged) = (Vec::new(), 0);
    f.read_from(
        Position::default(),
        |r, _| {
            out.push(r);
            true
        },
        |_| damaged += 1,
    );
    (out, damaged)
}

/// The rendered records agree with the CSV made from the same file (the
/// evtx crate's XML turned into columns) on EventCode, Computer and every
/// EventData field, read back through the `_raw` fallback as a search would.
#[test]
fn issue4_rendering_agrees_with_the_csv_of_the_same_file() {
    let (recs, damaged) = records("mdec_wmiexec_via_smb.evtx");
    assert_eq!(damaged, 0);
    let csv_rows = input_rows(&fixture("mdec_wmiexec_via_smb.csv"));
    assert_eq!(recs.len(), csv_rows.len(), "every record read");
    let by_id: BTreeMap<String, &Row> = csv_rows
        .iter()
        .map(|r| (r.get("EventRecordID"), r))
        .collect();
    let mut compared = 0;
    for r in &recs {
        assert!(r.xml.starts_with(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
        ));
        assert!(!r.xml.contains('"') && !r.xml.contains("<?xml"));
        let ev = winrmdetect::event::raw_xml::parse_event(&r.xml).expect("rendered XML parses");
        let id = ev
            .get(winrmdetect::event::F::EventCode)
            .value()
            .unwrap()
            .to_string();
        let row = by_id
            .get(
                r.xml
                    .split("<EventRecordID>")
                    .nth(1)
                    .and_then(|x| x.split('<').next())
                    .unwrap_or_default(),
            )
            .expect("record in the CSV");
        assert_eq!(id, row.get("EventCode"));
        assert_eq!(r.computer, row.get("Computer"));
        for (k, v) in &row.0 {
            let v = String::from_utf8_lossy(v);
            if [
                "CommandLine",
                "NewProcessName",
                "ParentProcessName",
                "TargetUserName",
                "IpAddress",
                "LogonType",
                "ShareName",
                "RelativeTargetName",
            ]
            .contains(&k.as_str())
                && !v.is_empty()
            {
                assert_eq!(
                    field(&ev, k),
                    v.replace("\r\n", "\n"),
                    "{k} of record {}",
                    r.record_id
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 100, "{compared} field values compared");
}

/// Regression (found by `examples/evtx_conformance.rs`): an empty unnamed
/// `<Data/>` was not counted, so the 800 event's `Data_2` held the third
/// value.
#[test]
fn issue4_an_empty_data_keeps_its_place_among_unnamed_data() {
    let (recs, _) = records("mdec_powerlurk_4103_4104.evtx");
    let r = recs
        .iter()
        .find(|r| r.xml.contains("<EventRecordID>28810<"))
        .expect("record 28810");
    assert!(r.xml.contains("<EventData><Data/><Data>"), "{}", r.xml);
    let ev = winrmdetect::event::raw_xml::parse_event(&r.xml).unwrap();
    assert_eq!(field(&ev, "Data_1"), "");
    assert!(field(&ev, "Data_2").starts_with("\tDetailSequence=1"));
    assert!(field(&ev, "Data_3").starts_with("CommandInvocation(PSConsoleHostReadline)"));
}

fn field(ev: &winrmdetect::event::PairsEvent, name: &str) -> String {
    ev.pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

#[test]
fn issue4_damaged_chunks_are_skipped_and_reported() {
    let (recs, damaged) = records("sample_with_a_bad_chunk_magic.evtx");
    assert!(damaged >= 1);
    assert!(
        recs.len() >= 260,
        "{} records read past the bad chunk",
        recs.len()
    );
}

/// (chunk, record id) of every record read, and the damage reports.
fn read_positions<R: std::io::Read + std::io::Seek + 'static>(
    mut f: EvtxFile<R>,
) -> (Vec<(u64, u64)>, Vec<String>) {
    let (mut read, mut damage) = (Vec::new(), Vec::new());
    f.read_from(
        Position::default(),
        |r, pos| {
            read.push((pos.chunk, r.record_id));
            true
        },
        |d| damage.push(d.to_string()),
    );
    (read, damage)
}

/// Found by the `evtx_chunk` fuzz target: a damaged chunk whose string
/// table links loop (A → B → A) hung the evtx crate. The chunk is now
/// reported as damaged and every record of the other chunks is read.
#[test]
fn issue5_fuzz_evtx_string_table_loop_is_damage_not_a_hang() {
    let path = fixture_path("evtx/mdec_wmiexec_via_smb.evtx");
    let (all, _) = read_positions(EvtxFile::open(&path).unwrap());
    let mut file = std::fs::read(&path).unwrap();
    // Chunk 0 starts at 4096; slot 0 of its string table points at 0x300,
    // whose link points at 0x340, whose link points back at 0x300.
    for (at, v) in [(128, 0x300u32), (0x300, 0x340), (0x340, 0x300)] {
        file[4096 + at..4096 + at + 4].copy_from_slice(&v.to_le_bytes());
    }
    let on_loop = winrmdetect::evtx::string_table_loop(&file[4096..4096 + 65536]);
    assert!(matches!(on_loop, Some(0x300 | 0x340)), "{on_loop:?}");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let f = EvtxFile::from_reader(
            std::io::Cursor::new(file),
            std::path::Path::new("loop.evtx"),
        )
        .unwrap();
        let _ = tx.send(read_positions(f));
    });
    let (read, damage) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("reading a chunk with a looping string table must end");
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert!(
        damage[0].starts_with("chunk 0: skipped: ") && damage[0].contains("loop"),
        "{damage:?}"
    );
    let others: Vec<_> = all.iter().copied().filter(|&(c, _)| c != 0).collect();
    assert!(!others.is_empty() && others.len() < all.len());
    assert_eq!(read, others);
}

/// Found by the `evtx_chunk` fuzz target (under AddressSanitizer's
/// allocation limit): a damaged record whose substitution count is huge
/// made the evtx crate reserve 7 GB, and a failed allocation aborts the
/// process (a modular input would then die on the same record at every
/// restart). `vendor/evtx` caps the reservation; under a 3 GB address-space
/// limit `hunt` now reports the damaged records and finishes.
#[test]
fn issue5_fuzz_evtx_huge_substitution_count_does_not_abort() {
    let file = fixture_path("fuzz/huge_substitution_count.evtx");
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 3000000 && exec "$0" hunt "$1""#)
        .arg(env!("CARGO_BIN_EXE_winrmdetect"))
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("chunk 0 record 1: skipped"),
        "the damaged record is reported: {stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 hops"));
}

/// Found by the `evtx_chunk` fuzz target (a timeout under AddressSanitizer):
/// a damaged record whose element holds several arrays expanded to their
/// cross-product, 455 MB and over a second for one 64 KiB chunk.
/// `vendor/evtx` caps the expansion; under a 200 MB address-space limit
/// `hunt` reports the record as damaged and finishes.
#[test]
fn issue15_fuzz_evtx_array_cross_product_is_damage() {
    let file = fixture_path("fuzz/array_cross_product.evtx");
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 200000 && exec "$0" hunt -q --format json "$1""#)
        .arg(env!("CARGO_BIN_EXE_winrmdetect"))
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("chunk 0 record 2: skipped"),
        "the damaged record is reported: {stdout}"
    );
}

fn input_bin() -> &'static str {
    env!("CARGO_BIN_EXE_evtx_input")
}

fn config(cp: &std::path::Path, path: &str) -> String {
    config_stanzas(cp, path, 1)
}

/// `stanzas` stanzas reading `path`: `evtx_input://t`, `…://t2`, … Each has
/// its own checkpoints, so each emits every record.
fn config_stanzas(cp: &std::path::Path, path: &str, stanzas: usize) -> String {
    let stanza = |i: usize| {
        let name = if i == 1 {
            "t".to_string()
        } else {
            format!("t{i}")
        };
        format!("<stanza name=\"evtx_input://{name}\" app=\"winrmdetect\"><param name=\"path\">{path}</param><param name=\"index\">wineventlog</param></stanza>")
    };
    let stanzas: String = (1..=stanzas).map(stanza).collect();
    format!("<input><server_host>sh</server_host><session_key>SECRETKEY</session_key><checkpoint_dir>{}</checkpoint_dir><configuration>{stanzas}</configuration></input>", cp.display())
}

/// The size the input gives the pipe of its standard output
/// (`modinput::stdout_room`): the most it can write ahead of a reader that
/// has stopped reading.
const INPUT_PIPE: usize = 1 << 20;

/// The most one write of the input holds (`MAX_UNIT` in `modinput`).
const INPUT_UNIT: usize = 65536;

/// How a run of the input ends.
#[derive(Clone, Copy, Debug)]
enum End {
    /// It finishes by itself.
    Done,
    /// kill(2) with the signal after a delay, unless the input has already
    /// exited. Whether it reached a live process is for the run's status
    /// and output to tell ([`InputRun`]).
    Signal(Duration, rustix::process::Signal),
    /// SIGTERM as soon as a whole `<event>` and at least this many bytes
    /// have been read, the test reading nothing more until then: the input
    /// is at most [`INPUT_PIPE`] bytes (and a write) ahead, so when its
    /// output is bigger than that it has not reached its end; its signal
    /// handler is installed, since it wrote.
    TermAfterReading(usize),
}

/// One run of the input: complete `<event>`s (whole elements, as splunkd
/// keeps them), the bytes after the last complete one, and stderr.
struct InputRun {
    events: Vec<String>,
    cut: String,
    err: String,
    status: std::process::ExitStatus,
    /// kill(2) was called, on a child not reaped yet (it may have exited).
    sent: bool,
    /// With [`End::TermAfterReading`]: the bytes of standard output the
    /// test had read when it sent the signal.
    read_when_sent: usize,
}

fn run_input(cfg: &str, end: End) -> InputRun {
    let mut child = Command::new(input_bin())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(cfg.as_bytes())
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).unwrap();
        s
    });
    // Not reaped before `wait` below, so the pid cannot be another
    // process's.
    let pid = rustix::process::Pid::from_child(&child);
    let t0 = Instant::now();
    let (got, sent, read_when_sent) = if let End::TermAfterReading(enough) = end {
        let (mut got, mut buf) = (Vec::new(), [0; 4096]);
        let (mut ended, mut whole_event) = (false, false);
        while !ended && (!whole_event || got.len() < enough) {
            match out.read(&mut buf).unwrap() {
                // It ended first: the caller sees `sent` false.
                0 => ended = true,
                n => {
                    got.extend_from_slice(&buf[..n]);
                    let new = &got[got.len().saturating_sub(n + 8)..];
                    whole_event |= new.windows(9).any(|w| w == b"</event>\n");
                }
            }
        }
        let read = got.len();
        let sent =
            !ended && rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok();
        out.read_to_end(&mut got).unwrap();
        (got, sent, read)
    } else {
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            out.read_to_end(&mut got).unwrap();
            got
        });
        let mut sent = false;
        if let End::Signal(after, sig) = end {
            std::thread::sleep(after);
            if child.try_wait().unwrap().is_none() {
                sent = rustix::process::kill_process(pid, sig).is_ok();
            }
        }
        (reader.join().unwrap(), sent, 0)
    };
    let status = child.wait().unwrap();
    let err = err_reader.join().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(60), "the input hung");
    if let End::Done = end {
        assert!(status.success(), "{err}");
    }
    assert!(!err.contains("SECRETKEY"), "the session key reached stderr");
    let text = String::from_utf8_lossy(&got).into_owned();
    let body = text.trim_start_matches("<stream>\n");
    let mut events = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find("</event>\n") {
        let e = &rest[..i + "</event>\n".len()];
        assert!(e.starts_with("<event "), "garbage between events: {e:.200}");
        events.push(e.to_string());
        rest = &rest[e.len()..];
    }
    let cut = rest.trim_end_matches("</stream>\n").to_string();
    InputRun {
        events,
        cut,
        err,
        status,
        sent,
        read_when_sent,
    }
}

/// (stanza, host, EventRecordID) of an `<event>`.
fn key(e: &str) -> (String, String, String) {
    let after = |tag: &str, end: &[char]| {
        e.split(tag)
            .nth(1)
            .and_then(|x| x.split(end).next())
            .unwrap_or_default()
            .to_string()
    };
    (
        after("<event stanza=\"", &['"']),
        after("<host>", &['<', '&']),
        after("&lt;EventRecordID&gt;", &['<', '&']),
    )
}

/// A small xorshift generator: kill points differ run to run, and the seed
/// is printed so a failure can be replayed (`WD_SEED`).
fn rng() -> impl FnMut(u64) -> u64 {
    let mut s = std::env::var("WD_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("WD_SEED={s}");
    move |n| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % n
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wd-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn issue4_modular_input_scheme_and_validation() {
    let out = Command::new(input_bin()).arg("--scheme").output().unwrap();
    let scheme = String::from_utf8(out.stdout).unwrap();
    assert!(scheme.contains("<streaming_mode>xml</streaming_mode>"));
    assert!(scheme.contains("<arg name=\"path\">"));
    for (path, expect) in [
        ("/nonexistent/x.evtx", "no such file"),
        ("/a*/b.evtx", "wildcards"),
    ] {
        let mut c = Command::new(input_bin())
            .arg("--validate-arguments")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let items =
            format!("<items><item name=\"x\"><param name=\"path\">{path}</param></item></items>");
        c.stdin.take().unwrap().write_all(items.as_bytes()).unwrap();
        let o = c.wait_with_output().unwrap();
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(!o.status.success());
        assert!(
            s.starts_with("<error><message>") && s.contains(expect),
            "{s}"
        );
    }
}

/// Channel and EventID filters, the host override, and a file that is not
/// EVTX among good ones: an ERROR line naming it, the others indexed.
#[test]
fn issue4_filters_host_override_and_a_non_evtx_file() {
    let dir = temp_dir("filters");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::copy(
        fixture_path("evtx/mdec_wmiexec_via_smb.evtx"),
        logs.join("a.evtx"),
    )
    .unwrap();
    std::fs::write(logs.join("junk.evtx"), "not a log").unwrap();
    // A file that vanished between the listing and the reading.
    std::os::unix::fs::symlink(dir.join("nowhere.evtx"), logs.join("gone.evtx")).unwrap();
    let stanza = |name: &str, params: &str| {
        format!(
            "<input><checkpoint_dir>{}</checkpoint_dir><configuration><stanza name=\"evtx_input://{name}\"><param name=\"path\">{}</param>{params}</stanza></configuration></input>",
            dir.join("cp").display(),
            logs.display()
        )
    };
    let p = |k: &str, v: &str| format!("<param name=\"{k}\">{v}</param>");

    let (recs, _) = records("mdec_wmiexec_via_smb.evtx");
    let want = recs
        .iter()
        .filter(|r| r.channel == "Security" && r.event_id == 4688)
        .count();
    assert!(want > 0);
    let run = run_input(
        &stanza(
            "f",
            &(p("channels", "security") + &p("event_ids", "4688, 1")),
        ),
        End::Done,
    );
    assert_eq!(run.events.len(), want);
    assert!(run
        .events
        .iter()
        .all(|e| e.contains("<source>XmlWinEventLog:Security</source>")
            && e.contains("&lt;EventID&gt;4688&lt;/EventID&gt;")));
    assert!(
        run.err.contains("ERROR")
            && run.err.contains("junk.evtx")
            && run.err.contains("not an EVTX file"),
        "{}",
        run.err
    );
    assert!(
        run.err.contains("gone.evtx"),
        "a vanished file is named: {}",
        run.err
    );

    let run = run_input(
        &stanza(
            "h",
            &(p("host_from_computer", "0")
                + &p("host", "collector")
                + &p("channels", "winrmdetect")),
        ),
        End::Done,
    );
    assert_eq!(
        run.events.len(),
        recs.len(),
        "every channel of this file is in the preset"
    );
    assert!(run
        .events
        .iter()
        .all(|e| e.contains("<host>collector</host>")));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regression: a log that wrapped around (chunk 8 holds older ids than
/// chunk 7) resumed inside its chunk 7 lost chunk 8 and 9, whose ids are
/// below the position's.
#[test]
fn issue4_a_wrapped_log_resumes_into_its_older_chunks() {
    let mut f = EvtxFile::open(&fixture_path("evtx/sample_with_a_bad_chunk_magic.evtx")).unwrap();
    let mut all = Vec::new();
    f.read_from(
        Position::default(),
        |r, p| {
            all.push((r.record_id, p));
            true
        },
        |_| (),
    );
    let at = all
        .iter()
        .position(|(id, _)| *id == 47635)
        .unwrap_or_else(|| {
            panic!(
                "record 47635 in {:?}",
                all.iter().map(|(i, p)| (*i, p.chunk)).collect::<Vec<_>>()
            )
        });
    let (_, pos) = all[at];
    assert_eq!(pos.chunk, 7);
    let mut rest = Vec::new();
    let mut f = EvtxFile::open(&fixture_path("evtx/sample_with_a_bad_chunk_magic.evtx")).unwrap();
    f.read_from(
        pos,
        |r, _| {
            rest.push(r.record_id);
            true
        },
        |_| (),
    );
    let want: Vec<u64> = all[at + 1..].iter().map(|(id, _)| *id).collect();
    assert!(want.contains(&45691), "chunk 8 follows");
    assert_eq!(rest, want);
}

/// The checkpoints in `dir`: file name → the newer slot's position.
fn positions(dir: &std::path::Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "ckpt") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let newer = text
            .lines()
            .take(2)
            .filter_map(|l| {
                let f: Vec<_> = l.split_whitespace().collect();
                let seq: u64 = f.get(1)?.strip_prefix("seq=")?.parse().ok()?;
                Some((seq, format!("{} {}", f.get(2)?, f.get(3)?)))
            })
            .max()
            .unwrap_or_else(|| panic!("no slot in {}: {text}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        out.insert(name, newer.1);
    }
    out
}

/// A run stopped part-way resumes from its checkpoints: the stopped and the
/// resumed run together emit what one uninterrupted run does, in its order
/// and each event once, and a third run emits nothing.
///
/// The stop lands part-way by construction ([`End::TermAfterReading`]):
/// four stanzas over the bundled files make more output than the pipe the
/// input can fill ahead of the test.
#[test]
fn issue4_checkpoints_resume_without_loss() {
    let dir = temp_dir("cp");
    let glob = fixture_path("evtx").join("*.evtx");
    let cfg = |cp: &std::path::Path| config_stanzas(cp, &glob.display().to_string(), 4);
    let keys = |events: &[String]| events.iter().map(|e| key(e)).collect::<Vec<_>>();

    let full = run_input(&cfg(&dir.join("full")), End::Done);
    assert!(
        full.err.contains("WARN") && full.err.contains("chunk"),
        "damage reported: {}",
        full.err
    );
    assert!(full.events.len() > 4 * 370, "{} events", full.events.len());
    assert!(full.cut.is_empty());
    let all = keys(&full.events);
    let unique: BTreeSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "each record once per stanza");
    let bytes: usize = full.events.iter().map(String::len).sum();

    let cp = dir.join("cp");
    let first = run_input(&cfg(&cp), End::TermAfterReading(256 << 10));
    assert!(
        first.sent,
        "no SIGTERM: the input ended before the test had read enough: {}",
        first.err
    );
    assert!(
        first.read_when_sent + INPUT_PIPE + INPUT_UNIT < bytes,
        "{} bytes read when stopping, {bytes} in all: the input may have been at its end",
        first.read_when_sent
    );
    assert!(
        first.status.success(),
        "SIGTERM is caught and the input exits cleanly: {:?} {}",
        first.status,
        first.err
    );
    assert!(
        !first.events.is_empty() && first.events.len() < full.events.len(),
        "stopped part-way: {} of {} events",
        first.events.len(),
        full.events.len()
    );
    assert!(
        first.cut.is_empty(),
        "a stop cut an event: {:.200}",
        first.cut
    );
    let (done, part) = (positions(&dir.join("full")), positions(&cp));
    let partly: Vec<_> = part.iter().filter(|(f, p)| done[*f] != **p).collect();
    assert!(
        partly.len() <= 1,
        "files are read one after the other: {partly:?}"
    );

    let resumed = run_input(&cfg(&cp), End::Done);
    assert_eq!(
        resumed.events.len(),
        full.events.len() - first.events.len(),
        "the resumed run emits the rest"
    );
    let mut together = keys(&first.events);
    together.extend(keys(&resumed.events));
    let once: BTreeSet<_> = together.iter().collect();
    assert_eq!(once.len(), together.len(), "an event emitted twice");
    assert_eq!(
        together, all,
        "stopped and resumed: the events of one run, in its order"
    );
    assert!(
        first.events.iter().chain(&resumed.events).eq(&full.events),
        "the same events, byte for byte"
    );

    let again = run_input(&cfg(&cp), End::Done);
    assert!(
        again.events.is_empty(),
        "a run after the end emitted {} events: {:?}",
        again.events.len(),
        keys(&again.events[..again.events.len().min(5)])
    );
    eprintln!(
        "stopped after {} of {} events ({} bytes read when the SIGTERM was sent): \
         {} files read, {} partly {partly:?}, {} not begun; resumed with {}",
        first.events.len(),
        full.events.len(),
        first.read_when_sent,
        part.len() - partly.len(),
        partly.len(),
        done.len() - part.len(),
        resumed.events.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// What [`stopped_at_random`] saw.
struct Stops {
    /// Per run after the first of a campaign, the events it emitted that an
    /// earlier run had already emitted.
    repeats: Vec<Vec<String>>,
    /// The cut events the stops left.
    cuts: Vec<String>,
}

/// Stops the input with `sig` at random points and restarts it on the same
/// checkpoints until it has finished, over again in fresh checkpoint
/// directories until `stops` signals were delivered; checks no record was
/// lost.
///
/// A signal counts only when the run shows it reached a live process: the
/// exit status names it (SIGKILL; SIGTERM before the handler is installed),
/// or, SIGTERM being caught and the input then exiting 0 between two writes
/// without a word, the run left records to the next one. A SIGTERM that
/// came too late to stop anything counts as a run that finished first.
fn stopped_at_random(name: &str, sig: rustix::process::Signal, stops: usize) -> Stops {
    use std::os::unix::process::ExitStatusExt;
    let signame = if sig == rustix::process::Signal::KILL {
        "SIGKILL"
    } else {
        "SIGTERM"
    };
    let dir = temp_dir(name);
    let glob = fixture_path("evtx").join("*.evtx");
    let t0 = Instant::now();
    let full = run_input(
        &config(&dir.join("full"), &glob.display().to_string()),
        End::Done,
    )
    .events;
    let whole = t0.elapsed().as_micros() as u64;
    let want: BTreeSet<_> = full.iter().cloned().collect();
    assert_eq!(want.len(), full.len());
    let mut next = rng();
    let (mut repeats, mut cuts) = (Vec::new(), Vec::new());
    // Delivered: by the exit status, by records left; runs that finished
    // first: before kill(2), after it.
    let (mut by_status, mut by_work, mut unsent, mut late) = (0, 0, 0, 0);
    let max_runs = 15 * stops;
    let mut runs = 0;
    let mut campaigns = 0;
    while by_status + by_work < stops {
        assert!(
            runs < max_runs,
            "only {} of {stops} {signame} delivered in {runs} runs ({} finished first)",
            by_status + by_work,
            unsent + late
        );
        let cfg = config(
            &dir.join(format!("cp{campaigns}")),
            &glob.display().to_string(),
        );
        campaigns += 1;
        let mut got = BTreeSet::<String>::new();
        for round in 0.. {
            if round == 400 {
                let lost: Vec<_> = full
                    .iter()
                    .filter(|e| !got.contains(*e))
                    .map(|e| key(e))
                    .collect();
                panic!("the input never finished; missing {lost:?}");
            }
            // Anywhere in the time of a whole run.
            let at = Duration::from_micros(next(whole));
            let run = run_input(&cfg, End::Signal(at, sig));
            runs += 1;
            if round > 0 {
                repeats.push(
                    run.events
                        .iter()
                        .filter(|e| got.contains(*e))
                        .cloned()
                        .collect(),
                );
            }
            if !run.cut.is_empty() {
                cuts.push(run.cut.clone());
            }
            got.extend(run.events);
            let finished = want.is_subset(&got);
            if run.status.signal() == Some(sig.as_raw()) {
                by_status += 1;
            } else {
                assert!(
                    run.status.success(),
                    "{signame}: {:?} {}",
                    run.status,
                    run.err
                );
                if sig == rustix::process::Signal::KILL || finished {
                    // It ran to its end: nothing is left.
                    assert!(
                        finished,
                        "a run that finished left {} records to the next",
                        want.difference(&got).count()
                    );
                    if run.sent {
                        late += 1;
                    } else {
                        unsent += 1;
                    }
                } else {
                    by_work += 1;
                }
            }
            if finished {
                // Perhaps done (a kill between a write and its commit
                // leaves it to repeat): a clean run tells, and what it
                // emits is part of the stream.
                let rest = run_input(&cfg, End::Done).events;
                if !rest.is_empty() {
                    repeats.push(rest.iter().filter(|e| got.contains(*e)).cloned().collect());
                    got.extend(rest);
                    let again = run_input(&cfg, End::Done).events;
                    assert!(again.is_empty(), "{} events after a clean run", again.len());
                }
                break;
            }
        }
        assert!(got.is_subset(&want), "events that are not in the files");
    }
    eprintln!(
        "{signame}: {} delivered ({by_status} by the exit status, {by_work} by the records left), \
         {} finished first ({unsent} before kill(2), {late} after it), {runs} runs, {campaigns} campaigns",
        by_status + by_work,
        unsent + late
    );
    let _ = std::fs::remove_dir_all(&dir);
    Stops { repeats, cuts }
}

/// A directory input run on splunkd's interval: a file that grows is
/// continued, a new file is read, and a file replaced by another log under
/// the same name is read anew (its identity is its first record).
#[test]
fn issue4_growing_new_and_replaced_files() {
    let dir = temp_dir("grow");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let cfg = config(&dir.join("cp"), &logs.display().to_string());
    let whole = std::fs::read(fixture_path("evtx/mdec_wmiexec_via_smb.evtx")).unwrap();
    let live = logs.join("Security.evtx");
    let keys = |run: &InputRun| run.events.iter().map(|e| key(e)).collect::<Vec<_>>();

    // The header and the first chunk only, as while it is being copied.
    std::fs::write(&live, &whole[..0x1000 + 0x10000]).unwrap();
    let first = run_input(&cfg, End::Done);
    assert!(!first.events.is_empty());
    std::fs::write(&live, &whole).unwrap();
    let grown = run_input(&cfg, End::Done);
    let mut together = keys(&first);
    together.extend(keys(&grown));
    let full = run_input(
        &config(&dir.join("cp-full"), &logs.display().to_string()),
        End::Done,
    );
    assert_eq!(together, keys(&full), "continued where it stopped, once");
    assert!(!grown.events.is_empty());

    std::fs::copy(
        fixture_path("evtx/MSExchange_Management_wec.evtx"),
        logs.join("new.evtx"),
    )
    .unwrap();
    let new = run_input(&cfg, End::Done);
    assert_eq!(new.events.len(), 1, "the new file only");

    std::fs::copy(fixture_path("evtx/mdec_powerlurk_4103_4104.evtx"), &live).unwrap();
    let replaced = run_input(&cfg, End::Done);
    let other = run_input(
        &config(&dir.join("cp-other"), &live.display().to_string()),
        End::Done,
    );
    assert_eq!(
        keys(&replaced),
        keys(&other),
        "a replaced file is read anew"
    );
    assert!(run_input(&cfg, End::Done).events.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGTERM (how splunkd stops an input) at random points, over and over:
/// no record lost, none emitted twice, no cut event.
#[test]
fn issue4_sigterm_at_any_point_is_exactly_once() {
    let Stops { repeats, cuts } = stopped_at_random("term", rustix::process::Signal::TERM, 40);
    let n: usize = repeats.iter().map(Vec::len).sum();
    assert_eq!(n, 0, "{n} events emitted twice after SIGTERMs");
    assert!(cuts.is_empty(), "a cut event: {:.300}", cuts[0]);
}

/// SIGKILL at random points, over and over: no record lost; a restart
/// repeats at most the one write (≤ 64 KiB, or one bigger event) the kill
/// fell after; no write is cut.
#[test]
fn issue4_sigkill_at_any_point_loses_nothing_and_repeats_at_most_one_write() {
    let Stops { repeats, cuts } = stopped_at_random("kill", rustix::process::Signal::KILL, 40);
    for r in &repeats {
        let bytes: usize = r.iter().map(String::len).sum();
        assert!(
            r.len() <= 1 || bytes <= 65536,
            "a restart repeated {} events ({bytes} bytes)",
            r.len()
        );
    }
    // Every bundled event is under 4096 bytes, so every write lands whole.
    assert!(
        cuts.is_empty(),
        "{} cut writes, first: {:.200}",
        cuts.len(),
        cuts[0]
    );
    let n: usize = repeats.iter().map(Vec::len).sum();
    eprintln!("{n} events repeated over {} restarts", repeats.len());
}

#[test]
fn issue4_hunt_finds_the_wmi_hop_in_evtx() {
    let out = Command::new(env!("CARGO_BIN_EXE_winrmdetect"))
        .args(["hunt", "--format", "json"])
        .arg(fixture_path("evtx"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().any(|v| v["kind"] == "alert"
        && v["alert_type"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "WMI_Impacket_WmiExec")));
    let hop = lines.iter().find(|v| v["kind"] == "hop").expect("a hop");
    assert_eq!(hop["dest_host"], "srvdefender01");
    assert_eq!(hop["lm_technique"], "WMI");
    assert!(String::from_utf8_lossy(&out.stderr).contains("chunk"));
}
