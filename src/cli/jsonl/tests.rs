//! Tests of the JSON-lines conversion: four lines of a Mordor recording
//! (MIT, see `tests/fixtures/jsonl/README.md`), crafted Winlogbeat lines,
//! and broken input.

use std::path::Path;

use super::*;
use crate::cli::scan::scan_csv;
use crate::detect::Engine;

/// Crafted for this project in Winlogbeat's shape (not recorded data):
/// Sysmon 1, `wsmprovhost.exe` starting `whoami.exe` on SRV02.
const WINLOGBEAT_SYSMON_1: &str = r#"{"@timestamp":"2024-05-14T09:12:03.250Z","event":{"code":"1","kind":"event","provider":"Microsoft-Windows-Sysmon"},"host":{"name":"srv02.corp.example"},"message":"Process Create:\nRuleName: -","winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","computer_name":"SRV02.corp.example","event_id":1,"record_id":73311,"provider_name":"Microsoft-Windows-Sysmon","process":{"pid":2888,"thread":{"id":3624}},"user":{"identifier":"S-1-5-18"},"event_data":{"Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"\"C:\\Windows\\system32\\whoami.exe\" /all","ParentImage":"C:\\Windows\\System32\\wsmprovhost.exe","ParentCommandLine":"C:\\Windows\\system32\\wsmprovhost.exe -Embedding","User":"CORP\\alice","LogonId":"0x5c1a3e"}}}"#;

/// Crafted: a Winlogbeat Security 4624 whose event data has its own
/// `ProcessName`, and a `tags` list.
const WINLOGBEAT_4624: &str = r#"{"@timestamp":"2024-05-14T11:12:02+02:00","tags":["a","b"],"winlog":{"channel":"Security","computer_name":"SRV02.corp.example","event_id":"4624","record_id":"991","provider_name":"Microsoft-Windows-Security-Auditing","event_data":{"LogonType":"3","TargetUserName":"alice","IpAddress":"10.0.0.5","ProcessName":"-"}}}"#;

/// The chunks of a conversion, and its stats.
fn convert(input: &[u8], rows: usize) -> (Vec<Vec<u8>>, JsonStats) {
    let mut chunks = Vec::new();
    let stats = to_csv_chunks(input, "t.json", rows, |c| {
        chunks.push(c);
        Ok(())
    })
    .unwrap();
    (chunks, stats)
}

/// The rows of a body as (column → value) maps.
fn rows(body: &[u8]) -> Vec<HashMap<String, String>> {
    let mut rdr = csv::Reader::from_reader(body);
    let header = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .map(String::from)
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

fn alert_types(body: &[u8]) -> Vec<String> {
    let scan = scan_csv("t.json", body, &Engine::default(), 1).unwrap();
    scan.alerts.into_iter().map(|a| a.alert_type).collect()
}

/// Mordor's flat lines: Splunk's columns, the computer's short name as
/// `host` (not the collector's), the collector's `port` dropped, and the
/// remote-PowerShell process tree detected.
#[test]
fn mordor_lines_convert_and_detect() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jsonl/mordor_psremoting_4lines.json");
    let (chunks, stats) = convert(&std::fs::read(path).unwrap(), 100);
    assert_eq!((chunks.len(), stats.events, stats.bad), (1, 4, 0));
    let header = chunks[0].split(|b| *b == b'\n').next().unwrap();
    assert!(header
        .starts_with(b"_time,host,source,sourcetype,EventCode,Channel,Computer,EventRecordID,"));
    let rows = rows(&chunks[0]);
    let first = &rows[0];
    assert_eq!(first["_time"], "1600636149.817000");
    assert_eq!(first["host"], "WORKSTATION6");
    assert_eq!(first["Computer"], "WORKSTATION6.theshire.local");
    assert_eq!(
        first["source"],
        "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"
    );
    assert_eq!(first["sourcetype"], "XmlWinEventLog");
    assert_eq!(
        (first["EventCode"].as_str(), first["EventID"].as_str()),
        ("1", "1")
    );
    assert_eq!(first["EventRecordID"], "3092453");
    assert_eq!(first["ProviderName"], "Microsoft-Windows-Sysmon");
    assert_eq!(first["Image"], "C:\\Windows\\System32\\wsmprovhost.exe");
    assert!(!first.contains_key("port"), "the collector's port");
    assert_eq!(rows[2]["Initiated"], "true");
    let alerts = alert_types(&chunks[0]);
    assert!(alerts.iter().any(|a| a.contains("WinRM")), "{alerts:?}");
}

