//! `winrmdetect scan FILE.csv`: the same detection over a Splunk CSV export
//! (`| table *` or `outputcsv`), printed as a table a person can read.
//!
//! The file is cut into 50,000-row chunks exactly as splunkd would send it
//! and each chunk goes through the search command's row loop
//! ([`crate::chunk::push_rows`]) as with `alerts_only=true`; an alert
//! collector takes the place of the reply CSV and reads the detections, so
//! the table holds what the reply would.

use std::collections::HashSet;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::str::Utf8Error;

use crate::chunk::{lm_side, push_rows, Columns, Line, Look, Mode, RowSink};
use crate::cli::args::ScanArgs;
use crate::cli::report::{print_alerts, print_hops, Alert, EvidenceEvent};
use crate::cli::{config, read_file, warn};
use crate::correlate::{parse_time, Correlator, Hop, Known, Observation, Settings};
use crate::csvio::read::{Row, Rows};
use crate::detect::{Detection, Engine};
use crate::error::{Error, Result};
use crate::event::{Event, F};

/// Rows per chunk, as splunkd's default `maxresultrows`.
pub const CHUNK_ROWS: usize = 50_000;

/// `winrmdetect scan`: a table of the labelled events of each file, or
/// (`--hops`) of the hops of all files together.
pub fn run(args: ScanArgs) -> Result<ExitCode> {
    let config = config();
    let engine = &config.engine;
    let mut out = BufWriter::new(io::stdout().lock());
    let io = |e| Error::io("writing the table", e);
    if args.hops {
        let mut data = Vec::new();
        for f in &args.files {
            data.push(read_file(f)?);
        }
        let (hops, warnings) = hops_of_files(&data, engine, &config.known);
        warn(warnings);
        print_hops(&mut out, &hops).map_err(io)?;
    } else {
        let min_score = if args.all { 0 } else { 1 };
        for f in &args.files {
            let data = read_file(f)?;
            let f = f.display().to_string();
            let scan = scan_csv(&f, &data, engine, min_score)?;
            warn(scan.warnings.iter().map(|w| format!("{f}: {w}")));
            writeln!(out, "== {f}").map_err(io)?;
            print_alerts(&mut out, &scan.alerts, scan.events).map_err(io)?;
        }
    }
    out.flush().map_err(io)?;
    Ok(ExitCode::SUCCESS)
}

/// What scanning one CSV export found.
#[derive(Debug, Default)]
pub struct Scan {
    /// The labelled events scoring at least the minimum, in file order.
    pub alerts: Vec<Alert>,
    /// Rows read.
    pub events: usize,
    /// What the search command would have warned about, chunk by chunk.
    pub warnings: Vec<String>,
}

/// Scans a CSV body (`name`: its file, for messages) and returns the
/// labelled events scoring at least `min_score`.
pub fn scan_csv(name: &str, data: &[u8], engine: &Engine, min_score: u32) -> Result<Scan> {
    scan_csv_with(name, data, engine, min_score, None)
}

/// [`scan_csv`], and (when `kept` is given) what correlation takes from
/// the events kept in it, for a later pass ([`crate::cli::pipeline`]).
pub fn scan_csv_with(
    name: &str,
    data: &[u8],
    engine: &Engine,
    min_score: u32,
    mut kept: Option<&mut Kept>,
) -> Result<Scan> {
    let csv_err = |source| Error::CsvBody {
        context: name.to_string(),
        source,
    };
    let mut rdr = Rows::new(data);
    let mut rec = csv::ByteRecord::new();
    let mut scan = Scan::default();
    if !rdr.read_byte_record(&mut rec).map_err(csv_err)? {
        return Ok(scan);
    }
    let header = &data[..rdr.position()];
    let (mut start, mut rows) = (header.len(), 0usize);
    loop {
        let more = rdr.read_byte_record(&mut rec).map_err(csv_err)?;
        rows += usize::from(more);
        if rows == CHUNK_ROWS || (!more && rows > 0) {
            let end = rdr.position();
            let mut body = header.to_vec();
            if !body.ends_with(b"\n") {
                body.push(b'\n');
            }
            body.extend_from_slice(&data[start..end]);
            scan.chunk(name, &body, engine, min_score, kept.as_deref_mut())?;
            (start, rows) = (end, 0);
        }
        if !more {
            return Ok(scan);
        }
    }
}

