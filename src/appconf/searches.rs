//! `default/savedsearches.conf`: one risk search per technique family, the
//! hop search, and one hunting search, each a typed plan rendered to SPL.
//!
//! The risk model (README "Risk model"): a per-event search hands ES at
//! most one result per host and hour (its strongest event of scores of at
//! least [`RISK_EVENT_MIN`]), risk on the host (`dest`) and, on
//! destination-side events, on the account that arrived (`risk_user`); the
//! hop search adds on each end and account only the part of a hop's risk
//! above its strongest such event (`lm_risk_added`).

use std::collections::BTreeSet;

use crate::correlate::RISK_EVENT_MIN;
use crate::detect::rules::{Rule, RULES};
use crate::detect::Technique;
use crate::event::kind::{event_channel, event_code, Channel, Class};
use crate::event::{Event, F};

use super::macros::source_macro;

/// `(`macro` EventCode IN (..) (term OR term ..))` for a class whose events
/// need a term.
fn termed_part(channel: Channel, codes: &[u32], terms: &[&str]) -> Option<String> {
    let name = source_macro(channel)?.name;
    let codes: Vec<String> = codes.iter().map(u32::to_string).collect();
    Some(format!(
        "(`{name}` EventCode IN ({}) ({}))",
        codes.join(", "),
        terms.join(" OR ")
    ))
}

/// Whether the event's raw text (or, without one, the fields a term can
/// be in) holds one of `terms`, ASCII case aside.
fn holds_a_term(ev: &dyn Event, terms: &[&str]) -> bool {
    let holds = |text: &str| {
        let text = text.to_ascii_lowercase();
        terms.iter().any(|term| text.contains(term))
    };
    match ev.get(F::Raw).value() {
        Some(raw) => holds(raw),
        None => [
            F::Image,
            F::ImageLoaded,
            F::OriginalFileName,
            F::TargetObject,
        ]
        .iter()
        .any(|f| ev.get(*f).value().is_some_and(holds)),
    }
}

/// The fields a per-event risk search hands to the risk action (the rest,
/// `_raw` first, never reach the risk index).
pub const PER_EVENT_FIELDS: [&str; 17] = [
    "_time",
    "dest",
    "src",
    "src_ip",
    "dest_ip",
    "user",
    "risk_user",
    "process",
    "process_name",
    "parent_process_name",
    "target_host",
    "AlertType",
    "alert_description",
    "mitre_technique_id",
    "lm_side",
    "risk_score",
    "risk_message",
];

/// The fields the hop search hands to the risk action.
pub const HOP_FIELDS: [&str; 14] = [
    "_time",
    "lm_hop_id",
    "lm_chain_id",
    "lm_hop",
    "src",
    "dest",
    "user",
    "lm_technique",
    "lm_outcome",
    "lm_confidence",
    "lm_confidence_reasons",
    "lm_known",
    "risk_score",
    "risk_message",
];

/// What a saved search does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Per-event risk for the rules of one technique family.
    Rule(Technique),
    /// Correlated hops, risk beyond their evidence.
    Hop,
    /// Every detection, no risk action (for people).
    Hunting,
}

/// One `_risk` entry: a risk object or a threat object, its field and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskEntry {
    /// A risk object (else a threat object).
    pub risk: bool,
    /// The result field it reads.
    pub field: &'static str,
    /// Its ES type.
    pub kind: &'static str,
}

const fn risk(field: &'static str, kind: &'static str) -> RiskEntry {
    RiskEntry {
        risk: true,
        field,
        kind,
    }
}

const fn threat(field: &'static str, kind: &'static str) -> RiskEntry {
    RiskEntry {
        risk: false,
        field,
        kind,
    }
}

/// The risk and threat objects of a per-event search.
/// The threat objects are what acted and what was aimed at: the process
/// and its parent, the remote peer a destination event names (`src`), the
/// hosts a source event targets; never the host's own addresses.
const PER_EVENT_RISK: [RiskEntry; 6] = [
    risk("dest", "system"),
    risk("risk_user", "user"),
    threat("process_name", "process_name"),
    threat("parent_process_name", "parent_process_name"),
    threat("src", "system"),
    threat("target_host", "system"),
];

