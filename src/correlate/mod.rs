//! Lateral-movement correlation: source-host evidence ("A reached out to
//! B") and destination-host evidence ("B was entered from A") linked into
//! hops, and hops into chains (`docs/detections.md` §4).
//!
//! Events arrive in any order and any chunking; [`Correlator::add`] keeps
//! only the compact [`Evidence`] of the events that can take part in a hop
//! (a capped number, with a warning when the cap drops some), and
//! [`Correlator::finish`] sorts and links them. The result does not depend on
//! arrival order.
//!
//! Host identity: short lower-case names (`WKS01.corp.example` → `wks01`);
//! IP addresses are mapped to hosts from the events themselves (a host's own
//! address is the source address of its outbound connections and the
//! destination address of its inbound ones). Loopback targets and a host
//! reaching itself are never hops.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::detect::targets::{is_loopback, short_host};
use crate::detect::Detection;
use crate::event::kind::{kind_of, Kind};
use crate::event::{Event, F};

/// Correlation settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Source and destination evidence pair within ± this many seconds.
    pub window: f64,
    /// A hop continues a chain when it starts within this many seconds after
    /// the previous hop into its source host.
    pub chain_window: f64,
    /// Most evidence records kept; beyond it evidence is dropped with a
    /// warning. Each costs about 1.5 KB with its row (~600-byte events), so
    /// the default bounds the reduce phase near 750 MB whatever the input
    /// (`bench --correlate --mix adversarial`).
    pub max_evidence: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            window: 120.0,
            chain_window: 3600.0,
            max_evidence: 500_000,
        }
    }
}

/// How the movement travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Technique {
    /// WinRM transport without more detail.
    WinRm,
    /// PowerShell remoting over WinRM.
    PsRemoting,
    /// winrs over WinRM.
    Winrs,
    /// WMI over DCOM.
    Wmi,
}

impl Technique {
    /// The `lm_technique` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Technique::WinRm => "WinRM",
            Technique::PsRemoting => "PSRemoting",
            Technique::Winrs => "winrs",
            Technique::Wmi => "WMI",
        }
    }

    fn transport_is_wmi(self) -> bool {
        self == Technique::Wmi
    }
}

/// Which end of a hop an event shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The host moving out.
    Source,
    /// The host moved to.
    Destination,
}

/// What one event contributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// Order of arrival among kept evidence (what [`Correlator::add`] returned).
    pub seq: usize,
    /// Event time, epoch seconds.
    pub time: f64,
    /// Short host name of the logging host.
    pub host: String,
    /// The user, as logged (lower-case).
    pub user: Option<String>,
    /// Source or destination.
    pub role: Role,
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
    /// The AlertTypes of the event.
    pub alert_types: Vec<&'static str>,
    /// The event's risk score.
    pub risk: u32,
}

/// One source → destination movement.
#[derive(Debug, Clone, PartialEq)]
pub struct Hop {
    /// `hop-<n>`, stable for the same input.
    pub id: String,
    /// Source host (short name, or the IP when it could not be resolved).
    pub src: String,
    /// Destination host.
    pub dest: String,
    /// Users seen on the source side.
    pub src_users: BTreeSet<String>,
    /// Users seen on the destination side.
    pub dest_users: BTreeSet<String>,
    /// Transport.
    pub technique: Technique,
    /// First and last evidence time.
    pub first_seen: f64,
    /// Last evidence time.
    pub last_seen: f64,
    /// AlertTypes of the evidence.
    pub evidence: BTreeSet<&'static str>,
    /// Number of evidence events.
    pub events: usize,
    /// `success` or `failed`.
    pub outcome: &'static str,
    /// What the link rests on: `target_name`, `source_ip`, `user`,
    /// `logon_id`, `time`.
    pub reasons: BTreeSet<&'static str>,
    /// 0–100.
    pub confidence: u32,
    /// Risk of the hop: the highest evidence score plus a bonus for a
    /// confirmed link, at most 100.
    pub risk_score: u32,
    /// `chain-<n>`.
    pub chain_id: String,
    /// 1-based position in the chain.
    pub hop_index: usize,
    /// The evidence events of the hop: `(seq, role)`, by `seq`.
    pub members: Vec<(usize, Role)>,
}

impl Hop {
    /// An empty hop seen first (and last) at `time`; evidence, users,
    /// reasons, scores and chain come later.
    fn new(src: &str, dest: &str, technique: Technique, time: f64, outcome: &'static str) -> Self {
        Hop {
            id: String::new(),
            src: src.to_string(),
            dest: dest.to_string(),
            src_users: BTreeSet::new(),
            dest_users: BTreeSet::new(),
            technique,
            first_seen: time,
            last_seen: time,
            evidence: BTreeSet::new(),
            events: 0,
            outcome,
            reasons: BTreeSet::new(),
            confidence: 0,
            risk_score: 0,
            chain_id: String::new(),
            hop_index: 0,
            members: Vec::new(),
        }
    }
}

/// Collects evidence and links it.
#[derive(Debug, Default)]
pub struct Correlator {
    settings: Settings,
    evidence: Vec<Evidence>,
    /// IP → host → how often the host showed that address as its own.
    hosts_of_ip: BTreeMap<String, BTreeMap<String, usize>>,
    dropped: usize,
    /// Address observations not recorded because the table was full.
    dropped_addresses: usize,
    /// SID → account name, learnt from events that carry both (4624).
    names_of_sids: BTreeMap<String, String>,
}

impl Correlator {
    /// An empty correlator.
    pub fn new(settings: Settings) -> Self {
        Correlator {
            settings,
            ..Correlator::default()
        }
    }

    /// Looks at one event (with its per-event detection, if any).
    /// Returns the evidence's `seq` when the event was kept as evidence.
    pub fn add(&mut self, ev: &dyn Event, det: Option<&Detection>) -> Option<usize> {
        let kind = kind_of(ev);
        self.learn_addresses(ev, kind);
        if let Some((sid, name)) = sid_and_name(ev) {
            if self.names_of_sids.len() < MAX_SIDS {
                self.names_of_sids.entry(sid).or_insert(name);
            }
        }
        let mut e = evidence_of(ev, kind, det)?;
        if self.evidence.len() >= self.settings.max_evidence {
            self.dropped += 1;
            return None;
        }
        e.seq = self.evidence.len();
        self.evidence.push(e);
        Some(self.evidence.len() - 1)
    }

    /// Whether correlation needs this event at all (the map phase keeps
    /// only these): evidence, a connection that tells a host's address, or
    /// a logon that names a SID.
    pub fn wants(ev: &dyn Event, det: Option<&Detection>) -> bool {
        let kind = kind_of(ev);
        kind == Kind::NetworkConnection || names_a_sid(ev) || evidence_of(ev, kind, det).is_some()
    }