impl Scan {
    /// Scans one chunk body.
    fn chunk(
        &mut self,
        name: &str,
        body: &[u8],
        engine: &Engine,
        min_score: u32,
        kept: Option<&mut Kept>,
    ) -> Result<()> {
        let mut sink = Collector {
            kept,
            name,
            mode: Mode {
                detect: true,
                alerts_only: true,
                min_score,
                evidence_only: false,
            },
            row: self.events,
            columns: Columns::default(),
            at: [None; 3],
            bad_header: None,
            alerts: &mut self.alerts,
            error: None,
        };
        let pass = push_rows(body, Look::Detect(engine), &mut sink);
        if let Some(e) = sink.error {
            return Err(e);
        }
        self.events += pass.rows;
        self.warnings.extend(pass.warnings(body));
        Ok(())
    }
}

/// `scan`'s sink: the alerts of a chunk, from the rows and detections the
/// reply would hold.
///
/// The table is text. As when it was read back from the reply CSV, a
/// header, or a field of a labelled row that the reply keeps, that is not
/// UTF-8 ends the scan with an error.
struct Collector<'s> {
    name: &'s str,
    mode: Mode,
    /// Rows of the file read so far.
    row: usize,
    columns: Columns,
    /// The columns `_time`, `Computer` and `host`.
    at: [Option<usize>; 3],
    /// A header field that is not UTF-8, and why.
    bad_header: Option<(usize, Utf8Error)>,
    alerts: &'s mut Vec<Alert>,
    error: Option<Error>,
    /// Where what correlation takes goes, if anywhere.
    kept: Option<&'s mut Kept>,
}

/// What correlation takes from the events of one input, read where the
/// events are read ([`Observation::of`]) so that the events themselves
/// need not be kept: in input order, each evidence event with its summary
/// for `--hop`. A SID's name is kept once (correlation keeps the first).
#[derive(Debug, Default)]
pub struct Kept {
    /// Observations in input order, with the summary of those that are
    /// evidence (its `seq` is set when correlation takes it).
    pub events: Vec<(Observation, Option<EvidenceEvent>)>,
    /// The SIDs whose names are kept already.
    sids: HashSet<String>,
}

impl Kept {
    /// Keeps what correlation takes from `ev` of `file`, if anything.
    pub fn push(&mut self, file: &str, ev: &dyn Event, d: Option<&Detection>) {
        let mut o = Observation::of(ev, d.map(Detection::finding));
        if let Some(sid) = o.sid() {
            if self.sids.contains(sid) {
                o.drop_sid_name();
            } else {
                self.sids.insert(sid.to_string());
            }
        }
        if o.is_empty() {
            return;
        }
        let summary = o.is_evidence().then(|| evidence_event(file, ev, d));
        self.events.push((o, summary));
    }
}

/// One evidence event, summed up (`seq` 0 until correlation takes it).
fn evidence_event(file: &str, ev: &dyn Event, d: Option<&Detection>) -> EvidenceEvent {
    let get = |f: F| ev.get(f).or_empty().trim().to_string();
    let host = match get(F::Computer) {
        h if h.is_empty() => get(F::Host),
        h => h,
    };
    let what = [F::CommandLine, F::Connection, F::DestIp, F::IpAddress]
        .into_iter()
        .map(get)
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    EvidenceEvent {
        seq: 0,
        file: file.to_string(),
        epoch: parse_time(ev.get(F::Time).or_empty()),
        host,
        event_code: get(F::EventCode),
        record_id: get(F::RecordId),
        alert_type: d.map(|d| d.alert_types.join("|")).unwrap_or_default(),
        what: what.replace(['\r', '\n'], " "),
    }
}

impl RowSink for Collector<'_> {
    fn header(&mut self, names: &Row<'_>) {
        self.columns = Columns::plan(names, self.mode);
        let find = |n: &str| names.iter().position(|c| c == n.as_bytes());
        self.at = [find("_time"), find("Computer"), find("host")];
        self.bad_header = not_text(names.iter().enumerate());
    }

    fn row(&mut self, line: &Line<'_>) -> bool {
        self.row += 1;
        if let Some((field, source)) = self.bad_header.take() {
            let context = format!("{}: the header, field {}", self.name, field + 1);
            self.error = Some(Error::CsvText { context, source });
            return false;
        }
        if let (Some(kept), Some(ev)) = (self.kept.as_deref_mut(), line.event) {
            kept.push(self.name, ev, line.detection);
        }
        let Some(d) = line.detection.filter(|&d| !self.mode.drops(Some(d))) else {
            return true;
        };
        let kept = line.row.iter().enumerate();
        if let Some((field, source)) = not_text(kept.filter(|(i, _)| self.columns.keeps(*i))) {
            let context = format!("{}: row {}, field {}", self.name, self.row, field + 1);
            self.error = Some(Error::CsvText { context, source });
            return false;
        }
        let get = |k: usize| {
            let field = self.at[k].and_then(|i| line.row.get(i));
            field.map_or("", |v| std::str::from_utf8(v).unwrap_or_default())
        };
        let host = match get(1) {
            "" => get(2),
            h => h,
        };
        let mut a = alert(d, get(0), host);
        if let Some(ev) = line.event {
            add_context(&mut a, ev, d);
        }
        self.alerts.push(a);
        true
    }
}

