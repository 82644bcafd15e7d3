//! The offline reports of `scan` and `hunt`: labelled events (alerts) and
//! hops.
//!
//! `hunt`'s report (issue 15) is a [`Report`], written four ways:
//! [`write_table`] for people (fits [`WIDTH`] columns unless
//! [`View::wide`], colour per [`colour_wanted`]), [`write_hop_evidence`]
//! for one hop's events, [`write_json`] as JSON lines and [`write_csv_dir`]
//! as three CSV files. The JSON and CSV keys are one schema, documented in
//! `docs/hunt-output.md` (a test holds the two together); hop keys follow
//! [`HOP_COLUMNS`], the correlation reply's hop table, which lives in
//! [`crate::chunk`].
//!
//! The older writers stay for `scan` ([`print_alerts`], [`print_hops`])
//! and, until it moves to the functions above, `hunt` ([`write`]): each
//! from ONE column table ([`ALERT_COLUMNS`], [`HOP_COLUMNS`]) that drives
//! their text table, CSV and JSON lines, the text showing some columns cut
//! to a width ([`ALERT_TEXT`], [`HOP_TEXT`]).

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;

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
    /// The alerts that passed the filters, in input order (every writer
    /// shows them in time order: [`by_time`]).
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

// ---------------------------------------------------------------------
// `hunt`'s report (issue 15): the terminal table, a hop's evidence, JSON
// lines and the CSV directory.
// ---------------------------------------------------------------------

/// The width the default terminal table fits in, in characters.
pub const WIDTH: usize = 120;

/// A risk score from which an alert or hop is painted red.
pub const HIGH_RISK: u32 = 80;

/// A risk score from which an alert or hop is painted yellow.
pub const MEDIUM_RISK: u32 = 50;

/// The version of the JSON lines' and CSV files' schema
/// (`docs/hunt-output.md`), the summary's `schema` key.
pub const SCHEMA: u32 = 1;

/// The alerts' file in a CSV directory.
pub const ALERTS_CSV: &str = "alerts.csv";
/// The hops' file in a CSV directory.
pub const HOPS_CSV: &str = "hops.csv";
/// The chains' file in a CSV directory.
pub const CHAINS_CSV: &str = "chains.csv";

/// How the terminal report ([`write_table`]) looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct View {
    /// `--wide`: every field, uncut, as one block per alert (group) and per
    /// hop (a title line, then `key  value` lines under the JSON keys)
    /// instead of the tables that fit [`WIDTH`].
    pub wide: bool,
    /// ANSI colour: risk scores red from [`HIGH_RISK`], yellow from
    /// [`MEDIUM_RISK`], headers bold. See [`colour_wanted`].
    pub colour: bool,
}

/// Whether the terminal report should be in colour: only on a terminal
/// (`is_tty`, say `stdout().is_terminal()`), and not when `NO_COLOR` is set
/// to a non-empty value (<https://no-color.org>).
pub fn colour_wanted(is_tty: bool) -> bool {
    colour_allowed(is_tty, std::env::var_os("NO_COLOR").as_deref())
}

/// [`colour_wanted`] with `NO_COLOR`'s value given.
fn colour_allowed(is_tty: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_tty && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

/// Epoch seconds as ISO 8601 UTC with milliseconds,
/// `2020-09-20T21:09:11.123Z`; `None` past chrono's calendar.
pub fn iso_time(epoch: f64) -> Option<String> {
    let t = chrono::DateTime::from_timestamp_millis((epoch * 1000.0).round() as i64)?;
    Some(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// Epoch seconds as `YYYY-MM-DD HH:MM:SS` UTC, for the terminal; `None`
/// past chrono's calendar.
fn table_time(epoch: f64) -> Option<String> {
    let t = chrono::DateTime::from_timestamp(epoch.floor() as i64, 0)?;
    Some(t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// An alert's time for the terminal: its epoch as a UTC date, else its
/// `_time` as given.
fn alert_time(a: &Alert) -> String {
    a.epoch
        .and_then(table_time)
        .unwrap_or_else(|| clean(&a.time).into_owned())
}

/// Text fit for one terminal line: line breaks and tabs become spaces;
/// other control characters (an escape sequence an event carried) and
/// bidirectional overrides become U+FFFD, so a value can neither break the
/// table nor drive the terminal.
fn clean(s: &str) -> Cow<'_, str> {
    let bad =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let fixed = s.chars().map(|c| match c {
        '\n' | '\r' | '\t' => ' ',
        c if bad(c) => '\u{fffd}',
        c => c,
    });
    Cow::Owned(fixed.collect())
}

/// `s` in at most `width` characters: a longer one is cut and ends with
/// `…`, so a cut is never silent.
fn cut(s: &str, width: usize) -> Cow<'_, str> {
    if s.chars().count() <= width {
        return Cow::Borrowed(s);
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        out.push('…');
    }
    Cow::Owned(out)
}

/// `n` and the noun, singular or plural.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// How a piece of terminal text is painted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paint {
    Plain,
    Bold,
    Red,
    Yellow,
}

impl Paint {
    /// The paint of a risk score.
    fn of_risk(score: u32) -> Paint {
        match score {
            s if s >= HIGH_RISK => Paint::Red,
            s if s >= MEDIUM_RISK => Paint::Yellow,
            _ => Paint::Plain,
        }
    }

    /// `text` painted (when `colour`): the SGR code, the text, a reset.
    fn apply(self, text: &str, colour: bool) -> Cow<'_, str> {
        let code = match self {
            Paint::Plain => return Cow::Borrowed(text),
            Paint::Bold => "1",
            Paint::Red => "31",
            Paint::Yellow => "33",
        };
        if !colour || text.is_empty() {
            return Cow::Borrowed(text);
        }
        Cow::Owned(format!("\x1b[{code}m{text}\x1b[0m"))
    }
}

/// A risk score, painted by [`Paint::of_risk`] when `colour`.
fn painted_risk(score: u32, colour: bool) -> String {
    Paint::of_risk(score)
        .apply(&score.to_string(), colour)
        .into_owned()
}

/// One cell of a terminal table: clean text and its paint.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    text: String,
    paint: Paint,
}

impl Shown {
    /// Unpainted text, cleaned ([`clean`]).
    fn new(text: &str) -> Shown {
        Shown::painted(text, Paint::Plain)
    }

    /// Painted text, cleaned.
    fn painted(text: &str, paint: Paint) -> Shown {
        Shown {
            text: clean(text).into_owned(),
            paint,
        }
    }
}

/// A column of a terminal table.
struct TextCol {
    header: &'static str,
    /// The widest it gets in the default layout (a flexible column: none).
    cap: usize,
    /// Numbers: right-aligned.
    right: bool,
    /// Takes what the others leave of [`WIDTH`] (one per table).
    flex: bool,
}

impl TextCol {
    const fn left(header: &'static str, cap: usize) -> TextCol {
        TextCol {
            header,
            cap,
            right: false,
            flex: false,
        }
    }

    const fn right(header: &'static str, cap: usize) -> TextCol {
        TextCol {
            right: true,
            ..TextCol::left(header, cap)
        }
    }

    const fn flex(header: &'static str) -> TextCol {
        TextCol {
            flex: true,
            ..TextCol::left(header, WIDTH)
        }
    }
}

