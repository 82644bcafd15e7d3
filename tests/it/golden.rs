//! Golden tests on committed fixtures (real Mordor / EVTX-to-MITRE-Attack
//! excerpts and hand-made WinRM/Operational events; provenance in
//! `tests/fixtures/PROVENANCE.md`), run through the real binary over the
//! protocol in 50-row chunks. Named after the issue that asked for them.

use std::collections::{BTreeMap, BTreeSet};

use winrmdetect::detect::rules::Level;

use crate::harness::*;

/// Runs a fixture in chunks of `rows`, checks pass-through, returns rows.
fn label(name: &str, rows: usize) -> Vec<Row> {
    let data = fixture(name);
    let bodies = csv_chunks(&data, rows);
    let run = run_binary(session(&[], &bodies), &[]);
    run.assert_clean(bodies.len() + 2);
    let out = run.rows();
    let ins: Vec<Row> = bodies.iter().flat_map(|b| input_rows(b)).collect();
    assert_passthrough(&ins, &out);
    out
}

fn host_of(r: &Row) -> String {
    let c = r.get("Computer");
    if c.is_empty() { r.get("host") } else { c }
        .split('.')
        .next()
        .unwrap()
        .to_ascii_uppercase()
}

/// `(short host, AlertType)` → number of events.
fn census(rows: &[Row]) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for r in rows {
        for t in r.alert_types() {
            *m.entry((host_of(r), t)).or_insert(0) += 1;
        }
    }
    m
}

fn count(m: &BTreeMap<(String, String), usize>, host: &str, t: &str) -> usize {
    m.get(&(host.to_string(), t.to_string()))
        .copied()
        .unwrap_or(0)
}

#[test]
fn issue2_mordor_psremoting_labels_both_ends() {
    let rows = label("mordor_psremoting.csv", 50);
    let m = census(&rows);
    // Destination WORKSTATION6: wsmprovhost → powershell stager, in Sysmon 1 and 4688.
    assert_eq!(count(&m, "WORKSTATION6", "WinRM_RemoteExec_Child"), 2);
    // Remote runspace: classic 400 and 4103 with HostName=ServerRemoteHost.
    assert_eq!(count(&m, "WORKSTATION6", "PS_RemoteSession"), 2);
    assert_eq!(count(&m, "WORKSTATION6", "WinRM_HostProcess"), 2);
    assert!(count(&m, "WORKSTATION6", "WinRM_InboundConnection") >= 3);
    // Source WORKSTATION5: powershell.exe → 172.18.39.6:5985.
    let src: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            host_of(r) == "WORKSTATION5"
                && r.alert_types()
                    .contains(&"WinRM_NetworkConnection".to_string())
        })
        .collect();
    assert!(src.len() >= 3, "{}", src.len());
    for r in &src {
        assert_eq!(r.get("target_host"), "172.18.39.6");
        assert_eq!(r.get("lm_side"), "source");
        assert!(r.get("threat_object").contains("172.18.39.6"));
    }
    // Nothing on the domain controller, nothing else that alerts.
    assert!(m.keys().all(|(h, _)| h != "MORDORDC"), "{m:?}");
    let stager = rows
        .iter()
        .find(|r| r.get("EventCode") == "1" && r.alert_types() == ["WinRM_RemoteExec_Child"])
        .unwrap();
    assert_eq!(stager.score(), 45);
    assert_eq!(stager.get("lm_side"), "destination");
    assert_eq!(stager.get("mitre_technique_id"), "T1021.006");
    assert_eq!(
        stager.get("risk_object"),
        "workstation6",
        "issue 14: one host spelling"
    );
    assert_eq!(stager.get("risk_object_type"), "system");
    assert_eq!(
        stager.get("__mv_threat_object"),
        "$powershell.exe$;$wsmprovhost.exe$"
    );
    assert_eq!(
        stager.get("__mv_threat_object_type"),
        "$process_name$;$parent_process_name$"
    );
    assert_eq!(
        stager.get("risk_message"),
        "wsmprovhost.exe on workstation6 spawned powershell.exe (remote PowerShell / WinRM execution)"
    );
}

#[test]
fn issue2_results_do_not_depend_on_chunking() {
    let key = |rows: Vec<Row>| -> Vec<(String, String, String)> {
        rows.iter()
            .map(|r| {
                (
                    r.get("AlertType"),
                    r.get("risk_score"),
                    r.get("target_host"),
                )
            })
            .collect()
    };
    let one = key(label("mordor_psremoting.csv", 1));
    assert!(
        one.iter().filter(|(t, _, _)| !t.is_empty()).count() >= 10,
        "the fixture is labelled: {one:?}"
    );
    assert_eq!(one, key(label("mordor_psremoting.csv", 50)));
    assert_eq!(one, key(label("mordor_psremoting.csv", 100_000)));
}

#[test]
fn issue2_mordor_sharpwmi_labels_the_wmiprvse_child() {
    let rows = label("mordor_sharpwmi.csv", 50);
    let m = census(&rows);
    assert_eq!(
        count(&m, "WORKSTATION6", "WMI_RemoteExec_Child"),
        2,
        "{m:?}"
    );
    let child = rows
        .iter()
        .find(|r| {
            r.alert_types()
                .contains(&"WMI_RemoteExec_Child".to_string())
        })
        .unwrap();
    assert!(child
        .get("threat_object")
        .to_ascii_lowercase()
        .contains("grunthttp2.exe"));
    assert_eq!(child.score(), 49);
    assert_eq!(child.get("mitre_technique_id"), "T1047");
}

#[test]
fn issue2_hard_negative_local_wmic_xsl_raises_nothing() {
    let rows = label("mordor_wmic_xsl_local.csv", 50);
    assert!(rows.len() > 10, "{} rows", rows.len());
    // No label at all, not even a score-0 context one (`get` fails the
    // test if the AlertType column vanished).
    let labelled: Vec<String> = rows
        .iter()
        .filter(|r| !r.get("AlertType").is_empty() || !r.get("risk_score").is_empty())
        .map(|r| format!("{} {}", r.get("AlertType"), r.get("risk_score")))
        .collect();
    assert!(labelled.is_empty(), "{labelled:?}");
}

#[test]
fn issue2_impacket_wmiexec_and_the_scom_lookalike() {
    let rows = label("mdec_wmiexec_via_smb.csv", 50);
    let hits: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            r.alert_types()
                .contains(&"WMI_Impacket_WmiExec".to_string())
        })
        .collect();
    assert_eq!(hits.len(), 2);
    assert!(hits
        .iter()
        .all(|r| r.get("CommandLine").contains("ADMIN$") && r.score() == 63));
    let scom = rows
        .iter()
        .find(|r| r.get("ParentProcessName").ends_with("MonitoringHost.exe"))
        .unwrap();
    assert!(scom.alert_types().is_empty());
}

/// What each hand-made WinRM/Operational event must yield:
/// (fixture_id, AlertType, risk_score, lm_side, target_host).
const WINRM_EXPECT: &[(&str, &str, u32, &str, &str)] = &[
    (
        "loc6_47001",
        "WinRM_SessionContext",
        0,
        "local",
        "localhost",
    ),
    ("loc6_127", "WinRM_SessionContext", 0, "local", "127.0.0.1"),
    ("loc6_ipv6", "WinRM_SessionContext", 0, "local", "::1"),
    ("psr1_wks_2", "WinRM_SessionContext", 0, "source", ""),
    (
        "psr1_wks_6",
        "WinRM_SessionInitiated",
        15,
        "source",
        "SRV02.corp.example",
    ),
    ("psr1_wks_31", "WinRM_SessionContext", 0, "source", ""),
    ("psr1_wks_166", "WinRM_SessionContext", 0, "source", ""),
    ("psr1_wks_11", "WinRM_SessionContext", 0, "source", ""),
    (
        "psr1_srv02_168",
        "WinRM_SessionCreated",
        15,
        "destination",
        "",
    ),
    (
        "psr1_srv02_169",
        "WinRM_SessionContext",
        0,
        "destination",
        "",
    ),
    (
        "psr1_srv02_193",
        "WinRM_SessionContext",
        0,
        "destination",
        "",
    ),
    (
        "psr1_srv02_91",
        "WinRM_SessionCreated",
        15,
        "destination",
        "",
    ),
    (
        "psr1_wks_80",
        "WinRM_SessionContext",
        0,
        "source",
        "SRV02.corp.example",
    ),
    ("psr1_wks_8", "WinRM_SessionContext", 0, "source", ""),
    (
        "fail12_wks_6",
        "WinRM_SessionInitiated",
        15,
        "source",
        "10.0.1.33",
    ),
    ("fail12_wks_12", "WinRM_SessionFailed", 15, "source", ""),
    (
        "fail162_wks_6",
        "WinRM_SessionInitiated",
        15,
        "source",
        "SRV03.corp.example",
    ),
    ("fail162_wks_162", "WinRM_SessionFailed", 15, "source", ""),
    (
        "chain_srv02_6",
        "WinRM_SessionInitiated",
        15,
        "source",
        "SRV03.corp.example",
    ),
    (
        "chain_srv03_91",
        "WinRM_SessionCreated",
        15,
        "destination",
        "",
    ),
    ("err_wks_161", "WinRM_SessionContext", 0, "source", ""),
    ("err_wks_142", "WinRM_SessionContext", 0, "source", ""),
    (
        "conn6_fqdn_port",
        "WinRM_SessionInitiated",
        15,
        "source",
        "SRV03.corp.example",
    ),
    (
        "conn6_https",
        "WinRM_SessionInitiated",
        15,
        "source",
        "SRV03.corp.example",
    ),
    (
        "conn6_http_ip",
        "WinRM_SessionInitiated",
        15,
        "source",
        "10.0.1.33",
    ),
    (
        "conn6_ip_psver",
        "WinRM_SessionInitiated",
        15,
        "source",
        "10.0.1.33",
    ),
    (
        "conn6_ipv6",
        "WinRM_SessionInitiated",
        15,
        "source",
        "fd00::33",
    ),
    (
        "conn6_winrs",
        "WinRM_SessionInitiated",
        15,
        "source",
        "SRV03",
    ),
    (
        "winrs_srv03_91",
        "WinRM_SessionCreated",
        15,
        "destination",
        "",
    ),
    (
        "srv03_91_clientip",
        "WinRM_SessionCreated",
        15,
        "destination",
        "",
    ),
    (
        "srv03_91_procerr",
        "WinRM_SessionCreated",
        15,
        "destination",
        "",
    ),
];

