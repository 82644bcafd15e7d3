//! The search-command arguments: `| winrmdetect alerts_only=true min_score=20`.
//!
//! splunkd passes them in `searchinfo.args` with quotes already removed.
//! Unknown, repeated, positional or malformed arguments are rejected with a
//! message that names the argument and lists the accepted ones.

use crate::config::parse_bool;
use crate::error::Error;
use crate::table::Mode;

/// Accepted options, as shown in error messages.
pub const ACCEPTED: &str = "alerts_only=<bool>, min_score=<0-100>, detect=<bool>, local=<bool>";

/// Parsed options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Per-row behaviour.
    pub mode: Mode,
    /// Run on the search head only (getinfo type `stateful`).
    pub local: bool,
}

/// Parses `searchinfo.args`.
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<Options, Error> {
    let mut o = Options::default();
    let mut seen: Vec<String> = Vec::new();
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
    Ok(o)
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
    fn rejects_with_the_argument_named() {
        for (args, needle) in [
            (&["foo=1"][..], "unknown option \"foo\""),
            (&["alerts_only=maybe"], "alerts_only=\"maybe\""),
            (&["min_score=101"], "min_score"),
            (&["min_score=-1"], "min_score"),
            (&["Image"], "unexpected argument \"Image\""),
            (&["local=1", "local=0"], "more than once"),
        ] {
            let e = parse_args(args).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains(ACCEPTED), "{e}");
        }
    }
}
