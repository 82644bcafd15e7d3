//! The offline reports of `scan` and `hunt`: labelled events (alerts) and
//! hops, each from ONE column table ([`ALERT_COLUMNS`], [`HOP_COLUMNS`])
//! that drives the text table, the CSV and the JSON lines.
//!
//! The text table is for people: it shows some of the columns, under short
//! headers and cut to a width, in an order of its own ([`ALERT_TEXT`],
//! [`HOP_TEXT`]). The hop table is the correlation reply's too, so it lives
//! in [`crate::chunk`].

use std::borrow::Cow;
use std::io::{self, Write};

use crate::chunk::hops_body;
pub use crate::chunk::HOP_COLUMNS;
use crate::cli::scan::format_time;
use crate::correlate::Hop;
use crate::csvio::write::{column, Cell, Column};
use crate::error::{Error, Result};

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned tables.
    Table,
    /// CSV: alerts, a blank line, hops.
    Csv,
    /// One JSON object per line, `"kind": "alert"` or `"hop"`.
    Json,
}

/// One labelled event, as reported: what ran, where, as whom, and why it
/// was flagged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Alert {
    /// The file it came from (`hunt`; empty in `scan`, which prints one
    /// table per file).
    pub file: String,
    /// `_time` as given.
    pub time: String,
    /// `_time` as epoch seconds (UTC), when it reads as epoch seconds or
    /// ISO 8601 ([`crate::correlate::parse_time`]).
    pub epoch: Option<f64>,
    /// `Computer`, else `host`.
    pub host: String,
    /// The account (CIM `user`: no domain, lower-case; no bare SIDs).
    pub user: String,
    /// AlertTypes, `|`-joined.
    pub alert_type: String,
    /// The ids of the rules that matched, `|`-joined.
    pub rule_id: String,
    /// Risk score.
    pub risk_score: u32,
    /// lm_side.
    pub side: String,
    /// Targets, `,`-joined.
    pub target: String,
    /// The process's image name (CIM `process_name`).
    pub process: String,
    /// The parent's image name (CIM `parent_process_name`).
    pub parent_process: String,
    /// The command line (CIM `process`).
    pub command_line: String,
    /// `EventCode`.
    pub event_code: String,
    /// `EventRecordID` (EVTX), else `RecordNumber`.
    pub record_id: String,
    /// `alert_description`, one line per matching rule, ` | `-joined.
    pub description: String,
    /// ATT&CK technique ids, `|`-joined.
    pub mitre: String,
    /// The risk message.
    pub message: String,
}

/// One evidence event of a hop, as `hunt --hop ID` lists it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EvidenceEvent {
    /// The correlator's `seq` (what [`Hop::members`] names).
    pub seq: usize,
    /// The file it came from.
    pub file: String,
    /// `_time` as epoch seconds (UTC), when it has one.
    pub epoch: Option<f64>,
    /// `Computer`, else `host`.
    pub host: String,
    /// `EventCode`.
    pub event_code: String,
    /// `EventRecordID`, else `RecordNumber`.
    pub record_id: String,
    /// The AlertTypes of its detection, `|`-joined (empty: a connection
    /// or logon that corroborates).
    pub alert_type: String,
    /// What it says, in one line: the command line, else the connection or
    /// the logon's address and account.
    pub what: String,
}

/// Counts of one run, for the summary line and the `summary` JSON object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// Input files read (whole or in part).
    pub files_read: usize,
    /// Files skipped in a directory walk (not EVTX, CSV or JSON lines).
    pub files_skipped: usize,
    /// Inputs that could not be read (each had an `ERROR` line).
    pub files_failed: usize,
    /// Events read.
    pub events: u64,
    /// Labelled events before the filters.
    pub labelled: usize,
}

