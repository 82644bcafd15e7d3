//! One chunk body in, one chunk body out.
//!
//! The input is splunkd's CSV (header line, LF or CRLF rows, RFC 4180
//! quoting, `__mv_` companions). Rows are parsed with one reused
//! `csv::ByteRecord`; each row's **original bytes** are copied to the output
//! and the detection columns are appended, so every input field reaches
//! splunkd byte for byte (invalid UTF-8, `_chunked_idx`, multivalues and
//! all). Only when the input already has a column we write (for example a
//! second `| winrmdetect`) is that row re-serialised without the old value.
//! The output header is the input header plus every column we add, so no
//! field is lost whatever the first row carries.

use std::io::Write;

use crate::csvio::read::{ends_in_open_quote, Row, Rows};
use crate::detect::{Detection, Engine};
use crate::event::{RowEvent, Schema};

/// The fields the command adds, in output order.
pub const OUTPUT_FIELDS: [&str; 11] = [
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
];

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
pub fn process_body_into(
    body: &[u8],
    engine: &Engine,
    mode: Mode,
    mut buf: Vec<u8>,
) -> ChunkOutput {
    buf.clear();
    let mut out = ChunkOutput::default();
    if body.is_empty() {
        return out;
    }
    let mut rdr = Rows::new(body);
    let mut header = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut header) {
        Ok(true) => {}
        Ok(false) => return out,
        Err(e) => {
            out.warnings.push(format!(
                "could not read the CSV header ({e}); chunk passed through unchanged"
            ));
            out.body = body.to_vec();
            return out;
        }
    }
    let names: Vec<&[u8]> = header.iter().collect();
    let ours = |n: &[u8]| {
        let base = n.strip_prefix(b"__mv_").unwrap_or(n);
        OUTPUT_FIELDS.iter().any(|f| f.as_bytes() == base)
    };
    // Columns of the input we replace (only when detecting).
    // Columns we add, and replace if present (not in the map phase, which
    // only filters).
    let adds_columns = mode.detect && !mode.evidence_only;
    let replaced: Vec<bool> = names.iter().map(|n| adds_columns && ours(n)).collect();
    let any_replaced = replaced.iter().any(|&r| r);
    let width = names.len();
    let schema = Schema::new(names.iter().copied());

    // The reply is built in place: header line first (assuming no row is
    // wider than the header, the common case), rows after it.
    let mut rows = buf;
    let want = body.len() + body.len() / 4;
    if rows.capacity() < want {
        // Dropped, not grown: growing would copy (and keep resident) the
        // old capacity while the new one fills. Room to spare for the next
        // chunk costs nothing until written.
        rows = Vec::with_capacity(want + (want / 2).min(64 << 20));
    }
    header_line(&mut rows, &names, &replaced, 0, adds_columns);
    let header_len = rows.len();
    // Per written row: where its input part ends in `rows`, and how many
    // input fields it holds (to pad rows when some row was longer than the
    // header).
    let mut marks: Vec<(usize, usize)> = Vec::new();
    let base_fields = width - replaced.iter().filter(|&&r| r).count();
    let mut record = Row::default();
    let mut last_row = body.len();
    let mut splices = Vec::new();
    // Copies input bytes into the reply, or splices them when long.
    let copy = |rows: &mut Vec<u8>, splices: &mut Vec<_>, from: usize, to: usize| {
        if to - from >= SPLICE_MIN {
            splices.push((rows.len(), from, to));
        } else {
            rows.extend_from_slice(&body[from..to]);
        }
    };
    let mut det = Detection::default();
    let mut extra_width = 0usize;
    let mut long_rows = 0usize;
    loop {
        let start = rdr.position();
        match rdr.read_row(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                out.warnings.push(format!(
                    "CSV error after {} rows ({e}); the rest of the chunk was passed through unchanged",
                    out.rows_in
                ));
                copy(&mut rows, &mut splices, start.min(body.len()), body.len());
                if !body.ends_with(b"\n") {
                    rows.push(b'\n');
                }
                break;
            }
        }
        let record = &record;
        out.rows_in += 1;
        last_row = start;
        let end = rdr.position();
        let (raw_from, raw_to) = trim_terminator(body, start.min(end), end);
        if record.len() > width {
            long_rows += 1;
            extra_width = extra_width.max(record.len() - width);
        }

        // One view of the row (its `_raw` XML parsed at most once) serves
        // detection and the map phase's filter.
        let mut keep = true;
        let detection = if mode.detect || mode.evidence_only {
            let ev = RowEvent::new(&schema, record);
            out.rows_from_raw += usize::from(ev.from_raw_xml());
            let d = (mode.detect && engine.detect_into(&ev, &mut det)).then_some(&det);
            keep = !mode.evidence_only
                || crate::correlate::Correlator::wants(&ev, d.map(Detection::finding));
            d
        } else {
            None
        };
        if !keep || (mode.alerts_only && detection.is_none_or(|d| d.risk_score < mode.min_score)) {
            continue;
        }
        out.rows_out += 1;
        if !adds_columns {
            copy(&mut rows, &mut splices, raw_from, raw_to);
            rows.push(b'\n');
            continue;
        }
        let fields = if any_replaced {
            let mut written = 0usize;
            for (i, f) in record.iter().enumerate() {
                if i < width && replaced[i] {
                    continue;
                }
                if written > 0 {
                    rows.push(b',');
                }
                written += 1;
                write_field(&mut rows, f);
            }
            written
        } else {
            copy(&mut rows, &mut splices, raw_from, raw_to);
            record.len()
        };
        rows.extend(std::iter::repeat_n(
            b',',
            base_fields.saturating_sub(fields),
        ));
        let fields = fields.max(base_fields);
        marks.push((rows.len(), fields));
        write_cells(&mut rows, detection, fields == 0);
        rows.push(b'\n');
    }

    if rdr.is_slow() && ends_in_open_quote(&body[last_row.min(body.len())..]) {
        out.warnings.push(format!(
            "row {} opens a quote that is never closed: the rest of the chunk ({} bytes) was read as one field and passed through unchanged",
            out.rows_in,
            body.len() - last_row
        ));
    }
    if out.rows_in == 0 && out.warnings.is_empty() {
        return out;
    }
    if long_rows > 0 {
        out.warnings.push(format!(
            "{long_rows} rows had more fields than the header; the extra values were kept in columns named winrmdetect_extra_1..{extra_width}"
        ));
    }

    if extra_width == 0 {
        out.body = rows;
        out.splices = splices;
        return out;
    }
    // Rare: some row was wider than the header. Rebuild with a widened
    // header and every row padded to it, spliced rows copied in.
    if !splices.is_empty() {
        let mut shift = 0;
        let mut next = splices.iter().peekable();
        for (mark, _) in marks.iter_mut() {
            while let Some(&&(at, from, to)) = next.peek() {
                if at > *mark {
                    break;
                }
                shift += to - from;
                next.next();
            }
            *mark += shift;
        }
        rows = ChunkOutput {
            body: rows,
            splices,
            ..ChunkOutput::default()
        }
        .bytes(body);
    }
    let mut body_out = Vec::with_capacity(rows.len() + 256);
    header_line(&mut body_out, &names, &replaced, extra_width, adds_columns);
    let rows = &rows[header_len..];
    if !adds_columns {
        body_out.extend_from_slice(rows);
    } else {
        // Pad every row's input part to the widened header.
        let mut at = 0usize;
        for &(mark, fields) in &marks {
            let mark = mark - header_len;
            body_out.extend_from_slice(&rows[at..mark]);
            let pad = (base_fields + extra_width).saturating_sub(fields);
            body_out.extend(std::iter::repeat_n(b',', pad));
            at = mark;
        }
        body_out.extend_from_slice(&rows[at..]);
    }
    out.body = body_out;
    out
}

