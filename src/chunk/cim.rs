//! The CIM fields of a detection (`dest`, `src`, `user`, the addresses and
//! the process), in the one spelling every output of ours uses: hosts
//! short and lower-case ([`short_host`], as hops name them), users without
//! their domain, lower-case (as hops key them). ES's asset and identity
//! correlation then sees one object per host and per account.
//!
//! Where an event gives no value of ours, the input's own field of that
//! name (the Windows add-on's extraction, say) goes through unchanged.

use std::borrow::Cow;

use crate::correlate::peer_address;
use crate::detect::ctx::{basename, part};
use crate::detect::targets::{short_host, user_key};
use crate::detect::{Detection, Side};
use crate::event::kind::Kind;
use crate::event::{Event, F};

/// Our CIM output fields, in [`super::OUTPUT_FIELDS`] order.
pub const CIM_FIELDS: [&str; 8] = [
    "dest",
    "src",
    "src_ip",
    "dest_ip",
    "user",
    "process",
    "process_name",
    "parent_process_name",
];

/// The CIM values of one detected event, in [`CIM_FIELDS`] order; empty
/// where the event gives none. Borrowed from the event where no spelling
/// changes: this runs for every detected row.
pub fn cim_values<'a>(ev: &'a dyn Event, det: &'a Detection) -> [Cow<'a, str>; 8] {
    let kind = det.kind;
    let value = |f: F| ev.get(f).value_cow().map(|v| part(v, str::trim));
    let src = match det.side {
        Side::Destination => peer_address(ev, kind).map(|p| Cow::Owned(short_host(&p))),
        _ => None,
    };
    let process = kind == Kind::ProcessCreate;
    // A connection names the process that made it too (Sysmon 3 `Image`).
    let named = process || kind == Kind::NetworkConnection;
    let name = |f: F| {
        value(f)
            .filter(|_| named)
            .map(|p| Cow::Owned(basename(&p).to_ascii_lowercase()))
    };
    let ip = |f: F| value(f).map(|v| part(v, |a| a.trim_start_matches("::ffff:")));
    [
        Some(Cow::Borrowed(det.risk_object.as_str())),
        src,
        ip(F::SrcIp),
        ip(F::DestIp),
        // A bare SID (PowerShell's UserID) is no account name to key on.
        value(F::User)
            .filter(|u| !u.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("s-1-")))
            .map(|u| Cow::Owned(user_key(&u))),
        value(F::CommandLine).filter(|_| process),
        name(F::Image),
        name(F::ParentImage),
    ]
    .map(|v| v.filter(|v| !v.is_empty() && v != "-").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Engine;
    use crate::event::pairs::PairsEvent;

    fn detected(pairs: &[(&'static str, &'static str)]) -> (PairsEvent<'static>, Detection) {
        let ev = PairsEvent::from_pairs(pairs);
        let det = Engine::default().detect(&ev).expect("a rule matches");
        (ev, det)
    }

    /// A WinRM child process: the host short and lower-case, the user
    /// without its domain, the process fields from the event.
    #[test]
    fn a_destination_process_gives_dest_user_and_process() {
        let (ev, det) = detected(&[
            (
                "source",
                "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
            ),
            ("EventCode", "1"),
            ("Computer", "WORKSTATION6.theshire.local"),
            ("User", "THESHIRE\\pgustavo"),
            ("ParentImage", "C:\\Windows\\System32\\wsmprovhost.exe"),
            (
                "Image",
                "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            ),
            ("CommandLine", "powershell.exe -c whoami"),
        ]);
        let v = cim_values(&ev, &det);
        assert_eq!(v[0], "workstation6");
        assert_eq!(v[1], "", "a process event names no peer");
        assert_eq!(v[4], "pgustavo");
        assert_eq!(v[5], "powershell.exe -c whoami");
        assert_eq!(v[6], "powershell.exe");
        assert_eq!(v[7], "wsmprovhost.exe");
    }

    /// An inbound logon names its source; `-` and loopback are no value.
    #[test]
    fn a_destination_logon_names_its_source() {
        let (ev, det) = detected(&[
            ("source", "XmlWinEventLog:Security"),
            ("EventCode", "4624"),
            ("Computer", "SRV03.corp.local"),
            ("LogonType", "10"),
            ("TargetUserName", "alice"),
            ("IpAddress", "10.0.0.7"),
        ]);
        let v = cim_values(&ev, &det);
        assert_eq!((&*v[0], &*v[1]), ("srv03", "10.0.0.7"));
        assert_eq!(v[4], "alice");
        assert_eq!(v[6], "", "not a process event");
    }
}