#[test]
fn issue2_handmade_winrm_operational_events() {
    let rows = label("winrm_operational_handmade.csv", 50);
    assert!(
        rows.iter().all(|r| !r.alert_types().is_empty()),
        "every WinRM/Operational event is recognised"
    );
    for (id, t, score, side, target) in WINRM_EXPECT {
        let r = rows
            .iter()
            .find(|r| r.get("fixture_id") == *id)
            .unwrap_or_else(|| panic!("fixture {id}"));
        let got = (
            r.get("AlertType"),
            r.score(),
            r.get("lm_side"),
            r.get("target_host"),
        );
        assert_eq!(
            got,
            (
                t.to_string(),
                *score,
                side.to_string(),
                // Issue 14: hosts short and lower-case in every output.
                winrmdetect::detect::targets::short_host(target)
            ),
            "{id}"
        );
    }
    let get = |id: &str| {
        rows.iter()
            .find(|r| r.get("fixture_id") == id)
            .unwrap()
            .clone()
    };
    assert!(get("srv03_91_clientip")
        .get("__mv_threat_object")
        .is_empty());
    assert_eq!(get("srv03_91_clientip").get("threat_object"), "10.0.1.21");
    assert!(get("srv03_91_clientip")
        .get("alert_description")
        .contains("CORP\\alice from 10.0.1.21"));
    assert!(get("srv03_91_procerr")
        .get("alert_description")
        .contains("winrs cmd shell"));
    assert!(get("fail12_wks_12")
        .get("alert_description")
        .contains("TrustedHosts"));
    assert!(get("psr1_wks_166")
        .get("alert_description")
        .contains("Kerberos"));
    assert!(get("psr1_wks_80")
        .get("alert_description")
        .contains("DeleteShell"));
    assert_eq!(
        get("psr1_wks_6").get("risk_message"),
        "WinRM session from wks01 to srv02"
    );
}

#[test]
fn issue2_raw_xml_fallback_gives_the_same_labels() {
    let full = label("winrm_operational_handmade.csv", 50);
    let raw = label("winrm_operational_rawonly.csv", 50);
    let fields = [
        "AlertType",
        "risk_score",
        "lm_side",
        "target_host",
        "risk_object",
        "risk_message",
    ];
    for f in &full {
        let r = raw
            .iter()
            .find(|r| r.get("_time") == f.get("_time"))
            .expect("same event in the raw-only file");
        for k in fields {
            assert_eq!(r.get(k), f.get(k), "{k} for {}", f.get("fixture_id"));
        }
    }
    // The three Sysmon rows that exist only as XML.
    let by_image = |needle: &str| {
        raw.iter()
            .find(|r| r.get("_raw").contains(needle))
            .unwrap()
            .clone()
    };
    assert_eq!(
        by_image("whoami.exe").alert_types(),
        ["WinRM_RemoteExec_Child"]
    );
    let ps = by_image("Invoke-Command");
    assert_eq!(ps.alert_types(), ["WinRM_PSRemoting"]);
    assert_eq!(ps.get("target_host"), "srv02");
    assert!(by_image("notepad.exe").alert_types().is_empty());
}

#[test]
fn issue2_readme_documents_every_rule_option_and_field() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    for r in winrmdetect::detect::rules::RULES.iter() {
        assert!(
            readme.contains(&format!("`{}`", r.id)),
            "README lacks rule {}",
            r.id
        );
        assert!(
            readme.contains(r.alert_type),
            "README lacks {}",
            r.alert_type
        );
    }
    for f in winrmdetect::chunk::OUTPUT_FIELDS {
        assert!(
            readme.contains(&format!("`{f}`")),
            "README lacks output field {f}"
        );
    }
    for o in ["alerts_only=", "min_score=", "detect=", "local="] {
        assert!(readme.contains(o), "README lacks option {o}");
    }
}

/// Runs a fixture through correlation mode and returns the hop rows.
fn hops(name: &str, rows: usize, args: &[&str]) -> Vec<Row> {
    let data = fixture(name);
    let bodies = csv_chunks(&data, rows);
    let mut all = vec!["correlate=true", "summary=true"];
    all.extend_from_slice(args);
    let run = run_binary(session(&all, &bodies), &[]);
    run.assert_clean(bodies.len() + 2);
    assert_eq!(run.replies[0].meta["type"], "reporting");
    assert_eq!(
        run.replies[0].meta["streaming_preop"],
        "winrmdetect phase=map"
    );
    for r in &run.replies[1..run.replies.len() - 1] {
        assert!(r.body.is_empty(), "rows only in the last reply");
    }
    run.last_rows()
}

/// `src->dest technique reasons` per hop, for assertion messages.
fn describe(hops: &[Row]) -> Vec<String> {
    hops.iter()
        .map(|r| {
            let f = |k: &str| r.get(k);
            format!(
                "{}->{} {} {}",
                f("src_host"),
                f("dest_host"),
                f("lm_technique"),
                f("lm_confidence_reasons")
            )
        })
        .collect()
}

#[test]
fn issue3_mordor_psremoting_is_one_hop_workstation5_to_workstation6() {
    let h = hops("mordor_psremoting.csv", 50, &[]);
    assert_eq!(h.len(), 1, "{:?}", describe(&h));
    let hop = &h[0];
    assert_eq!(
        (hop.get("src_host").as_str(), hop.get("dest_host").as_str()),
        ("workstation5", "workstation6")
    );
    assert!(["PSRemoting", "WinRM"].contains(&hop.get("lm_technique").as_str()));
    assert_eq!(hop.get("lm_outcome"), "success");
    assert!(hop.get("src_user").contains("pgustavo") && hop.get("dest_user").contains("pgustavo"));
    let reasons = hop.get("lm_confidence_reasons");
    assert!(
        reasons.contains("target_name") && reasons.contains("source_ip"),
        "{reasons}"
    );
    assert!(hop.get("evidence").contains("WinRM_RemoteExec_Child"));
    assert_eq!(
        hop.get("__mv_risk_object_type"),
        "$system$;$system$;$user$",
        "{}",
        hop.get("__mv_risk_object")
    );
    assert!(hop
        .get("risk_object")
        .starts_with("workstation6\nworkstation5\n"));
    assert!(hop
        .get("risk_message")
        .contains("workstation5 -> workstation6"));
    assert!(
        hop.score() > 45,
        "a confirmed hop scores above either end alone"
    );
}

#[test]
fn issue3_mordor_sharpwmi_is_one_wmi_hop() {
    let h = hops("mordor_sharpwmi.csv", 50, &[]);
    assert_eq!(h.len(), 1, "{:?}", describe(&h));
    assert_eq!(
        (
            h[0].get("src_host").as_str(),
            h[0].get("dest_host").as_str()
        ),
        ("workstation5", "workstation6")
    );
    assert_eq!(h[0].get("lm_technique"), "WMI");
    assert!(h[0].get("lm_confidence_reasons").contains("logon_id"));
}