/// Winlogbeat's nested shape: the event data by their own names, the
/// System values from `winlog`, other objects dotted; a data field wins
/// over a System one of the same name.
#[test]
fn winlogbeat_lines_convert_and_detect() {
    let input = format!("{WINLOGBEAT_SYSMON_1}\n{WINLOGBEAT_4624}\n");
    let (chunks, stats) = convert(input.as_bytes(), 100);
    assert_eq!((stats.events, stats.bad), (2, 0));
    let got = rows(&chunks[0]);
    let s = &got[0];
    assert_eq!(s["_time"], "1715677923.250000");
    assert_eq!(s["host"], "SRV02");
    assert_eq!(s["EventCode"], "1");
    assert_eq!(s["EventRecordID"], "73311");
    assert_eq!(s["ParentImage"], "C:\\Windows\\System32\\wsmprovhost.exe");
    assert_eq!(
        s["CommandLine"],
        "\"C:\\Windows\\system32\\whoami.exe\" /all"
    );
    assert_eq!(
        (s["ProcessID"].as_str(), s["ThreadID"].as_str()),
        ("2888", "3624")
    );
    assert_eq!(s["UserID"], "S-1-5-18");
    assert_eq!(s["Message"], "Process Create:\nRuleName: -");
    assert_eq!(s["event.code"], "1");
    assert_eq!(s["host.name"], "srv02.corp.example");
    let l = &got[1];
    assert_eq!(l["_time"], "1715677922.000000", "the offset applied");
    assert_eq!(l["source"], "XmlWinEventLog:Security");
    assert_eq!(l["ProcessName"], "-");
    assert_eq!(l["tags"], "a\nb");
    assert_eq!(l["Image"], "", "the union header, empty here");
    // The event data win over a field of the same name elsewhere.
    let line = r#"{"message":"rendered","Channel":"top","winlog":{"channel":"System","event_data":{"Message":"data","Channel":"data"}}}"#;
    let r = &rows(&convert(line.as_bytes(), 1).0[0])[0];
    assert_eq!(
        (r["Message"].as_str(), r["Channel"].as_str()),
        ("data", "System")
    );
    let alerts = alert_types(&chunks[0]);
    assert!(alerts.iter().any(|a| a.contains("WinRM")), "{alerts:?}");
}

/// Chunks hold at most the rows asked for, each with its own header.
#[test]
fn chunks_are_cut_with_their_own_header() {
    let input = format!("{WINLOGBEAT_4624}\n{WINLOGBEAT_4624}\n{WINLOGBEAT_SYSMON_1}\n");
    let (chunks, stats) = convert(input.as_bytes(), 2);
    assert_eq!((chunks.len(), stats.events), (2, 3));
    assert_eq!(rows(&chunks[0]).len(), 2);
    assert!(!rows(&chunks[0])[0].contains_key("ParentImage"));
    assert!(rows(&chunks[1])[0].contains_key("ParentImage"));
    // Zero rows per chunk means one.
    assert_eq!(convert(input.as_bytes(), 0).0.len(), 3);
}

/// Lines that are not objects are warnings (the first few by number, then
/// a count), blank lines nothing, bytes that are not UTF-8 replaced, a
/// byte order mark ignored.
#[test]
fn bad_lines_are_counted_never_fatal() {
    let mut input =
        b"\xef\xbb\xbf{\"EventID\":4624,\"Channel\":\"Security\",\"TargetUserName\":\"b\xffd\"}\r\n\n".to_vec();
    for bad in [
        "not json", "[1,2]", "\"x\"", "{\"a\":", "7", "null", "{}} x",
    ] {
        input.extend_from_slice(bad.as_bytes());
        input.push(b'\n');
    }
    input.extend_from_slice(b"{\"EventID\":1}");
    let (chunks, stats) = convert(&input, 100);
    assert_eq!((stats.lines, stats.events, stats.bad), (10, 2, 7));
    assert!(
        stats.warnings[0].starts_with("line 3: not JSON ("),
        "{:?}",
        stats.warnings
    );
    assert_eq!(stats.warnings[1], "line 4: not a JSON object but an array");
    assert_eq!(stats.warnings[2], "line 5: not a JSON object but a string");
    assert_eq!(stats.warnings.len(), LISTED + 1);
    assert_eq!(
        stats.warnings[LISTED],
        "and 2 more lines that are not JSON objects"
    );
    let rows = rows(&chunks[0]);
    assert_eq!(rows[0]["TargetUserName"], "b\u{fffd}d");
    assert_eq!(rows[1]["EventCode"], "1");
    assert_eq!(rows[1]["source"], "");
}

/// An error of the receiver ends the conversion with it.
#[test]
fn the_receivers_error_ends_it() {
    let input = format!("{WINLOGBEAT_4624}\n{WINLOGBEAT_4624}\n");
    let err = to_csv_chunks(input.as_bytes(), "t.json", 1, |_| {
        Err(Error::Argument("stop".into()))
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "stop");
}

/// The alert types of a shared Mordor recording converted, and the stats,
/// or `None` when this machine has no shared data folder.
fn shared_mordor(file: &str) -> Option<(std::collections::BTreeSet<String>, JsonStats)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/mordor")
        .join(file);
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!("skipped: {} not here", path.display());
        return None;
    };
    let reader = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file));
    let mut alerts = std::collections::BTreeSet::new();
    let stats = to_csv_chunks(reader, "mordor", 1000, |c| {
        alerts.extend(alert_types(&c));
        Ok(())
    })
    .unwrap();
    Some((alerts, stats))
}

/// The whole Mordor psremoting recording from the shared data folder, when
/// this machine has it: converted, every line is an event, and it yields
/// every alert type its committed CSV cut (`mordor_psremoting.csv`, made
/// by another conversion) does.
#[test]
fn the_whole_mordor_recording_detects() {
    let Some((alerts, stats)) = shared_mordor("empire_psremoting_stager_2020-09-20170827.json.gz")
    else {
        return;
    };
    assert_eq!((stats.events, stats.bad), (2744, 0));
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mordor_psremoting.csv");
    let cut: std::collections::BTreeSet<String> = alert_types(&std::fs::read(fixture).unwrap())
        .into_iter()
        .collect();
    assert!(cut.iter().any(|a| a.contains("WinRM")), "{cut:?}");
    assert!(cut.is_subset(&alerts), "cut {cut:?}, converted {alerts:?}");
}
