//! Issue 12's proof that the redesign changed nothing: every committed
//! fixture (and every CSV of `../shared/data/csv`, when that directory is
//! there) through every mode gives output byte-identical to what the code
//! at 553877b gave, recorded as SHA-256 digests in
//! `tests/differential/553877b.tsv`. A difference that is meant is listed in
//! `tests/differential/intended.tsv` with the digest it has now and why.
//!
//! To record (see `tests/differential/README.md`): build the old binary,
//! then run this test with `WINRMDETECT_DIFF_BIN=<that binary>` and
//! `WINRMDETECT_DIFF_RECORD=<manifest to write>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::harness::*;

/// The search-command modes: the arguments after `winrmdetect`.
const SCP_MODES: &[&[&str]] = &[
    &[],
    &["alerts_only=true"],
    &["min_score=50"],
    &["correlate=true"],
    &["correlate=true", "summary=true"],
    &["phase=map"],
];

/// The offline modes: arguments before the input path.
const CLI_MODES: &[&[&str]] = &[
    &["scan"],
    &["scan", "--all"],
    &["scan", "--hops"],
    &["hunt"],
    &["hunt", "--format", "csv"],
    &["hunt", "--format", "json"],
];

/// Rows per execute chunk.
const CHUNK_ROWS: usize = 500;

/// One recorded output: its size and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Digest256 {
    bytes: usize,
    sha256: String,
}

fn digest(out: &[u8]) -> Digest256 {
    Digest256 {
        bytes: out.len(),
        sha256: format!("{:x}", Sha256::digest(out)),
    }
}

fn differential_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/differential")
}

fn program() -> PathBuf {
    std::env::var_os("WINRMDETECT_DIFF_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_winrmdetect")))
}

/// `(input, mode)` → digest, from a manifest's first four columns.
fn read_manifest(path: &Path) -> BTreeMap<(String, String), (Digest256, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut m = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() >= 4, "{}: short line {line:?}", path.display());
        let d = Digest256 {
            bytes: cols[2].parse().expect("a byte count"),
            sha256: cols[3].to_string(),
        };
        let reason = cols.get(4).unwrap_or(&"").to_string();
        m.insert((cols[0].to_string(), cols[1].to_string()), (d, reason));
    }
    m
}

/// The inputs: committed fixtures by name, shared CSVs as `shared/<name>`
/// (decompressed into `scratch`).
fn inputs(scratch: &Path) -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(fixture_path(""))
        .expect("tests/fixtures")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    for p in evtx_fixtures() {
        v.push((
            format!("evtx/{}", p.file_name().unwrap().to_string_lossy()),
            p,
        ));
    }
    v.extend(shared_csvs(scratch));
    v.sort();
    v
}

fn evtx_fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixture_path("evtx"))
        .expect("tests/fixtures/evtx")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
        .collect();
    v.sort();
    v
}

fn shared_csvs(scratch: &Path) -> Vec<(String, PathBuf)> {
    use std::io::Read;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/csv");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("differential: {} is not here; fixtures only", dir.display());
        return Vec::new();
    };
    let mut v = Vec::new();
    for p in entries.map(|e| e.expect("a directory entry").path()) {
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".csv.gz") else {
            continue;
        };
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&p).expect("a shared CSV"))
            .read_to_end(&mut text)
            .expect("a gzipped CSV");
        let out = scratch.join(format!("{stem}.csv"));
        std::fs::write(&out, text).expect("the scratch directory");
        v.push((format!("shared/{stem}.csv"), out));
    }
    v
}

/// The search command's whole stdout for one input and mode.
fn scp_output(path: &Path, mode: &[&str]) -> Vec<u8> {
    let data = std::fs::read(path).expect("an input");
    let bodies = csv_chunks(&data, CHUNK_ROWS);
    let run = run_program(&program(), session(mode, &bodies), &[], Expect::Clean);
    run.stdout
}

/// An offline mode's stdout and exit status for one input, run in the
/// input's directory on its bare name (reports name the file, and the
/// checkout's path must not change the digest).
fn cli_output(path: &Path, mode: &[&str]) -> Vec<u8> {
    let out = Command::new(program())
        .args(mode)
        .arg(path.file_name().expect("a file name"))
        .current_dir(path.parent().expect("a directory"))
        .env_remove("WINRMDETECT_APP_DIR")
        .output()
        .expect("running winrmdetect");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "{mode:?} {}: {stderr}",
        path.display()
    );
    let mut v = out.stdout;
    v.extend_from_slice(format!("\nexit {:?}\n", out.status.code()).as_bytes());
    v
}

/// Every `(input, mode)` with its output digest.
fn outputs(scratch: &Path) -> Vec<(String, String, Digest256)> {
    let mut v = Vec::new();
    for (name, path) in inputs(scratch) {
        let is_csv = !name.starts_with("evtx/");
        if is_csv {
            for mode in SCP_MODES {
                let key = format!("winrmdetect {}", mode.join(" "));
                v.push((
                    name.clone(),
                    key.trim_end().to_string(),
                    digest(&scp_output(&path, mode)),
                ));
            }
        }
        for mode in CLI_MODES.iter().filter(|m| is_csv || m[0] == "hunt") {
            v.push((
                name.clone(),
                mode.join(" "),
                digest(&cli_output(&path, mode)),
            ));
        }
    }
    v
}

#[test]
fn issue12_every_mode_is_byte_identical_to_553877b() {
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("differential");
    std::fs::create_dir_all(&scratch).expect("a scratch directory");
    let got = outputs(&scratch);
    if let Some(record) = std::env::var_os("WINRMDETECT_DIFF_RECORD") {
        let mut text = String::from("# input\tmode\tbytes\tsha256\n");
        for (input, mode, d) in &got {
            text.push_str(&format!("{input}\t{mode}\t{}\t{}\n", d.bytes, d.sha256));
        }
        std::fs::write(&record, text).expect("writing the manifest");
        eprintln!("differential: recorded {} outputs", got.len());
        return;
    }
    let base = read_manifest(&differential_dir().join("553877b.tsv"));
    let intended = read_manifest(&differential_dir().join("intended.tsv"));
    let mut wrong = Vec::new();
    for (input, mode, d) in &got {
        let key = (input.clone(), mode.clone());
        let before = base.get(&key).map(|(d, _)| d);
        match intended.get(&key) {
            Some((now, reason)) => {
                assert!(
                    !reason.is_empty(),
                    "{input} / {mode}: an intended difference says why"
                );
                assert_ne!(
                    before,
                    Some(now),
                    "{input} / {mode} is listed as changed but is not"
                );
                if d != now {
                    wrong.push(format!(
                        "{input} / {mode}: {d:?}, intended {now:?} ({reason})"
                    ));
                }
            }
            None if before == Some(d) => {}
            None => wrong.push(format!("{input} / {mode}: {d:?}, 553877b gave {before:?}")),
        }
    }
    assert!(
        got.len() >= 60,
        "fixtures in every mode: {} outputs",
        got.len()
    );
    assert!(
        wrong.is_empty(),
        "{} outputs differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