/// Two spaces between columns.
const GAP: usize = 2;

/// The default alert table: time, count, host, user, AlertType, risk,
/// target, and the command line (else the process) in what is left.
const ALERT_TABLE: [TextCol; 8] = [
    TextCol::left("time (UTC)", 19),
    TextCol::right("n", 5),
    TextCol::left("host", 16),
    TextCol::left("user", 12),
    TextCol::left("AlertType", 20),
    TextCol::right("risk", 4),
    TextCol::left("target", 14),
    TextCol::flex("command line"),
];

/// The default hop table.
const HOP_TABLE: [TextCol; 8] = [
    TextCol::left("hop", 8),
    TextCol::left("first seen (UTC)", 19),
    TextCol::left("src → dest", 30),
    TextCol::left("technique", 13),
    TextCol::left("outcome", 7),
    TextCol::flex("user"),
    TextCol::right("conf", 4),
    TextCol::right("risk", 4),
];

/// A hop's evidence events (`--hop ID`), uncut.
const EVIDENCE_TABLE: [TextCol; 8] = [
    TextCol::left("time (UTC)", WIDTH),
    TextCol::left("role", WIDTH),
    TextCol::left("host", WIDTH),
    TextCol::right("EventID", WIDTH),
    TextCol::right("record", WIDTH),
    TextCol::left("AlertType", WIDTH),
    TextCol::left("file", WIDTH),
    TextCol::left("what", WIDTH),
];

/// The column widths: each as wide as its widest cell or header; unless
/// `wide`, at most its cap, and the flexible one at most what the others
/// leave of [`WIDTH`].
fn widths(cols: &[TextCol], rows: &[Vec<Shown>], wide: bool) -> Vec<usize> {
    let natural = cols.iter().enumerate().map(|(i, c)| {
        let cells = rows.iter().map(|r| r[i].text.chars().count());
        cells.chain([c.header.chars().count()]).max().unwrap_or(0)
    });
    if wide {
        return natural.collect();
    }
    let mut out: Vec<usize> = natural.zip(cols).map(|(n, c)| n.min(c.cap)).collect();
    if let Some(f) = cols.iter().position(|c| c.flex) {
        let others: usize = out.iter().sum::<usize>() - out[f] + GAP * (cols.len() - 1);
        out[f] = out[f].min(WIDTH.saturating_sub(others));
    }
    out
}

/// Writes a table: the bold header, then the rows.
fn write_grid<W: Write>(
    w: &mut W,
    cols: &[TextCol],
    rows: &[Vec<Shown>],
    view: &View,
) -> io::Result<()> {
    let widths = widths(cols, rows, view.wide);
    let header: Vec<Shown> = cols
        .iter()
        .map(|c| Shown::painted(c.header, Paint::Bold))
        .collect();
    write_line(w, cols, &header, &widths, view.colour)?;
    for r in rows {
        write_line(w, cols, r, &widths, view.colour)?;
    }
    Ok(())
}

/// Writes one table line: each cell cut ([`cut`]) and padded to its width,
/// [`GAP`] between, no trailing blanks.
fn write_line<W: Write>(
    w: &mut W,
    cols: &[TextCol],
    cells: &[Shown],
    widths: &[usize],
    colour: bool,
) -> io::Result<()> {
    let mut line = String::new();
    for (i, ((col, cell), &width)) in cols.iter().zip(cells).zip(widths).enumerate() {
        if i > 0 {
            line.push_str(&" ".repeat(GAP));
        }
        let text = cut(&cell.text, width);
        let pad = " ".repeat(width - text.chars().count());
        let text = cell.paint.apply(&text, colour);
        if col.right {
            line.push_str(&pad);
            line.push_str(&text);
        } else {
            line.push_str(&text);
            line.push_str(&pad);
        }
    }
    writeln!(w, "{}", line.trim_end())
}

/// Alerts in time order: by epoch, those without one last, ties (and the
/// timeless) in the order given.
pub fn by_time(alerts: &[Alert]) -> Vec<&Alert> {
    let mut out: Vec<&Alert> = alerts.iter().collect();
    out.sort_by(|a, b| match (a.epoch, b.epoch) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    out
}

/// What makes two alerts alike: everything but their time, record id and
/// file.
#[derive(PartialEq, Eq, Hash)]
struct Likeness<'a> {
    text: [&'a str; 13],
    risk_score: u32,
}

impl<'a> Likeness<'a> {
    fn of(a: &'a Alert) -> Self {
        Likeness {
            text: [
                &a.host,
                &a.user,
                &a.alert_type,
                &a.rule_id,
                &a.side,
                &a.target,
                &a.process,
                &a.parent_process,
                &a.command_line,
                &a.event_code,
                &a.description,
                &a.mitre,
                &a.message,
            ],
            risk_score: a.risk_score,
        }
    }
}

/// Alerts alike ([`Likeness`]): the first in time order, and the others.
struct Group<'a> {
    first: &'a Alert,
    rest: Vec<&'a Alert>,
}

/// `alerts` (in time order) grouped, in the order of each group's first.
fn groups<'a>(alerts: &[&'a Alert]) -> Vec<Group<'a>> {
    let mut at: std::collections::HashMap<Likeness<'a>, usize> = Default::default();
    let mut out: Vec<Group<'a>> = Vec::new();
    for &a in alerts {
        match at.entry(Likeness::of(a)) {
            std::collections::hash_map::Entry::Occupied(e) => out[*e.get()].rest.push(a),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(Group {
                    first: a,
                    rest: Vec::new(),
                });
            }
        }
    }
    out
}

/// A group's row of the default alert table.
fn alert_row(g: &Group<'_>) -> Vec<Shown> {
    let a = g.first;
    let command = if a.command_line.is_empty() {
        &a.process
    } else {
        &a.command_line
    };
    vec![
        Shown::new(&alert_time(a)),
        Shown::new(&(1 + g.rest.len()).to_string()),
        Shown::new(&a.host),
        Shown::new(&a.user),
        Shown::new(&a.alert_type),
        Shown::painted(&a.risk_score.to_string(), Paint::of_risk(a.risk_score)),
        Shown::new(&a.target),
        Shown::new(command),
    ]
}

/// A hop's row of the default hop table.
fn hop_row(h: &Hop) -> Vec<Shown> {
    let users: Vec<&str> = h
        .src_users
        .union(&h.dest_users)
        .map(String::as_str)
        .collect();
    let when = table_time(h.first_seen).unwrap_or_default();
    vec![
        Shown::new(&h.id),
        Shown::new(&when),
        Shown::new(&format!("{} → {}", h.src, h.dest)),
        Shown::new(h.technique.as_str()),
        Shown::new(h.outcome.as_str()),
        Shown::new(&users.join(",")),
        Shown::new(&h.confidence.to_string()),
        Shown::painted(&h.risk_score.to_string(), Paint::of_risk(h.risk_score)),
    ]
}