    /// Warnings for the user (the evidence cap).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.dropped > 0 {
            out.push(format!(
                "correlation kept the first {} evidence events and dropped {} (raise max_evidence or narrow the search)",
                self.settings.max_evidence, self.dropped
            ));
        }
        if self.dropped_addresses > 0 {
            out.push(format!(
                "the address table is full ({MAX_ADDRESSES} addresses, {MAX_HOSTS_PER_ADDRESS} hosts each); {} address observations were not used to resolve IPs to hosts (narrow the search)",
                self.dropped_addresses
            ));
        }
        out
    }

    fn learn_addresses(&mut self, ev: &dyn Event, kind: Kind) {
        if kind != Kind::NetworkConnection {
            return;
        }
        let Some(host) = host_of(ev) else { return };
        let (src, dst) = (ev.get(F::SrcIp), ev.get(F::DestIp));
        // Outbound: the source is this host. Inbound: the destination is,
        // when it is a service port (Sysmon logs some UDP replies with the
        // ends swapped, e.g. DNS answers from port 53 to a client's port).
        let service_port = ev
            .get(F::DestPort)
            .value()
            .and_then(|p| p.trim().parse::<u32>().ok())
            .is_some_and(|p| p < 1024 || p == 5985 || p == 5986);
        let own = match ev
            .get(F::Initiated)
            .value()
            .map(|v| v.eq_ignore_ascii_case("true"))
        {
            Some(true) => src.value(),
            Some(false) if service_port => dst.value(),
            _ => None,
        };
        if let (Some(own), Some(s), Some(d)) = (own, src.value(), dst.value()) {
            if s != d && !is_loopback(own) {
                let ip = own.to_ascii_lowercase();
                if self.hosts_of_ip.len() >= MAX_ADDRESSES && !self.hosts_of_ip.contains_key(&ip) {
                    self.dropped_addresses += 1;
                    return;
                }
                let hosts = self.hosts_of_ip.entry(ip).or_default();
                if hosts.len() >= MAX_HOSTS_PER_ADDRESS && !hosts.contains_key(&host) {
                    self.dropped_addresses += 1;
                    return;
                }
                *hosts.entry(host).or_default() += 1;
            }
        }
    }

    /// Links everything seen into hops and chains.
    pub fn finish(mut self) -> Vec<Hop> {
        // Each address goes to the host that showed it most often.
        let host_of_ip: HashMap<String, String> = self
            .hosts_of_ip
            .iter()
            .filter_map(|(ip, hosts)| {
                let best = hosts
                    .iter()
                    .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))?;
                Some((ip.clone(), best.0.clone()))
            })
            .collect();
        let resolve = |name: &str| -> String {
            let n = name
                .trim_matches(|c| c == '[' || c == ']')
                .to_ascii_lowercase();
            host_of_ip
                .get(&n)
                .cloned()
                .unwrap_or_else(|| short_host(&n))
        };
        // Sort so the result does not depend on arrival order.
        self.evidence.sort_by(|a, b| {
            a.time
                .total_cmp(&b.time)
                .then_with(|| a.host.cmp(&b.host))
                .then_with(|| a.role.cmp(&b.role))
        });
        inherit_failure_targets(&mut self.evidence);
        // Users logged as SIDs take the account name the logons gave them.
        for e in &mut self.evidence {
            if let Some(name) = e.user.as_ref().and_then(|u| self.names_of_sids.get(u)) {
                e.user = Some(name.clone());
            }
        }

        let window = self.settings.window;
        let (sources, dests): (Vec<&Evidence>, Vec<&Evidence>) =
            self.evidence.iter().partition(|e| e.role == Role::Source);

        // Key: (src, dest, wmi transport?) → hop under construction.
        // Each hop with the set of evidence already in it.
        let mut hops: BTreeMap<HopKey, (Hop, HashSet<usize>)> = BTreeMap::new();
        let mut add_to =
            |src: &str, dest: &str, e: &Evidence, failed: bool, reasons: &[&'static str]| {
                if src == dest || src.is_empty() || dest.is_empty() || is_loopback(dest) {
                    return;
                }
                let key = (
                    src.to_string(),
                    dest.to_string(),
                    e.technique.transport_is_wmi(),
                    failed,
                );
                let (hop, seen) = hops.entry(key).or_insert_with(|| {
                    let outcome = if failed { "failed" } else { "success" };
                    (
                        Hop::new(src, dest, e.technique, e.time, outcome),
                        HashSet::new(),
                    )
                });
                hop.first_seen = hop.first_seen.min(e.time);
                hop.last_seen = hop.last_seen.max(e.time);
                if seen.insert(e.seq) {
                    hop.members.push((e.seq, e.role));
                    hop.events += 1;
                }
                hop.evidence.extend(e.alert_types.iter().copied());
                hop.reasons.extend(reasons.iter().copied());
                hop.risk_score = hop.risk_score.max(e.risk);
                // The more specific technique wins (PSRemoting/winrs over WinRM).
                if hop.technique == Technique::WinRm && e.technique != Technique::WinRm {
                    hop.technique = e.technique;
                }
                if let Some(u) = e.user.as_deref().filter(|u| !is_service_account(u)) {
                    match e.role {
                        Role::Source => hop.src_users.insert(user_key(u)),
                        Role::Destination => hop.dest_users.insert(user_key(u)),
                    };
                }
            };

        let mut dests_by_host: HashMap<&str, Vec<&Evidence>> = HashMap::new();
        for d in &dests {
            dests_by_host.entry(d.host.as_str()).or_default().push(d);
        }
        // Source evidence that names its destination.
        for s in &sources {
            let Some(target) = &s.target else { continue };
            let dest = resolve(target);
            if s.failed {
                add_to(&s.host, &dest, s, true, &["target_name"]);
                continue;
            }
            // Destination evidence of that host within the window: a
            // binary search in its time-sorted list, not a scan of all.
            let on_host = dests_by_host
                .get(dest.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let from = on_host.partition_point(|d| d.time < s.time - window);
            let matches: Vec<&&Evidence> = on_host[from..]
                .iter()
                .take_while(|d| d.time <= s.time + window)
                .filter(|d| {
                    !d.session_only
                        && !d.tree_only
                        && d.technique.transport_is_wmi() == s.technique.transport_is_wmi()
                })
                .collect();
            if matches.is_empty() {
                continue;
            }
            add_to(&s.host, &dest, s, false, &["target_name", "time"]);
            // (`user` is a reason once the hop's two ends share a user,
            // which is decided over all its evidence below.)
            for d in matches {
                add_to(&s.host, &dest, d, false, &["target_name", "time"]);
            }
        }
        // Destination evidence that names its source address.
        let by_logon: HashMap<(&str, &str), &str> = dests
            .iter()
            .filter_map(|d| {
                Some((
                    (d.host.as_str(), d.logon_id.as_deref()?),
                    d.peer_ip.as_deref()?,
                ))
            })
            .collect();
        for d in dests.iter().filter(|d| !d.session_only && !d.tree_only) {
            let ip = d.peer_ip.as_deref().or_else(|| {
                d.logon_id
                    .as_deref()
                    .and_then(|l| by_logon.get(&(d.host.as_str(), l)).copied())
            });
            let Some(ip) = ip else { continue };
            let src = resolve(ip);
            let mut reasons = vec!["source_ip"];
            if d.peer_ip.is_none() {
                reasons.push("logon_id");
            }
            add_to(&src, &d.host, d, false, &reasons);
        }

        let mut hops: Vec<Hop> = hops.into_values().map(|(h, _)| h).collect();
        // A hop needs more than one kind of link, or a failure on record.
        hops.retain(|h| h.outcome == "failed" || h.reasons.len() >= 2);
        // What ran inside a session joins its hop.
        let position: HashMap<usize, usize> = self
            .evidence
            .iter()
            .enumerate()
            .map(|(i, e)| (e.seq, i))
            .collect();
        let joined = descendants(&self.evidence, &position, &hops);
        for (h, seqs) in hops.iter_mut().zip(joined) {
            let ok = h.outcome == "success";
            for seq in seqs.into_iter().filter(|_| ok) {
                let e = &self.evidence[position[&seq]];
                h.members.push((seq, Role::Destination));
                h.events += 1;
                h.last_seen = h.last_seen.max(e.time);
                if let Some(u) = e.user.as_deref().filter(|u| !is_service_account(u)) {
                    h.dest_users.insert(user_key(u));
                }
            }
        }
        for h in &mut hops {
            h.members.sort();
            if !h.src_users.is_empty() && h.src_users.intersection(&h.dest_users).next().is_some() {
                h.reasons.insert("user");
            }
            h.confidence = confidence(&h.reasons);
            if h.outcome == "success" {
                h.risk_score = (h.risk_score + 20).clamp(64, 100);
            }
        }
        hops.sort_by(|a, b| {
            a.first_seen
                .total_cmp(&b.first_seen)
                .then_with(|| (&a.src, &a.dest).cmp(&(&b.src, &b.dest)))
        });
        assign_chains(&mut hops, self.settings.chain_window);
        hops
    }
}

