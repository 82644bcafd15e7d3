//! Command-line entry: no arguments means "speak SCP v2 on stdin/stdout"
//! (that is how splunkd starts us); `scan FILE...` and
//! `print-default-conf` are for people.

pub mod hunt;
pub mod scan;

use std::ffi::OsString;
use std::io::{self, BufReader, BufWriter, Write};
use std::process::ExitCode;

use crate::cli::scan::{hops_of_files, print_hops, print_table, scan_csv};
use crate::conf::{app_dir, default_conf, load_engine};
use crate::error::{Error, Result};
use crate::scp::session::{run, Environment};

const USAGE: &str = "usage: winrmdetect                      (Splunk chunked protocol on stdin/stdout)\n       winrmdetect scan [--all] FILE.csv...  (label a Splunk CSV export, print a table)
       winrmdetect scan --hops FILE.csv...   (correlate the files into hops, print a table)\n       winrmdetect hunt [--format table|csv|json] [--all] PATH...
                                            (EVTX files, CSV exports or directories: alerts and hops)
       winrmdetect print-default-conf       (the rule defaults as default/winrmdetect.conf)";

/// Asks the kernel for 1 MiB pipe buffers on stdin and stdout (the
/// unprivileged maximum on Linux). A 30 MB reply through the default 64 KiB
/// pipe costs thousands of sleeps and wake-ups; this cuts the kernel time of a
/// session by more than half. Where the descriptors are not pipes, or the
/// platform has no such call, nothing changes.
fn widen_pipes() {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsFd;
        let _ = rustix::pipe::fcntl_setpipe_size(io::stdin().as_fd(), 1 << 20);
        let _ = rustix::pipe::fcntl_setpipe_size(io::stdout().as_fd(), 1 << 20);
    }
}

/// Runs the program; the exit code follows from the result.
pub fn main_with(args: Vec<OsString>) -> Result<ExitCode> {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match args.first().map(String::as_str) {
        None => {
            // No output but protocol frames on stdout; a panic is reported
            // through the protocol (see `command`), never printed.
            std::panic::set_hook(Box::new(|_| {}));
            let env = Environment { app_dir: app_dir() };
            widen_pipes();
            let stdin = io::stdin().lock();
            let stdout = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            match run(BufReader::with_capacity(1 << 16, stdin), stdout, &env) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(e) if e.is_peer_gone() => Ok(ExitCode::SUCCESS),
                Err(e) => Err(e),
            }
        }
        Some("scan") => {
            let all = args.iter().any(|a| a == "--all");
            let hops = args.iter().any(|a| a == "--hops");
            let files: Vec<&String> = args[1..].iter().filter(|a| !a.starts_with("--")).collect();
            if files.is_empty() {
                return Err(Error::Argument(USAGE.into()));
            }
            let (engine, warnings) = load_engine(app_dir().as_deref());
            let mut out = BufWriter::new(io::stdout().lock());
            for w in warnings {
                eprintln!("warning: {w}");
            }
            if hops {
                let mut data = Vec::new();
                for f in &files {
                    data.push(read_file(f)?);
                }
                let (hops, warnings) = hops_of_files(&data, &engine);
                for w in warnings {
                    eprintln!("warning: {w}");
                }
                print_hops(&mut out, &hops).map_err(|e| Error::io("writing the table", e))?;
                out.flush().map_err(|e| Error::io("writing the table", e))?;
                return Ok(ExitCode::SUCCESS);
            }
            for f in files {
                let data = read_file(f)?;
                let (alerts, total, warnings) = scan_csv(&data, &engine, if all { 0 } else { 1 })?;
                for w in warnings {
                    eprintln!("warning: {f}: {w}");
                }
                writeln!(out, "== {f}").map_err(|e| Error::io("writing the table", e))?;
                print_table(&mut out, &alerts, total)
                    .map_err(|e| Error::io("writing the table", e))?;
            }
            out.flush().map_err(|e| Error::io("writing the table", e))?;
            Ok(ExitCode::SUCCESS)
        }
        Some("hunt") => {
            let mut format = crate::cli::hunt::Format::Table;
            let mut all = false;
            let mut paths = Vec::new();
            let mut it = args[1..].iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--all" => all = true,
                    "--format" => {
                        format = match it.next().map(String::as_str) {
                            Some("table") => crate::cli::hunt::Format::Table,
                            Some("csv") => crate::cli::hunt::Format::Csv,
                            Some("json") => crate::cli::hunt::Format::Json,
                            other => {
                                return Err(Error::Argument(format!(
                                    "--format takes table, csv or json, not {other:?}"
                                )))
                            }
                        }
                    }
                    s if s.starts_with("--") => {
                        return Err(Error::Argument(format!("unknown option {s}\n{USAGE}")))
                    }
                    s => paths.push(std::path::PathBuf::from(s)),
                }
            }
            if paths.is_empty() {
                return Err(Error::Argument(USAGE.into()));
            }
            let (engine, warnings) = load_engine(app_dir().as_deref());
            for w in warnings {
                eprintln!("warning: {w}");
            }
            let mut out = BufWriter::new(io::stdout().lock());
            crate::cli::hunt::hunt(&mut out, &paths, &engine, format, if all { 0 } else { 1 })?;
            out.flush()
                .map_err(|e| Error::io("writing the report", e))?;
            Ok(ExitCode::SUCCESS)
        }
        Some("print-default-conf") => {
            print!("{}", default_conf());
            Ok(ExitCode::SUCCESS)
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(Error::Argument(format!(
            "unknown command {other:?}\n{USAGE}"
        ))),
    }
}

/// Reads an input file; the error names it.
fn read_file(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::File {
        context: format!("reading {path}"),
        source,
    })
}
