//! Known infrastructure and people: hosts and accounts an estate declares
//! (event collectors, jump hosts, management servers, admin accounts) in
//! `winrmdetect.conf` `[known:<tag>]` stanzas. A hop that touches one is
//! still reported, tagged `lm_known=<tag>` and with its risk lowered to the
//! tag's `risk_percent`: an analyst sees the movement and why it scores
//! less, never a silent gap.

use std::collections::BTreeSet;

use crate::correlate::chain::Hop;
use crate::detect::targets::short_host;
use crate::detect::targets::user_key;

/// One `[known:<tag>]` stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownSet {
    /// The tag (`event_collector`, `jump_host`, …), as `lm_known` shows it.
    pub tag: String,
    /// Short host names and addresses, lower-case.
    pub hosts: BTreeSet<String>,
    /// Account names without domain, lower-case.
    pub users: BTreeSet<String>,
    /// What is left of a hop's risk, in percent (0 for infrastructure).
    pub risk_percent: u32,
}

impl KnownSet {
    /// An empty set with the tag's default `risk_percent`
    /// ([`default_risk_percent`]).
    pub fn new(tag: &str) -> Self {
        KnownSet {
            tag: tag.to_string(),
            hosts: BTreeSet::new(),
            users: BTreeSet::new(),
            risk_percent: default_risk_percent(tag),
        }
    }

    /// Adds the hosts of a comma- or space-separated list.
    pub fn add_hosts(&mut self, list: &str) {
        self.hosts.extend(items(list).map(|h| short_host(&h)));
    }

    /// Adds the accounts of a list (`DOMAIN\user`, `user@domain`, `user`).
    pub fn add_users(&mut self, list: &str) {
        self.users.extend(items(list).map(|u| user_key(&u)));
    }

    fn matches(&self, hop: &Hop) -> bool {
        self.hosts.contains(&hop.src)
            || self.hosts.contains(&hop.dest)
            || hop
                .src_users
                .iter()
                .chain(&hop.dest_users)
                .any(|u| self.users.contains(&user_key(u)))
    }
}

/// The risk left by the built-in tags: none for event collectors (their
/// traffic is infrastructure), a quarter for management servers (SCCM,
/// SCOM, Ansible: movement, but expected), half for jump hosts and admin
/// accounts; half for any other tag.
pub fn default_risk_percent(tag: &str) -> u32 {
    match tag {
        "event_collector" => 0,
        "management_server" => 25,
        _ => 50,
    }
}

/// Every declared set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// In file order.
    pub sets: Vec<KnownSet>,
}

impl Known {
    /// Tags the hops that touch a known host or account and lowers their
    /// risk to the lowest `risk_percent` of their tags.
    pub fn apply(&self, hops: &mut [Hop]) {
        for h in hops {
            let matching: Vec<&KnownSet> = self.sets.iter().filter(|s| s.matches(h)).collect();
            let mut percent = 100;
            for set in matching {
                h.known.insert(set.tag.clone());
                percent = percent.min(set.risk_percent);
            }
            h.risk_score = h.risk_score * percent / 100;
        }
    }
}

fn items(list: &str) -> impl Iterator<Item = String> + '_ {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Outcome, Technique};

    fn hop(src: &str, dest: &str, user: &str) -> Hop {
        let mut h = Hop::new(src, dest, Technique::WinRm, 0.0, Outcome::Success);
        h.src_users.insert(user.into());
        h.risk_score = 90;
        h
    }

    /// A hop touching a known host or account keeps its place, gets every
    /// matching tag and the lowest risk they leave; others are untouched.
    #[test]
    fn known_hops_are_tagged_and_lowered_not_hidden() {
        let mut jump = KnownSet::new("jump_host");
        jump.add_hosts("JUMP01.corp.example, 10.0.0.7");
        let mut admins = KnownSet::new("admin_account");
        admins.add_users("CORP\\svc_ansible");
        let mut wec = KnownSet::new("event_collector");
        wec.add_hosts("wec01");
        let known = Known {
            sets: vec![jump, admins, wec],
        };
        let mut hops = vec![
            hop("jump01", "srv", "alice"),
            hop("wks", "srv", "svc_ansible@corp.example"),
            hop("wks", "wec01", "alice"),
            hop("10.0.0.7", "srv", "alice"),
            hop("wks", "srv", "alice"),
        ];
        known.apply(&mut hops);
        let got: Vec<(Vec<&str>, u32)> = hops
            .iter()
            .map(|h| (h.known.iter().map(String::as_str).collect(), h.risk_score))
            .collect();
        assert_eq!(
            got,
            [
                (vec!["jump_host"], 45),
                (vec!["admin_account"], 45),
                (vec!["event_collector"], 0),
                (vec!["jump_host"], 45),
                (vec![], 90),
            ]
        );
    }
}