/// Whether an event carries an account SID and its name together (4624),
/// which name the SIDs other events log their user as.
fn names_a_sid(ev: &dyn Event) -> bool {
    ev.get(F::TargetUserSid)
        .value()
        .is_some_and(|s| s.len() > 8)
        && ev.get(F::TargetUserName).value().is_some()
}

/// The SID and name of [`names_a_sid`], lower-cased.
fn sid_and_name(ev: &dyn Event) -> Option<(String, String)> {
    if !names_a_sid(ev) {
        return None;
    }
    let sid = ev.get(F::TargetUserSid).value()?.to_ascii_lowercase();
    let name = ev.get(F::TargetUserName).value()?.to_ascii_lowercase();
    Some((sid, name))
}

/// Most IP addresses whose owners are learnt (about 100 bytes each).
pub const MAX_ADDRESSES: usize = 1_000_000;
/// Most hosts counted per address (DHCP reuse, NAT).
pub const MAX_HOSTS_PER_ADDRESS: usize = 64;
/// Most SIDs whose account names are learnt.
pub const MAX_SIDS: usize = 100_000;

/// A hop under construction: (source, destination, WMI transport?, failed?).
type HopKey = (String, String, bool, bool);

/// SYSTEM, NETWORK SERVICE and LOCAL SERVICE (by name or SID): the
/// machine's own accounts, never the person who moved.
fn is_service_account(u: &str) -> bool {
    let u = u.to_ascii_lowercase();
    let names = ["system", "network service", "local service"];
    names
        .iter()
        .any(|s| u == *s || u.ends_with(&format!("\\{s}")))
        || ["s-1-5-18", "s-1-5-19", "s-1-5-20"].contains(&u.as_str())
}

/// `DOMAIN\user`, `user@domain` and `user` compare equal.
fn user_key(u: &str) -> String {
    let u = u.rsplit('\\').next().unwrap_or(u);
    u.split('@').next().unwrap_or(u).to_ascii_lowercase()
}

fn confidence(reasons: &BTreeSet<&'static str>) -> u32 {
    let score: u32 = reasons
        .iter()
        .map(|r| match *r {
            "target_name" => 35,
            "source_ip" => 35,
            "logon_id" => 15,
            "user" => 15,
            "time" => 10,
            _ => 0,
        })
        .sum();
    score.min(100)
}

