//! The offline commands' arguments, declared for clap: `--help` on every
//! command, `help <command>`, `--version`, unknown flags rejected.
//!
//! Exit codes (all commands): 0 done (nothing found, or found without
//! `--fail-on-detection`); 1 something found with `--fail-on-detection`;
//! 2 bad arguments or a run that could not start or finish; 3 some inputs
//! could not be read (the others were).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::correlate::parse_time;

/// What the exit codes mean, for every command's help.
pub const EXIT_CODES: &str = "Exit codes: 0 done (nothing found, or found without --fail-on-detection); \
1 found with --fail-on-detection; 2 bad arguments or a fatal error; 3 some inputs could not be read.";

/// `winrmdetect [COMMAND]`.
#[derive(Debug, Parser)]
#[command(
    name = "winrmdetect",
    version,
    about = "WinRM / PowerShell-remoting / winrs / WMI lateral-movement detection",
    long_about = "WinRM / PowerShell-remoting / winrs / WMI lateral-movement detection.\n\n\
With no command, speaks Splunk's chunked search-command protocol (SCP v2) on stdin/stdout: \
that is how splunkd runs `| winrmdetect`.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// The command; none: the Splunk search command.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands for people.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Detection and correlation over EVTX files, Splunk CSV exports and JSON lines: alerts, hops and chains
    #[command(after_help = EXIT_CODES)]
    Hunt(Box<HuntArgs>),
    /// Label the events of Splunk CSV exports (one table per file), or correlate them (--hops)
    #[command(after_help = EXIT_CODES)]
    Scan(ScanArgs),
    /// Print the rule defaults as default/winrmdetect.conf
    PrintDefaultConf,
    /// Print the app's generated default/macros.conf or default/savedsearches.conf
    PrintAppConf {
        /// Which file.
        #[arg(value_enum)]
        which: AppConf,
    },
}

/// The generated app files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AppConf {
    /// default/macros.conf
    Macros,
    /// default/savedsearches.conf
    Savedsearches,
}

/// Output formats of `hunt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Tables for the terminal: alerts, chains, hops, summary.
    Table,
    /// JSON lines, one `kind` per line (alert, hop, chain, warning, summary; docs/hunt-output.md).
    Json,
    /// The alerts as CSV on stdout (hops and chains: --output-dir).
    Csv,
}

/// `hunt`'s arguments.
#[derive(Debug, Args)]
pub struct HuntArgs {
    /// EVTX files, Splunk CSV exports, JSON lines (Winlogbeat, Mordor), directories (walked), globs, `-` for stdin; `.gz` is read as it is
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<OsString>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Every field of every alert, uncut (the default table fits 120 columns).
    #[arg(long)]
    pub wide: bool,
    /// List one hop's evidence events (its id: `hop-3`) instead of the report.
    #[arg(long, value_name = "ID")]
    pub hop: Option<String>,
    /// Also write alerts.csv, hops.csv and chains.csv into DIR.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Also write a self-contained HTML report (graph, timeline, chains, alerts).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the hosts and hops as a Graphviz digraph.
    #[arg(long, value_name = "FILE")]
    pub dot: Option<PathBuf>,
    /// What to report.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// A winrmdetect.conf applied over the app's (as local/winrmdetect.conf is in Splunk).
    #[arg(long, value_name = "FILE")]
    pub conf: Option<PathBuf>,
    /// Exit with 1 when anything is reported (an alert or a hop).
    #[arg(long)]
    pub fail_on_detection: bool,
    /// Inputs read at once (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// No progress line on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The filters of `hunt`'s report (correlation always sees every event).
#[derive(Debug, Args, Default, Clone)]
pub struct FilterArgs {
    /// Include labels that score 0 (same as --min-score 0).
    #[arg(long)]
    pub all: bool,
    /// Only alerts and hops scoring at least N (default 1).
    #[arg(long, value_name = "N", conflicts_with = "all")]
    pub min_score: Option<u32>,
    /// Only what happened at or after TIME (ISO 8601, e.g. 2020-09-20T21:00:00Z, or epoch seconds).
    #[arg(long, value_name = "TIME", value_parser = time_arg)]
    pub from: Option<f64>,
    /// Only what happened at or before TIME.
    #[arg(long, value_name = "TIME", value_parser = time_arg)]
    pub to: Option<f64>,
    /// Only these hosts (repeatable; a short name matches its FQDN; case-insensitive).
    #[arg(long, value_name = "HOST")]
    pub host: Vec<String>,
    /// Never these hosts (repeatable).
    #[arg(long, value_name = "HOST")]
    pub exclude_host: Vec<String>,
    /// Only these rules: rule id or AlertType (repeatable; case-insensitive).
    #[arg(long, value_name = "RULE")]
    pub rule: Vec<String>,
    /// Never these rules (repeatable).
    #[arg(long, value_name = "RULE")]
    pub exclude_rule: Vec<String>,
}

/// `scan`'s arguments.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Splunk CSV exports (`| table *`, `outputcsv`).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Include labels that score 0.
    #[arg(long)]
    pub all: bool,
    /// Correlate all files together and print the hops.
    #[arg(long)]
    pub hops: bool,
}

/// A time argument: ISO 8601 or epoch seconds.
fn time_arg(s: &str) -> Result<f64, String> {
    parse_time(s).ok_or_else(|| {
        format!("{s:?} is not a time: give ISO 8601 (2020-09-20T21:09:11Z, +02:00 offsets) or epoch seconds")
    })
}

/// Parses the command line (without the program name).
pub fn parse(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once(OsString::from("winrmdetect")).chain(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &[&str]) -> Result<Cli, clap::Error> {
        parse(words.iter().map(OsString::from).collect())
    }

    #[test]
    fn clap_declaration_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    /// Issue 15: unknown flags are errors in every command, not ignored.
    #[test]
    fn issue15_unknown_flags_are_rejected_everywhere() {
        for words in [
            &["scan", "--hop", "x.csv"][..],
            &["hunt", "--hops", "x.evtx"],
            &["hunt", "x.evtx", "--formt", "json"],
            &["print-default-conf", "--all"],
            &["--bogus"],
        ] {
            let e = parse_words(words).unwrap_err();
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{words:?}"
            );
        }
        assert!(parse_words(&["scan", "--hops", "x.csv"]).is_ok());
    }

    #[test]
    fn issue15_times_and_filters_parse() {
        let cli = parse_words(&[
            "hunt",
            "--from",
            "2020-09-20T21:00:00+02:00",
            "--to",
            "1600636151",
            "--host",
            "a",
            "--host",
            "B",
            "-j",
            "3",
            "d",
        ])
        .unwrap();
        let Some(Command::Hunt(h)) = cli.command else {
            panic!()
        };
        assert_eq!(h.filter.from, Some(1_600_628_400.0));
        assert_eq!(h.filter.to, Some(1_600_636_151.0));
        assert_eq!(h.filter.host, ["a", "B"]);
        assert_eq!(h.jobs, Some(3));
        let e = parse_words(&["hunt", "--from", "yesterday", "d"]).unwrap_err();
        assert!(e.to_string().contains("not a time"), "{e}");
        assert!(parse_words(&["hunt", "-j", "0", "d"]).is_err());
        assert!(parse_words(&["hunt", "--all", "--min-score", "5", "d"]).is_err());
        assert!(parse_words(&["hunt"]).is_err());
    }
}