/// What `hunt` reports: the alerts (filtered, in time order), the hops, the
/// hops' evidence events, the warnings and the counts.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The alerts that passed the filters, sorted by time.
    pub alerts: Vec<Alert>,
    /// The hops that passed the filters.
    pub hops: Vec<Hop>,
    /// The evidence events of every hop, by `seq`.
    pub evidence: Vec<EvidenceEvent>,
    /// Warnings met on the way (also printed to stderr as they came).
    pub warnings: Vec<String>,
    /// Counts.
    pub summary: Summary,
}

/// A chain: its hops in order (`lm_hop` 1, 2, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Chain<'h> {
    /// `chain-<n>`.
    pub id: &'h str,
    /// Its hops, by position.
    pub hops: Vec<&'h Hop>,
}

impl Chain<'_> {
    /// The hosts it passes through: the first hop's source, then every
    /// hop's destination.
    pub fn hosts(&self) -> Vec<&str> {
        let first = self.hops.first().map(|h| h.src.as_str());
        first
            .into_iter()
            .chain(self.hops.iter().map(|h| h.dest.as_str()))
            .collect()
    }
}

/// The chains of `hops`, in order of their first hop's time.
pub fn chains(hops: &[Hop]) -> Vec<Chain<'_>> {
    let mut out: Vec<Chain<'_>> = Vec::new();
    for h in hops {
        match out.iter_mut().find(|c| c.id == h.chain_id) {
            Some(c) => c.hops.push(h),
            None => out.push(Chain {
                id: &h.chain_id,
                hops: vec![h],
            }),
        }
    }
    for c in &mut out {
        c.hops.sort_by_key(|h| h.hop_index);
    }
    let start = |c: &Chain<'_>| c.hops.first().map_or(0.0, |h| h.first_seen);
    out.sort_by(|a, b| start(a).total_cmp(&start(b)));
    out
}

/// The columns of an alert, in CSV and JSON order.
pub const ALERT_COLUMNS: &[Column<Alert>] = &[
    Column::new("file", |a: &Alert| Cell::text(&a.file)),
    Column::new("_time", |a: &Alert| Cell::EpochText(&a.time)),
    Column::new("host", |a: &Alert| Cell::text(&a.host)),
    Column::new("AlertType", |a: &Alert| {
        Cell::List(a.alert_type.split('|').map(Cow::Borrowed).collect(), "|")
    }),
    Column::new("risk_score", |a: &Alert| Cell::Int(a.risk_score.into())),
    Column::new("lm_side", |a: &Alert| Cell::text(&a.side)),
    Column::new("target_host", |a: &Alert| Cell::text(&a.target)),
    Column::new("risk_message", |a: &Alert| Cell::text(&a.message)),
];

/// The alert text table: header, width, column.
pub const ALERT_TEXT: &[(&str, usize, &str)] = &[
    ("time (UTC)", 19, "_time"),
    ("host", 28, "host"),
    ("AlertType", 40, "AlertType"),
    ("risk", 5, "risk_score"),
    ("lm_side", 11, "lm_side"),
    ("target_host", 24, "target_host"),
    ("risk_message", 70, "risk_message"),
];

/// The hop text table: header, width, column.
pub const HOP_TEXT: &[(&str, usize, &str)] = &[
    ("first seen (UTC)", 19, "first_seen"),
    ("hop", 7, "lm_hop_id"),
    ("chain", 8, "lm_chain_id"),
    ("#", 3, "lm_hop"),
    ("src_host", 14, "src_host"),
    ("dest_host", 14, "dest_host"),
    ("technique", 13, "lm_technique"),
    ("outcome", 8, "lm_outcome"),
    ("user", 10, "user"),
    ("reasons", 104, "reasons"),
    ("risk", 4, "risk_score"),
    ("evidence", 24, "evidence"),
];

