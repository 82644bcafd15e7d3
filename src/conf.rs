//! Rule settings the Splunk way: `default/winrmdetect.conf` in the app, with
//! `local/winrmdetect.conf` overriding it key by key.
//!
//! ```text
//! [winrm_remoteexec_child]
//! impact = 90
//! confidence = 50
//! message = wsmprovhost.exe on $risk_object$ spawned $process_name$
//! disabled = false
//! ```
//!
//! Known hosts and accounts (event collectors, jump hosts, management
//! servers, admin accounts) are `[known:<tag>]` stanzas; their hops are
//! tagged `lm_known=<tag>` and keep `risk_percent` of their risk
//! ([`crate::correlate::known`]):
//!
//! ```text
//! [known:jump_host]
//! hosts = jump01, 10.0.0.7
//! users = CORP\svc_ansible
//! risk_percent = 50
//! ```
//!
//! Problems in the files never stop a search: they come back as warnings
//! (shown in Splunk's UI) and the compiled-in default stays in force.

use std::path::{Path, PathBuf};

use crate::correlate::{Known, KnownSet};
use crate::detect::rules::RULES;
use crate::detect::{Engine, RuleSettings};
use crate::error::Error;

/// The conf file name.
pub const CONF_NAME: &str = "winrmdetect.conf";

/// One `[stanza]` with its `key = value` lines, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    /// The stanza name.
    pub name: String,
    /// `(key, value, line)` triples.
    pub entries: Vec<(String, String, usize)>,
}

/// Parses Splunk `.conf` text: `[stanza]` headers, `key = value` lines,
/// `#` comments, and values continued with a trailing backslash.
pub fn parse_conf(text: &str, file: &str) -> Result<Vec<Stanza>, Error> {
    let mut stanzas = vec![Stanza {
        name: "default".into(),
        entries: Vec::new(),
    }];
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let lineno = i + 1;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[') {
            let name = name.strip_suffix(']').ok_or_else(|| Error::Config {
                file: file.into(),
                line: lineno,
                message: "stanza header without closing ']'".into(),
            })?;
            stanzas.push(Stanza {
                name: name.trim().to_string(),
                entries: Vec::new(),
            });
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            return Err(Error::Config {
                file: file.into(),
                line: lineno,
                message: format!("expected 'key = value', got {t:?}"),
            });
        };
        let mut value = v.trim().to_string();
        while value.ends_with('\\') {
            value.pop();
            value.truncate(value.trim_end().len());
            match lines.next() {
                Some((_, next)) => {
                    value.push('\n');
                    value.push_str(next.trim());
                }
                None => break,
            }
        }
        let last = stanzas.last_mut().expect("there is always a stanza");
        last.entries
            .push((k.trim().to_string(), value.trim().to_string(), lineno));
    }
    Ok(stanzas)
}

/// Applies conf stanzas to rule settings; returns warnings for what was ignored.
pub fn apply(settings: &mut [RuleSettings], stanzas: &[Stanza], file: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    for st in stanzas.iter().filter(|st| known_tag(st).is_none()) {
        let Some(i) = RULES.iter().position(|r| r.id == st.name) else {
            if st.name != "default" || !st.entries.is_empty() {
                warnings.push(format!("{file}: unknown rule [{}] ignored", st.name));
            }
            continue;
        };
        let s = &mut settings[i];
        for (k, v, line) in &st.entries {
            let bad = |what: &str| {
                format!(
                    "{file}: line {line}: [{}] {k} = {v:?}: {what}; kept the previous value",
                    st.name
                )
            };
            match k.as_str() {
                "impact" | "confidence" => match v.parse::<u8>() {
                    Ok(n) if n <= 100 => {
                        if k == "impact" {
                            s.impact = n
                        } else {
                            s.confidence = n
                        }
                    }
                    _ => warnings.push(bad("expected an integer from 0 to 100")),
                },
                "message" => s.message = v.clone(),
                "disabled" => match parse_bool(v) {
                    Some(b) => s.enabled = !b,
                    None => warnings.push(bad("expected a boolean")),
                },
                _ => warnings.push(format!(
                    "{file}: line {line}: unknown setting {k} in [{}] ignored",
                    st.name
                )),
            }
        }
    }
    warnings
}