/// WinRM 162/12 carry no target: they take the target of an event 6 on the
/// same host in the same second.
fn inherit_failure_targets(ev: &mut [Evidence]) {
    // (host, second) → the first 6's target there.
    let mut sixes: HashMap<(String, i64), (String, Technique)> = HashMap::new();
    for e in ev.iter().filter(|e| {
        e.role == Role::Source && !e.failed && e.alert_types.contains(&"WinRM_SessionInitiated")
    }) {
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
        .filter(|e| e.role == Role::Source && e.alert_types.contains(&"WinRM_SessionInitiated"))
    {
        if failed_seconds.contains(&(e.host.clone(), e.time.floor() as i64)) {
            e.failed = true;
        }
    }
}

fn assign_chains(hops: &mut [Hop], chain_window: f64) {
    // Hops are sorted by first_seen: the latest earlier successful hop into
    // a host is the last one recorded for it. One pass, not a scan per hop.
    let mut last_into: HashMap<String, usize> = HashMap::new();
    let mut next_chain = 0usize;
    for i in 0..hops.len() {
        hops[i].id = format!("hop-{}", i + 1);
        // Continue the chain of the latest earlier hop into this hop's source.
        let parent = last_into.get(&hops[i].src).copied().filter(|&j| {
            hops[i].first_seen >= hops[j].first_seen
                && hops[i].first_seen - hops[j].first_seen <= chain_window
        });
        match parent {
            Some(j) => {
                hops[i].chain_id = hops[j].chain_id.clone();
                hops[i].hop_index = hops[j].hop_index + 1;
            }
            None => {
                next_chain += 1;
                hops[i].chain_id = format!("chain-{next_chain}");
                hops[i].hop_index = 1;
            }
        }
        if hops[i].outcome == "success" {
            last_into.insert(hops[i].dest.clone(), i);
        }
    }
}

fn host_of(ev: &dyn Event) -> Option<String> {
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

fn technique_of(alert_types: &[&str]) -> Technique {
    if alert_types.iter().any(|t| t.starts_with("WMI_")) {
        Technique::Wmi
    } else if alert_types.iter().any(|t| {
        *t == "WinRM_PSRemoting" || *t == "PS_RemoteSession" || *t == "WinRM_RemoteExec_Child"
    }) {
        Technique::PsRemoting
    } else if alert_types
        .iter()
        .any(|t| *t == "WinRM_DirectTool" || *t == "WinRM_RemoteShell_Child")
    {
        Technique::Winrs
    } else {
        Technique::WinRm
    }
}

/// What the event itself says beyond its AlertTypes: a 91 for a `cmd`
/// shell is winrs, one for the PowerShell plugin (or a 6 naming a
/// PowerShell version) is PowerShell remoting; explicit credentials used by
/// wmic are WMI.
fn refine_technique(d: &Detection, t: Technique) -> Technique {
    let winrs_shell = d.alert_types.contains(&"WinRM_SessionCreated")
        && d.descriptions
            .iter()
            .any(|x| x.contains("/windows/shell/cmd"));
    let by_wmic = d.alert_types.contains(&"LM_ExplicitCredentials")
        && d.threats.iter().any(|(name, _)| name == "wmic.exe");
    // A PowerShell plugin shell, or a client session that carries a
    // PowerShell version, is PowerShell remoting.
    let powershell = (d.alert_types.contains(&"WinRM_SessionCreated")
        && d.descriptions.iter().any(|x| x.contains("/powershell/")))
        || (d.alert_types.contains(&"WinRM_SessionInitiated")
            && d.descriptions.iter().any(|x| x.contains("PSVersion=")));
    if winrs_shell {
        Technique::Winrs
    } else if powershell && t == Technique::WinRm {
        Technique::PsRemoting
    } else if by_wmic {
        Technique::Wmi
    } else {
        t
    }
}

/// The evidence an event gives, if any.
fn evidence_of(ev: &dyn Event, kind: Kind, det: Option<&Detection>) -> Option<Evidence> {
    let time = time_of(ev)?;
    let host = host_of(ev)?;
    let user = ev.get(F::User).value().map(|u| u.to_ascii_lowercase());
    let base = |role, technique, alert_types: Vec<&'static str>, risk| Evidence {
        seq: 0,
        time,
        host: host.clone(),
        user: user.clone(),
        role,
        technique,
        target: None,
        peer_ip: None,
        logon_id: None,
        failed: false,
        session_only: false,
        tree_only: false,
        process: None,
        parent: None,
        alert_types,
        risk,
    };
    if let Some(d) = det {
        let technique = refine_technique(d, technique_of(&d.alert_types));
        let failed = d.alert_types.contains(&"WinRM_SessionFailed");
        match d.side {
            "source" if failed || !d.targets.is_empty() => {
                let mut e = base(Role::Source, technique, d.alert_types.clone(), d.risk_score);
                e.target = d
                    .targets
                    .iter()
                    .find(|t| !is_loopback(t))
                    .map(|t| t.to_ascii_lowercase());
                e.failed = failed;
                if e.target.is_none() && !failed {
                    return None;
                }
                return Some(e);
            }
            "destination" if d.risk_score > 0 => {
                let mut e = base(
                    Role::Destination,
                    technique,
                    d.alert_types.clone(),
                    d.risk_score,
                );
                if kind == Kind::NetworkConnection {
                    e.peer_ip = ev.get(F::SrcIp).value().map(|v| v.to_ascii_lowercase());
                }
                e.logon_id = ev.get(F::LogonId).value().map(|v| v.to_ascii_lowercase());
                if kind == Kind::ProcessCreate {
                    (e.process, e.parent) = guids(ev);
                }
                return Some(e);
            }
            _ => {}
        }
    }
    // Evidence that no per-event rule alerts on by itself.
    let code = ev
        .get(F::EventCode)
        .value()
        .and_then(|c| c.trim().parse::<u32>().ok());
    match (kind, code) {
        (Kind::NetworkConnection, _) => {
            let port = ev
                .get(F::DestPort)
                .value()
                .map(str::trim)
                .map(str::to_string);
            if port.as_deref() != Some("135") {
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
            let mut e = base(
                if outbound {
                    Role::Source
                } else {
                    Role::Destination
                },
                Technique::Wmi,
                vec![],
                0,
            );
            if outbound {
                e.target = Some(dst);
            } else {
                e.peer_ip = Some(src);
            }
            Some(e)
        }
        (Kind::Other, Some(4624)) => {
            if ev.get(F::LogonType).value().map(str::trim) != Some("3") {
                return None;
            }
            let ip = ev
                .get(F::IpAddress)
                .value()
                .map(|v| v.to_ascii_lowercase())
                .filter(|ip| !is_loopback(ip))?;
            let mut e = base(Role::Destination, Technique::Wmi, vec![], 0);
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
        (Kind::ProcessCreate, _) => {
            let (process, parent) = guids(ev);
            let mut e = base(Role::Destination, Technique::WinRm, vec![], 0);
            e.process = Some(process?);
            e.parent = Some(parent?);
            e.tree_only = true;
            Some(e)
        }
        _ => None,
    }
}

/// A process creation's `ProcessGuid` and `ParentProcessGuid` (Sysmon 1),
/// lower-case, without braces.
fn guids(ev: &dyn Event) -> (Option<String>, Option<String>) {
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

/// Joins the process creations that no rule flags to the hop of their
/// nearest flagged ancestor on the same host: what an operator ran inside a
/// remote session (`wsmprovhost.exe` → `powershell.exe` → `whoami.exe`)
/// belongs to that session's hop. Returns, per hop, the evidence `seq`s
/// to add.
fn descendants(
    evidence: &[Evidence],
    position: &HashMap<usize, usize>,
    hops: &[Hop],
) -> Vec<Vec<usize>> {
    // (host, process guid) → the first hop (in key order) it is a
    // destination member of.
    let mut anchors: HashMap<(&str, &str), usize> = HashMap::new();
    for (h, hop) in hops.iter().enumerate() {
        for (seq, role) in &hop.members {
            if *role != Role::Destination {
                continue;
            }
            if let Some(e) = position.get(seq).map(|&i| &evidence[i]) {
                if let Some(g) = e.process.as_deref() {
                    anchors.entry((e.host.as_str(), g)).or_insert(h);
                }
            }
        }
    }
    let mut out = vec![Vec::new(); hops.len()];
    if anchors.is_empty() {
        return out;
    }
    let parent_of: HashMap<(&str, &str), &str> = evidence
        .iter()
        .filter_map(|e| {
            Some((
                (e.host.as_str(), e.process.as_deref()?),
                e.parent.as_deref()?,
            ))
        })
        .collect();
    for e in evidence.iter().filter(|e| e.tree_only) {
        let host = e.host.as_str();
        let mut cur = e.parent.as_deref();
        // Process trees are shallow; the bound also stops GUID cycles.
        for _ in 0..64 {
            let Some(g) = cur else { break };
            if let Some(&h) = anchors.get(&(host, g)) {
                out[h].push(e.seq);
                break;
            }
            cur = parent_of.get(&(host, g)).copied();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::PairsEvent;

    fn hop(src: &str, dest: &str, t: f64, outcome: &'static str) -> Hop {
        Hop::new(src, dest, Technique::WinRm, t, outcome)
    }

    #[test]
    fn chains_follow_the_latest_successful_hop_within_the_window() {
        let mut hops = vec![
            hop("a", "b", 0.0, "success"),
            hop("b", "c", 10.0, "success"),
            hop("x", "c", 20.0, "failed"),
            hop("c", "d", 30.0, "success"),
            // Too late for the chain into d.
            hop("d", "e", 5000.0, "success"),
            // From c again: continues the chain (latest success into c).
            hop("c", "f", 40.0, "success"),
        ];
        hops.sort_by(|a, b| a.first_seen.total_cmp(&b.first_seen));
        assign_chains(&mut hops, 3600.0);
        let got: Vec<(String, String, usize)> = hops
            .iter()
            .map(|h| {
                (
                    format!("{}{}", h.src, h.dest),
                    h.chain_id.clone(),
                    h.hop_index,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("ab".into(), "chain-1".into(), 1),
                ("bc".into(), "chain-1".into(), 2),
                ("xc".into(), "chain-2".into(), 1),
                ("cd".into(), "chain-1".into(), 3),
                ("cf".into(), "chain-1".into(), 3),
                ("de".into(), "chain-3".into(), 1),
            ]
        );
    }

    fn node(seq: usize, process: &str, parent: &str, tree_only: bool) -> Evidence {
        Evidence {
            seq,
            time: 100.0,
            host: "srv".into(),
            user: None,
            role: Role::Destination,
            technique: Technique::WinRm,
            target: None,
            peer_ip: None,
            logon_id: None,
            failed: false,
            session_only: false,
            tree_only,
            process: Some(process.into()),
            parent: Some(parent.into()),
            alert_types: vec![],
            risk: 0,
        }
    }

    /// Descendants of a hop's process join it, at any depth; processes
    /// outside its tree and GUID cycles (which must not hang) do not.
    #[test]
    fn descendants_walk_the_tree_and_cycles_end() {
        let evidence = vec![
            node(0, "child", "wsmprovhost", false),
            node(1, "grandchild", "child", true),
            node(2, "great", "grandchild", true),
            node(3, "other", "explorer", true),
            node(4, "x", "y", true),
            node(5, "y", "x", true),
        ];
        let position = evidence.iter().map(|e| (e.seq, e.seq)).collect();
        let mut h = hop("a", "srv", 100.0, "success");
        h.members.push((0, Role::Destination));
        assert_eq!(descendants(&evidence, &position, &[h]), vec![vec![1, 2]]);
    }

    #[test]
    fn a_sysmon_process_creation_is_kept_as_a_tree_node() {
        let mut c = Correlator::new(Settings::default());
        let ev = PairsEvent::from_pairs(&[
            ("_time", "100"),
            ("EventCode", "1"),
            (
                "source",
                "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
            ),
            ("Computer", "srv"),
            ("Image", "C:\\x\\a.exe"),
            ("ParentImage", "C:\\x\\b.exe"),
            ("ProcessGuid", "{1}"),
            ("ParentProcessGuid", "{2}"),
        ]);
        assert_eq!(c.add(&ev, None), Some(0));
        assert!(c.evidence[0].tree_only);
        assert_eq!(c.evidence[0].parent.as_deref(), Some("2"));
        assert!(c.finish().is_empty());
    }

    /// Evidence for the linking tests: `role` evidence of `technique` on
    /// `host` at `time`, naming `target` (sources) if given.
    fn ev(seq: usize, time: f64, host: &str, role: Role, technique: Technique) -> Evidence {
        Evidence {
            role,
            technique,
            time,
            host: host.into(),
            process: None,
            parent: None,
            alert_types: vec!["X"],
            ..node(seq, "", "", false)
        }
    }

    fn aimed(mut e: Evidence, target: &str) -> Evidence {
        e.target = Some(target.into());
        e
    }

    fn hops_of(evidence: Vec<Evidence>, addresses: &[(&str, &str, usize)]) -> Vec<String> {
        let mut c = Correlator::new(Settings::default());
        c.evidence = evidence;
        for (ip, host, n) in addresses {
            c.hosts_of_ip
                .entry(ip.to_string())
                .or_default()
                .insert(host.to_string(), *n);
        }
        c.finish()
            .iter()
            .map(|h| {
                format!(
                    "{}->{} {} {}",
                    h.src,
                    h.dest,
                    h.technique.as_str(),
                    h.events
                )
            })
            .collect()
    }

    /// A source naming its target and destination evidence there within
    /// the window make a hop, unless an end is empty, the target is the
    /// source itself or a loopback name.
    #[test]
    fn a_hop_needs_two_real_ends() {
        use Role::{Destination as D, Source as S};
        use Technique::WinRm as W;
        let pair = |src: &str, target: &str, dest: &str| {
            hops_of(
                vec![
                    aimed(ev(0, 10.0, src, S, W), target),
                    ev(1, 11.0, dest, D, W),
                ],
                &[],
            )
        };
        assert_eq!(pair("wks", "srv", "srv"), ["wks->srv WinRM 2"]);
        assert!(pair("", "srv", "srv").is_empty(), "no source host");
        assert!(
            pair("wks", "wks", "wks").is_empty(),
            "a host reaching itself"
        );
        assert!(pair("wks", "", "").is_empty(), "no destination host");
        assert!(pair("wks", "localhost", "localhost").is_empty(), "loopback");
    }

    /// Addresses resolve to the host that showed them most often, brackets
    /// and case aside.
    #[test]
    fn targets_resolve_through_learnt_addresses() {
        use Role::{Destination as D, Source as S};
        use Technique::WinRm as W;
        let evidence = || {
            vec![
                aimed(ev(0, 10.0, "wks", S, W), "[FD00::5]"),
                ev(1, 11.0, "srv", D, W),
            ]
        };
        let learnt = [("fd00::5", "srv", 3), ("fd00::5", "aaa", 1)];
        assert_eq!(hops_of(evidence(), &learnt), ["wks->srv WinRM 2"]);
        let learnt = [("fd00::5", "srv", 1), ("fd00::5", "aaa", 3)];
        assert!(hops_of(evidence(), &learnt).is_empty());
    }

    /// The first specific technique of a hop stays: a later, other
    /// specific one does not replace it (WinRM gives way to either).
    #[test]
    fn a_hops_technique_is_its_first_specific_one() {
        use Role::{Destination as D, Source as S};
        use Technique::{PsRemoting, WinRm, Winrs};
        let got = hops_of(
            vec![
                aimed(ev(0, 10.0, "wks", S, WinRm), "srv"),
                ev(1, 11.0, "srv", D, PsRemoting),
                ev(2, 12.0, "srv", D, Winrs),
            ],
            &[],
        );
        assert_eq!(got, ["wks->srv PSRemoting 3"]);
    }

    fn conn<'a>(
        host: &'a str,
        initiated: &'a str,
        src: &'a str,
        dst: &'a str,
        port: &'a str,
    ) -> PairsEvent<'a> {
        PairsEvent::from_pairs(&[
            ("_time", "100"),
            (
                "source",
                "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
            ),
            ("EventCode", "3"),
            ("Computer", host),
            ("Initiated", initiated),
            ("SourceIp", src),
            ("DestinationIp", dst),
            ("DestinationPort", port),
        ])
    }

    /// A host's own address is the source of what it opens, and the
    /// destination of what it accepts on a service port (not of a reply
    /// logged with the ends swapped); a connection to itself or from a
    /// loopback address tells nothing.
    #[test]
    fn addresses_are_learnt_from_the_owning_end() {
        let mut c = Correlator::new(Settings::default());
        for (host, initiated, src, dst, port) in [
            ("a", "true", "10.0.0.1", "10.0.0.9", "50000"),
            ("a", "true", "10.0.0.1", "10.0.0.8", "445"),
            ("b", "false", "10.0.0.1", "10.0.0.2", "1023"),
            ("c", "false", "10.0.0.1", "10.0.0.3", "5985"),
            ("d", "FALSE", "10.0.0.1", "10.0.0.4", " 5986 "),
            ("e", "false", "10.0.0.1", "10.0.0.5", "1024"),
            ("f", "false", "10.0.0.1", "10.0.0.6", "5987"),
            ("g", "", "10.0.0.7", "10.0.0.1", "445"),
            ("h", "true", "10.0.0.8", "10.0.0.8", "445"),
            ("i", "true", "127.0.0.1", "10.0.0.1", "445"),
        ] {
            c.add(&conn(host, initiated, src, dst, port), None);
        }
        let learnt: Vec<String> = c
            .hosts_of_ip
            .iter()
            .flat_map(|(ip, hosts)| hosts.iter().map(move |(h, n)| format!("{ip} {h} {n}")))
            .collect();
        assert_eq!(
            learnt,
            [
                "10.0.0.1 a 2",
                "10.0.0.2 b 1",
                "10.0.0.3 c 1",
                "10.0.0.4 d 1"
            ]
        );
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    }

    /// The address table's two caps: a full table takes no new address but
    /// still counts the ones it has; an address takes no more hosts past
    /// its cap but still counts its own. Each drop is told.
    #[test]
    fn the_address_table_caps_hold_and_warn() {
        let mut c = Correlator::new(Settings::default());
        for i in 0..MAX_HOSTS_PER_ADDRESS + 1 {
            c.add(
                &conn(&format!("h{i}"), "true", "10.0.0.1", "10.0.0.9", "445"),
                None,
            );
        }
        c.add(&conn("h0", "true", "10.0.0.1", "10.0.0.9", "445"), None);
        let hosts = &c.hosts_of_ip["10.0.0.1"];
        assert_eq!(hosts.len(), MAX_HOSTS_PER_ADDRESS);
        assert_eq!((hosts["h0"], c.dropped_addresses), (2, 1));

        let mut c = Correlator::new(Settings::default());
        for i in 0..MAX_ADDRESSES {
            c.hosts_of_ip.insert(format!("a{i}"), BTreeMap::new());
        }
        c.hosts_of_ip.insert("10.0.0.1".into(), BTreeMap::new());
        c.hosts_of_ip.remove("a0");
        c.add(&conn("a", "true", "10.0.0.1", "10.0.0.9", "445"), None);
        c.add(&conn("b", "true", "10.0.0.2", "10.0.0.9", "445"), None);
        assert_eq!(c.hosts_of_ip["10.0.0.1"]["a"], 1);
        assert!(!c.hosts_of_ip.contains_key("10.0.0.2"));
        assert_eq!(c.dropped_addresses, 1);
        assert_eq!(
            c.warnings(),
            [format!("the address table is full ({MAX_ADDRESSES} addresses, {MAX_HOSTS_PER_ADDRESS} hosts each); 1 address observations were not used to resolve IPs to hosts (narrow the search)")]
        );
    }

    fn logon<'a>(sid: &'a str, name: &'a str) -> PairsEvent<'a> {
        PairsEvent::from_pairs(&[
            ("source", "XmlWinEventLog:Security"),
            ("EventCode", "4624"),
            ("Computer", "srv"),
            ("TargetUserSid", sid),
            ("TargetUserName", name),
        ])
    }

    /// SIDs are named from logons up to the table's cap; short "SIDs"
    /// (`S-1-0`, `-`) name nothing.
    #[test]
    fn sid_names_are_learnt_up_to_the_cap() {
        let mut c = Correlator::new(Settings::default());
        c.add(&logon("S-1-5-21-1-2-3-1104", "Alice"), None);
        c.add(&logon("S-1-0-0", "nobody"), None);
        assert_eq!(
            c.names_of_sids.iter().collect::<Vec<_>>(),
            [(&"s-1-5-21-1-2-3-1104".to_string(), &"alice".to_string())]
        );
        for i in c.names_of_sids.len()..MAX_SIDS - 1 {
            c.names_of_sids.insert(format!("s-{i}"), String::new());
        }
        c.add(&logon("S-1-5-21-1-2-3-1105", "bob"), None);
        assert_eq!(c.names_of_sids.len(), MAX_SIDS);
        c.add(&logon("S-1-5-21-1-2-3-1106", "carol"), None);
        assert_eq!(c.names_of_sids.len(), MAX_SIDS);
        assert!(!c.names_of_sids.contains_key("s-1-5-21-1-2-3-1106"));
    }

    /// Over the evidence cap: the first `max_evidence` are kept, the rest
    /// counted and told.
    #[test]
    fn the_evidence_cap_keeps_the_first_and_warns() {
        let mut c = Correlator::new(Settings {
            max_evidence: 2,
            ..Settings::default()
        });
        let child = PairsEvent::from_pairs(&[
            ("_time", "100"),
            (
                "source",
                "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
            ),
            ("EventCode", "1"),
            ("Computer", "srv"),
            ("Image", "C:\\x\\a.exe"),
            ("ParentImage", "C:\\x\\b.exe"),
            ("ProcessGuid", "{1}"),
            ("ParentProcessGuid", "{2}"),
        ]);
        let kept: Vec<Option<usize>> = (0..4).map(|_| c.add(&child, None)).collect();
        assert_eq!(kept, [Some(0), Some(1), None, None]);
        assert_eq!(
            c.warnings(),
            ["correlation kept the first 2 evidence events and dropped 2 (raise max_evidence or narrow the search)"]
        );
    }

    /// Processes that join a hop through its process tree lend it their
    /// users, but never the machine's own accounts.
    #[test]
    fn joined_processes_lend_their_users_but_not_system() {
        use Role::{Destination as D, Source as S};
        use Technique::WinRm as W;
        let mut parent = ev(1, 11.0, "srv", D, W);
        parent.process = Some("p1".into());
        let mut by_system = node(2, "p2", "p1", true);
        by_system.user = Some("nt authority\\system".into());
        let mut by_bob = node(3, "p3", "p1", true);
        by_bob.user = Some("corp\\bob".into());
        let mut c = Correlator::new(Settings::default());
        c.evidence = vec![
            aimed(ev(0, 10.0, "wks", S, W), "srv"),
            parent,
            by_system,
            by_bob,
        ];
        let hops = c.finish();
        assert_eq!(hops.len(), 1);
        assert_eq!(hops[0].events, 4);
        assert_eq!(hops[0].dest_users.iter().collect::<Vec<_>>(), ["bob"]);
    }

    /// A WinRM and a WMI hop between the same hosts at the same time are
    /// two hops, in a fixed order (WinRM's first).
    #[test]
    fn the_same_pair_over_two_transports_is_two_hops_in_a_fixed_order() {
        use Role::{Destination as D, Source as S};
        use Technique::{WinRm, Wmi};
        let got = hops_of(
            vec![
                aimed(ev(0, 10.0, "wks", S, Wmi), "srv"),
                ev(1, 11.0, "srv", D, Wmi),
                aimed(ev(2, 10.0, "wks", S, WinRm), "srv"),
                ev(3, 11.0, "srv", D, WinRm),
            ],
            &[],
        );
        assert_eq!(got, ["wks->srv WinRM 2", "wks->srv WMI 2"]);
    }

    /// A WinRM failure (12/162) takes the target and technique of the
    /// first session-initiated 6 by a source in its host's second, and that
    /// 6 becomes the failed attempt; nothing else lends or takes a target
    /// or a failure.
    #[test]
    fn failures_inherit_the_same_second_session_target() {
        use Role::{Destination as D, Source as S};
        use Technique::{PsRemoting, WinRm};
        let with =
            |mut e: Evidence, types: Vec<&'static str>, failed: bool, target: Option<&str>| {
                e.alert_types = types;
                e.failed = failed;
                e.target = target.map(str::to_string);
                e
            };
        const SIX: &str = "WinRM_SessionInitiated";
        let mut evidence = vec![
            // Second 100 on wks: a 6 to srv, a failure, a failure with its
            // own target, a context event, a destination event.
            with(
                ev(0, 100.2, "wks", S, PsRemoting),
                vec![SIX],
                false,
                Some("srv"),
            ),
            with(
                ev(1, 100.7, "wks", S, WinRm),
                vec!["WinRM_SessionFailed"],
                true,
                None,
            ),
            with(
                ev(2, 100.9, "wks", S, WinRm),
                vec!["WinRM_SessionFailed"],
                true,
                Some("own"),
            ),
            with(
                ev(3, 100.1, "wks", S, WinRm),
                vec!["WinRM_SessionContext"],
                false,
                None,
            ),
            with(
                ev(4, 100.3, "wks", D, WinRm),
                vec!["WinRM_SessionCreated"],
                false,
                None,
            ),
            // Second 200: only a context event names a target.
            with(
                ev(5, 200.1, "wks", S, WinRm),
                vec!["WinRM_SessionContext"],
                false,
                Some("ctx"),
            ),
            with(
                ev(6, 200.5, "wks", S, WinRm),
                vec!["WinRM_SessionFailed"],
                true,
                None,
            ),
            // Second 300: the 6 is a destination's or already failed.
            with(ev(7, 300.1, "wks", D, WinRm), vec![SIX], false, Some("dst")),
            with(ev(8, 300.2, "wks", S, WinRm), vec![SIX], true, Some("old")),
            with(
                ev(9, 300.5, "wks", S, WinRm),
                vec!["WinRM_SessionFailed"],
                true,
                None,
            ),
            // Second 100 on another host.
            with(
                ev(10, 100.5, "oth", S, WinRm),
                vec!["WinRM_SessionFailed"],
                true,
                None,
            ),
        ];
        inherit_failure_targets(&mut evidence);
        let got: Vec<String> = evidence
            .iter()
            .map(|e| {
                format!(
                    "{} {} {} {}",
                    e.seq,
                    e.target.as_deref().unwrap_or("-"),
                    e.technique.as_str(),
                    e.failed
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "0 srv PSRemoting true",
                "1 srv PSRemoting true",
                "2 own WinRM true",
                "3 - WinRM false",
                "4 - WinRM false",
                "5 ctx WinRM false",
                "6 - WinRM true",
                "7 dst WinRM false",
                "8 old WinRM true",
                "9 - WinRM true",
                "10 - WinRM true",
            ]
        );
    }

    /// What correlation takes from every rule's positive examples (and a
    /// few events whose technique the event itself refines): role,
    /// technique and target, through the real engine. Correlation reads
    /// AlertTypes and descriptions today, so a renamed AlertType or a
    /// reworded description shows here.
    #[test]
    fn every_rule_example_gives_its_evidence() {
        const WINRM: &str = "XmlWinEventLog:Microsoft-Windows-WinRM/Operational";
        let engine = crate::detect::Engine::default();
        let extra: &[(&str, &[(&str, &str)])] = &[
            (
                "91 cmd shell",
                &[
                    ("source", WINRM),
                    ("EventCode", "91"),
                    ("Computer", "SRV03"),
                    (
                        "resourceUri",
                        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd",
                    ),
                ],
            ),
            (
                "6 with PSVersion",
                &[
                    ("source", WINRM),
                    ("EventCode", "6"),
                    ("Computer", "WKS01"),
                    ("connection", "srv02/wsman?PSVersion=5.1"),
                ],
            ),
            (
                "4648 by powershell",
                &[
                    ("source", "XmlWinEventLog:Security"),
                    ("EventCode", "4648"),
                    ("Computer", "WKS01"),
                    (
                        "ProcessName",
                        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                    ),
                    ("TargetServerName", "SRV02"),
                ],
            ),
            (
                "6 without PSVersion",
                &[
                    ("source", WINRM),
                    ("EventCode", "6"),
                    ("Computer", "WKS01"),
                    ("connection", "srv02/wsman"),
                ],
            ),
        ];
        let examples = crate::detect::rules::RULES
            .iter()
            .flat_map(|r| {
                r.positives
                    .iter()
                    .enumerate()
                    .map(move |(i, p)| (format!("{} {i}", r.id), p.event))
            })
            .chain(extra.iter().map(|(n, e)| (n.to_string(), *e)));
        let mut got = Vec::new();
        for (name, example) in examples {
            let mut pairs = vec![("_time", "100")];
            pairs.extend_from_slice(example);
            let ev = PairsEvent::from_pairs(&pairs);
            let det = engine.detect(&ev);
            let line = match evidence_of(&ev, kind_of(&ev), det.as_ref()) {
                Some(e) => format!(
                    "{name}: {:?} {} {}{}",
                    e.role,
                    e.technique.as_str(),
                    e.target.as_deref().unwrap_or("-"),
                    if e.failed { " failed" } else { "" }
                ),
                None => format!("{name}: none"),
            };
            got.push(line);
        }
        let want: &[&str] = &[
            "winrm_remoteexec_child 0: Destination PSRemoting -",
            "winrm_remoteexec_child 1: Destination PSRemoting -",
            "winrm_remoteexec_child 2: Destination PSRemoting -",
            "winrm_remoteexec_child 3: Destination PSRemoting -",
            "winrm_remoteexec_child_lolbas 0: Destination PSRemoting -",
            "winrm_psremoting 0: Source PSRemoting srv03",
            "winrm_psremoting 1: Source PSRemoting srv03",
            "winrm_psremoting 2: Source PSRemoting srv03",
            "winrm_psremoting_scriptblock 0: Source PSRemoting srv03",
            "winrm_directtool 0: Source winrs srv03",
            "winrm_directtool 1: Source winrs srv03",
            "winrm_session_created 0: Destination PSRemoting -",
            "winrm_session_created 1: Destination WinRM -",
            "winrm_session_created 2: Destination WinRM -",
            "winrm_session_initiated 0: Source PSRemoting srv03.corp.example",
            "winrm_session_initiated 1: Source WinRM 10.0.1.33",
            "winrm_session_failed 0: Source WinRM - failed",
            "winrm_session_failed 1: Source WinRM - failed",
            "winrm_session_context 0: none",
            "winrm_session_context 1: none",
            "winrm_session_context 2: Source WinRM srv03.corp.example",
            "winrm_session_context 3: none",
            "winrm_session_context 4: none",
            "winrm_server_context 0: none",
            "winrm_server_context 1: none",
            "winrm_network_connection 0: Source WinRM 172.18.39.6",
            "winrm_network_connection 1: Source WinRM 10.0.1.33",
            "winrm_inbound_connection 0: Destination WinRM -",
            "lm_explicit_credentials 0: Source WMI win-77ltaphiq1r",
            "winrm_host_process 0: Destination WinRM -",
            "winrm_remoteshell_child 0: Destination winrs -",
            "ps_remote_session_400 0: Destination PSRemoting -",
            "ps_remote_session_400 1: Destination PSRemoting -",
            "ps_remote_session_4103 0: Destination PSRemoting -",
            "winrm_evilwinrm 0: Source WinRM 10.0.1.33",
            "winrm_lsass_access 0: Destination WinRM -",
            "winrm_enablement 0: none",
            "winrm_enablement 1: none",
            "winrm_trustedhosts 0: none",
            "winrm_trustedhosts 1: none",
            "pswa_enabled 0: none",
            "pswa_enabled 1: none",
            "pswa_activity 0: Source WinRM srv03",
            "winrm_althost 0: none",
            "wmi_remoteexec_source_create 0: Source WMI 10.0.1.33",
            "wmi_remoteexec_source_query 0: Source WMI srv1",
            "wmi_remoteexec_ps_create 0: Source WMI srv03",
            "wmi_remoteexec_ps_cim 0: Source WMI srv03",
            "wmi_remoteexec_ps_query 0: Source WMI srv03",
            "wmi_invoke_wmiexec 0: none",
            "wmi_offensive_tool 0: none",
            "wmi_remoteexec_child 0: Destination WMI -",
            "wmi_remoteexec_child 1: Destination WMI -",
            "wmi_remoteexec_child_lolbas 0: Destination WMI -",
            "wmi_impacket_wmiexec 0: Destination WMI -",
            "wmi_impacket_wmiexec 1: Destination WMI -",
            "wmi_token_access 0: Destination WMI -",
            "wmi_dll_hijack 0: Destination WMI -",
            "wmi_subscription_permanent_consumer 0: none",
            "wmi_subscription_permanent_consumer 1: none",
            "wmi_subscription_permanent_binding 0: none",
            "wmi_subscription_permanent_binding 1: none",
            "wmi_subscription_temporary 0: none",
            "wmi_activity_context 0: none",
            "wmi_activity_context 1: none",
            "wmi_consumer_exec 0: none",
            "wmi_mof_compile 0: none",
            "wmi_scheduled_job 0: none",
            "91 cmd shell: Destination winrs -",
            "6 with PSVersion: Source PSRemoting srv02",
            "4648 by powershell: Source WinRM srv02",
            "6 without PSVersion: Source WinRM srv02",
        ];
        if got != want {
            // The actual lines, to review and paste.
            panic!(
                "{}",
                got.iter()
                    .map(|l| format!("            {l:?},\n"))
                    .collect::<String>()
            );
        }
    }

    /// A connection to RPC (135) that no rule labels is WMI transport
    /// evidence: outbound names its target, inbound its peer; other ports,
    /// a host's own address, loopback and an unknown direction give none.
    #[test]
    fn rpc_connections_are_wmi_transport_evidence() {
        let line = |initiated: &str, src: &str, dst: &str, port: &str| {
            let ev = conn("wks", initiated, src, dst, port);
            match evidence_of(&ev, kind_of(&ev), None) {
                Some(e) => format!(
                    "{:?} {} {} {}",
                    e.role,
                    e.technique.as_str(),
                    e.target.as_deref().unwrap_or("-"),
                    e.peer_ip.as_deref().unwrap_or("-")
                ),
                None => "none".into(),
            }
        };
        assert_eq!(
            line("true", "10.0.0.1", "10.0.0.9", "135"),
            "Source WMI 10.0.0.9 -"
        );
        assert_eq!(
            line("false", "10.0.0.5", "10.0.0.1", " 135"),
            "Destination WMI - 10.0.0.5"
        );
        assert_eq!(line("true", "10.0.0.1", "10.0.0.9", "445"), "none");
        assert_eq!(line("true", "10.0.0.1", "10.0.0.1", "135"), "none");
        assert_eq!(line("true", "127.0.0.1", "10.0.0.9", "135"), "none");
        assert_eq!(line("true", "10.0.0.1", "127.0.0.1", "135"), "none");
        assert_eq!(line("", "10.0.0.1", "10.0.0.9", "135"), "none");
    }

    /// Process GUIDs lose braces and case; an empty or all-zero GUID (a
    /// parent Sysmon never saw) is none, so it links nothing.
    #[test]
    fn null_process_guids_are_none() {
        let of = |guid: &str, parent: &str| {
            let ev =
                PairsEvent::from_pairs(&[("ProcessGuid", guid), ("ParentProcessGuid", parent)]);
            guids(&ev)
        };
        assert_eq!(
            of(" {ABCD-0001} ", "{00000000-0000-0000-0000-000000000000}"),
            (Some("abcd-0001".to_string()), None)
        );
        assert_eq!(
            of("{}", "{0000-000a}"),
            (None, Some("0000-000a".to_string()))
        );
        assert_eq!(of("-", "{0-0}"), (None, None));
    }
}
