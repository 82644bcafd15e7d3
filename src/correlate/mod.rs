//! Lateral-movement correlation: source-host evidence ("A reached out to
//! B") and destination-host evidence ("B was entered from A") linked into
//! hops, and hops into chains (the team's detection catalogue, `detections.md` §4
//! and its 2026-12 correction). A hop rests on execution evidence that names
//! its technique at one end at least; connections and logons tie the ends
//! together and raise its confidence, never make one by themselves.
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

mod chain;
mod evidence;
pub mod known;
mod link;

use std::collections::BTreeMap;

pub use crate::correlate::chain::{Hop, Reason, RISK_EVENT_MIN};
use crate::correlate::evidence::{evidence_of, host_of, inherit_failure_targets};
pub use crate::correlate::evidence::{parse_time, peer_address, Claim, Evidence};
pub use crate::correlate::known::{Known, KnownSet};
use crate::correlate::link::{Placed, Resolver};
use crate::detect::targets::is_loopback;
use crate::detect::{Finding, Side};
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
    /// Known hosts and accounts: their hops are tagged and lowered.
    known: Known,
}

impl Correlator {
    /// An empty correlator.
    pub fn new(settings: Settings) -> Self {
        Correlator {
            settings,
            ..Correlator::default()
        }
    }

    /// The same, tagging and lowering the hops of `known` hosts and
    /// accounts.
    pub fn with_known(mut self, known: Known) -> Self {
        self.known = known;
        self
    }

    /// Looks at one event (with its per-event detection, if any).
    /// Returns the evidence's `seq` when the event was kept as evidence.
    pub fn add(&mut self, ev: &dyn Event, finding: Option<Finding<'_>>) -> Option<usize> {
        self.take(Observation::of(ev, finding))
    }

