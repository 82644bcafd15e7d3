//! Runs the rules over one event and turns the matches into the output
//! fields: AlertType, description, ATT&CK ids, side, targets, and the RBA
//! fields (risk score, message, risk and threat objects).
//!
//! Scoring: each rule's score is `impact * confidence / 100` (integer
//! division). When several rules match one event, the event's `risk_score`
//! is the **highest** of them, and the risk message and `lm_side` come from
//! that highest-scoring rule (the first in rule order on a tie). Context
//! rules (impact or confidence 0) label events but score 0.

pub mod ctx;
pub mod finding;
pub mod message;
pub mod psmodule;
pub mod rules;
pub mod targets;

use std::borrow::Cow;

use crate::detect::ctx::Ctx;
pub use crate::detect::finding::{Artefact, Carrier, Finding, Outcome, Side, Technique};
pub use crate::detect::message::{substitute, substitute_into};
use crate::detect::rules::{Rule, RULES};
use crate::detect::targets::{is_loopback, short_host};
use crate::event::kind::{kind_of, Class, Kind};
use crate::event::{Event, Field, F};

/// One rule as configured: defaults with `winrmdetect.conf` overrides.
#[derive(Debug, Clone)]
pub struct RuleSettings {
    /// Impact 0–100.
    pub impact: u8,
    /// Confidence 0–100.
    pub confidence: u8,
    /// Risk message template.
    pub message: String,
    /// Whether the rule runs.
    pub enabled: bool,
}

impl RuleSettings {
    /// The rule's compiled-in defaults.
    pub fn defaults(rule: &Rule) -> Self {
        RuleSettings {
            impact: rule.impact,
            confidence: rule.confidence,
            message: rule.message.to_string(),
            enabled: true,
        }
    }

    /// `impact * confidence / 100`.
    pub fn score(&self) -> u32 {
        u32::from(self.impact) * u32::from(self.confidence) / 100
    }
}

/// The rules with their settings, ready to run.
#[derive(Debug, Clone)]
pub struct Engine {
    settings: Vec<RuleSettings>,
    /// For each [`Class`] (by index), the enabled rules that can match it.
    by_class: Vec<Vec<usize>>,
    /// Per rule: whether it needs a keyword ([`Rule::needs_keyword`]).
    keyword_only: Vec<bool>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::with_settings(RULES.iter().map(RuleSettings::defaults).collect())
    }
}

/// What detection adds to one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detection {
    /// Distinct AlertTypes, in rule order.
    pub alert_types: Vec<&'static str>,
    /// One description per matching rule.
    pub descriptions: Vec<Cow<'static, str>>,
    /// Distinct ATT&CK technique ids.
    pub mitre: Vec<&'static str>,
    /// The end of the movement (the top-scoring rule's).
    pub side: Side,
    /// The strongest transport the matching rules name.
    pub technique: Option<Technique>,
    /// Failed when a matching rule sees a failed attempt.
    pub outcome: Outcome,
    /// The strongest artefact of the matching rules (context when none).
    pub artefact: Artefact,
    /// Remote hosts named by the event.
    pub targets: Vec<String>,
    /// The event's risk score.
    pub risk_score: u32,
    /// The substituted risk message.
    pub risk_message: String,
    /// The system the risk is attributed to.
    pub risk_object: String,
    /// Threat objects, `(value, type)`.
    pub threats: Vec<(String, &'static str)>,
    /// The event's kind (what the rules were chosen by).
    pub kind: Kind,
    /// The ids of the rules that matched, in rule order.
    pub rule_ids: Vec<&'static str>,
}

impl Detection {
    /// What the correlator may know of it.
    pub fn finding(&self) -> Finding<'_> {
        Finding {
            side: self.side,
            technique: self.technique,
            outcome: self.outcome,
            artefact: self.artefact,
            targets: &self.targets,
            risk_score: self.risk_score,
            alert_types: &self.alert_types,
        }
    }

    /// Empties it for reuse, keeping its allocations.
    pub fn clear(&mut self) {
        self.alert_types.clear();
        self.descriptions.clear();
        self.mitre.clear();
        self.side = Side::default();
        self.technique = None;
        self.outcome = Outcome::default();
        self.artefact = Artefact::Context;
        self.targets.clear();
        self.risk_score = 0;
        self.risk_message.clear();
        self.risk_object.clear();
        self.threats.clear();
        self.kind = Kind::Other;
        self.rule_ids.clear();
    }
}

impl Engine {
    /// An engine with explicit per-rule settings, in `RULES` order.
    pub fn with_settings(settings: Vec<RuleSettings>) -> Self {
        assert_eq!(settings.len(), RULES.len(), "one setting per rule");
        let by_class = Class::ALL
            .iter()
            .map(|c| {
                (0..RULES.len())
                    .filter(|&i| settings[i].enabled && RULES[i].routes(*c))
                    .collect()
            })
            .collect();
        let keyword_only = RULES.iter().map(Rule::needs_keyword).collect();
        Engine {
            settings,
            by_class,
            keyword_only,
        }
    }

