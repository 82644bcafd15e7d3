//! Correlation's chunk I/O: the evidence rows collected from every chunk
//! (a [`RowSink`] feeding the correlator), and the two replies made once
//! the hops are known: the events of each hop with its `lm_*` fields, or
//! one row per hop ([`HOP_COLUMNS`], the one table of hop columns that the
//! offline reports print too).

use super::{push_rows, End, Line, Look, RowSink};
use crate::correlate::{Correlator, Hop};
use crate::csvio::read::Row;
use crate::csvio::write::{column, is_ours, write_field, write_header, write_list, Cell, Column};
use crate::detect::Engine;
use crate::detect::{Detection, Side};

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
    corr: &mut Correlator,
    keep: &mut EvidenceRows,
) -> Vec<String> {
    let mut sink = Evidence {
        corr,
        keep,
        chunk: 0,
    };
    match push_rows(body, Look::Detect(engine), &mut sink).end {
        End::BadHeader(e) => vec![format!(
            "could not read the CSV header ({e}); chunk not correlated"
        )],
        End::BadRow { error, .. } => vec![format!(
            "CSV error in a chunk ({error}); the rest of it was not correlated"
        )],
        End::Empty | End::Done | End::Stopped => Vec::new(),
    }
}

/// The sink of [`collect_evidence`].
struct Evidence<'c> {
    corr: &'c mut Correlator,
    keep: &'c mut EvidenceRows,
    /// This chunk's header in `keep.headers`.
    chunk: usize,
}

impl RowSink for Evidence<'_> {
    fn header(&mut self, names: &Row<'_>) {
        self.chunk = self.keep.headers.len();
        self.keep.headers.push(names.to_byte_record());
    }

    fn row(&mut self, line: &Line<'_>) -> bool {
        let Some(ev) = line.event else {
            return true;
        };
        if let Some(seq) = self.corr.add(ev, line.detection.map(Detection::finding)) {
            debug_assert_eq!(seq, self.keep.rows.len());
            self.keep.rows.push((self.chunk, line.row.to_byte_record()));
        }
        true
    }
}

/// The fields correlation adds to the events of a hop: [`HOP_COLUMNS`] of
/// the hop, and `lm_role`, the event's part in it.
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
pub fn annotated_events_body(keep: &EvidenceRows, hops: &[Hop]) -> Vec<u8> {
    let member = first_hop_of_each(keep, hops);
    let names = input_columns(keep);
    // Per field, its hop column; `None` is `lm_role`.
    let fields: Vec<Option<&Column<Hop>>> = HOP_EVENT_FIELDS
        .iter()
        .map(|f| column(HOP_COLUMNS, f))
        .collect();
    let mut out = Vec::new();
    write_header(&mut out, &names, HOP_EVENT_FIELDS);
    for (seq, (chunk, row)) in keep.rows.iter().enumerate() {
        let Some((h, role)) = member[seq] else {
            continue;
        };
        write_event_fields(&mut out, &names, &keep.headers[*chunk], row);
        for field in &fields {
            match field {
                Some(c) => (c.value)(&hops[h]).write_csv(&mut out),
                None => write_list(&mut out, std::iter::once(role.as_str())),
            }
        }
        out.pop();
        out.push(b'\n');
    }
    out
}

/// Every evidence event kept, with empty `lm_*` fields, in arrival order:
/// what a correlation that failed part-way passes through.
pub fn unlinked_events_body(keep: &EvidenceRows) -> Vec<u8> {
    let names = input_columns(keep);
    let mut out = Vec::new();
    write_header(&mut out, &names, HOP_EVENT_FIELDS);
    for (chunk, row) in &keep.rows {
        write_event_fields(&mut out, &names, &keep.headers[*chunk], row);
        for _ in HOP_EVENT_FIELDS {
            write_list(&mut out, std::iter::empty());
        }
        out.pop();
        out.push(b'\n');
    }
    out
}

/// An event's own fields under the union of the chunks' columns, each
/// followed by a comma.
fn write_event_fields(
    out: &mut Vec<u8>,
    names: &[&[u8]],
    header: &csv::ByteRecord,
    row: &csv::ByteRecord,
) {
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if let Some(v) = header.iter().position(|c| c == *n).and_then(|c| row.get(c)) {
            write_field(out, v);
        }
    }
    out.push(b',');
}

/// Per evidence `seq`: the first hop it is a member of, and its role there.
fn first_hop_of_each(keep: &EvidenceRows, hops: &[Hop]) -> Vec<Option<(usize, Side)>> {
    let mut member = vec![None; keep.rows.len()];
    for (h, hop) in hops.iter().enumerate() {
        for &(seq, role) in &hop.members {
            if let Some(slot @ None) = member.get_mut(seq) {
                *slot = Some((h, role));
            }
        }
    }
    member
}

/// The union of the chunks' columns, first-seen order, without ours. None
/// at all (no chunk had a header) is one unnamed column, so the events'
/// fields always come before ours, as 553877b wrote them.
fn input_columns(keep: &EvidenceRows) -> Vec<&[u8]> {
    let mut names: Vec<&[u8]> = Vec::new();
    for h in &keep.headers {
        for n in h.iter() {
            if !is_ours(n, &HOP_EVENT_FIELDS) && !names.contains(&n) {
                names.push(n);
            }
        }
    }
    if names.is_empty() {
        names.push(b"");
    }
    names
}

/// One CSV row per hop (with `__mv_` companions), for the correlation reply:
/// the CSV columns of [`HOP_COLUMNS`].
pub fn hops_body(hops: &[Hop]) -> Vec<u8> {
    let columns: Vec<&Column<Hop>> = HOP_COLUMNS.iter().filter(|c| c.csv).collect();
    let mut out = Vec::new();
    write_header(
        &mut out,
        std::iter::empty::<&[u8]>(),
        columns.iter().map(|c| c.name),
    );
    for h in hops {
        for c in &columns {
            (c.value)(h).write_csv(&mut out);
        }
        out.pop();
        out.push(b'\n');
    }
    out
}

