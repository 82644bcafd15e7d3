//! `winrmdetect hunt PATH...`: the search command's detection and
//! correlation over EVTX files and Splunk CSV exports, offline.
//!
//! EVTX records are rendered as the Windows add-on renders them
//! ([`crate::evtx`]) and become Splunk-shaped rows (`_time`, `host`,
//! `source`, `sourcetype`, `EventCode`, `_raw`); the fields come from `_raw`
//! as they would in a search. Rows then go through the same chunk code as
//! `| winrmdetect` ([`crate::cli::scan::scan_csv`]), and the report is
//! written by [`crate::cli::report`].
//!
//! Nothing here prints but [`run`], the command's entry: the steps return
//! their warnings to it.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use crate::cli::report::Format;
use crate::cli::report::{self, Alert};
use crate::cli::scan::{hops_of_files, scan_csv};
use crate::cli::{config, read_file, warn, USAGE};
use crate::detect::Engine;
use crate::error::{Error, Result};
use crate::evtx::{EvtxFile, Position};

/// `hunt`'s arguments: `[--format table|csv|json] [--all] PATH...`.
struct Args {
    format: Format,
    all: bool,
    paths: Vec<PathBuf>,
}

impl Args {
    fn parse(args: &[String]) -> Result<Args> {
        let mut parsed = Args {
            format: Format::Table,
            all: false,
            paths: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--all" => parsed.all = true,
                "--format" => parsed.format = format(it.next().map(String::as_str))?,
                s if s.starts_with("--") => {
                    return Err(Error::Argument(format!("unknown option {s}\n{USAGE}")))
                }
                s => parsed.paths.push(PathBuf::from(s)),
            }
        }
        if parsed.paths.is_empty() {
            return Err(Error::Argument(USAGE.into()));
        }
        Ok(parsed)
    }
}

/// The value of `--format`.
fn format(value: Option<&str>) -> Result<Format> {
    match value {
        Some("table") => Ok(Format::Table),
        Some("csv") => Ok(Format::Csv),
        Some("json") => Ok(Format::Json),
        other => Err(Error::Argument(format!(
            "--format takes table, csv or json, not {other:?}"
        ))),
    }
}

/// `winrmdetect hunt`: every input file scanned, all of them correlated
/// together, one report. Progress (on a terminal) and warnings go to
/// stderr as they come.
pub fn run(args: &[String]) -> Result<ExitCode> {
    let args = Args::parse(args)?;
    let config = config();
    let engine = &config.engine;
    let files = input_files(&args.paths)?;
    if files.is_empty() {
        return Err(Error::Argument("no EVTX or CSV files found".into()));
    }
    let progress = io::stderr().is_terminal() && files.len() > 1;
    let mut found = Found::default();
    for (i, f) in files.iter().enumerate() {
        if progress {
            eprint!("\r[{}/{}] {}\x1b[K", i + 1, files.len(), f.display());
        }
        let (body, warnings) = read_input(f)?;
        warn(&warnings);
        warn(&found.scan(f, body, engine, if args.all { 0 } else { 1 })?);
    }
    if progress {
        eprintln!("\r{} files, {} events\x1b[K", files.len(), found.events);
    }
    let (hops, warnings) = hops_of_files(&found.bodies, engine, &config.known);
    warn(&warnings);
    let mut out = BufWriter::new(io::stdout().lock());
    report::write(&mut out, args.format, &found.alerts, found.events, &hops)?;
    out.flush()
        .map_err(|e| Error::io("writing the report", e))?;
    Ok(ExitCode::SUCCESS)
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
    let csv_err = |source| Error::CsvBody {
        context: format!("{} as CSV", path.display()),
        source,
    };
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
    let body = w.into_inner().map_err(|e| Error::File {
        context: format!("writing {} as CSV", path.display()),
        source: e.into_error(),
    })?;
    Ok((body, n, warnings))
}

/// One input file as a CSV body: an EVTX file converted (with warnings for
/// damaged chunks or records), a CSV export as it is.
pub fn read_input(path: &Path) -> Result<(Vec<u8>, Vec<String>)> {
    if is_evtx(path)? {
        let (body, _, warnings) = evtx_to_csv(path)?;
        Ok((body, warnings))
    } else {
        Ok((read_file(path)?, Vec::new()))
    }
}

/// What the hunt has found so far.
#[derive(Debug, Default)]
pub struct Found {
    /// Every input as a CSV body, for correlation.
    pub bodies: Vec<Vec<u8>>,
    /// The labelled events of every input, with their file.
    pub alerts: Vec<Alert>,
    /// Rows read.
    pub events: usize,
}

impl Found {
    /// Scans one input's body; returns the warnings, prefixed with its path.
    pub fn scan(
        &mut self,
        path: &Path,
        body: Vec<u8>,
        engine: &Engine,
        min_score: u32,
    ) -> Result<Vec<String>> {
        let file = path.display().to_string();
        let scan = scan_csv(&file, &body, engine, min_score)?;
        self.events += scan.events;
        self.alerts.extend(scan.alerts.into_iter().map(|a| Alert {
            file: file.clone(),
            ..a
        }));
        self.bodies.push(body);
        Ok(scan
            .warnings
            .iter()
            .map(|w| format!("{file}: {w}"))
            .collect())
    }
}
