//! The search-command arguments: `| winrmdetect alerts_only=true min_score=20`.
//!
//! splunkd passes them in `searchinfo.args` with quotes already removed.
//! Unknown, repeated, positional or malformed arguments are rejected with a
//! message that names the argument and lists the accepted ones.

use crate::chunk::Mode;
use crate::conf::parse_bool;
use crate::correlate::Settings;
use crate::error::Error;

/// Accepted options, as shown in error messages.
pub const ACCEPTED: &str = "alerts_only=<bool>, min_score=<0-100>, detect=<bool>, local=<bool>, \
correlate=<bool>, summary=<bool>, window=<duration>, chain_window=<duration>, max_evidence=<count>, phase=map";

/// Parsed options.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Options {
    /// Per-row behaviour.
    pub mode: Mode,
    /// Run on the search head only (getinfo type `stateful`).
    pub local: bool,
    /// Correlation mode: the events of each hop, annotated.
    pub correlate: Option<Settings>,
    /// With correlation: one row per hop instead of the hops' events.
    pub summary: bool,
}

/// Parses `searchinfo.args`.
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<Options, Error> {
    let mut parsed = Parsed::default();
    for arg in args {
        let arg = arg.as_ref().trim();
        let Some((key, value)) = arg.split_once('=') else {
            return Err(rejected(format!(
                "unexpected argument {arg:?} (options are written name=value)"
            )));
        };
        parsed.set(key.trim(), value.trim())?;
    }
    parsed.finish()
}

/// The arguments read so far.
#[derive(Default)]
struct Parsed {
    options: Options,
    /// `correlate=` as given; its settings are kept apart until the end.
    correlate: bool,
    settings: Settings,
    /// The options given, to refuse one given twice.
    seen: Vec<String>,
}

impl Parsed {
    /// Takes one `key=value`.
    fn set(&mut self, key: &str, value: &str) -> Result<(), Error> {
        if self.seen.iter().any(|s| s == key) {
            return Err(rejected(format!("option {key} given more than once")));
        }
        self.seen.push(key.to_string());
        let mode = &mut self.options.mode;
        match key {
            "alerts_only" => mode.alerts_only = boolean(key, value)?,
            "detect" => mode.detect = boolean(key, value)?,
            "local" => self.options.local = boolean(key, value)?,
            "correlate" => self.correlate = boolean(key, value)?,
            "summary" => self.options.summary = boolean(key, value)?,
            // Splunk's map phase of `correlate=true` (its `streaming_preop`).
            "phase" if value == "map" => mode.evidence_only = true,
            "window" => self.settings.window = duration(key, value)?,
            "chain_window" => self.settings.chain_window = duration(key, value)?,
            "max_evidence" => self.settings.max_evidence = count(key, value)?,
            "min_score" => mode.min_score = score(key, value)?,
            _ => return Err(rejected(format!("unknown option {key:?}"))),
        }
        Ok(())
    }

    /// The options, once every argument is read.
    fn finish(self) -> Result<Options, Error> {
        let tuned = self
            .seen
            .iter()
            .any(|k| ["window", "chain_window", "max_evidence", "summary"].contains(&k.as_str()));
        if tuned && !self.correlate {
            return Err(rejected(
                "summary, window, chain_window and max_evidence need correlate=true".into(),
            ));
        }
        Ok(Options {
            correlate: self.correlate.then_some(self.settings),
            ..self.options
        })
    }
}

/// An argument refused: the message names it and lists the accepted ones.
fn rejected(msg: String) -> Error {
    Error::Argument(format!("winrmdetect: {msg}. Accepted options: {ACCEPTED}"))
}

/// A Splunk boolean ([`parse_bool`], as in the `.conf` files).
fn boolean(key: &str, v: &str) -> Result<bool, Error> {
    parse_bool(v).ok_or_else(|| rejected(format!("option {key}={v:?}: expected true or false")))
}

/// A duration ([`parse_duration`]), in seconds.
fn duration(key: &str, v: &str) -> Result<f64, Error> {
    parse_duration(v).ok_or_else(|| {
        rejected(format!(
            "option {key}={v:?}: expected a duration such as 120, 90s, 5m or 1h"
        ))
    })
}

/// A positive count.
fn count(key: &str, v: &str) -> Result<usize, Error> {
    v.parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| rejected(format!("option {key}={v:?}: expected a positive count")))
}

/// A risk score, 0 to 100.
fn score(key: &str, v: &str) -> Result<u32, Error> {
    v.parse::<u32>().ok().filter(|n| *n <= 100).ok_or_else(|| {
        rejected(format!(
            "option {key}={v:?}: expected an integer from 0 to 100"
        ))
    })
}

/// `120`, `120s`, `5m`, `1h` → seconds.
fn parse_duration(v: &str) -> Option<f64> {
    let (num, unit) = match v.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, "s"),
    };
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let scale = match unit {
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Some(n * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        assert_eq!(parse_args::<&str>(&[]).unwrap(), Options::default());
        let o = parse_args(&["alerts_only=t", "min_score=20", "detect=1", "local=false"]).unwrap();
        assert!(o.mode.alerts_only && o.mode.detect && !o.local);
        assert_eq!(o.mode.min_score, 20);
    }

    #[test]
    fn booleans_are_splunks_as_in_the_conf_files() {
        for (v, b) in [
            ("TRUE", true),
            ("t", true),
            ("1", true),
            ("yes", true),
            ("y", true),
        ]
        .into_iter()
        .chain([("on", true), ("False", false), ("f", false), ("0", false)])
        .chain([("no", false), ("n", false), ("off", false)])
        {
            assert_eq!(
                parse_args(&[format!("detect={v}")]).unwrap().mode.detect,
                b,
                "{v}"
            );
        }
        for v in ["", "2", "maybe", "ja", "on1"] {
            assert!(parse_args(&[format!("detect={v}")]).is_err(), "{v}");
        }
    }

    #[test]
    fn correlation_options() {
        let o = parse_args(&["correlate=true", "window=5m", "chain_window=2h"]).unwrap();
        let c = o.correlate.unwrap();
        assert_eq!((c.window, c.chain_window), (300.0, 7200.0));
        assert!(parse_args(&["correlate=false"])
            .unwrap()
            .correlate
            .is_none());
        assert_eq!(
            parse_args(&["correlate=t"])
                .unwrap()
                .correlate
                .unwrap()
                .window,
            120.0
        );
    }

    #[test]
    fn rejects_with_the_argument_named() {
        for (args, needle) in [
            (&["foo=1"][..], "unknown option \"foo\""),
            (&["alerts_only=maybe"], "alerts_only=\"maybe\""),
            (&["min_score=101"], "min_score"),
            (&["min_score=-1"], "min_score"),
            (&["Image"], "unexpected argument \"Image\""),
            (&["local=1", "local=0"], "more than once"),
            (&["window=5m"], "need correlate=true"),
            (&["correlate=true", "window=5 minutes"], "window"),
            (&["correlate=true", "max_evidence=0"], "max_evidence"),
        ] {
            let e = parse_args(args).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains(ACCEPTED), "{e}");
        }
    }
}
