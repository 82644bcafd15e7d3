//! Command-line entry: no arguments means "speak SCP v2 on stdin/stdout"
//! (that is how splunkd starts us); `scan`, `hunt` and `print-default-conf`
//! are for people.
//!
//! [`main_with`] is one dispatch, as ripgrep's `main`: [`args`] declares
//! every command's arguments (clap), each subcommand runs in its file
//! (`scan::run`, `hunt::run`: [`input`] finds and opens the inputs,
//! [`pipeline`] reads them, [`filter`] chooses what is reported,
//! [`progress`] shows how far it got), and [`report`] / [`html`] write what
//! they found.

pub mod args;
pub mod filter;
pub mod html;
pub mod hunt;
pub mod input;
pub mod jsonl;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod scan;

use std::ffi::OsString;
use std::io::{self, BufReader, BufWriter};
use std::path::Path;
use std::process::ExitCode;

use crate::cli::args::{AppConf, Command};
use crate::conf::{app_dir, default_conf, load, Config};
use crate::error::{Error, Result};
use crate::scp::session::{run, Environment};

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

/// Runs the program; the exit code follows from the result. No arguments:
/// the search command (that is how splunkd starts us). Bad arguments print
/// clap's message and exit with 2; `--help` and `--version` exit with 0.
pub fn main_with(args: Vec<OsString>) -> Result<ExitCode> {
    if args.is_empty() {
        return serve();
    }
    let cli = match args::parse(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return Ok(ExitCode::from(if e.use_stderr() { 2 } else { 0 }));
        }
    };
    match cli.command {
        None => serve(),
        Some(Command::Scan(a)) => scan::run(a),
        Some(Command::Hunt(a)) => hunt::run(*a),
        Some(Command::PrintDefaultConf) => {
            print!("{}", default_conf());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::PrintAppConf { which }) => {
            match which {
                AppConf::Macros => print!("{}", crate::appconf::macros_conf()),
                AppConf::Savedsearches => print!("{}", crate::appconf::savedsearches_conf()),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The search command: SCP v2 on stdin and stdout until splunkd is done.
fn serve() -> Result<ExitCode> {
    // No output but protocol frames on stdout; a panic is reported
    // through the protocol (see `scp::session`), never printed.
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

/// The app's configuration (rules, known hosts and accounts), for `scan`
/// and `hunt`; its warnings go to stderr.
fn config() -> Config {
    let (config, warnings) = load(app_dir().as_deref());
    warn(warnings);
    config
}

/// Prints warnings for the analyst at the terminal, one per line, in the one
/// format of the offline commands: `warning: <what was wrong>`. (The other
/// ways out keep the marks their readers parse: the search command's
/// inspector messages carry the level `WARN`, and the modular input's
/// stderr lines start with `WARN `, which splunkd reads as the log level.)
pub fn warn<I: IntoIterator<Item = S>, S: std::fmt::Display>(warnings: I) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// Reads an input file; the error names it.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::File {
        context: format!("reading {}", path.display()),
        source,
    })
}
