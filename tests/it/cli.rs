//! The offline commands, `scan` and `hunt`, run as a user runs them: their
//! tables agree with what the search command says of the same events, and
//! bad paths and arguments are named.

use std::process::{Command, Output};

use crate::harness::*;

const CSV_FIXTURES: [&str; 5] = [
    "mordor_psremoting.csv",
    "mordor_sharpwmi.csv",
    "winrm_operational_handmade.csv",
    "mdec_wmiexec_via_smb.csv",
    "mordor_wmic_xsl_local.csv",
];

fn winrmdetect(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_winrmdetect"))
        .args(args)
        .env_remove("WINRMDETECT_APP_DIR")
        .output()
        .expect("running winrmdetect");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("the table is UTF-8")
}

/// The cells of a fixed-width table line, cut at the columns' header
/// offsets (the last column runs to the end of the line).
fn cells(header: &str, line: &str, columns: &[&str]) -> Vec<String> {
    let starts: Vec<usize> = columns
        .iter()
        .map(|c| {
            header
                .find(c)
                .unwrap_or_else(|| panic!("column {c} in {header:?}"))
        })
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let end = starts.get(i + 1).copied().unwrap_or(line.len());
            line.get(s..end.min(line.len()))
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect()
}

/// What the search command says of a fixture (one 50,000-row chunk, as
/// scan cuts it): `host AlertTypes risk side targets message` of each event
/// whose score is at least `min_score` (0: every labelled event).
fn labelled_by_the_command(name: &str, min_score: u32) -> (Vec<Vec<String>>, usize) {
    let data = fixture(name);
    let run = run_binary(session(&[], &csv_chunks(&data, 50_000)), &[]);
    let rows = run.rows();
    let total = rows.len();
    let kept = rows
        .iter()
        .filter(|r| !r.alert_types().is_empty() && r.score() >= min_score)
        .map(|r| {
            let host = match r.try_get("Computer").unwrap_or_default() {
                c if c.is_empty() => r.get("host"),
                c => c,
            };
            vec![
                host,
                r.alert_types().join("|"),
                r.get("risk_score"),
                r.get("lm_side"),
                r.get("target_host").replace('\n', ","),
                r.get("risk_message"),
            ]
        })
        .collect();
    (kept, total)
}

const SCAN_COLUMNS: [&str; 7] = [
    "time (UTC)",
    "host",
    "AlertType",
    "risk",
    "lm_side",
    "target_host",
    "risk_message",
];

/// `scan FILE` and `scan --all FILE` list exactly the events the search
/// command labels (scoring at least 1, or all of them), in file order,
/// with the same columns, and count them.
#[test]
fn issue11_scan_lists_what_the_search_command_labels() {
    for name in CSV_FIXTURES {
        let path = fixture_path(name);
        for (flag, min_score) in [(None, 1), (Some("--all"), 0)] {
            let mut args = vec!["scan"];
            args.extend(flag);
            args.push(path.to_str().unwrap());
            let out = winrmdetect(&args);
            assert!(out.status.success(), "{args:?}");
            let text = stdout(&out);
            let mut lines = text.lines();
            assert_eq!(
                lines.next(),
                Some(format!("== {}", path.display()).as_str())
            );
            let header = lines.next().expect("a header line");
            let (want, total) = labelled_by_the_command(name, min_score);
            let body: Vec<&str> = lines.by_ref().take(want.len()).collect();
            let mut got = Vec::new();
            for line in &body {
                let c = cells(header, line, &SCAN_COLUMNS);
                assert!(
                    c[0].len() == 19 && c[0].as_bytes()[10] == b' ',
                    "{name}: time {:?}",
                    c[0]
                );
                got.push(c[1..].to_vec());
            }
            assert_eq!(got.len(), want.len(), "{name} {flag:?}");
            for (g, w) in got.iter().zip(&want) {
                // AlertType, target_host and risk_message are cut to their
                // columns' widths.
                assert_eq!((&g[0], &g[2], &g[3]), (&w[0], &w[2], &w[3]), "{name}");
                for cut in [1, 4, 5] {
                    assert!(
                        w[cut].starts_with(&g[cut]) && (g[cut].len() >= 20 || g[cut] == w[cut]),
                        "{name} {flag:?}: {g:?} vs {w:?}"
                    );
                }
            }
            let count = format!("{} of {total} events labelled", want.len());
            assert!(
                text.lines().any(|l| l == count),
                "{name} {flag:?}: no line {count:?} in\n{text}"
            );
        }
    }
    // One known time, in UTC.
    let out = winrmdetect(&[
        "scan",
        fixture_path("mordor_psremoting.csv").to_str().unwrap(),
    ]);
    assert!(stdout(&out)
        .lines()
        .nth(2)
        .unwrap()
        .starts_with("2020-09-20 21:09:08  WORKSTATION6.theshire.local"));
}

