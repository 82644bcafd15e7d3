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
/// one pair over several transports are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Technique {
    /// WinRM transport without more detail (also what a hop is when no
    /// evidence names its transport).
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

    /// When rules matching one event name different transports, the one
    /// with the highest precedence wins: WMI, then PowerShell remoting, then
    /// winrs, then plain WinRM.
    pub fn precedence(self) -> u8 {
        match self {
            Technique::WinRm => 0,
            Technique::Winrs => 1,
            Technique::PsRemoting => 2,
            Technique::Wmi => 3,
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
    /// Remote hosts the event names.
    pub targets: &'d [String],
    /// The event's risk score.
    pub risk_score: u32,
    /// For display only.
    pub alert_types: &'d [&'static str],
}
