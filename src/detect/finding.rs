//! What a detection means, typed: which end of a movement an event shows,
//! how the movement travelled, whether the attempt failed. Rules state
//! these in their entries; the correlator reads only these (a
//! [`Finding`]), never AlertType names or descriptions, which are for
//! people and may be renamed or reworded freely.

/// Which end of a lateral movement an event is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Side {
    /// The host the movement starts from.
    Source,
    /// The host the movement lands on.
    Destination,
    /// Activity that stays on one host (also a [`Detection`]'s value before
    /// any rule matched: a detection only exists once one has).
    ///
    /// [`Detection`]: crate::detect::Detection
    #[default]
    Local,
}

impl Side {
    /// The `lm_side` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Destination => "destination",
            Side::Local => "local",
        }
    }
}

/// How the movement travelled. The declaration order is the order hops of
/// one pair over several techniques are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Technique {
    /// WinRM transport without more detail (a WinRM session or connection
    /// whose client is not known).
    WinRm,
    /// PowerShell remoting over WinRM.
    PsRemoting,
    /// winrs over WinRM.
    Winrs,
    /// WMI over DCOM.
    Wmi,
    /// A service created and started over SMB / RPC (PsExec, PAExec,
    /// RemCom, smbexec, `sc \\host create`).
    SmbService,
    /// A scheduled task registered remotely (`schtasks /s`, atexec).
    ScheduledTask,
    /// A DCOM object started remotely (MMC20.Application, ShellWindows,
    /// ShellBrowserWindow, Office automation).
    Dcom,
    /// Remote Desktop.
    Rdp,
}

impl Technique {
    /// Every technique, in declaration order.
    pub const ALL: [Technique; 8] = [
        Technique::WinRm,
        Technique::PsRemoting,
        Technique::Winrs,
        Technique::Wmi,
        Technique::SmbService,
        Technique::ScheduledTask,
        Technique::Dcom,
        Technique::Rdp,
    ];

    /// The `lm_technique` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Technique::WinRm => "WinRM",
            Technique::PsRemoting => "PSRemoting",
            Technique::Winrs => "winrs",
            Technique::Wmi => "WMI",
            Technique::SmbService => "SMBService",
            Technique::ScheduledTask => "ScheduledTask",
            Technique::Dcom => "DCOM",
            Technique::Rdp => "RDP",
        }
    }

    /// The technique a hop is kept apart by: the WinRM clients (PowerShell
    /// remoting, winrs) are one family with WinRM; every other technique
    /// is its own.
    pub fn family(self) -> Technique {
        match self {
            Technique::PsRemoting | Technique::Winrs => Technique::WinRm,
            t => t,
        }
    }

    /// The connections that can carry the technique (what a connection
    /// between the two ends corroborates).
    pub fn carriers(self) -> &'static [Carrier] {
        match self.family() {
            Technique::Wmi => &[Carrier::Rpc, Carrier::Smb],
            Technique::SmbService | Technique::ScheduledTask => &[Carrier::Rpc, Carrier::Smb],
            Technique::Dcom => &[Carrier::Rpc],
            Technique::Rdp => &[Carrier::Rdp],
            _ => &[Carrier::WinRm],
        }
    }

    /// When rules matching one event name different techniques, the one
    /// with the highest precedence wins: the later in declaration order,
    /// so a WinRM client (PowerShell remoting, winrs) wins over plain WinRM
    /// and winrs gives way to PowerShell remoting.
    pub fn precedence(self) -> u8 {
        match self {
            Technique::WinRm => 0,
            Technique::Winrs => 1,
            Technique::PsRemoting => 2,
            Technique::Wmi => 3,
            Technique::SmbService => 4,
            Technique::ScheduledTask => 5,
            Technique::Dcom => 6,
            Technique::Rdp => 7,
        }
    }

    /// The stronger of two claims ([`Technique::precedence`]).
    pub fn strongest(a: Option<Technique>, b: Option<Technique>) -> Option<Technique> {
        match (a, b) {
            (Some(x), Some(y)) => Some(if y.precedence() > x.precedence() {
                y
            } else {
                x
            }),
            (x, None) => x,
            (None, y) => y,
        }
    }
}

/// The network service a connection reached: which techniques it can
/// corroborate ([`Technique::carriers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Carrier {
    /// WinRM, TCP 5985 / 5986.
    WinRm,
    /// The RPC endpoint mapper, TCP 135 (DCOM, WMI, SCM, Task Scheduler).
    Rpc,
    /// SMB, TCP 445 (named pipes: svcctl, atsvc; admin shares).
    Smb,
    /// Remote Desktop, TCP 3389.
    Rdp,
}

impl Carrier {
    /// The carrier of a well-known destination port.
    pub fn of_port(port: u32) -> Option<Carrier> {
        match port {
            5985 | 5986 => Some(Carrier::WinRm),
            135 => Some(Carrier::Rpc),
            445 => Some(Carrier::Smb),
            3389 => Some(Carrier::Rdp),
            _ => None,
        }
    }
}

/// What an event proves about a movement: whether it names what ran, or
/// only ties two hosts together. A hop needs an [`Artefact::Execution`]
/// at one end at least; connections and logons corroborate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Artefact {
    /// Labels the event and nothing more: never correlation evidence
    /// (also a [`Detection`]'s value before any rule matched).
    ///
    /// [`Detection`]: crate::detect::Detection
    #[default]
    Context,
    /// A network connection between the two ends.
    Connection,
    /// A logon: explicit credentials on the source, a network logon on
    /// the destination.
    Logon,
    /// A service or task was installed or registered: execution evidence
    /// only when made in a network logon from the source, or named by the
    /// source's own execution evidence (`sc \\host create`, `schtasks
    /// /s`), since hosts install services and update tasks all day.
    Installed,
    /// An execution or session artefact that names the technique: a
    /// process started by the remote service, a session created, a service
    /// installed, a task registered, an RDP logon, a command line naming
    /// its remote target.
    Execution,
}

impl Artefact {
    /// The stronger of two (declaration order: execution strongest).
    pub fn strongest(a: Artefact, b: Artefact) -> Artefact {
        a.max(b)
    }
}

/// Whether a movement (or an attempt at one) got through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Outcome {
    /// It did, as far as the events tell.
    #[default]
    Success,
    /// The events say it failed (WinRM 12/162: no shell, bad credentials).
    Failed,
}

impl Outcome {
    /// The `lm_outcome` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
        }
    }
}

/// What the correlator may know of one event's detection: its typed
/// meaning, the remote hosts it names and its score. The AlertTypes ride
/// along only to be listed in a hop's `lm_evidence` column.
#[derive(Debug, Clone, Copy)]
pub struct Finding<'d> {
    /// The end of the movement (the top-scoring rule's, made local when the
    /// event names only loopback hosts).
    pub side: Side,
    /// The strongest transport any matching rule named, if any did.
    pub technique: Option<Technique>,
    /// Failed when any matching rule says the attempt failed.
    pub outcome: Outcome,
    /// The strongest artefact of the matching rules.
    pub artefact: Artefact,
    /// Remote hosts the event names.
    pub targets: &'d [String],
    /// The event's risk score.
    pub risk_score: u32,
    /// For display only.
    pub alert_types: &'d [&'static str],
}
