//! `winrmdetect hunt PATH...`: the search command's detection and
//! correlation over EVTX files and Splunk CSV exports, offline.
//!
//! EVTX records are rendered as the Windows add-on renders them
//! ([`crate::evtx`]) and become Splunk-shaped rows (`_time`, `host`,
//! `source`, `sourcetype`, `EventCode`, `_raw`); the fields come from `_raw`
//! as they would in a search. Rows then go through the same chunk code as
//! `| winrmdetect` ([`crate::cli::scan`]).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::cli::scan::{hops_of_files, print_hops, print_table, scan_csv, Alert};
use crate::detect::Engine;
use crate::error::{Error, Result};
use crate::evtx::{EvtxFile, Position};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned tables.
    Table,
    /// CSV: alerts, a blank line, hops.
    Csv,
    /// One JSON object per line, `"kind": "alert"` or `"hop"`.
    Json,
}

/// The input files under `paths` (directories walked, sorted), EVTX and CSV.
/// A file named on the command line is taken whatever its name.
pub fn input_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let reading = |p: &Path, e| Error::File {
        context: format!("reading {}", p.display()),
        source: e,
    };
    let mut out = Vec::new();
    for p in paths {
        if !std::fs::metadata(p).map_err(|e| reading(p, e))?.is_dir() {
            out.push(p.clone());
            continue;
        }
        let listing = |d: &Path| format!("listing {}", d.display());
        crate::modinput::paths::walk(p, &["evtx", "csv"], &listing, &mut |f| {
            // A link to nothing fails here, before any file is read.
            std::fs::metadata(&f).map_err(|e| reading(&f, e))?;
            out.push(f);
            Ok(())
        })?;
    }
    Ok(out)
}

// Whether a file is EVTX (by its magic, whatever its name): the crate's one
// check, imported here, where hunt's own copy was, to leave the imports above
// to the other issue 12 branches.
use crate::modinput::paths::is_evtx;

/// One EVTX file as a Splunk-shaped CSV body, with the number of records
/// and warnings for damaged chunks or records.
pub fn evtx_to_csv(path: &Path) -> Result<(Vec<u8>, usize, Vec<String>)> {
    let mut file = EvtxFile::open(path)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| Error::Csv(e.to_string());
    // No EventCode column: the fields come from `_raw`, as in a search.
    w.write_record(["_time", "host", "source", "sourcetype", "_raw"])
        .map_err(csv_err)?;
    let (mut n, mut warnings, mut failed) = (0usize, Vec::new(), None);
    file.read_from(
        Position::default(),
        |r, _| {
            let time = format!("{:.6}", r.time);
            let source = format!("XmlWinEventLog:{}", r.channel);
            let row = [
                time.as_str(),
                r.computer.as_str(),
                source.as_str(),
                "XmlWinEventLog",
                r.xml.as_str(),
            ];
            if let Err(e) = w.write_record(row) {
                failed = Some(e);
                return false;
            }
            n += 1;
            true
        },
        |d| warnings.push(format!("{}: {d}", path.display())),
    );
    if let Some(e) = failed {
        return Err(csv_err(e));
    }
    let body = w
        .into_inner()
        .map_err(|e| Error::Csv(e.error().to_string()))?;
    Ok((body, n, warnings))
}

/// Runs the hunt and writes the report.
pub fn hunt<W: Write>(
    out: &mut W,
    paths: &[PathBuf],
    engine: &Engine,
    format: Format,
    min_score: u32,
) -> Result<()> {
    let files = input_files(paths)?;
    if files.is_empty() {
        return Err(Error::Argument("no EVTX or CSV files found".into()));
    }
    let progress = std::io::stderr().is_terminal() && files.len() > 1;
    let mut bodies = Vec::new();
    let mut alerts: Vec<(String, Alert)> = Vec::new();
    let mut events = 0usize;
    for (i, f) in files.iter().enumerate() {
        if progress {
            eprint!("\r[{}/{}] {}\x1b[K", i + 1, files.len(), f.display());
        }
        let body = if is_evtx(f)? {
            let (body, _, warnings) = evtx_to_csv(f)?;
            for w in warnings {
                eprintln!("WARN {w}");
            }
            body
        } else {
            std::fs::read(f).map_err(|e| Error::File {
                context: format!("reading {}", f.display()),
                source: e,
            })?
        };
        let (found, total, warnings) = scan_csv(&body, engine, min_score)?;
        for w in warnings {
            eprintln!("WARN {}: {w}", f.display());
        }
        events += total;
        alerts.extend(found.into_iter().map(|a| (f.display().to_string(), a)));
        bodies.push(body);
    }
    if progress {
        eprintln!("\r{} files, {events} events\x1b[K", files.len());
    }
    let (hops, warnings) = hops_of_files(&bodies, engine);
    for w in warnings {
        eprintln!("WARN {w}");
    }
    let io = |e| Error::io("writing the report", e);
    match format {
        Format::Table => {
            let list: Vec<Alert> = alerts.iter().map(|(_, a)| a.clone()).collect();
            print_table(out, &list, events).map_err(io)?;
            writeln!(out).map_err(io)?;
            print_hops(out, &hops).map_err(io)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let e = |e: csv::Error| Error::Csv(e.to_string());
            w.write_record([
                "file",
                "_time",
                "host",
                "AlertType",
                "risk_score",
                "lm_side",
                "target_host",
                "risk_message",
            ])
            .map_err(e)?;
            for (f, a) in &alerts {
                let score = a.risk_score.to_string();
                w.write_record([
                    f.as_str(),
                    &a.time,
                    &a.host,
                    &a.alert_type,
                    &score,
                    &a.side,
                    &a.target,
                    &a.message,
                ])
                .map_err(e)?;
            }
            let body = w
                .into_inner()
                .map_err(|x| Error::Csv(x.error().to_string()))?;
            out.write_all(&body).map_err(io)?;
            writeln!(out).map_err(io)?;
            out.write_all(&crate::chunk::hops_body(&hops)).map_err(io)?;
        }
        Format::Json => {
            for (f, a) in &alerts {
                let v = serde_json::json!({
                    "kind": "alert", "file": f, "_time": a.time, "host": a.host,
                    "AlertType": a.alert_type.split('|').collect::<Vec<_>>(),
                    "risk_score": a.risk_score, "lm_side": a.side,
                    "target_host": a.target, "risk_message": a.message,
                });
                writeln!(out, "{v}").map_err(io)?;
            }
            for h in &hops {
                let v = serde_json::json!({
                    "kind": "hop", "lm_hop_id": h.id, "lm_chain_id": h.chain_id,
                    "lm_hop": h.hop_index, "src_host": h.src, "dest_host": h.dest,
                    "src_user": h.src_users, "dest_user": h.dest_users,
                    "lm_technique": h.technique.as_str(), "lm_outcome": h.outcome.as_str(),
                    "first_seen": h.first_seen, "last_seen": h.last_seen,
                    "evidence": h.evidence, "event_count": h.events,
                    "lm_confidence": h.confidence,
                    "lm_confidence_reasons": h.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>(), "risk_score": h.risk_score,
                });
                writeln!(out, "{v}").map_err(io)?;
            }
        }
    }
    Ok(())
}
