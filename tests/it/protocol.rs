//! End-to-end protocol tests: the real binary under the splunkd emulation,
//! with every request pattern of the team's protocol notes (`scp-v2.md`) §4 and the bad inputs of
//! §10.

use crate::harness::*;

const SYSMON: &str = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational";

fn sysmon_rows() -> Vec<u8> {
    splunk_csv(
        &[
            "_time",
            "source",
            "EventCode",
            "Computer",
            "ParentImage",
            "Image",
            "CommandLine",
        ],
        &[
            vec![
                "1700000000.1",
                SYSMON,
                "1",
                "SRV02.corp.example",
                "C:\\Windows\\System32\\wsmprovhost.exe",
                "C:\\Windows\\System32\\whoami.exe",
                "whoami /all",
            ],
            vec![
                "1700000001.2",
                SYSMON,
                "1",
                "WKS01",
                "C:\\Windows\\explorer.exe",
                "C:\\Windows\\notepad.exe",
                "notepad \"a,b\" \u{1F600} ünï",
            ],
        ],
    )
}

#[test]
fn getinfo_declares_streaming_or_stateful_with_an_empty_body() {
    let run = run_binary(getinfo(&[]), &[]);
    run.assert_clean(1);
    assert_eq!(
        run.replies[0].meta,
        serde_json::json!({"type": "streaming"})
    );
    assert!(run.replies[0].body.is_empty());
    let run = run_binary(getinfo(&["local=true"]), &[]);
    assert_eq!(run.replies[0].meta["type"], "stateful");
}

#[test]
fn probe_process_closed_after_getinfo_exits_quietly() {
    let run = run_binary(getinfo(&[]), &[]);
    run.assert_clean(1);
    assert!(run.stderr.is_empty(), "stderr: {}", run.stderr);
    let run = run_binary(Vec::new(), &[]);
    run.assert_clean(0);
}

#[test]
fn splunk_8x_pattern_data_chunks_then_header_only_finished() {
    let body = sysmon_rows();
    let run = run_binary(session(&[], &[body.clone(), body.clone()]), &[]);
    run.assert_clean(4);
    assert!(!run.replies[1].finished() && !run.replies[2].finished());
    assert!(run.replies[3].finished());
    assert!(
        run.replies[3].body.is_empty(),
        "header-only request, empty reply"
    );
    let rows = run.rows();
    assert_eq!(rows.len(), 4);
    assert_passthrough(&[input_rows(&body), input_rows(&body)].concat(), &rows);
    assert_eq!(rows[0].alert_types(), ["WinRM_RemoteExec_Child"]);
    assert_eq!(rows[0].score(), 45);
    assert!(rows[1].alert_types().is_empty());
}

#[test]
fn splunk_63_pattern_all_rows_in_one_finished_chunk() {
    let body = sysmon_rows();
    let mut input = getinfo(&[]);
    input.extend(execute(&body, true));
    let run = run_binary(input, &[]);
    run.assert_clean(2);
    assert!(run.replies[1].finished());
    assert_passthrough(&input_rows(&body), &run.rows());
}

#[test]
fn extra_empty_chunks_get_one_empty_reply_each() {
    let body = sysmon_rows();
    let header = &body[..=body.iter().position(|&b| b == b'\n').unwrap()];
    let mut input = getinfo(&[]);
    input.extend(execute(&body, false));
    input.extend(execute(header, false));
    input.extend(execute(b"", false));
    input.extend(execute(&body, false));
    input.extend(execute(header, true));
    let run = run_binary(input, &[]);
    run.assert_clean(6);
    assert!(run.replies[2].body.is_empty() && run.replies[3].body.is_empty());
    assert_eq!(run.rows().len(), 4);
}

#[test]
fn columns_may_change_from_chunk_to_chunk() {
    let a = sysmon_rows();
    let b = splunk_csv(
        &["EventCode", "source", "connection", "Computer", "_time"],
        &[vec![
            "6",
            "XmlWinEventLog:Microsoft-Windows-WinRM/Operational",
            "SRV03/wsman?PSVersion=5.1",
            "WKS01",
            "1700000002",
        ]],
    );
    let run = run_binary(session(&[], &[a.clone(), b.clone()]), &[]);
    run.assert_clean(4);
    let t = run.replies[2].table();
    assert_eq!(
        &t.header[..5],
        ["EventCode", "source", "connection", "Computer", "_time"]
    );
    let r = &t.rows()[0];
    assert_eq!(r.alert_types(), ["WinRM_SessionInitiated"]);
    assert_eq!(r.get("target_host"), "srv03");
    assert_passthrough(&input_rows(&b), &t.rows());
}

