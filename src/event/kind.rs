//! What kind of event this is: channel (from `source`, `Channel` or
//! `sourcetype`, classic or XML prefix, any case) plus event code, mapped to
//! the handful of shapes the rules care about.

use crate::event::{Event, F};

/// The event log channel, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Microsoft-Windows-Sysmon/Operational (also Linux Sysmon).
    Sysmon,
    /// Security.
    Security,
    /// Microsoft-Windows-PowerShell/Operational or PowerShellCore/Operational.
    PowerShellOperational,
    /// The classic "Windows PowerShell" log.
    WindowsPowerShell,
    /// Microsoft-Windows-WinRM/Operational.
    WinRm,
    /// Microsoft-Windows-WMI-Activity/Operational.
    WmiActivity,
    /// System.
    System,
    /// Microsoft-Windows-TaskScheduler/Operational.
    TaskScheduler,
    /// Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational.
    RdpConnections,
    /// Microsoft-Windows-TerminalServices-LocalSessionManager/Operational.
    RdpSessions,
    /// Anything else, or not said.
    Other,
}

/// Maps a channel name (with or without `XmlWinEventLog:` / `WinEventLog:`).
pub fn channel_of(name: &str) -> Channel {
    parse_channel(name).0
}

/// The channel, and whether the name carried a Windows event log prefix.
fn parse_channel(name: &str) -> (Channel, bool) {
    // The Windows add-on writes these exact strings on nearly every event;
    // an exact comparison is much cheaper than the general parse below.
    match name {
        "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" => return (Channel::Sysmon, true),
        "XmlWinEventLog:Security" => return (Channel::Security, true),
        "XmlWinEventLog:Microsoft-Windows-PowerShell/Operational" => {
            return (Channel::PowerShellOperational, true)
        }
        "XmlWinEventLog:Windows PowerShell" => return (Channel::WindowsPowerShell, true),
        "XmlWinEventLog:Microsoft-Windows-WinRM/Operational" => return (Channel::WinRm, true),
        "XmlWinEventLog:Microsoft-Windows-WMI-Activity/Operational" => {
            return (Channel::WmiActivity, true)
        }
        _ => {}
    }
    let n = name.trim();
    let (n, prefixed) = match n.as_bytes().first() {
        Some(b'x' | b'X') => {
            strip_prefix_ci(n, "xmlwineventlog:").map_or((n, false), |r| (r, true))
        }
        Some(b'w' | b'W') => strip_prefix_ci(n, "wineventlog:").map_or((n, false), |r| (r, true)),
        _ => (n, false),
    };
    let is = |s: &str| n.eq_ignore_ascii_case(s);
    // One comparison per length: this runs for every event.
    let channel = match n.len() {
        6 if is("system") => Channel::System,
        8 if is("security") => Channel::Security,
        18 if is("windows powershell") => Channel::WindowsPowerShell,
        26 if is("powershellcore/operational") => Channel::PowerShellOperational,
        35 if is("microsoft-windows-winrm/operational") => Channel::WinRm,
        37 if is("windows remote management/operational") => Channel::WinRm,
        40 if is("microsoft-windows-powershell/operational") => Channel::PowerShellOperational,
        42 if is("microsoft-windows-wmi-activity/operational") => Channel::WmiActivity,
        43 if is("microsoft-windows-taskscheduler/operational") => Channel::TaskScheduler,
        70 if is("microsoft-windows-terminalservices-remoteconnectionmanager/operational") => {
            Channel::RdpConnections
        }
        66 if is("microsoft-windows-terminalservices-localsessionmanager/operational") => {
            Channel::RdpSessions
        }
        len if len >= 18
            && n.as_bytes()[len - 18..].eq_ignore_ascii_case(b"sysmon/operational") =>
        {
            Channel::Sysmon
        }
        _ => Channel::Other,
    };
    (channel, prefixed)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The channel an event came from: `source` first (the add-on keeps the
/// channel there), then `Channel`, then a per-channel `sourcetype`.
pub fn event_channel(ev: &dyn Event) -> Channel {
    for f in [F::Source, F::Channel, F::SourceType] {
        if let Some(v) = ev.get(f).value() {
            let (c, prefixed) = parse_channel(v);
            // A Windows event log `source` names the channel for certain,
            // known to us or not; anything else may be a file or a lookup.
            if c != Channel::Other || (prefixed && f == F::Source) {
                return c;
            }
        }
    }
    Channel::Other
}

/// The shapes of event the rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// Sysmon 1, Security 4688, or a CIM process record.
    ProcessCreate,
    /// Sysmon 3 or Security 5156.
    NetworkConnection,
    /// Sysmon 10.
    ProcessAccess,
    /// Sysmon 11.
    FileCreate,
    /// Sysmon 7.
    ImageLoad,
    /// Sysmon 12 / 13 / 14 (registry key created or deleted, value set,
    /// key or value renamed).
    Registry(u32),
    /// Sysmon 19/20/21 (WMI filter / consumer / binding).
    SysmonWmi(u32),
    /// PowerShell/Operational 4104.
    ScriptBlock,
    /// PowerShell/Operational 4103.
    PsModule,
    /// Windows PowerShell 400/403/600/800.
    PsClassic(u32),
    /// WinRM/Operational, any event.
    WinRm(u32),
    /// WMI-Activity/Operational, any event.
    WmiActivity(u32),
    /// Security 4648.
    ExplicitLogon,
    /// Security 5145.
    ShareAccess,
    /// Security 4624.
    Logon,
    /// System 7045 or Security 4697: a service installed.
    ServiceInstall,
    /// Security 4698 / 4702 or TaskScheduler 106: a task registered or
    /// updated.
    TaskRegistered(u32),
    /// TerminalServices RemoteConnectionManager 1149 (user authenticated)
    /// or LocalSessionManager 21 / 25 (session logon / reconnection).
    RdpSession(u32),
    /// Anything else.
    #[default]
    Other,
}

/// The shape of an event without its event code: what rules are indexed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // one per `Kind` variant, same meaning
pub enum Class {
    Process,
    Network,
    ProcessAccess,
    FileCreate,
    ImageLoad,
    Registry,
    SysmonWmi,
    ScriptBlock,
    PsModule,
    PsClassic,
    WinRm,
    WmiActivity,
    ExplicitLogon,
    ShareAccess,
    Logon,
    Service,
    Task,
    Rdp,
}

impl Class {
    /// Its position in [`Class::ALL`] (the declaration order).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Every class, in index order.
    pub const ALL: [Class; 18] = [
        Class::Process,
        Class::Network,
        Class::ProcessAccess,
        Class::FileCreate,
        Class::ImageLoad,
        Class::Registry,
        Class::SysmonWmi,
        Class::ScriptBlock,
        Class::PsModule,
        Class::PsClassic,
        Class::WinRm,
        Class::WmiActivity,
        Class::ExplicitLogon,
        Class::ShareAccess,
        Class::Logon,
        Class::Service,
        Class::Task,
        Class::Rdp,
    ];
}

impl Class {
    /// Where events of this class come from: channels and their event
    /// codes (empty: any code of the channel). What [`kind_of`] maps to the
    /// class from a known channel; the saved searches' pre-filters are
    /// made from it.
    pub fn sources(self) -> &'static [(Channel, &'static [u32])] {
        use Channel::*;
        match self {
            Class::Process => &[(Sysmon, &[1]), (Security, &[4688])],
            Class::Network => &[(Sysmon, &[3]), (Security, &[5156])],
            Class::ProcessAccess => &[(Sysmon, &[10])],
            Class::FileCreate => &[(Sysmon, &[11])],
            Class::ImageLoad => &[(Sysmon, &[7])],
            Class::Registry => &[(Sysmon, &[12, 13, 14])],
            Class::SysmonWmi => &[(Sysmon, &[19, 20, 21])],
            Class::ScriptBlock => &[(PowerShellOperational, &[4104])],
            Class::PsModule => &[(PowerShellOperational, &[4103])],
            Class::PsClassic => &[(WindowsPowerShell, &[])],
            Class::WinRm => &[(WinRm, &[])],
            Class::WmiActivity => &[(WmiActivity, &[])],
            Class::ExplicitLogon => &[(Security, &[4648])],
            Class::ShareAccess => &[(Security, &[5145])],
            Class::Logon => &[(Security, &[4624])],
            Class::Service => &[(System, &[7045]), (Security, &[4697])],
            Class::Task => &[(Security, &[4698, 4702]), (TaskScheduler, &[106])],
            Class::Rdp => &[(RdpConnections, &[1149]), (RdpSessions, &[21, 25])],
        }
    }
}

