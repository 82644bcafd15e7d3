//! The search command's reply: a [`RowSink`] that writes each row's input
//! bytes and our cells, and the map phase's filter in front of it.

use super::columns::{widen_ragged, Built, Columns};
use super::{
    cim_values, ChunkOutput, End, Line, Mode, Pass, RowSink, CIM_FIELDS, CIM_START, OUTPUT_FIELDS,
    SPLICE_MIN,
};
use std::borrow::Cow;

use crate::correlate::Correlator;
use crate::csvio::read::Row;
use crate::csvio::write::{write_field, write_list};
use crate::detect::Detection;

/// The reply CSV of one chunk, built in place: the header line first
/// (assuming no row is wider than the header, the common case), then every
/// row `alerts_only` keeps, with our cells appended.
pub struct ReplyCsv<'b> {
    body: &'b [u8],
    mode: Mode,
    columns: Columns,
    built: Built,
    rows_out: usize,
}

impl<'b> ReplyCsv<'b> {
    /// A reply to `body`, built in `buf`'s allocation if it is large enough.
    pub fn new(body: &'b [u8], mode: Mode, buf: Vec<u8>) -> Self {
        ReplyCsv {
            body,
            mode,
            columns: Columns::default(),
            built: Built {
                rows: buf,
                ..Built::default()
            },
            rows_out: 0,
        }
    }

    /// Copies input bytes into the reply, or splices them when long.
    fn copy(&mut self, from: usize, to: usize) {
        let b = &mut self.built;
        if to - from >= SPLICE_MIN {
            b.splices.push((b.rows.len(), from, to));
        } else {
            b.rows.extend_from_slice(&self.body[from..to]);
        }
    }

    /// The reply, once the row loop's pass is over.
    pub fn finish(mut self, pass: Pass) -> ChunkOutput {
        let body = self.body;
        let mut out = ChunkOutput {
            warnings: pass.warnings(body),
            rows_in: pass.rows,
            rows_out: self.rows_out,
            rows_from_raw: pass.rows_from_raw,
            ..ChunkOutput::default()
        };
        match pass.end {
            End::Empty => return out,
            End::BadHeader(_) => {
                out.body = body.to_vec();
                return out;
            }
            // The rest of the chunk goes through as it came.
            End::BadRow { at, .. } => {
                self.copy(at.min(body.len()), body.len());
                if !body.ends_with(b"\n") {
                    self.built.rows.push(b'\n');
                }
            }
            End::Done | End::Stopped => {}
        }
        if out.rows_in == 0 && out.warnings.is_empty() {
            return out;
        }
        if pass.extra_width == 0 {
            out.body = self.built.rows;
            out.splices = self.built.splices;
        } else {
            out.body = widen_ragged(&self.columns, self.built, pass.extra_width, body);
        }
        out
    }
}

impl RowSink for ReplyCsv<'_> {
    fn header(&mut self, names: &Row<'_>) {
        self.columns = Columns::plan(names, self.mode);
        let buf = std::mem::take(&mut self.built.rows);
        self.built.rows = reply_buffer(buf, self.body.len());
        self.columns.write_header(&mut self.built.rows, 0);
        self.built.header_len = self.built.rows.len();
    }

    fn row(&mut self, line: &Line<'_>) -> bool {
        if self.mode.drops(line.detection) {
            return true;
        }
        self.rows_out += 1;
        let (from, to) = (line.span.start, line.span.end);
        if !self.columns.adds() {
            self.copy(from, to);
            self.built.rows.push(b'\n');
            return true;
        }
        let fields = if self.columns.any_replaced() {
            self.columns.write_kept(&mut self.built.rows, line.row)
        } else {
            self.copy(from, to);
            line.row.len()
        };
        // A short row is padded to the header (a long one is widened at the
        // end, from the marks).
        let kept = self.columns.kept();
        let rows = &mut self.built.rows;
        rows.extend(std::iter::repeat_n(b',', kept.saturating_sub(fields)));
        let fields = fields.max(kept);
        self.built.marks.push((rows.len(), fields));
        let cim = match (line.detection, line.event) {
            (Some(d), Some(ev)) => Some(cim_values(ev, d)),
            _ => None,
        };
        let input = Passed {
            columns: &self.columns,
            row: line.row,
        };
        write_cells(rows, line.detection, cim.as_ref(), &input, fields == 0);
        rows.push(b'\n');
        true
    }
}