#[test]
fn output_header_is_the_union_even_when_the_first_row_matches_nothing() {
    let body = splunk_csv(
        &["source", "EventCode", "Computer", "ParentImage", "Image"],
        &[
            vec![SYSMON, "1", "A", "C:\\explorer.exe", "C:\\notepad.exe"],
            vec![
                SYSMON,
                "1",
                "B",
                "C:\\Windows\\System32\\wsmprovhost.exe",
                "C:\\cmd.exe",
            ],
        ],
    );
    let run = run_binary(session(&[], &[body]), &[]);
    let rows = run.rows();
    assert_eq!(rows[0].get("AlertType"), "");
    assert_eq!(rows[1].get("AlertType"), "WinRM_RemoteExec_Child");
    assert_eq!(rows[1].get("risk_object"), "b");
}

#[test]
fn non_ascii_lengths_are_bytes() {
    let body = sysmon_rows();
    assert_ne!(
        body.len(),
        String::from_utf8(body.clone()).unwrap().chars().count()
    );
    let run = run_binary(session(&[], std::slice::from_ref(&body)), &[]);
    run.assert_clean(3);
    assert_eq!(
        run.rows()[1].get("CommandLine"),
        "notepad \"a,b\" \u{1F600} ünï"
    );
}

#[test]
fn multivalue_fields_pass_through_and_ours_are_encoded() {
    let body = fixture("scp/multivalue.csv");
    let run = run_binary(session(&[], std::slice::from_ref(&body)), &[]);
    run.assert_clean(3);
    assert_passthrough(&input_rows(&body), &run.rows());
    // Our own multivalue: two AlertTypes on one event.
    let two = splunk_csv(
        &["source", "EventCode", "Computer", "Image", "CommandLine"],
        &[vec![
            SYSMON,
            "1",
            "WKS01",
            "C:\\w\\powershell.exe",
            "powershell Invoke-Command -ComputerName SRV02,SRV03 {winrm e x}",
        ]],
    );
    let run = run_binary(session(&[], &[two]), &[]);
    let r = &run.rows()[0];
    assert_eq!(
        r.get("__mv_AlertType"),
        "$WinRM_PSRemoting$;$WinRM_DirectTool$"
    );
    assert_eq!(r.get("__mv_target_host"), "$srv02$;$srv03$");
}

#[test]
fn recorded_synthetic_sessions_replay_one_reply_per_request() {
    for name in [
        "streaming-edge-cases.input",
        "streaming-edge-cases-noempty.input",
        "streaming-multivalue.input",
        "streaming-selected-fields.input",
    ] {
        let input = fixture(&format!("scp/{name}"));
        let frames = split_frames(&input);
        let run = run_binary(input, &[]);
        run.assert_clean(frames.len());
        let ins: Vec<Row> = frames
            .iter()
            .skip(1)
            .flat_map(|(_, b)| input_rows(b))
            .collect();
        assert_passthrough(&ins, &run.rows());
        for (req, rep) in frames.iter().zip(&run.replies).skip(1) {
            assert_eq!(
                req.0.contains("\"finished\":true"),
                rep.finished(),
                "{name}: finished echoed"
            );
        }
    }
}

#[test]
fn selected_fields_mode_echoes_chunked_idx() {
    let input = fixture("scp/streaming-selected-fields.input");
    let run = run_binary(input, &[]);
    let rows = run.rows();
    assert!(!rows.is_empty());
    for r in &rows {
        assert!(!r.get("_chunked_idx").is_empty());
    }
    assert_eq!(rows[0].get("_chunked_idx"), "0");
    assert_eq!(rows[1].get("_chunked_idx"), "1");
}

