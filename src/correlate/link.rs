//! Linking evidence into hops: a source naming its destination paired with
//! destination evidence there in the window, destination evidence naming
//! its source's address, and the processes run inside a hop's session.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::correlate::chain::{Hop, Reason, RISK_EVENT_MIN};
use crate::correlate::evidence::{Claim, Evidence};
use crate::detect::targets::{is_loopback, short_host, user_key};
use crate::detect::{Outcome, Side, Technique};

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

/// One piece of evidence placed between two hosts, with what placed it
/// there.
struct Attachment {
    /// Index into the (sorted) evidence.
    at: usize,
    /// The evidence whose logon session it opened (index into the
    /// evidence): it is kept whatever its time by the hop that evidence
    /// fits, and by no other.
    tied_to: Option<usize>,
    reasons: Vec<Reason>,
}

/// Evidence placed between pairs of hosts, turned into hops by
/// [`Placed::into_hops`].
pub struct Placed<'e> {
    evidence: &'e [Evidence],
    window: f64,
    /// (source, destination, failed?) → what was placed there.
    pairs: BTreeMap<(String, String, bool), Vec<Attachment>>,
}

impl<'e> Placed<'e> {
    /// Nothing placed yet; `window` bounds how far corroboration may lie
    /// from the execution evidence it supports.
    pub fn new(evidence: &'e [Evidence], window: f64) -> Self {
        Placed {
            evidence,
            window,
            pairs: BTreeMap::new(),
        }
    }

    /// Places evidence `at` between `src` and `dest`.
    fn add(&mut self, src: &str, dest: &str, at: usize, failed: bool, reasons: &[Reason]) {
        self.add_tied(src, dest, at, failed, reasons, None);
    }

    fn add_tied(
        &mut self,
        src: &str,
        dest: &str,
        at: usize,
        failed: bool,
        reasons: &[Reason],
        tied_to: Option<usize>,
    ) {
        if src == dest || src.is_empty() || dest.is_empty() || is_loopback(dest) {
            return;
        }
        self.pairs
            .entry((src.to_string(), dest.to_string(), failed))
            .or_default()
            .push(Attachment {
                at,
                tied_to,
                reasons: reasons.to_vec(),
            });
    }

    /// The hops: for each pair and each technique family that execution
    /// evidence there names, the execution evidence and the corroboration
    /// that fits it. A pair with connections and logons only is no hop.
    pub fn into_hops(self) -> Vec<Hop> {
        let mut hops = Vec::new();
        for ((src, dest, failed), placed) in &self.pairs {
            let families: BTreeSet<Technique> = placed
                .iter()
                .filter_map(|a| self.evidence[a.at].claim.ran())
                .map(Technique::family)
                .collect();
            for family in families {
                let hop = self.hop(src, dest, *failed, family, placed);
                if stands(&hop) {
                    hops.push(hop);
                }
            }
        }
        hops
    }

    /// The hop of one family between a pair.
    fn hop(
        &self,
        src: &str,
        dest: &str,
        failed: bool,
        family: Technique,
        placed: &[Attachment],
    ) -> Hop {
        let ev = self.evidence;
        let mut ran_times: Vec<f64> = placed
            .iter()
            .filter(|a| ev[a.at].claim.ran().is_some_and(|t| t.family() == family))
            .map(|a| ev[a.at].time)
            .collect();
        ran_times.sort_by(f64::total_cmp);
        let near = |t: f64| {
            let i = ran_times.partition_point(|x| *x < t - self.window);
            ran_times.get(i).is_some_and(|x| *x <= t + self.window)
        };
        let outcome = if failed {
            Outcome::Failed
        } else {
            Outcome::Success
        };
        let mut hop = Hop::new(src, dest, family, ran_times[0], outcome);
        let mut seen = HashSet::new();
        for a in placed {
            let e = &ev[a.at];
            let ran = e.claim.ran().is_some();
            let tied = a.tied_to.is_some_and(|t| ev[t].claim.fits(family));
            if !e.claim.fits(family) || !(ran || tied || near(e.time)) {
                continue;
            }
            hop.reasons.extend(a.reasons.iter().copied());
            if seen.insert(e.seq) {
                add_member(&mut hop, e);
            }
        }
        hop
    }
}

