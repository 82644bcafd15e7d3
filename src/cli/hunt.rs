//! `winrmdetect hunt PATH...`: the search command's detection and
//! correlation over EVTX files, Splunk CSV exports and JSON lines, offline.
//!
//! The inputs ([`crate::cli::input`]) are read in parallel, each once, by
//! [`crate::cli::pipeline`]: EVTX records seen as the Windows add-on's
//! events (the fields come from `_raw`, as in a search), CSV rows through
//! the search command's row loop. A bad input is an `ERROR <name>: <why>`
//! line and the run goes on. Correlation follows, the [`Filter`]s choose
//! what is reported, and [`crate::cli::report`] writes it.

use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;

use crate::cli::args::{HuntArgs, OutputFormat};
use crate::cli::filter::Filter;
use crate::cli::html;
use crate::cli::input::{self, Input, Kind};
use crate::cli::pipeline::{correlate, csv_body, evtx_file, run_all, FileResult, Progress};
use crate::cli::progress::with_progress;
use crate::cli::report::{self, colour_wanted, Report, Summary, View};
use crate::cli::scan::CHUNK_ROWS;
use crate::cli::{jsonl, warn};
use crate::conf::{app_dir, load, load_with, Config};
use crate::detect::Engine;
use crate::error::{Error, Result};
use crate::evtx::{EvtxFile, Position};

/// `winrmdetect hunt`: every input read, all of them correlated together,
/// one report. Progress (on a terminal), warnings and errors go to stderr.
pub fn run(args: HuntArgs) -> Result<ExitCode> {
    let filter = Filter::new(&args.filter)?;
    let config = hunt_config(args.conf.as_deref())?;
    let found = input::discover(&args.paths);
    for f in &found.failed {
        eprintln!("{f}");
    }
    if found.inputs.is_empty() && found.failed.is_empty() {
        return Err(Error::Argument(
            "no EVTX, CSV or JSON lines files found".into(),
        ));
    }
    let mut results = read_all(&found.inputs, &args, &config.engine, filter.min_score);
    let mut report = Report {
        summary: Summary {
            files_skipped: found.skipped,
            files_failed: found.failed.len(),
            ..Summary::default()
        },
        // The JSON lines carry the inputs that failed too.
        warnings: found.failed.iter().map(ToString::to_string).collect(),
        ..Report::default()
    };
    take_results(&mut report, &results, &filter);
    let (hops, evidence, warnings) = correlate(&mut results, &config.known);
    warn(&warnings);
    report.warnings.extend(warnings);
    report.hops = hops.into_iter().filter(|h| filter.hop(h)).collect();
    report.evidence = evidence;
    write_report(&report, &args)?;
    Ok(exit_code(&report, args.fail_on_detection))
}

/// The app's configuration, with `--conf` over it.
fn hunt_config(conf: Option<&Path>) -> Result<Config> {
    let (config, warnings) = match conf {
        Some(file) => load_with(app_dir().as_deref(), file)?,
        None => load(app_dir().as_deref()),
    };
    warn(warnings);
    Ok(config)
}

/// Reads every input, `-j` at a time, with a progress line on a terminal.
fn read_all(inputs: &[Input], args: &HuntArgs, engine: &Engine, min_score: u32) -> Vec<FileResult> {
    let jobs = args
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    // Each input's size (regular files), looked up once.
    let sized: Vec<(&Input, Option<u64>)> = inputs
        .iter()
        .map(|i| {
            let meta = i.path().and_then(|p| std::fs::metadata(p).ok());
            (i, meta.filter(|m| m.is_file()).map(|m| m.len()))
        })
        .collect();
    let total: Option<u64> = sized.iter().map(|(_, size)| *size).sum();
    let show = !args.quiet && io::stderr().is_terminal();
    let progress = Progress::default();
    with_progress(show, inputs.len(), total, &progress, || {
        run_all(&sized, jobs, |&(i, size)| {
            read_input(i, size, engine, min_score, &progress)
        })
    })
}