    /// Runs every enabled rule on one event.
    pub fn detect(&self, ev: &dyn Event) -> Option<Detection> {
        let mut det = Detection::default();
        self.detect_into(ev, &mut det).then_some(det)
    }

    /// Runs every enabled rule on one event, filling `det` (cleared first,
    /// its allocations reused); false when nothing matched.
    pub fn detect_into(&self, ev: &dyn Event, det: &mut Detection) -> bool {
        det.clear();
        let kind = kind_of(ev);
        let Some(class) = kind.class() else {
            return false;
        };
        let candidates = &self.by_class[class.index()];
        if candidates.is_empty() {
            return false;
        }
        let ctx = Ctx::with_kind(ev, kind, crate::detect::rules::keywords());
        let rules: &[Rule] = &RULES;
        let mut best: Option<(u32, usize, Side)> = None;
        for &i in candidates {
            if self.keyword_only[i] && !ctx.keywords {
                continue;
            }
            let (rule, set) = (&rules[i], &self.settings[i]);
            let Some(hit) = rule.check(&ctx) else {
                continue;
            };
            det.rule_ids.push(rule.id);
            if !det.alert_types.contains(&rule.alert_type) {
                det.alert_types.push(rule.alert_type);
            }
            if !det.mitre.contains(&rule.mitre) {
                det.mitre.push(rule.mitre);
            }
            det.descriptions.push(match &hit.detail {
                Some(d) => Cow::Owned(format!("{}: {d}", rule.description)),
                None => Cow::Borrowed(rule.description),
            });
            for t in hit.targets {
                // One spelling of a host in every output (`short_host`).
                let t = short_host(&t);
                if !det.targets.contains(&t) {
                    det.targets.push(t);
                }
            }
            for t in hit.threats {
                if !det.threats.contains(&t) {
                    det.threats.push(t);
                }
            }
            det.technique = Technique::strongest(
                det.technique,
                Technique::strongest(rule.technique, hit.technique),
            );
            if rule.outcome == Outcome::Failed {
                det.outcome = Outcome::Failed;
            }
            det.artefact = Artefact::strongest(det.artefact, rule.artefact);
            let score = set.score();
            if best.is_none_or(|(s, _, _)| score > s) {
                best = Some((score, i, rule.side));
            }
        }
        let Some((score, top, side)) = best else {
            return false;
        };
        det.risk_score = score;
        det.kind = kind;
        push_risk_object(&mut det.risk_object, ev);
        let all_local = !det.targets.is_empty() && det.targets.iter().all(|t| is_loopback(t));
        det.side = if side == Side::Source && all_local {
            Side::Local
        } else {
            side
        };
        let mut message = std::mem::take(&mut det.risk_message);
        substitute_into(&mut message, &self.settings[top].message, ev, det);
        det.risk_message = message;
        true
    }
}