#[test]
fn issue3_handmade_winrm_hops_failures_and_a_chain() {
    let h = hops("winrm_operational_handmade.csv", 50, &[]);
    let key = |r: &Row| (r.get("src_host"), r.get("dest_host"), r.get("lm_outcome"));
    let keys: Vec<_> = h.iter().map(key).collect();
    let has =
        |s: &str, d: &str, o: &str| keys.contains(&(s.to_string(), d.to_string(), o.to_string()));
    assert!(has("wks01", "srv02", "success"), "{keys:?}");
    assert!(has("srv02", "srv03", "success"), "{keys:?}");
    assert!(has("wks01", "srv03", "failed"), "{keys:?}");
    assert!(has("wks01", "10.0.1.33", "failed"), "{keys:?}");
    let first = h
        .iter()
        .find(|r| key(r) == ("wks01".into(), "srv02".into(), "success".into()))
        .unwrap();
    let second = h
        .iter()
        .find(|r| key(r) == ("srv02".into(), "srv03".into(), "success".into()))
        .unwrap();
    assert_eq!(first.get("lm_chain_id"), second.get("lm_chain_id"));
    assert_eq!(
        (first.get("lm_hop").as_str(), second.get("lm_hop").as_str()),
        ("1", "2")
    );
    assert!(first.get("lm_confidence_reasons").contains("user"));
    assert_eq!(first.get("lm_technique"), "PSRemoting");
    let winrs = h
        .iter()
        .find(|r| r.get("lm_technique") == "winrs")
        .expect("the winrs session is a hop");
    assert_eq!(
        (
            winrs.get("src_host").as_str(),
            winrs.get("dest_host").as_str()
        ),
        ("wks01", "srv03")
    );
    // Loopback sessions are not hops.
    assert!(h
        .iter()
        .all(|r| !["localhost", "127.0.0.1", "::1"].contains(&r.get("dest_host").as_str())));
}

#[test]
fn issue3_same_hops_whatever_the_order_and_chunking() {
    for name in [
        "winrm_operational_handmade.csv",
        "mordor_psremoting.csv",
        "mordor_sharpwmi.csv",
    ] {
        let one = hop_lines(&hops(name, 100_000, &[]));
        assert!(!one.is_empty(), "{name}: the fixture has hops");
        assert_eq!(
            one,
            hop_lines(&hops(name, 1, &[])),
            "{name}: one-row chunks"
        );
        // Newest first, as Splunk sends them.
        let data = fixture(name);
        let mut bodies = csv_chunks(&data, 1);
        bodies.reverse();
        let run = run_binary(session(&["correlate=true", "summary=true"], &bodies), &[]);
        let reversed = hop_lines(&run.last_rows());
        assert_eq!(one, reversed, "{name}: newest first");
    }
}

#[test]
fn issue3_hard_negatives_make_no_hop() {
    assert!(hops("mordor_wmic_xsl_local.csv", 50, &[]).is_empty());
}

/// Splunk's map/reduce: the map phase (`winrmdetect phase=map`, on each
/// indexer) keeps only the evidence rows; the reduce phase correlates their
/// concatenation. Same hops as one process over everything.
#[test]
fn issue3_map_reduce_gives_the_same_hops_as_one_process() {
    for name in [
        "mordor_psremoting.csv",
        "mordor_sharpwmi.csv",
        "winrm_operational_handmade.csv",
        "mordor_psexec.csv",
        "mordor_dcom_shellwindows.csv",
        "mordor_schtask_remote.csv",
        "rdp_handmade.csv",
    ] {
        let data = fixture(name);
        let bodies = csv_chunks(&data, 40);
        let single = hops(name, 40, &[]);
        // Three "indexers", each with every third chunk.
        let mut map_out: Vec<Vec<u8>> = Vec::new();
        let (mut rows_in, mut rows_kept, mut bytes_in, mut bytes_kept) = (0, 0, 0, 0);
        for peer in 0..3 {
            let mine: Vec<Vec<u8>> = bodies.iter().skip(peer).step_by(3).cloned().collect();
            let run = run_binary(session(&["phase=map"], &mine), &[]);
            run.assert_clean(mine.len() + 2);
            assert_eq!(run.replies[0].meta["type"], "streaming");
            for (req, rep) in mine.iter().zip(&run.replies[1..]) {
                rows_in += input_rows(req).len();
                bytes_in += req.len();
                let kept = rep.table().rows();
                // Kept rows are passed unchanged and get no added columns.
                assert!(!rep.table().header.contains(&"AlertType".to_string()));
                rows_kept += kept.len();
                if !kept.is_empty() {
                    bytes_kept += rep.body.len();
                    map_out.push(rep.body.clone());
                }
            }
        }
        assert!(rows_kept < rows_in, "{name}: the map phase filters");
        eprintln!("{name}: map phase kept {rows_kept} of {rows_in} rows, {bytes_kept} of {bytes_in} bytes");
        let run = run_binary(session(&["correlate=true", "summary=true"], &map_out), &[]);
        let reduced = run.last_rows();
        assert!(!single.is_empty(), "{name}: the fixture has hops");
        assert_eq!(hop_lines(&single), hop_lines(&reduced), "{name}");
    }
}

#[test]
fn issue3_the_evidence_cap_warns_instead_of_failing() {
    let data = fixture("mordor_psremoting.csv");
    let run = run_binary(
        session(
            &["correlate=true", "max_evidence=3"],
            &csv_chunks(&data, 50),
        ),
        &[],
    );
    let last = run.replies.last().unwrap();
    let warns = last.messages();
    assert!(
        warns
            .iter()
            .any(|(l, m)| l == "WARN" && m.contains("dropped")),
        "{warns:?}"
    );
    assert_eq!(run.exit_code, Some(0));
}

#[test]
fn issue3_events_of_a_hop_are_annotated_with_both_roles() {
    let data = fixture("mordor_psremoting.csv");
    let bodies = csv_chunks(&data, 50);
    let run = run_binary(session(&["correlate=true"], &bodies), &[]);
    run.assert_clean(bodies.len() + 2);
    let events = run.last_rows();
    assert!(!events.is_empty());
    let ins: Vec<Row> = bodies.iter().flat_map(|b| input_rows(b)).collect();
    for e in &events {
        assert_eq!(e.get("lm_hop_id"), "hop-1");
        assert_eq!(
            (e.get("src_host").as_str(), e.get("dest_host").as_str()),
            ("workstation5", "workstation6")
        );
        // The event's own fields come through unchanged.
        let original = ins
            .iter()
            .find(|i| {
                i.get("EventRecordID") == e.get("EventRecordID") && i.get("host") == e.get("host")
            })
            .expect("annotated event is an input event");
        for (k, v) in &original.0 {
            assert_eq!(e.bytes(k), Some(v.as_slice()), "{k}");
        }
    }
    let role_of =
        |pred: &dyn Fn(&Row) -> bool| events.iter().find(|e| pred(e)).map(|e| e.get("lm_role"));
    assert_eq!(
        role_of(&|e| e.get("host") == "WORKSTATION5" && e.get("EventCode") == "3").as_deref(),
        Some("source")
    );
    assert_eq!(
        role_of(&|e| e.get("ParentImage").ends_with("wsmprovhost.exe")).as_deref(),
        Some("destination")
    );
    assert!(events
        .iter()
        .all(|e| e.get("lm_confidence_reasons").contains("source_ip")));
}

/// RogueWinRM-style local activity: a fake listener on 127.0.0.1:5985 and
/// loopback connections to it, plus a host reaching itself.
#[test]
fn issue3_loopback_and_self_connections_are_not_hops() {
    let sysmon = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational";
    let body = splunk_csv(
        &[
            "_time",
            "source",
            "EventCode",
            "Computer",
            "Image",
            "Initiated",
            "SourceIp",
            "DestinationIp",
            "DestinationPort",
            "User",
        ],
        &[
            vec![
                "1590282827",
                sysmon,
                "3",
                "MSEDGEWIN10",
                "C:\\x\\svchost.exe",
                "true",
                "127.0.0.1",
                "127.0.0.1",
                "5985",
                "NT AUTHORITY\\SYSTEM",
            ],
            vec![
                "1590282827",
                sysmon,
                "3",
                "MSEDGEWIN10",
                "C:\\x\\RogueWinRM.exe",
                "false",
                "127.0.0.1",
                "127.0.0.1",
                "5985",
                "ieuser",
            ],
            vec![
                "1590282830",
                sysmon,
                "3",
                "MSEDGEWIN10",
                "C:\\x\\powershell.exe",
                "true",
                "10.0.2.15",
                "10.0.2.15",
                "5985",
                "ieuser",
            ],
            vec![
                "1590282830",
                sysmon,
                "3",
                "MSEDGEWIN10",
                "System",
                "false",
                "10.0.2.15",
                "10.0.2.15",
                "5985",
                "ieuser",
            ],
        ],
    );
    let run = run_binary(session(&["correlate=true", "summary=true"], &[body]), &[]);
    run.assert_clean(3);
    assert!(run.last_rows().is_empty());
}

