//! One chunk body in, one chunk body out.
//!
//! The input is splunkd's CSV (header line, LF or CRLF rows, RFC 4180
//! quoting, `__mv_` companions). Rows are parsed with one reused
//! [`Row`] of spans; each row's **original bytes** are copied to the output
//! and the detection columns are appended, so every input field reaches
//! splunkd byte for byte (invalid UTF-8, `_chunked_idx`, multivalues and
//! all). Only when the input already has a column we write (for example a
//! second `| winrmdetect`) is that row re-serialised without the old value.
//! The output header is the input header plus every column we add, so no
//! field is lost whatever the first row carries.
//!
//! # One row loop, many sinks
//!
//! [`push_rows`] reads a body and pushes every row, with its event view and
//! detection, to a [`RowSink`]: the loop drives and the sink decides what a
//! row becomes (ripgrep's `Sink`, the push model). The sinks:
//!
//! * [`ReplyCsv`] (`reply.rs`): the reply body of the search command, behind
//!   [`MapFilter`] in the map phase (`phase=map`);
//! * the evidence of correlation, [`collect_evidence`] into
//!   [`EvidenceRows`] (`correlation.rs`, with the hop replies);
//! * `scan`'s alert collector (`cli/scan.rs`), which reads the detections
//!   themselves rather than the reply CSV.
//!
//! [`Columns`] (`columns.rs`) is the reply's column plan.

mod cim;
mod columns;
mod correlation;
mod reply;

use std::ops::Range;

use crate::csvio::read::{ends_in_open_quote, Row, Rows};
use crate::detect::{Detection, Engine};
use crate::event::{RowEvent, Schema};

pub use cim::{cim_values, CIM_FIELDS};
pub use columns::Columns;
pub use correlation::{
    annotated_events_body, collect_evidence, hops_body, unlinked_events_body, EvidenceRows,
    HOP_COLUMNS, HOP_EVENT_FIELDS,
};
pub use reply::{lm_side, MapFilter, ReplyCsv};

/// The fields the command adds, in output order.
/// The last [`cim::CIM_FIELDS`].len() are the CIM fields, which carry the
/// input's own value through where a detection has none.
pub const OUTPUT_FIELDS: [&str; 19] = concat(
    [
        "AlertType",
        "alert_description",
        "mitre_technique_id",
        "lm_side",
        "target_host",
        "risk_score",
        "risk_message",
        "risk_object",
        "risk_object_type",
        "threat_object",
        "threat_object_type",
    ],
    cim::CIM_FIELDS,
);

/// Where the CIM fields start in [`OUTPUT_FIELDS`].
pub const CIM_START: usize = OUTPUT_FIELDS.len() - cim::CIM_FIELDS.len();