/// Writes `hunt`'s report: the alerts (`events`: rows read) and the hops.
pub fn write<W: Write>(
    out: &mut W,
    format: Format,
    alerts: &[Alert],
    events: usize,
    hops: &[Hop],
) -> Result<()> {
    let io = |e| Error::io("writing the report", e);
    match format {
        Format::Table => {
            print_alerts(out, alerts, events).map_err(io)?;
            writeln!(out).map_err(io)?;
            print_hops(out, hops).map_err(io)
        }
        Format::Csv => {
            out.write_all(&alerts_csv(alerts)?).map_err(io)?;
            writeln!(out).map_err(io)?;
            out.write_all(&hops_body(hops)).map_err(io)
        }
        Format::Json => {
            for a in alerts {
                writeln!(out, "{}", json_line("alert", ALERT_COLUMNS, a)).map_err(io)?;
            }
            for h in hops {
                writeln!(out, "{}", json_line("hop", HOP_COLUMNS, h)).map_err(io)?;
            }
            Ok(())
        }
    }
}

/// Prints alerts as an aligned table (`total`: the events read) plus a
/// count per AlertType.
pub fn print_alerts<W: Write>(w: &mut W, alerts: &[Alert], total: usize) -> io::Result<()> {
    print_text(w, ALERT_COLUMNS, ALERT_TEXT, alerts)?;
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for t in alerts.iter().flat_map(|a| a.alert_type.split('|')) {
        match counts.iter_mut().find(|(n, _)| *n == t) {
            Some((_, c)) => *c += 1,
            None => counts.push((t, 1)),
        }
    }
    writeln!(w, "\n{} of {total} events labelled", alerts.len())?;
    for (t, c) in counts {
        writeln!(w, "  {c:>6}  {t}")?;
    }
    Ok(())
}

/// Prints hops as an aligned table.
pub fn print_hops<W: Write>(w: &mut W, hops: &[Hop]) -> io::Result<()> {
    print_text(w, HOP_COLUMNS, HOP_TEXT, hops)?;
    writeln!(w, "\n{} hops", hops.len())
}

/// Writes the `layout` columns of `rows` as an aligned text table.
fn print_text<W: Write, T>(
    w: &mut W,
    columns: &[Column<T>],
    layout: &[(&str, usize, &str)],
    rows: &[T],
) -> io::Result<()> {
    let widths: Vec<usize> = layout.iter().map(|&(_, width, _)| width).collect();
    let headers: Vec<&str> = layout.iter().map(|&(header, _, _)| header).collect();
    write_table_row(w, &headers, &widths)?;
    let shown: Vec<&Column<T>> = layout
        .iter()
        .map(|&(_, _, name)| column(columns, name).expect("the text table shows table columns"))
        .collect();
    for row in rows {
        let cells: Vec<Cell<'_>> = shown.iter().map(|c| (c.value)(row)).collect();
        let texts: Vec<Cow<'_, str>> = cells.iter().map(text_of).collect();
        let texts: Vec<&str> = texts.iter().map(|t| &**t).collect();
        write_table_row(w, &texts, &widths)?;
    }
    Ok(())
}

/// A cell in the text table: times as UTC dates, lists joined.
fn text_of<'c>(cell: &'c Cell<'_>) -> Cow<'c, str> {
    match cell {
        Cell::Epoch(t) => Cow::Owned(format_time(&t.to_string())),
        Cell::EpochText(t) => Cow::Owned(format_time(t)),
        other => other.plain(),
    }
}

/// Writes one line of a text table: each column cut to its width and
/// padded, two spaces between, no trailing blanks.
pub fn write_table_row<W: Write>(w: &mut W, cols: &[&str], widths: &[usize]) -> io::Result<()> {
    let mut line = String::new();
    for (i, (c, wd)) in cols.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        let c: String = c.chars().take(*wd).collect();
        line.push_str(&format!("{c:<wd$}", wd = *wd));
    }
    writeln!(w, "{}", line.trim_end())
}