/// Writes `hunt`'s terminal report: the alerts (time order, alike ones as
/// one row with their count `n` and first time), one line per chain, the
/// hops, and the summary line.
///
/// By default every line fits [`WIDTH`] characters (cut values end with
/// `…`); `view.wide` shows every field uncut, a block per alert group and
/// per hop. Colour only when `view.colour`.
pub fn write_table<W: Write>(w: &mut W, report: &Report, view: &View) -> io::Result<()> {
    let sorted = by_time(&report.alerts);
    let groups = groups(&sorted);
    if groups.is_empty() {
        writeln!(w, "no alerts")?;
    } else if view.wide {
        groups
            .iter()
            .try_for_each(|g| write_alert_block(w, g, view))?;
    } else {
        let rows: Vec<Vec<Shown>> = groups.iter().map(alert_row).collect();
        write_grid(w, &ALERT_TABLE, &rows, view)?;
    }
    writeln!(w)?;
    let chains = chains(&report.hops);
    write_hops(w, report, &chains, view)?;
    writeln!(w)?;
    let summary = summary_parts(report, chains.len());
    join_to_fit(&summary, view.wide)
        .iter()
        .try_for_each(|line| writeln!(w, "{line}"))
}

/// `line` cut to [`WIDTH`] unless `wide`.
fn cut_unless(line: &str, wide: bool) -> Cow<'_, str> {
    if wide {
        Cow::Borrowed(line)
    } else {
        cut(line, WIDTH)
    }
}

/// The chain lines and the hop table (blocks when wide), or `no hops`.
fn write_hops<W: Write>(
    w: &mut W,
    report: &Report,
    chains: &[Chain<'_>],
    view: &View,
) -> io::Result<()> {
    if report.hops.is_empty() {
        return writeln!(w, "no hops");
    }
    for c in chains {
        writeln!(w, "{}", cut_unless(&chain_line(c), view.wide))?;
    }
    writeln!(w)?;
    let mut hops: Vec<&Hop> = report.hops.iter().collect();
    hops.sort_by(|a, b| a.first_seen.total_cmp(&b.first_seen));
    if view.wide {
        return hops.iter().try_for_each(|h| write_hop_block(w, h, view));
    }
    let rows: Vec<Vec<Shown>> = hops.into_iter().map(hop_row).collect();
    write_grid(w, &HOP_TABLE, &rows, view)
}

/// `chain-1  2024-05-14 09:12:03 – 09:40:10  it001 → hr001 → hfdc01
/// (PSRemoting, WMI)`: the chain, its start and end (UTC), its hosts and
/// its techniques in hop order.
fn chain_line(c: &Chain<'_>) -> String {
    let (first, last) = chain_span(c);
    let hosts: Vec<String> = c
        .hosts()
        .into_iter()
        .map(|h| clean(h).into_owned())
        .collect();
    let techniques: Vec<&str> = chain_techniques(c).iter().map(|t| t.as_str()).collect();
    format!(
        "{}  {}  {}  ({})",
        clean(c.id),
        span(first, last),
        hosts.join(" → "),
        techniques.join(", ")
    )
}

/// A chain's first and last evidence time.
fn chain_span(c: &Chain<'_>) -> (f64, f64) {
    let first = c.hops.first().map_or(0.0, |h| h.first_seen);
    let last = c.hops.iter().map(|h| h.last_seen).fold(first, f64::max);
    (first, last)
}

/// A chain's techniques, each once, in hop order.
fn chain_techniques(c: &Chain<'_>) -> Vec<crate::detect::Technique> {
    let mut out = Vec::new();
    for h in &c.hops {
        if !out.contains(&h.technique) {
            out.push(h.technique);
        }
    }
    out
}

/// `start – end` in UTC; the end's date left out when it is the start's.
fn span(first: f64, last: f64) -> String {
    let (Some(a), Some(b)) = (table_time(first), table_time(last)) else {
        return format!("{first} – {last}");
    };
    match (a.split_once(' '), b.split_once(' ')) {
        (Some((day_a, _)), Some((day_b, clock))) if day_a == day_b => format!("{a} – {clock}"),
        _ => format!("{a} – {b}"),
    }
}

/// The summary: files, events, alerts, hops, chains and (if any)
/// warnings, in `; `-separated parts.
fn summary_parts(report: &Report, chains: usize) -> Vec<String> {
    let s = &report.summary;
    let n = |n: usize| n as u64;
    let files = count(n(s.files_read), "file", "files");
    let events = count(s.events, "event", "events");
    let alerts = count(n(report.alerts.len()), "alert", "alerts");
    let hops = count(n(report.hops.len()), "hop", "hops");
    let mut parts = vec![
        format!(
            "{files} read, {} skipped, {} failed",
            s.files_skipped, s.files_failed
        ),
        format!("{events}, {} labelled, {alerts} after filters", s.labelled),
        format!("{hops}, {}", count(n(chains), "chain", "chains")),
    ];
    if !report.warnings.is_empty() {
        parts.push(count(n(report.warnings.len()), "warning", "warnings"));
    }
    parts
}

/// `parts` joined with `; ` in as few lines as fit [`WIDTH`] (one line
/// when `wide`), never cut.
fn join_to_fit(parts: &[String], wide: bool) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for p in parts {
        match lines.last_mut() {
            Some(l) if wide || l.chars().count() + 2 + p.chars().count() <= WIDTH => {
                l.push_str("; ");
                l.push_str(p);
            }
            _ => lines.push(p.clone()),
        }
    }
    lines
}

/// Writes `key  value` lines under a title line: a `--wide` block.
fn write_block<W: Write>(
    w: &mut W,
    title: &str,
    record: &Record,
    extra: &[String],
) -> io::Result<()> {
    writeln!(w, "{title}")?;
    let pad = record.keys().map(String::len).max().unwrap_or(0);
    for (key, value) in record {
        let value = match value {
            serde_json::Value::Array(items) => {
                let items: Vec<Cow<'_, str>> = items.iter().map(csv_text).collect();
                Cow::Owned(items.join(", "))
            }
            v => csv_text(v),
        };
        let value = if value.is_empty() { "-" } else { &value };
        writeln!(w, "  {key:<pad$}  {}", clean(value))?;
    }
    extra.iter().try_for_each(|line| writeln!(w, "  {line}"))?;
    writeln!(w)
}

/// An alert group as a `--wide` block: every field of its first, then
/// where and when the others were.
fn write_alert_block<W: Write>(w: &mut W, g: &Group<'_>, view: &View) -> io::Result<()> {
    let a = g.first;
    let risk = painted_risk(a.risk_score, view.colour);
    let mut title = format!(
        "{}  {}  {}  risk {risk}",
        alert_time(a),
        clean(&a.host),
        clean(&a.alert_type)
    );
    if !g.rest.is_empty() {
        title.push_str(&format!("  ({} alike)", 1 + g.rest.len()));
    }
    let others: Vec<String> = g
        .rest
        .iter()
        .map(|o| {
            let (file, record) = (clean(&o.file), clean(&o.record_id));
            format!("also  {}  {file}  record {record}", alert_time(o))
        })
        .collect();
    write_block(w, &title, &alert_record(a), &others)
}

/// A hop as a `--wide` block: every field of its JSON line.
fn write_hop_block<W: Write>(w: &mut W, h: &Hop, view: &View) -> io::Result<()> {
    let risk = painted_risk(h.risk_score, view.colour);
    let title = format!(
        "{}  {} → {}  {}  {}  risk {risk}",
        clean(&h.id),
        clean(&h.src),
        clean(&h.dest),
        h.technique.as_str(),
        h.outcome.as_str()
    );
    write_block(w, &title, &hop_record(h), &[])
}

