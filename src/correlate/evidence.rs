//! What one event contributes to correlation: an [`Evidence`] record, from
//! its typed [`Finding`] or, for events no rule alerts on by themselves,
//! from what they show (an RPC connection, a network logon, a process
//! creation in a tree).

use std::collections::{BTreeSet, HashMap};

use crate::detect::targets::{is_loopback, short_host};
use crate::detect::{Artefact, Carrier, Finding, Outcome, Side, Technique};
use crate::event::kind::Kind;
use crate::event::{Event, F};

/// What a piece of evidence says about how the movement travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Claim {
    /// An execution or session artefact of this technique: what can make
    /// a hop.
    Ran(Technique),
    /// A connection to this service between the two ends: corroborates a
    /// hop of a technique it can carry.
    Connected(Carrier),
    /// A logon (a network logon on the destination, explicit credentials
    /// on the source): corroborates a hop of any technique.
    LoggedOn,
}

impl Claim {
    /// Whether the evidence can take part in a hop of `family`.
    pub fn fits(self, family: Technique) -> bool {
        match self {
            Claim::Ran(t) => t.family() == family,
            Claim::Connected(c) => family.carriers().contains(&c),
            Claim::LoggedOn => true,
        }
    }

    /// The technique it names, for execution evidence.
    pub fn ran(self) -> Option<Technique> {
        match self {
            Claim::Ran(t) => Some(t),
            _ => None,
        }
    }
}

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
    /// What it says about how the movement travelled.
    pub claim: Claim,
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
    /// A process creation that no rule flags: it joins the hop of the
    /// process it descends from (through `ParentProcessGuid`), if any, and
    /// makes no hop by itself.
    pub tree_only: bool,
    /// An installed service or registered task ([`Artefact::Installed`]):
    /// it takes part in a hop only through the network logon it was made
    /// in or paired with the source's own execution evidence.
    pub needs_tie: bool,
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
        claim: Claim,
    ) -> Self {
        Evidence {
            seq: 0,
            time,
            host: host.to_string(),
            user,
            role,
            claim,
            target: None,
            peer_ip: None,
            logon_id: None,
            failed: false,
            session_start: false,
            tree_only: false,
            needs_tie: false,
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
    match kind {
        Kind::NetworkConnection => service_connection(ev, base),
        Kind::Logon => network_logon(ev, base(Side::Destination, Claim::LoggedOn)),
        Kind::ProcessCreate => tree_node(ev, base(Side::Destination, Claim::LoggedOn)),
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
    base: &impl Fn(Side, Claim) -> Evidence,
) -> Option<Option<Evidence>> {
    let claim = claim_of(f, kind)?;
    let failed = f.outcome == Outcome::Failed;
    let with_finding = |mut e: Evidence| {
        e.alert_types = f.alert_types.to_vec();
        e.risk = f.risk_score;
        e.needs_tie = f.artefact == Artefact::Installed;
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
            let mut e = with_finding(base(Side::Source, claim));
            e.target = target;
            e.failed = failed;
            e.session_start = kind == Kind::WinRm(6);
            Some(Some(e))
        }
        Side::Destination => {
            let mut e = with_finding(base(Side::Destination, claim));
            e.peer_ip = peer_address(ev, kind);
            e.logon_id = logon_id(ev, kind);
            if kind == Kind::ProcessCreate {
                (e.process, e.parent) = guids(ev);
            }
            Some(Some(e))
        }
        _ => None,
    }
}

/// What a finding claims: its technique for an execution artefact (WinRM
/// when a WinRM rule names no client), the service for a connection, a
/// logon; `None` for context, which is never evidence.
fn claim_of(f: &Finding<'_>, kind: Kind) -> Option<Claim> {
    let technique = f.technique.unwrap_or(Technique::WinRm);
    match f.artefact {
        Artefact::Context => None,
        Artefact::Execution | Artefact::Installed => Some(Claim::Ran(technique)),
        // A named pipe is opened over SMB whatever service it reaches.
        Artefact::Connection if kind == Kind::ShareAccess => Some(Claim::Connected(Carrier::Smb)),
        Artefact::Connection => Some(Claim::Connected(technique.carriers()[0])),
        Artefact::Logon => Some(Claim::LoggedOn),
    }
}

/// The remote address a destination event shows: the source of an inbound
/// connection, a logon's or share access's client address, the client of
/// an RDP session (`Param3` of RemoteConnectionManager 1149, `Address` of
/// LocalSessionManager 21 / 25), the `clientIP` newer builds append to a
/// WinRM 91 / 168 resource URI. Loopback and `LOCAL` are none.
pub fn peer_address(ev: &dyn Event, kind: Kind) -> Option<String> {
    let field = match kind {
        Kind::NetworkConnection => F::SrcIp,
        Kind::RdpSession(_) => F::RdpClient,
        Kind::WinRm(91 | 168) => F::ResourceUri,
        _ => F::IpAddress,
    };
    let field = ev.get(field);
    let value = field.value()?;
    let value = match kind {
        // Newer builds end the shell's resource URI with
        // `(DOMAIN\user clientIP: a.b.c.d)`.
        Kind::WinRm(_) => value.split_once(" clientIP: ")?.1.trim_end_matches(')'),
        _ => value,
    };
    Some(value)
        .map(|v| v.trim().trim_start_matches("::ffff:").to_ascii_lowercase())
        .filter(|v| !v.is_empty() && v != "-" && v != "local" && !is_loopback(v))
}

/// The logon session a destination event ran in: the subject's for an
/// object that a user registered (a service, a task, a share access), the
/// new or process logon otherwise.
fn logon_id(ev: &dyn Event, kind: Kind) -> Option<String> {
    let field = match kind {
        Kind::ServiceInstall | Kind::TaskRegistered(_) | Kind::ShareAccess => F::SubjectLogonId,
        _ => F::LogonId,
    };
    ev.get(field)
        .value()
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty() && v != "0x0" && v != "0x3e7" && v != "-")
}

