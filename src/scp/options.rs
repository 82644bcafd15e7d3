//! The search-command arguments: `| winrmdetect alerts_only=true min_score=20`.
//!
//! splunkd passes them in `searchinfo.args` with quotes already removed.
//! Unknown, repeated, positional or malformed arguments are rejected with a
//! message that names the argument and lists the accepted ones.

use crate::chunk::Mode;
use crate::conf::parse_bool;
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
    pub correlate: Option<crate::correlate::Settings>,
    /// With correlation: one row per hop instead of the hops' events.
    pub summary: bool,
}

/// Parses `searchinfo.args`.
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<Options, Error> {
    let mut o = Options::default();
    let mut seen: Vec<String> = Vec::new();
    let mut correlate = false;
    let mut settings = crate::correlate::Settings::default();
    let err =
        |msg: String| Error::Argument(format!("winrmdetect: {msg}. Accepted options: {ACCEPTED}"));
    for arg in args {
        let arg = arg.as_ref().trim();
        let Some((key, value)) = arg.split_once('=') else {
            return Err(err(format!(
                "unexpected argument {arg:?} (options are written name=value)"
            )));
        };
        let key = key.trim();
        let value = value.trim();
        let duration = |v: &str| {
            parse_duration(v).ok_or_else(|| {
                err(format!(
                    "option {key}={v:?}: expected a duration such as 120, 90s, 5m or 1h"
                ))
            })
        };
        if seen.iter().any(|s| s == key) {
            return Err(err(format!("option {key} given more than once")));
        }
        seen.push(key.to_string());
        let boolean = |v: &str| {
            parse_bool(v).ok_or_else(|| err(format!("option {key}={v:?}: expected true or false")))
        };
        match key {
            "alerts_only" => o.mode.alerts_only = boolean(value)?,
            "detect" => o.mode.detect = boolean(value)?,
            "local" => o.local = boolean(value)?,
            "correlate" => correlate = boolean(value)?,
            "summary" => o.summary = boolean(value)?,
            // Splunk's map phase of `correlate=true` (its `streaming_preop`).
            "phase" if value == "map" => o.mode.evidence_only = true,
            "window" | "chain_window" | "max_evidence" => {
                let c = &mut settings;
                match key {
                    "window" => c.window = duration(value)?,
                    "chain_window" => c.chain_window = duration(value)?,
                    _ => {
                        c.max_evidence =
                            value
                                .parse::<usize>()
                                .ok()
                                .filter(|n| *n > 0)
                                .ok_or_else(|| {
                                    err(format!(
                                        "option max_evidence={value:?}: expected a positive count"
                                    ))
                                })?
                    }
                }
            }
            "min_score" => {
                o.mode.min_score =
                    value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| *n <= 100)
                        .ok_or_else(|| {
                            err(format!(
                                "option min_score={value:?}: expected an integer from 0 to 100"
                            ))
                        })?
            }
            _ => return Err(err(format!("unknown option {key:?}"))),
        }
    }
    let tuned = seen
        .iter()
        .any(|k| ["window", "chain_window", "max_evidence", "summary"].contains(&k.as_str()));
    if tuned && !correlate {
        return Err(err(
            "summary, window, chain_window and max_evidence need correlate=true".into(),
        ));
    }
    o.correlate = correlate.then_some(settings);
    Ok(o)
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