/// Adds one evidence event to a hop: its time, AlertTypes, score, users,
/// technique and what kind of artefact it is.
fn add_member(hop: &mut Hop, e: &Evidence) {
    hop.first_seen = hop.first_seen.min(e.time);
    hop.last_seen = hop.last_seen.max(e.time);
    hop.members.push((e.seq, e.role));
    hop.events += 1;
    hop.evidence.extend(e.alert_types.iter().copied());
    hop.risk_score = hop.risk_score.max(e.risk);
    if e.risk >= RISK_EVENT_MIN {
        hop.evidence_risk = hop.evidence_risk.max(e.risk);
    }
    match e.claim {
        Claim::Ran(t) => {
            hop.reasons.insert(match e.role {
                Side::Source => Reason::SourceExecution,
                _ => Reason::DestinationExecution,
            });
            if e.role == Side::Destination && e.peer_ip.is_some() {
                // The execution event names its source itself (an RDP
                // logon's client address).
                hop.named_by_execution = true;
            }
            // The more specific technique wins (PSRemoting/winrs over
            // WinRM); the first specific one stays.
            if hop.technique == Technique::WinRm && t != Technique::WinRm {
                hop.technique = t;
            }
        }
        Claim::Connected(_) => {
            hop.reasons.insert(Reason::Connection);
        }
        Claim::LoggedOn => {
            hop.reasons.insert(Reason::Logon);
        }
    }
    if let Some(u) = e.user.as_deref().filter(|u| !is_service_account(u)) {
        match e.role {
            Side::Source => hop.src_users.insert(user_key(u)),
            _ => hop.dest_users.insert(user_key(u)),
        };
    }
}

/// Whether a hop stands: a failed attempt does; otherwise two keys must
/// link its ends (or its execution evidence names the source itself), and
/// a DCOM hop needs the destination to have seen the source (ShellWindows
/// and ShellBrowserWindow run inside the desktop user's own session, so
/// only the network logon or connection from the source ties them).
fn stands(h: &Hop) -> bool {
    if h.outcome == Outcome::Failed {
        return true;
    }
    let links = h.reasons.iter().filter(|r| r.links()).count();
    let linked = links >= 2 || h.named_by_execution;
    linked && (h.technique != Technique::Dcom || h.reasons.contains(&Reason::SourceIp))
}