/// What an operator ran inside a remote session is part of the hop: the
/// process tree below the flagged child of `wsmprovhost.exe` / `WmiPrvSE.exe`
/// (Mordor: `whoami.exe` under the remoting `powershell.exe`; SharpWMI: the
/// Grunt's `conhost.exe`), and nothing outside it.
#[test]
fn issue3_processes_below_a_remote_session_join_its_hop() {
    let annotated = |name: &str, rows: usize, reverse: bool| -> Vec<Row> {
        let data = fixture(name);
        let mut bodies = csv_chunks(&data, rows);
        if reverse {
            bodies.reverse();
        }
        let run = run_binary(session(&["correlate=true"], &bodies), &[]);
        run.assert_clean(bodies.len() + 2);
        run.last_rows()
    };
    let guid_of = |rows: &[Row], image: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r.get("EventCode") == "1" && r.get("Image").ends_with(image))
            .map(|r| r.get("ProcessGuid"))
            .collect()
    };
    let events = annotated("mordor_psremoting.csv", 50, false);
    let whoami: Vec<&Row> = events
        .iter()
        .filter(|r| r.get("Image").ends_with("whoami.exe"))
        .collect();
    assert_eq!(whoami.len(), 1, "whoami.exe ran in the session");
    assert_eq!(whoami[0].get("lm_hop_id"), "hop-1");
    assert_eq!(whoami[0].get("lm_role"), "destination");
    assert_eq!(whoami[0].get("host"), "WORKSTATION6");
    assert_eq!(guid_of(&events, "conhost.exe").len(), 1);
    // Same members newest first and one event per chunk.
    let ids = |rows: &[Row]| -> BTreeSet<String> {
        rows.iter()
            .map(|r| format!("{}/{}", r.get("host"), r.get("EventRecordID")))
            .collect()
    };
    assert_eq!(
        ids(&events),
        ids(&annotated("mordor_psremoting.csv", 1, true))
    );

    let wmi = annotated("mordor_sharpwmi.csv", 50, false);
    let conhosts: Vec<&Row> = wmi
        .iter()
        .filter(|r| r.get("Image").ends_with("conhost.exe"))
        .collect();
    assert_eq!(conhosts.len(), 1, "only the Grunt's conhost.exe");
    assert_eq!(conhosts[0].get("host"), "WORKSTATION6");
    assert!(conhosts[0].get("ParentImage").ends_with("GruntHTTP2.exe"));
    assert!(wmi.iter().all(|r| r.get("host") != "MORDORDC"));
    // The hop summary counts them.
    let h = hops("mordor_psremoting.csv", 50, &[]);
    assert_eq!(h[0].get("event_count"), events.len().to_string());
}

/// The columns that describe a hop completely, in the order of
/// [`hop_lines`].
const HOP_FIELDS: [&str; 16] = [
    "lm_hop_id",
    "lm_chain_id",
    "lm_hop",
    "src_host",
    "dest_host",
    "src_user",
    "dest_user",
    "lm_technique",
    "lm_outcome",
    "lm_confidence",
    "lm_confidence_reasons",
    "first_seen",
    "last_seen",
    "event_count",
    "evidence",
    "risk_score",
];

