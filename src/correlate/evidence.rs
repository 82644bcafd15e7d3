//! What one event contributes to correlation: an [`Evidence`] record, from
//! its typed [`Finding`] or, for events no rule alerts on by themselves,
//! from what they show (an RPC connection, a network logon, a process
//! creation in a tree).

use std::collections::{BTreeSet, HashMap};

use crate::detect::targets::{is_loopback, short_host};
use crate::detect::{Finding, Outcome, Side, Technique};
use crate::event::kind::Kind;
use crate::event::{Event, F};

/// What one event contributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// Order of arrival among kept evidence (what
    /// [`Correlator::add`](crate::correlate::Correlator::add) returned).
    pub seq: usize,
    /// Event time, epoch seconds.
    pub time: f64,
    /// Short host name of the logging host.
    pub host: String,
    /// The user, as logged (lower-case).
    pub user: Option<String>,
    /// Source or destination (never [`Side::Local`]).
    pub role: Side,
    /// Transport.
    pub technique: Technique,
    /// Source: the remote host named (short name or IP).
    pub target: Option<String>,
    /// Destination: the remote address seen.
    pub peer_ip: Option<String>,
    /// Destination: the logon session it belongs to.
    pub logon_id: Option<String>,
    /// A failed attempt (WinRM 162/12 inherit the same-second 6's target).
    pub failed: bool,
    /// A WinRM client session start (event 6): failures in its second take
    /// its target.
    pub session_start: bool,
    /// A network logon: it only lends its source address to the other
    /// evidence of its logon session, and makes no hop by itself.
    pub session_only: bool,
    /// A process creation that no rule flags: it joins the hop of the
    /// process it descends from (through `ParentProcessGuid`), if any, and
    /// makes no hop by itself.
    pub tree_only: bool,
    /// Process creations: the process's `ProcessGuid` (lower-case).
    pub process: Option<String>,
    /// Process creations: the parent's `ProcessGuid` (lower-case).
    pub parent: Option<String>,
    /// The AlertTypes of the event, for the hop's `lm_evidence` only.
    pub alert_types: Vec<&'static str>,
    /// The event's risk score.
    pub risk: u32,
}

impl Evidence {
    /// Evidence of `role` on `host` at `time`; the rest empty.
    pub(super) fn new(
        time: f64,
        host: &str,
        user: Option<String>,
        role: Side,
        technique: Technique,
    ) -> Self {
        Evidence {
            seq: 0,
            time,
            host: host.to_string(),
            user,
            role,
            technique,
            target: None,
            peer_ip: None,
            logon_id: None,
            failed: false,
            session_start: false,
            session_only: false,
            tree_only: false,
            process: None,
            parent: None,
            alert_types: Vec::new(),
            risk: 0,
        }
    }
}

/// The evidence an event gives, if any.
pub fn evidence_of(ev: &dyn Event, kind: Kind, finding: Option<Finding<'_>>) -> Option<Evidence> {
    let time = time_of(ev)?;
    let host = host_of(ev)?;
    let user = ev.get(F::User).value().map(|u| u.to_ascii_lowercase());
    // Built only once the event is known to give evidence.
    let base = |role, technique| Evidence::new(time, &host, user.clone(), role, technique);
    if let Some(f) = finding {
        if let Some(decided) = from_finding(ev, kind, &f, &base) {
            return decided;
        }
    }
    // Evidence that no per-event rule alerts on by itself.
    match (kind, event_code(ev)) {
        (Kind::NetworkConnection, _) => rpc_135(ev, base),
        (Kind::Other, Some(4624)) => network_logon(ev, base(Side::Destination, Technique::Wmi)),
        (Kind::ProcessCreate, _) => tree_node(ev, base(Side::Destination, Technique::WinRm)),
        _ => None,
    }
}

/// Evidence from a detection: `Some(answer)` when the finding decides
/// (a source naming its target or failing, a scored destination), `None`
/// when the event should be looked at as if no rule had matched.
fn from_finding(
    ev: &dyn Event,
    kind: Kind,
    f: &Finding<'_>,
    base: &impl Fn(Side, Technique) -> Evidence,
) -> Option<Option<Evidence>> {
    let technique = f.technique.unwrap_or(Technique::WinRm);
    let failed = f.outcome == Outcome::Failed;
    let with_finding = |mut e: Evidence| {
        e.alert_types = f.alert_types.to_vec();
        e.risk = f.risk_score;
        e
    };
    match f.side {
        Side::Source if failed || !f.targets.is_empty() => {
            let target = f
                .targets
                .iter()
                .find(|t| !is_loopback(t))
                .map(|t| t.to_ascii_lowercase());
            if target.is_none() && !failed {
                return Some(None);
            }
            let mut e = with_finding(base(Side::Source, technique));
            e.target = target;
            e.failed = failed;
            e.session_start = kind == Kind::WinRm(6);
            Some(Some(e))
        }
        Side::Destination if f.risk_score > 0 => {
            let mut e = with_finding(base(Side::Destination, technique));
            if kind == Kind::NetworkConnection {
                e.peer_ip = ev.get(F::SrcIp).value().map(|v| v.to_ascii_lowercase());
            }
            e.logon_id = ev.get(F::LogonId).value().map(|v| v.to_ascii_lowercase());
            if kind == Kind::ProcessCreate {
                (e.process, e.parent) = guids(ev);
            }
            Some(Some(e))
        }
        _ => None,
    }
}