/// The buffer to build a reply to a `body_len`-byte request in: `buf`,
/// cleared, when it has room for the request and a quarter more.
fn reply_buffer(mut buf: Vec<u8>, body_len: usize) -> Vec<u8> {
    buf.clear();
    let want = body_len + body_len / 4;
    if buf.capacity() < want {
        // Dropped, not grown: growing would copy (and keep resident) the
        // old capacity while the new one fills. Room to spare for the next
        // chunk costs nothing until written.
        buf = Vec::with_capacity(want + (want / 2).min(64 << 20));
    }
    buf
}

/// The map phase (`phase=map`): only the rows correlation will need reach
/// the sink behind it.
pub struct MapFilter<'s, S: ?Sized>(pub &'s mut S);

impl<S: RowSink + ?Sized> RowSink for MapFilter<'_, S> {
    fn header(&mut self, names: &Row<'_>) {
        self.0.header(names);
    }

    fn row(&mut self, line: &Line<'_>) -> bool {
        let wanted = line
            .event
            .is_some_and(|ev| Correlator::wants(ev, line.detection.map(Detection::finding)));
        !wanted || self.0.row(line)
    }
}

/// A detection's `lm_side`, as written (the one place that reads it).
pub fn lm_side(d: &Detection) -> &'static str {
    d.side.as_str()
}

/// The input fields a row's CIM cells fall back to.
struct Passed<'c, 'r> {
    columns: &'c Columns,
    row: &'r Row<'r>,
}

/// Appends the added cells of one row (`,X,__mv_X` per output field);
/// `leading` says no input field precedes them. One value is written plain;
/// several newline-joined with a `$a$;$b$` `__mv_` companion. A CIM cell
/// without a value of ours carries the input's field of that name.
fn write_cells(
    out: &mut Vec<u8>,
    d: Option<&Detection>,
    cim: Option<&[Cow<'_, str>; CIM_FIELDS.len()]>,
    input: &Passed<'_, '_>,
    leading: bool,
) {
    let Some(d) = d else {
        if !input.columns.has_cim_input() {
            // No detection and nothing to carry: only separators.
            let n = 2 * OUTPUT_FIELDS.len() - usize::from(leading);
            out.extend(std::iter::repeat_n(b',', n));
            return;
        }
        let n = 2 * CIM_START + usize::from(!leading);
        out.extend(std::iter::repeat_n(b',', n));
        write_cim(out, None, input);
        out.pop();
        return;
    };
    if !leading {
        out.push(b',');
    }
    let score = d.risk_score.to_string();
    write_list(out, d.alert_types.iter().copied());
    write_list(out, d.descriptions.iter().map(|s| &**s));
    write_list(out, d.mitre.iter().copied());
    write_list(out, std::iter::once(lm_side(d)));
    write_list(out, d.targets.iter().map(String::as_str));
    write_list(out, std::iter::once(score.as_str()));
    write_list(out, std::iter::once(d.risk_message.as_str()));
    write_list(out, std::iter::once(d.risk_object.as_str()));
    write_list(out, std::iter::once("system"));
    write_list(out, d.threats.iter().map(|(t, _)| t.as_str()));
    write_list(out, d.threats.iter().map(|(_, k)| *k));
    write_cim(out, cim, input);
    // `write_list` leaves a separator after each `__mv_` cell; the row
    // ends after the last one.
    out.pop();
}

/// The CIM cells, each followed by a separator: ours, else the input's.
fn write_cim(
    out: &mut Vec<u8>,
    cim: Option<&[Cow<'_, str>; CIM_FIELDS.len()]>,
    input: &Passed<'_, '_>,
) {
    for k in 0..CIM_FIELDS.len() {
        match cim.map(|c| &*c[k]).filter(|v| !v.is_empty()) {
            Some(v) => write_list(out, std::iter::once(v)),
            None => {
                let (v, mv) = input.columns.cim_input(input.row, k);
                write_field(out, v);
                out.push(b',');
                write_field(out, mv);
                out.push(b',');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let header = Row::default();
            let columns = Columns::default();
            let input = Passed {
                columns: &columns,
                row: &header,
            };
            write_cells(&mut out, None, None, &input, leading);
            assert_eq!(out, vec![b','; n], "leading {leading}");
        }
    }

    /// A buffer with room is reused; one without is replaced, not grown.
    #[test]
    fn the_reply_buffer_is_reused_only_with_room() {
        let roomy = Vec::with_capacity(1000);
        let ptr = roomy.as_ptr();
        let buf = reply_buffer(roomy, 100);
        assert_eq!((buf.as_ptr(), buf.len()), (ptr, 0));
        let buf = reply_buffer(vec![1; 10], 100);
        assert!(buf.is_empty() && buf.capacity() >= 125 + 62);
    }
}