/// Each hop summary row as one line of `field=value` (multivalues joined
/// with `,`), every column of [`HOP_FIELDS`].
fn hop_lines(hops: &[Row]) -> Vec<String> {
    hops.iter()
        .map(|r| {
            HOP_FIELDS
                .iter()
                .map(|k| format!("{k}={}", r.get(k).replace('\n', ",")))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The events of each hop (`correlate=true` without `summary`): one line
/// per event, `hop role host EventCode id` (id: `fixture_id` where the
/// fixture has one, else `EventRecordID`), sorted.
fn member_lines(name: &str) -> Vec<String> {
    let data = fixture(name);
    let bodies = csv_chunks(&data, 50);
    let run = run_binary(session(&["correlate=true"], &bodies), &[]);
    let mut lines: Vec<String> = run
        .last_rows()
        .iter()
        .map(|e| {
            // Recordings without a record id (the 2020 Mordor cuts) name
            // their events by time.
            let id = e
                .try_get("fixture_id")
                .or_else(|| e.try_get("EventRecordID"))
                .unwrap_or_else(|| e.get("_time"));
            format!(
                "{} {} {} {} {id}",
                e.get("lm_hop_id"),
                e.get("lm_role"),
                e.get("host"),
                e.get("EventCode")
            )
        })
        .collect();
    lines.sort();
    lines
}

/// Compares line lists; a difference is added to `failures` with the
/// actual lines as Rust string literals (to review and paste).
fn compare_lines(failures: &mut Vec<String>, what: &str, actual: &[String], expected: &[&str]) {
    if actual != expected {
        let listing: String = actual.iter().map(|l| format!("        {l:?},\n")).collect();
        failures.push(format!("{what}: got {} lines\n{listing}", actual.len()));
    }
}

const MORDOR_PSREMOTING_HOPS: &[&str] = &[
        "lm_hop_id=hop-1 lm_chain_id=chain-1 lm_hop=1 src_host=workstation5 dest_host=workstation6 src_user=pgustavo dest_user=pgustavo lm_technique=PSRemoting lm_outcome=success lm_confidence=85 lm_confidence_reasons=connection,destination_execution,source_ip,target_name,time,user first_seen=1600636148.000 last_seen=1600636179.000 event_count=20 evidence=PS_RemoteSession,WinRM_HostProcess,WinRM_InboundConnection,WinRM_NetworkConnection,WinRM_RemoteExec_Child risk_score=85",
];

const MORDOR_PSREMOTING_MEMBERS: &[&str] = &[
    "hop-1 destination WORKSTATION6 1 3092453",
    "hop-1 destination WORKSTATION6 1 3092580",
    "hop-1 destination WORKSTATION6 1 3092739",
    "hop-1 destination WORKSTATION6 1 3093336",
    "hop-1 destination WORKSTATION6 3 3092506",
    "hop-1 destination WORKSTATION6 3 3093011",
    "hop-1 destination WORKSTATION6 3 3093149",
    "hop-1 destination WORKSTATION6 400 7848",
    "hop-1 destination WORKSTATION6 4103 7096",
    "hop-1 destination WORKSTATION6 4688 738641",
    "hop-1 destination WORKSTATION6 4688 738766",
    "hop-1 destination WORKSTATION6 5156 738612",
    "hop-1 destination WORKSTATION6 5156 738710",
    "hop-1 destination WORKSTATION6 5156 738761",
    "hop-1 source WORKSTATION5 3 2272124",
    "hop-1 source WORKSTATION5 3 2272127",
    "hop-1 source WORKSTATION5 3 2272128",
    "hop-1 source WORKSTATION5 5156 576133",
    "hop-1 source WORKSTATION5 5156 576137",
    "hop-1 source WORKSTATION5 5156 576139",
];

const MORDOR_SHARPWMI_HOPS: &[&str] = &[
        "lm_hop_id=hop-1 lm_chain_id=chain-1 lm_hop=1 src_host=workstation5 dest_host=workstation6 src_user= dest_user=pgustavo lm_technique=WMI lm_outcome=success lm_confidence=90 lm_confidence_reasons=connection,destination_execution,logon,logon_id,source_ip,target_name,time first_seen=1596700601.000 last_seen=1596700688.000 event_count=17 evidence=WMI_RemoteExec_Child,WMI_TokenAccess risk_score=90",
];

const MORDOR_SHARPWMI_MEMBERS: &[&str] = &[
    "hop-1 destination WORKSTATION6 1 334850",
    "hop-1 destination WORKSTATION6 1 334859",
    "hop-1 destination WORKSTATION6 10 334851",
    "hop-1 destination WORKSTATION6 3 334962",
    "hop-1 destination WORKSTATION6 3 335620",
    "hop-1 destination WORKSTATION6 4624 99353",
    "hop-1 destination WORKSTATION6 4624 99357",
    "hop-1 destination WORKSTATION6 4624 99360",
    "hop-1 destination WORKSTATION6 4624 99363",
    "hop-1 destination WORKSTATION6 4624 99566",
    "hop-1 destination WORKSTATION6 4688 99387",
    "hop-1 destination WORKSTATION6 5156 99351",
    "hop-1 destination WORKSTATION6 5156 99564",
    "hop-1 source WORKSTATION5 3 335207",
    "hop-1 source WORKSTATION5 3 335254",
    "hop-1 source WORKSTATION5 5156 90377",
    "hop-1 source WORKSTATION5 5156 90442",
];

const WINRM_OPERATIONAL_HANDMADE_HOPS: &[&str] = &[
        "lm_hop_id=hop-1 lm_chain_id=chain-1 lm_hop=1 src_host=wks01 dest_host=srv02 src_user=s-1-5-21-3623811015-3361044348-30300820-1104 dest_user=s-1-5-21-3623811015-3361044348-30300820-1104 lm_technique=PSRemoting lm_outcome=success lm_confidence=90 lm_confidence_reasons=destination_execution,source_execution,target_name,time,user first_seen=1715677923.443 last_seen=1715677926.005 event_count=4 evidence=WinRM_SessionContext,WinRM_SessionCreated,WinRM_SessionInitiated risk_score=90",
        "lm_hop_id=hop-2 lm_chain_id=chain-2 lm_hop=1 src_host=wks01 dest_host=10.0.1.33 src_user=s-1-5-21-3623811015-3361044348-30300820-1104 dest_user= lm_technique=PSRemoting lm_outcome=failed lm_confidence=50 lm_confidence_reasons=source_execution,target_name first_seen=1715678081.015 last_seen=1715678081.018 event_count=2 evidence=WinRM_SessionFailed,WinRM_SessionInitiated risk_score=15",
        "lm_hop_id=hop-3 lm_chain_id=chain-3 lm_hop=1 src_host=wks01 dest_host=srv03 src_user=s-1-5-21-3623811015-3361044348-30300820-1104 dest_user= lm_technique=PSRemoting lm_outcome=failed lm_confidence=50 lm_confidence_reasons=source_execution,target_name first_seen=1715678417.552 last_seen=1715678417.553 event_count=2 evidence=WinRM_SessionFailed,WinRM_SessionInitiated risk_score=15",
        "lm_hop_id=hop-4 lm_chain_id=chain-1 lm_hop=2 src_host=srv02 dest_host=srv03 src_user=s-1-5-21-3623811015-3361044348-30300820-1104 dest_user=s-1-5-21-3623811015-3361044348-30300820-1104 lm_technique=PSRemoting lm_outcome=success lm_confidence=90 lm_confidence_reasons=destination_execution,source_execution,target_name,time,user first_seen=1715678525.331 last_seen=1715678526.640 event_count=2 evidence=WinRM_SessionCreated,WinRM_SessionInitiated risk_score=90",
        "lm_hop_id=hop-5 lm_chain_id=chain-4 lm_hop=1 src_host=wks01 dest_host=srv03 src_user=s-1-5-21-3623811015-3361044348-30300820-1104 dest_user=s-1-5-21-3623811015-3361044348-30300820-1104 lm_technique=winrs lm_outcome=success lm_confidence=90 lm_confidence_reasons=destination_execution,source_execution,target_name,time,user first_seen=1715680964.118 last_seen=1715680964.922 event_count=2 evidence=WinRM_SessionCreated,WinRM_SessionInitiated risk_score=90",
        "lm_hop_id=hop-6 lm_chain_id=chain-5 lm_hop=1 src_host=10.0.1.21 dest_host=srv03 src_user= dest_user=s-1-5-21-3623811015-3361044348-30300820-1104 lm_technique=PSRemoting lm_outcome=success lm_confidence=50 lm_confidence_reasons=destination_execution,source_ip first_seen=1715683200.338 last_seen=1715683200.338 event_count=1 evidence=WinRM_SessionCreated risk_score=50",
];

const WINRM_OPERATIONAL_HANDMADE_MEMBERS: &[&str] = &[
    "hop-1 destination SRV02 168 psr1_srv02_168",
    "hop-1 destination SRV02 91 psr1_srv02_91",
    "hop-1 source WKS01 6 psr1_wks_6",
    "hop-1 source WKS01 80 psr1_wks_80",
    "hop-2 source WKS01 12 fail12_wks_12",
    "hop-2 source WKS01 6 fail12_wks_6",
    "hop-3 source WKS01 162 fail162_wks_162",
    "hop-3 source WKS01 6 fail162_wks_6",
    "hop-4 destination SRV03 91 chain_srv03_91",
    "hop-4 source SRV02 6 chain_srv02_6",
    "hop-5 destination SRV03 91 winrs_srv03_91",
    "hop-5 source WKS01 6 conn6_winrs",
    "hop-6 destination SRV03 91 srv03_91_clientip",
];

const MDEC_WMIEXEC_VIA_SMB_HOPS: &[&str] = &[
        "lm_hop_id=hop-1 lm_chain_id=chain-1 lm_hop=1 src_host=10.23.123.11 dest_host=srvdefender01 src_user= dest_user=admmig lm_technique=WMI lm_outcome=success lm_confidence=65 lm_confidence_reasons=destination_execution,logon,logon_id,source_ip first_seen=1619425536.561 last_seen=1619425538.435 event_count=7 evidence=WMI_Impacket_WmiExec,WMI_RemoteExec_Child risk_score=65",
];

const MDEC_WMIEXEC_VIA_SMB_MEMBERS: &[&str] = &[
    "hop-1 destination srvdefender01 4624 462992",
    "hop-1 destination srvdefender01 4624 462996",
    "hop-1 destination srvdefender01 4624 463000",
    "hop-1 destination srvdefender01 4624 463004",
    "hop-1 destination srvdefender01 4624 463008",
    "hop-1 destination srvdefender01 4688 463010",
    "hop-1 destination srvdefender01 4688 463048",
];

const MORDOR_PSEXEC_HOPS: &[&str] = &[
        "lm_hop_id=hop-1 lm_chain_id=chain-1 lm_hop=1 src_host=workstation5 dest_host=workstation6 src_user=pgustavo dest_user=pgustavo lm_technique=SMBService lm_outcome=success lm_confidence=100 lm_confidence_reasons=connection,destination_execution,logon,logon_id,source_ip,target_name,time,user first_seen=1600618616.000 last_seen=1600618638.000 event_count=12 evidence=SMB_ServiceExec_Child,SMB_ServiceInstall risk_score=100",
];

const MORDOR_PSEXEC_MEMBERS: &[&str] = &[
    "hop-1 destination WORKSTATION6 1 2974514",
    "hop-1 destination WORKSTATION6 1 2974530",
    "hop-1 destination WORKSTATION6 1 2974544",
    "hop-1 destination WORKSTATION6 1 2975714",
    "hop-1 destination WORKSTATION6 3 2974697",
    "hop-1 destination WORKSTATION6 4624 717708",
    "hop-1 destination WORKSTATION6 4688 717719",
    "hop-1 destination WORKSTATION6 4697 717712",
    "hop-1 destination WORKSTATION6 5156 717705",
    "hop-1 destination WORKSTATION6 7045 1075",
    "hop-1 source WORKSTATION5 3 2120218",
    "hop-1 source WORKSTATION5 5156 537040",
];

const MORDOR_DCOM_SHELLWINDOWS_HOPS: &[&str] = &[
        "lm_hop_id=hop-1 lm_chain_id=chain-1 lm_hop=1 src_host=workstation5 dest_host=workstation6 src_user= dest_user=pgustavo,sbeavers lm_technique=DCOM lm_outcome=success lm_confidence=85 lm_confidence_reasons=connection,destination_execution,logon,source_ip,target_name,time first_seen=1600448915.000 last_seen=1600448968.000 event_count=12 evidence=DCOM_ShellWindows_Child risk_score=85",
];

const MORDOR_DCOM_SHELLWINDOWS_MEMBERS: &[&str] = &[
    "hop-1 destination WORKSTATION6 1 1729868",
    "hop-1 destination WORKSTATION6 1 1729874",
    "hop-1 destination WORKSTATION6 1 1729915",
    "hop-1 destination WORKSTATION6 1 1729930",
    "hop-1 destination WORKSTATION6 1 1731335",
    "hop-1 destination WORKSTATION6 3 1729969",
    "hop-1 destination WORKSTATION6 4624 429257",
    "hop-1 destination WORKSTATION6 4624 429410",
    "hop-1 destination WORKSTATION6 4688 429412",
    "hop-1 destination WORKSTATION6 5156 429255",
    "hop-1 source WORKSTATION5 3 1171418",
    "hop-1 source WORKSTATION5 5156 284843",
];

const MORDOR_SCHTASK_REMOTE_HOPS: &[&str] = &[
        "lm_hop_id=hop-1 lm_chain_id=chain-1 lm_hop=1 src_host=workstation5 dest_host=workstation6 src_user=pgustavo dest_user=pgustavo lm_technique=ScheduledTask lm_outcome=success lm_confidence=100 lm_confidence_reasons=connection,destination_execution,logon,logon_id,source_execution,source_ip,target_name,time,user first_seen=1608379222.190 last_seen=1608379223.430 event_count=9 evidence=Task_Registered,Task_RemoteCreate_Source risk_score=100",
];

const MORDOR_SCHTASK_REMOTE_MEMBERS: &[&str] = &[
    "hop-1 destination WORKSTATION6 106 1608379222.263000",
    "hop-1 destination WORKSTATION6 3 1608379223.245000",
    "hop-1 destination WORKSTATION6 4624 1608379222.238000",
    "hop-1 destination WORKSTATION6 4698 1608379222.264000",
    "hop-1 destination WORKSTATION6 5156 1608379222.230000",
    "hop-1 source WORKSTATION5 1 1608379222.191000",
    "hop-1 source WORKSTATION5 3 1608379223.430000",
    "hop-1 source WORKSTATION5 4688 1608379222.190000",
    "hop-1 source WORKSTATION5 5156 1608379222.228000",
];

const RDP_HANDMADE_HOPS: &[&str] = &[
        "lm_hop_id=hop-1 lm_chain_id=chain-1 lm_hop=1 src_host=wks01 dest_host=srv01 src_user=alice dest_user=alice lm_technique=RDP lm_outcome=success lm_confidence=100 lm_confidence_reasons=connection,destination_execution,logon,source_execution,source_ip,target_name,time,user first_seen=1715761205.119 last_seen=1715763940.713 event_count=9 evidence=LM_ExplicitCredentials,RDP_Client_Source,RDP_Logon,RDP_Session risk_score=100",
];

const RDP_HANDMADE_MEMBERS: &[&str] = &[
    "hop-1 destination SRV01 1 srv01_sysmon1_cmd",
    "hop-1 destination SRV01 1149 srv01_rcm1149",
    "hop-1 destination SRV01 21 srv01_lsm21_rdp",
    "hop-1 destination SRV01 25 srv01_lsm25_reconnect",
    "hop-1 destination SRV01 3 srv01_sysmon3_termsvc_in",
    "hop-1 destination SRV01 4624 srv01_4624_type10",
    "hop-1 source WKS01 1 wks01_sysmon1_mstsc",
    "hop-1 source WKS01 3 wks01_sysmon3_mstsc_out",
    "hop-1 source WKS01 4648 wks01_4648_termsrv",
];

const MORDOR_DCSYNC_DC_RPC_HOPS: &[&str] = &[];

const MORDOR_DCSYNC_DC_RPC_MEMBERS: &[&str] = &[];

const MORDOR_WEF_NOISE_HOPS: &[&str] = &[];

const MORDOR_WEF_NOISE_MEMBERS: &[&str] = &[];

const MORDOR_WMIC_XSL_LOCAL_HOPS: &[&str] = &[];

const MORDOR_WMIC_XSL_LOCAL_MEMBERS: &[&str] = &[];

/// Every hop of every correlation fixture, exactly: ids, chain and
/// position, both ends and users, technique, outcome, confidence and its
/// reasons, first and last seen, event count, evidence and risk — and the
/// events each hop is made of, with their roles. (The failed WinRM
/// attempts take their target from the event 6 of the same second; without
/// it they would lose their 12/162 member and `WinRM_SessionFailed`.)
#[test]
fn issue11_exact_hops_of_every_correlation_fixture() {
    let mut failures = Vec::new();
    for (name, expected_hops, expected_members) in [
        (
            "mordor_psremoting.csv",
            MORDOR_PSREMOTING_HOPS,
            MORDOR_PSREMOTING_MEMBERS,
        ),
        (
            "mordor_sharpwmi.csv",
            MORDOR_SHARPWMI_HOPS,
            MORDOR_SHARPWMI_MEMBERS,
        ),
        (
            "winrm_operational_handmade.csv",
            WINRM_OPERATIONAL_HANDMADE_HOPS,
            WINRM_OPERATIONAL_HANDMADE_MEMBERS,
        ),
        (
            "mdec_wmiexec_via_smb.csv",
            MDEC_WMIEXEC_VIA_SMB_HOPS,
            MDEC_WMIEXEC_VIA_SMB_MEMBERS,
        ),
        (
            "mordor_wmic_xsl_local.csv",
            MORDOR_WMIC_XSL_LOCAL_HOPS,
            MORDOR_WMIC_XSL_LOCAL_MEMBERS,
        ),
        (
            "mordor_psexec.csv",
            MORDOR_PSEXEC_HOPS,
            MORDOR_PSEXEC_MEMBERS,
        ),
        (
            "mordor_dcom_shellwindows.csv",
            MORDOR_DCOM_SHELLWINDOWS_HOPS,
            MORDOR_DCOM_SHELLWINDOWS_MEMBERS,
        ),
        (
            "mordor_schtask_remote.csv",
            MORDOR_SCHTASK_REMOTE_HOPS,
            MORDOR_SCHTASK_REMOTE_MEMBERS,
        ),
        ("rdp_handmade.csv", RDP_HANDMADE_HOPS, RDP_HANDMADE_MEMBERS),
        (
            "mordor_dcsync_dc_rpc.csv",
            MORDOR_DCSYNC_DC_RPC_HOPS,
            MORDOR_DCSYNC_DC_RPC_MEMBERS,
        ),
        (
            "mordor_wef_noise.csv",
            MORDOR_WEF_NOISE_HOPS,
            MORDOR_WEF_NOISE_MEMBERS,
        ),
    ] {
        let what = format!("{name} hops");
        compare_lines(
            &mut failures,
            &what,
            &hop_lines(&hops(name, 50, &[])),
            expected_hops,
        );
        let what = format!("{name} members");
        compare_lines(&mut failures, &what, &member_lines(name), expected_members);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A WinRM session WKS01 → SRV02: the source's event 6 at t0 and the
/// destination's event 91 `delta` seconds later (earlier when negative).
fn winrm_pair(delta: f64) -> Vec<u8> {
    const T0: f64 = 1_715_677_923.0;
    const WINRM: &str = "XmlWinEventLog:Microsoft-Windows-WinRM/Operational";
    const SID: &str = "S-1-5-21-3623811015-3361044348-30300820-1104";
    let (t_src, t_dest) = (format!("{T0:.3}"), format!("{:.3}", T0 + delta));
    splunk_csv(
        &[
            "_time",
            "host",
            "source",
            "EventCode",
            "Computer",
            "UserID",
            "connection",
            "resourceUri",
        ],
        &[
            vec![
                &t_src,
                "WKS01",
                WINRM,
                "6",
                "WKS01.corp.example",
                SID,
                "SRV02.corp.example/wsman?PSVersion=5.1.19041.4291",
                "",
            ],
            vec![
                &t_dest,
                "SRV02",
                WINRM,
                "91",
                "SRV02.corp.example",
                SID,
                "",
                "http://schemas.microsoft.com/powershell/Microsoft.PowerShell",
            ],
        ],
    )
}

/// The source/destination pair window, at its edges: a pair exactly
/// `window` apart (either way round) is a hop, half a second more is not;
/// `window=` moves the edge.
#[test]
fn issue11_pair_window_edges() {
    for (args, delta, hop) in [
        (&[][..], 120.0, true),
        (&[], -120.0, true),
        (&[], 120.5, false),
        (&[], -120.5, false),
        (&[], 1000.0, false),
        (&["window=10s"], 10.0, true),
        (&["window=10s"], 10.5, false),
        (&["window=5m"], 300.0, true),
        (&["window=5m"], 300.5, false),
    ] {
        let mut all = vec!["correlate=true", "summary=true"];
        all.extend_from_slice(args);
        let run = run_binary(session(&all, &[winrm_pair(delta)]), &[]);
        let got = hop_lines(&run.last_rows());
        if hop {
            let first = if delta < 0.0 {
                1_715_677_803
            } else {
                1_715_677_923
            };
            let last = first + delta.abs() as u64;
            assert_eq!(
                got,
                [format!(
                    "lm_hop_id=hop-1 lm_chain_id=chain-1 lm_hop=1 src_host=wks01 dest_host=srv02 \
                     src_user=s-1-5-21-3623811015-3361044348-30300820-1104 \
                     dest_user=s-1-5-21-3623811015-3361044348-30300820-1104 \
                     lm_technique=PSRemoting lm_outcome=success lm_confidence=90 \
                     lm_confidence_reasons=destination_execution,source_execution,target_name,time,user \
                     first_seen={first}.000 last_seen={last}.000 event_count=2 \
                     evidence=WinRM_SessionCreated,WinRM_SessionInitiated risk_score=90"
                )],
                "{args:?} delta {delta}"
            );
        } else {
            assert_eq!(got, Vec::<String>::new(), "{args:?} delta {delta}");
        }
    }
}

/// Issue 12: the README's rule table says what the rule table says, row
/// for row and in order: id, AlertType (in bold when an RBA saved search
/// selects it), side, ATT&CK id and the default impact/confidence with
/// their score (`0` for context rules).
#[test]
fn issue12_readme_rule_table_is_the_rule_table() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let rows: Vec<Vec<String>> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| rule id | AlertType |"))
        .skip(2)
        .take_while(|l| l.starts_with("| `"))
        .map(|l| {
            l.split(" | ")
                .take(6)
                .map(|c| c.trim_start_matches("| ").to_string())
                .collect()
        })
        .collect();
    let want: Vec<Vec<String>> = winrmdetect::detect::rules::RULES
        .iter()
        .map(|r| {
            let score = u32::from(r.impact) * u32::from(r.confidence) / 100;
            vec![
                format!("`{}`", r.id),
                r.alert_type.to_string(),
                r.side.as_str().to_string(),
                r.mitre.to_string(),
                if r.impact == 0 || r.confidence == 0 {
                    "0".to_string()
                } else {
                    format!("{}/{} → {score}", r.impact, r.confidence)
                },
                r.basis.label(),
            ]
        })
        .collect();
    assert_eq!(rows, want);
}

/// Issue 14 (was issue 12's per-AlertType check): each per-event risk
/// search's static score is the highest default score of the rules whose
/// AlertTypes it keeps, and every rule's AlertType is kept by one.
#[test]
fn issue14_saved_search_scores_are_the_rules() {
    use winrmdetect::appconf::{saved_searches, Kind};
    let rules = &winrmdetect::detect::rules::RULES;
    let conf = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("default/savedsearches.conf"),
    )
    .unwrap();
    let mut checked = 0;
    for search in saved_searches() {
        let Kind::Rule(_) = search.kind else { continue };
        let best = rules
            .iter()
            .filter(|r| search.alert_types.contains(&r.alert_type))
            .map(|r| u32::from(r.impact) * u32::from(r.confidence) / 100)
            .max()
            .unwrap();
        let stanza = conf.split(&format!("[{}]", search.name)).nth(1).unwrap();
        let stanza = stanza.split("\n[").next().unwrap();
        assert!(
            stanza.contains(&format!("\"risk_object_field\": \"dest\", \"risk_object_type\": \"system\", \"risk_score\": {best}}}")),
            "{}: static score {best}",
            search.name
        );
        checked += 1;
    }
    assert_eq!(checked, 6, "one per technique family");
    for r in rules.iter() {
        assert!(
            saved_searches()
                .iter()
                .any(|s| s.alert_types.contains(&r.alert_type)),
            "{}",
            r.alert_type
        );
    }
}

/// Issue 13: the two infrastructure recordings (Windows Event Forwarding
/// from every host to the collector over WinRM; a workstation's RPC to its
/// domain controller with the DC's network logon) give no alert with a
/// score and no hop; the forwarding traffic is labelled as such.
#[test]
fn issue13_event_forwarding_and_dc_rpc_score_nothing_and_make_no_hop() {
    for name in ["mordor_wef_noise.csv", "mordor_dcsync_dc_rpc.csv"] {
        let rows = label(name, 50);
        let scored: Vec<String> = rows
            .iter()
            .filter(|r| r.score() > 0)
            .map(|r| format!("{} {:?}", host_of(r), r.alert_types()))
            .collect();
        assert!(scored.is_empty(), "{name}: {scored:?}");
        assert!(hops(name, 50, &[]).is_empty(), "{name}");
    }
    let rows = label("mordor_wef_noise.csv", 50);
    // Sysmon 3 names them DestinationIp/Port, Security 5156 DestAddress/Port.
    let either = |r: &Row, a: &str, b: &str| format!("{}{}", r.get(a), r.get(b));
    let to_collector = |r: &Row| {
        either(r, "DestinationPort", "DestPort") == "5985"
            && either(r, "DestinationIp", "DestAddress") == "172.18.38.6"
    };
    let wef: Vec<&Row> = rows.iter().filter(|r| to_collector(r)).collect();
    assert_eq!(wef.len(), 74, "the fixture's forwarding connections");
    for r in wef {
        assert_eq!(r.alert_types(), ["WinRM_EventForwarding"], "{}", host_of(r));
    }
}

/// Issue 13: each technique other than WinRM / WMI is one hop
/// WORKSTATION5 → WORKSTATION6 (WKS01 → SRV01 for RDP) named after its
/// execution evidence — never WMI, although all three Mordor recordings
/// carry the RPC-to-135 and network-logon pattern a WMI hop has — with the
/// execution evidence among its reasons and its AlertTypes.
#[test]
fn issue13_each_technique_is_named_from_its_execution_evidence() {
    for (name, pair, technique, execution) in [
        (
            "mordor_psexec.csv",
            "workstation5->workstation6",
            "SMBService",
            "SMB_ServiceInstall",
        ),
        (
            "mordor_dcom_shellwindows.csv",
            "workstation5->workstation6",
            "DCOM",
            "DCOM_ShellWindows_Child",
        ),
        (
            "mordor_schtask_remote.csv",
            "workstation5->workstation6",
            "ScheduledTask",
            "Task_RemoteCreate_Source",
        ),
        ("rdp_handmade.csv", "wks01->srv01", "RDP", "RDP_Logon"),
    ] {
        let h = hops(name, 50, &[]);
        assert_eq!(h.len(), 1, "{name}: {:?}", describe(&h));
        let pair_of = format!("{}->{}", h[0].get("src_host"), h[0].get("dest_host"));
        assert_eq!(
            (pair_of.as_str(), h[0].get("lm_technique").as_str()),
            (pair, technique),
            "{name}"
        );
        let reasons = h[0].get("lm_confidence_reasons");
        assert!(reasons.contains("_execution"), "{name}: {reasons}");
        assert!(
            h[0].get("evidence").split('\n').any(|e| e == execution),
            "{name}: {}",
            h[0].get("evidence")
        );
    }
}

/// Issue 13: the development positives keep the hops they had at 7b81843
/// (the same pairs and techniques; one more), each now resting on execution
/// evidence, never with an empty evidence list, its risk its confidence
/// or its strongest event's score.
#[test]
fn issue13_dev_positives_keep_their_hops_on_execution_evidence() {
    for (name, want) in [
        (
            "mordor_psremoting.csv",
            &["workstation5->workstation6 PSRemoting success"][..],
        ),
        (
            "mordor_sharpwmi.csv",
            &["workstation5->workstation6 WMI success"],
        ),
        (
            "mdec_wmiexec_via_smb.csv",
            &["10.23.123.11->srvdefender01 WMI success"],
        ),
        (
            "winrm_operational_handmade.csv",
            &[
                "wks01->srv02 PSRemoting success",
                "wks01->10.0.1.33 PSRemoting failed",
                "wks01->srv03 PSRemoting failed",
                "srv02->srv03 PSRemoting success",
                "wks01->srv03 winrs success",
                // New with issue 13: the WinRM 91's `clientIP` names its
                // source (no source-side event of it was recorded).
                "10.0.1.21->srv03 PSRemoting success",
            ],
        ),
    ] {
        let h = hops(name, 50, &[]);
        let got: Vec<String> = h
            .iter()
            .map(|r| {
                format!(
                    "{}->{} {} {}",
                    r.get("src_host"),
                    r.get("dest_host"),
                    r.get("lm_technique"),
                    r.get("lm_outcome")
                )
            })
            .collect();
        assert_eq!(got, want, "{name}");
        for r in &h {
            assert!(
                r.get("lm_confidence_reasons").contains("_execution"),
                "{name}: {:?}",
                describe(&h)
            );
            assert!(!r.get("evidence").is_empty(), "{name}");
            let (risk, confidence) = (r.score(), r.get("lm_confidence").parse::<u32>().unwrap());
            if r.get("lm_outcome") == "success" {
                assert!(
                    risk >= confidence,
                    "{name}: risk {risk} confidence {confidence}"
                );
            }
        }
    }
}

/// Issue 13: a `[known:<tag>]` stanza of `local/winrmdetect.conf` tags the
/// hops of its hosts and accounts and lowers their risk, in the search
/// command and in `scan --hops` alike; the hop is still there.
#[test]
fn issue13_known_hosts_tag_and_lower_hops_in_both_modes() {
    let dir = std::env::temp_dir().join(format!("winrmdetect-known-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("local")).unwrap();
    std::fs::write(
        dir.join("local/winrmdetect.conf"),
        "[known:jump_host]\nhosts = WORKSTATION5.theshire.local\n",
    )
    .unwrap();
    let env = [("WINRMDETECT_APP_DIR", dir.to_str().unwrap())];
    let bodies = csv_chunks(&fixture("mordor_psexec.csv"), 50);
    let plain = hops("mordor_psexec.csv", 50, &[]);
    let run = run_binary(session(&["correlate=true", "summary=true"], &bodies), &env);
    let tagged = run.last_rows();
    assert_eq!(describe(&tagged), describe(&plain), "the hop stays");
    assert_eq!(plain[0].get("lm_known"), "");
    assert_eq!(tagged[0].get("lm_known"), "jump_host");
    assert_eq!(tagged[0].score(), plain[0].score() / 2);
    assert!(tagged[0]
        .get("risk_message")
        .ends_with(", known jump_host)"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_winrmdetect"))
        .args(["hunt", "--format", "json"])
        .arg(fixture_path("mordor_psexec.csv"))
        .env("WINRMDETECT_APP_DIR", &dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let offline: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "hop")
        .collect();
    assert_eq!(offline.len(), 1, "{text}");
    assert_eq!(offline[0]["lm_known"], serde_json::json!(["jump_host"]));
    assert_eq!(
        offline[0]["risk_score"].to_string(),
        tagged[0].get("risk_score")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The hops of several recordings of one lab searched together, as a
/// multi-file search over an estate's index does.
fn hops_of_files(names: &[&str]) -> Vec<Row> {
    let bodies: Vec<Vec<u8>> = names
        .iter()
        .flat_map(|n| csv_chunks(&fixture(n), 5_000))
        .collect();
    let run = run_binary(session(&["correlate=true", "summary=true"], &bodies), &[]);
    run.assert_clean(bodies.len() + 2);
    run.last_rows()
}

/// What a hop is, without its ids (numbered over the whole search): the
/// columns of [`HOP_FIELDS`] after its three ids.
fn hop_facts(r: &Row) -> Vec<String> {
    HOP_FIELDS[3..]
        .iter()
        .map(|f| format!("{f}={}", r.get(f)))
        .collect()
}

/// Found by the dashboards (issue 16): Mordor's recordings are one lab
/// (workstation5 → workstation6) on different days. Searched together, a
/// network logon tied to the SharpWMI child's session (August) joined the
/// PowerShell-remoting hop (September) too, so every hop of the pair
/// started in August and borrowed the WMI logon's confidence. Each
/// recording's hops must be the same alone and together.
#[test]
fn issue16_a_hop_keeps_its_own_evidence_when_recordings_of_one_pair_meet() {
    let names = [
        "mordor_sharpwmi.csv",
        "mordor_psremoting.csv",
        "mordor_psexec.csv",
        "mordor_dcom_shellwindows.csv",
        "mordor_schtask_remote.csv",
    ];
    let together: BTreeSet<Vec<String>> = hops_of_files(&names).iter().map(hop_facts).collect();
    let alone: BTreeSet<Vec<String>> = names
        .iter()
        .flat_map(|n| hops_of_files(&[n]))
        .map(|r| hop_facts(&r))
        .collect();
    assert_eq!(
        alone.len(),
        names.len(),
        "one hop per recording: {alone:#?}"
    );
    assert_eq!(together, alone);
}

/// `docs/parity.tsv` rendered as the README's parity table.
fn parity_table(rows: &[ParityRow<'_>]) -> String {
    let mut out = String::from(
        "| source | public rule | its score | our rules | status | note |\n|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let ours: Vec<String> = row.ours.iter().map(|r| format!("`{r}`")).collect();
        let ours = if ours.is_empty() {
            "—".to_string()
        } else {
            ours.join(", ")
        };
        out.push_str(&format!(
            "| {} | {} ({}) | {} | {ours} | {} | {} |\n",
            row.source, row.name, row.key, row.score, row.status, row.note
        ));
    }
    out
}

/// Issue 17: every ESCU detection and Sigma rule on our subject
/// (`detections.md` §1.3, §2.1–2.4: 36 and 55 + 13) is in the parity table
/// with the rules of ours that cover it, which exist, or why it is not ours;
/// the README shows exactly that table.
#[test]
fn issue17_parity_table_names_real_rules_and_every_public_one() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tsv = std::fs::read_to_string(root.join("docs/parity.tsv")).unwrap();
    let ids: BTreeSet<&str> = winrmdetect::detect::rules::RULES
        .iter()
        .map(|r| r.id)
        .collect();
    let mut per_source: BTreeMap<&str, usize> = BTreeMap::new();
    let mut keys = BTreeSet::new();
    let header = tsv.lines().next().unwrap();
    assert_eq!(
        header,
        "source\tkey\tname\tour_rule_ids\tstatus\tscore\tnote"
    );
    let levels: Vec<&str> = Level::ALL.iter().map(|l| l.name()).collect();
    let rows = parity_rows(&tsv);
    for row in &rows {
        let score_ok = match row.source {
            "escu" => row.score == "-" || row.score.split_once('/').is_some(),
            _ => row.score == "-" || levels.contains(&row.score),
        };
        assert!(score_ok, "{}: score {}", row.key, row.score);
        assert!(keys.insert(row.key), "{} twice", row.key);
        *per_source.entry(row.source).or_default() += 1;
        for r in &row.ours {
            assert!(ids.contains(r), "{}: no rule {r}", row.key);
        }
        match row.status {
            "covered" => assert!(!row.ours.is_empty(), "{}: covered by nothing", row.key),
            "partial" => assert!(!row.ours.is_empty() && !row.note.is_empty(), "{}", row.key),
            "not_ours" => assert!(!row.note.is_empty(), "{}: no reason", row.key),
            s => panic!("{}: status {s}", row.key),
        }
    }
    assert_eq!(per_source, BTreeMap::from([("escu", 36), ("sigma", 68)]));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let table = parity_table(&rows);
    let start = readme
        .find("<!-- parity:start -->\n")
        .expect("the parity table's start");
    let end = readme.find("<!-- parity:end -->").expect("its end");
    let shown = &readme[start + "<!-- parity:start -->\n".len()..end];
    assert!(
        shown == table,
        "the README's parity table is not docs/parity.tsv; it should be:\n{table}"
    );
}

/// One row of `docs/parity.tsv` (after its header), its 7 columns.
struct ParityRow<'a> {
    source: &'a str,
    key: &'a str,
    name: &'a str,
    ours: Vec<&'a str>,
    status: &'a str,
    score: &'a str,
    note: &'a str,
}

impl ParityRow<'_> {
    /// Covered, or partly: some rule of ours has it.
    fn covered(&self) -> bool {
        self.status != "not_ours"
    }
}

fn parity_rows(tsv: &str) -> Vec<ParityRow<'_>> {
    tsv.lines()
        .skip(1)
        .map(|line| {
            let c: Vec<&str> = line.split('\t').collect();
            assert_eq!(c.len(), 7, "{line}");
            ParityRow {
                source: c[0],
                key: c[1],
                name: c[2],
                ours: c[3].split(',').filter(|r| !r.is_empty()).collect(),
                status: c[4],
                score: c[5],
                note: c[6],
            }
        })
        .collect()
}

/// Issue 17: a rule's defaults are the ESCU detection's impact and
/// confidence when an ESCU row with a score names it first; else the Sigma
/// level's through the one table, when a Sigma row names it first; a rule
/// of its own says why, and one that no public row names first, or that
/// never scores alone, may be its own. The README shows the level table
/// and every reason.
#[test]
fn issue17_scores_follow_escu_then_sigma() {
    use winrmdetect::detect::rules::Basis;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tsv = std::fs::read_to_string(root.join("docs/parity.tsv")).unwrap();
    let rows = parity_rows(&tsv);
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for r in winrmdetect::detect::rules::RULES.iter() {
        let first = |source: &str| -> Vec<&ParityRow<'_>> {
            rows.iter()
                .filter(|p| p.source == source && p.covered() && p.score != "-")
                .filter(|p| p.ours.first() == Some(&r.id))
                .collect()
        };
        let (escu, sigma) = (first("escu"), first("sigma"));
        let defaults = format!("{}/{}", r.impact, r.confidence);
        let silent = r.impact == 0 || r.confidence == 0;
        match r.basis {
            Basis::Escu(key) => {
                let row = escu.iter().find(|p| p.key.split(' ').next() == Some(key));
                let row =
                    row.unwrap_or_else(|| panic!("{}: no ESCU row {key} names it first", r.id));
                assert_eq!(row.score, defaults, "{}: ESCU {key}", r.id);
            }
            Basis::Sigma(id, level) => {
                assert!(escu.is_empty() || silent, "{}: ESCU has it", r.id);
                let row = sigma.iter().find(|p| p.key.starts_with(id));
                let row =
                    row.unwrap_or_else(|| panic!("{}: no Sigma row {id} names it first", r.id));
                assert_eq!(row.score, level.name(), "{}", r.id);
                assert_eq!((r.impact, r.confidence), level.scores(), "{}", r.id);
            }
            Basis::Own(why) => {
                assert!(
                    silent || (escu.is_empty() && sigma.is_empty()),
                    "{}: public rows score it",
                    r.id
                );
                assert!(
                    readme.contains(why),
                    "README lacks the reason for {}: {why}",
                    r.id
                );
            }
        }
    }
    for level in Level::ALL {
        let (i, c) = level.scores();
        let row = format!(
            "| {} | {i}/{c} → {} |",
            level.name(),
            u32::from(i) * u32::from(c) / 100
        );
        assert!(readme.contains(&row), "README lacks the level row {row}");
    }
}

/// Issue 17: every public rule we cover has an example built from its own
/// definition (its selection a positive, a filter or a near miss the
/// contrast) in one of the rules its parity row names, and every such
/// example names a row that names its rule; a regression sample is named
/// by its path and commit.
#[test]
fn issue17_every_covered_public_rule_has_its_own_example() {
    use winrmdetect::detect::rules::{Built, Origin};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tsv = std::fs::read_to_string(root.join("docs/parity.tsv")).unwrap();
    let rows = parity_rows(&tsv);
    let names = |row: &ParityRow<'_>, origin: Origin| match origin {
        Origin::Escu(k) => row.source == "escu" && row.key.split(' ').next() == Some(k),
        Origin::Sigma(k) => row.source == "sigma" && row.key.starts_with(k),
    };
    let rules = &winrmdetect::detect::rules::RULES;
    let missing: Vec<&str> = rows
        .iter()
        .filter(|row| row.covered())
        .filter(|row| {
            !rules
                .iter()
                .filter(|r| row.ours.contains(&r.id))
                .flat_map(|r| r.public)
                .any(|p| names(row, p.origin))
        })
        .map(|row| row.key)
        .collect();
    assert!(missing.is_empty(), "no example built from {missing:?}");
    for r in rules.iter() {
        for p in r.public {
            let row = rows.iter().find(|row| names(row, p.origin));
            let row = row.unwrap_or_else(|| panic!("{}: {:?} is no parity row", r.id, p.origin));
            assert!(
                row.ours.contains(&r.id),
                "{}: row {} does not name it",
                r.id,
                row.key
            );
            if let Built::Regression { path, commit } = p.built {
                assert!(
                    path.starts_with("regression_data/") && path.ends_with(".json"),
                    "{path}"
                );
                assert!(
                    commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
                    "{commit}"
                );
            }
        }
    }
}
