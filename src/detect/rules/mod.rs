//! The detection rules: one [`Rule`] per behaviour of the catalogue that a
//! single event can show (the team's detection catalogue, `detections.md`
//! §3 rows W1–W21, M1–M13), one file per family ([`winrm`], [`wmi`], [`lateral`]: SMB services,
//! scheduled tasks, DCOM, RDP).
//!
//! A rule is one entry: metadata (id, AlertType, ATT&CK id, typed side,
//! technique and outcome, default impact and confidence, risk message), a
//! declarative condition ([`Match::When`] one [`Cond`], [`Match::AnyOf`] the
//! first of several: event kinds, parent / image / original-name lists,
//! field tests, text needles any / all / none, a pattern) or, where logic is
//! needed, a matcher beside the entry ([`Match::Custom`], which declares the
//! keywords it looks for), and example events that
//! `tests::every_rule_matches_its_examples` runs: positives, each with the
//! exact targets, threat objects and detail it must produce ([`Positive`]),
//! and negatives it must not match.
//!
//! The keyword scan ([`keywords`]) is the union of every rule's needles, so
//! a needle cannot be missing from it; the engine skips a rule that needs a
//! keyword when the scan found none. Defaults live here; `winrmdetect.conf`
//! may override impact, confidence, message and enabled-state per rule id
//! (see [`crate::conf`]).

use std::sync::LazyLock;

use regex::Regex;

use crate::detect::ctx::{basename, Ctx, Keywords};
use crate::detect::finding::{Artefact, Outcome, Side, Technique};
use crate::detect::targets::{command_line_targets, is_loopback, tool_targets};
use crate::event::kind::{Class, Kind};
use crate::event::F;

/// An example event: `(field, value)` pairs under Splunk field names.
pub type Example = &'static [(&'static str, &'static str)];

/// A positive example and exactly what its rule's matcher must return for
/// it: `tests::every_rule_matches_its_examples` compares the [`Hit`] field
/// by field. Written with `pos!` in the table.
#[derive(Debug, Clone, Copy)]
pub struct Positive {
    /// The event.
    pub event: Example,
    /// [`Hit::targets`], in order.
    pub targets: &'static [&'static str],
    /// [`Hit::threats`], in order: `(value, type)`.
    pub threats: &'static [(&'static str, &'static str)],
    /// [`Hit::detail`], the exact text.
    pub detail: Option<&'static str>,
}

/// One detection rule with its defaults.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable id; the stanza name in `winrmdetect.conf`.
    pub id: &'static str,
    /// The `AlertType` it sets.
    pub alert_type: &'static str,
    /// One line for `alert_description`.
    pub description: &'static str,
    /// ATT&CK technique.
    pub mitre: &'static str,
    /// Which end of the movement the event is.
    pub side: Side,
    /// The transport the rule shows, if it shows one (a matcher may name a
    /// more specific one in its [`Hit`]).
    pub technique: Option<Technique>,
    /// [`Outcome::Failed`] for rules that see a failed attempt.
    pub outcome: Outcome,
    /// What the event proves: an execution or session artefact that can
    /// make a hop, a connection or logon that only corroborates one, or
    /// context that is never evidence.
    pub artefact: Artefact,
    /// Default impact, 0–100.
    pub impact: u8,
    /// Default confidence, 0–100.
    pub confidence: u8,
    /// Where the defaults come from.
    pub basis: Basis,
    /// Default risk message; `$field$` tokens are substituted.
    pub message: &'static str,
    /// When it matches.
    pub when: Match,
    /// Events it must match, each with the [`Hit`] it must produce.
    pub positives: &'static [Positive],
    /// Events it must not match.
    pub negatives: &'static [Example],
    /// Examples built from the public rules it covers (README "Parity
    /// with ESCU and Sigma").
    pub public: &'static [FromPublic],
}