/// Reads one input (`size`: its length, when a regular file); what went
/// wrong is in the result.
fn read_input(
    input: &Input,
    size: Option<u64>,
    engine: &Engine,
    min_score: u32,
    progress: &Progress,
) -> FileResult {
    let mut r = FileResult {
        name: input.name.clone(),
        ..FileResult::default()
    };
    match input::open(input) {
        Err(f) => r.error = Some(f.why),
        Ok(opened) => match opened.kind {
            Kind::Evtx => match opened.into_evtx() {
                Ok(f) => {
                    r = evtx_file(f, &input.name, engine, min_score, progress);
                    // The rest of the file: its last chunk, unused ones.
                    let left = size.map_or(0, |n| n.saturating_sub(r.bytes_told));
                    progress.bytes.fetch_add(left, Relaxed);
                }
                Err(e) => r.error = Some(e.to_string()),
            },
            Kind::Csv => {
                let mut body = Vec::new();
                match opened.into_reader().read_to_end(&mut body) {
                    Ok(_) => csv_body(&mut r, &body, engine, min_score),
                    Err(e) => r.error = Some(format!("reading: {e}")),
                }
                progress.bytes.fetch_add(body.len() as u64, Relaxed);
            }
            Kind::JsonLines => json_lines(&mut r, opened, engine, min_score, progress),
        },
    }
    progress.files.fetch_add(1, Relaxed);
    r
}

/// Reads JSON lines into `r`, chunk by chunk, as Splunk CSV.
fn json_lines(
    r: &mut FileResult,
    opened: input::Opened,
    engine: &Engine,
    min_score: u32,
    progress: &Progress,
) {
    let name = r.name.clone();
    let converted = jsonl::to_csv_chunks(opened.into_reader(), &name, CHUNK_ROWS, |body| {
        csv_body(r, &body, engine, min_score);
        progress.bytes.fetch_add(body.len() as u64, Relaxed);
        Ok(())
    });
    match converted {
        Ok(stats) => r
            .warnings
            .extend(stats.warnings.iter().map(|w| format!("{name}: {w}"))),
        Err(e) => r.error = Some(e.to_string()),
    }
}

/// The inputs' alerts (filtered), warnings and errors
/// (printed in input order) and counts.
fn take_results(report: &mut Report, results: &[FileResult], filter: &Filter) {
    for r in results {
        warn(&r.warnings);
        report.warnings.extend(r.warnings.iter().cloned());
        report.summary.events += r.events;
        report.summary.labelled += r.alerts.len();
        match &r.error {
            Some(why) => {
                let line = input::Failure::new(&r.name, why.as_str()).to_string();
                eprintln!("{line}");
                report.warnings.push(line);
                report.summary.files_failed += 1;
            }
            None => report.summary.files_read += 1,
        }
        let file = |a: &report::Alert| report::Alert {
            file: r.name.clone(),
            ..a.clone()
        };
        report
            .alerts
            .extend(r.alerts.iter().filter(|a| filter.alert(a)).map(file));
    }
}

/// Writes the report to stdout, and the files asked for.
fn write_report(report: &Report, args: &HuntArgs) -> Result<()> {
    if let Some(dir) = &args.output_dir {
        report::write_csv_dir(dir, report)?;
    }
    if let Some(path) = &args.html {
        write_file(path, html::html(report).as_bytes())?;
    }
    if let Some(path) = &args.dot {
        write_file(path, html::dot(report).as_bytes())?;
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let io = |e| Error::io("writing the report", e);
    match (&args.hop, args.format) {
        (Some(id), _) => report::write_hop_evidence(&mut out, report, id)?,
        (None, OutputFormat::Table) => {
            let view = View {
                wide: args.wide,
                colour: colour_wanted(io::stdout().is_terminal()),
            };
            report::write_table(&mut out, report, &view).map_err(io)?;
        }
        (None, OutputFormat::Json) => report::write_json(&mut out, report)?,
        (None, OutputFormat::Csv) => report::write_alerts_csv(&mut out, report)?,
    }
    out.flush().map_err(io)
}

/// Writes one output file; the error names it.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| Error::File {
        context: format!("writing {}", path.display()),
        source,
    })
}

/// 3 when an input failed, 1 when something was found and
/// `--fail-on-detection` asks, else 0.
fn exit_code(report: &Report, fail_on_detection: bool) -> ExitCode {
    let found = !report.alerts.is_empty() || !report.hops.is_empty();
    if report.summary.files_failed > 0 {
        ExitCode::from(3)
    } else if fail_on_detection && found {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// One EVTX file as a Splunk-shaped CSV body, with the number of records
/// and warnings for damaged chunks or records: how `hunt` read EVTX before
/// issue 15, kept as the reference the direct path is tested against.
pub fn evtx_to_csv(path: &Path) -> Result<(Vec<u8>, usize, Vec<String>)> {
    let mut file = EvtxFile::open(path)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |source| Error::CsvBody {
        context: format!("{} as CSV", path.display()),
        source,
    };
    // No EventCode column: the fields come from `_raw`, as in a search.
    w.write_record(crate::cli::pipeline::EVTX_COLUMNS)
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