const HOP_COLUMNS: [&str; 12] = [
    "first seen (UTC)",
    "hop",
    "chain",
    "#",
    "src_host",
    "dest_host",
    "technique",
    "outcome",
    "user",
    "reasons",
    "risk",
    "evidence",
];

/// `scan --hops FILE...` correlates all the files as one search and prints
/// the hops the search command finds over the same events.
#[test]
fn issue11_scan_hops_are_the_search_commands_hops() {
    let paths: Vec<String> = CSV_FIXTURES
        .iter()
        .map(|n| fixture_path(n).display().to_string())
        .collect();
    let mut args = vec!["scan", "--hops"];
    args.extend(paths.iter().map(String::as_str));
    let out = winrmdetect(&args);
    assert!(out.status.success());
    let text = stdout(&out);
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let got: Vec<Vec<String>> = lines
        .by_ref()
        .take_while(|l| !l.is_empty())
        .map(|l| cells(header, l, &HOP_COLUMNS)[1..].to_vec())
        .collect();

    let bodies: Vec<Vec<u8>> = CSV_FIXTURES
        .iter()
        .flat_map(|n| csv_chunks(&fixture(n), 50_000))
        .collect();
    let run = run_binary(session(&["correlate=true", "summary=true"], &bodies), &[]);
    let want: Vec<Vec<String>> = run
        .last_rows()
        .iter()
        .map(|h| {
            let users = h.get("dest_user");
            let user = match users.split('\n').next() {
                Some(u) if !u.is_empty() => u.to_string(),
                _ => h.get("src_user").split('\n').next().unwrap().to_string(),
            };
            vec![
                h.get("lm_hop_id"),
                h.get("lm_chain_id"),
                h.get("lm_hop"),
                h.get("src_host"),
                h.get("dest_host"),
                h.get("lm_technique"),
                h.get("lm_outcome"),
                user,
                format!(
                    "{} ({})",
                    h.get("lm_confidence"),
                    h.get("lm_confidence_reasons").replace('\n', ",")
                ),
                h.get("risk_score"),
                h.get("evidence").replace('\n', ","),
            ]
        })
        .collect();
    assert!(want.len() >= 7, "{want:?}");
    assert_eq!(got.len(), want.len(), "{text}");
    for (g, w) in got.iter().zip(&want) {
        // The user and evidence columns are cut to their widths.
        for cut in [7, 10] {
            assert!(!g[cut].is_empty() || w[cut].is_empty(), "{g:?} vs {w:?}");
            assert!(w[cut].starts_with(&g[cut]), "{g:?} vs {w:?}");
        }
        assert_eq!(g[..7], w[..7]);
        assert_eq!(g[8..10], w[8..10]);
    }
    assert!(text.contains(&format!("\n{} hops\n", want.len())), "{text}");
}