#[test]
fn splunk_63_countmatches_recording_passes_500_rows_of_unicode_through() {
    // splunk-sdk-python recording (Apache-2.0, see tests/fixtures/scp/README.md):
    // Arabic, Korean, emoji and quoted newlines; our getinfo replaces its own
    // (its arguments belong to countmatches).
    let frames = split_frames(&fixture("scp/countmatches-6.3.input"));
    let mut input = getinfo(&[]);
    for (meta, body) in &frames[1..] {
        input.extend(frame(meta, body));
    }
    let run = run_binary(input, &[]);
    run.assert_clean(frames.len());
    let ins: Vec<Row> = frames[1..]
        .iter()
        .flat_map(|(_, b)| input_rows(b))
        .collect();
    assert_eq!(ins.len(), 500);
    assert_passthrough(&ins, &run.rows());
}

#[test]
fn alerts_only_and_min_score_filter_rows() {
    let body = sysmon_rows();
    let run = run_binary(
        session(&["alerts_only=true"], std::slice::from_ref(&body)),
        &[],
    );
    assert_eq!(run.rows().len(), 1);
    let run = run_binary(session(&["alerts_only=true", "min_score=50"], &[body]), &[]);
    assert_eq!(run.rows().len(), 0);
}

#[test]
fn detect_false_passes_events_through_without_new_columns() {
    let body = sysmon_rows();
    let run = run_binary(session(&["detect=false"], std::slice::from_ref(&body)), &[]);
    run.assert_clean(3);
    let t = run.replies[1].table();
    assert!(!t.header.contains(&"AlertType".to_string()));
    assert_passthrough(&input_rows(&body), &t.rows());
}

#[test]
fn bad_arguments_are_rejected_at_getinfo_naming_the_argument() {
    for (args, needle) in [
        (&["foo=bar"][..], "foo"),
        (&["alerts_only=perhaps"], "alerts_only"),
        (&["Image"], "Image"),
    ] {
        let mut input = getinfo(args);
        input.extend(execute(&sysmon_rows(), true));
        let run = run_binary_fatal(input);
        assert_eq!(run.replies.len(), 1, "no reply after the error");
        let e = run.replies[0].error().expect("error reply");
        assert!(
            e.contains(needle) && e.contains("alerts_only=<bool>"),
            "{e}"
        );
    }
}

#[test]
fn fatal_protocol_errors_get_an_error_reply() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("execute before getinfo", execute(&sysmon_rows(), true)),
        ("garbage header", b"hello splunk\n".to_vec()),
        ("invalid JSON", frame("{not json", b"")),
        ("JSON not an object", frame("[1,2]", b"")),
        ("no action", frame("{\"finished\":true}", b"")),
        (
            "EOF inside metadata",
            b"chunked 1.0,50,0\n{\"action\":".to_vec(),
        ),
        (
            "EOF inside body",
            [
                getinfo(&[]),
                b"chunked 1.0,37,100\n{\"action\":\"execute\",\"finished\":true}a,b\n".to_vec(),
            ]
            .concat(),
        ),
        ("negative length", b"chunked 1.0,-5,0\n".to_vec()),
        ("huge length", b"chunked 1.0,2,99999999999999\n{}".to_vec()),
        ("second getinfo", [getinfo(&[]), getinfo(&[])].concat()),
    ];
    assert_fatal(cases);
}

/// Each input ends in a finished `error` reply and a non-zero exit, with
/// nothing outside frames and no panic (the harness's [`Expect::Fatal`]).
fn assert_fatal(cases: Vec<(&str, Vec<u8>)>) {
    for (what, input) in cases {
        eprintln!("fatal case: {what}");
        run_binary_fatal(input);
    }
}

#[test]
fn non_utf8_bytes_and_ragged_rows_are_passed_through() {
    let mut body = b"source,EventCode,Computer,Image,ParentImage\n".to_vec();
    body.extend_from_slice(b"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational,1,SRV\xff02,C:\\cmd.exe,C:\\Windows\\System32\\wsmprovhost.exe\n");
    body.extend_from_slice(b"x,y\n");
    let run = run_binary(session(&[], std::slice::from_ref(&body)), &[]);
    run.assert_clean(3);
    let rows = run.rows();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].bytes("Computer"), Some(&b"SRV\xff02"[..]));
    assert_eq!(rows[0].alert_types(), ["WinRM_RemoteExec_Child"]);
    assert_eq!(rows[1].get("source"), "x");
    assert_eq!(rows[1].get("EventCode"), "y");
}