/// An example built from a public rule's own definition: where it comes
/// from, how it was built, the event the public selection matches (ours
/// must match it and name exactly `targets`), and an event the public rule
/// keeps out by a filter or does not reach (a near miss), with what ours
/// does with it.
#[derive(Debug, Clone, Copy)]
pub struct FromPublic {
    /// The public rule.
    pub origin: Origin,
    /// What its field values come from.
    pub built: Built,
    /// The event its selection matches.
    pub event: Example,
    /// The [`Hit::targets`] ours names for it.
    pub targets: &'static [&'static str],
    /// An event the public rule does not match, and what ours does.
    pub contrast: Option<(Example, Contrast)>,
}

/// A public rule, by the key `docs/parity.tsv` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An ESCU detection (`splunk/security_content`, Apache-2.0), by its
    /// catalogue key (`A4`).
    Escu(&'static str),
    /// A Sigma rule (`SigmaHQ/sigma`, Detection Rule License 1.1: its
    /// authors are credited in the rule file), by its id's first 8 hex
    /// digits.
    Sigma(&'static str),
}

/// Where an example's field values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Built {
    /// The rule's selection and filters as written, in the shape Windows
    /// writes the event (no sample published, or none readable here).
    Definition,
    /// The rule's published regression sample (`regression_data/` in
    /// `SigmaHQ/sigma`, the JSON rendition of the event) at a commit.
    Regression {
        /// Its path in the repository.
        path: &'static str,
        /// The commit read.
        commit: &'static str,
    },
}

/// What ours does with an event the public rule does not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contrast {
    /// Ours keeps it out too.
    Filtered,
    /// Ours matches it: why ours is broader.
    Broader(&'static str),
}

/// Where a rule's default impact and confidence come from (README
/// "Scores"): ESCU's where ESCU has the behaviour, else the Sigma level's
/// through [`Level::scores`], else the project's own, with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The Oct-2024 impact and confidence of this ESCU detection (its key
    /// in `docs/parity.tsv`: `A8`).
    Escu(&'static str),
    /// This Sigma rule's level (its id's first 8 hex digits).
    Sigma(&'static str, Level),
    /// Neither has the behaviour, or the rule is context that never
    /// scores on its own: why.
    Own(&'static str),
}

impl Basis {
    /// How the README's rule table names it: `ESCU A8`, `Sigma c539afac
    /// high`, `own`.
    pub fn label(self) -> String {
        match self {
            Basis::Escu(key) => format!("ESCU {key}"),
            Basis::Sigma(id, level) => format!("Sigma {id} {}", level.name()),
            Basis::Own(_) => "own".to_string(),
        }
    }
}

/// A Sigma rule's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `informational`.
    Informational,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `critical`.
    Critical,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    /// Its name as Sigma writes it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    /// The impact and confidence a rule scored from this level gets (the
    /// catalogue's table, `detections.md` §3).
    pub fn scores(self) -> (u8, u8) {
        match self {
            Level::Informational => (20, 50),
            Level::Low => (30, 50),
            Level::Medium => (60, 60),
            Level::High => (70, 70),
            Level::Critical => (90, 90),
        }
    }
}

/// When a rule matches.
#[derive(Debug, Clone, Copy)]
pub enum Match {
    /// A declarative condition.
    When(Cond),
    /// The first of several conditions that holds (what it yields).
    AnyOf(&'static [Cond]),
    /// Code, for what a condition cannot say.
    Custom(Custom),
}

/// A matcher in code, with what the engine must know without running it.
#[derive(Debug, Clone, Copy)]
pub struct Custom {
    /// The event classes it can match; it is not called for others.
    pub classes: &'static [Class],
    /// Every needle its `Ctx::has` / `Ctx::any` calls use (lower-case).
    pub needles: &'static [&'static str],
    /// True when it can only match a text holding one of `needles`.
    pub needs_keyword: bool,
    /// The matcher.
    pub f: fn(&Ctx<'_>) -> Option<Hit>,
}

/// A condition over a prepared event; every part that is not empty must
/// hold. File names compare without regard to ASCII case; text needles are
/// lower-case and looked for in [`Ctx::text`].
#[derive(Debug, Clone, Copy)]
pub struct Cond {
    /// The event kinds it applies to.
    pub kinds: &'static [Kind],
    /// The parent image's file name is one of these.
    pub parent: &'static [&'static str],
    /// The image's file name is one of these ...
    pub image: &'static [&'static str],
    /// ... or, when set, its `OriginalFileName` is.
    pub image_or_original: bool,
    /// The image is in none of these lists.
    pub image_not: &'static [&'static [&'static str]],
    /// There is an image.
    pub needs_image: bool,
    /// Tests of fields' own values, all of which hold.
    pub fields: &'static [(F, Test)],
    /// Tests of fields' own values none of which holds.
    pub fields_not: &'static [(F, Test)],
    /// The text holds one of these.
    pub text_any: &'static [&'static str],
    /// The text holds all of these.
    pub text_all: &'static [&'static str],
    /// The text also holds one of these (plain substrings, not keywords:
    /// the condition's `text_any` / `text_all` needles decide the scan).
    pub text_also_any: &'static [&'static str],
    /// The text holds none of these (plain substrings, not keywords).
    pub text_none: &'static [&'static str],
    /// The text matches this pattern (tried last: give the condition a
    /// needle too).
    pub text_regex: Option<&'static LazyLock<Regex>>,
    /// The PowerShell host context ([`Ctx::context`]) holds all of these.
    pub context_all: &'static [&'static str],
    /// What a match reports.
    pub yields: Yield,
}

