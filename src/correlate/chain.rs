//! Hops, what their links rest on, and hops into chains.

use std::collections::{BTreeSet, HashMap};

use crate::detect::{Outcome, Side, Technique};

/// What a hop rests on: what its evidence is, and what links its two ends.
/// Declared in the alphabetical order of their names, the order
/// `lm_confidence_reasons` lists them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// A connection between the ends on a port the technique uses.
    Connection,
    /// Execution evidence on the destination (a process the remote service
    /// started, a session, a service or task, an RDP logon).
    DestinationExecution,
    /// A logon: the destination's network logon from the source, the
    /// source's explicit credentials.
    Logon,
    /// Destination evidence in the logon session a network logon from the
    /// source's address opened.
    LogonId,
    /// Execution evidence on the source (a command line or session naming
    /// the destination).
    SourceExecution,
    /// Destination evidence names the source's address.
    SourceIp,
    /// Source evidence names the destination.
    TargetName,
    /// Both ends within the pairing window.
    Time,
    /// The same user at both ends.
    User,
}

impl Reason {
    /// The `lm_confidence_reasons` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Connection => "connection",
            Reason::DestinationExecution => "destination_execution",
            Reason::Logon => "logon",
            Reason::LogonId => "logon_id",
            Reason::SourceExecution => "source_execution",
            Reason::SourceIp => "source_ip",
            Reason::TargetName => "target_name",
            Reason::Time => "time",
            Reason::User => "user",
        }
    }

    /// Whether it links the two ends (rather than saying what the evidence
    /// is): a hop stands on two of these.
    pub fn links(self) -> bool {
        matches!(
            self,
            Reason::LogonId | Reason::SourceIp | Reason::TargetName | Reason::Time
        )
    }

    /// What the reason adds to a hop's confidence beyond its execution
    /// evidence (see `confidence`).
    pub fn weight(self) -> u32 {
        match self {
            Reason::SourceExecution | Reason::DestinationExecution => 0,
            Reason::TargetName | Reason::SourceIp => 15,
            Reason::Logon | Reason::User => 10,
            Reason::Connection | Reason::LogonId | Reason::Time => 5,
        }
    }
}

/// The lowest per-event score the per-event risk searches hand to ES's
/// risk framework (`min_score` of their `winrmdetect` call); lower scores
/// are context, seen in hunting searches only.
pub const RISK_EVENT_MIN: u32 = 20;

/// Confidence from execution evidence at one end of a hop.
pub const ONE_END: u32 = 35;
/// Confidence from execution evidence at both ends.
pub const BOTH_ENDS: u32 = 60;

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
    /// Destination execution evidence names the source's address itself
    /// (an RDP logon's client).
    pub named_by_execution: bool,
    /// Number of evidence events.
    pub events: usize,
    /// Whether it got through.
    pub outcome: Outcome,
    /// What the link rests on.
    pub reasons: BTreeSet<Reason>,
    /// 0–100.
    pub confidence: u32,
    /// Risk of the hop: its confidence (lateral movement between two
    /// hosts has impact 100), never below its highest evidence score.
    pub risk_score: u32,
    /// The highest score among its evidence events that a per-event risk
    /// search scores too (at least [`RISK_EVENT_MIN`]); 0 when none does.
    pub evidence_risk: u32,
    /// `chain-<n>`.
    pub chain_id: String,
    /// 1-based position in the chain.
    pub hop_index: usize,
    /// Tags of the known hosts and accounts it touches (`lm_known`).
    pub known: BTreeSet<String>,
    /// The evidence events of the hop: `(seq, role)`, by `seq`.
    pub members: Vec<(usize, Side)>,
}

impl Hop {
    /// What the hop adds to ES's risk on each of its objects beyond what
    /// its own evidence already put there through the per-event risk
    /// searches: its risk less its strongest such event's, so no object
    /// gets more from one movement than the movement's risk.
    pub fn risk_added(&self) -> u32 {
        self.risk_score.saturating_sub(self.evidence_risk)
    }

    /// An empty hop seen first (and last) at `time`; evidence, users,
    /// reasons, scores and chain come later.
    pub fn new(src: &str, dest: &str, technique: Technique, time: f64, outcome: Outcome) -> Self {
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
            named_by_execution: false,
            events: 0,
            outcome,
            reasons: BTreeSet::new(),
            confidence: 0,
            risk_score: 0,
            evidence_risk: 0,
            chain_id: String::new(),
            hop_index: 0,
            known: BTreeSet::new(),
            members: Vec::new(),
        }
    }
}

/// Execution evidence at one end ([`ONE_END`]) or both ([`BOTH_ENDS`]),
/// plus the weights of what links the ends, at most 100.
pub fn confidence(reasons: &BTreeSet<Reason>) -> u32 {
    let ends = [Reason::SourceExecution, Reason::DestinationExecution]
        .iter()
        .filter(|r| reasons.contains(r))
        .count();
    let base = match ends {
        0 => 0,
        1 => ONE_END,
        _ => BOTH_ENDS,
    };
    (base + reasons.iter().map(|r| r.weight()).sum::<u32>()).min(100)
}

/// Final scores: members in order, `user` when both ends share one, the
/// confidence, and the risk (a successful hop's is its confidence, never
/// below its highest evidence score; a failed one's is that score).
pub fn score(hops: &mut [Hop]) {
    for h in hops {
        h.members.sort();
        if !h.src_users.is_empty() && h.src_users.intersection(&h.dest_users).next().is_some() {
            h.reasons.insert(Reason::User);
        }
        h.confidence = confidence(&h.reasons);
        if h.outcome == Outcome::Success {
            h.risk_score = h.risk_score.max(h.confidence);
        }
    }
}

/// Numbers the hops (sorted by `first_seen`) and puts each in the chain of
/// the latest earlier successful hop into its source, within `chain_window`.
pub fn assign_chains(hops: &mut [Hop], chain_window: f64) {
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
        if hops[i].outcome == Outcome::Success {
            last_into.insert(hops[i].dest.clone(), i);
        }
    }
}