#[test]
fn closed_stdout_is_a_clean_exit() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_winrmdetect"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(&session(&[], &[sysmon_rows(), sysmon_rows()]));
    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn rule_settings_come_from_default_then_local_conf() {
    let dir = app_dir_with(
        "conf",
        "[winrm_remoteexec_child]\nimpact = 100\nconfidence = 90\nmessage = tuned $Computer$\n\n[winrm_host_process]\ndisabled = true\nimpact = lots\n",
    );
    std::fs::create_dir_all(dir.join("default")).unwrap();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("default/winrmdetect.conf"),
        dir.join("default/winrmdetect.conf"),
    )
    .unwrap();
    let run = run_binary(
        session(&[], &[sysmon_rows()]),
        &[("WINRMDETECT_APP_DIR", dir.to_str().unwrap())],
    );
    run.assert_clean(3);
    let r = &run.rows()[0];
    assert_eq!(r.score(), 90);
    assert_eq!(r.get("risk_message"), "tuned SRV02.corp.example");
    let warns = run.replies[1].messages();
    assert!(
        warns
            .iter()
            .any(|(l, m)| l == "WARN" && m.contains("impact") && m.contains("lots")),
        "{warns:?}"
    );
    // Only the first execute reply carries the configuration warnings.
    assert!(run.replies[2].messages().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shipped_default_conf_matches_the_compiled_defaults() {
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("default/winrmdetect.conf"),
    )
    .unwrap();
    assert_eq!(
        shipped,
        winrmdetect::conf::default_conf(),
        "regenerate with: winrmdetect print-default-conf > default/winrmdetect.conf"
    );
}

#[test]
fn in_memory_loop_matches_the_binary() {
    let input = session(&[], &[sysmon_rows()]);
    let mut out = Vec::new();
    winrmdetect::scp::session::run(
        std::io::Cursor::new(input.clone()),
        &mut out,
        &Default::default(),
    )
    .unwrap();
    let (replies, stray) = parse_replies(&out);
    assert!(stray.is_empty());
    let run = run_binary(input, &[]);
    assert_eq!(replies.len(), run.replies.len());
    for (a, b) in replies.iter().zip(&run.replies) {
        assert_eq!((&a.meta, &a.body), (&b.meta, &b.body));
    }
}

/// Issue 5's bad-input matrix, the cases the tests above do not already
/// cover. Each: the expected answer, no panic, no hang (the harness's time
/// bound), and every event that could be passed through was.
#[test]
fn issue5_bad_input_matrix_fatal_cases() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("EOF inside a header", b"chunked 1.0,5".to_vec()),
        (
            "metadata length smaller than the metadata",
            b"chunked 1.0,10,0\n{\"action\":\"getinfo\"}".to_vec(),
        ),
        ("action of the wrong type", frame("{\"action\":5}", b"")),
        ("unknown action", frame("{\"action\":\"explode\"}", b"")),
        (
            "length larger than the data, then EOF",
            [getinfo(&[]), b"chunked 1.0,2,500\n{}a,b\n1,2\n".to_vec()].concat(),
        ),
        (
            "repeated argument",
            getinfo(&["alerts_only=true", "alerts_only=false"]),
        ),
        ("malformed argument", getinfo(&["min_score=high"])),
    ];
    assert_fatal(cases);
}

/// CSV the Splunk side should never send but might: each body is answered
/// with every row passed through unchanged, in order.
#[test]
fn issue5_bad_input_matrix_csv_passes_through() {
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        (
            "embedded CR/LF in a quoted field",
            b"Image,CommandLine\n\"C:\\\\a.exe\",\"line1\r\nline2\"\nC:\\\\b.exe,plain\n".to_vec(),
        ),
        ("ragged rows", b"a,b,c\n1\n1,2,3,4\n".to_vec()),
        ("header only", b"a,b,c\n".to_vec()),
    ];
    for (what, body) in bodies {
        let run = run_binary(session(&[], std::slice::from_ref(&body)), &[]);
        assert!(
            run.replies.iter().all(|r| r.error().is_none()),
            "{what}: {:?}",
            run.replies.last().map(|r| &r.meta)
        );
        assert_eq!(run.exit_code, Some(0), "{what}: {}", run.stderr);
        assert_passthrough(&input_rows(&body), &run.rows());
    }
}