impl Class {
    /// Search terms an event of this class must also hold, one of them, to
    /// reach the binary (empty: none needed). Image loads and registry
    /// events are most of a Sysmon estate's volume, and the rules on them
    /// need one of these names, so the pre-filter asks Splunk for the names
    /// instead of every event (each one a whole segment in the event's
    /// text: a path's last part, a field's whole value).
    pub fn terms(self) -> &'static [&'static str] {
        match self {
            Class::ImageLoad => &[
                "wsmsvc.dll",
                "wsmauto.dll",
                "wsmanautomation.dll",
                "microsoft.wsman.management.dll",
                "microsoft.wsman.management.ni.dll",
                "wbemcomn.dll",
                "wbemcons.dll",
                "scrcons.exe",
            ],
            Class::Registry => &["wmiprvse.exe", "enableat"],
            _ => &[],
        }
    }
}

impl Kind {
    /// Whether detection may read the event's `_raw`: the PowerShell module
    /// and engine texts and the WMI subscription texts fall back to it when
    /// their fields are missing (`detect::ctx`). No other kind's is read, so
    /// `hunt` does not write their EVTX records' XML (a test holds every
    /// rule example and bundled record to it).
    pub fn reads_raw(self) -> bool {
        matches!(
            self,
            Kind::PsModule | Kind::PsClassic(_) | Kind::SysmonWmi(_) | Kind::WmiActivity(_)
        )
    }

