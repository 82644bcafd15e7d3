//! Tests of `hunt`'s inputs, on scratch directories under the system's
//! temporary directory and the bundled EVTX fixtures.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;

/// A fresh, empty scratch directory, unique to the test and the process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wd-input-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// The names of the inputs, relative to `dir`.
fn names(found: &Found, dir: &Path) -> Vec<String> {
    let prefix = format!("{}/", dir.display());
    found
        .inputs
        .iter()
        .map(|i| i.name.strip_prefix(&prefix).unwrap_or(&i.name).to_string())
        .collect()
}

fn read_all(opened: Opened) -> Vec<u8> {
    let mut out = Vec::new();
    opened.into_reader().read_to_end(&mut out).unwrap();
    out
}

fn opened(path: &Path) -> std::result::Result<Opened, Failure> {
    let found = discover(&[path]);
    assert!(found.failed.is_empty(), "{:?}", found.failed);
    open(&found.inputs[0])
}

const CSV: &[u8] = b"_time,host,EventCode\n1600636148,WKS,1\n";
const JSON: &[u8] = b"{\"EventID\":1}\n";

/// A walk takes the known extensions (also gzipped, any case) in path
/// order, counts the rest as skipped, and never opens a pipe.
#[cfg(unix)]
#[test]
fn a_walk_takes_known_files_and_counts_the_rest() {
    let dir = scratch("walk");
    let evtx = std::fs::read(fixture("evtx/mdec_wmiexec_via_smb.evtx")).unwrap();
    write(&dir.join("b/log.EVTX"), &evtx);
    write(&dir.join("a.csv"), CSV);
    write(&dir.join("c.json"), JSON);
    write(&dir.join("d.ndjson.gz"), &gzip(JSON));
    write(&dir.join("e.jsonl"), JSON);
    write(&dir.join("notes.txt"), b"hello");
    write(&dir.join("f.tar.gz"), &gzip(b"x"));
    let fifo = dir.join("pipe.csv");
    rustix_mkfifo(&fifo);
    let found = discover(&[&dir]);
    assert_eq!(
        names(&found, &dir),
        ["a.csv", "b/log.EVTX", "c.json", "d.ndjson.gz", "e.jsonl"]
    );
    assert_eq!(found.skipped, 3, "notes.txt, f.tar.gz and the pipe");
    assert!(found.failed.is_empty());
    let kinds: Vec<Kind> = found.inputs.iter().map(|i| open(i).unwrap().kind).collect();
    use Kind::*;
    assert_eq!(kinds, [Csv, Evtx, JsonLines, JsonLines, JsonLines]);
    // Sniffed, then read from the start, without reopening.
    assert_eq!(read_all(open(&found.inputs[0]).unwrap()), CSV);
    assert_eq!(read_all(open(&found.inputs[3]).unwrap()), JSON);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A named pipe, made with mkfifo(1) (no new crate for one system call).
#[cfg(unix)]
fn rustix_mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(ok.success());
}