/// The tag of a `[known:<tag>]` stanza.
fn known_tag(st: &Stanza) -> Option<&str> {
    st.name
        .strip_prefix("known:")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Adds the `[known:<tag>]` stanzas to `known` (a later layer's keys add
/// to, or for `risk_percent` replace, an earlier one's); returns warnings
/// for what was ignored.
pub fn apply_known(known: &mut Known, stanzas: &[Stanza], file: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    for st in stanzas {
        let Some(tag) = known_tag(st) else { continue };
        let at = match known.sets.iter().position(|s| s.tag == tag) {
            Some(i) => i,
            None => {
                known.sets.push(KnownSet::new(tag));
                known.sets.len() - 1
            }
        };
        let set = &mut known.sets[at];
        for (k, v, line) in &st.entries {
            match k.as_str() {
                "hosts" => set.add_hosts(v),
                "users" => set.add_users(v),
                "risk_percent" => match v.parse::<u32>() {
                    Ok(n) if n <= 100 => set.risk_percent = n,
                    _ => warnings.push(format!(
                        "{file}: line {line}: [{}] risk_percent = {v:?}: expected an integer from 0 to 100; kept {}",
                        st.name, set.risk_percent
                    )),
                },
                _ => warnings.push(format!(
                    "{file}: line {line}: unknown setting {k} in [{}] ignored (hosts, users, risk_percent)",
                    st.name
                )),
            }
        }
    }
    warnings
}

/// Splunk booleans: true/false, t/f, 1/0, yes/no, on/off (any case).
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" | "on" => Some(true),
        "0" | "false" | "f" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// The app directory this binary runs from: `<app>/<platform>/bin/winrmdetect`
/// or `<app>/bin/winrmdetect`. `WINRMDETECT_APP_DIR` overrides it.
pub fn app_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("WINRMDETECT_APP_DIR") {
        return Some(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?;
    if bin.file_name()? != "bin" {
        return None;
    }
    let up = bin.parent()?;
    let is_platform = up.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        [
            "linux_x86_64",
            "linux_x86",
            "windows_x86_64",
            "windows_x86",
            "darwin_x86_64",
        ]
        .contains(&n)
    });
    if is_platform {
        up.parent().map(Path::to_path_buf)
    } else {
        Some(up.to_path_buf())
    }
}

/// What `winrmdetect.conf` configures: the rules, and the known hosts and
/// accounts.
#[derive(Debug, Clone)]
pub struct Config {
    /// The rules with their settings.
    pub engine: Engine,
    /// Known hosts and accounts, for correlation.
    pub known: Known,
}

/// Reads `default/` then `local/` `winrmdetect.conf` in `app`. Missing
/// files are fine; unreadable or malformed ones are warnings.
pub fn load(app: Option<&Path>) -> (Config, Vec<String>) {
    let (settings, known, warnings) = load_layers(app);
    let engine = Engine::with_settings(settings);
    (Config { engine, known }, warnings)
}

/// [`load`], then `extra` over it, as a `local/winrmdetect.conf` would be
/// (`hunt --conf FILE`). The file was asked for: if it cannot be read or
/// parsed, that is an error naming it; its unknown keys are warnings, as in
/// Splunk.
pub fn load_with(app: Option<&Path>, extra: &Path) -> Result<(Config, Vec<String>), Error> {
    let (mut settings, mut known, mut warnings) = load_layers(app);
    let label = extra.display().to_string();
    let bytes = std::fs::read(extra).map_err(|source| Error::File {
        context: format!("reading {label}"),
        source,
    })?;
    let stanzas = parse_conf(&String::from_utf8_lossy(&bytes), &label)?;
    warnings.extend(apply(&mut settings, &stanzas, &label));
    warnings.extend(apply_known(&mut known, &stanzas, &label));
    let engine = Engine::with_settings(settings);
    Ok((Config { engine, known }, warnings))
}

/// The rule settings and known hosts of `default/` then `local/`.
fn load_layers(app: Option<&Path>) -> (Vec<RuleSettings>, Known, Vec<String>) {
    let mut settings: Vec<RuleSettings> = RULES.iter().map(RuleSettings::defaults).collect();
    let mut known = Known::default();
    let mut warnings = Vec::new();
    if let Some(app) = app {
        for layer in ["default", "local"] {
            let path = app.join(layer).join(CONF_NAME);
            let label = format!("{layer}/{CONF_NAME}");
            match std::fs::read(&path) {
                Ok(bytes) => match parse_conf(&String::from_utf8_lossy(&bytes), &label) {
                    Ok(stanzas) => {
                        warnings.extend(apply(&mut settings, &stanzas, &label));
                        warnings.extend(apply_known(&mut known, &stanzas, &label));
                    }
                    Err(e) => warnings.push(format!("{e}; {label} ignored")),
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => warnings.push(format!("{label}: cannot read: {e}")),
            }
        }
    }
    (settings, known, warnings)
}

/// The `default/winrmdetect.conf` that states every rule's compiled-in defaults.
pub fn default_conf() -> String {
    let mut s = String::from(
        "# winrmdetect rule settings. Generated by `winrmdetect print-default-conf`;\n\
         # a test checks that this file matches the compiled-in defaults.\n\
         # Override in local/winrmdetect.conf (same stanza, only the keys you change).\n\
         # risk_score = impact * confidence / 100. message: $field$ tokens are substituted.\n\
         #\n\
         # Known hosts and accounts (in local/winrmdetect.conf): hops that touch them are\n\
         # still reported, tagged lm_known=<tag>, with risk_percent of their risk left.\n\
         # Built-in tags and their default risk_percent: event_collector 0,\n\
         # management_server 25, jump_host 50, admin_account 50 (any other tag 50).\n\
         #   [known:jump_host]\n\
         #   hosts = jump01, 10.0.0.7\n\
         #   users = CORP\\svc_ansible\n\
         #   risk_percent = 50\n",
    );
    for r in RULES.iter() {
        s.push_str(&format!(
            "\n# {} ({}): {}\n[{}]\nimpact = {}\nconfidence = {}\nmessage = {}\ndisabled = false\n",
            r.alert_type, r.mitre, r.description, r.id, r.impact, r.confidence, r.message
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_conf_round_trips_to_the_defaults() {
        let stanzas = parse_conf(&default_conf(), "default").unwrap();
        let mut s: Vec<RuleSettings> = RULES.iter().map(RuleSettings::defaults).collect();
        s.iter_mut().for_each(|x| x.impact = 1);
        assert!(apply(&mut s, &stanzas, "default").is_empty());
        for (r, x) in RULES.iter().zip(&s) {
            assert_eq!(
                (x.impact, x.confidence, x.message.as_str(), x.enabled),
                (r.impact, r.confidence, r.message, true)
            );
        }
    }

    #[test]
    fn bad_values_warn_and_keep_defaults() {
        let text = "[winrm_remoteexec_child]\nimpact = 300\nconfidence = x\ndisabled = maybe\ncolour = red\n[nope]\nimpact = 1\n";
        let mut s: Vec<RuleSettings> = RULES.iter().map(RuleSettings::defaults).collect();
        let w = apply(&mut s, &parse_conf(text, "local").unwrap(), "local");
        assert_eq!(w.len(), 5, "{w:?}");
        assert_eq!((s[0].impact, s[0].confidence, s[0].enabled), (90, 50, true));
    }

    /// Issue 13: `[known:<tag>]` stanzas build the known sets, local adding
    /// to default; they are not rules; bad keys and values warn.
    #[test]
    fn issue13_known_stanzas_build_the_known_sets() {
        let default = "[known:event_collector]\nhosts = WEC01.corp.example\n";
        let local = "[known:event_collector]\nhosts = 172.18.38.6\n[known:ops]\nusers = CORP\\svc_ansible, bob@corp\nrisk_percent = 20\ncolour = red\n[known:jump_host]\nrisk_percent = 200\n";
        let mut known = Known::default();
        let mut s: Vec<RuleSettings> = RULES.iter().map(RuleSettings::defaults).collect();
        let mut w = Vec::new();
        for (text, file) in [(default, "default"), (local, "local")] {
            let st = parse_conf(text, file).unwrap();
            w.extend(apply(&mut s, &st, file));
            w.extend(apply_known(&mut known, &st, file));
        }
        let sets: Vec<String> = known
            .sets
            .iter()
            .map(|k| format!("{} {:?} {:?} {}", k.tag, k.hosts, k.users, k.risk_percent))
            .collect();
        assert_eq!(
            sets,
            [
                r#"event_collector {"172.18.38.6", "wec01"} {} 0"#,
                r#"ops {} {"bob", "svc_ansible"} 20"#,
                "jump_host {} {} 50",
            ]
        );
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("unknown setting colour") && w[1].contains("risk_percent"),
            "{w:?}"
        );
    }

    #[test]
    fn continuation_lines_and_errors() {
        let st = parse_conf("[a]\nmessage = one \\\n two\n", "f").unwrap();
        assert_eq!(st[1].entries[0].1, "one\ntwo");
        assert!(parse_conf("[a\n", "f").is_err());
        assert!(parse_conf("just words\n", "f").is_err());
    }
}