/// The risk objects of the hop search.
const HOP_RISK: [RiskEntry; 3] = [
    risk("src", "system"),
    risk("dest", "system"),
    risk("user", "user"),
];

/// A scheduled search, as a plan.
#[derive(Debug, Clone)]
pub struct SavedSearch {
    /// What it does.
    pub kind: Kind,
    /// The stanza name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The AlertTypes it keeps (per-event searches).
    pub alert_types: Vec<&'static str>,
    /// The event classes its pre-filter lets through.
    pub classes: Vec<Class>,
    /// ATT&CK ids, parents included.
    pub mitre: Vec<String>,
    /// The strongest rule's impact and confidence (annotations, and the
    /// static score ES uses only when a result has no `risk_score`).
    pub impact: u8,
    /// See `impact`.
    pub confidence: u8,
}

impl SavedSearch {
    /// Its filter macro.
    pub fn filter_macro(&self) -> String {
        let slug = match self.kind {
            Kind::Rule(t) => t.as_str().to_ascii_lowercase(),
            Kind::Hop => "hop".into(),
            Kind::Hunting => "hunting".into(),
        };
        format!("winrmdetect_{slug}_filter")
    }

    /// Its `_risk` entries (none for hunting).
    pub fn risk_entries(&self) -> &'static [RiskEntry] {
        match self.kind {
            Kind::Rule(_) => &PER_EVENT_RISK,
            Kind::Hop => &HOP_RISK,
            Kind::Hunting => &[],
        }
    }

    /// The fields kept for the risk action.
    pub fn fields(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Hop => &HOP_FIELDS,
            _ => &PER_EVENT_FIELDS,
        }
    }

    /// The static score of its risk entries.
    pub fn static_score(&self) -> u32 {
        u32::from(self.impact) * u32::from(self.confidence) / 100
    }

    /// Whether its pre-filter (the channels and event codes of its
    /// classes' sources, and their terms) lets this event reach the binary.
    /// A term is looked for, ASCII case aside, in `_raw` or, without one,
    /// in the fields the terms name (Splunk matches terms against the raw
    /// text; every term is a whole segment there).
    pub fn prefilter_passes(&self, ev: &dyn Event) -> bool {
        let channel = event_channel(ev);
        let code = event_code(ev);
        self.classes.iter().any(|c| {
            c.sources().iter().any(|(ch, codes)| {
                *ch == channel && (codes.is_empty() || code.is_some_and(|c| codes.contains(&c)))
            }) && (c.terms().is_empty() || holds_a_term(ev, c.terms()))
        })
    }

    /// The pre-filter: the data-source macros with their event codes, and
    /// a class's own part where it needs a term.
    pub fn prefilter(&self) -> String {
        let mut by_channel: Vec<(Channel, BTreeSet<u32>, bool)> = Vec::new();
        let mut parts: Vec<String> = Vec::new();
        for class in &self.classes {
            for (channel, codes) in class.sources() {
                if !class.terms().is_empty() {
                    parts.extend(termed_part(*channel, codes, class.terms()));
                    continue;
                }
                let at = match by_channel.iter().position(|(c, _, _)| c == channel) {
                    Some(at) => at,
                    None => {
                        by_channel.push((*channel, BTreeSet::new(), false));
                        by_channel.len() - 1
                    }
                };
                let entry = &mut by_channel[at];
                entry.1.extend(codes.iter().copied());
                entry.2 |= codes.is_empty();
            }
        }
        let grouped = by_channel.iter().filter_map(|(channel, codes, any)| {
            let name = source_macro(*channel)?.name;
            Some(if *any {
                format!("`{name}`")
            } else {
                let codes: Vec<String> = codes.iter().map(u32::to_string).collect();
                format!("(`{name}` EventCode IN ({}))", codes.join(", "))
            })
        });
        grouped.chain(parts).collect::<Vec<_>>().join(" OR ")
    }

    /// The SPL.
    pub fn spl(&self) -> String {
        let filters = format!("`winrmdetect_filter` | `{}`", self.filter_macro());
        let fields = self.fields().join(" ");
        match self.kind {
            Kind::Rule(_) => {
                let types: Vec<String> = self.alert_types.iter().map(|t| format!("\"{t}\"")).collect();
                format!(
                    "search {} | winrmdetect alerts_only=true min_score={RISK_EVENT_MIN} | search AlertType IN ({}) | {filters} | sort 0 - risk_score | dedup dest | eval risk_user=if(lm_side==\"destination\", user, null()) | fields {fields}",
                    self.prefilter(),
                    types.join(", ")
                )
            }
            Kind::Hop => format!(
                "search {} | winrmdetect correlate=true summary=true | where lm_risk_added > 0 | {filters} | eval risk_score=lm_risk_added | fields {fields}",
                self.prefilter()
            ),
            Kind::Hunting => format!(
                "search {} | winrmdetect alerts_only=true | {filters} | stats count min(_time) as firstTime max(_time) as lastTime values(risk_message) as risk_message max(risk_score) as risk_score by dest AlertType lm_side",
                self.prefilter()
            ),
        }
    }
}