fn event_code(ev: &dyn Event) -> Option<u32> {
    ev.get(F::EventCode)
        .value()
        .and_then(|c| c.trim().parse::<u32>().ok())
}

/// An RPC endpoint-mapper connection (port 135) between two real hosts:
/// WMI transport evidence, outbound for the source, inbound for the
/// destination.
fn rpc_135(ev: &dyn Event, base: impl Fn(Side, Technique) -> Evidence) -> Option<Evidence> {
    if ev.get(F::DestPort).value().map(str::trim) != Some("135") {
        return None;
    }
    let outbound = ev
        .get(F::Initiated)
        .value()
        .map(|v| v.eq_ignore_ascii_case("true"))?;
    let (src, dst) = (
        ev.get(F::SrcIp).value()?.to_ascii_lowercase(),
        ev.get(F::DestIp).value()?.to_ascii_lowercase(),
    );
    if src == dst || is_loopback(&src) || is_loopback(&dst) {
        return None;
    }
    let role = if outbound {
        Side::Source
    } else {
        Side::Destination
    };
    let mut e = base(role, Technique::Wmi);
    if outbound {
        e.target = Some(dst);
    } else {
        e.peer_ip = Some(src);
    }
    Some(e)
}

/// A network logon (4624 type 3) from a real address: it lends that
/// address to its logon session.
fn network_logon(ev: &dyn Event, mut e: Evidence) -> Option<Evidence> {
    if ev.get(F::LogonType).value().map(str::trim) != Some("3") {
        return None;
    }
    let ip = ev
        .get(F::IpAddress)
        .value()
        .map(|v| v.to_ascii_lowercase())
        .filter(|ip| !is_loopback(ip))?;
    e.user = ev
        .get(F::TargetUserName)
        .value()
        .map(|u| u.to_ascii_lowercase());
    e.peer_ip = Some(ip);
    e.logon_id = ev
        .get(F::TargetLogonId)
        .value()
        .map(|v| v.to_ascii_lowercase());
    e.session_only = true;
    Some(e)
}

/// A process creation no rule flags, kept as a node of its process tree.
fn tree_node(ev: &dyn Event, mut e: Evidence) -> Option<Evidence> {
    let (process, parent) = guids(ev);
    e.process = Some(process?);
    e.parent = Some(parent?);
    e.tree_only = true;
    Some(e)
}

/// A process creation's `ProcessGuid` and `ParentProcessGuid` (Sysmon 1),
/// lower-case, without braces.
pub fn guids(ev: &dyn Event) -> (Option<String>, Option<String>) {
    let g = |f| {
        ev.get(f)
            .value()
            .map(|v| {
                v.trim()
                    .trim_matches(|c| c == '{' || c == '}')
                    .to_ascii_lowercase()
            })
            .filter(|v| !v.is_empty() && v.bytes().any(|b| b != b'0' && b != b'-'))
    };
    (g(F::ProcessGuid), g(F::ParentProcessGuid))
}

/// The short name of the logging host.
pub fn host_of(ev: &dyn Event) -> Option<String> {
    ev.get(F::Computer)
        .value()
        .or(ev.get(F::Host).value())
        .map(short_host)
        .filter(|h| !h.is_empty())
}

fn time_of(ev: &dyn Event) -> Option<f64> {
    ev.get(F::Time)
        .value()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite())
}

/// WinRM 162/12 carry no target: they take the target of an event 6 on the
/// same host in the same second.
pub fn inherit_failure_targets(ev: &mut [Evidence]) {
    // (host, second) → the first 6's target there.
    let mut sixes: HashMap<(String, i64), (String, Technique)> = HashMap::new();
    for e in ev
        .iter()
        .filter(|e| e.role == Side::Source && !e.failed && e.session_start)
    {
        if let Some(t) = &e.target {
            sixes
                .entry((e.host.clone(), e.time.floor() as i64))
                .or_insert_with(|| (t.clone(), e.technique));
        }
    }
    for e in ev.iter_mut().filter(|e| e.failed && e.target.is_none()) {
        if let Some((t, tech)) = sixes.get(&(e.host.clone(), e.time.floor() as i64)) {
            e.target = Some(t.clone());
            e.technique = *tech;
        }
    }
    // A 6 followed by a failure in its second is the failed attempt itself.
    let failed_seconds: BTreeSet<(String, i64)> = ev
        .iter()
        .filter(|e| e.failed)
        .map(|e| (e.host.clone(), e.time.floor() as i64))
        .collect();
    for e in ev
        .iter_mut()
        .filter(|e| e.role == Side::Source && e.session_start)
    {
        if failed_seconds.contains(&(e.host.clone(), e.time.floor() as i64)) {
            e.failed = true;
        }
    }
}