/// Source evidence that names its destination, paired with destination
/// evidence of that host within the pairing window that fits the same
/// technique. Destination evidence that names an address pairs only when
/// that address is the source's. `dests` is sorted by time.
pub fn by_target(placed: &mut Placed<'_>, sources: &[usize], dests: &[usize], resolver: &Resolver) {
    let (ev, window) = (placed.evidence, placed.window);
    let mut dests_by_host: HashMap<&str, Vec<usize>> = HashMap::new();
    for &d in dests {
        dests_by_host
            .entry(ev[d].host.as_str())
            .or_default()
            .push(d);
    }
    for &si in sources {
        let s = &ev[si];
        let Some(target) = &s.target else { continue };
        let dest = resolver.resolve(target);
        if s.failed {
            placed.add(&s.host, &dest, si, true, &[Reason::TargetName]);
            continue;
        }
        // Destination evidence of that host within the window: a binary
        // search in its time-sorted list, not a scan of all.
        let on_host = dests_by_host
            .get(dest.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let from = on_host.partition_point(|&d| ev[d].time < s.time - window);
        let matches: Vec<usize> = on_host[from..]
            .iter()
            .copied()
            .take_while(|&d| ev[d].time <= s.time + window)
            .filter(|&d| {
                let d = &ev[d];
                // Installed objects pair only with the source's own execution.
                let untied = d.needs_tie && s.claim.ran().is_none();
                !(d.tree_only || untied)
                    && pair_fits(s.claim, d.claim)
                    && d.peer_ip
                        .as_deref()
                        .is_none_or(|ip| resolver.resolve(ip) == s.host)
            })
            .collect();
        if matches.is_empty() {
            continue;
        }
        // (`user` is a reason once the hop's two ends share a user, which
        // is decided over all its evidence when it is scored.)
        let reasons = [Reason::TargetName, Reason::Time];
        placed.add(&s.host, &dest, si, false, &reasons);
        for d in matches {
            placed.add(&s.host, &dest, d, false, &reasons);
        }
    }
}

/// Whether two claims can be evidence of one hop: some technique fits
/// both.
fn pair_fits(a: Claim, b: Claim) -> bool {
    Technique::ALL.iter().any(|t| a.fits(*t) && b.fits(*t))
}

/// Destination evidence that names its source's address, itself or
/// through the network logon of its logon session (which is placed with
/// it).
pub fn by_source_ip(placed: &mut Placed<'_>, dests: &[usize], resolver: &Resolver) {
    let ev = placed.evidence;
    // (host, logon id) → the network logons with that id, in time order.
    let mut by_logon: HashMap<(&str, &str), Vec<(f64, usize)>> = HashMap::new();
    for &d in dests
        .iter()
        .filter(|&&d| ev[d].claim == Claim::LoggedOn && ev[d].peer_ip.is_some())
    {
        if let Some(l) = ev[d].logon_id.as_deref() {
            by_logon
                .entry((ev[d].host.as_str(), l))
                .or_default()
                .push((ev[d].time, d));
        }
    }
    for &di in dests.iter().filter(|&&d| !ev[d].tree_only) {
        let d = &ev[di];
        let logon = d
            .logon_id
            .as_deref()
            .and_then(|l| session_opener(by_logon.get(&(d.host.as_str(), l))?, d.time))
            .filter(|&l| l != di);
        let Some(ip) = d
            .peer_ip
            .as_deref()
            .or_else(|| ev[logon?].peer_ip.as_deref())
        else {
            continue;
        };
        let src = resolver.resolve(ip);
        match logon {
            Some(l) if d.peer_ip.is_none() => {
                let reasons = [Reason::SourceIp, Reason::LogonId];
                placed.add(&src, &d.host, di, false, &reasons);
                placed.add_tied(&src, &d.host, l, false, &reasons, Some(di));
            }
            _ if !d.needs_tie => placed.add(&src, &d.host, di, false, &[Reason::SourceIp]),
            _ => {}
        }
    }
}

/// How long a logon session is taken to last: a LogonId names one session
/// only until the host restarts, after which Windows hands the same ids out
/// again, so a logon opens the session of an event only when it came at
/// most this long before it. Remote sessions last seconds (`Invoke-Command`,
/// `wmic`) to hours (`Enter-PSSession`, RDP).
pub const SESSION_MAX_SECS: f64 = 24.0 * 3600.0;

/// How far after an event the logon of its session may be logged on the
/// same host (the two are written within the same second or so).
const SESSION_SLACK_SECS: f64 = 5.0;

/// Of the logons `(time, x)` with one LogonId on one host, in time order,
/// the one whose session an event at `t` is in: the latest before it, if
/// recent enough.
fn session_opener<T: Copy>(logons: &[(f64, T)], t: f64) -> Option<T> {
    let upto = logons.partition_point(|(at, _)| *at <= t + SESSION_SLACK_SECS);
    let (at, x) = *logons[..upto].last()?;
    (t - at <= SESSION_MAX_SECS).then_some(x)
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
/// belongs to that session's hop. Failing that, a process started in a
/// logon session the hop's source opened (its network logon, its RDP
/// logon) joins the hop too: what the operator ran at the remote desktop.
/// Returns, per hop, the evidence `seq`s to add.
pub fn descendants(
    evidence: &[Evidence],
    position: &HashMap<usize, usize>,
    hops: &[Hop],
) -> Vec<Vec<usize>> {
    // (host, process guid) → the first hop (in key order) it is a
    // destination member of.
    let mut anchors: HashMap<(&str, &str), usize> = HashMap::new();
    // (host, logon id) → (logon time, hop whose source opened it), each
    // time's first hop (in key order), in time order.
    let mut sessions: HashMap<(&str, &str), Vec<(f64, usize)>> = HashMap::new();
    for (h, hop) in hops.iter().enumerate() {
        for (seq, role) in &hop.members {
            if *role != Side::Destination {
                continue;
            }
            let Some(e) = position.get(seq).map(|&i| &evidence[i]) else {
                continue;
            };
            if let Some(g) = e.process.as_deref() {
                anchors.entry((e.host.as_str(), g)).or_insert(h);
            }
            if let Some(l) = e.logon_id.as_deref().filter(|_| opens_session(e)) {
                sessions
                    .entry((e.host.as_str(), l))
                    .or_default()
                    .push((e.time, h));
            }
        }
    }
    for opened in sessions.values_mut() {
        // Stable: at one time, the first hop in key order stays first.
        opened.sort_by(|a, b| a.0.total_cmp(&b.0));
        opened.dedup_by(|later, first| later.0 == first.0);
    }
    let mut out = vec![Vec::new(); hops.len()];
    if anchors.is_empty() && sessions.is_empty() {
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
        let mut hop = None;
        // Process trees are shallow; the bound also stops GUID cycles.
        for _ in 0..64 {
            let Some(g) = cur else { break };
            if let Some(&h) = anchors.get(&(host, g)) {
                hop = Some(h);
                break;
            }
            cur = parent_of.get(&(host, g)).copied();
        }
        let session = || session_opener(sessions.get(&(host, e.logon_id.as_deref()?))?, e.time);
        if let Some(h) = hop.or_else(session) {
            out[h].push(e.seq);
        }
    }
    out
}

/// Whether the evidence is a logon that opens a session for the source:
/// a network logon from it, or an RDP logon (never a process's own
/// session, which may be the desktop user's).
fn opens_session(e: &Evidence) -> bool {
    !e.tree_only
        && e.process.is_none()
        && matches!(e.claim, Claim::LoggedOn | Claim::Ran(Technique::Rdp))
}

/// SYSTEM, NETWORK SERVICE and LOCAL SERVICE (by name or SID) and
/// computer accounts (`HOST$`): the machine's own accounts, never the
/// person who moved.
fn is_service_account(u: &str) -> bool {
    let u = u.to_ascii_lowercase();
    if u.ends_with('$') {
        return true; // a computer account: the machine itself
    }
    let names = ["system", "network service", "local service"];
    names
        .iter()
        .any(|s| u == *s || u.ends_with(&format!("\\{s}")))
        || ["s-1-5-18", "s-1-5-19", "s-1-5-20"].contains(&u.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A LogonId repeats after a restart: an event's session is the
    /// latest logon with its id before it (a few seconds' slack), and none
    /// when that logon is more than a day old.
    #[test]
    fn issue16_a_logon_id_names_the_latest_recent_session() {
        let day = SESSION_MAX_SECS;
        let logons = [(0.0, 'a'), (1000.0, 'b'), (10.0 * day, 'c')];
        assert_eq!(session_opener(&logons, 500.0), Some('a'));
        assert_eq!(
            session_opener(&logons, 998.0),
            Some('b'),
            "logged just after"
        );
        assert_eq!(session_opener(&logons, 1000.0 + day), Some('b'));
        assert_eq!(
            session_opener(&logons, 1001.0 + day),
            None,
            "older than a session"
        );
        assert_eq!(session_opener(&logons, -10.0), None, "before any logon");
        assert_eq!(session_opener(&logons, 11.0 * day), Some('c'));
    }
}