/// A link back up the tree ends the walk, and every file is read once,
/// however many links lead to it.
#[cfg(unix)]
#[test]
fn a_symlink_loop_ends_and_files_come_once() {
    use std::os::unix::fs::symlink;
    let dir = scratch("loop");
    write(&dir.join("sub/a.csv"), CSV);
    symlink(&dir, dir.join("sub/up")).unwrap();
    symlink(dir.join("sub/a.csv"), dir.join("b.csv")).unwrap();
    let found = discover(&[&dir, &dir.join("sub"), &dir.join("b.csv")]);
    assert_eq!(names(&found, &dir), ["b.csv"]);
    assert_eq!((found.skipped, found.failed.len()), (0, 0));
    // A link to itself, named: the OS's reason.
    symlink(dir.join("self.csv"), dir.join("self.csv")).unwrap();
    let found = discover(&[dir.join("self.csv")]);
    assert!(
        found.failed[0].why.contains("symbolic links"),
        "{:?}",
        found.failed
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A link to nothing is a failure naming it, in a walk or named; the
/// other inputs are still found.
#[cfg(unix)]
#[test]
fn a_dangling_link_fails_and_the_rest_goes_on() {
    let dir = scratch("dangling");
    write(&dir.join("a.csv"), CSV);
    std::os::unix::fs::symlink(dir.join("gone.csv"), dir.join("z.csv")).unwrap();
    let found = discover(&[dir.clone(), dir.join("missing.csv")]);
    assert_eq!(names(&found, &dir), ["a.csv"]);
    let z = dir.join("z.csv").display().to_string();
    assert_eq!(found.failed[0].name, z);
    assert!(found.failed[0].why.starts_with(&format!(
        "dangling symbolic link to {}",
        dir.join("gone.csv").display()
    )));
    assert_eq!(
        found.failed[0].to_string(),
        format!("ERROR {z}: {}", found.failed[0].why)
    );
    assert!(
        found.failed[1].why.contains("No such file"),
        "{:?}",
        found.failed[1]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A pipe named explicitly is read, once, as the writer feeds it.
#[cfg(unix)]
#[test]
fn a_named_pipe_is_read() {
    let dir = scratch("fifo");
    let fifo = dir.join("feed");
    rustix_mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, CSV).unwrap())
    };
    let found = discover(&[&fifo]);
    assert_eq!(found.inputs.len(), 1);
    let o = open(&found.inputs[0]).unwrap();
    assert_eq!(o.kind, Kind::Csv);
    assert_eq!(read_all(o), CSV);
    writer.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// `/dev/fd/N`, as a shell's process substitution names a pipe: here a
/// child's stdout, gzipped CSV in it.
#[cfg(target_os = "linux")]
#[test]
fn process_substitution_is_read() {
    use std::os::fd::AsRawFd;
    let dir = scratch("procsub");
    write(&dir.join("x.csv.gz"), &gzip(CSV));
    let mut child = std::process::Command::new("cat")
        .arg(dir.join("x.csv.gz"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let fd = child.stdout.as_ref().unwrap().as_raw_fd();
    let found = discover(&[format!("/dev/fd/{fd}")]);
    assert_eq!(found.inputs.len(), 1, "{:?}", found.failed);
    let o = open(&found.inputs[0]).unwrap();
    assert_eq!(o.kind, Kind::Csv);
    assert_eq!(read_all(o), CSV);
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// gzip is told by its magic: a `.gz` CSV, and a gzipped EVTX read from
/// memory; a damaged one fails.
#[test]
fn gzip_is_decompressed() {
    let dir = scratch("gz");
    write(&dir.join("x.csv.gz"), &gzip(CSV));
    let o = opened(&dir.join("x.csv.gz")).unwrap();
    assert_eq!(o.kind, Kind::Csv);
    assert_eq!(read_all(o), CSV);
    let evtx = std::fs::read(fixture("evtx/mdec_powerlurk_4103_4104.evtx")).unwrap();
    write(&dir.join("y.evtx.gz"), &gzip(&evtx));
    let o = opened(&dir.join("y.evtx.gz")).unwrap();
    assert_eq!(o.kind, Kind::Evtx);
    assert!(records(o) > 0);
    let mut bad = gzip(CSV);
    bad.truncate(12);
    write(&dir.join("bad.csv.gz"), &bad);
    let why = opened(&dir.join("bad.csv.gz")).unwrap_err().why;
    assert!(why.starts_with("gzip: "), "{why}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bundled EVTX files are EVTX whatever their name, and are read in
/// place; text named `.evtx`, empty files and random bytes fail.
#[test]
fn kinds_come_from_the_bytes() {
    let dir = scratch("sniff");
    for f in [
        "mdec_wmiexec_via_smb.evtx",
        "MSExchange_Management_wec.evtx",
    ] {
        let o = opened(&fixture(&format!("evtx/{f}"))).unwrap();
        assert_eq!(o.kind, Kind::Evtx);
        assert!(matches!(o.body, Body::File(_)));
        assert!(records(o) > 0, "{f}");
    }
    let evtx = std::fs::read(fixture("evtx/mdec_powerlurk_4103_4104.evtx")).unwrap();
    write(&dir.join("renamed.bin"), &evtx);
    assert_eq!(opened(&dir.join("renamed.bin")).unwrap().kind, Kind::Evtx);
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "text.evtx",
            b"_time,_raw\n1,x\n",
            "named .evtx but not EVTX (it looks like CSV)",
        ),
        ("empty.csv", b"", "empty"),
        ("blank.json", b"  \n\n", "empty (only white space)"),
        (
            "random.csv",
            b"\x00\x9f\x13binary",
            "not EVTX, CSV or JSON lines (starts with \"\\x00\\x9f\\x13binary\")",
        ),
        (
            "prose.txt",
            b"Dear diary\n",
            "not EVTX, CSV or JSON lines (starts with \"Dear diary\\n\")",
        ),
    ];
    for (name, bytes, why) in cases {
        write(&dir.join(name), bytes);
        assert_eq!(opened(&dir.join(name)).unwrap_err().why, why, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sniffing_text() {
    assert_eq!(sniff(b"\xef\xbb\xbf_time\n1\n"), Ok(Kind::Csv));
    assert_eq!(sniff(b"\"_time\",\"host\"\r\n"), Ok(Kind::Csv));
    assert_eq!(sniff(b"\n  {\"a\":1}"), Ok(Kind::JsonLines));
    assert!(sniff(b"[{\"a\":1}]").unwrap_err().contains("JSON array"));
    assert!(sniff(b"<Event xmlns='x'>,</Event>").is_err());
    // A header longer than the head, cut inside a character.
    let mut long = "_time,".repeat(20_000).into_bytes();
    long.truncate(HEAD as usize - 1);
    long.extend_from_slice("é".as_bytes());
    assert_eq!(sniff(&long[..HEAD as usize]), Ok(Kind::Csv));
}

/// Globs match in any component; a glob matching nothing fails, and its
/// matches are taken whatever their extension.
#[test]
fn globs_expand() {
    let dir = scratch("glob");
    for f in [
        "2024/a1.csv",
        "2024/a2.json",
        "2025/b1.csv",
        "2025/.hidden.csv",
        "2024/x.log",
    ] {
        write(&dir.join(f), CSV);
    }
    let found = discover(&[format!("{}/202[4-5]/*.csv", dir.display())]);
    assert_eq!(names(&found, &dir), ["2024/a1.csv", "2025/b1.csv"]);
    let found = discover(&[format!("{}/2024/?[0-9x].*", dir.display())]);
    assert_eq!(names(&found, &dir), ["2024/a1.csv", "2024/a2.json"]);
    let found = discover(&[format!("{}/2024/*", dir.display())]);
    assert_eq!(
        names(&found, &dir).len(),
        3,
        "x.log too: matched explicitly"
    );
    let none = format!("{}/*.evtx", dir.display());
    let found = discover(&[&none]);
    assert_eq!(found.failed[0].name, none);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn glob_patterns() {
    let m = |p: &str, s: &str| {
        glob_match(
            &p.chars().collect::<Vec<_>>(),
            &s.chars().collect::<Vec<_>>(),
        )
    };
    assert!(m("*.evtx", "Security.evtx"));
    assert!(!m("*.evtx", "Security.evtx.bak"));
    assert!(m("Sec?rity*", "Security-2024.evtx"));
    assert!(m("[!a]*", "b"));
    assert!(!m("[^a-c]x", "bx"));
    assert!(m("[]]", "]"));
    assert!(m("a[", "a["));
    assert!(m("*a*b*c", "xxaybzzc"));
    assert!(!m("*a*b*c", "xxaybzz"));
}

/// `-` is stdin, taken once.
#[test]
fn dash_is_stdin() {
    let found = discover(&["-", "-"]);
    assert_eq!(found.inputs.len(), 1);
    assert_eq!(found.inputs[0].name, "-");
    assert_eq!(found.inputs[0].path(), None);
    assert_eq!(found.inputs[0], Input::stdin());
}

/// An input made by hand opens as a discovered one.
#[test]
fn a_file_by_hand() {
    let path = fixture("evtx/mdec_powerlurk_4103_4104.evtx");
    let input = Input::file(&path);
    assert_eq!(
        (input.name.clone(), input.path()),
        (path.display().to_string(), Some(&*path))
    );
    assert_eq!(open(&input).unwrap().kind, Kind::Evtx);
    assert_eq!(discover(&[&path]).inputs, [input]);
}

#[test]
fn the_tally_reads() {
    let t = Tally {
        read: 1,
        skipped: 2,
        failed: 0,
    };
    assert_eq!(t.to_string(), "1 file read, 2 skipped, 0 failed");
}

/// The records of an opened EVTX input.
fn records(o: Opened) -> usize {
    let mut n = 0;
    o.into_evtx().unwrap().read_from(
        Default::default(),
        |_, _| {
            n += 1;
            true
        },
        |_| {},
    );
    n
}