/// Writes the reply header: the input columns we keep, `extra` overflow
/// columns, then ours with their `__mv_` companions.
fn header_line(out: &mut Vec<u8>, names: &[&[u8]], replaced: &[bool], extra: usize, detect: bool) {
    let mut first = true;
    let mut head = |name: &[u8], out: &mut Vec<u8>| {
        if !first {
            out.push(b',');
        }
        first = false;
        write_field(out, name);
    };
    for (n, _) in names.iter().zip(replaced).filter(|(_, r)| !**r) {
        head(n, out);
    }
    for k in 1..=extra {
        head(format!("winrmdetect_extra_{k}").as_bytes(), out);
    }
    if detect {
        for f in OUTPUT_FIELDS {
            head(f.as_bytes(), out);
            head(format!("__mv_{f}").as_bytes(), out);
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

/// A record's bytes `body[from..to]` without line ends around them (with
/// CRLF rows the reader counts the LF of the previous line as the start of
/// the next record), as a range of `body`.
fn trim_terminator(body: &[u8], mut from: usize, mut to: usize) -> (usize, usize) {
    while from < to && matches!(body[from], b'\r' | b'\n') {
        from += 1;
    }
    if from < to && body[to - 1] == b'\n' {
        to -= 1;
    }
    if from < to && body[to - 1] == b'\r' {
        to -= 1;
    }
    (from, to)
}

/// Writes one CSV field, quoting when needed.
pub fn write_field(out: &mut Vec<u8>, v: &[u8]) {
    if v.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &b in v {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(v);
    }
}

/// Appends the added cells of one row (`,X,__mv_X` per output field);
/// `leading` says no input field precedes them. One value is written plain;
/// several newline-joined with a `$a$;$b$` `__mv_` companion.
fn write_cells(out: &mut Vec<u8>, d: Option<&Detection>, leading: bool) {
    let Some(d) = d else {
        // No detection: only separators.
        let n = 2 * OUTPUT_FIELDS.len() - usize::from(leading);
        out.extend(std::iter::repeat_n(b',', n));
        return;
    };
    if !leading {
        out.push(b',');
    }
    let score = d.risk_score.to_string();
    write_list(out, d.alert_types.iter().copied());
    write_list(out, d.descriptions.iter().map(|s| &**s));
    write_list(out, d.mitre.iter().copied());
    write_list(out, std::iter::once(d.side.as_str()));
    write_list(out, d.targets.iter().map(String::as_str));
    write_list(out, std::iter::once(score.as_str()));
    write_list(out, std::iter::once(d.risk_message.as_str()));
    write_list(out, std::iter::once(d.risk_object.as_str()));
    write_list(out, std::iter::once("system"));
    write_list(out, d.threats.iter().map(|(t, _)| t.as_str()));
    write_list(out, d.threats.iter().map(|(_, k)| *k));
    // `write_list` leaves a separator after each `__mv_` cell; the row
    // ends after the last one.
    out.pop();
}

/// Writes one output field and its `__mv_` companion, each followed by a
/// comma: `X,__mv_X,`.
fn write_list<'a, I: Iterator<Item = &'a str> + Clone>(out: &mut Vec<u8>, vals: I) {
    let count = vals.clone().count();
    let special = vals
        .clone()
        .any(|v| v.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')));
    if count == 1 && !special {
        vals.for_each(|v| out.extend_from_slice(v.as_bytes()));
        out.extend_from_slice(b",,");
        return;
    }
    if count > 0 {
        out.push(b'"');
        for (i, v) in vals.clone().enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            push_escaped(out, v);
        }
        out.push(b'"');
    }
    out.push(b',');
    if count > 1 {
        // `$v$;$v$` always holds `$` and `;` only; quote it when a value
        // needs it.
        let quote = special;
        if quote {
            out.push(b'"');
        }
        for (i, v) in vals.enumerate() {
            if i > 0 {
                out.push(b';');
            }
            out.push(b'$');
            for &b in v.as_bytes() {
                if b == b'$' {
                    out.push(b'$');
                }
                if quote && b == b'"' {
                    out.push(b'"');
                }
                out.push(b);
            }
            out.push(b'$');
        }
        if quote {
            out.push(b'"');
        }
    }
    out.push(b',');
}

fn push_escaped(out: &mut Vec<u8>, v: &str) {
    for &b in v.as_bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
}

/// Writes a chunk's rows as a human-readable line each (for `scan`).
pub fn write_table_row<W: Write>(
    w: &mut W,
    cols: &[&str],
    widths: &[usize],
) -> std::io::Result<()> {
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

/// The rows that became correlation evidence, kept to be annotated once
/// the hops are known: each chunk's header and, per evidence `seq`, its row.
#[derive(Debug, Default)]
pub struct EvidenceRows {
    headers: Vec<csv::ByteRecord>,
    rows: Vec<(usize, csv::ByteRecord)>,
}

/// Correlation mode: runs per-event detection on every row of a chunk,
/// hands the row to the correlator and keeps the rows it takes as evidence.
/// Returns warnings.
pub fn collect_evidence(
    body: &[u8],
    engine: &Engine,
    corr: &mut crate::correlate::Correlator,
    keep: &mut EvidenceRows,
) -> Vec<String> {
    let mut rdr = Rows::new(body);
    let mut record = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => return Vec::new(),
        Err(e) => {
            return vec![format!(
                "could not read the CSV header ({e}); chunk not correlated"
            )]
        }
    }
    let header = record.clone();
    let schema = Schema::new(header.iter());
    let chunk = keep.headers.len();
    keep.headers.push(header);
    let mut det = Detection::default();
    let mut row = Row::default();
    loop {
        match rdr.read_row(&mut row) {
            Ok(true) => {}
            Ok(false) => return Vec::new(),
            Err(e) => {
                return vec![format!(
                    "CSV error in a chunk ({e}); the rest of it was not correlated"
                )]
            }
        }
        let ev = RowEvent::new(&schema, &row);
        let matched = engine.detect_into(&ev, &mut det);
        if let Some(seq) = corr.add(&ev, matched.then_some(det.finding())) {
            debug_assert_eq!(seq, keep.rows.len());
            keep.rows.push((chunk, row.to_byte_record()));
        }
    }
}

/// The fields correlation adds to the events of a hop.
pub const HOP_EVENT_FIELDS: [&str; 12] = [
    "lm_hop_id",
    "lm_chain_id",
    "lm_hop",
    "lm_role",
    "src_host",
    "dest_host",
    "src_user",
    "dest_user",
    "lm_technique",
    "lm_outcome",
    "lm_confidence",
    "lm_confidence_reasons",
];

/// Every event that takes part in a hop, with its fields (the union of the
/// chunks' columns) and the hop's `lm_*` fields; in arrival order. An event
/// in several hops is annotated with the first.
pub fn annotated_events_body(keep: &EvidenceRows, hops: &[crate::correlate::Hop]) -> Vec<u8> {
    let mut member: Vec<Option<(usize, crate::detect::Side)>> = vec![None; keep.rows.len()];
    for (h, hop) in hops.iter().enumerate() {
        for &(seq, role) in &hop.members {
            if let Some(slot @ None) = member.get_mut(seq) {
                *slot = Some((h, role));
            }
        }
    }
    // Union of input columns, first-seen order, without ours.
    let mut names: Vec<&[u8]> = Vec::new();
    for h in &keep.headers {
        for n in h.iter() {
            let ours = HOP_EVENT_FIELDS
                .iter()
                .any(|f| f.as_bytes() == n.strip_prefix(b"__mv_").unwrap_or(n));
            if !ours && !names.contains(&n) {
                names.push(n);
            }
        }
    }
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_field(&mut out, n);
    }
    for f in HOP_EVENT_FIELDS {
        out.push(b',');
        write_field(&mut out, f.as_bytes());
        out.push(b',');
        write_field(&mut out, format!("__mv_{f}").as_bytes());
    }
    out.push(b'\n');
    for (seq, (chunk, row)) in keep.rows.iter().enumerate() {
        let Some((h, role)) = member[seq] else {
            continue;
        };
        let header = &keep.headers[*chunk];
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if let Some(v) = header.iter().position(|c| c == *n).and_then(|c| row.get(c)) {
                write_field(&mut out, v);
            }
        }
        out.push(b',');
        let hop = &hops[h];
        let role = role.as_str();
        let (index, confidence) = (hop.hop_index.to_string(), hop.confidence.to_string());
        write_list(&mut out, std::iter::once(hop.id.as_str()));
        write_list(&mut out, std::iter::once(hop.chain_id.as_str()));
        write_list(&mut out, std::iter::once(index.as_str()));
        write_list(&mut out, std::iter::once(role));
        write_list(&mut out, std::iter::once(hop.src.as_str()));
        write_list(&mut out, std::iter::once(hop.dest.as_str()));
        write_list(&mut out, hop.src_users.iter().map(String::as_str));
        write_list(&mut out, hop.dest_users.iter().map(String::as_str));
        write_list(&mut out, std::iter::once(hop.technique.as_str()));
        write_list(&mut out, std::iter::once(hop.outcome.as_str()));
        write_list(&mut out, std::iter::once(confidence.as_str()));
        write_list(&mut out, hop.reasons.iter().map(|r| r.as_str()));
        out.pop();
        out.push(b'\n');
    }
    out
}

/// The columns of a hop summary row.
pub const HOP_FIELDS: [&str; 20] = [
    "_time",
    "lm_hop_id",
    "lm_chain_id",
    "lm_hop",
    "src_host",
    "dest_host",
    "src_user",
    "dest_user",
    "lm_technique",
    "lm_outcome",
    "first_seen",
    "last_seen",
    "evidence",
    "event_count",
    "lm_confidence",
    "lm_confidence_reasons",
    "risk_score",
    "risk_message",
    "risk_object",
    "risk_object_type",
];

/// One CSV row per hop (with `__mv_` companions), for the correlation reply.
pub fn hops_body(hops: &[crate::correlate::Hop]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, f) in HOP_FIELDS.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_field(&mut out, f.as_bytes());
        out.push(b',');
        write_field(&mut out, format!("__mv_{f}").as_bytes());
    }
    out.push(b'\n');
    for h in hops {
        let one = |s: String| vec![s];
        let message = format!(
            "Lateral movement {} -> {} over {} ({}, confidence {})",
            h.src,
            h.dest,
            h.technique.as_str(),
            h.outcome.as_str(),
            h.confidence
        );
        let cols: [Vec<String>; 20] = [
            one(format!("{:.3}", h.first_seen)),
            one(h.id.clone()),
            one(h.chain_id.clone()),
            one(h.hop_index.to_string()),
            one(h.src.clone()),
            one(h.dest.clone()),
            h.src_users.iter().cloned().collect(),
            h.dest_users.iter().cloned().collect(),
            one(h.technique.as_str().to_string()),
            one(h.outcome.as_str().to_string()),
            one(format!("{:.3}", h.first_seen)),
            one(format!("{:.3}", h.last_seen)),
            h.evidence.iter().map(|s| s.to_string()).collect(),
            one(h.events.to_string()),
            one(h.confidence.to_string()),
            h.reasons.iter().map(|s| s.as_str().to_string()).collect(),
            one(h.risk_score.to_string()),
            one(message),
            // RBA for both ends, and the user(s) who moved.
            [h.dest.clone(), h.src.clone()]
                .into_iter()
                .chain(h.src_users.union(&h.dest_users).cloned())
                .collect(),
            ["system", "system"]
                .into_iter()
                .map(str::to_string)
                .chain(h.src_users.union(&h.dest_users).map(|_| "user".to_string()))
                .collect(),
        ];
        for col in &cols {
            write_list(&mut out, col.iter().map(String::as_str));
        }
        out.pop();
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &str, mode: Mode) -> ChunkOutput {
        process_body(body.as_bytes(), &Engine::default(), mode)
    }

    /// A value and its `__mv_` companion, byte for byte: nothing for no
    /// value, the plain value and an empty companion for one, a quoted
    /// newline list and `$a$;$b$` for several (quoted when a value needs it).
    #[test]
    fn write_list_writes_a_value_and_its_mv_companion() {
        let bytes = |vals: &[&str]| {
            let mut out = Vec::new();
            write_list(&mut out, vals.iter().copied());
            String::from_utf8(out).unwrap()
        };
        assert_eq!(bytes(&[]), ",,");
        assert_eq!(bytes(&["a"]), "a,,");
        assert_eq!(bytes(&["a,b"]), "\"a,b\",,");
        assert_eq!(bytes(&["a", "b$"]), "\"a\nb$\",$a$;$b$$$,");
        assert_eq!(bytes(&["a\"", "b"]), "\"a\"\"\nb\",\"$a\"\"$;$b$\",");
    }

    /// An event without a detection gets exactly the empty cells of every
    /// output field and its companion (one separator fewer when they lead
    /// the row).
    #[test]
    fn no_detection_is_empty_cells_of_the_row_width() {
        for (leading, n) in [
            (false, 2 * OUTPUT_FIELDS.len()),
            (true, 2 * OUTPUT_FIELDS.len() - 1),
        ] {
            let mut out = Vec::new();
            write_cells(&mut out, None, leading);
            assert_eq!(out, vec![b','; n], "leading {leading}");
        }
    }

    /// Line ends around a record's bytes go; an empty range stays empty
    /// whatever surrounds it.
    #[test]
    fn trim_terminator_cuts_line_ends_only() {
        let body = b"\na,b\r\n\nc";
        // Leading line ends, then one trailing LF and one CR before it.
        assert_eq!(trim_terminator(body, 0, 6), (1, 4));
        assert_eq!(trim_terminator(body, 1, 7), (1, 6));
        assert_eq!(trim_terminator(body, 5, 8), (7, 8));
        for at in 0..body.len() {
            assert_eq!(trim_terminator(body, at, at), (at, at), "at {at}");
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
        let mut cell = Vec::new();
        write_list(&mut cell, ["a$1", "b\"c"].into_iter());
        assert_eq!(cell, b"\"a$1\nb\"\"c\",\"$a$$1$;$b\"\"c$\",");
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