/// The system an event is about: `Computer` (or `ComputerName` / `dest`),
/// else the Splunk `host`, in the one spelling of every output (short,
/// lower-case: [`short_host`], as hops name hosts).
fn push_risk_object(out: &mut String, ev: &dyn Event) {
    match (ev.get(F::Computer), ev.get(F::Host)) {
        (Field::Value(v), _) | (Field::Missing, Field::Value(v)) => out.push_str(&short_host(&v)),
        (Field::Missing, Field::Missing) => out.push_str("unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::PairsEvent;

    const SYSMON: &str = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational";

    #[test]
    fn seed_wsmprovhost_child_scores_45_with_message() {
        let ev = PairsEvent::from_pairs(&[
            ("source", SYSMON),
            ("EventCode", "1"),
            ("Computer", "SRV02.corp.example"),
            ("ParentImage", "C:\\Windows\\System32\\wsmprovhost.exe"),
            ("Image", "C:\\Windows\\System32\\whoami.exe"),
        ]);
        let d = Engine::default().detect(&ev).unwrap();
        assert_eq!(d.alert_types, ["WinRM_RemoteExec_Child"]);
        assert_eq!(d.risk_score, 45);
        assert_eq!(d.side, Side::Destination);
        assert_eq!(d.risk_object, "srv02", "one spelling: short, lower-case");
        assert_eq!(
            d.risk_message,
            "wsmprovhost.exe on srv02 spawned whoami.exe (remote PowerShell / WinRM execution)"
        );
        assert_eq!(d.threats[0], ("whoami.exe".to_string(), "process_name"));
    }

    #[test]
    fn several_matches_take_the_highest_score_and_its_message() {
        // powershell with Invoke-Command (45) and winrm (DirectTool, 54).
        let ev = PairsEvent::from_pairs(&[
            ("source", SYSMON),
            ("EventCode", "1"),
            ("Computer", "WKS01"),
            (
                "Image",
                "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            ),
            (
                "CommandLine",
                "powershell Invoke-Command -ComputerName SRV02 {winrm enumerate x}",
            ),
        ]);
        let d = Engine::default().detect(&ev).unwrap();
        assert_eq!(d.alert_types, ["WinRM_PSRemoting", "WinRM_DirectTool"]);
        assert_eq!(d.risk_score, 54);
        assert_eq!(d.risk_message, "winrs/winrm used on wks01 against srv02");
        assert_eq!(d.targets, ["srv02"]);
        assert_eq!(d.side, Side::Source);
    }

    #[test]
    fn enable_psremoting_is_25_and_names_the_computer() {
        let ev = PairsEvent::from_pairs(&[
            (
                "source",
                "XmlWinEventLog:Microsoft-Windows-PowerShell/Operational",
            ),
            ("EventCode", "4104"),
            ("Computer", "WKS07.corp"),
            (
                "ScriptBlockText",
                "Enable-PSRemoting -Force -SkipNetworkProfileCheck",
            ),
        ]);
        let d = Engine::default().detect(&ev).unwrap();
        assert_eq!(d.risk_score, 25);
        assert_eq!(
            d.risk_message,
            "PowerShell remoting was enabled on WKS07.corp"
        );
    }

    #[test]
    fn disabled_rules_and_overrides_apply() {
        let mut s: Vec<RuleSettings> = RULES.iter().map(RuleSettings::defaults).collect();
        let i = RULES
            .iter()
            .position(|r| r.id == "winrm_remoteexec_child")
            .unwrap();
        s[i].impact = 100;
        s[i].confidence = 80;
        s[i].message = "custom $Computer$ $nope$".into();
        let ev = PairsEvent::from_pairs(&[
            ("source", SYSMON),
            ("EventCode", "1"),
            ("Computer", "SRV02"),
            ("ParentImage", "C:\\Windows\\System32\\wsmprovhost.exe"),
            ("Image", "C:\\Windows\\System32\\whoami.exe"),
        ]);
        let d = Engine::with_settings(s.clone()).detect(&ev).unwrap();
        assert_eq!(
            (d.risk_score, d.risk_message.as_str()),
            (80, "custom SRV02 $nope$")
        );
        s[i].enabled = false;
        assert!(Engine::with_settings(s).detect(&ev).is_none());
    }

    #[test]
    fn loopback_only_targets_make_source_activity_local() {
        let ev = PairsEvent::from_pairs(&[
            ("source", SYSMON),
            ("EventCode", "1"),
            ("Computer", "WKS01"),
            ("Image", "C:\\Windows\\System32\\winrs.exe"),
            ("CommandLine", "winrs -r:localhost whoami"),
        ]);
        let d = Engine::default().detect(&ev).unwrap();
        assert_eq!(d.side, Side::Local);
    }

    #[test]
    fn substitution_handles_stray_dollars() {
        let ev = PairsEvent::from_pairs(&[("Computer", "A")]);
        let det = Detection {
            risk_object: "A".into(),
            ..Detection::default()
        };
        assert_eq!(
            substitute("cost $5 on $Computer$ $", &ev, &det),
            "cost $5 on A $"
        );
        assert_eq!(
            substitute("$$ ADMIN$ $risk_object$", &ev, &det),
            "$$ ADMIN$ A"
        );
        // An empty name is no token: the second `$` opens the next one.
        assert_eq!(substitute("$$risk_object$", &ev, &det), "$A");
    }

    #[test]
    fn substitution_of_every_own_token() {
        let ev = PairsEvent::from_pairs(&[("Computer", "SRV02"), ("User", "CORP\\alice")]);
        let det = Detection {
            risk_object: "SRV02".into(),
            targets: vec!["srv03".into(), "srv04".into()],
            threats: vec![
                ("whoami.exe".to_string(), "process_name"),
                ("wsmprovhost.exe".to_string(), "parent_process_name"),
            ],
            ..Detection::default()
        };
        assert_eq!(
            substitute(
                "$dest$|$risk_object$|$target_host$|$process_name$|$parent_process_name$|$threat_object$|$user$|$Computer$|$nope$",
                &ev,
                &det
            ),
            "SRV02|SRV02|srv03, srv04|whoami.exe|wsmprovhost.exe|whoami.exe|CORP\\alice|SRV02|$nope$"
        );
        let none = Detection::default();
        assert_eq!(
            substitute("$target_host$ $process_name$", &ev, &none),
            "an unnamed host $process_name$"
        );
    }
}