/// The first of `fields` that is not UTF-8: its index, and why.
fn not_text<'f>(mut fields: impl Iterator<Item = (usize, &'f [u8])>) -> Option<(usize, Utf8Error)> {
    fields.find_map(|(i, f)| std::str::from_utf8(f).err().map(|e| (i, e)))
}

/// A labelled event as the table shows it.
pub(crate) fn alert(d: &Detection, time: &str, host: &str) -> Alert {
    Alert {
        file: String::new(),
        time: time.to_string(),
        host: host.to_string(),
        epoch: crate::correlate::parse_time(time),
        alert_type: one_line(d.alert_types.iter().copied(), "|"),
        rule_id: d.rule_ids.join("|"),
        description: one_line(d.descriptions.iter().map(|c| &**c), " | "),
        mitre: d.mitre.join("|"),
        risk_score: d.risk_score,
        side: lm_side(d).to_string(),
        target: one_line(d.targets.iter().map(String::as_str), ","),
        message: d.risk_message.clone(),
        ..Alert::default()
    }
}

/// What the event says of its account, process and record.
pub(crate) fn add_context(a: &mut Alert, ev: &dyn crate::event::Event, d: &Detection) {
    use crate::event::F;
    let cim = crate::chunk::cim_values(ev, d);
    a.user = cim[4].to_string();
    a.command_line = cim[5].to_string();
    a.process = cim[6].to_string();
    a.parent_process = cim[7].to_string();
    a.event_code = ev.get(F::EventCode).or_empty().trim().to_string();
    a.record_id = ev.get(F::RecordId).or_empty().trim().to_string();
}

/// Values as one cell of the table: `sep`-joined, and a newline inside a
/// value turned into `sep` too (as reading the reply's newline-joined
/// multivalue cell back did).
fn one_line<'a>(values: impl Iterator<Item = &'a str>, sep: &str) -> String {
    values.collect::<Vec<_>>().join("\n").replace('\n', sep)
}