/// A connection between two real hosts to a service that can carry lateral
/// movement (RPC 135, SMB 445, RDP 3389): outbound for the source,
/// inbound for the destination. It names no technique: it corroborates.
fn service_connection(ev: &dyn Event, base: impl Fn(Side, Claim) -> Evidence) -> Option<Evidence> {
    let port = ev.get(F::DestPort).value()?.trim().parse::<u32>().ok()?;
    let carrier = Carrier::of_port(port).filter(|c| *c != Carrier::WinRm)?;
    let outbound = ev
        .get(F::Initiated)
        .value()
        .map(|v| v.eq_ignore_ascii_case("true"))
        .or_else(|| direction_outbound(ev))?;
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
    let mut e = base(role, Claim::Connected(carrier));
    if outbound {
        e.target = Some(dst);
    } else {
        e.peer_ip = Some(src);
    }
    Some(e)
}

/// Security 5156's `Direction`: `%%14593` outbound, `%%14592` inbound
/// (also as the rendered words).
fn direction_outbound(ev: &dyn Event) -> Option<bool> {
    match ev.get(F::Direction).value()?.trim() {
        "%%14593" => Some(true),
        "%%14592" => Some(false),
        d if d.eq_ignore_ascii_case("outbound") => Some(true),
        d if d.eq_ignore_ascii_case("inbound") => Some(false),
        _ => None,
    }
}

