//! Conformance of the EVTX reader with the development data (not shipped,
//! not needed by the tests): every `.evtx` under `<data>/evtx/` is read as
//! `evtx_input` and `hunt` read it, and
//!
//! * the number of records equals what the evtx crate itself reads (its
//!   own iterator, default settings);
//! * every record agrees with the CSV row made from the same file (matched
//!   by `orig_file` and `EventRecordID`) on every column the CSV has that
//!   the XML holds: EventCode, Computer, Channel, the System attributes and
//!   every EventData / UserData field, read back through the `_raw` parser
//!   a search uses. GUIDs are compared without braces and case, times as
//!   instants.
//!
//! ```text
//! cargo run --release --example evtx_conformance -- [../shared/data]
//! ```

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use winrmdetect::evtx::{parse_system_time, EvtxFile, Position};

/// CSV columns that are not fields of the XML.
const NOT_FIELDS: [&str; 6] = ["_time", "host", "source", "sourcetype", "_raw", "orig_file"];

type Row = HashMap<String, String>;

/// CSV rows by `orig_file`.
fn csv_rows(dir: &Path) -> Result<HashMap<String, Vec<Row>>, Box<dyn std::error::Error>> {
    let mut by_file: HashMap<String, Vec<Row>> = HashMap::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        let name = p.to_string_lossy();
        if !name.ends_with(".csv.gz") {
            continue;
        }
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&p)?).read_to_end(&mut text)?;
        let mut r = csv::Reader::from_reader(text.as_slice());
        let header = r.headers()?.clone();
        for rec in r.records() {
            let rec = rec?;
            let row: Row = header
                .iter()
                .zip(rec.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            if let Some(f) = row.get("orig_file") {
                by_file.entry(f.clone()).or_default().push(row);
            }
        }
    }
    Ok(by_file)
}

fn normal(column: &str, v: &str) -> String {
    let v = v.replace("\r\n", "\n");
    let guid = v.len() >= 36
        && v.trim_matches(['{', '}']).len() == 36
        && v.trim_matches(['{', '}'])
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == '-');
    if guid {
        return v.trim_matches(['{', '}']).to_ascii_uppercase();
    }
    if column == "SystemTime" {
        if let Some(t) = parse_system_time(&v) {
            return format!("{t:.6}");
        }
    }
    v
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("../shared/data"), PathBuf::from);
    let files = winrmdetect::modinput::expand(&data.join("evtx").to_string_lossy())?;
    if files.is_empty() {
        return Err(format!("no .evtx under {}", data.join("evtx").display()).into());
    }
    let csv = csv_rows(&data.join("csv"))?;
    let (mut bad_files, mut all_records, mut all_fields) = (0, 0, 0);
    println!("file | crate records | read | damaged | CSV rows | rows matched | fields compared | mismatches");
    for f in &files {
        let rel = f.strip_prefix(data.join("evtx")).unwrap_or(f);
        // The crate's own count.
        let crate_ok = evtx::EvtxParser::from_path(f)
            .map(|mut p| p.records().filter(|r| r.is_ok()).count())
            .unwrap_or(0);
        let mut ours = Vec::new();
        let mut damaged = 0;
        match EvtxFile::open(f) {
            Ok(mut file) => file.read_from(
                Position::default(),
                |r, _| {
                    ours.push(r);
                    true
                },
                |_| damaged += 1,
            ),
            Err(e) => println!("{}: {e}", rel.display()),
        }
        let key = rel.to_string_lossy().replace('\\', "/");
        let rows = csv.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let by_id: HashMap<&str, &Row> = rows
            .iter()
            .filter_map(|r| Some((r.get("EventRecordID")?.as_str(), r)))
            .collect();
        let (mut matched, mut compared) = (0, 0);
        let mut mismatches: BTreeMap<String, (usize, String)> = BTreeMap::new();
        for r in &ours {
            // The XML's EventRecordID (an exported log numbers its record
            // headers anew from 1).
            let id = r
                .xml
                .split("<EventRecordID>")
                .nth(1)
                .and_then(|x| x.split('<').next())
                .unwrap_or_default();
            let Some(row) = by_id.get(id) else {
                continue;
            };
            matched += 1;
            let ev = winrmdetect::event::raw_xml::parse_event(&r.xml);
            let pairs: HashMap<&str, &str> = ev
                .as_ref()
                .map(|e| {
                    e.pairs
                        .iter()
                        .map(|(k, v)| (k.as_ref(), v.as_ref()))
                        .collect()
                })
                .unwrap_or_default();
            for (col, want) in row.iter() {
                if NOT_FIELDS.contains(&col.as_str()) || want.is_empty() {
                    continue;
                }
                let Some(got) = pairs.get(col.as_str()) else {
                    continue;
                };
                compared += 1;
                if normal(col, got) != normal(col, want) {
                    let m = mismatches.entry(col.clone()).or_default();
                    m.0 += 1;
                    if m.1.is_empty() {
                        m.1 = format!("record {id}: ours {got:?} csv {want:?}");
                    }
                }
            }
            for (col, got) in [
                ("EventCode", r.event_id.to_string()),
                ("Computer", r.computer.clone()),
            ] {
                compared += 1;
                if row.get(col).map(|w| normal(col, w)) != Some(normal(col, &got)) {
                    mismatches.entry(col.into()).or_default().0 += 1;
                }
            }
        }
        let n_mis: usize = mismatches.values().map(|m| m.0).sum();
        let count_ok = ours.len() == crate_ok;
        let rows_ok = rows.is_empty() || matched == rows.len();
        if !count_ok || !rows_ok || n_mis > 0 {
            bad_files += 1;
        }
        all_records += ours.len();
        all_fields += compared;
        println!(
            "{} | {crate_ok} | {}{} | {damaged} | {} | {matched}{} | {compared} | {n_mis}",
            rel.display(),
            ours.len(),
            if count_ok { "" } else { " DIFFERS" },
            rows.len(),
            if rows_ok { "" } else { " MISSING" },
        );
        for (col, (n, first)) in &mismatches {
            println!("    {col}: {n} ({first})");
        }
    }
    println!(
        "{} files, {all_records} records, {all_fields} field values compared, {bad_files} files with a difference",
        files.len()
    );
    if bad_files > 0 {
        std::process::exit(1);
    }
    Ok(())
}