/// The technique family a rule's search is: its transport's, and WinRM's
/// for the rules that name none (all of them WinRM and PowerShell
/// remoting rules, whose transport the event alone does not settle).
fn family(rule: &Rule) -> Technique {
    rule.technique.map_or(Technique::WinRm, Technique::family)
}

/// The title and description of a family's search.
fn family_text(t: Technique) -> (&'static str, &'static str) {
    match t {
        Technique::Wmi => ("WMI Lateral Movement", "Remote WMI execution at either end (wmic /node, Invoke-WmiMethod, WmiPrvSE children, Impacket wmiexec) and WMI persistence."),
        Technique::SmbService => ("Remote Service Execution", "A service created remotely over SMB/RPC (PsExec, PAExec, smbexec, sc \\\\host create) and what it started."),
        Technique::ScheduledTask => ("Remote Scheduled Task", "A scheduled task registered remotely (schtasks /s, atexec) and the task that runs a command."),
        Technique::Dcom => ("DCOM Lateral Movement", "A DCOM object started remotely (MMC20.Application, ShellWindows, Office automation) and the processes it started."),
        Technique::Rdp => ("Remote Desktop Lateral Movement", "Remote Desktop logons and sessions on the destination and the client on the source."),
        _ => ("WinRM and PowerShell Remoting Lateral Movement", "WinRM, PowerShell remoting and winrs at either end: client command lines and script blocks, wsmprovhost/winrshost children, remote sessions, WinRM configuration changes."),
    }
}

/// ATT&CK ids with their parents (`T1021.006` brings `T1021`).
fn with_parents<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut all = BTreeSet::new();
    for id in ids {
        all.insert(id.to_string());
        if let Some((parent, _)) = id.split_once('.') {
            all.insert(parent.to_string());
        }
    }
    all.into_iter().collect()
}

fn plan(kind: Kind, rules: &[&Rule], name: String, description: String) -> SavedSearch {
    let mut alert_types = Vec::new();
    let mut classes = Vec::new();
    for r in rules {
        if !alert_types.contains(&r.alert_type) {
            alert_types.push(r.alert_type);
        }
        for c in Class::ALL {
            if r.routes(c) && !classes.contains(&c) {
                classes.push(c);
            }
        }
    }
    if !matches!(kind, Kind::Rule(_)) {
        // Correlation reads logons, connections and process trees too.
        classes = Class::ALL.to_vec();
    }
    let top = rules
        .iter()
        .max_by_key(|r| u32::from(r.impact) * u32::from(r.confidence))
        .expect("a search has rules");
    SavedSearch {
        kind,
        name,
        description,
        alert_types,
        classes,
        mitre: with_parents(rules.iter().map(|r| r.mitre)),
        impact: top.impact,
        confidence: top.confidence,
    }
}