type HopColumn = Column<Hop>;

/// The columns of a hop, in CSV and JSON order: the correlation reply's
/// summary rows (CSV), and `scan --hops` and `hunt` (text, CSV, JSON).
/// `reasons` is for the text table only; `_time`, CIM `src`/`dest` and the
/// RBA fields are Splunk's, in CSV only. `user` is every account of the hop.
pub const HOP_COLUMNS: &[Column<Hop>] = &[
    HopColumn::new("_time", |h| Cell::Epoch(h.first_seen)).csv_only(),
    HopColumn::new("lm_hop_id", |h| Cell::text(&h.id)),
    HopColumn::new("lm_chain_id", |h| Cell::text(&h.chain_id)),
    HopColumn::new("lm_hop", |h| Cell::Int(h.hop_index as u64)),
    HopColumn::new("src_host", |h| Cell::text(&h.src)),
    HopColumn::new("dest_host", |h| Cell::text(&h.dest)),
    HopColumn::new("src_user", |h| Cell::list(&h.src_users)),
    HopColumn::new("dest_user", |h| Cell::list(&h.dest_users)),
    HopColumn::new("lm_technique", |h| Cell::text(h.technique.as_str())),
    HopColumn::new("lm_outcome", |h| Cell::text(outcome(h))),
    HopColumn::new("user", |h| Cell::list(h.src_users.union(&h.dest_users))),
    HopColumn::new("reasons", |h| {
        let reasons: Vec<&str> = h.reasons.iter().map(|r| r.as_str()).collect();
        Cell::Text(format!("{} ({})", h.confidence, reasons.join(",")).into())
    })
    .text_only(),
    HopColumn::new("first_seen", |h| Cell::Epoch(h.first_seen)),
    HopColumn::new("last_seen", |h| Cell::Epoch(h.last_seen)),
    HopColumn::new("evidence", |h| Cell::list(h.evidence.iter().copied())),
    HopColumn::new("event_count", |h| Cell::Int(h.events as u64)),
    HopColumn::new("lm_confidence", |h| Cell::Int(h.confidence.into())),
    HopColumn::new("lm_confidence_reasons", |h| {
        Cell::list(h.reasons.iter().map(|r| r.as_str()))
    }),
    HopColumn::new("lm_known", |h| {
        Cell::list(h.known.iter().map(String::as_str))
    }),
    HopColumn::new("risk_score", |h| Cell::Int(h.risk_score.into())),
    HopColumn::new("lm_risk_added", |h| Cell::Int(h.risk_added().into())),
    HopColumn::new("risk_message", |h| Cell::Text(risk_message(h).into())).csv_only(),
    // RBA for both ends, and the user(s) who moved.
    HopColumn::new("risk_object", |h| {
        let ends = [h.dest.as_str(), h.src.as_str()];
        let users = h.src_users.union(&h.dest_users).map(String::as_str);
        Cell::list(ends.into_iter().chain(users))
    })
    .csv_only(),
    HopColumn::new("risk_object_type", |h| {
        let users = h.src_users.union(&h.dest_users).map(|_| "user");
        Cell::list(["system", "system"].into_iter().chain(users))
    })
    .csv_only(),
    HopColumn::new("src", |h| Cell::text(&h.src)).csv_only(),
    HopColumn::new("dest", |h| Cell::text(&h.dest)).csv_only(),
];

/// A hop's outcome, as written (the one place that reads it).
fn outcome(h: &Hop) -> &'static str {
    h.outcome.as_str()
}

fn risk_message(h: &Hop) -> String {
    let known: Vec<&str> = h.known.iter().map(String::as_str).collect();
    let known = if known.is_empty() {
        String::new()
    } else {
        format!(", known {}", known.join(", "))
    };
    format!(
        "Lateral movement {} -> {} over {} ({}, confidence {}{known})",
        h.src,
        h.dest,
        h.technique.as_str(),
        outcome(h),
        h.confidence
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event field but `lm_role` is a hop column, written as the
    /// summary writes it.
    #[test]
    fn the_event_fields_are_hop_columns_and_the_role() {
        for f in HOP_EVENT_FIELDS {
            let c = column(HOP_COLUMNS, f);
            assert_eq!(c.is_none(), f == "lm_role", "{f}");
            assert!(c.is_none_or(|c| c.csv), "{f} is a CSV column");
        }
    }

    #[test]
    fn the_summary_header_is_the_csv_columns_with_companions() {
        let body = hops_body(&[]);
        let header = String::from_utf8(body).unwrap();
        let names: Vec<&str> = header.trim_end().split(',').step_by(2).collect();
        assert_eq!(names.len(), 25);
        assert_eq!(names[..2], ["_time", "lm_hop_id"]);
        assert_eq!(
            names[18..],
            [
                "risk_score",
                "lm_risk_added",
                "risk_message",
                "risk_object",
                "risk_object_type",
                "src",
                "dest"
            ]
        );
        assert!(names.contains(&"user") && !names.contains(&"reasons"));
    }

    /// No evidence at all: the annotated reply is a header whose first
    /// column has no name.
    #[test]
    fn no_evidence_is_a_header_with_an_unnamed_first_column() {
        let body = annotated_events_body(&EvidenceRows::default(), &[]);
        assert!(body.starts_with(b",lm_hop_id,__mv_lm_hop_id,lm_chain_id,"));
        assert!(body.ends_with(b",lm_confidence_reasons,__mv_lm_confidence_reasons\n"));
    }
}
