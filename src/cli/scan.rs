//! `winrmdetect scan FILE.csv`: the same detection over a Splunk CSV export
//! (`| table *` or `outputcsv`), printed as a table a person can read.
//!
//! The file is cut into 50,000-row chunks exactly as splunkd would send it
//! and each chunk goes through [`crate::chunk::process_body`], so the scan
//! exercises the same code as the search command; the table is read back
//! from the output chunks.

use std::io::Write;

use crate::chunk::{process_body, write_table_row, Mode};
use crate::detect::Engine;
use crate::error::{Error, Result};

/// Rows per chunk, as splunkd's default `maxresultrows`.
pub const CHUNK_ROWS: usize = 50_000;

/// One labelled event, as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// `_time` as given.
    pub time: String,
    /// `Computer`, else `host`.
    pub host: String,
    /// AlertTypes, `|`-joined.
    pub alert_type: String,
    /// Risk score.
    pub risk_score: u32,
    /// lm_side.
    pub side: String,
    /// Targets, `,`-joined.
    pub target: String,
    /// The risk message.
    pub message: String,
}

/// Scans a CSV body and returns the labelled events (score >= `min_score`)
/// plus warnings, keeping file order.
pub fn scan_csv(
    data: &[u8],
    engine: &Engine,
    min_score: u32,
) -> Result<(Vec<Alert>, usize, Vec<String>)> {
    let mut rdr = crate::csvio::read::Rows::new(data);
    let mut rec = csv::ByteRecord::new();
    if !rdr
        .read_byte_record(&mut rec)
        .map_err(|e| Error::Csv(e.to_string()))?
    {
        return Ok((Vec::new(), 0, Vec::new()));
    }
    let header_end = rdr.position();
    let header = &data[..header_end];
    let mut alerts = Vec::new();
    let mut warnings = Vec::new();
    let mut total = 0usize;
    let mode = Mode {
        detect: true,
        alerts_only: true,
        min_score,
        evidence_only: false,
    };
    let mut chunk_start = header_end;
    let mut rows = 0usize;
    loop {
        let more = rdr
            .read_byte_record(&mut rec)
            .map_err(|e| Error::Csv(e.to_string()))?;
        if more {
            rows += 1;
        }
        if rows == CHUNK_ROWS || (!more && rows > 0) {
            let end = rdr.position();
            let mut body = header.to_vec();
            if !body.ends_with(b"\n") {
                body.push(b'\n');
            }
            body.extend_from_slice(&data[chunk_start..end]);
            let out = process_body(&body, engine, mode);
            total += out.rows_in;
            collect(&out.bytes(&body), &mut alerts)?;
            warnings.extend(out.warnings);
            chunk_start = end;
            rows = 0;
        }
        if !more {
            break;
        }
    }
    Ok((alerts, total, warnings))
}

fn collect(body: &[u8], alerts: &mut Vec<Alert>) -> Result<()> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(body);
    let headers = rdr
        .headers()
        .map_err(|e| Error::Csv(e.to_string()))?
        .clone();
    let col = |n: &str| headers.iter().position(|h| h == n);
    let get =
        |r: &csv::StringRecord, n: &str| col(n).and_then(|i| r.get(i)).unwrap_or("").to_string();
    for r in rdr.records() {
        let r = r.map_err(|e| Error::Csv(e.to_string()))?;
        let host = match get(&r, "Computer") {
            h if h.is_empty() => get(&r, "host"),
            h => h,
        };
        alerts.push(Alert {
            time: get(&r, "_time"),
            host,
            alert_type: get(&r, "AlertType").replace('\n', "|"),
            risk_score: get(&r, "risk_score").parse().unwrap_or(0),
            side: get(&r, "lm_side"),
            target: get(&r, "target_host").replace('\n', ","),
            message: get(&r, "risk_message"),
        });
    }
    Ok(())
}

/// Formats epoch seconds as `YYYY-MM-DD HH:MM:SS` UTC; other text (and a
/// time past chrono's calendar, beyond year 262,143) is kept.
pub fn format_time(t: &str) -> String {
    use chrono::{Datelike, Timelike};
    let secs = t.split('.').next().unwrap_or("").parse::<i64>();
    let Some(at) = secs.ok().and_then(crate::evtx::utc) else {
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

/// Prints alerts as an aligned table plus a count per AlertType.
pub fn print_table<W: Write>(w: &mut W, alerts: &[Alert], total: usize) -> std::io::Result<()> {
    let widths = [19, 28, 40, 5, 11, 24, 70];
    write_table_row(
        w,
        &[
            "time (UTC)",
            "host",
            "AlertType",
            "risk",
            "lm_side",
            "target_host",
            "risk_message",
        ],
        &widths,
    )?;
    for a in alerts {
        let score = a.risk_score.to_string();
        let time = format_time(&a.time);
        write_table_row(
            w,
            &[
                &time,
                &a.host,
                &a.alert_type,
                &score,
                &a.side,
                &a.target,
                &a.message,
            ],
            &widths,
        )?;
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for a in alerts {
        for t in a.alert_type.split('|') {
            match counts.iter_mut().find(|(n, _)| n == t) {
                Some((_, c)) => *c += 1,
                None => counts.push((t.to_string(), 1)),
            }
        }
    }
    writeln!(w, "\n{} of {total} events labelled", alerts.len())?;
    for (t, c) in counts {
        writeln!(w, "  {c:>6}  {t}")?;
    }
    Ok(())
}

/// Correlates the events of one or more Splunk CSV exports together (all
/// files are one search) and returns the hops.
pub fn hops_of_files(
    files: &[Vec<u8>],
    engine: &Engine,
) -> (Vec<crate::correlate::Hop>, Vec<String>) {
    let mut corr = crate::correlate::Correlator::new(crate::correlate::Settings::default());
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

/// Prints hops as an aligned table.
pub fn print_hops<W: Write>(w: &mut W, hops: &[crate::correlate::Hop]) -> std::io::Result<()> {
    let widths = [19, 7, 8, 3, 14, 14, 10, 8, 10, 40, 4, 24];
    write_table_row(
        w,
        &[
            "first seen (UTC)",
            "hop",
            "chain",
            "#",
            "src_host",
            "dest_host",
            "technique",
            "outcome",
            "user",
            "reasons",
            "risk",
            "evidence",
        ],
        &widths,
    )?;
    for h in hops {
        let (first, index, risk) = (
            format_time(&h.first_seen.to_string()),
            h.hop_index.to_string(),
            h.risk_score.to_string(),
        );
        let users: Vec<&str> = h
            .src_users
            .union(&h.dest_users)
            .map(String::as_str)
            .collect();
        let reasons: Vec<&str> = h.reasons.iter().map(|r| r.as_str()).collect();
        let evidence: Vec<&str> = h.evidence.iter().copied().collect();
        write_table_row(
            w,
            &[
                &first,
                &h.id,
                &h.chain_id,
                &index,
                &h.src,
                &h.dest,
                h.technique.as_str(),
                h.outcome.as_str(),
                &users.join(","),
                &format!("{} ({})", h.confidence, reasons.join(",")),
                &risk,
                &evidence.join(","),
            ],
            &widths,
        )?;
    }
    writeln!(w, "\n{} hops", hops.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_as_utc() {
        assert_eq!(format_time("1600636151.000000"), "2020-09-20 21:09:11");
        assert_eq!(format_time("0"), "1970-01-01 00:00:00");
        assert_eq!(format_time("2024-05-14T09:12:03Z"), "2024-05-14T09:12:03Z");
    }
}