/// `a` then `b`, as one array of `N` (= both lengths; checked when built).
const fn concat<const A: usize, const B: usize, const N: usize>(
    a: [&'static str; A],
    b: [&'static str; B],
) -> [&'static str; N] {
    assert!(A + B == N, "N is the sum of the lengths");
    let mut out = [""; N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

/// What to do with each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// Run detection (false: pass rows through untouched).
    pub detect: bool,
    /// Drop rows without an AlertType scoring at least `min_score`.
    pub alerts_only: bool,
    /// Threshold for `alerts_only`.
    pub min_score: u32,
    /// Correlation map phase: keep only the rows correlation needs, unchanged.
    pub evidence_only: bool,
}

impl Default for Mode {
    fn default() -> Self {
        Mode {
            detect: true,
            alerts_only: false,
            min_score: 1,
            evidence_only: false,
        }
    }
}

impl Mode {
    /// Whether `alerts_only` drops a row with this detection.
    pub fn drops(&self, detection: Option<&Detection>) -> bool {
        self.alerts_only && detection.is_none_or(|d| d.risk_score < self.min_score)
    }

    /// How far the row loop looks into each row in this mode: detection
    /// needs the event view, and so does the map phase's filter.
    pub fn look(self, engine: &Engine) -> Look<'_> {
        if self.detect {
            Look::Detect(engine)
        } else if self.evidence_only {
            Look::Event
        } else {
            Look::Bytes
        }
    }
}

/// The outcome of one chunk.
#[derive(Debug, Default)]
pub struct ChunkOutput {
    /// The reply body (empty when the request had no rows), except the long
    /// rows of the request, which are not copied: see `splices`.
    pub body: Vec<u8>,
    /// Input rows of at least [`SPLICE_MIN`] bytes that go into the reply
    /// unchanged: `(at, from, to)` puts `input[from..to]` at `body[at]`, in
    /// order. Writing them from the request keeps a chunk with a 100 MB
    /// field from costing another 100 MB.
    pub splices: Vec<(usize, usize, usize)>,
    /// Non-fatal problems, for `inspector.messages`.
    pub warnings: Vec<String>,
    /// Rows read.
    pub rows_in: usize,
    /// Rows written.
    pub rows_out: usize,
    /// Rows whose fields came from their XML `_raw`.
    pub rows_from_raw: usize,
}

/// Input rows this long or longer are spliced into the reply, not copied.
pub const SPLICE_MIN: usize = 64 << 10;

impl ChunkOutput {
    /// The reply body in pieces, in order: `body` with the spliced rows of
    /// `input` (the request body it was made from) between them.
    pub fn parts<'s>(&'s self, input: &'s [u8]) -> Vec<&'s [u8]> {
        let mut parts = Vec::with_capacity(2 * self.splices.len() + 1);
        let mut at = 0;
        for &(to, from, end) in &self.splices {
            parts.push(&self.body[at..to]);
            parts.push(&input[from..end]);
            at = to;
        }
        parts.push(&self.body[at..]);
        parts
    }

    /// The whole reply body, spliced rows included.
    pub fn bytes(&self, input: &[u8]) -> Vec<u8> {
        self.parts(input).concat()
    }
}

/// Processes one chunk body.
pub fn process_body(body: &[u8], engine: &Engine, mode: Mode) -> ChunkOutput {
    process_body_into(body, engine, mode, Vec::new())
}

/// Processes one chunk body, building the reply in `buf` (cleared first) so
/// a caller can hand back the previous reply's allocation.
pub fn process_body_into(body: &[u8], engine: &Engine, mode: Mode, buf: Vec<u8>) -> ChunkOutput {
    let mut reply = ReplyCsv::new(body, mode, buf);
    let look = mode.look(engine);
    let pass = if mode.evidence_only {
        push_rows(body, look, &mut MapFilter(&mut reply))
    } else {
        push_rows(body, look, &mut reply)
    };
    reply.finish(pass)
}

/// How far the row loop looks into each row before pushing it.
#[derive(Debug, Clone, Copy)]
pub enum Look<'e> {
    /// The row's fields and bytes only.
    Bytes,
    /// Its event view too (its `_raw` XML parsed at most once).
    Event,
    /// Its event view and detection by this engine.
    Detect(&'e Engine),
}

/// One row, as the loop pushes it.
pub struct Line<'p> {
    /// Its fields.
    pub row: &'p Row<'p>,
    /// Where its bytes stand in the body, line end excluded.
    pub span: Range<usize>,
    /// Its event view, unless the loop looks at [`Look::Bytes`] only.
    pub event: Option<&'p RowEvent<'p>>,
    /// Its detection, when a rule matched.
    pub detection: Option<&'p Detection>,
}

/// What the row loop pushes rows to (ripgrep's `Sink`): the loop reads,
/// views and detects; the sink decides what each row becomes.
pub trait RowSink {
    /// The chunk's header, before its first row.
    fn header(&mut self, names: &Row<'_>);

    /// One row, in body order. Returning false stops the loop.
    fn row(&mut self, line: &Line<'_>) -> bool;
}

/// Where a pass over a body stopped.
#[derive(Debug, Default)]
pub enum End {
    /// The body has no header line.
    #[default]
    Empty,
    /// Every row was read.
    Done,
    /// The header could not be read; no row was pushed.
    BadHeader(csv::Error),
    /// The row starting at byte `at` could not be read; the rows before it
    /// were pushed.
    BadRow {
        /// Where the unreadable row starts.
        at: usize,
        /// What the reader said.
        error: csv::Error,
    },
    /// The sink stopped the loop.
    Stopped,
}

/// What one pass of the row loop met.
#[derive(Debug, Default)]
pub struct Pass {
    /// Where it stopped.
    pub end: End,
    /// Rows read (and pushed).
    pub rows: usize,
    /// Rows whose fields came from their XML `_raw`.
    pub rows_from_raw: usize,
    /// Where the last row read starts (the body's length before any).
    pub last_row: usize,
    /// Whether the reader left its fast path.
    pub slow: bool,
    /// Rows with more fields than the header.
    pub long_rows: usize,
    /// The most fields beyond the header's of any row.
    pub extra_width: usize,
}

/// The row loop: reads `body`'s header and rows and pushes each row, with
/// what `look` asks for, to `sink`. Parse errors end the pass and are in
/// [`Pass::end`] for the caller to word.
pub fn push_rows<S: RowSink + ?Sized>(body: &[u8], look: Look<'_>, sink: &mut S) -> Pass {
    let mut rdr = Rows::new(body);
    let mut pass = Pass {
        last_row: body.len(),
        ..Pass::default()
    };
    let mut header = Row::default();
    if !pass.read(&mut rdr, &mut header, 0) {
        return pass;
    }
    pass.end = End::Done;
    sink.header(&header);
    let schema = Schema::new(header.iter());
    let mut row = Row::default();
    let mut det = Detection::default();
    loop {
        let start = rdr.position();
        if !pass.read(&mut rdr, &mut row, start) {
            break;
        }
        pass.saw(start, row.len(), header.len());
        let end = rdr.position();
        let event = match look {
            Look::Bytes => None,
            Look::Event | Look::Detect(_) => Some(RowEvent::new(&schema, &row)),
        };
        pass.rows_from_raw += usize::from(event.as_ref().is_some_and(RowEvent::from_raw_xml));
        let detection = match (look, &event) {
            (Look::Detect(engine), Some(ev)) => engine.detect_into(ev, &mut det).then_some(&det),
            _ => None,
        };
        let line = Line {
            row: &row,
            span: trim_terminator(body, start.min(end), end),
            event: event.as_ref(),
            detection,
        };
        if !sink.row(&line) {
            pass.end = End::Stopped;
            break;
        }
    }
    pass.slow = rdr.is_slow();
    pass
}

impl Pass {
    /// Reads the next record into `row` (`at`: where it starts); false at
    /// the end or on an error, which goes into `end`.
    fn read<'a>(&mut self, rdr: &mut Rows<'a>, row: &mut Row<'a>, at: usize) -> bool {
        match rdr.read_row(row) {
            Ok(more) => more,
            Err(error) => {
                self.end = match self.end {
                    End::Empty => End::BadHeader(error),
                    _ => End::BadRow { at, error },
                };
                false
            }
        }
    }

    /// Counts a row read at `start` with `fields` fields.
    fn saw(&mut self, start: usize, fields: usize, width: usize) {
        self.rows += 1;
        self.last_row = start;
        if fields > width {
            self.long_rows += 1;
            self.extra_width = self.extra_width.max(fields - width);
        }
    }

    /// The warnings of a chunk whose rows went on (to the reply, or to
    /// `scan`'s table): a bad header or row, a quote never closed, rows
    /// wider than the header.
    pub fn warnings(&self, body: &[u8]) -> Vec<String> {
        let mut warnings = Vec::new();
        match &self.end {
            End::BadHeader(e) => {
                return vec![format!(
                    "could not read the CSV header ({e}); chunk passed through unchanged"
                )]
            }
            End::BadRow { error, .. } => warnings.push(format!(
                "CSV error after {} rows ({error}); the rest of the chunk was passed through unchanged",
                self.rows
            )),
            End::Empty | End::Done | End::Stopped => {}
        }
        if self.slow && ends_in_open_quote(&body[self.last_row.min(body.len())..]) {
            warnings.push(format!(
                "row {} opens a quote that is never closed: the rest of the chunk ({} bytes) was read as one field and passed through unchanged",
                self.rows,
                body.len() - self.last_row
            ));
        }
        if self.long_rows > 0 {
            warnings.push(format!(
                "{} rows had more fields than the header; the extra values were kept in columns named winrmdetect_extra_1..{}",
                self.long_rows, self.extra_width
            ));
        }
        warnings
    }
}

/// A record's bytes `body[from..to]` without line ends around them (with
/// CRLF rows the reader counts the LF of the previous line as the start of
/// the next record), as a range of `body`.
fn trim_terminator(body: &[u8], mut from: usize, mut to: usize) -> Range<usize> {
    while from < to && matches!(body[from], b'\r' | b'\n') {
        from += 1;
    }
    if from < to && body[to - 1] == b'\n' {
        to -= 1;
    }
    if from < to && body[to - 1] == b'\r' {
        to -= 1;
    }
    from..to
}

#[cfg(test)]
fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &str, mode: Mode) -> ChunkOutput {
        process_body(body.as_bytes(), &Engine::default(), mode)
    }

    /// Line ends around a record's bytes go; an empty range stays empty
    /// whatever surrounds it.
    #[test]
    fn trim_terminator_cuts_line_ends_only() {
        let body = b"\na,b\r\n\nc";
        // Leading line ends, then one trailing LF and one CR before it.
        assert_eq!(trim_terminator(body, 0, 6), 1..4);
        assert_eq!(trim_terminator(body, 1, 7), 1..6);
        assert_eq!(trim_terminator(body, 5, 8), 7..8);
        for at in 0..body.len() {
            assert_eq!(trim_terminator(body, at, at), at..at, "at {at}");
        }
    }

    /// Long rows are spliced from the request, not copied, in every path:
    /// passthrough, detection, the widened-header rebuild, and the rest of
    /// a chunk after a CSV error.
    #[test]
    fn long_rows_are_spliced_and_read_back_the_same() {
        let long = "x".repeat(SPLICE_MIN + 10);
        let body = format!("a,b\n1,{long}\n2,short\n3,\"{long}\"\n");
        let pass = Mode {
            detect: false,
            ..Mode::default()
        };
        let out = run(&body, pass);
        assert_eq!(out.splices.len(), 2);
        assert!(out.body.len() < 100);
        assert_eq!(out.bytes(body.as_bytes()), body.as_bytes());

        let out = run(&body, Mode::default());
        assert_eq!(out.splices.len(), 2);
        let t = parse(&out.bytes(body.as_bytes()));
        assert_eq!(t.len(), 4);
        assert_eq!((t[1][0].as_str(), t[1][1].as_str()), ("1", long.as_str()));
        assert_eq!((t[2][0].as_str(), t[2][1].as_str()), ("2", "short"));
        assert_eq!(t[3][1], long);
        assert!(t.iter().all(|r| r.len() == t[0].len()));

        // A row wider than the header: rebuilt with the long rows in place.
        let wide = format!("{body}4,y,extra\n");
        let out = run(&wide, Mode::default());
        assert!(out.splices.is_empty());
        let t = parse(&out.body);
        assert_eq!(t[0][2], "winrmdetect_extra_1");
        assert_eq!((t[1][1].as_str(), t[1][2].as_str()), (long.as_str(), ""));
        assert_eq!(t[3][1], long);
        assert_eq!((t[4][1].as_str(), t[4][2].as_str()), ("y", "extra"));
        assert!(t.iter().all(|r| r.len() == t[0].len()));

        // A quote never closed: the rest of the chunk, long, is one field
        // and goes through as it came.
        let broken = format!("a,b\n1,2\n3,\"{long}");
        let out = run(&broken, pass);
        assert_eq!(out.splices.len(), 1);
        assert_eq!(
            out.bytes(broken.as_bytes()),
            format!("{broken}\n").as_bytes()
        );
    }

    fn parse(body: &[u8]) -> Vec<Vec<String>> {
        reader(body)
            .byte_records()
            .map(|r| {
                r.unwrap()
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect()
            })
            .collect()
    }

    const HIT: &str = "source,EventCode,Computer,ParentImage,Image\n\
        XmlWinEventLog:Microsoft-Windows-Sysmon/Operational,1,SRV02,C:\\Windows\\System32\\wsmprovhost.exe,C:\\Windows\\System32\\whoami.exe\n\
        XmlWinEventLog:Microsoft-Windows-Sysmon/Operational,1,SRV02,C:\\Windows\\explorer.exe,\"C:\\Program Files\\a,b.exe\"\n";

    #[test]
    fn rows_pass_through_byte_for_byte_with_columns_appended() {
        let out = run(HIT, Mode::default());
        let text = String::from_utf8(out.body.clone()).unwrap();
        for row in HIT.lines().skip(1) {
            assert!(
                text.contains(&format!("\n{row},")),
                "row copied verbatim: {row}"
            );
        }
        let t = parse(&out.body);
        assert!(t.iter().all(|r| r.len() == t[0].len()), "constant width");
        let col = |n: &str| t[0].iter().position(|h| h == n).unwrap();
        assert_eq!(t[1][col("AlertType")], "WinRM_RemoteExec_Child");
        assert_eq!(t[1][col("risk_score")], "45");
        assert_eq!(t[2][col("AlertType")], "");
        assert_eq!(t[2][col("Image")], "C:\\Program Files\\a,b.exe");
        assert_eq!((out.rows_in, out.rows_out), (2, 2));
    }

    #[test]
    fn alerts_only_drops_quiet_rows() {
        let out = run(
            HIT,
            Mode {
                alerts_only: true,
                ..Mode::default()
            },
        );
        assert_eq!((out.rows_in, out.rows_out), (2, 1));
    }

    #[test]
    fn detect_false_is_a_pure_passthrough() {
        let input = b"a,b\r\n1,\"x\r\ny\"\r\n\xff,3\n";
        let out = process_body(
            input,
            &Engine::default(),
            Mode {
                detect: false,
                ..Mode::default()
            },
        );
        assert_eq!(out.body, b"a,b\n1,\"x\r\ny\"\n\xff,3\n");
    }

    #[test]
    fn multivalue_output_is_encoded() {
        let body = "source,EventCode,Computer,Image,CommandLine\n\
            XmlWinEventLog:Microsoft-Windows-Sysmon/Operational,1,WKS01,C:\\w\\powershell.exe,\"powershell Invoke-Command -cn a,b {winrm x}\"\n";
        let t = parse(&run(body, Mode::default()).body);
        let col = |n: &str| t[0].iter().position(|h| h == n).unwrap();
        assert_eq!(t[1][col("AlertType")], "WinRM_PSRemoting\nWinRM_DirectTool");
        assert_eq!(
            t[1][col("__mv_AlertType")],
            "$WinRM_PSRemoting$;$WinRM_DirectTool$"
        );
        assert_eq!(t[1][col("__mv_target_host")], "$a$;$b$");
        assert_eq!(t[1][col("__mv_risk_score")], "");
    }

    #[test]
    fn existing_output_columns_are_replaced_not_duplicated() {
        let body = "EventCode,risk_score,__mv_risk_score,source,ParentImage,Image\n\
            1,99,,XmlWinEventLog:Microsoft-Windows-Sysmon/Operational,C:\\wsmprovhost.exe,C:\\whoami.exe\n";
        let t = parse(&run(body, Mode::default()).body);
        assert_eq!(t[0].iter().filter(|h| *h == "risk_score").count(), 1);
        let col = |n: &str| t[0].iter().position(|h| h == n).unwrap();
        assert_eq!(t[1][col("risk_score")], "45");
        assert_eq!(t[1][col("EventCode")], "1");
    }

    #[test]
    fn ragged_rows_keep_every_value() {
        let body = "a,b,c\n1\n1,2,3,4,5\n";
        let out = run(body, Mode::default());
        let t = parse(&out.body);
        assert!(t.iter().all(|r| r.len() == t[0].len()));
        assert_eq!(
            &t[0][..5],
            ["a", "b", "c", "winrmdetect_extra_1", "winrmdetect_extra_2"]
        );
        assert_eq!(&t[1][..5], ["1", "", "", "", ""]);
        assert_eq!(&t[2][..5], ["1", "2", "3", "4", "5"]);
        assert_eq!(out.warnings.len(), 1);
    }

    #[test]
    fn header_only_and_empty_bodies_reply_empty() {
        assert!(run("", Mode::default()).body.is_empty());
        assert!(run("a,b,\"__mv_a\"\n", Mode::default()).body.is_empty());
    }
}