/// A test of one field's value; a missing field fails it.
#[derive(Debug, Clone, Copy)]
pub enum Test {
    /// The value is one of these, ASCII case aside.
    Is(&'static [&'static str]),
    /// The value's last path component is one of these, ASCII case aside.
    FileIs(&'static [&'static str]),
    /// The lower-cased value holds one of these.
    Contains(&'static [&'static str]),
    /// The lower-cased value, `/` read as `\\`, ends with one of these.
    EndsWith(&'static [&'static str]),
    /// The trimmed value matches the pattern.
    Matches(&'static LazyLock<Regex>),
}

impl Test {
    fn holds(self, c: &Ctx<'_>, f: F) -> bool {
        let Some(v) = c.get(f) else { return false };
        let one_of = |x: &str, names: &[&str]| names.iter().any(|n| x.eq_ignore_ascii_case(n));
        match self {
            Test::Is(names) => one_of(&v, names),
            Test::FileIs(names) => one_of(basename(&v), names),
            Test::Contains(needles) => any(&v.to_ascii_lowercase(), needles),
            Test::EndsWith(ends) => {
                let v = v.to_ascii_lowercase().replace('/', "\\");
                ends.iter().any(|e| v.ends_with(e))
            }
            Test::Matches(re) => re.is_match(v.trim()),
        }
    }
}

/// A built-in pattern, compiled on first use.
macro_rules! pattern {
    ($re:expr) => {
        LazyLock::new(|| Regex::new($re).expect("built-in pattern compiles"))
    };
}

/// What a [`Cond`] reports when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Yield {
    /// Nothing but the match.
    Nothing,
    /// The image and parent as threat objects.
    ProcessThreats,
    /// The hosts the command line names, and the process threat objects.
    CommandLine,
    /// The host a field names, unless it is a loopback name.
    Target(F),
    /// The hosts an offensive tool's arguments name in the source text
    /// ([`Ctx::source`], [`tool_targets`]), and the process threat objects.
    Tool,
    /// A Sysmon 7: the program as threat object, `loaded <ImageLoaded>`.
    LoadThreats,
    /// A Sysmon 12/13/14: the key and the program as threat objects,
    /// `<TargetObject> = <Details>` (the key alone without data).
    RegistryWrite,
    /// A detail: `prefix` and a field's value (lower-cased when `lower`),
    /// none when the field is missing.
    Detail {
        /// Text before the value.
        prefix: &'static str,
        /// The field.
        field: F,
        /// Whether the value is lower-cased.
        lower: bool,
    },
}

impl Cond {
    /// The condition that holds for every event: the base of the others.
    pub const ANY: Cond = Cond {
        kinds: &[],
        parent: &[],
        image: &[],
        image_or_original: false,
        image_not: &[],
        needs_image: false,
        fields: &[],
        fields_not: &[],
        text_any: &[],
        text_all: &[],
        text_also_any: &[],
        text_none: &[],
        text_regex: None,
        context_all: &[],
        yields: Yield::Nothing,
    };

