//! `hunt`'s report filters: time window, score, hosts, rules. They choose
//! what is reported; correlation always sees every event, so a hop whose
//! evidence lies partly outside the window is still the same hop.

use crate::cli::args::FilterArgs;
use crate::cli::report::Alert;
use crate::correlate::Hop;
use crate::detect::rules::RULES;
use crate::error::{Error, Result};

/// The filters, checked.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Lowest score reported.
    pub min_score: u32,
    from: Option<f64>,
    to: Option<f64>,
    hosts: Vec<String>,
    exclude_hosts: Vec<String>,
    /// AlertTypes of the rules asked for (empty: all).
    rules: Vec<&'static str>,
    exclude_rules: Vec<&'static str>,
}

impl Filter {
    /// Checks the arguments: a rule that no rule is named by is an error.
    pub fn new(args: &FilterArgs) -> Result<Filter> {
        let lower = |v: &[String]| v.iter().map(|h| h.to_ascii_lowercase()).collect();
        Ok(Filter {
            min_score: if args.all {
                0
            } else {
                args.min_score.unwrap_or(1)
            },
            from: args.from,
            to: args.to,
            hosts: lower(&args.host),
            exclude_hosts: lower(&args.exclude_host),
            rules: alert_types(&args.rule)?,
            exclude_rules: alert_types(&args.exclude_rule)?,
        })
    }

    /// Whether an alert is reported.
    pub fn alert(&self, a: &Alert) -> bool {
        let types: Vec<&str> = a.alert_type.split('|').collect();
        a.risk_score >= self.min_score
            && self.in_window(a.epoch, a.epoch)
            && self.host_ok(&[&a.host])
            && self.rules_ok(&types)
    }

    /// Whether a hop is reported: its time span meets the window, one of
    /// its hosts is asked for (none excluded), its evidence has one of the
    /// rules asked for.
    pub fn hop(&self, h: &Hop) -> bool {
        let types: Vec<&str> = h.evidence.iter().copied().collect();
        h.risk_score >= self.min_score
            && self.in_window(Some(h.first_seen), Some(h.last_seen))
            && self.host_ok(&[&h.src, &h.dest])
            && self.rules_ok(&types)
    }

    /// Whether `[first, last]` meets the window; no time meets any window
    /// only when there is none.
    fn in_window(&self, first: Option<f64>, last: Option<f64>) -> bool {
        if self.from.is_none() && self.to.is_none() {
            return true;
        }
        let (Some(first), Some(last)) = (first, last) else {
            return false;
        };
        self.from.is_none_or(|f| last >= f) && self.to.is_none_or(|t| first <= t)
    }

    fn host_ok(&self, hosts: &[&str]) -> bool {
        let any = |list: &[String]| hosts.iter().any(|h| list.iter().any(|n| host_is(h, n)));
        (self.hosts.is_empty() || any(&self.hosts)) && !any(&self.exclude_hosts)
    }

    fn rules_ok(&self, types: &[&str]) -> bool {
        let any = |list: &[&str]| types.iter().any(|t| list.contains(t));
        (self.rules.is_empty() || any(&self.rules)) && !any(&self.exclude_rules)
    }
}

/// Whether `host` is `name` (lower-case): the same name, or `name` is its
/// first label (`wks01` is `WKS01.corp.example`), or the other way round.
fn host_is(host: &str, name: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let short = |s: &str| s.split('.').next().unwrap_or("").to_string();
    host == name || short(&host) == name || host == short(name)
}

