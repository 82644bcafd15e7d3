//! Issue 4: the EVTX reader, the `evtx_input` modular input and `hunt`.

use std::collections::BTreeMap;
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
        let ev = winrmdetect::xml::parse_event(&r.xml).expect("rendered XML parses");
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

fn input_bin() -> &'static str {
    env!("CARGO_BIN_EXE_evtx_input")
}

fn config(cp: &std::path::Path, path: &str) -> String {
    format!("<input><server_host>sh</server_host><session_key>SECRETKEY</session_key><checkpoint_dir>{}</checkpoint_dir><configuration><stanza name=\"evtx_input://t\" app=\"winrmdetect\"><param name=\"path\">{path}</param><param name=\"index\">wineventlog</param></stanza></configuration></input>", cp.display())
}

/// (complete events' (host, EventRecordID) list, stderr)
fn run_input(cfg: &str, kill_after: Option<usize>) -> (Vec<(String, String)>, String) {
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
    let mut got = Vec::new();
    let t0 = Instant::now();
    match kill_after {
        Some(n) => {
            let mut buf = vec![0u8; n];
            out.read_exact(&mut buf).unwrap();
            got = buf;
            child.kill().unwrap(); // SIGKILL
        }
        None => {
            out.read_to_end(&mut got).unwrap();
        }
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(60));
    if kill_after.is_none() {
        assert!(status.success(), "{err}");
        assert!(!err.contains("SECRETKEY"));
    }
    // Complete events only, as splunkd would keep them.
    let text = String::from_utf8_lossy(&got);
    let events = text
        .split("<event ")
        .skip(1)
        .filter(|e| e.contains("</event>"))
        .map(|e| {
            let after = |tag: &str| {
                e.split(tag)
                    .nth(1)
                    .and_then(|x| x.split(['<', '&']).next())
                    .unwrap_or_default()
                    .to_string()
            };
            let (host, id) = (after("<host>"), after("&lt;EventRecordID&gt;"));
            (host, id)
        })
        .collect();
    (events, err)
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

/// Every record once over restarts; after a SIGKILL mid-stream and a
/// restart no record is lost.
#[test]
fn issue4_checkpoints_resume_without_loss() {
    let dir = std::env::temp_dir().join(format!("wd-cp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let glob = fixture_path("evtx").join("*.evtx");
    let cfg = config(&dir, &glob.display().to_string());
    let (all, err) = run_input(&cfg, None);
    assert!(
        err.contains("WARN") && err.contains("chunk"),
        "damage reported: {err}"
    );
    assert!(all.len() > 370);
    let (again, _) = run_input(&cfg, None);
    assert!(again.is_empty(), "nothing emitted twice after a clean run");

    let _ = std::fs::remove_dir_all(&dir);
    let mut seen: Vec<(String, String)> = Vec::new();
    for cut in [5_000, 60_000, 150_000] {
        let (part, _) = run_input(&cfg, Some(cut));
        seen.extend(part);
    }
    let (rest, _) = run_input(&cfg, None);
    seen.extend(rest);
    let want: std::collections::BTreeSet<_> = all.iter().cloned().collect();
    let got: std::collections::BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(want, got, "no record lost across kills");
    let _ = std::fs::remove_dir_all(&dir);
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
        && v["AlertType"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "WMI_Impacket_WmiExec")));
    let hop = lines.iter().find(|v| v["kind"] == "hop").expect("a hop");
    assert_eq!(hop["dest_host"], "srvdefender01");
    assert_eq!(hop["lm_technique"], "WMI");
    assert!(String::from_utf8_lossy(&out.stderr).contains("chunk"));
}
