//! Hops, what their links rest on, and hops into chains.

use std::collections::{BTreeSet, HashMap};

use crate::detect::{Outcome, Side, Technique};

/// What a hop's link rests on. Declared in the alphabetical order of their
/// names, the order `lm_confidence_reasons` lists them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// Destination evidence in the logon session a network logon from the
    /// source's address opened.
    LogonId,
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
            Reason::LogonId => "logon_id",
            Reason::SourceIp => "source_ip",
            Reason::TargetName => "target_name",
            Reason::Time => "time",
            Reason::User => "user",
        }
    }

    /// What the reason adds to a hop's confidence.
    pub fn weight(self) -> u32 {
        match self {
            Reason::TargetName | Reason::SourceIp => 35,
            Reason::LogonId | Reason::User => 15,
            Reason::Time => 10,
        }
    }
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
    /// Whether it got through.
    pub outcome: Outcome,
    /// What the link rests on.
    pub reasons: BTreeSet<Reason>,
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
    pub members: Vec<(usize, Side)>,
}

impl Hop {
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

/// The sum of the reasons' weights, at most 100.
pub fn confidence(reasons: &BTreeSet<Reason>) -> u32 {
    reasons.iter().map(|r| r.weight()).sum::<u32>().min(100)
}

/// Final scores: members in order, `user` when both ends share one, the
/// confidence, and the success bonus to the risk.
pub fn score(hops: &mut [Hop]) {
    for h in hops {
        h.members.sort();
        if !h.src_users.is_empty() && h.src_users.intersection(&h.dest_users).next().is_some() {
            h.reasons.insert(Reason::User);
        }
        h.confidence = confidence(&h.reasons);
        if h.outcome == Outcome::Success {
            h.risk_score = (h.risk_score + 20).clamp(64, 100);
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