/// Every saved search: one per technique family, the hop search, the
/// hunting search.
pub fn saved_searches() -> Vec<SavedSearch> {
    let mut out = Vec::new();
    let families: Vec<Technique> =
        Technique::ALL
            .iter()
            .map(|t| t.family())
            .fold(Vec::new(), |mut v, t| {
                if !v.contains(&t) {
                    v.push(t);
                }
                v
            });
    for t in families {
        let rules: Vec<&Rule> = RULES.iter().filter(|r| family(r) == t).collect();
        let (title, what) = family_text(t);
        let description = format!(
            "{what} Per-event risk: the strongest {} detection per host and run (score at least {RISK_EVENT_MIN}), on the host and, on the destination, the account that arrived.",
            t.as_str()
        );
        out.push(plan(
            Kind::Rule(t),
            &rules,
            format!("winrmdetect - {title} - Rule"),
            description,
        ));
    }
    let all: Vec<&Rule> = RULES.iter().collect();
    let mut hop = plan(
        Kind::Hop,
        &all,
        "winrmdetect - Lateral Movement Hop - Rule".into(),
        "A correlated source -> destination hop (correlate=true). Risk on both ends and the accounts: only what the hop adds beyond its strongest per-event risk event (lm_risk_added), so one movement never scores an object above the hop's own risk.".into(),
    );
    hop.impact = 100;
    hop.confidence = 85;
    out.push(hop);
    out.push(plan(
        Kind::Hunting,
        &all,
        "winrmdetect - Lateral Movement Activity - Hunting".into(),
        "Every winrmdetect detection, context included, counted per host and AlertType. No risk action: for people hunting.".into(),
    ));
    out
}

/// `default/savedsearches.conf`.
pub fn savedsearches_conf() -> String {
    let mut s = String::from(
        "# Saved searches of the winrmdetect app (ESCU style). Generated by\n\
         # `winrmdetect print-app-conf savedsearches`; a test checks this file matches it.\n\
         # Every search ships disabled. The risk action exists only with Enterprise Security.\n\
         # The static risk_score of each _risk entry applies only to a result without a\n\
         # risk_score field; ours always carry one (README \"Risk model\").\n",
    );
    for search in saved_searches() {
        s.push_str(&stanza(&search));
    }
    s
}

