//! The reply's column plan, made once per chunk from its header: which
//! input columns are kept, which are dropped because we write them again,
//! and whether ours are added; and the rare rebuild when some row was wider
//! than the header.

use std::borrow::Cow;

use super::{ChunkOutput, Mode, CIM_FIELDS, OUTPUT_FIELDS};
use crate::csvio::read::Row;
use crate::csvio::write::{is_ours, write_field, write_header};

/// The columns of a reply: the input's, minus the ones we replace, plus
/// ours with their `__mv_` companions.
#[derive(Debug, Default)]
pub struct Columns {
    /// The input header.
    names: csv::ByteRecord,
    /// Per input column: one of ours, dropped because we write it again.
    replaced: Vec<bool>,
    /// Whether any input column is replaced.
    any_replaced: bool,
    /// Input columns kept.
    kept: usize,
    /// Whether ours are added (detection on, and not the map phase, which
    /// only filters).
    adds: bool,
    /// Per CIM field, the input column of that name and of its `__mv_`
    /// companion, whose values go through where we have none.
    cim_input: [(Option<usize>, Option<usize>); CIM_FIELDS.len()],
}

impl Columns {
    /// Plans the reply's columns for a chunk with this header.
    pub fn plan(header: &Row<'_>, mode: Mode) -> Self {
        let adds = mode.detect && !mode.evidence_only;
        let replaced: Vec<bool> = header
            .iter()
            .map(|n| adds && is_ours(n, &OUTPUT_FIELDS))
            .collect();
        let at = |name: &[u8]| header.iter().position(|n| n == name).filter(|_| adds);
        let cim_input = CIM_FIELDS.map(|f| (at(f.as_bytes()), at(format!("__mv_{f}").as_bytes())));
        Columns {
            names: header.to_byte_record(),
            any_replaced: replaced.contains(&true),
            kept: replaced.iter().filter(|&&r| !r).count(),
            replaced,
            adds,
            cim_input,
        }
    }

    /// Whether the input has a column of any of our CIM fields.
    pub fn has_cim_input(&self) -> bool {
        self.cim_input
            .iter()
            .any(|(v, mv)| v.is_some() || mv.is_some())
    }

    /// The input's value of CIM field `k` in `row`, and its `__mv_`
    /// companion's (empty when absent).
    pub fn cim_input<'r>(&self, row: &'r Row<'_>, k: usize) -> (&'r [u8], &'r [u8]) {
        let (v, mv) = self.cim_input[k];
        let get = |i: Option<usize>| i.and_then(|i| row.get(i)).unwrap_or_default();
        (get(v), get(mv))
    }

    /// Whether the reply adds our columns.
    pub fn adds(&self) -> bool {
        self.adds
    }

    /// Whether any input column is replaced (so rows are re-serialised).
    pub fn any_replaced(&self) -> bool {
        self.any_replaced
    }

    /// The number of input columns kept.
    pub fn kept(&self) -> usize {
        self.kept
    }

    /// Whether field `i` of a row reaches the reply (fields beyond the
    /// header do, in the `winrmdetect_extra_*` columns).
    pub fn keeps(&self, i: usize) -> bool {
        !self.replaced.get(i).copied().unwrap_or(false)
    }

    /// Writes the header line: the input columns kept, `extra` overflow
    /// columns, then ours with their `__mv_` companions.
    pub fn write_header(&self, out: &mut Vec<u8>, extra: usize) {
        let kept = self
            .names
            .iter()
            .zip(&self.replaced)
            .filter(|(_, r)| !**r)
            .map(|(n, _)| Cow::Borrowed(n));
        let extras = (1..=extra).map(|k| Cow::Owned(format!("winrmdetect_extra_{k}").into_bytes()));
        let ours: &[&str] = if self.adds { &OUTPUT_FIELDS } else { &[] };
        write_header(out, kept.chain(extras), ours.iter().copied());
    }

    /// Writes the kept fields of `row`, re-serialised; returns how many.
    pub fn write_kept(&self, out: &mut Vec<u8>, row: &Row<'_>) -> usize {
        let mut written = 0usize;
        for (i, f) in row.iter().enumerate() {
            if !self.keeps(i) {
                continue;
            }
            if written > 0 {
                out.push(b',');
            }
            written += 1;
            write_field(out, f);
        }
        written
    }
}

/// A reply as the reply sink built it: the header line and rows in `rows`,
/// long input rows as `splices`, and per row with our cells where its input
/// part ends in `rows` and how many input fields it holds.
#[derive(Debug, Default)]
pub struct Built {
    /// Header line and rows.
    pub rows: Vec<u8>,
    /// Spliced input rows, as in [`ChunkOutput::splices`].
    pub splices: Vec<(usize, usize, usize)>,
    /// Per row with our cells: `(end of its input part, input fields)`.
    pub marks: Vec<(usize, usize)>,
    /// The header line's length.
    pub header_len: usize,
}

/// Rebuilds a reply where some row was wider than the header (rare): a
/// header widened by `extra` columns, every row's input part padded to it,
/// spliced rows copied in.
pub fn widen_ragged(columns: &Columns, mut built: Built, extra: usize, body: &[u8]) -> Vec<u8> {
    let mut rows = built.rows;
    if !built.splices.is_empty() {
        let mut shift = 0;
        let mut next = built.splices.iter().peekable();
        for (mark, _) in built.marks.iter_mut() {
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
            splices: built.splices,
            ..ChunkOutput::default()
        }
        .bytes(body);
    }
    let mut out = Vec::with_capacity(rows.len() + 256);
    columns.write_header(&mut out, extra);
    let header_len = built.header_len;
    let rows = &rows[header_len..];
    if !columns.adds() {
        out.extend_from_slice(rows);
        return out;
    }
    let mut at = 0usize;
    for &(mark, fields) in &built.marks {
        let mark = mark - header_len;
        out.extend_from_slice(&rows[at..mark]);
        let pad = (columns.kept() + extra).saturating_sub(fields);
        out.extend(std::iter::repeat_n(b',', pad));
        at = mark;
    }
    out.extend_from_slice(&rows[at..]);
    out
}