/// A network logon (4624 type 3) of a person's account from a real
/// address: it lends that address to its logon session and corroborates a
/// hop from there. Machine accounts (`HOST$`) and anonymous logons are
/// the domain's own traffic (Netlogon, replication, GPO), never a mover.
fn network_logon(ev: &dyn Event, mut e: Evidence) -> Option<Evidence> {
    if ev.get(F::LogonType).value().map(str::trim) != Some("3") {
        return None;
    }
    let user = ev.get(F::TargetUserName).value()?.to_ascii_lowercase();
    if user.ends_with('$') || user == "anonymous logon" || user == "-" {
        return None;
    }
    let ip = peer_address(ev, Kind::Logon)?;
    e.user = Some(user);
    e.peer_ip = Some(ip);
    e.logon_id = ev
        .get(F::TargetLogonId)
        .value()
        .map(|v| v.to_ascii_lowercase());
    Some(e)
}

/// A process creation no rule flags, kept as a node of its process tree
/// (with its logon session, which may be one a hop's source opened).
fn tree_node(ev: &dyn Event, mut e: Evidence) -> Option<Evidence> {
    let (process, parent) = guids(ev);
    e.process = Some(process?);
    e.parent = Some(parent?);
    e.logon_id = logon_id(ev, Kind::ProcessCreate);
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
    parse_time(ev.get(F::Time).value()?)
}

/// A `_time` as epoch seconds: epoch seconds as Splunk gives them, or
/// ISO 8601 text as exports and JSON logs write it (`2020-09-20T21:09:11Z`,
/// `2020-09-20 23:09:11.000+0200`, `…+02:00`; no offset means UTC).
pub fn parse_time(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return secs.is_finite().then_some(secs);
    }
    let with_offset = [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
    ];
    let t = t.strip_suffix(" UTC").unwrap_or(t);
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix('z'))
        .unwrap_or(t);
    let epoch = |d: chrono::DateTime<chrono::FixedOffset>| {
        d.timestamp() as f64 + f64::from(d.timestamp_subsec_micros()) / 1e6
    };
    if let Some(d) = with_offset
        .iter()
        .find_map(|f| chrono::DateTime::parse_from_str(t, f).ok())
    {
        return Some(epoch(d));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(t, f).ok())
        .map(|n| epoch(n.and_utc().fixed_offset()))
}

/// WinRM 162/12 carry no target: they take the target of an event 6 on the
/// same host in the same second.
pub fn inherit_failure_targets(ev: &mut [Evidence]) {
    // (host, second) → the first 6's target there.
    let mut sixes: HashMap<(String, i64), (String, Claim)> = HashMap::new();
    for e in ev
        .iter()
        .filter(|e| e.role == Side::Source && !e.failed && e.session_start)
    {
        if let Some(t) = &e.target {
            sixes
                .entry((e.host.clone(), e.time.floor() as i64))
                .or_insert_with(|| (t.clone(), e.claim));
        }
    }
    for e in ev.iter_mut().filter(|e| e.failed && e.target.is_none()) {
        if let Some((t, tech)) = sixes.get(&(e.host.clone(), e.time.floor() as i64)) {
            e.target = Some(t.clone());
            e.claim = *tech;
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

#[cfg(test)]
mod tests {
    use super::parse_time;

    /// Issue 15: ISO 8601 `_time` (with or without an offset) is a time,
    /// in UTC; epoch text stays as it was.
    #[test]
    fn issue15_iso_8601_times_are_times() {
        let t = 1_600_636_151.0;
        for text in [
            "1600636151",
            " 1600636151.000000 ",
            "2020-09-20T21:09:11Z",
            "2020-09-20T21:09:11.000Z",
            "2020-09-20T23:09:11.000+0200",
            "2020-09-20T23:09:11+02:00",
            "2020-09-20 23:09:11.000 +0200",
            "2020-09-20 21:09:11",
            "2020-09-20 21:09:11 UTC",
            "2020-09-20T16:09:11-05:00",
        ] {
            assert_eq!(parse_time(text), Some(t), "{text}");
        }
        assert_eq!(parse_time("2020-09-20T21:09:11.25Z"), Some(t + 0.25));
        for bad in ["", "yesterday", "NaN", "inf", "2020-13-40T00:00:00Z"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}