    /// The class of this kind; `None` for [`Kind::Other`].
    pub fn class(self) -> Option<Class> {
        Some(match self {
            Kind::ProcessCreate => Class::Process,
            Kind::NetworkConnection => Class::Network,
            Kind::ProcessAccess => Class::ProcessAccess,
            Kind::FileCreate => Class::FileCreate,
            Kind::ImageLoad => Class::ImageLoad,
            Kind::Registry(_) => Class::Registry,
            Kind::SysmonWmi(_) => Class::SysmonWmi,
            Kind::ScriptBlock => Class::ScriptBlock,
            Kind::PsModule => Class::PsModule,
            Kind::PsClassic(_) => Class::PsClassic,
            Kind::WinRm(_) => Class::WinRm,
            Kind::WmiActivity(_) => Class::WmiActivity,
            Kind::ExplicitLogon => Class::ExplicitLogon,
            Kind::ShareAccess => Class::ShareAccess,
            Kind::Logon => Class::Logon,
            Kind::ServiceInstall => Class::Service,
            Kind::TaskRegistered(_) => Class::Task,
            Kind::RdpSession(_) => Class::Rdp,
            Kind::Other => return None,
        })
    }
}

/// The event's `EventCode`, as a number.
pub fn event_code(ev: &dyn Event) -> Option<u32> {
    ev.get(F::EventCode)
        .value()
        .and_then(|c| c.trim().parse().ok())
}