/// The AlertTypes of the rules named (by id or AlertType, any case).
fn alert_types(names: &[String]) -> Result<Vec<&'static str>> {
    let mut out = Vec::new();
    for n in names {
        let hits: Vec<&'static str> = RULES
            .iter()
            .filter(|r| r.id.eq_ignore_ascii_case(n) || r.alert_type.eq_ignore_ascii_case(n))
            .map(|r| r.alert_type)
            .collect();
        if hits.is_empty() {
            return Err(Error::Argument(format!(
                "--rule {n:?}: no rule has that id or AlertType (winrmdetect print-default-conf lists them)"
            )));
        }
        out.extend(hits);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Outcome, Technique};

    fn alert(host: &str, t: &str, score: u32, epoch: Option<f64>) -> Alert {
        Alert {
            host: host.into(),
            alert_type: t.into(),
            risk_score: score,
            epoch,
            ..Alert::default()
        }
    }

    fn filter(args: FilterArgs) -> Filter {
        Filter::new(&args).unwrap()
    }

    #[test]
    fn issue15_alerts_by_score_time_host_and_rule() {
        let t = RULES[0].alert_type;
        let other = RULES.iter().find(|r| r.alert_type != t).unwrap().alert_type;
        let a = alert("WKS01.corp.example", t, 40, Some(100.0));
        assert!(filter(FilterArgs::default()).alert(&a));
        assert!(!filter(FilterArgs::default()).alert(&alert("x", t, 0, None)));
        let all = FilterArgs {
            all: true,
            ..FilterArgs::default()
        };
        assert!(filter(all).alert(&alert("x", t, 0, None)));
        let score = |n| FilterArgs {
            min_score: Some(n),
            ..FilterArgs::default()
        };
        assert!(filter(score(40)).alert(&a) && !filter(score(41)).alert(&a));
        let window = |from, to| FilterArgs {
            from,
            to,
            ..FilterArgs::default()
        };
        assert!(filter(window(Some(100.0), Some(100.0))).alert(&a));
        assert!(!filter(window(Some(100.5), None)).alert(&a));
        assert!(!filter(window(None, Some(99.0))).alert(&a));
        assert!(!filter(window(None, Some(99.0))).alert(&alert("x", t, 9, None)));
        let hosts = |host: &[&str], exclude: &[&str]| FilterArgs {
            host: host.iter().map(|s| s.to_string()).collect(),
            exclude_host: exclude.iter().map(|s| s.to_string()).collect(),
            ..FilterArgs::default()
        };
        assert!(filter(hosts(&["wks01"], &[])).alert(&a));
        assert!(filter(hosts(&["WKS01.CORP.example"], &[])).alert(&a));
        assert!(!filter(hosts(&["wks0"], &[])).alert(&a));
        assert!(!filter(hosts(&[], &["Wks01"])).alert(&a));
        let rules = |rule: &[&str], exclude: &[&str]| FilterArgs {
            rule: rule.iter().map(|s| s.to_string()).collect(),
            exclude_rule: exclude.iter().map(|s| s.to_string()).collect(),
            ..FilterArgs::default()
        };
        assert!(filter(rules(&[&t.to_lowercase()], &[])).alert(&a));
        assert!(filter(rules(&[RULES[0].id], &[])).alert(&a));
        assert!(!filter(rules(&[other], &[])).alert(&a));
        assert!(!filter(rules(&[], &[t])).alert(&a));
        let both = alert("h", &format!("{other}|{t}"), 40, None);
        assert!(filter(rules(&[t], &[])).alert(&both));
        let e = Filter::new(&rules(&["NoSuchRule"], &[])).unwrap_err();
        assert!(e.to_string().contains("NoSuchRule"), "{e}");
    }

    #[test]
    fn issue15_hops_by_span_hosts_and_evidence() {
        let mut h = Hop::new(
            "it001",
            "hr001",
            Technique::PsRemoting,
            100.0,
            Outcome::Success,
        );
        h.last_seen = 200.0;
        h.risk_score = 70;
        h.evidence.insert(RULES[0].alert_type);
        let window = |from, to| FilterArgs {
            from,
            to,
            ..FilterArgs::default()
        };
        assert!(filter(window(Some(150.0), Some(160.0))).hop(&h));
        assert!(!filter(window(Some(201.0), None)).hop(&h));
        let host = |n: &str| FilterArgs {
            host: vec![n.into()],
            ..FilterArgs::default()
        };
        assert!(filter(host("HR001")).hop(&h) && filter(host("it001")).hop(&h));
        assert!(!filter(host("hfdc01")).hop(&h));
        let min = FilterArgs {
            min_score: Some(71),
            ..FilterArgs::default()
        };
        assert!(!filter(min).hop(&h));
    }
}