    /// What it reports for `c`, if it holds.
    pub fn check(&self, c: &Ctx<'_>) -> Option<Hit> {
        // Cheapest first: most events fail on their kind or parent, before
        // any name list (LOLBAS has 71) is walked.
        let image_ok = || {
            self.image.is_empty()
                || c.image.is_in(self.image)
                || (self.image_or_original && c.is_image(self.image))
        };
        let holds = self.kinds.contains(&c.kind)
            && (self.parent.is_empty() || c.parent.is_in(self.parent))
            && !(self.needs_image && c.image.is_empty())
            && image_ok()
            && !self.image_not.iter().any(|l| c.image.is_in(l))
            && self.fields.iter().all(|(f, t)| t.holds(c, *f))
            && !self.fields_not.iter().any(|(f, t)| t.holds(c, *f))
            && (self.text_any.is_empty() || c.any(self.text_any))
            && self.text_all.iter().all(|n| c.has(n))
            && (self.text_also_any.is_empty() || any(&c.text, self.text_also_any))
            && !any(&c.text, self.text_none)
            && self.text_regex.is_none_or(|re| re.is_match(&c.text))
            && self.context_all.iter().all(|n| c.in_context(n));
        holds.then(|| self.yields.hit(c))
    }

    fn needles(&self) -> impl Iterator<Item = &'static str> {
        self.text_any.iter().chain(self.text_all).copied()
    }

    fn needs_keyword(&self) -> bool {
        !self.text_any.is_empty() || !self.text_all.is_empty()
    }

    fn routes(&self, class: Class) -> bool {
        self.kinds.iter().any(|k| k.class() == Some(class))
    }
}

impl Yield {
    fn hit(self, c: &Ctx<'_>) -> Hit {
        match self {
            Yield::Nothing => Hit::default(),
            Yield::ProcessThreats => Hit {
                threats: c.process_threats(),
                ..Hit::default()
            },
            Yield::LoadThreats => Hit {
                threats: c.process_threats(),
                detail: c.get(F::ImageLoaded).map(|v| format!("loaded {v}")),
                ..Hit::default()
            },
            Yield::RegistryWrite => registry_write(c),
            Yield::Tool => Hit {
                targets: tool_targets(&c.source()),
                threats: c.process_threats(),
                ..Hit::default()
            },
            Yield::CommandLine => Hit {
                targets: command_line_targets(&c.get(F::CommandLine).unwrap_or_default(), false),
                threats: c.process_threats(),
                ..Hit::default()
            },
            Yield::Target(field) => Hit {
                targets: c
                    .get(field)
                    .filter(|t| !is_loopback(t) && t != "-")
                    .map(|t| vec![t.into_owned()])
                    .unwrap_or_default(),
                ..Hit::default()
            },
            Yield::Detail {
                prefix,
                field,
                lower,
            } => Hit {
                detail: c.get(field).map(|v| {
                    let v = if lower {
                        v.to_ascii_lowercase()
                    } else {
                        v.into_owned()
                    };
                    format!("{prefix}{v}")
                }),
                ..Hit::default()
            },
        }
    }
}

/// What [`Yield::RegistryWrite`] reports.
fn registry_write(c: &Ctx<'_>) -> Hit {
    let key = c.get(F::TargetObject).unwrap_or_default();
    let data = c.get(F::Details).filter(|d| !d.is_empty());
    let mut threats = vec![(key.to_string(), "registry_path")];
    threats.extend(c.process_threats());
    Hit {
        detail: Some(match data {
            Some(d) => format!("{key} = {d}"),
            None => key.to_string(),
        }),
        threats,
        ..Hit::default()
    }
}

impl Rule {
    /// Runs the rule on a prepared event.
    pub fn check(&self, c: &Ctx<'_>) -> Option<Hit> {
        match &self.when {
            Match::When(cond) => cond.check(c),
            Match::AnyOf(conds) => conds.iter().find_map(|cond| cond.check(c)),
            Match::Custom(m) => (m.f)(c),
        }
    }