/// Classifies an event. Without a known channel, an event code is trusted
/// only together with a field that only that event has.
pub fn kind_of(ev: &dyn Event) -> Kind {
    let code = event_code(ev);
    let has = |f: F| ev.get(f).value().is_some();
    match (event_channel(ev), code) {
        (Channel::Sysmon, Some(1)) | (Channel::Security, Some(4688)) => Kind::ProcessCreate,
        (Channel::Sysmon, Some(3)) | (Channel::Security, Some(5156)) => Kind::NetworkConnection,
        (Channel::Sysmon, Some(10)) => Kind::ProcessAccess,
        (Channel::Sysmon, Some(11)) => Kind::FileCreate,
        (Channel::Sysmon, Some(7)) => Kind::ImageLoad,
        (Channel::Sysmon, Some(c @ 12..=14)) => Kind::Registry(c),
        (Channel::Sysmon, Some(c @ 19..=21)) => Kind::SysmonWmi(c),
        (Channel::PowerShellOperational, Some(4104)) => Kind::ScriptBlock,
        (Channel::PowerShellOperational, Some(4103)) => Kind::PsModule,
        (Channel::WindowsPowerShell, Some(c)) => Kind::PsClassic(c),
        (Channel::WinRm, Some(c)) => Kind::WinRm(c),
        (Channel::WmiActivity, Some(c)) => Kind::WmiActivity(c),
        (Channel::Security, Some(4648)) => Kind::ExplicitLogon,
        (Channel::Security, Some(5145)) => Kind::ShareAccess,
        (Channel::Security, Some(4624)) => Kind::Logon,
        (Channel::System, Some(7045)) | (Channel::Security, Some(4697)) => Kind::ServiceInstall,
        (Channel::Security, Some(c @ (4698 | 4702))) | (Channel::TaskScheduler, Some(c @ 106)) => {
            Kind::TaskRegistered(c)
        }
        (Channel::RdpConnections, Some(c @ 1149)) | (Channel::RdpSessions, Some(c @ (21 | 25))) => {
            Kind::RdpSession(c)
        }
        (Channel::Other, Some(1 | 4688)) if has(F::Image) && has(F::ParentImage) => {
            Kind::ProcessCreate
        }
        (Channel::Other, Some(4104)) if has(F::ScriptBlockText) => Kind::ScriptBlock,
        (Channel::Other, Some(6)) if has(F::Connection) => Kind::WinRm(6),
        (Channel::Other, Some(91)) if has(F::ResourceUri) => Kind::WinRm(91),
        // CIM Endpoint.Processes rows carry no event code at all.
        (Channel::Other, None) if has(F::Image) && has(F::ParentImage) => Kind::ProcessCreate,
        _ => Kind::Other,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_class_index_is_its_place_in_all() {
        for (i, c) in super::Class::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
        }
    }

    use super::*;
    use crate::event::PairsEvent;

    /// Every source a class names is one `kind_of` gives that class, and
    /// every event code of the tested range that `kind_of` gives a class
    /// from a known channel is among that class's sources.
    #[test]
    fn class_sources_are_what_kind_of_maps() {
        let channels = [
            ("XmlWinEventLog:Microsoft-Windows-Sysmon/Operational", Channel::Sysmon),
            ("XmlWinEventLog:Security", Channel::Security),
            ("XmlWinEventLog:Microsoft-Windows-PowerShell/Operational", Channel::PowerShellOperational),
            ("XmlWinEventLog:Windows PowerShell", Channel::WindowsPowerShell),
            ("XmlWinEventLog:Microsoft-Windows-WinRM/Operational", Channel::WinRm),
            ("XmlWinEventLog:Microsoft-Windows-WMI-Activity/Operational", Channel::WmiActivity),
            ("XmlWinEventLog:System", Channel::System),
            ("XmlWinEventLog:Microsoft-Windows-TaskScheduler/Operational", Channel::TaskScheduler),
            ("XmlWinEventLog:Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational", Channel::RdpConnections),
            ("XmlWinEventLog:Microsoft-Windows-TerminalServices-LocalSessionManager/Operational", Channel::RdpSessions),
        ];
        for (source, channel) in channels {
            for code in (0..=1200).chain(4000..=8000) {
                let code_s = code.to_string();
                let ev = PairsEvent::from_pairs(&[("source", source), ("EventCode", &code_s)]);
                let class = kind_of(&ev).class();
                let listed = Class::ALL.iter().copied().find(|c| {
                    c.sources().iter().any(|(ch, codes)| {
                        *ch == channel && (codes.is_empty() || codes.contains(&code))
                    })
                });
                assert_eq!(class, listed, "{source} {code}");
            }
        }
    }

    #[test]
    fn channels_from_any_rendering() {
        assert_eq!(channel_of("XmlWinEventLog:Security"), Channel::Security);
        assert_eq!(channel_of("WinEventLog:Security"), Channel::Security);
        assert_eq!(
            channel_of("xmlwineventlog:microsoft-windows-sysmon/operational"),
            Channel::Sysmon
        );
        assert_eq!(
            channel_of("XmlWinEventLog:PowerShellCore/Operational"),
            Channel::PowerShellOperational
        );
        assert_eq!(
            channel_of("Microsoft-Windows-WinRM/Operational"),
            Channel::WinRm
        );
        assert_eq!(channel_of("XmlWinEventLog"), Channel::Other);
    }

    #[test]
    fn source_wins_over_generic_sourcetype() {
        let ev = PairsEvent::from_pairs(&[
            ("sourcetype", "XmlWinEventLog"),
            (
                "source",
                "XmlWinEventLog:Microsoft-Windows-WinRM/Operational",
            ),
            ("EventCode", "6"),
        ]);
        assert_eq!(kind_of(&ev), Kind::WinRm(6));
    }

    #[test]
    fn unknown_channel_needs_a_telling_field() {
        let bare = PairsEvent::from_pairs(&[("EventCode", "6")]);
        assert_eq!(kind_of(&bare), Kind::Other);
        let cim = PairsEvent::from_pairs(&[
            ("process_name", "cmd.exe"),
            ("parent_process_name", "wsmprovhost.exe"),
        ]);
        assert_eq!(kind_of(&cim), Kind::ProcessCreate);
    }
}