fn stanza(search: &SavedSearch) -> String {
    let mut s = format!(
        "\n[{}]\ndescription = {}\nsearch = {}\ndisabled = true\n",
        search.name,
        search.description,
        search.spl()
    );
    if search.kind == Kind::Hunting {
        s.push_str(
            "enableSched = 0\ndispatch.earliest_time = -24h@h\ndispatch.latest_time = now\n",
        );
        return s;
    }
    s.push_str(
        "enableSched = 1\ncron_schedule = 0 * * * *\ndispatch.earliest_time = -70m@m\ndispatch.latest_time = -10m@m\nschedule_window = auto\nallow_skew = 100%\nrealtime_schedule = 0\ncounttype = number of events\nrelation = greater than\nquantity = 0\nalert.digest_mode = 1\nalert.track = 0\naction.notable = 0\naction.risk = 1\naction.risk.param._risk_message = $risk_message$\n",
    );
    let entries: Vec<String> = search
        .risk_entries()
        .iter()
        .map(|e| {
            if e.risk {
                format!(
                    "{{\"risk_object_field\": \"{}\", \"risk_object_type\": \"{}\", \"risk_score\": {}}}",
                    e.field,
                    e.kind,
                    search.static_score()
                )
            } else {
                format!(
                    "{{\"threat_object_field\": \"{}\", \"threat_object_type\": \"{}\"}}",
                    e.field, e.kind
                )
            }
        })
        .collect();
    let mitre: Vec<String> = search.mitre.iter().map(|m| format!("\"{m}\"")).collect();
    s.push_str(&format!(
        "action.risk.param._risk = [{}]\naction.risk.param._risk_score = 0\naction.risk.param.verbose = 0\naction.correlationsearch.enabled = 1\naction.correlationsearch.label = {}\naction.correlationsearch.annotations = {{\"analytic_story\": [\"Active Directory Lateral Movement\"], \"mitre_attack\": [{}], \"impact\": {}, \"confidence\": {}}}\n",
        entries.join(", "),
        search.name,
        mitre.join(", "),
        search.impact,
        search.confidence
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::PairsEvent;

    /// Issue 17: every example a rule must match (of a channel), its own
    /// and those built from public rules, reaches the binary through its family search's
    /// pre-filter, the terms of image loads and registry events included;
    /// an image load or a registry write without a term does not.
    #[test]
    fn issue17_every_rule_example_passes_its_searchs_prefilter() {
        let searches = saved_searches();
        let mut failures = Vec::new();
        for rule in RULES.iter() {
            let search = searches
                .iter()
                .find(|s| {
                    matches!(s.kind, Kind::Rule(_)) && s.alert_types.contains(&rule.alert_type)
                })
                .expect("a family search");
            let events = rule
                .positives
                .iter()
                .map(|p| p.event)
                .chain(rule.public.iter().map(|p| p.event));
            // CIM Endpoint.Processes rows carry no channel: they come from
            // a data-model search, not through the pre-filter.
            for ex in events.filter(|ex| ex.iter().any(|(k, _)| *k == "source")) {
                if !search.prefilter_passes(&PairsEvent::from_pairs(ex)) {
                    failures.push(format!("{} / {}: {ex:?}", rule.id, search.name));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        let wmi = searches
            .iter()
            .find(|s| s.kind == Kind::Rule(Technique::Wmi))
            .unwrap();
        let sysmon = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational";
        let passes = |dll: &str| {
            wmi.prefilter_passes(&PairsEvent::from_pairs(&[
                ("source", sysmon),
                ("EventCode", "7"),
                ("Image", "C:\\x\\a.exe"),
                ("ImageLoaded", dll),
            ]))
        };
        assert!(passes("C:\\Windows\\System32\\wbem\\wbemcons.dll"));
        assert!(!passes("C:\\Windows\\System32\\ntdll.dll"));
        let raw = PairsEvent::from_pairs(&[
            ("source", sysmon),
            ("EventCode", "13"),
            (
                "_raw",
                "<Data Name='Image'>C:\\Windows\\system32\\wbem\\WmiPrvSE.exe</Data>",
            ),
        ]);
        assert!(wmi.prefilter_passes(&raw));
        assert!(wmi.prefilter().contains(
            "(`winrmdetect_sysmon` EventCode IN (12, 13, 14) (wmiprvse.exe OR enableat))"
        ));
    }

    /// The WinRM search's pre-filter lets Sysmon 1 through and not Sysmon 3
    /// (no WinRM rule reads connections), and any WinRM Operational event.
    #[test]
    fn the_winrm_prefilter_is_the_rules_sources() {
        let s = &saved_searches()[0];
        assert_eq!(s.kind, Kind::Rule(Technique::WinRm));
        let sysmon = |code: &'static str| {
            PairsEvent::from_pairs(&[
                (
                    "source",
                    "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
                ),
                ("EventCode", code),
            ])
        };
        assert!(s.prefilter_passes(&sysmon("1")));
        assert!(
            s.prefilter_passes(&sysmon("10")),
            "wsmprovhost LSASS access"
        );
        assert!(!s.prefilter_passes(&sysmon("11")));
        let winrm = PairsEvent::from_pairs(&[
            (
                "source",
                "XmlWinEventLog:Microsoft-Windows-WinRM/Operational",
            ),
            ("EventCode", "31"),
        ]);
        assert!(s.prefilter_passes(&winrm));
        assert!(s
            .prefilter()
            .contains("(`winrmdetect_sysmon` EventCode IN (1, 3, 10))"));
        assert!(s.prefilter().contains(" OR `winrmdetect_winrm`"));
    }

    /// Families, hop, hunting; every AlertType in exactly one family search.
    #[test]
    fn every_alert_type_is_in_one_family_search() {
        let searches = saved_searches();
        assert_eq!(searches.len(), 8);
        for r in RULES.iter() {
            let n = searches
                .iter()
                .filter(|s| {
                    matches!(s.kind, Kind::Rule(_)) && s.alert_types.contains(&r.alert_type)
                })
                .count();
            assert_eq!(n, 1, "{}", r.alert_type);
        }
        assert!(searches[0].mitre.contains(&"T1021".to_string()));
        assert!(searches[0].mitre.contains(&"T1021.006".to_string()));
    }
}