    /// Whether events of `class` can match (the engine routes by it).
    pub fn routes(&self, class: Class) -> bool {
        match &self.when {
            Match::When(cond) => cond.routes(class),
            Match::AnyOf(conds) => conds.iter().any(|cond| cond.routes(class)),
            Match::Custom(m) => m.classes.contains(&class),
        }
    }

    /// The needles the rule looks for in [`Ctx::text`].
    pub fn needles(&self) -> Vec<&'static str> {
        match &self.when {
            Match::When(cond) => cond.needles().collect(),
            Match::AnyOf(conds) => conds.iter().flat_map(Cond::needles).collect(),
            Match::Custom(m) => m.needles.to_vec(),
        }
    }

    /// True when it can only match a text holding one of its needles, so
    /// the engine skips it when the keyword scan found none.
    pub fn needs_keyword(&self) -> bool {
        match &self.when {
            Match::When(cond) => cond.needs_keyword(),
            Match::AnyOf(conds) => conds.iter().all(Cond::needs_keyword),
            Match::Custom(m) => m.needs_keyword,
        }
    }
}

/// What a matching rule found besides "yes".
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Remote hosts the event names.
    pub targets: Vec<String>,
    /// Extra text for `alert_description`.
    pub detail: Option<String>,
    /// Threat objects: `(value, type)`.
    pub threats: Vec<(String, &'static str)>,
    /// A transport this event shows beyond its rule's (a `cmd` shell is
    /// winrs, a PowerShell plugin shell PowerShell remoting …).
    pub technique: Option<Technique>,
}

const SYSMON: &str = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational";
const SECURITY: &str = "XmlWinEventLog:Security";
const PSOP: &str = "XmlWinEventLog:Microsoft-Windows-PowerShell/Operational";
const WINPS: &str = "XmlWinEventLog:Windows PowerShell";
const WINRM: &str = "XmlWinEventLog:Microsoft-Windows-WinRM/Operational";
const WMI: &str = "XmlWinEventLog:Microsoft-Windows-WMI-Activity/Operational";
const SYSTEM: &str = "XmlWinEventLog:System";
const TASKSCHED: &str = "XmlWinEventLog:Microsoft-Windows-TaskScheduler/Operational";
const RCM: &str =
    "XmlWinEventLog:Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational";
const LSM: &str =
    "XmlWinEventLog:Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";

macro_rules! ex {
    ($src:expr, $code:literal $(, $k:literal = $v:expr)* $(,)?) => {
        &[("source", $src), ("EventCode", $code), ("Computer", "SRV02.corp.example") $(, ($k, $v))*]
    };
}

/// A [`Positive`]: `pos!(event, targets: [..], threats: [(value, type), ..],
/// detail: "..")`, the parts in that order. An omitted part is a claim too:
/// no targets, no threat objects, no detail.
macro_rules! pos {
    (@detail) => { None };
    (@detail $d:expr) => { Some($d) };
    ($event:expr $(, targets: [$($t:expr),* $(,)?])? $(, threats: [$(($v:expr, $ty:expr)),* $(,)?])? $(, detail: $d:expr)? $(,)?) => {
        Positive {
            event: $event,
            targets: &[$($($t),*)?],
            threats: &[$($(($v, $ty)),*)?],
            detail: pos!(@detail $($d)?),
        }
    };
}

/// Every rule, in the order their AlertTypes are listed.
// The families come after the macros their entries use.
pub mod lateral;
mod lists;
pub mod winrm;
pub mod wmi;

/// Every rule, in the order their AlertTypes are listed: the WinRM family,
/// the WMI family, then the other lateral-movement techniques.
pub static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    winrm::ALL
        .iter()
        .chain(wmi::ALL)
        .chain(lateral::ALL)
        .copied()
        .collect()
});

/// The keyword scan: every needle of every rule, once each.
pub fn keywords() -> &'static Keywords {
    static K: LazyLock<Keywords> = LazyLock::new(|| {
        let mut words: Vec<&'static str> = Vec::new();
        for n in RULES.iter().flat_map(Rule::needles) {
            if !words.contains(&n) {
                words.push(n);
            }
        }
        Keywords::new(words)
    });
    &K
}