/// Writes a hop's evidence (`hunt --hop ID`): a header (src → dest,
/// technique, outcome, times, users, reasons, scores) and each of its
/// evidence events on one line, in time order: time, role, host, EventID,
/// record id, AlertType, file, what. Uncut.
///
/// A hop id the report does not have is an [`Error::Argument`] naming it
/// and the ids there are.
pub fn write_hop_evidence<W: Write>(w: &mut W, report: &Report, hop_id: &str) -> Result<()> {
    let hop = find_hop(report, hop_id)?;
    let io = |e| Error::io("writing the hop's evidence", e);
    write_hop_header(w, hop).map_err(io)?;
    let rows = evidence_rows(report, hop);
    if rows.is_empty() {
        return writeln!(w, "no evidence events").map_err(io);
    }
    let view = View {
        wide: true,
        colour: false,
    };
    write_grid(w, &EVIDENCE_TABLE, &rows, &view).map_err(io)
}

/// The hop of `report` with id `id`.
fn find_hop<'r>(report: &'r Report, id: &str) -> Result<&'r Hop> {
    const LISTED: usize = 30;
    if let Some(h) = report.hops.iter().find(|h| h.id == id) {
        return Ok(h);
    }
    let ids: Vec<&str> = report.hops.iter().map(|h| h.id.as_str()).collect();
    let known = match ids.len() {
        0 => "there are no hops".to_string(),
        n if n > LISTED => format!("the hops are {}, … ({n} in all)", ids[..LISTED].join(", ")),
        _ => format!("the hops are {}", ids.join(", ")),
    };
    Err(Error::Argument(format!("no hop {id:?}: {known}")))
}

/// The lines above a hop's evidence events.
fn write_hop_header<W: Write>(w: &mut W, h: &Hop) -> io::Result<()> {
    let list = |set: &std::collections::BTreeSet<String>| match set.len() {
        0 => "-".to_string(),
        _ => clean(&set.iter().cloned().collect::<Vec<_>>().join(", ")).into_owned(),
    };
    let reasons: Vec<&str> = h.reasons.iter().map(|r| r.as_str()).collect();
    let evidence: Vec<&str> = h.evidence.iter().copied().collect();
    writeln!(
        w,
        "{}  {} → {}  {}  {}  ({} #{})",
        clean(&h.id),
        clean(&h.src),
        clean(&h.dest),
        h.technique.as_str(),
        h.outcome.as_str(),
        clean(&h.chain_id),
        h.hop_index
    )?;
    let events = count(h.events as u64, "event", "events");
    writeln!(
        w,
        "  time        {} (UTC), {events}",
        span(h.first_seen, h.last_seen)
    )?;
    writeln!(
        w,
        "  users       source {}; destination {}",
        list(&h.src_users),
        list(&h.dest_users)
    )?;
    writeln!(w, "  confidence  {} ({})", h.confidence, reasons.join(", "))?;
    writeln!(
        w,
        "  risk        {} (adds {})",
        h.risk_score,
        h.risk_added()
    )?;
    writeln!(w, "  evidence    {}", evidence.join(", "))?;
    writeln!(w)
}

/// The rows of a hop's evidence events: its members found in
/// `report.evidence` by seq, in time order (then seq); a member the report
/// does not hold is one row that says so.
fn evidence_rows(report: &Report, hop: &Hop) -> Vec<Vec<Shown>> {
    let by_seq: std::collections::HashMap<usize, &EvidenceEvent> =
        report.evidence.iter().map(|e| (e.seq, e)).collect();
    let mut members: Vec<(Option<f64>, usize, crate::detect::Side)> = hop
        .members
        .iter()
        .map(|&(seq, role)| (by_seq.get(&seq).and_then(|e| e.epoch), seq, role))
        .collect();
    members.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => x.total_cmp(&y).then(a.1.cmp(&b.1)),
        (x, y) => y.is_some().cmp(&x.is_some()).then(a.1.cmp(&b.1)),
    });
    let row = |(_, seq, role): (Option<f64>, usize, crate::detect::Side)| match by_seq.get(&seq) {
        Some(e) => evidence_row(e, role),
        None => {
            // Only its role is known; `what` says why the rest is not.
            let mut r = vec![Shown::new("-"); EVIDENCE_TABLE.len()];
            r[1] = Shown::new(role.as_str());
            r[7] = Shown::new(&format!("event #{seq} is not in the report"));
            r
        }
    };
    members.into_iter().map(row).collect()
}

/// One evidence event's row.
fn evidence_row(e: &EvidenceEvent, role: crate::detect::Side) -> Vec<Shown> {
    let time = e.epoch.and_then(table_time).unwrap_or_else(|| "-".into());
    let alert_type = if e.alert_type.is_empty() {
        "(corroborating)"
    } else {
        &e.alert_type
    };
    vec![
        Shown::new(&time),
        Shown::new(role.as_str()),
        Shown::new(&e.host),
        Shown::new(&e.event_code),
        Shown::new(&e.record_id),
        Shown::new(alert_type),
        Shown::new(&e.file),
        Shown::new(&e.what),
    ]
}

/// One object of the machine formats, in key order (without `kind`).
type Record = serde_json::Map<String, serde_json::Value>;

/// Puts a time under `key` (ISO 8601, null when it has none) and its epoch
/// seconds under `epoch_key` (a number, or null).
fn put_time(r: &mut Record, key: &str, epoch_key: &str, epoch: Option<f64>) {
    r.insert(key.into(), epoch.and_then(iso_time).into());
    r.insert(epoch_key.into(), epoch.into());
}

/// A `sep`-joined list as an array; empty text is no value.
fn array(joined: &str, sep: char) -> serde_json::Value {
    let items = joined.split(sep).map(str::trim).filter(|v| !v.is_empty());
    items.map(serde_json::Value::from).collect()
}

/// An alert's keys (docs/hunt-output.md).
fn alert_record(a: &Alert) -> Record {
    use serde_json::Value;
    let mut r = Record::new();
    put_time(&mut r, "time", "epoch", a.epoch);
    let text = |s: &String| Value::from(s.as_str());
    let fields = [
        ("host", text(&a.host)),
        ("user", text(&a.user)),
        ("alert_type", array(&a.alert_type, '|')),
        ("rule_id", array(&a.rule_id, '|')),
        ("risk_score", a.risk_score.into()),
        ("lm_side", text(&a.side)),
        ("target_host", array(&a.target, ',')),
        ("process_name", text(&a.process)),
        ("parent_process_name", text(&a.parent_process)),
        ("process", text(&a.command_line)),
        ("event_code", text(&a.event_code)),
        ("record_id", text(&a.record_id)),
        ("file", text(&a.file)),
        ("description", text(&a.description)),
        ("mitre_technique_id", array(&a.mitre, '|')),
        ("risk_message", text(&a.message)),
    ];
    r.extend(fields.into_iter().map(|(k, v)| (k.to_string(), v)));
    r
}