/// Bodies the harness's own CSV reading refuses: the reply holds the input
/// rows' bytes unchanged, in order, each followed by our (empty) columns.
/// An unbalanced quote makes the rest of the body one field, which is
/// copied as it came: Splunk reads the reply as it read the request.
#[test]
fn issue5_bad_input_matrix_raw_pass_through() {
    for (what, body, rows, warn) in [
        (
            "malformed __mv_ field",
            &b"Image,__mv_Image,Computer\nC:\\a.exe,$unterminated$$,SRV\n"[..],
            &[&b"C:\\a.exe,$unterminated$$,SRV,"[..]][..],
            None,
        ),
        (
            "unbalanced quote",
            b"Image,Computer\nC:\\a.exe,SRV1\n\"C:\\b.exe,SRV2\nC:\\c.exe,SRV3\n",
            &[b"C:\\a.exe,SRV1,", b"\"C:\\b.exe,SRV2\nC:\\c.exe,SRV3"],
            Some("row 2 opens a quote that is never closed"),
        ),
    ] {
        let run = run_binary_malformed_csv(session(&[], &[body.to_vec()]));
        assert_eq!(run.exit_code, Some(0), "{what}: {}", run.stderr);
        let warnings: Vec<String> = run
            .replies
            .iter()
            .flat_map(|r| r.messages())
            .filter(|(level, _)| level == "WARN")
            .map(|(_, m)| m)
            .collect();
        match warn {
            Some(w) => assert!(
                warnings.len() == 1 && warnings[0].contains(w),
                "{what}: {warnings:?}"
            ),
            None => assert!(warnings.is_empty(), "{what}: {warnings:?}"),
        }
        let out: Vec<u8> = run.replies.iter().flat_map(|r| r.body.clone()).collect();
        let mut at = 0;
        for row in rows {
            let found = out[at..]
                .windows(row.len())
                .position(|w| w == *row)
                .unwrap_or_else(|| {
                    panic!(
                        "{what}: {:?} not passed through",
                        String::from_utf8_lossy(row)
                    )
                });
            at += found + row.len();
        }
        assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
    }
}

/// Issue 5's matrix, the big cases: a chunk of 500,000 rows and a chunk
/// whose one field is 100 MB. Every row comes back unchanged and in order,
/// and the rows that are remote-execution children (and only those) are
/// labelled, under the harness's time bound. (Their memory is measured by
/// the benchmark: `bench -- --events 500000 --chunk 500000` and
/// `bench -- --events 1000 --chunk 1000 --field-mb 100`.)
#[test]
fn issue5_bad_input_matrix_500k_rows_and_a_100mb_field() {
    let header = "_time,source,EventCode,Computer,ParentImage,Image,CommandLine\n";
    let mut big = header.as_bytes().to_vec();
    for i in 0..500_000u32 {
        let parent = if i % 1000 == 7 {
            "C:\\Windows\\System32\\wsmprovhost.exe"
        } else {
            "C:\\Windows\\explorer.exe"
        };
        big.extend_from_slice(
            format!(
                "{i},{SYSMON},1,WKS{},{parent},C:\\x\\p{i}.exe,p{i} /q\n",
                i % 97
            )
            .as_bytes(),
        );
    }
    let run = run_binary(session(&[], std::slice::from_ref(&big)), &[]);
    run.assert_clean(3);
    let rows = run.rows();
    assert_eq!(rows.len(), 500_000);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.get("_time"), i.to_string(), "row {i} in order");
        assert_eq!(r.get("CommandLine"), format!("p{i} /q"));
        let labelled = !r.alert_types().is_empty();
        assert_eq!(labelled, i % 1000 == 7, "row {i}");
    }

    let field = {
        let mut f = b"winrs -r:dc01.corp.example cmd /c ".to_vec();
        f.resize(100 << 20, b'A');
        f
    };
    let mut body = header.as_bytes().to_vec();
    body.extend_from_slice(b"1,x,1,A,p,i,before\n2,");
    body.extend_from_slice(SYSMON.as_bytes());
    body.extend_from_slice(
        b",1,WKS01,C:\\Windows\\explorer.exe,C:\\Windows\\System32\\winrs.exe,\"",
    );
    body.extend_from_slice(&field);
    body.extend_from_slice(b"\"\n3,x,1,C,p,i,after\n");
    let run = run_binary(session(&[], std::slice::from_ref(&body)), &[]);
    run.assert_clean(3);
    let rows = run.rows();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].get("CommandLine"), "before");
    assert_eq!(rows[1].bytes("CommandLine"), Some(&field[..]));
    assert_eq!(rows[1].get("target_host"), "dc01");
    assert_eq!(rows[2].get("CommandLine"), "after");
}