/// Formats a `_time` (epoch seconds or ISO 8601) as `YYYY-MM-DD HH:MM:SS`
/// UTC; other text (and a time past chrono's calendar, beyond year
/// 262,143) is kept.
pub fn format_time(t: &str) -> String {
    use chrono::{Datelike, Timelike};
    let secs = crate::correlate::parse_time(t).map(|s| s.floor() as i64);
    let Some(at) = secs.and_then(crate::evtx::utc) else {
        return t.to_string();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Correlates the events of one or more Splunk CSV exports together (all
/// files are one search) and returns the hops.
pub fn hops_of_files(files: &[Vec<u8>], engine: &Engine, known: &Known) -> (Vec<Hop>, Vec<String>) {
    let mut corr = Correlator::new(Settings::default()).with_known(known.clone());
    let mut keep = crate::chunk::EvidenceRows::default();
    let mut warnings = Vec::new();
    for data in files {
        warnings.extend(crate::chunk::collect_evidence(
            data, engine, &mut corr, &mut keep,
        ));
    }
    warnings.extend(corr.warnings());
    (corr.finish(), warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_as_utc() {
        assert_eq!(format_time("1600636151.000000"), "2020-09-20 21:09:11");
        assert_eq!(format_time("0"), "1970-01-01 00:00:00");
        // Issue 15: ISO 8601 with an offset shows in UTC.
        assert_eq!(
            format_time("2024-05-14T11:12:03+0200"),
            "2024-05-14 09:12:03"
        );
        assert_eq!(format_time("yesterday"), "yesterday");
    }

    /// The alerts as 553877b read them: the `alerts_only` reply of the
    /// whole body, parsed back.
    fn read_back(data: &[u8], min_score: u32) -> csv::Result<Vec<Alert>> {
        let mode = Mode {
            alerts_only: true,
            min_score,
            ..Mode::default()
        };
        let out = crate::chunk::process_body(data, &Engine::default(), mode);
        let body = out.bytes(data);
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(&body[..]);
        let headers = rdr.headers()?.clone();
        let get = |r: &csv::StringRecord, n: &str| {
            let i = headers.iter().position(|h| h == n);
            i.and_then(|i| r.get(i)).unwrap_or("").to_string()
        };
        let mut alerts = Vec::new();
        for r in rdr.records() {
            let r = r?;
            let host = match get(&r, "Computer") {
                h if h.is_empty() => get(&r, "host"),
                h => h,
            };
            alerts.push(Alert {
                file: String::new(),
                time: get(&r, "_time"),
                host,
                alert_type: get(&r, "AlertType").replace('\n', "|"),
                risk_score: get(&r, "risk_score").parse().unwrap_or(0),
                side: get(&r, "lm_side"),
                target: get(&r, "target_host").replace('\n', ","),
                message: get(&r, "risk_message"),
                ..Alert::default()
            });
        }
        Ok(alerts)
    }

    const HIT: &str = "source,EventCode,Computer,ParentImage,Image,CommandLine";
    const ROW: &str = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational,1,WKS01,C:\\w\\explorer.exe,C:\\w\\powershell.exe,\"powershell Invoke-Command -cn a,b {winrm x}\"";

    /// The collector sees what the reply would hold: on the fixtures, and on
    /// bodies with replaced columns, ragged and CRLF rows.
    #[test]
    fn alerts_are_what_the_reply_holds() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut bodies: Vec<Vec<u8>> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        assert!(bodies.len() >= 5);
        bodies.push(format!("{HIT},host,risk_score,_time\n{ROW},h,99,17\n1,2\n").into_bytes());
        bodies.push(format!("_time,{HIT}\r\n5,{ROW},extra\r\n").into_bytes());
        bodies.push(format!("{HIT}\n{ROW}\n").replace("WKS01", "").into_bytes());
        let mut found = 0;
        for (i, data) in bodies.iter().enumerate() {
            for min_score in [0, 1, 50] {
                let scan = scan_csv("x.csv", data, &Engine::default(), min_score).unwrap();
                // The reply's fields (the context fields are not in it).
                let old_fields = |a: &Alert| Alert {
                    time: a.time.clone(),
                    host: a.host.clone(),
                    alert_type: a.alert_type.clone(),
                    risk_score: a.risk_score,
                    side: a.side.clone(),
                    target: a.target.clone(),
                    message: a.message.clone(),
                    ..Alert::default()
                };
                let got: Vec<Alert> = scan.alerts.iter().map(old_fields).collect();
                assert_eq!(got, read_back(data, min_score).unwrap(), "body {i}");
                found += scan.alerts.len();
            }
        }
        assert!(found > 20, "{found} alerts");
    }

    /// The one place the collector and the read-back part: a labelled last
    /// row that opens a quote and never closes it. The reply passes the
    /// row through as it came, so its cells land inside the open quote and
    /// reading the reply back (553877b) gave a row of empty cells and a
    /// row of shifted ones; the collector reports the detection.
    #[test]
    fn a_quote_never_closed_keeps_its_detection() {
        let data = format!("{HIT}\n{}\n", ROW.trim_end_matches('"'));
        let scan = scan_csv("x.csv", data.as_bytes(), &Engine::default(), 1).unwrap();
        assert_eq!(scan.alerts.len(), 1);
        assert_eq!(
            scan.alerts[0].alert_type,
            "WinRM_PSRemoting|WinRM_DirectTool"
        );
        assert!(scan.warnings[0].contains("opens a quote that is never closed"));
        let old = read_back(data.as_bytes(), 1).unwrap();
        assert_eq!((old.len(), old[0].alert_type.as_str()), (2, ""));
    }

    /// Not UTF-8 in the header, or in a field of a labelled row that the
    /// reply keeps, is an error; anywhere else it is not.
    #[test]
    fn only_text_the_table_would_show_must_be_utf8() {
        let scan =
            |data: &[u8]| scan_csv("x.csv", data, &Engine::default(), 1).map(|s| s.alerts.len());
        let row = ROW.as_bytes();
        let body = |header: &[u8], row: &[u8]| [header, b",x\n", row, b"\n"].concat();
        let ok: [&[u8]; 2] = [b",quiet", b",\xff"];
        assert_eq!(
            scan(&body(HIT.as_bytes(), &[row, ok[0]].concat())).unwrap(),
            1
        );
        // Replaced by ours: dropped, never read.
        assert_eq!(
            scan(&body(
                b"source,EventCode,Computer,ParentImage,Image,CommandLine,risk_score",
                &[row, ok[1]].concat()
            ))
            .unwrap(),
            1
        );
        // A quiet row is not in the table.
        assert_eq!(scan(&body(HIT.as_bytes(), b"a,b\n\xff,c")).unwrap(), 0);
        let bad = scan(&body(HIT.as_bytes(), &[row, ok[1]].concat())).unwrap_err();
        assert!(bad.to_string().contains("x.csv: row 1, field 7"), "{bad}");
        assert!(read_back(&body(HIT.as_bytes(), &[row, ok[1]].concat()), 1).is_err());
        let header = [HIT.as_bytes(), b",\xff"].concat();
        assert!(scan(&body(&header, b"a,b")).is_err());
        assert!(read_back(&body(&header, b"a,b"), 1).is_err());
        assert_eq!(scan(&[&header[..], b"\n"].concat()).unwrap(), 0);
    }
}