/// A hop's keys: `time`/`epoch` (its first evidence), then the JSON
/// columns of [`HOP_COLUMNS`], each time as ISO 8601 and `<name>_epoch`.
fn hop_record(h: &Hop) -> Record {
    let mut r = Record::new();
    put_time(&mut r, "time", "epoch", Some(h.first_seen));
    for c in HOP_COLUMNS.iter().filter(|c| c.json) {
        match (c.value)(h) {
            Cell::Epoch(t) => put_time(&mut r, c.name, &format!("{}_epoch", c.name), Some(t)),
            Cell::EpochText(t) => {
                let epoch = crate::correlate::parse_time(t);
                put_time(&mut r, c.name, &format!("{}_epoch", c.name), epoch);
            }
            cell => {
                r.insert(c.name.into(), json_of(cell));
            }
        }
    }
    r
}

/// A chain's keys.
fn chain_record(c: &Chain<'_>) -> Record {
    use serde_json::Value;
    let (first, last) = chain_span(c);
    let mut r = Record::new();
    put_time(&mut r, "time", "epoch", Some(first));
    r.insert("chain_id".into(), c.id.into());
    r.insert(
        "hosts".into(),
        c.hosts().into_iter().map(Value::from).collect(),
    );
    let hops = c.hops.iter().map(|h| Value::from(h.id.as_str()));
    r.insert("hops".into(), hops.collect());
    put_time(&mut r, "first_seen", "first_seen_epoch", Some(first));
    put_time(&mut r, "last_seen", "last_seen_epoch", Some(last));
    let techniques = chain_techniques(c)
        .into_iter()
        .map(|t| Value::from(t.as_str()));
    r.insert("techniques".into(), techniques.collect());
    r
}

/// The summary's keys.
fn summary_record(report: &Report, chains: usize) -> Record {
    let s = &report.summary;
    let fields: [(&str, serde_json::Value); 10] = [
        ("schema", SCHEMA.into()),
        ("files_read", s.files_read.into()),
        ("files_skipped", s.files_skipped.into()),
        ("files_failed", s.files_failed.into()),
        ("events", s.events.into()),
        ("labelled", s.labelled.into()),
        ("alerts", report.alerts.len().into()),
        ("hops", report.hops.len().into()),
        ("chains", chains.into()),
        ("warnings", report.warnings.len().into()),
    ];
    fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// `{"kind": kind, ...record}`.
fn tagged(kind: &str, record: Record) -> serde_json::Value {
    let mut object = Record::new();
    object.insert("kind".into(), kind.into());
    object.extend(record);
    serde_json::Value::Object(object)
}

/// Writes the report as JSON lines (schema in `docs/hunt-output.md`): one
/// object per line, its `kind` first: every `alert` (time order), `hop`,
/// `chain`, `warning`, then one `summary` (with `schema`, [`SCHEMA`]).
/// Times are ISO 8601 UTC strings, each with its epoch seconds as a number.
pub fn write_json<W: Write>(w: &mut W, report: &Report) -> Result<()> {
    let chains = chains(&report.hops);
    let alerts = by_time(&report.alerts)
        .into_iter()
        .map(|a| tagged("alert", alert_record(a)));
    let hops = report.hops.iter().map(|h| tagged("hop", hop_record(h)));
    let chain_lines = chains.iter().map(|c| tagged("chain", chain_record(c)));
    let warnings = report.warnings.iter().map(|m| {
        let mut r = Record::new();
        r.insert("message".into(), m.as_str().into());
        tagged("warning", r)
    });
    let summary = tagged("summary", summary_record(report, chains.len()));
    let lines = alerts
        .chain(hops)
        .chain(chain_lines)
        .chain(warnings)
        .chain(std::iter::once(summary));
    for line in lines {
        writeln!(w, "{line}").map_err(|e| Error::io("writing the JSON lines", e))?;
    }
    Ok(())
}

/// A value as one CSV field: lists `|`-joined, null empty.
fn csv_text(v: &serde_json::Value) -> Cow<'_, str> {
    use serde_json::Value;
    match v {
        Value::Null => Cow::Borrowed(""),
        Value::String(s) => Cow::Borrowed(s),
        Value::Array(items) => {
            let items: Vec<Cow<'_, str>> = items.iter().map(csv_text).collect();
            Cow::Owned(items.join("|"))
        }
        other => Cow::Owned(other.to_string()),
    }
}

/// Writes the report as CSV files in `dir` (created if need be):
/// [`ALERTS_CSV`] (time order), [`HOPS_CSV`] and [`CHAINS_CSV`], each one
/// header and one row per alert, hop or chain, under the JSON lines' keys
/// (`docs/hunt-output.md`; no `kind`, lists `|`-joined, no `__mv_`
/// columns). An error names the directory or file.
pub fn write_csv_dir(dir: &Path, report: &Report) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::File {
        context: format!("creating {}", dir.display()),
        source,
    })?;
    // The headers are the keys of an empty alert, hop and chain: the rows
    // have the same keys, whatever their values.
    let blank_hop = Hop::new(
        "",
        "",
        crate::detect::Technique::WinRm,
        0.0,
        crate::detect::Outcome::Success,
    );
    let blank_chain = Chain {
        id: "",
        hops: vec![&blank_hop],
    };
    let alerts = by_time(&report.alerts).into_iter().map(alert_record);
    write_csv_file(
        &dir.join(ALERTS_CSV),
        &alert_record(&Alert::default()),
        alerts,
    )?;
    let hops = report.hops.iter().map(hop_record);
    write_csv_file(&dir.join(HOPS_CSV), &hop_record(&blank_hop), hops)?;
    let chains = chains(&report.hops);
    let chain_rows = chains.iter().map(chain_record);
    write_csv_file(
        &dir.join(CHAINS_CSV),
        &chain_record(&blank_chain),
        chain_rows,
    )
}

/// Writes one CSV file: the keys of `header`, then the rows' values.
fn write_csv_file(path: &Path, header: &Record, rows: impl Iterator<Item = Record>) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|source| Error::File {
        context: format!("writing {}", path.display()),
        source,
    })?;
    write_csv(
        io::BufWriter::new(file),
        &path.display().to_string(),
        header,
        rows,
    )
}

/// Writes the keys of `header`, then the rows' values, as CSV to `w`
/// (`name`: what errors call it).
fn write_csv<W: Write>(
    w: W,
    name: &str,
    header: &Record,
    rows: impl Iterator<Item = Record>,
) -> Result<()> {
    let fail = |source| Error::File {
        context: format!("writing {name}"),
        source,
    };
    let csv_fail = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(source) => fail(source),
        other => fail(io::Error::other(format!("{other:?}"))),
    };
    let mut w = csv::Writer::from_writer(w);
    w.write_record(header.keys()).map_err(csv_fail)?;
    for r in rows {
        debug_assert!(r.keys().eq(header.keys()), "{name}: a row's keys");
        let fields: Vec<Cow<'_, str>> = r.values().map(csv_text).collect();
        w.write_record(fields.iter().map(|f| f.as_bytes()))
            .map_err(csv_fail)?;
    }
    w.flush().map_err(fail)
}