/// An app directory whose `local/winrmdetect.conf` is `conf`.
fn app_dir_with(tag: &str, conf: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("winrmdetect-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("local")).unwrap();
    std::fs::write(dir.join("local/winrmdetect.conf"), conf).unwrap();
    dir
}

/// `risk_score = impact * confidence / 100`, rounded down (the shipped
/// defaults are all multiples of 100, so only a tuned rule shows it).
#[test]
fn issue11_risk_score_rounds_down() {
    for (impact, confidence, score) in [(33, 50, 16), (99, 99, 98), (1, 99, 0), (100, 100, 100)] {
        let conf =
            format!("[winrm_remoteexec_child]\nimpact = {impact}\nconfidence = {confidence}\n");
        let dir = app_dir_with("round", &conf);
        let run = run_binary(
            session(&[], &[sysmon_rows()]),
            &[("WINRMDETECT_APP_DIR", dir.to_str().unwrap())],
        );
        let r = &run.rows()[0];
        assert_eq!(r.alert_types(), ["WinRM_RemoteExec_Child"]);
        assert_eq!(r.score(), score, "{impact} x {confidence}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// `alerts_only=true` keeps the events scoring at least `min_score`: the
/// whoami child of wsmprovhost.exe scores 45.
#[test]
fn issue11_min_score_is_inclusive() {
    let kept = |args: &[&str]| -> Vec<String> {
        run_binary(session(args, &[sysmon_rows()]), &[])
            .rows()
            .iter()
            .map(|r| format!("{} {}", r.get("Image"), r.score()))
            .collect()
    };
    let whoami = ["C:\\Windows\\System32\\whoami.exe 45".to_string()];
    assert_eq!(kept(&["alerts_only=true", "min_score=45"]), whoami);
    assert_eq!(kept(&["alerts_only=true", "min_score=44"]), whoami);
    assert!(kept(&["alerts_only=true", "min_score=46"]).is_empty());
    // Without alerts_only every event comes back, whatever min_score says.
    assert_eq!(kept(&["min_score=46"]).len(), 2);
}

/// Two rules of equal score on one event: the one listed first in the rule
/// table gives the event its risk message (the order is part of the
/// contract, so a re-run or a reordered input never flips it).
#[test]
fn issue11_equal_scores_keep_the_first_rules_message() {
    let dir = app_dir_with(
        "tie",
        "[winrm_psremoting]\nimpact = 60\nconfidence = 90\n\n[winrm_directtool]\nimpact = 90\nconfidence = 60\n",
    );
    let body = splunk_csv(
        &["source", "EventCode", "Computer", "Image", "CommandLine"],
        &[vec![
            SYSMON,
            "1",
            "WKS01",
            "C:\\w\\powershell.exe",
            "powershell Invoke-Command -ComputerName SRV02 {winrm e x}",
        ]],
    );
    let run = run_binary(
        session(&[], &[body]),
        &[("WINRMDETECT_APP_DIR", dir.to_str().unwrap())],
    );
    let r = &run.rows()[0];
    assert_eq!(r.alert_types(), ["WinRM_PSRemoting", "WinRM_DirectTool"]);
    assert_eq!(r.score(), 54);
    assert_eq!(
        r.get("risk_message"),
        "PowerShell remoting from wks01 to srv02"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