    /// Takes what was read from one event ([`Observation::of`]), as
    /// [`Correlator::add`] takes the event itself.
    pub fn take(&mut self, o: Observation) -> Option<usize> {
        if let Some((ip, host)) = o.address {
            self.learn_address(ip, host);
        }
        if let Some((sid, name)) = o.sid_name {
            if self.names_of_sids.len() < MAX_SIDS {
                self.names_of_sids.entry(sid).or_insert(name);
            }
        }
        let mut e = o.evidence?;
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
    pub fn wants(ev: &dyn Event, finding: Option<Finding<'_>>) -> bool {
        let kind = kind_of(ev);
        kind == Kind::NetworkConnection
            || names_a_sid(ev)
            || evidence_of(ev, kind, finding).is_some()
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

    /// Counts `host` as showing `ip` as its own, within the table's caps.
    fn learn_address(&mut self, ip: String, host: String) {
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

    /// Links everything seen into hops and chains.
    pub fn finish(mut self) -> Vec<Hop> {
        let resolver = Resolver::new(&self.hosts_of_ip);
        self.normalise();
        let (sources, dests): (Vec<usize>, Vec<usize>) =
            (0..self.evidence.len()).partition(|&i| self.evidence[i].role == Side::Source);
        let mut placed = Placed::new(&self.evidence, self.settings.window);
        link::by_target(&mut placed, &sources, &dests, &resolver);
        link::by_source_ip(&mut placed, &dests, &resolver);
        let mut hops = placed.into_hops();
        link::join_descendants(&mut hops, &self.evidence);
        chain::score(&mut hops);
        self.known.apply(&mut hops);
        hops.sort_by(|a, b| {
            a.first_seen
                .total_cmp(&b.first_seen)
                .then_with(|| (&a.src, &a.dest).cmp(&(&b.src, &b.dest)))
        });
        chain::assign_chains(&mut hops, self.settings.chain_window);
        hops
    }

    /// Sorts the evidence so the result does not depend on arrival order,
    /// lends failures their session's target, and names users logged as
    /// SIDs with the account name the logons gave them.
    fn normalise(&mut self) {
        self.evidence.sort_by(|a, b| {
            a.time
                .total_cmp(&b.time)
                .then_with(|| a.host.cmp(&b.host))
                .then_with(|| a.role.cmp(&b.role))
        });
        inherit_failure_targets(&mut self.evidence);
        for e in &mut self.evidence {
            if let Some(name) = e.user.as_ref().and_then(|u| self.names_of_sids.get(u)) {
                e.user = Some(name.clone());
            }
        }
    }
}

/// What correlation takes from one event, read from the event alone: the
/// address the logging host shows as its own, a SID's account name, and the
/// event's evidence. `hunt` reads these where it reads the event and hands
/// them over later ([`Correlator::take`]), so the event itself need not be
/// kept; [`Correlator::add`] is the two steps in one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// A lower-case IP address and the short name of the host that showed
    /// it as its own.
    address: Option<(String, String)>,
    /// A lower-case SID and account name.
    sid_name: Option<(String, String)>,
    evidence: Option<Evidence>,
}

impl Observation {
    /// What correlation takes from `ev`.
    pub fn of(ev: &dyn Event, finding: Option<Finding<'_>>) -> Self {
        let kind = kind_of(ev);
        Observation {
            address: own_address(ev, kind),
            sid_name: sid_and_name(ev),
            evidence: evidence_of(ev, kind, finding),
        }
    }

    /// Whether correlation takes nothing from the event.
    pub fn is_empty(&self) -> bool {
        self.address.is_none() && self.sid_name.is_none() && self.evidence.is_none()
    }

    /// Whether the event is evidence (it gets a `seq` when taken).
    pub fn is_evidence(&self) -> bool {
        self.evidence.is_some()
    }

    /// The SID whose account name the event gives.
    pub fn sid(&self) -> Option<&str> {
        self.sid_name.as_ref().map(|(sid, _)| sid.as_str())
    }

    /// Forgets the SID's name: [`Correlator::take`] keeps the first name
    /// given for a SID, so a later observation of the same SID can go
    /// without changing the result.
    pub fn drop_sid_name(&mut self) {
        self.sid_name = None;
    }
}

/// The address a network connection shows as its host's own: outbound, the
/// source; inbound, the destination when it is a service port (below 1024,
/// RDP, WinRM; Sysmon logs some UDP replies with the ends swapped, e.g. DNS
/// answers from port 53 to a client's port). Never a loopback address or a
/// connection to itself.
fn own_address(ev: &dyn Event, kind: Kind) -> Option<(String, String)> {
    if kind != Kind::NetworkConnection {
        return None;
    }
    let host = host_of(ev)?;
    let (src, dst) = (ev.get(F::SrcIp), ev.get(F::DestIp));
    let (src, dst) = (src.value()?, dst.value()?);
    let service_port = ev
        .get(F::DestPort)
        .value()
        .and_then(|p| p.trim().parse::<u32>().ok())
        .is_some_and(|p| p < 1024 || [3389, 5985, 5986].contains(&p));
    let own = match ev
        .get(F::Initiated)
        .value()
        .map(|v| v.eq_ignore_ascii_case("true"))
    {
        Some(true) => src,
        Some(false) if service_port => dst,
        _ => return None,
    };
    (src != dst && !is_loopback(own)).then(|| (own.to_ascii_lowercase(), host))
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

#[cfg(test)]
mod tests {
    use super::chain::assign_chains;
    use super::evidence::guids;
    use super::link::descendants;
    use super::*;
    use crate::detect::Detection;
    use crate::detect::{Carrier, Outcome, Technique};
    use crate::event::PairsEvent;

    /// A claim as the tests write it: the technique's `lm_technique` for
    /// execution evidence, `conn:<carrier>` for a connection, `logon`.
    fn claim(c: Claim) -> String {
        match c {
            Claim::Ran(t) => t.as_str().to_string(),
            Claim::Connected(c) => format!("conn:{c:?}"),
            Claim::LoggedOn => "logon".into(),
        }
    }

    fn hop(src: &str, dest: &str, t: f64, outcome: Outcome) -> Hop {
        Hop::new(src, dest, Technique::WinRm, t, outcome)
    }

    #[test]
    fn chains_follow_the_latest_successful_hop_within_the_window() {
        let mut hops = vec![
            hop("a", "b", 0.0, Outcome::Success),
            hop("b", "c", 10.0, Outcome::Success),
            hop("x", "c", 20.0, Outcome::Failed),
            hop("c", "d", 30.0, Outcome::Success),
            // Too late for the chain into d.
            hop("d", "e", 5000.0, Outcome::Success),
            // From c again: continues the chain (latest success into c).
            hop("c", "f", 40.0, Outcome::Success),
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
        let mut e = Evidence::new(
            100.0,
            "srv",
            None,
            Side::Destination,
            Claim::Ran(Technique::WinRm),
        );
        e.seq = seq;
        e.tree_only = tree_only;
        e.process = Some(process.into());
        e.parent = Some(parent.into());
        e
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
        let mut h = hop("a", "srv", 100.0, Outcome::Success);
        h.members.push((0, Side::Destination));
        assert_eq!(descendants(&evidence, &position, &[h]), vec![vec![1, 2]]);
    }

    /// Issue 13: a process started in a logon session the hop's source
    /// opened (the RDP logon) joins the hop; one in a session a DCOM child
    /// merely ran in (the desktop user's) does not.
    #[test]
    fn issue13_processes_in_the_sources_session_join_its_hop() {
        let in_session = |seq, logon: &str| {
            let mut e = node(seq, &format!("p{seq}"), "explorer", true);
            e.logon_id = Some(logon.into());
            e
        };
        let mut rdp = Evidence::new(
            100.0,
            "srv",
            None,
            Side::Destination,
            Claim::Ran(Technique::Rdp),
        );
        rdp.seq = 0;
        rdp.logon_id = Some("0x5a".into());
        let mut dcom = Evidence::new(
            100.0,
            "srv",
            None,
            Side::Destination,
            Claim::Ran(Technique::Dcom),
        );
        dcom.seq = 1;
        dcom.process = Some("child".into());
        dcom.logon_id = Some("0x26".into());
        let evidence = vec![
            rdp,
            dcom,
            in_session(2, "0x5a"),
            in_session(3, "0x26"),
            in_session(4, "0x99"),
        ];
        let position = evidence.iter().map(|e| (e.seq, e.seq)).collect();
        let mut a = hop("wks", "srv", 100.0, Outcome::Success);
        a.members.push((0, Side::Destination));
        let mut b = hop("wks2", "srv", 100.0, Outcome::Success);
        b.members.push((1, Side::Destination));
        assert_eq!(
            descendants(&evidence, &position, &[a, b]),
            vec![vec![2], vec![]]
        );
    }

    /// Issue 13: the addresses destination execution events name
    /// themselves: a WinRM 91's `clientIP` suffix, RDP's client (`Param3`,
    /// `Address`), a logon's `IpAddress`; `LOCAL`, loopback and `-` are none.
    #[test]
    fn issue13_execution_events_name_their_source_address() {
        let engine = crate::detect::Engine::default();
        let peer = |pairs: &[(&str, &str)]| {
            let mut all = vec![("_time", "100"), ("Computer", "srv")];
            all.extend_from_slice(pairs);
            let ev = PairsEvent::from_pairs(&all);
            let det = engine.detect(&ev);
            evidence_of(&ev, kind_of(&ev), det.as_ref().map(Detection::finding))
                .and_then(|e| e.peer_ip)
        };
        const WINRM: &str = "XmlWinEventLog:Microsoft-Windows-WinRM/Operational";
        const RCM: &str =
            "XmlWinEventLog:Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational";
        const LSM: &str =
            "XmlWinEventLog:Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";
        let uri = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell (CORP\\alice clientIP: 10.0.1.21)";
        assert_eq!(
            peer(&[("source", WINRM), ("EventCode", "91"), ("resourceUri", uri)]).as_deref(),
            Some("10.0.1.21")
        );
        let plain = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell";
        assert_eq!(
            peer(&[
                ("source", WINRM),
                ("EventCode", "91"),
                ("resourceUri", plain)
            ]),
            None
        );
        assert_eq!(
            peer(&[
                ("source", RCM),
                ("EventCode", "1149"),
                ("Param3", "10.0.0.21")
            ])
            .as_deref(),
            Some("10.0.0.21")
        );
        assert_eq!(
            peer(&[("source", LSM), ("EventCode", "21"), ("Address", "LOCAL")]),
            None
        );
        let logon = [
            ("source", "XmlWinEventLog:Security"),
            ("EventCode", "4624"),
            ("LogonType", "10"),
        ];
        let with = |ip| [&logon[..], &[("IpAddress", ip)]].concat();
        assert_eq!(
            peer(&with("::ffff:10.0.0.21")).as_deref(),
            Some("10.0.0.21")
        );
        assert_eq!(peer(&with("127.0.0.1")), None);
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
    fn ev(seq: usize, time: f64, host: &str, role: Side, technique: Technique) -> Evidence {
        Evidence {
            role,
            claim: Claim::Ran(technique),
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

    /// A correlator holding `evidence` and the learnt `(ip, host, count)`
    /// addresses.
    fn holding(evidence: Vec<Evidence>, addresses: &[(&str, &str, usize)]) -> Correlator {
        let mut c = Correlator::new(Settings::default());
        c.evidence = evidence;
        for (ip, host, n) in addresses {
            c.hosts_of_ip
                .entry(ip.to_string())
                .or_default()
                .insert(host.to_string(), *n);
        }
        c
    }

    fn hops_of(evidence: Vec<Evidence>, addresses: &[(&str, &str, usize)]) -> Vec<String> {
        holding(evidence, addresses)
            .finish()
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
        use Side::{Destination as D, Source as S};
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
        use Side::{Destination as D, Source as S};
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
        use Side::{Destination as D, Source as S};
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
        use Side::{Destination as D, Source as S};
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
        use Side::{Destination as D, Source as S};
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

    /// Evidence of `claim` (a connection, a logon) for the linking tests.
    fn link(seq: usize, time: f64, host: &str, role: Side, claim: Claim) -> Evidence {
        Evidence {
            claim,
            alert_types: vec![],
            ..ev(seq, time, host, role, Technique::WinRm)
        }
    }

    fn from_ip(mut e: Evidence, ip: &str) -> Evidence {
        e.peer_ip = Some(ip.into());
        e
    }

    fn in_logon(mut e: Evidence, logon: &str) -> Evidence {
        e.logon_id = Some(logon.into());
        e
    }

    /// The scored hops of some evidence: pair, technique, confidence and
    /// reasons.
    fn scored(evidence: Vec<Evidence>, addresses: &[(&str, &str, usize)]) -> Vec<String> {
        holding(evidence, addresses)
            .finish()
            .iter()
            .map(|h| {
                let reasons: Vec<&str> = h.reasons.iter().map(|r| r.as_str()).collect();
                format!(
                    "{}->{} {} {} {}",
                    h.src,
                    h.dest,
                    h.technique.as_str(),
                    h.confidence,
                    reasons.join(",")
                )
            })
            .collect()
    }

    /// Issue 13: what every workstation does to its domain controller (an
    /// RPC connection to 135 named on the source, the inbound connection
    /// and a network logon from its address on the DC) is no hop, however
    /// well the ends are tied; a WMI child on the DC inside that logon is.
    #[test]
    fn issue13_connections_and_logons_alone_are_no_hop() {
        use Side::{Destination as D, Source as S};
        let rpc = Claim::Connected(Carrier::Rpc);
        let noise = || {
            vec![
                aimed(link(0, 10.0, "wks", S, rpc), "10.0.0.5"),
                from_ip(link(1, 10.2, "dc", D, rpc), "10.0.0.9"),
                in_logon(
                    from_ip(link(2, 10.3, "dc", D, Claim::LoggedOn), "10.0.0.9"),
                    "0x77",
                ),
            ]
        };
        let addresses = [("10.0.0.9", "wks", 3), ("10.0.0.5", "dc", 3)];
        assert!(scored(noise(), &addresses).is_empty());
        let mut wmi = noise();
        wmi.push(in_logon(ev(3, 11.0, "dc", D, Technique::Wmi), "0x77"));
        assert_eq!(
            scored(wmi, &addresses),
            ["wks->dc WMI 90 connection,destination_execution,logon,logon_id,source_ip,target_name,time"]
        );
    }

    /// Issue 13: a connection corroborates only the techniques its port
    /// carries: RPC to 135 joins a WMI hop, not a WinRM one; the hop's
    /// technique is its execution evidence's, never the connection's.
    #[test]
    fn issue13_a_connection_joins_only_hops_it_can_carry() {
        use Side::{Destination as D, Source as S};
        let rpc = Claim::Connected(Carrier::Rpc);
        let got = scored(
            vec![
                aimed(link(0, 10.0, "wks", S, rpc), "srv"),
                ev(1, 11.0, "srv", D, Technique::PsRemoting),
            ],
            &[],
        );
        assert!(got.is_empty(), "{got:?}");
        let got = scored(
            vec![
                aimed(link(0, 10.0, "wks", S, rpc), "srv"),
                ev(1, 11.0, "srv", D, Technique::SmbService),
            ],
            &[],
        );
        assert_eq!(
            got,
            ["wks->srv SMBService 60 connection,destination_execution,target_name,time"]
        );
    }

    /// Issue 13: confidence orders hops by what they rest on: execution at
    /// both ends over one end with a corroborating logon over one end
    /// alone, the links being the same.
    #[test]
    fn issue13_confidence_ranks_execution_then_corroboration() {
        use Side::{Destination as D, Source as S};
        use Technique::Wmi;
        let one_end = scored(
            vec![
                aimed(
                    link(0, 10.0, "wks", S, Claim::Connected(Carrier::Rpc)),
                    "srv",
                ),
                ev(1, 11.0, "srv", D, Wmi),
            ],
            &[],
        );
        let with_logon = scored(
            vec![
                aimed(link(0, 10.0, "wks", S, Claim::LoggedOn), "srv"),
                ev(1, 11.0, "srv", D, Wmi),
            ],
            &[],
        );
        let both_ends = scored(
            vec![
                aimed(ev(0, 10.0, "wks", S, Wmi), "srv"),
                ev(1, 11.0, "srv", D, Wmi),
            ],
            &[],
        );
        let confidence = |h: &[String]| -> u32 { h[0].split(' ').nth(2).unwrap().parse().unwrap() };
        let (a, b, c) = (
            confidence(&one_end),
            confidence(&with_logon),
            confidence(&both_ends),
        );
        assert!(c > b && b > a, "{both_ends:?} {with_logon:?} {one_end:?}");
    }

    /// Issue 13: an installed service or registered task (which hosts do
    /// all day) makes a hop only through the network logon it was made in
    /// or with the source's own execution evidence naming the host, not
    /// with a connection in the window.
    #[test]
    fn issue13_an_installed_object_needs_its_logon_or_the_sources_command() {
        use Side::{Destination as D, Source as S};
        use Technique::ScheduledTask as T;
        let installed = |seq, logon: Option<&str>| {
            let mut e = ev(seq, 11.0, "srv", D, T);
            e.needs_tie = true;
            e.logon_id = logon.map(str::to_string);
            e
        };
        let rpc = Claim::Connected(Carrier::Rpc);
        let by_connection = vec![
            aimed(link(0, 10.0, "wks", S, rpc), "srv"),
            installed(1, None),
        ];
        assert!(scored(by_connection, &[]).is_empty());
        let by_command = vec![aimed(ev(0, 10.0, "wks", S, T), "srv"), installed(1, None)];
        assert_eq!(
            scored(by_command, &[]),
            ["wks->srv ScheduledTask 80 destination_execution,source_execution,target_name,time"]
        );
        let by_logon = vec![
            in_logon(
                from_ip(link(0, 10.5, "srv", D, Claim::LoggedOn), "10.0.0.9"),
                "0x5",
            ),
            installed(1, Some("0x5")),
        ];
        assert_eq!(
            scored(by_logon, &[("10.0.0.9", "wks", 1)]),
            ["wks->srv ScheduledTask 65 destination_execution,logon,logon_id,source_ip"]
        );
    }

    /// Issue 13: a DCOM child of the desktop's explorer.exe runs in the
    /// desktop user's session, so a DCOM hop needs the destination to have
    /// seen the source (its network logon); the source's connection alone
    /// is not enough.
    #[test]
    fn issue13_a_dcom_hop_needs_the_destination_to_see_the_source() {
        use Side::{Destination as D, Source as S};
        let rpc = Claim::Connected(Carrier::Rpc);
        let child = ev(1, 11.0, "srv", D, Technique::Dcom);
        let alone = vec![aimed(link(0, 10.0, "wks", S, rpc), "srv"), child.clone()];
        assert!(scored(alone, &[]).is_empty());
        let seen = vec![
            aimed(link(0, 10.0, "wks", S, rpc), "srv"),
            child,
            from_ip(link(2, 10.5, "srv", D, Claim::LoggedOn), "10.0.0.9"),
        ];
        assert_eq!(
            scored(seen, &[("10.0.0.9", "wks", 1)]),
            ["wks->srv DCOM 85 connection,destination_execution,logon,source_ip,target_name,time"]
        );
    }

    /// Issue 13: corroboration far from the hop's execution evidence (a
    /// workstation's logons to a file server all day) does not join it.
    #[test]
    fn issue13_corroboration_joins_only_near_its_execution() {
        use Side::Destination as D;
        let logon = |seq, t| from_ip(link(seq, t, "srv", D, Claim::LoggedOn), "10.0.0.9");
        let mut evidence = vec![logon(0, 10.0), logon(1, 5000.0)];
        evidence.push(in_logon(ev(2, 5001.0, "srv", D, Technique::Wmi), "0x9"));
        evidence.push(in_logon(logon(3, 5000.5), "0x9"));
        let hops = holding(evidence, &[("10.0.0.9", "wks", 1)]).finish();
        assert_eq!(hops.len(), 1);
        let members: Vec<usize> = hops[0].members.iter().map(|m| m.0).collect();
        assert_eq!(members, [1, 2, 3], "the logon at t=10 is too far");
    }

    /// A WinRM failure (12/162) takes the target and technique of the
    /// first session-initiated 6 by a source in its host's second, and that
    /// 6 becomes the failed attempt; nothing else lends or takes a target
    /// or a failure.
    #[test]
    fn failures_inherit_the_same_second_session_target() {
        use Side::{Destination as D, Source as S};
        use Technique::{PsRemoting, WinRm};
        let with =
            |mut e: Evidence, types: Vec<&'static str>, failed: bool, target: Option<&str>| {
                e.session_start = types.contains(&SIX);
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
                    claim(e.claim),
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
    /// technique and target, through the real engine: what each rule's
    /// typed side, technique and outcome (and its matcher's refinements)
    /// mean for a hop.
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
            let line = match evidence_of(&ev, kind_of(&ev), det.as_ref().map(Detection::finding)) {
                Some(e) => format!(
                    "{name}: {:?} {} {}{}",
                    e.role,
                    claim(e.claim),
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
            "winrm_psremoting_scriptblock 1: Source PSRemoting srv03",
            "winrm_psremoting_scriptblock 2: Source PSRemoting srv04",
            "winrm_psremoting_scriptblock 3: none",
            "winrm_directtool 0: Source winrs srv03",
            "winrm_directtool 1: Source winrs srv03",
            "winrm_session_created 0: Destination PSRemoting -",
            "winrm_session_created 1: Destination WinRM -",
            "winrm_session_created 2: Destination WinRM -",
            "winrm_session_initiated 0: Source PSRemoting srv03",
            "winrm_session_initiated 1: Source WinRM 10.0.1.33",
            "winrm_session_failed 0: Source WinRM - failed",
            "winrm_session_failed 1: Source WinRM - failed",
            "winrm_session_context 0: none",
            "winrm_session_context 1: none",
            "winrm_session_context 2: Source WinRM srv03",
            "winrm_session_context 3: none",
            "winrm_session_context 4: none",
            "winrm_server_context 0: none",
            "winrm_server_context 1: none",
            "winrm_network_connection 0: Source conn:WinRm 172.18.39.6",
            "winrm_network_connection 1: Source conn:WinRm 10.0.1.33",
            "winrm_inbound_connection 0: Destination conn:WinRm -",
            "winrm_event_forwarding 0: none",
            "winrm_event_forwarding 1: none",
            "winrm_event_forwarding 2: none",
            "lm_explicit_credentials 0: Source logon win-77ltaphiq1r",
            "lm_explicit_credentials 1: Source logon srv03",
            "lm_explicit_credentials 2: Source logon srv04",
            "winrm_host_process 0: Destination WinRM -",
            "winrm_remoteshell_child 0: Destination winrs -",
            "ps_remote_session_400 0: Destination PSRemoting -",
            "ps_remote_session_400 1: Destination PSRemoting -",
            "ps_remote_session_4103 0: Destination PSRemoting -",
            "winrm_evilwinrm 0: Source WinRM 10.0.1.33",
            "winrm_evilwinrm_session 0: Destination PSRemoting -",
            "winrm_lsass_access 0: Destination WinRM -",
            "winrm_enablement 0: none",
            "winrm_enablement 1: none",
            "winrm_enablement 2: none",
            "winrm_trustedhosts 0: none",
            "winrm_trustedhosts 1: none",
            "winrm_trustedhosts 2: none",
            "pswa_enabled 0: none",
            "pswa_enabled 1: none",
            "pswa_enabled 2: none",
            "pswa_activity 0: Source WinRM srv03",
            "winrm_althost 0: none",
            "winrm_client_imageload 0: none",
            "winrm_client_imageload 1: none",
            "ps_alternate_host 0: none",
            "ps_alternate_host 1: none",
            "wmi_remoteexec_source_create 0: Source WMI 10.0.1.33",
            "wmi_remoteexec_source_query 0: Source WMI srv1",
            "wmi_remoteexec_ps_create 0: Source WMI srv03",
            "wmi_remoteexec_ps_create 1: Source WMI srv03",
            "wmi_remoteexec_ps_cim 0: Source WMI srv03",
            "wmi_remoteexec_ps_cim 1: Source WMI srv03",
            "wmi_remoteexec_ps_query 0: Source WMI srv03",
            "wmi_remoteexec_ps_query 1: Source WMI srv03",
            "wmi_invoke_wmiexec 0: none",
            "wmi_offensive_tool 0: Source WMI srv03",
            "wmi_offensive_tool 1: Source WMI 10.0.1.33",
            "wmi_offensive_tool 2: Source WMI srv03",
            "wmi_remoteexec_child 0: Destination WMI -",
            "wmi_remoteexec_child 1: Destination WMI -",
            "wmi_remoteexec_child_lolbas 0: Destination WMI -",
            "wmi_impacket_wmiexec 0: Destination WMI -",
            "wmi_impacket_wmiexec 1: Destination WMI -",
            "wmi_impacket_wmiexec 2: Destination WMI -",
            "wmi_token_access 0: Destination WMI -",
            "wmi_process_logon 0: Destination logon -",
            "wmi_dll_hijack 0: Destination WMI -",
            "wmi_dll_hijack 1: Destination WMI -",
            "wmi_subscription_permanent_consumer 0: none",
            "wmi_subscription_permanent_consumer 1: none",
            "wmi_subscription_permanent_binding 0: none",
            "wmi_subscription_permanent_binding 1: none",
            "wmi_subscription_temporary 0: none",
            "wmi_subscription_created 0: none",
            "wmi_subscription_created 1: none",
            "wmi_activity_context 0: none",
            "wmi_activity_context 1: none",
            "wmi_consumer_exec 0: none",
            "wmi_consumer_exec 1: none",
            "wmi_consumer_exec 2: none",
            "wmi_consumer_exec 3: none",
            "wmi_mof_compile 0: none",
            "wmi_mof_compile 1: none",
            "wmi_mof_compile 2: none",
            "wmi_scheduled_job 0: Source WMI srv03",
            "wmi_scheduled_job_enabled 0: none",
            "wmi_registry_write 0: Destination WMI -",
            "wmi_registry_write 1: Destination WMI -",
            "smb_service_install_tool 0: Destination SMBService -",
            "smb_service_install_tool 1: Destination SMBService -",
            "smb_service_install_shell 0: Destination SMBService -",
            "smb_service_install_shell 1: Destination SMBService -",
            "smb_service_install 0: Destination SMBService -",
            "smb_service_child 0: Destination SMBService -",
            "smb_service_child 1: Destination SMBService -",
            "smb_remote_service_source 0: Source SMBService srv03",
            "smb_remote_service_source 1: Source SMBService 10.0.0.5",
            "smb_remote_pipe 0: Destination conn:Smb -",
            "task_remote_source 0: Source ScheduledTask workstation6",
            "task_remote_source 1: Source ScheduledTask srv03",
            "task_registered_shell 0: Destination ScheduledTask -",
            "task_registered 0: Destination ScheduledTask -",
            "task_registered 1: Destination ScheduledTask -",
            "dcom_mmc20_child 0: Destination DCOM -",
            "dcom_office_child 0: Destination DCOM -",
            "dcom_shellwindows_child 0: Destination DCOM -",
            "dcom_remote_source 0: Source DCOM srv03",
            "dcom_remote_source 1: Source DCOM 10.0.0.31",
            "rdp_logon 0: Destination RDP -",
            "rdp_session 0: Destination RDP -",
            "rdp_session 1: Destination RDP -",
            "rdp_client_source 0: Source RDP srv01",
            "91 cmd shell: Destination winrs -",
            "6 with PSVersion: Source PSRemoting srv02",
            "4648 by powershell: Source logon srv02",
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

    /// A connection to RPC (135), SMB (445) or RDP (3389) that no rule
    /// labels corroborates the techniques it can carry (it names none):
    /// outbound names its target, inbound its peer; other ports, a host's
    /// own address, loopback and an unknown direction give none.
    #[test]
    fn service_connections_corroborate_and_name_no_technique() {
        let line = |initiated: &str, src: &str, dst: &str, port: &str| {
            let ev = conn("wks", initiated, src, dst, port);
            match evidence_of(&ev, kind_of(&ev), None) {
                Some(e) => format!(
                    "{:?} {} {} {}",
                    e.role,
                    claim(e.claim),
                    e.target.as_deref().unwrap_or("-"),
                    e.peer_ip.as_deref().unwrap_or("-")
                ),
                None => "none".into(),
            }
        };
        for (initiated, src, dst, port, want) in [
            (
                "true",
                "10.0.0.1",
                "10.0.0.9",
                "135",
                "Source conn:Rpc 10.0.0.9 -",
            ),
            (
                "false",
                "10.0.0.5",
                "10.0.0.1",
                " 135",
                "Destination conn:Rpc - 10.0.0.5",
            ),
            (
                "true",
                "10.0.0.1",
                "10.0.0.9",
                "445",
                "Source conn:Smb 10.0.0.9 -",
            ),
            (
                "false",
                "10.0.0.5",
                "10.0.0.1",
                "3389",
                "Destination conn:Rdp - 10.0.0.5",
            ),
        ] {
            assert_eq!(line(initiated, src, dst, port), want);
        }
        assert_eq!(line("true", "10.0.0.1", "10.0.0.9", "139"), "none");
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

    /// Issue 12: correlation reads a detection's typed meaning only. Every
    /// rule example, with its AlertTypes renamed and its descriptions
    /// reworded, gives the same evidence (but for the names it lists).
    #[test]
    fn issue12_correlation_ignores_detection_strings() {
        let engine = crate::detect::Engine::default();
        let mut compared = 0;
        for rule in crate::detect::rules::RULES.iter() {
            for p in rule.positives {
                let mut pairs = vec![("_time", "100")];
                pairs.extend_from_slice(p.event);
                let ev = PairsEvent::from_pairs(&pairs);
                let Some(det) = engine.detect(&ev) else {
                    continue;
                };
                let mut renamed = det.clone();
                renamed.alert_types = vec!["Renamed"; det.alert_types.len()];
                renamed.descriptions = vec!["reworded".into(); det.descriptions.len()];
                let kind = kind_of(&ev);
                let a = evidence_of(&ev, kind, Some(det.finding()));
                let b = evidence_of(&ev, kind, Some(renamed.finding())).map(|mut e| {
                    e.alert_types = a
                        .as_ref()
                        .map(|a| a.alert_types.clone())
                        .unwrap_or_default();
                    e
                });
                assert_eq!(a, b, "{} changed with its strings", rule.id);
                compared += usize::from(a.is_some());
            }
        }
        assert!(compared > 40, "{compared} examples gave evidence");
    }
}