/// The alerts as CSV (the `csv` crate's quoting; lists joined, no `__mv_`).
fn alerts_csv(alerts: &[Alert]) -> Result<Vec<u8>> {
    let columns: Vec<&Column<Alert>> = ALERT_COLUMNS.iter().filter(|c| c.csv).collect();
    let csv_err = |source| Error::CsvBody {
        context: "writing the alerts".into(),
        source,
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns.iter().map(|c| c.name))
        .map_err(csv_err)?;
    for a in alerts {
        let cells: Vec<Cell<'_>> = columns.iter().map(|c| (c.value)(a)).collect();
        let texts: Vec<Cow<'_, str>> = cells.iter().map(Cell::plain).collect();
        w.write_record(texts.iter().map(|t| t.as_bytes()))
            .map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| Error::io("writing the report", e.into_error()))
}

/// One JSON object: `"kind"`, then the JSON columns of `row`.
fn json_line<T>(kind: &str, columns: &[Column<T>], row: &T) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    object.insert("kind".into(), kind.into());
    for c in columns.iter().filter(|c| c.json) {
        object.insert(c.name.into(), json_of((c.value)(row)));
    }
    serde_json::Value::Object(object)
}

fn json_of(cell: Cell<'_>) -> serde_json::Value {
    match cell {
        Cell::Text(s) => s.into_owned().into(),
        Cell::Int(n) => n.into(),
        Cell::Epoch(t) => t.into(),
        Cell::EpochText(s) => s.into(),
        Cell::List(values, _) => values.into_iter().map(Cow::into_owned).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text tables show columns their tables have.
    #[test]
    fn text_tables_name_table_columns() {
        for (_, _, name) in ALERT_TEXT {
            assert!(column(ALERT_COLUMNS, name).is_some(), "{name}");
        }
        for (_, _, name) in HOP_TEXT {
            assert!(column(HOP_COLUMNS, name).is_some(), "{name}");
        }
    }

    fn alert() -> Alert {
        Alert {
            file: "a.csv".into(),
            time: "1600636151.000000".into(),
            host: "WKS01".into(),
            alert_type: "WinRM_PSRemoting|WinRM_DirectTool".into(),
            risk_score: 45,
            side: "source".into(),
            target: "a,b".into(),
            message: "say \"hi\"".into(),
            ..Alert::default()
        }
    }

    #[test]
    fn an_alert_in_every_form() {
        let mut text = Vec::new();
        print_alerts(&mut text, &[alert()], 3).unwrap();
        let text = String::from_utf8(text).unwrap();
        let row = text.lines().nth(1).unwrap();
        assert!(row.starts_with("2020-09-20 21:09:11  WKS01 "), "{row}");
        assert!(text.contains("\n1 of 3 events labelled\n       1  WinRM_PSRemoting\n"));

        let csv = String::from_utf8(alerts_csv(&[alert()]).unwrap()).unwrap();
        assert_eq!(
            csv,
            "file,_time,host,AlertType,risk_score,lm_side,target_host,risk_message\n\
             a.csv,1600636151.000000,WKS01,WinRM_PSRemoting|WinRM_DirectTool,45,source,\"a,b\",\"say \"\"hi\"\"\"\n"
        );

        // Key order is the table's (serde_json keeps it: `preserve_order`);
        // the differential test holds the bytes.
        let json = json_line("alert", ALERT_COLUMNS, &alert());
        let want = serde_json::json!({
            "kind": "alert", "file": "a.csv", "_time": "1600636151.000000", "host": "WKS01",
            "AlertType": ["WinRM_PSRemoting", "WinRM_DirectTool"], "risk_score": 45,
            "lm_side": "source", "target_host": "a,b", "risk_message": "say \"hi\"",
        });
        assert_eq!(json, want);
    }

    #[test]
    fn table_rows_are_cut_to_width_and_trimmed() {
        let mut out = Vec::new();
        write_table_row(&mut out, &["abcdef", "x", ""], &[3, 2, 4]).unwrap();
        assert_eq!(out, b"abc  x\n");
    }
}