/// Writes the alerts (time order) as CSV to `w`, as [`ALERTS_CSV`] holds
/// them (`hunt --format csv`).
pub fn write_alerts_csv<W: Write>(w: W, report: &Report) -> Result<()> {
    let alerts = by_time(&report.alerts).into_iter().map(alert_record);
    write_csv(w, "the alerts", &alert_record(&Alert::default()), alerts)
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

    // ---- hunt's report (issue 15) ----

    use crate::correlate::Reason;
    use crate::detect::{Outcome, Side, Technique};

    /// An alert on `host` at `epoch` from `file`, record `record`.
    fn alert_at(host: &str, epoch: Option<f64>, file: &str, record: &str) -> Alert {
        Alert {
            file: file.into(),
            time: epoch.map_or("sometime".into(), |e| format!("{e:.3}")),
            epoch,
            host: host.into(),
            user: "alice".into(),
            alert_type: "WinRM_PSRemoting|WinRM_DirectTool".into(),
            rule_id: "psremoting_client|direct_tool".into(),
            risk_score: 45,
            side: "source".into(),
            target: "hr001,172.18.39.5".into(),
            process: "powershell.exe".into(),
            parent_process: "explorer.exe".into(),
            command_line: "powershell -c Enter-PSSession hr001".into(),
            event_code: "4104".into(),
            record_id: record.into(),
            description: "PowerShell remoting client | a direct tool".into(),
            mitre: "T1021.006".into(),
            message: "say \"hi\", then go".into(),
        }
    }

    /// A hop `id` of `chain` (position `index`) with users, reasons,
    /// evidence and members.
    fn hop(id: &str, chain: &str, index: usize, ends: (&str, &str), t: f64) -> Hop {
        let mut h = Hop::new(ends.0, ends.1, Technique::PsRemoting, t, Outcome::Success);
        h.id = id.into();
        h.chain_id = chain.into();
        h.hop_index = index;
        h.last_seen = t + 30.0;
        h.src_users.insert("alice".into());
        h.dest_users.insert("alice".into());
        h.reasons = [Reason::SourceExecution, Reason::Time]
            .into_iter()
            .collect();
        h.evidence.insert("WinRM_PSRemoting");
        h.confidence = 80;
        h.risk_score = 85;
        h.events = 2;
        h.members = vec![(0, Side::Source), (1, Side::Destination)];
        h
    }

    /// Two alerts (one timeless), a chain of two hops (the second by WMI)
    /// and a lone failed one, evidence, a warning and counts.
    fn report() -> Report {
        let mut second = hop("hop-2", "chain-1", 2, ("hr001", "hfdc01"), 1_600_000_100.0);
        second.technique = Technique::Wmi;
        let mut lone = hop("hop-3", "chain-2", 1, ("ws7", "ws8"), 1_600_000_200.0);
        lone.outcome = Outcome::Failed;
        let evidence = |seq, host: &str, epoch, what: &str| EvidenceEvent {
            seq,
            file: "a.evtx".into(),
            epoch: Some(epoch),
            host: host.into(),
            event_code: "4104".into(),
            record_id: format!("{}", 100 + seq),
            alert_type: if seq == 1 {
                String::new()
            } else {
                "WinRM_PSRemoting".into()
            },
            what: what.into(),
        };
        Report {
            alerts: vec![
                alert_at("it001", None, "b.csv", "7"),
                alert_at("it001", Some(1_600_000_000.123), "a.evtx", "1"),
            ],
            hops: vec![
                hop("hop-1", "chain-1", 1, ("it001", "hr001"), 1_600_000_000.0),
                second,
                lone,
            ],
            evidence: vec![
                evidence(1, "hr001", 1_600_000_001.0, "logon from 10.0.0.5 as alice"),
                evidence(
                    0,
                    "it001",
                    1_600_000_000.5,
                    "powershell\nEnter-PSSession hr001",
                ),
            ],
            warnings: vec!["x.csv: a bad row".into()],
            summary: Summary {
                files_read: 2,
                files_skipped: 1,
                files_failed: 0,
                events: 1000,
                labelled: 5,
            },
        }
    }

    /// `line` without SGR sequences, counted in characters.
    fn visible(line: &str) -> usize {
        let mut n = 0;
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                chars.by_ref().find(|&c| c == 'm');
            } else {
                n += 1;
            }
        }
        n
    }

    fn table(report: &Report, view: View) -> String {
        let mut out = Vec::new();
        write_table(&mut out, report, &view).unwrap();
        String::from_utf8(out).unwrap()
    }

    const PLAIN: View = View {
        wide: false,
        colour: false,
    };

    /// Long values (a 300-character command line, long host and user
    /// names, long lists) keep every line within 120 columns, in colour
    /// too, and what was cut ends with `…`.
    #[test]
    fn the_default_table_fits_120_columns_and_marks_cuts() {
        let mut r = report();
        let long = |s: &str| s.repeat(20);
        for a in &mut r.alerts {
            a.host = long("host.");
            a.user = long("user");
            a.alert_type = long("WinRM_PSRemoting|");
            a.target = long("172.18.39.5,");
            a.command_line = "x".repeat(300);
        }
        r.hops[0].src = long("src.");
        r.hops[0].dest = long("dest.");
        r.hops[0].dest_users.insert(long("bob"));
        r.summary.events = 4_000_000_000;
        r.summary.labelled = 3_000_000;
        r.summary.files_read = 100_000;
        for view in [
            PLAIN,
            View {
                wide: false,
                colour: true,
            },
        ] {
            let text = table(&r, view);
            for line in text.lines() {
                assert!(visible(line) <= WIDTH, "{} columns: {line}", visible(line));
            }
            let row = text.lines().nth(1).unwrap();
            assert_eq!(visible(row), WIDTH, "{row}");
            assert!(row.ends_with(&format!("  {}…", "x".repeat(19))), "{row}");
            assert!(text.contains("  host.host.host.…  "), "{text}");
            // The summary is not cut: it goes on on a second line.
            assert!(
                text.ends_with("2 alerts after filters; 3 hops, 2 chains\n1 warning\n"),
                "{text}"
            );
        }
        // Whatever the values, the capped columns leave the flexible one
        // room for its header.
        for table in [&ALERT_TABLE, &HOP_TABLE] {
            let fixed = table.iter().filter(|c| !c.flex).map(|c| c.cap);
            let flex = table.iter().find(|c| c.flex).unwrap().header.len();
            assert!(fixed.sum::<usize>() + GAP * (table.len() - 1) + flex <= WIDTH);
        }
    }

    /// `--wide` cuts nothing: the whole command line, every field.
    #[test]
    fn wide_shows_every_field_uncut() {
        let mut r = report();
        r.alerts[1].command_line = "y".repeat(300);
        let text = table(
            &r,
            View {
                wide: true,
                colour: false,
            },
        );
        assert!(text.contains(&"y".repeat(300)));
        assert!(!text.contains('…'), "{text}");
        for key in [
            "parent_process_name",
            "record_id",
            "mitre_technique_id",
            "lm_confidence_reasons",
        ] {
            assert!(text.contains(&format!("  {key} ")), "{key}: {text}");
        }
    }

    /// A cut is marked: `172.18.39.5` in 9 columns is `172.18.3…`.
    #[test]
    fn a_cut_value_ends_with_an_ellipsis() {
        assert_eq!(cut("172.18.39.5", 9), "172.18.3…");
        assert_eq!(cut("172.18.39.5", 11), "172.18.39.5");
        assert_eq!(cut("äöü", 2), "ä…");
        let cols = [TextCol::left("ip", 9), TextCol::left("x", 1)];
        let mut out = Vec::new();
        let cells = [Shown::new("172.18.39.5"), Shown::new("z")];
        write_line(&mut out, &cols, &cells, &[9, 1], false).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "172.18.3…  z\n");
    }

    /// A newline or an escape in a value stays on its line, harmless.
    #[test]
    fn control_characters_are_cleaned() {
        assert_eq!(clean("a\nb\tc"), "a b c");
        assert_eq!(clean("\x1b[2Jx\u{202e}"), "\u{fffd}[2Jx\u{fffd}");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
    }

    /// Alerts come in time order across files, the timeless last, ties in
    /// the order given.
    #[test]
    fn alerts_are_sorted_by_time_across_files() {
        let alerts = vec![
            alert_at("late", Some(30.0), "a.csv", "1"),
            alert_at("timeless", None, "a.csv", "2"),
            alert_at("early", Some(10.0), "b.csv", "1"),
            alert_at("tie", Some(30.0), "c.csv", "1"),
        ];
        let hosts: Vec<&str> = by_time(&alerts).iter().map(|a| a.host.as_str()).collect();
        assert_eq!(hosts, ["early", "late", "tie", "timeless"]);
        let r = Report {
            alerts,
            ..Report::default()
        };
        let text = table(&r, PLAIN);
        let rows: Vec<&str> = text.lines().skip(1).take(4).collect();
        assert!(
            rows[0].starts_with("1970-01-01 00:00:10  1  early"),
            "{text}"
        );
        assert!(rows[3].starts_with("sometime"), "{text}");
    }

    /// Three alerts alike (other times, records, files) and one that
    /// differs: two rows, the first with count 3 and the first time.
    #[test]
    fn alike_alerts_are_one_row_with_a_count() {
        let mut alerts: Vec<Alert> = (0..3)
            .map(|i| {
                alert_at(
                    "it001",
                    Some(100.0 - f64::from(i)),
                    &format!("{i}.csv"),
                    &i.to_string(),
                )
            })
            .collect();
        let mut other = alert_at("it001", Some(50.0), "x.csv", "9");
        other.risk_score = 90;
        alerts.push(other);
        let sorted = by_time(&alerts);
        let g = groups(&sorted);
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].first.risk_score, g[0].rest.len()), (90, 0));
        assert_eq!((g[1].first.epoch, g[1].rest.len()), (Some(98.0), 2));
        let text = table(
            &Report {
                alerts,
                ..Report::default()
            },
            PLAIN,
        );
        let rows: Vec<&str> = text.lines().skip(1).take_while(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), 2, "{text}");
        assert!(
            rows[1].starts_with("1970-01-01 00:01:38  3  it001"),
            "{text}"
        );
    }

    /// Colour only on a terminal and without a non-empty `NO_COLOR`; codes
    /// only when the view asks for colour.
    #[test]
    fn colour_follows_the_terminal_and_no_color() {
        use std::ffi::OsStr;
        assert!(colour_allowed(true, None));
        assert!(colour_allowed(true, Some(OsStr::new(""))));
        assert!(!colour_allowed(true, Some(OsStr::new("1"))));
        assert!(!colour_allowed(false, None));
        assert!(!table(&report(), PLAIN).contains('\x1b'));
        let coloured = table(
            &report(),
            View {
                wide: false,
                colour: true,
            },
        );
        assert!(coloured.contains("\x1b[31m85\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[1mtime (UTC)\x1b[0m"), "{coloured}");
        assert_eq!(Paint::of_risk(50), Paint::Yellow);
        assert_eq!(Paint::of_risk(49), Paint::Plain);
    }

    /// The chain lines, the hop table and the summary line.
    #[test]
    fn chains_hops_and_the_summary_line() {
        let text = table(&report(), PLAIN);
        assert!(
            text.contains("\nchain-1  2020-09-13 12:26:40 – 12:28:50  it001 → hr001 → hfdc01  (PSRemoting, WMI)\n"),
            "{text}"
        );
        assert!(
            text.contains("\nchain-2  2020-09-13 12:30:00 – 12:30:30  ws7 → ws8  (PSRemoting)\n")
        );
        let hop3 = text.lines().find(|l| l.starts_with("hop-3")).unwrap();
        assert_eq!(
            hop3,
            "hop-3  2020-09-13 12:30:00  ws7 → ws8       PSRemoting  failed   alice    80    85"
        );
        assert!(text.ends_with(
            "\n2 files read, 1 skipped, 0 failed; 1000 events, 5 labelled, 2 alerts after filters; \
             3 hops, 2 chains; 1 warning\n"
        ));
    }

    /// An empty report says there is nothing.
    #[test]
    fn no_alerts_and_no_hops_are_said() {
        let text = table(&Report::default(), PLAIN);
        assert!(
            text.starts_with("no alerts\n\nno hops\n\n0 files read"),
            "{text}"
        );
    }

    fn evidence_of(r: &Report, id: &str) -> Result<String> {
        let mut out = Vec::new();
        write_hop_evidence(&mut out, r, id)?;
        Ok(String::from_utf8(out).unwrap())
    }

    /// `--hop ID`: the hop's header and its evidence events in time order;
    /// a member the report lacks says so.
    #[test]
    fn a_hop_lists_its_evidence_events() {
        let mut r = report();
        r.hops[1].members.push((7, Side::Destination));
        let text = evidence_of(&r, "hop-1").unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "hop-1  it001 → hr001  PSRemoting  success  (chain-1 #1)"
        );
        assert!(text.contains("\n  users       source alice; destination alice\n"));
        assert!(text.contains("\n  confidence  80 (source_execution, time)\n"));
        let events: Vec<&str> = lines
            .iter()
            .skip_while(|l| !l.starts_with("time"))
            .copied()
            .collect();
        assert_eq!(events.len(), 3, "{text}");
        assert!(
            events[1].starts_with("2020-09-13 12:26:40  source       it001"),
            "{text}"
        );
        assert!(events[1].ends_with("WinRM_PSRemoting  a.evtx  powershell Enter-PSSession hr001"));
        assert!(events[2].contains("destination  hr001"), "{text}");
        assert!(events[2].contains("(corroborating)"), "{text}");
        let text = evidence_of(&r, "hop-2").unwrap();
        assert!(text.contains("event #7 is not in the report"), "{text}");
    }

    /// An unknown hop id is an argument error naming it and the known ids.
    #[test]
    fn an_unknown_hop_names_the_known_ones() {
        let e = evidence_of(&report(), "hop-9").unwrap_err();
        assert!(matches!(e, Error::Argument(_)));
        assert_eq!(
            e.to_string(),
            "no hop \"hop-9\": the hops are hop-1, hop-2, hop-3"
        );
        let e = evidence_of(&Report::default(), "hop-1").unwrap_err();
        assert_eq!(e.to_string(), "no hop \"hop-1\": there are no hops");
    }

    fn json_lines(r: &Report) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        write_json(&mut out, r).unwrap();
        let text = String::from_utf8(out).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).expect(l))
            .collect()
    }

    /// ISO 8601 UTC with milliseconds.
    fn is_iso(s: &str) -> bool {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b[i].is_ascii_digit());
        b.len() == 24
            && digits(0..4)
            && digits(5..7)
            && digits(8..10)
            && digits(11..13)
            && digits(14..16)
            && digits(17..19)
            && digits(20..23)
            && [b[4], b[7], b[10], b[13], b[16], b[19], b[23]] == *b"--T::.Z"
    }

    /// Every line parses, has one kind, in the order alert, hop, chain,
    /// warning, summary; times are ISO 8601 and epochs numbers.
    #[test]
    fn json_lines_have_one_kind_and_typed_times() {
        let lines = json_lines(&report());
        let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["alert", "alert", "hop", "hop", "hop", "chain", "chain", "warning", "summary"]
        );
        assert_eq!(lines[0]["time"], "2020-09-13T12:26:40.123Z");
        assert_eq!(lines[0]["epoch"], 1_600_000_000.123);
        assert_eq!(
            lines[0]["target_host"],
            serde_json::json!(["hr001", "172.18.39.5"])
        );
        assert_eq!(lines[1]["time"], serde_json::Value::Null);
        assert_eq!(lines[1]["epoch"], serde_json::Value::Null);
        for line in &lines {
            for (key, value) in line.as_object().unwrap() {
                if key == "epoch" || key.ends_with("_epoch") {
                    assert!(
                        value.is_number() || line["kind"] == "alert",
                        "{key}: {line}"
                    );
                }
                if key == "time" || key.ends_with("_seen") {
                    assert!(
                        value.as_str().is_some_and(is_iso) || value.is_null(),
                        "{key}: {line}"
                    );
                }
            }
        }
        assert_eq!(lines[2]["first_seen"], "2020-09-13T12:26:40.000Z");
        assert_eq!(lines[6]["hosts"], serde_json::json!(["ws7", "ws8"]));
        assert_eq!(lines[7]["message"], "x.csv: a bad row");
        assert_eq!(
            (&lines[8]["schema"], &lines[8]["chains"]),
            (&SCHEMA.into(), &2.into())
        );
    }

    /// The keys of each kind's lines of a report that has every kind.
    fn emitted_keys() -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for line in json_lines(&report()) {
            let kind = line["kind"].as_str().unwrap().to_string();
            let keys: Vec<String> = line.as_object().unwrap().keys().cloned().collect();
            if !out.iter().any(|(k, _)| *k == kind) {
                out.push((kind, keys));
            }
        }
        out
    }

    /// docs/hunt-output.md: per `## kind …` section, the keys its table
    /// lists (`| \`key\` | …`) and its example line.
    fn documented() -> Vec<(String, Vec<String>, serde_json::Value)> {
        const DOC: &str = include_str!("../../docs/hunt-output.md");
        let mut out: Vec<(String, Vec<String>, serde_json::Value)> = Vec::new();
        // The section of a kind; other `##` sections are not.
        let mut current = None;
        for line in DOC.lines() {
            if let Some(heading) = line.strip_prefix("## ") {
                current = heading
                    .strip_prefix('`')
                    .and_then(|h| h.split('`').next())
                    .map(|kind| {
                        out.push((kind.to_string(), Vec::new(), serde_json::Value::Null));
                        out.len() - 1
                    });
            } else if let (Some(key), Some(i)) = (line.strip_prefix("| `"), current) {
                out[i].1.push(key.split('`').next().unwrap().to_string());
            } else if let (true, Some(i)) = (line.starts_with("{\"kind\""), current) {
                out[i].2 = serde_json::from_str(line).expect(line);
            }
        }
        out
    }

    /// Every key each kind emits is documented, in that order, nothing
    /// documented is not emitted, and each example line has those keys.
    #[test]
    fn the_json_schema_is_documented() {
        let doc = documented();
        let emitted = emitted_keys();
        let kinds = |v: Vec<&String>| v.into_iter().cloned().collect::<Vec<String>>();
        assert_eq!(
            kinds(doc.iter().map(|d| &d.0).collect()),
            kinds(emitted.iter().map(|e| &e.0).collect())
        );
        for ((kind, keys), (_, documented, example)) in emitted.iter().zip(&doc) {
            assert_eq!(keys, documented, "the {kind} keys");
            let example: Vec<&String> = example.as_object().expect(kind).keys().collect();
            assert_eq!(
                example,
                keys.iter().collect::<Vec<_>>(),
                "the {kind} example"
            );
        }
    }

    /// A fresh directory under the system's temporary one.
    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("winrmdetect-report-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
        let mut r = csv::Reader::from_path(path).unwrap();
        let header = r.headers().unwrap().iter().map(String::from).collect();
        let rows = r
            .records()
            .map(|row| row.unwrap().iter().map(String::from).collect());
        (header, rows.collect())
    }

    /// Three files, each one header (the JSON keys without `kind`) and its
    /// rows; quoting survives commas, quotes and newlines; lists are
    /// `|`-joined; no `__mv_`.
    #[test]
    fn the_csv_directory_has_three_tables() {
        let dir = temp_dir("csv").join("deeper");
        let mut r = report();
        r.alerts[0].command_line = "a,b \"c\"\nd".into();
        write_csv_dir(&dir, &r).unwrap();
        let keys = emitted_keys();
        for (file, kind, rows) in [
            (ALERTS_CSV, "alert", 2),
            (HOPS_CSV, "hop", 3),
            (CHAINS_CSV, "chain", 2),
        ] {
            let (header, body) = read_csv(&dir.join(file));
            let (_, want) = keys.iter().find(|(k, _)| k == kind).unwrap();
            assert_eq!(header, want[1..], "{file}");
            assert_eq!(body.len(), rows, "{file}");
            assert!(body.iter().all(|row| row.len() == header.len()));
            assert!(!header.iter().any(|h| h.starts_with("__mv_")));
        }
        let (header, alerts) = read_csv(&dir.join(ALERTS_CSV));
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert_eq!(alerts[0][at("time")], "2020-09-13T12:26:40.123Z");
        assert_eq!(alerts[1][at("process")], "a,b \"c\"\nd");
        assert_eq!(
            alerts[1][at("alert_type")],
            "WinRM_PSRemoting|WinRM_DirectTool"
        );
        assert_eq!(alerts[1][at("risk_message")], "say \"hi\", then go");
        let (header, chains) = read_csv(&dir.join(CHAINS_CSV));
        assert_eq!(
            chains[0][header.iter().position(|h| h == "hosts").unwrap()],
            "it001|hr001|hfdc01"
        );
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    /// What cannot be written is an error naming the directory or file.
    #[test]
    fn csv_errors_name_the_file() {
        let dir = temp_dir("errors");
        std::fs::create_dir_all(dir.join(ALERTS_CSV)).unwrap();
        let e = write_csv_dir(&dir, &report()).unwrap_err();
        assert!(matches!(e, Error::File { .. }), "{e}");
        assert!(
            e.to_string()
                .contains(&dir.join(ALERTS_CSV).display().to_string()),
            "{e}"
        );
        let not_a_dir = dir.join("file");
        std::fs::write(&not_a_dir, "x").unwrap();
        let e = write_csv_dir(&not_a_dir, &report()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("creating {}", not_a_dir.display())),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        let full = Path::new("/dev/full");
        if full.exists() {
            let e = write_csv_file(full, &Record::new(), std::iter::empty()).unwrap_err();
            assert!(e.to_string().starts_with("writing /dev/full: "), "{e}");
        }
    }
}
