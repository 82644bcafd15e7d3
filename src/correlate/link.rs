//! Linking evidence into hops: a source naming its destination paired with
//! destination evidence there in the window, destination evidence naming
//! its source's address, and the processes run inside a hop's session.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::correlate::chain::{Hop, Reason};
use crate::correlate::evidence::Evidence;
use crate::detect::targets::{is_loopback, short_host};
use crate::detect::{Outcome, Side, Technique};

/// A hop under construction: (source, destination, WMI transport?, failed?).
type HopKey = (String, String, bool, bool);

/// Host names from names or addresses: each address goes to the host that
/// showed it most often.
pub struct Resolver {
    host_of_ip: HashMap<String, String>,
}

impl Resolver {
    /// From the address table: IP → host → how often.
    pub fn new(hosts_of_ip: &BTreeMap<String, BTreeMap<String, usize>>) -> Self {
        let host_of_ip = hosts_of_ip
            .iter()
            .filter_map(|(ip, hosts)| {
                let best = hosts
                    .iter()
                    .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))?;
                Some((ip.clone(), best.0.clone()))
            })
            .collect();
        Resolver { host_of_ip }
    }

    /// The short host a name or address stands for.
    pub fn resolve(&self, name: &str) -> String {
        let n = name
            .trim_matches(|c| c == '[' || c == ']')
            .to_ascii_lowercase();
        self.host_of_ip
            .get(&n)
            .cloned()
            .unwrap_or_else(|| short_host(&n))
    }
}

/// The hops being built, each with the evidence already in it.
#[derive(Default)]
pub struct HopSet {
    hops: BTreeMap<HopKey, (Hop, HashSet<usize>)>,
}

impl HopSet {
    /// Adds one piece of evidence to the hop `src` → `dest` (made on first
    /// use), with what the link rests on.
    pub fn add(&mut self, src: &str, dest: &str, e: &Evidence, failed: bool, reasons: &[Reason]) {
        if src == dest || src.is_empty() || dest.is_empty() || is_loopback(dest) {
            return;
        }
        let key = (
            src.to_string(),
            dest.to_string(),
            e.technique == Technique::Wmi,
            failed,
        );
        let (hop, seen) = self.hops.entry(key).or_insert_with(|| {
            let outcome = if failed {
                Outcome::Failed
            } else {
                Outcome::Success
            };
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
                Side::Source => hop.src_users.insert(user_key(u)),
                _ => hop.dest_users.insert(user_key(u)),
            };
        }
    }

    /// The hops that rest on more than one kind of link, or on a failure.
    pub fn into_hops(self) -> Vec<Hop> {
        let mut hops: Vec<Hop> = self.hops.into_values().map(|(h, _)| h).collect();
        hops.retain(|h| h.outcome == Outcome::Failed || h.reasons.len() >= 2);
        hops
    }
}

/// Source evidence that names its destination, paired with destination
/// evidence of that host within `window` seconds (same transport family).
/// `dests` is sorted by time.
pub fn by_target(
    set: &mut HopSet,
    sources: &[&Evidence],
    dests: &[&Evidence],
    resolver: &Resolver,
    window: f64,
) {
    let mut dests_by_host: HashMap<&str, Vec<&Evidence>> = HashMap::new();
    for d in dests {
        dests_by_host.entry(d.host.as_str()).or_default().push(d);
    }
    for s in sources {
        let Some(target) = &s.target else { continue };
        let dest = resolver.resolve(target);
        if s.failed {
            set.add(&s.host, &dest, s, true, &[Reason::TargetName]);
            continue;
        }
        // Destination evidence of that host within the window: a binary
        // search in its time-sorted list, not a scan of all.
        let on_host = dests_by_host
            .get(dest.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let from = on_host.partition_point(|d| d.time < s.time - window);
        let wmi = s.technique == Technique::Wmi;
        let matches: Vec<&&Evidence> = on_host[from..]
            .iter()
            .take_while(|d| d.time <= s.time + window)
            .filter(|d| !d.session_only && !d.tree_only && (d.technique == Technique::Wmi) == wmi)
            .collect();
        if matches.is_empty() {
            continue;
        }
        // (`user` is a reason once the hop's two ends share a user, which
        // is decided over all its evidence when it is scored.)
        let reasons = [Reason::TargetName, Reason::Time];
        set.add(&s.host, &dest, s, false, &reasons);
        for d in matches {
            set.add(&s.host, &dest, d, false, &reasons);
        }
    }
}

/// Destination evidence that names its source's address, itself or
/// through the network logon of its logon session.
pub fn by_source_ip(set: &mut HopSet, dests: &[&Evidence], resolver: &Resolver) {
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
        let src = resolver.resolve(ip);
        let mut reasons = vec![Reason::SourceIp];
        if d.peer_ip.is_none() {
            reasons.push(Reason::LogonId);
        }
        set.add(&src, &d.host, d, false, &reasons);
    }
}

/// What ran inside a successful hop's session joins it, lending its users
/// (never the machine's own accounts).
pub fn join_descendants(hops: &mut [Hop], evidence: &[Evidence]) {
    let position: HashMap<usize, usize> = evidence
        .iter()
        .enumerate()
        .map(|(i, e)| (e.seq, i))
        .collect();
    let joined = descendants(evidence, &position, hops);
    for (h, seqs) in hops.iter_mut().zip(joined) {
        if h.outcome != Outcome::Success {
            continue;
        }
        for seq in seqs {
            let e = &evidence[position[&seq]];
            h.members.push((seq, Side::Destination));
            h.events += 1;
            h.last_seen = h.last_seen.max(e.time);
            if let Some(u) = e.user.as_deref().filter(|u| !is_service_account(u)) {
                h.dest_users.insert(user_key(u));
            }
        }
    }
}

/// Joins the process creations that no rule flags to the hop of their
/// nearest flagged ancestor on the same host: what an operator ran inside a
/// remote session (`wsmprovhost.exe` → `powershell.exe` → `whoami.exe`)
/// belongs to that session's hop. Returns, per hop, the evidence `seq`s
/// to add.
pub fn descendants(
    evidence: &[Evidence],
    position: &HashMap<usize, usize>,
    hops: &[Hop],
) -> Vec<Vec<usize>> {
    // (host, process guid) → the first hop (in key order) it is a
    // destination member of.
    let mut anchors: HashMap<(&str, &str), usize> = HashMap::new();
    for (h, hop) in hops.iter().enumerate() {
        for (seq, role) in &hop.members {
            if *role != Side::Destination {
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
