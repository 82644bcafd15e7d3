//! Issue 15: `hunt` as an analyst runs it: from pipes and archives, past
//! bad files, with filters, exit codes, a hop's evidence and the pictures.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::harness::*;

/// Runs `winrmdetect ARGS` with `stdin` fed to it; never a panic.
fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_winrmdetect"))
        .args(args)
        .env_remove("WINRMDETECT_APP_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running winrmdetect");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        // The program may stop reading (an argument error): a broken pipe
        // is fine.
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    out
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect()
}

fn kind<'v>(lines: &'v [Value], k: &str) -> Vec<&'v Value> {
    lines.iter().filter(|v| v["kind"] == k).collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wd-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// The alerts and hops of a JSON report, without the file they came from.
fn findings(lines: &[Value]) -> (Vec<Value>, Vec<Value>) {
    let strip = |v: &&Value| {
        let mut v = (*v).clone();
        v.as_object_mut().unwrap().remove("file");
        v
    };
    (
        kind(lines, "alert").iter().map(strip).collect(),
        kind(lines, "hop").iter().map(strip).collect(),
    )
}

/// The same export from a file, from stdin, gzipped on disk and gzipped
/// on stdin says the same; nothing is silently lost (the sniff used to
/// read a pipe's first bytes, then open it again and read nothing).
#[test]
fn issue15_stdin_pipes_and_gzip_read_like_the_file() {
    let path = fixture_path("mordor_psremoting.csv");
    let data = fixture("mordor_psremoting.csv");
    let dir = scratch("gzip");
    let gz = dir.join("export.csv.gz");
    std::fs::write(&gz, gzip(&data)).unwrap();
    let file = lines(&run(
        &["hunt", "--format", "json", path.to_str().unwrap()],
        b"",
    ));
    let (alerts, hops) = findings(&file);
    assert!(alerts.len() >= 10 && hops.len() == 1, "{file:?}");
    for (args, input) in [
        (vec!["-"], data.clone()),
        (vec!["/dev/stdin"], data.clone()),
        (vec![gz.to_str().unwrap()], Vec::new()),
        (vec!["-"], gzip(&data)),
    ] {
        let out = run(&[&["hunt", "--format", "json"][..], &args].concat(), &input);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(
            findings(&lines(&out)),
            (alerts.clone(), hops.clone()),
            "{args:?}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Bad inputs are ERROR lines naming them and the good ones are still
/// read and reported; the summary counts them; exit code 3.
#[test]
fn issue15_a_bad_input_never_stops_the_run() {
    let dir = scratch("bad");
    std::fs::write(dir.join("good.csv"), fixture("mordor_psremoting.csv")).unwrap();
    std::fs::write(
        dir.join("random.evtx"),
        [0x5au8, 0x17, 0xff, 0, 9, 200, 1, 2],
    )
    .unwrap();
    std::fs::write(dir.join("text.evtx"), b"_time,host\n1,a\n").unwrap();
    std::fs::write(dir.join("empty.csv"), b"").unwrap();
    std::fs::write(dir.join("notes.txt"), b"hello").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("gone.csv"), dir.join("dangling.csv")).unwrap();
    let out = run(&["hunt", "--format", "json", dir.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    for bad in ["random.evtx", "text.evtx", "empty.csv", "dangling.csv"] {
        let line = err.lines().find(|l| l.contains(bad)).unwrap_or_default();
        assert!(
            line.starts_with("ERROR ") && line.contains(": "),
            "{bad}: {err}"
        );
    }
    assert!(!err.contains("Some("), "{err}");
    let lines = lines(&out);
    assert!(kind(&lines, "alert").len() >= 10);
    assert_eq!(kind(&lines, "hop").len(), 1);
    let summary = kind(&lines, "summary")[0];
    assert_eq!(summary["files_read"], 1, "{summary}");
    assert_eq!(summary["files_skipped"], 1, "{summary}");
    assert_eq!(summary["files_failed"], 4, "{summary}");
    let failed = kind(&lines, "warning")
        .iter()
        .filter(|w| w["message"].as_str().unwrap().starts_with("ERROR "))
        .count();
    assert_eq!(failed, 4, "every failure is a warning line too");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Exit codes: 0 without `--fail-on-detection` or when nothing is
/// reported, 1 when something is and it was asked for, 2 for bad
/// arguments (clap's message, or an unknown rule), with nothing on stdout.
#[test]
fn issue15_exit_codes() {
    let path = fixture_path("mordor_psremoting.csv");
    let p = path.to_str().unwrap();
    let code = |args: &[&str]| run(args, b"").status.code();
    assert_eq!(code(&["hunt", p]), Some(0));
    assert_eq!(code(&["hunt", "--fail-on-detection", p]), Some(1));
    assert_eq!(
        code(&["hunt", "--fail-on-detection", "--min-score", "101", p]),
        Some(0)
    );
    for bad in [
        &["hunt", "--rule", "NoSuchRule", p][..],
        &["hunt", "--format", "xml", p],
        &["hunt", "--from", "last tuesday", p],
        &["hunt", "--hops", p],
        &["scan", "--hop", p],
        &["hunt"],
    ] {
        let out = run(bad, b"");
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(out.stdout.is_empty(), "{bad:?}");
        assert!(!stderr(&out).contains("Some("), "{bad:?}: {}", stderr(&out));
    }
    let out = run(&["hunt", "--rule", "NoSuchRule", p], b"");
    assert!(stderr(&out).contains("NoSuchRule"));
}

/// `--help` on every command and `help <command>` print usage and exit 0;
/// `--version` prints the crate's version.
#[test]
fn issue15_help_and_version() {
    for args in [
        &["--help"][..],
        &["help"],
        &["help", "hunt"],
        &["hunt", "--help"],
        &["scan", "--help"],
        &["help", "scan"],
    ] {
        let out = run(args, b"");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Usage: winrmdetect"), "{args:?}: {text}");
    }
    let hunt = String::from_utf8(run(&["hunt", "--help"], b"").stdout).unwrap();
    for flag in [
        "--from",
        "--min-score",
        "--exclude-host",
        "--rule",
        "--conf",
        "--html",
        "-j",
    ] {
        assert!(hunt.contains(flag), "{flag}: {hunt}");
    }
    assert!(hunt.contains("Exit codes"));
    let version = run(&["--version"], b"");
    assert_eq!(
        String::from_utf8(version.stdout).unwrap().trim(),
        format!("winrmdetect {}", env!("CARGO_PKG_VERSION"))
    );
}

/// The filters choose what is reported: score, time window, hosts,
/// rules; the summary still counts every labelled event.
#[test]
fn issue15_filters() {
    let path = fixture_path("winrm_operational_handmade.csv");
    let p = path.to_str().unwrap();
    let report = |extra: &[&str]| {
        lines(&run(
            &[&["hunt", "--format", "json", p][..], extra].concat(),
            b"",
        ))
    };
    let all = report(&[]);
    let alerts = kind(&all, "alert");
    assert!(alerts.len() >= 10);
    let labelled = kind(&all, "summary")[0]["labelled"].clone();
    // Time: the window holds exactly the alerts inside it.
    let epochs: Vec<f64> = alerts
        .iter()
        .map(|a| a["epoch"].as_f64().unwrap())
        .collect();
    let mid = epochs[epochs.len() / 2];
    let from = report(&["--from", &format!("{mid}")]);
    let want = epochs.iter().filter(|&&e| e >= mid).count();
    assert_eq!(kind(&from, "alert").len(), want);
    assert_eq!(kind(&from, "summary")[0]["labelled"], labelled);
    let to = report(&["--to", &format!("{mid}")]);
    assert_eq!(
        kind(&to, "alert").len(),
        epochs.iter().filter(|&&e| e <= mid).count()
    );
    // Score.
    let high = report(&["--min-score", "40"]);
    assert!(kind(&high, "alert")
        .iter()
        .all(|a| a["risk_score"].as_u64().unwrap() >= 40));
    assert!(kind(&high, "alert").len() < alerts.len());
    // Hosts: a short name matches its FQDN, any case.
    let host = alerts[0]["host"].as_str().unwrap().to_string();
    let short = host.split('.').next().unwrap().to_uppercase();
    let only = report(&["--host", &short]);
    assert!(!kind(&only, "alert").is_empty());
    for a in kind(&only, "alert") {
        let h = a["host"].as_str().unwrap().to_uppercase();
        assert!(h.split('.').next() == Some(short.as_str()), "{a}");
    }
    let without = report(&["--exclude-host", &short]);
    assert_eq!(
        kind(&without, "alert").len() + kind(&only, "alert").len(),
        alerts.len()
    );
    // Rules, by AlertType.
    let t = alerts[0]["alert_type"][0].as_str().unwrap().to_string();
    let rule = report(&["--rule", &t]);
    assert!(!kind(&rule, "alert").is_empty());
    for a in kind(&rule, "alert") {
        assert!(a["alert_type"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == t.as_str()));
    }
    let not = report(&["--exclude-rule", &t]);
    assert!(kind(&not, "alert").iter().all(|a| !a["alert_type"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x == t.as_str())));
}

/// Alerts come in time order across files, and a hop's evidence is listed
/// by `--hop`; an unknown hop id is an error naming the known ones.
#[test]
fn issue15_time_order_and_hop_evidence() {
    let a = fixture_path("winrm_operational_handmade.csv");
    let b = fixture_path("mordor_psremoting.csv");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let out = lines(&run(&["hunt", "--format", "json", a, b], b""));
    let epochs: Vec<f64> = kind(&out, "alert")
        .iter()
        .map(|a| a["epoch"].as_f64().unwrap())
        .collect();
    assert!(epochs.windows(2).all(|w| w[0] <= w[1]), "{epochs:?}");
    assert!(kind(&out, "alert")[0]["file"]
        .as_str()
        .unwrap()
        .ends_with("mordor_psremoting.csv"));
    let hop = kind(&out, "hop")[0];
    let id = hop["lm_hop_id"].as_str().unwrap();
    let listed = run(&["hunt", "--hop", id, a, b], b"");
    assert_eq!(listed.status.code(), Some(0));
    let text = String::from_utf8(listed.stdout).unwrap();
    assert!(text.contains(hop["src_host"].as_str().unwrap()), "{text}");
    let n = hop["event_count"].as_u64().unwrap() as usize;
    assert!(n >= 1);
    let evidence_lines = text.lines().filter(|l| l.contains(".csv")).count();
    assert_eq!(evidence_lines, n, "{text}");
    let unknown = run(&["hunt", "--hop", "hop-999", a, b], b"");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains(id), "{}", stderr(&unknown));
}

/// `--conf FILE` applies winrmdetect.conf overrides as local/ would: a
/// disabled rule's AlertType is gone; a file that is not there is an error.
#[test]
fn issue15_conf_file_overrides_rules() {
    let dir = scratch("conf");
    let p = fixture_path("mordor_psremoting.csv");
    let p = p.to_str().unwrap();
    let before = lines(&run(&["hunt", "--format", "json", p], b""));
    let types = |lines: &[Value]| -> Vec<String> {
        kind(lines, "alert")
            .iter()
            .flat_map(|a| a["rule_id"].as_array().unwrap().clone())
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    };
    let first = types(&before)[0].clone();
    let conf = dir.join("winrmdetect.conf");
    std::fs::write(&conf, format!("[{first}]\ndisabled = true\n")).unwrap();
    let after = lines(&run(
        &[
            "hunt",
            "--format",
            "json",
            "--conf",
            conf.to_str().unwrap(),
            p,
        ],
        b"",
    ));
    assert!(!types(&after).contains(&first), "{first}");
    assert!(types(&after).len() < types(&before).len());
    let missing = run(&["hunt", "--conf", "/nonexistent/w.conf", p], b"");
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent/w.conf"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// `--html` and `--dot` write their files beside the report on stdout;
/// `--output-dir` writes the three CSV tables.
#[test]
fn issue15_pictures_and_tables_are_written() {
    let dir = scratch("files");
    let p = fixture_path("winrm_operational_handmade.csv");
    let (html, dot) = (dir.join("r.html"), dir.join("r.dot"));
    let out = run(
        &[
            "hunt",
            "--html",
            html.to_str().unwrap(),
            "--dot",
            dot.to_str().unwrap(),
            "--output-dir",
            dir.join("csv").to_str().unwrap(),
            p.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json = lines(&run(
        &["hunt", "--format", "json", p.to_str().unwrap()],
        b"",
    ));
    let hops = kind(&json, "hop");
    let page = std::fs::read_to_string(&html).unwrap();
    let graph = std::fs::read_to_string(&dot).unwrap();
    assert!(graph.starts_with("digraph"));
    for h in &hops {
        let id = h["lm_hop_id"].as_str().unwrap();
        assert!(page.contains(&format!("data-hop=\"{id}\"")), "{id}");
        assert!(graph.contains(id), "{id}");
    }
    for f in ["alerts.csv", "hops.csv", "chains.csv"] {
        assert!(Path::new(&dir.join("csv").join(f)).is_file(), "{f}");
    }
    let hop_rows = std::fs::read_to_string(dir.join("csv/hops.csv")).unwrap();
    assert_eq!(hop_rows.lines().count(), hops.len() + 1);
    let unwritable = run(
        &[
            "hunt",
            "--html",
            "/nonexistent/dir/r.html",
            p.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(unwritable.status.code(), Some(2));
    assert!(stderr(&unwritable).contains("/nonexistent/dir/r.html"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// The default table fits 120 columns and marks what it cuts.
#[test]
fn issue15_the_table_fits_120_columns() {
    let p = fixture_path("mordor_psexec.csv");
    let out = run(&["hunt", p.to_str().unwrap()], b"");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().count() > 5);
    for l in text.lines() {
        assert!(
            l.chars().count() <= 120,
            "{} columns: {l}",
            l.chars().count()
        );
    }
    assert!(text.contains('…'));
    // --wide shows a long command line whole; the table cuts it.
    let json = lines(&run(
        &["hunt", "--format", "json", p.to_str().unwrap()],
        b"",
    ));
    let long = kind(&json, "alert")
        .iter()
        .map(|a| a["process"].as_str().unwrap().to_string())
        .find(|c| c.chars().count() > 60)
        .expect("a long command line");
    let wide =
        String::from_utf8(run(&["hunt", "--wide", p.to_str().unwrap()], b"").stdout).unwrap();
    assert!(wide.contains(&long), "{long}");
    assert!(!text.contains(&long), "{long}");
}

/// The README's main job prints what the README says it prints.
#[test]
fn issue15_readme_shows_the_main_jobs_real_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let command = "cargo run --release -- hunt ";
    let args_line = readme
        .lines()
        .find(|l| l.starts_with(command))
        .expect("the main job's command");
    let args: Vec<&str> = args_line[command.len()..].split_whitespace().collect();
    let after = &readme[readme.find("What the main job prints").unwrap()..];
    let start = after.find("```\n").unwrap() + 4;
    let shown = &after[start..start + after[start..].find("```\n").unwrap()];
    let out = Command::new(env!("CARGO_BIN_EXE_winrmdetect"))
        .arg("hunt")
        .args(&args)
        .current_dir(root)
        .env_remove("WINRMDETECT_APP_DIR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), shown);
}