/// An event prepared for the rules.
pub fn prepare(ev: &dyn crate::event::Event) -> Ctx<'_> {
    Ctx::with_kind(ev, crate::event::kind::kind_of(ev), keywords())
}

// ------------------------------------------------ shared by the families

fn any(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| hay.contains(n))
}

fn remote(targets: Vec<String>) -> Vec<String> {
    targets.into_iter().filter(|t| !is_loopback(t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ctx::noted;
    use crate::detect::Engine;
    use crate::event::PairsEvent;

    /// `hit` against what `p` claims, field by field.
    fn check_hit(at: &str, p: &Positive, hit: &Hit, failures: &mut Vec<String>) {
        let ex = p.event;
        let targets: Vec<&str> = hit.targets.iter().map(String::as_str).collect();
        if targets != p.targets {
            failures.push(format!(
                "{at}: targets {targets:?}, expected {:?}: {ex:?}",
                p.targets
            ));
        }
        let threats: Vec<(&str, &str)> =
            hit.threats.iter().map(|(v, t)| (v.as_str(), *t)).collect();
        if threats != p.threats {
            failures.push(format!(
                "{at}: threats {threats:?}, expected {:?}: {ex:?}",
                p.threats
            ));
        }
        if hit.detail.as_deref() != p.detail {
            failures.push(format!(
                "{at}: detail {:?}, expected {:?}: {ex:?}",
                hit.detail, p.detail
            ));
        }
    }

    /// The release path: the engine routes the event by class, skips
    /// keyword-only rules when the keyword scan found nothing, and must
    /// still report the rule (its description) with the targets and threat
    /// objects its matcher returned (`hit`; checked against the claims by
    /// [`check_hit`]).
    fn check_engine(
        at: &str,
        engine: &Engine,
        rule: &Rule,
        ex: Example,
        hit: Option<&Hit>,
        failures: &mut Vec<String>,
    ) {
        let Some(det) = engine.detect(&PairsEvent::from_pairs(ex)) else {
            failures.push(format!("{at}: the engine detected nothing: {ex:?}"));
            return;
        };
        let reported = det.descriptions.iter().any(|d| {
            d.strip_prefix(rule.description)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(": "))
        });
        if !reported {
            failures.push(format!(
                "{at}: the engine did not report the rule (descriptions {:?}): {ex:?}",
                det.descriptions
            ));
        }
        let Some(hit) = hit else { return };
        for t in &hit.targets {
            // The engine writes every host in one spelling (`short_host`).
            if !det.targets.contains(&crate::detect::targets::short_host(t)) {
                failures.push(format!(
                    "{at}: the engine lost target {t:?} (targets {:?}): {ex:?}",
                    det.targets
                ));
            }
        }
        for t in &hit.threats {
            if !det.threats.contains(t) {
                failures.push(format!(
                    "{at}: the engine lost threat {t:?} (threats {:?}): {ex:?}",
                    det.threats
                ));
            }
        }
    }

    /// Every positive matches with exactly the targets, threat objects and
    /// detail it claims, through the matcher and through the engine; every
    /// negative does not match.
    #[test]
    fn every_rule_matches_its_examples() {
        let engine = Engine::default();
        let mut failures = Vec::new();
        for rule in RULES.iter() {
            assert!(
                !rule.positives.is_empty() && !rule.negatives.is_empty(),
                "{} lacks examples",
                rule.id
            );
            for (i, p) in rule.positives.iter().enumerate() {
                let at = format!("{} positive {i}", rule.id);
                let ex = p.event;
                let ev = PairsEvent::from_pairs(ex);
                let ctx = prepare(&ev);
                if !ctx.kind.class().is_some_and(|c| rule.routes(c)) {
                    failures.push(format!(
                        "{at}: of an undeclared kind {:?}: {ex:?}",
                        ctx.kind
                    ));
                }
                if rule.needs_keyword() && !ctx.keywords {
                    failures.push(format!(
                        "{at}: keyword-only rule, positive without a keyword: {ex:?}"
                    ));
                }
                noted::take();
                let hit = rule.check(&ctx);
                let own = rule.needles();
                for n in noted::take()
                    .into_iter()
                    .filter(|n| !own.contains(&n.as_str()))
                {
                    failures.push(format!(
                        "{at}: needle {n:?} not among the rule's needles: {ex:?}"
                    ));
                }
                match &hit {
                    Some(hit) => check_hit(&at, p, hit, &mut failures),
                    None => failures.push(format!("{at}: not matched: {ex:?}")),
                }
                check_engine(&at, &engine, rule, ex, hit.as_ref(), &mut failures);
            }
            for ex in rule.negatives {
                let ev = PairsEvent::from_pairs(ex);
                if rule.check(&prepare(&ev)).is_some() {
                    failures.push(format!("{}: negative matched: {ex:?}", rule.id));
                }
            }
            for p in rule.public {
                check_public(&engine, rule, p, &mut failures);
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Issue 15: detection reads `_raw` only of the kinds that say so
    /// ([`crate::event::kind::Kind::reads_raw`]), for every rule example:
    /// `hunt` writes no XML for the others' EVTX records.
    #[test]
    fn issue15_only_the_kinds_that_say_so_have_their_raw_read() {
        use crate::event::{kind::kind_of, Event, Field, F};
        use std::cell::Cell;
        struct Watch<'e> {
            ev: &'e dyn Event,
            raw: Cell<bool>,
        }
        impl Event for Watch<'_> {
            fn get(&self, f: F) -> Field<'_> {
                self.raw.set(self.raw.get() || f == F::Raw);
                self.ev.get(f)
            }
        }
        let engine = Engine::default();
        let mut det = crate::detect::Detection::default();
        let mut examples: Vec<Example> = Vec::new();
        for rule in RULES.iter() {
            examples.extend(rule.positives.iter().map(|p| p.event));
            examples.extend(rule.negatives.iter().copied());
            examples.extend(rule.public.iter().map(|p| p.event));
        }
        let mut read = 0;
        for ex in &examples {
            let ev = PairsEvent::from_pairs(ex);
            let w = Watch {
                ev: &ev,
                raw: Cell::new(false),
            };
            engine.detect_into(&w, &mut det);
            if w.raw.get() {
                read += 1;
                assert!(
                    kind_of(&ev).reads_raw(),
                    "{:?} read _raw: {ex:?}",
                    kind_of(&ev)
                );
            }
        }
        assert!(
            read > 0 && examples.len() > 300,
            "{read} of {}",
            examples.len()
        );
    }

    /// An example built from a public rule: ours matches its event with
    /// exactly its targets, through the engine too, and does with its
    /// contrast what it says.
    fn check_public(engine: &Engine, rule: &Rule, p: &FromPublic, failures: &mut Vec<String>) {
        let at = format!("{} from {:?}", rule.id, p.origin);
        let hit = rule.check(&prepare(&PairsEvent::from_pairs(p.event)));
        match &hit {
            Some(hit) if hit.targets != p.targets => {
                failures.push(format!("{at}: targets {:?}: {:?}", hit.targets, p.event));
            }
            Some(_) => {}
            None => failures.push(format!("{at}: not matched: {:?}", p.event)),
        }
        check_engine(&at, engine, rule, p.event, hit.as_ref(), failures);
        let Some((ex, contrast)) = p.contrast else {
            return;
        };
        let matched = rule.check(&prepare(&PairsEvent::from_pairs(ex))).is_some();
        if matched != matches!(contrast, Contrast::Broader(_)) {
            failures.push(format!(
                "{at}: contrast {contrast:?} but matched={matched}: {ex:?}"
            ));
        }
    }

    #[test]
    fn rule_ids_are_unique_and_scores_in_range() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        assert!(RULES.iter().all(|r| r.impact <= 100 && r.confidence <= 100));
    }

    #[test]
    fn utf16_payload_decodes() {
        let hex = "68007400740070003A002F002F0061000000";
        assert_eq!(winrm::decode_utf16_hex(hex).as_deref(), Some("http://a"));
        assert_eq!(winrm::decode_utf16_hex("zz"), None);
    }
}