/// Every `hunt` format says the same of the bundled EVTX files: the same
/// alerts and the same hops.
#[test]
fn issue11_hunt_formats_agree() {
    let dir = fixture_path("evtx");
    let dir = dir.to_str().unwrap();
    let json = winrmdetect(&["hunt", "--format", "json", dir]);
    assert!(json.status.success());
    let lines: Vec<serde_json::Value> = stdout(&json)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    let alerts: Vec<&serde_json::Value> = lines.iter().filter(|v| v["kind"] == "alert").collect();
    let hops: Vec<&serde_json::Value> = lines.iter().filter(|v| v["kind"] == "hop").collect();
    assert!(alerts.len() >= 2 && hops.len() == 1, "{lines:?}");

    // CSV: the alerts on stdout, and (issue 15) one file per table in
    // --output-dir, each with one header, the JSON lines' keys.
    let out_dir = std::env::temp_dir().join(format!("wd-issue15-csv-{}", std::process::id()));
    let csv = winrmdetect(&[
        "hunt",
        "--format",
        "csv",
        "--output-dir",
        out_dir.to_str().unwrap(),
        dir,
    ]);
    assert!(csv.status.success());
    let read = |bytes: &[u8]| -> Vec<csv::StringRecord> {
        let mut rdr = csv::Reader::from_reader(bytes);
        let header = rdr.headers().unwrap().clone();
        std::iter::once(header)
            .chain(rdr.records().map(Result::unwrap))
            .collect()
    };
    let alert_part = read(&csv.stdout);
    assert_eq!(
        alert_part,
        read(&std::fs::read(out_dir.join("alerts.csv")).unwrap())
    );
    let hop_part = read(&std::fs::read(out_dir.join("hops.csv")).unwrap());
    let chains = read(&std::fs::read(out_dir.join("chains.csv")).unwrap());
    assert_eq!(chains.len(), 2, "one chain: {chains:?}");
    std::fs::remove_dir_all(&out_dir).unwrap();
    let header = &alert_part[0];
    let col = |h: &csv::StringRecord, n: &str| h.iter().position(|x| x == n).unwrap();
    assert_eq!(alert_part.len() - 1, alerts.len());
    for (r, a) in alert_part[1..].iter().zip(&alerts) {
        let types: Vec<&str> = a["alert_type"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(&r[col(header, "alert_type")], types.join("|"));
        assert_eq!(&r[col(header, "risk_score")], a["risk_score"].to_string());
        assert_eq!(&r[col(header, "time")], a["time"].as_str().unwrap());
        assert!(a["epoch"].is_number());
    }
    let hop_header = &hop_part[0];
    assert_eq!(hop_part.len() - 1, hops.len());
    for (r, h) in hop_part[1..].iter().zip(&hops) {
        for k in ["lm_hop_id", "src_host", "dest_host", "lm_technique"] {
            assert_eq!(&r[col(hop_header, k)], h[k].as_str().unwrap(), "{k}");
        }
    }

    let table = winrmdetect(&["hunt", dir]);
    assert!(table.status.success());
    let text = stdout(&table);
    assert!(
        text.contains(&format!("{} hop", hops.len())),
        "the table counts the hops:\n{text}"
    );
    assert!(text.contains(hops[0]["dest_host"].as_str().unwrap()));
}

/// A missing file, no file at all, an unknown flag: exit 2 and a message
/// that names what was wrong, nothing on stdout.
#[test]
fn issue11_scan_and_hunt_name_what_was_wrong() {
    for (args, needle) in [
        (&["scan", "/nonexistent/x.csv"][..], "/nonexistent/x.csv"),
        (
            &["scan", "--hops", "/nonexistent/y.csv"],
            "/nonexistent/y.csv",
        ),
        (&["scan"], "Usage"),
        (&["hunt", "--format", "xml", "x"], "xml"),
        (&["hunt", "--bogus", "x"], "--bogus"),
    ] {
        let out = winrmdetect(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", stdout(&out));
    }
    // Issue 15: an input that cannot be read is an ERROR line naming it,
    // and the exit code says some inputs failed.
    let out = winrmdetect(&["hunt", "/nonexistent/z"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ERROR /nonexistent/z: "), "{err}");
}
