//! The other lateral-movement techniques: services created over SMB / RPC
//! (PsExec and its kin), scheduled tasks registered remotely, DCOM and RDP
//! (the team's detection catalogue, `detections.md` §4 and its 2026-12
//! correction; ESCU's scores where ESCU has the behaviour). Each rule's
//! entry, with its matcher beside it where a condition cannot say what it
//! needs.

use std::sync::LazyLock;

use regex::Regex;

use super::{
    Basis, Built, Cond, Contrast, Custom, FromPublic, Hit, Match, Origin, Positive, Rule, Test,
    Yield,
};
use super::{LSM, RCM, SECURITY, SYSMON, SYSTEM, TASKSCHED};
use crate::detect::ctx::Ctx;
use crate::detect::finding::{Artefact, Outcome, Side, Technique};
use crate::detect::targets::is_loopback;
use crate::event::kind::{Class, Kind};
use crate::event::F;

/// The family's rules, in the order their AlertTypes are listed.
pub(super) const ALL: &[Rule] = &[
    SMB_SERVICE_INSTALL_TOOL,
    SMB_SERVICE_INSTALL_SHELL,
    SMB_SERVICE_INSTALL,
    SMB_SERVICE_CHILD,
    SMB_REMOTE_SERVICE_SOURCE,
    SMB_REMOTE_PIPE,
    TASK_REMOTE_SOURCE,
    TASK_REGISTERED_SHELL,
    TASK_REGISTERED,
    DCOM_MMC20_CHILD,
    DCOM_OFFICE_CHILD,
    DCOM_SHELLWINDOWS_CHILD,
    DCOM_REMOTE_SOURCE,
    RDP_LOGON,
    RDP_SESSION,
    RDP_CLIENT_SOURCE,
];

/// Programs a remote-execution service or DCOM server starts to run the
/// operator's command.
const SHELLS: &[&str] = &[
    "cmd.exe",
    "powershell.exe",
    "pwsh.exe",
    "mshta.exe",
    "rundll32.exe",
    "regsvr32.exe",
    "wscript.exe",
    "cscript.exe",
];

/// What a service binary path or a task action looks like when it runs a
/// command rather than a program (smbexec, Empire / Metasploit psexec,
/// atexec; ESCU "Windows Service Created with Suspicious Service Path",
/// "WinEvent Scheduled Task Created to Spawn Shell").
const COMMAND_PATHS: &[&str] = &[
    "%comspec%",
    "cmd.exe /c",
    "cmd /c",
    "cmd.exe /q /c",
    "cmd /q /c",
    "powershell",
    "pwsh",
    "mshta",
    "rundll32",
    "regsvr32",
    "\\\\127.0.0.1\\",
    "__output",
    "\\users\\public\\",
    "\\appdata\\",
    "\\programdata\\",
    "\\perflogs\\",
    "\\windows\\temp\\",
];

/// What a task action that runs a command holds (ESCU "WinEvent Scheduled
/// Task Created to Spawn Shell", "... Within Public Path"): the task XML
/// keeps the program and its arguments apart.
const TASK_ACTIONS: &[&str] = &[
    "cmd.exe",
    "%comspec%",
    "powershell",
    "pwsh",
    "mshta",
    "rundll32",
    "regsvr32",
    "wscript",
    "cscript",
    "\\users\\public\\",
    "\\appdata\\",
    "\\programdata\\",
    "\\windows\\temp\\",
    "\\perflogs\\",
];

/// Service names of remote-execution tools (Sysinternals PsExec, PAExec,
/// RemCom, CSExec).
const TOOL_SERVICES: &[&str] = &["psexesvc", "paexec", "remcomsvc", "csexecsvc"];

/// Impacket psexec / Metasploit: a service binary of 8 random letters in
/// the Windows folder.
static RANDOM_SERVICE_BINARY: LazyLock<Regex> =
    pattern!(r"(?i)^(?:%systemroot%|%windir%|c:\\windows)\\[a-z]{8}\.exe$");

const SMB_SERVICE_INSTALL_TOOL: Rule = Rule {
    id: "smb_service_install_tool",
    alert_type: "SMB_ServiceInstall",
    description:
        "Service of a remote-execution tool installed (PsExec, PAExec, RemCom, Impacket psexec)",
    mitre: "T1569.002",
    side: Side::Destination,
    technique: Some(Technique::SmbService),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 90,
    confidence: 70,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "Remote-execution service $ServiceName$ installed on $risk_object$",
    when: Match::AnyOf(&[
        Cond {
            kinds: &[Kind::ServiceInstall],
            fields: &[(F::ServiceName, Test::Contains(TOOL_SERVICES))],
            yields: Yield::Detail {
                prefix: "service ",
                field: F::ServiceName,
                lower: false,
            },
            ..Cond::ANY
        },
        Cond {
            kinds: &[Kind::ServiceInstall],
            fields: &[(F::ServiceFile, Test::Matches(&RANDOM_SERVICE_BINARY))],
            yields: Yield::Detail {
                prefix: "service ",
                field: F::ServiceName,
                lower: false,
            },
            ..Cond::ANY
        },
    ]),
    positives: &[
        pos!(ex!(SYSTEM, "7045", "ServiceName" = "PSEXESVC", "ImagePath" = "%SystemRoot%\\PSEXESVC.exe"), detail: "service PSEXESVC"),
        pos!(ex!(SECURITY, "4697", "ServiceName" = "BKzv", "ServiceFileName" = "%systemroot%\\XKqmHdTa.exe", "SubjectLogonId" = "0x5b1c2"), detail: "service BKzv"),
    ],
    negatives: &[
        ex!(
            SYSTEM,
            "7045",
            "ServiceName" = "Spooler",
            "ImagePath" = "C:\\Windows\\System32\\spoolsv.exe"
        ),
        ex!(
            SYSTEM,
            "7045",
            "ServiceName" = "edgeupdate",
            "ImagePath" =
                "\"C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe\" /svc"
        ),
        ex!(SYSMON, "1", "Image" = "C:\\Windows\\PSEXESVC.exe"),
    ],
    public: &[],
};

const SMB_SERVICE_INSTALL_SHELL: Rule = Rule {
    id: "smb_service_install_shell",
    alert_type: "SMB_ServiceInstall",
    description:
        "Service installed whose binary path runs a command (smbexec, Empire / Metasploit psexec)",
    mitre: "T1569.002",
    side: Side::Destination,
    technique: Some(Technique::SmbService),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 90,
    confidence: 60,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "Service $ServiceName$ installed on $risk_object$ runs a command",
    when: Match::When(Cond {
        kinds: &[Kind::ServiceInstall],
        fields: &[(F::ServiceFile, Test::Contains(COMMAND_PATHS))],
        fields_not: &[(F::ServiceName, Test::Is(&["ccmsetup"]))],
        yields: Yield::Detail {
            prefix: "service ",
            field: F::ServiceName,
            lower: false,
        },
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SYSTEM, "7045", "ServiceName" = "Updater", "ImagePath" = "%COMSPEC% /C start /b C:\\Windows\\System32\\WindowsPowershell\\v1.0\\powershell -noP -sta -w 1 -enc SQBmACgA"), detail: "service Updater"),
        pos!(ex!(SECURITY, "4697", "ServiceName" = "BTOBTO", "ServiceFileName" = "%COMSPEC% /Q /c echo cd  ^> \\\\127.0.0.1\\C$\\__output 2^>^&1 > %TEMP%\\execute.bat & %COMSPEC% /Q /c %TEMP%\\execute.bat & del %TEMP%\\execute.bat"), detail: "service BTOBTO"),
    ],
    negatives: &[
        ex!(
            SYSTEM,
            "7045",
            "ServiceName" = "Spooler",
            "ImagePath" = "C:\\Windows\\System32\\spoolsv.exe"
        ),
        ex!(
            SYSTEM,
            "7045",
            "ServiceName" = "ccmsetup",
            "ImagePath" = "C:\\Windows\\ccmsetup\\ccmsetup.exe /runservice"
        ),
    ],
    public: &[],
};

const SMB_SERVICE_INSTALL: Rule = Rule {
    id: "smb_service_install",
    alert_type: "SMB_ServiceInstall",
    description: "Service installed (evidence for correlation: a hop when installed from another host's network logon)",
    mitre: "T1569.002",
    side: Side::Destination,
    technique: Some(Technique::SmbService),
    outcome: Outcome::Success,
    artefact: Artefact::Installed,
    impact: 0,
    confidence: 0,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "Service $ServiceName$ installed on $risk_object$",
    when: Match::When(Cond {
        kinds: &[Kind::ServiceInstall],
        yields: Yield::Detail {
            prefix: "service ",
            field: F::ServiceName,
            lower: false,
        },
        ..Cond::ANY
    }),
    positives: &[pos!(ex!(SECURITY, "4697", "ServiceName" = "Spooler", "ServiceFileName" = "C:\\Windows\\System32\\spoolsv.exe"), detail: "service Spooler")],
    negatives: &[ex!(SYSTEM, "7036", "param1" = "Spooler")],
    public: &[],
};

const SMB_SERVICE_CHILD: Rule = Rule {
    id: "smb_service_child",
    alert_type: "SMB_ServiceExec_Child",
    description: "The service control manager or a remote-execution service started a shell (the service ran a command)",
    mitre: "T1569.002",
    side: Side::Destination,
    technique: Some(Technique::SmbService),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 80,
    confidence: 60,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "$parent_process_name$ on $risk_object$ started $process_name$ (service execution)",
    when: Match::AnyOf(&[
        Cond {
            kinds: &[Kind::ProcessCreate],
            parent: &["services.exe"],
            image: SHELLS,
            image_or_original: true,
            yields: Yield::ProcessThreats,
            ..Cond::ANY
        },
        Cond {
            kinds: &[Kind::ProcessCreate],
            parent: &["psexesvc.exe", "remcomsvc.exe", "paexec.exe", "csexecsvc.exe"],
            needs_image: true,
            image_not: &[&["conhost.exe"]],
            yields: Yield::ProcessThreats,
            ..Cond::ANY
        },
    ]),
    positives: &[
        pos!(ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\System32\\services.exe", "Image" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "cmd.exe /C start /b powershell -enc SQBm"), threats: [("cmd.exe", "process_name"), ("services.exe", "parent_process_name")]),
        pos!(ex!(SECURITY, "4688", "ParentProcessName" = "C:\\Windows\\PSEXESVC.exe", "NewProcessName" = "C:\\Windows\\System32\\whoami.exe"), threats: [("whoami.exe", "process_name"), ("psexesvc.exe", "parent_process_name")]),
    ],
    negatives: &[
        ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\System32\\services.exe", "Image" = "C:\\Windows\\System32\\svchost.exe"),
        ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\PSEXESVC.exe", "Image" = "C:\\Windows\\System32\\conhost.exe"),
    ],
    public: &[],
};

/// `\\host` in a command line (the first UNC host that is not loopback).
static UNC_HOST: LazyLock<Regex> = pattern!(r#"(?:^|[\s"'])\\\\([A-Za-z0-9][A-Za-z0-9._-]*)"#);

const SMB_REMOTE_SERVICE_SOURCE: Rule = Rule {
    id: "smb_remote_service_source",
    alert_type: "SMB_RemoteService_Source",
    description: "A service created or started on another host (sc \\\\host create/start, PsExec, PAExec, RemCom)",
    mitre: "T1021.002",
    side: Side::Source,
    technique: Some(Technique::SmbService),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 70,
    confidence: 85,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "$risk_object$ ran $process_name$ against $target_host$",
    when: Match::Custom(Custom {
        classes: &[Class::Process],
        needles: &[],
        needs_keyword: false,
        f: m_remote_service_source,
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\sc.exe", "CommandLine" = "sc.exe \\\\SRV03 create upd binPath= \"cmd.exe /c calc\""), targets: ["SRV03"], threats: [("sc.exe", "process_name")]),
        pos!(ex!(SECURITY, "4688", "NewProcessName" = "C:\\Tools\\PsExec64.exe", "CommandLine" = "PsExec64.exe -accepteula \\\\10.0.0.5 -s cmd.exe"), targets: ["10.0.0.5"], threats: [("psexec64.exe", "process_name")]),
    ],
    negatives: &[
        ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\sc.exe", "CommandLine" = "sc.exe query spooler"),
        ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\sc.exe", "CommandLine" = "sc.exe \\\\SRV03 query spooler"),
        ex!(SYSMON, "1", "Image" = "C:\\Tools\\PsExec.exe", "CommandLine" = "PsExec.exe \\\\127.0.0.1 cmd"),
    ],
    public: &[],
};

fn m_remote_service_source(c: &Ctx<'_>) -> Option<Hit> {
    let sc = c.is_image(&["sc.exe"]);
    let tool = c.is_image(&["psexec.exe", "psexec64.exe", "paexec.exe", "remcom.exe"]);
    if c.kind != Kind::ProcessCreate || !(sc || tool) {
        return None;
    }
    let cmd = c.get(F::CommandLine)?;
    let lower = cmd.to_ascii_lowercase();
    if sc
        && ![" create ", " config ", " start "]
            .iter()
            .any(|v| lower.contains(v))
    {
        return None;
    }
    let target = unc_host(&cmd)?;
    Some(aimed(c, target))
}

/// What a source-side command against `target` reports: the target, and
/// the program as threat object.
fn aimed(c: &Ctx<'_>, target: String) -> Hit {
    Hit {
        targets: vec![target],
        threats: vec![(c.image.lower(), "process_name")],
        ..Hit::default()
    }
}

/// The first non-loopback `\\host` of a command line, as written.
fn unc_host(cmd: &str) -> Option<String> {
    UNC_HOST
        .captures_iter(cmd)
        .map(|m| m[1].to_string())
        .find(|h| !is_loopback(h))
}

const SMB_REMOTE_PIPE: Rule = Rule {
    id: "smb_remote_pipe",
    alert_type: "SMB_RemotePipe",
    description: "A remote client opened a service-control, task-scheduler or remote-execution named pipe (corroboration; remote SCM queries do it too)",
    mitre: "T1021.002",
    side: Side::Destination,
    technique: Some(Technique::SmbService),
    outcome: Outcome::Success,
    artefact: Artefact::Connection,
    impact: 0,
    confidence: 0,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "$IpAddress$ opened a named pipe on $risk_object$",
    when: Match::When(Cond {
        kinds: &[Kind::ShareAccess],
        fields: &[
            (F::ShareName, Test::Contains(&["ipc$"])),
            (
                F::RelativeTargetName,
                Test::Contains(&["svcctl", "atsvc", "remcom_", "psexesvc", "paexec"]),
            ),
        ],
        yields: Yield::Detail {
            prefix: "pipe ",
            field: F::RelativeTargetName,
            lower: true,
        },
        ..Cond::ANY
    }),
    positives: &[pos!(ex!(SECURITY, "5145", "ShareName" = "\\\\*\\IPC$", "RelativeTargetName" = "svcctl", "IpAddress" = "10.0.0.21"), detail: "pipe svcctl")],
    negatives: &[
        ex!(SECURITY, "5145", "ShareName" = "\\\\*\\SYSVOL", "RelativeTargetName" = "corp.example\\Policies\\gpt.ini", "IpAddress" = "10.0.0.21"),
        ex!(SECURITY, "5145", "ShareName" = "\\\\*\\IPC$", "RelativeTargetName" = "lsarpc", "IpAddress" = "10.0.0.21"),
    ],
    public: &[],
};

/// `/s host` (or `/s:host`) of a `schtasks` command line.
static SCHTASKS_HOST: LazyLock<Regex> =
    pattern!(r#"(?i)\s/s(?:\s+|:)"?([A-Za-z0-9][A-Za-z0-9._-]*)"#);

const TASK_REMOTE_SOURCE: Rule = Rule {
    id: "task_remote_source",
    alert_type: "Task_RemoteCreate_Source",
    description: "A scheduled task created or run on another host (schtasks /s, at \\\\host)",
    mitre: "T1053.005",
    side: Side::Source,
    technique: Some(Technique::ScheduledTask),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 70,
    confidence: 90,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "$risk_object$ scheduled a task on $target_host$",
    when: Match::Custom(Custom {
        classes: &[Class::Process],
        needles: &[],
        needs_keyword: false,
        f: m_task_remote_source,
    }),
    positives: &[
        pos!(ex!(SECURITY, "4688", "NewProcessName" = "C:\\Windows\\System32\\schtasks.exe", "CommandLine" = "schtasks  /create /F /tn \\Microsoft\\Windows\\EventCacheManager /tr \"C:\\Windows\\system32\\cmd.exe /C notepad.exe\" /sc ONSTART /ru system /S WORKSTATION6"), targets: ["WORKSTATION6"], threats: [("schtasks.exe", "process_name")]),
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\at.exe", "CommandLine" = "at \\\\SRV03 13:20 c:\\temp\\x.bat"), targets: ["SRV03"], threats: [("at.exe", "process_name")]),
    ],
    negatives: &[
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\schtasks.exe",
            "CommandLine" = "schtasks /create /tn upd /tr calc.exe /sc once /st 10:00"
        ),
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\schtasks.exe",
            "CommandLine" = "schtasks /query /s SRV03"
        ),
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\schtasks.exe",
            "CommandLine" = "schtasks /create /s localhost /tn x /tr calc.exe"
        ),
    ],
    public: &[],
};

fn m_task_remote_source(c: &Ctx<'_>) -> Option<Hit> {
    let schtasks = c.is_image(&["schtasks.exe"]);
    if c.kind != Kind::ProcessCreate || !(schtasks || c.is_image(&["at.exe"])) {
        return None;
    }
    let cmd = c.get(F::CommandLine)?;
    let target = if schtasks {
        let lower = cmd.to_ascii_lowercase();
        if !["/create", "/run", "/change"]
            .iter()
            .any(|v| lower.contains(v))
        {
            return None;
        }
        SCHTASKS_HOST.captures(&cmd).map(|m| m[1].to_string())
    } else {
        unc_host(&cmd)
    };
    let target = target.filter(|t| !is_loopback(t))?;
    Some(aimed(c, target))
}

const TASK_REGISTERED_SHELL: Rule = Rule {
    id: "task_registered_shell",
    alert_type: "Task_Registered",
    description: "Scheduled task registered whose action runs a shell or a file in a public path (atexec, schtasks /s)",
    mitre: "T1053.005",
    side: Side::Destination,
    technique: Some(Technique::ScheduledTask),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 70,
    confidence: 70,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "Task $TaskName$ registered on $risk_object$ runs a command",
    when: Match::When(Cond {
        kinds: &[Kind::TaskRegistered(4698), Kind::TaskRegistered(4702)],
        fields: &[(F::TaskContent, Test::Contains(TASK_ACTIONS))],
        yields: Yield::Detail {
            prefix: "task ",
            field: F::TaskName,
            lower: false,
        },
        ..Cond::ANY
    }),
    positives: &[pos!(ex!(SECURITY, "4698", "TaskName" = "\\EventCacheManager", "SubjectLogonId" = "0xead4335", "TaskContent" = "<Task><Actions><Exec><Command>C:\\Windows\\system32\\cmd.exe</Command><Arguments>/C C:\\Windows\\System32\\notepad.exe</Arguments></Exec></Actions></Task>"), detail: "task \\EventCacheManager")],
    negatives: &[ex!(SECURITY, "4698", "TaskName" = "\\Microsoft\\Office\\Office Feature Updates", "TaskContent" = "<Task><Actions><Exec><Command>C:\\Program Files\\Microsoft Office\\root\\Office16\\sdxhelper.exe</Command></Exec></Actions></Task>")],
    public: &[],
};

const TASK_REGISTERED: Rule = Rule {
    id: "task_registered",
    alert_type: "Task_Registered",
    description: "Scheduled task registered or updated (evidence for correlation: a hop when registered from another host's network logon or named by it)",
    mitre: "T1053.005",
    side: Side::Destination,
    technique: Some(Technique::ScheduledTask),
    outcome: Outcome::Success,
    artefact: Artefact::Installed,
    impact: 0,
    confidence: 0,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "Task $TaskName$ registered on $risk_object$",
    when: Match::When(Cond {
        kinds: &[
            Kind::TaskRegistered(4698),
            Kind::TaskRegistered(4702),
            Kind::TaskRegistered(106),
        ],
        yields: Yield::Detail {
            prefix: "task ",
            field: F::TaskName,
            lower: false,
        },
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(TASKSCHED, "106", "TaskName" = "\\EventCacheManager", "UserContext" = "S-1-5-18"), detail: "task \\EventCacheManager"),
        pos!(ex!(SECURITY, "4702", "TaskName" = "\\Upd"), detail: "task \\Upd"),
    ],
    negatives: &[ex!(TASKSCHED, "140", "TaskName" = "\\EventCacheManager"), ex!(SECURITY, "4699", "TaskName" = "\\Upd")],
    public: &[],
};

const DCOM_MMC20_CHILD: Rule = Rule {
    id: "dcom_mmc20_child",
    alert_type: "DCOM_RemoteExec_Child",
    description:
        "mmc.exe started as a DCOM server (-Embedding, MMC20.Application) started a process",
    mitre: "T1021.003",
    side: Side::Destination,
    technique: Some(Technique::Dcom),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 90,
    confidence: 60,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "mmc.exe (DCOM) on $risk_object$ spawned $process_name$",
    when: Match::When(Cond {
        kinds: &[Kind::ProcessCreate],
        parent: &["mmc.exe"],
        needs_image: true,
        image_not: &[&["conhost.exe", "werfault.exe"]],
        fields: &[(
            F::ParentCommandLine,
            Test::Contains(&["-embedding", "/embedding"]),
        )],
        yields: Yield::ProcessThreats,
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\System32\\mmc.exe", "ParentCommandLine" = "C:\\Windows\\system32\\mmc.exe -Embedding", "Image" = "C:\\Windows\\System32\\cmd.exe"), threats: [("cmd.exe", "process_name"), ("mmc.exe", "parent_process_name")]),
    ],
    negatives: &[ex!(
        SYSMON,
        "1",
        "ParentImage" = "C:\\Windows\\System32\\mmc.exe",
        "ParentCommandLine" =
            "\"C:\\Windows\\system32\\mmc.exe\" \"C:\\Windows\\system32\\compmgmt.msc\"",
        "Image" = "C:\\Windows\\System32\\cmd.exe"
    )],
    public: &[
        FromPublic {
            origin: Origin::Sigma("10c14723"),
            built: Built::Regression { path: "regression_data/rules/windows/process_creation/proc_creation_win_hktl_impacket_lateral_movement/10c14723-61c7-4c75-92ca-9af245723ad2.json", commit: "f833216056b130164bd3d7bd753e52a770636443" },
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "\"C:\\Windows\\System32\\cmd.exe\" /Q /c cd \\ 1> \\\\127.0.0.1\\ADMIN$\\__1556656511.61 2>&1", "CurrentDirectory" = "C:\\windows\\system32\\", "User" = "IEWIN7\\IEUser", "LogonId" = "0x1ea3c6", "IntegrityLevel" = "High", "ParentImage" = "C:\\Windows\\System32\\mmc.exe", "ParentCommandLine" = "C:\\Windows\\system32\\mmc.exe -Embedding"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "\"C:\\Windows\\System32\\cmd.exe\" /c ipconfig /all", "User" = "IEWIN7\\IEUser", "LogonId" = "0x1ea3c6", "ParentImage" = "C:\\Windows\\System32\\mmc.exe", "ParentCommandLine" = "C:\\Windows\\system32\\mmc.exe -Embedding"), Contrast::Broader("any child of MMC20 started over DCOM is DCOM execution"))),
        },
    ],
};

const DCOM_OFFICE_CHILD: Rule = Rule {
    id: "dcom_office_child",
    alert_type: "DCOM_RemoteExec_Child",
    description: "An Office application started for automation (-Embedding, /automation: Excel.Application, Outlook.Application) started a shell",
    mitre: "T1021.003",
    side: Side::Destination,
    technique: Some(Technique::Dcom),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 90,
    confidence: 50,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "$parent_process_name$ (DCOM) on $risk_object$ spawned $process_name$",
    when: Match::When(Cond {
        kinds: &[Kind::ProcessCreate],
        parent: &["excel.exe", "winword.exe", "powerpnt.exe", "outlook.exe", "visio.exe"],
        image: SHELLS,
        image_or_original: true,
        fields: &[(F::ParentCommandLine, Test::Contains(&["-embedding", "/automation"]))],
        yields: Yield::ProcessThreats,
        ..Cond::ANY
    }),
    positives: &[pos!(ex!(SYSMON, "1", "ParentImage" = "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE", "ParentCommandLine" = "\"C:\\Program Files\\Microsoft Office\\Root\\Office16\\EXCEL.EXE\" /automation -Embedding", "Image" = "C:\\Windows\\System32\\cmd.exe"), threats: [("cmd.exe", "process_name"), ("excel.exe", "parent_process_name")])],
    negatives: &[ex!(SYSMON, "1", "ParentImage" = "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE", "ParentCommandLine" = "\"C:\\Program Files\\Microsoft Office\\Root\\Office16\\EXCEL.EXE\" C:\\Users\\a\\b.xlsx", "Image" = "C:\\Windows\\System32\\cmd.exe")],
    public: &[],
};

/// What a shell started through ShellWindows / ShellBrowserWindow carries
/// and a shell a person opens from the desktop does not: a command to run.
const SHELL_COMMANDS: &[&str] = &[
    " /c ",
    " /q ",
    "%comspec%",
    "-enc",
    "-encodedcommand",
    "-nop",
    "-w hidden",
    "-windowstyle hidden",
    "http://",
    "https://",
];

const DCOM_SHELLWINDOWS_CHILD: Rule = Rule {
    id: "dcom_shellwindows_child",
    alert_type: "DCOM_ShellWindows_Child",
    description: "explorer.exe started a shell with a command (ShellWindows / ShellBrowserWindow DCOM; a hop when a network logon from the source is seen)",
    mitre: "T1021.003",
    side: Side::Destination,
    technique: Some(Technique::Dcom),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 70,
    confidence: 50,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "explorer.exe on $risk_object$ spawned $process_name$ with a command",
    when: Match::Custom(Custom {
        classes: &[Class::Process],
        needles: &[],
        needs_keyword: false,
        f: m_shellwindows_child,
    }),
    positives: &[pos!(ex!(SECURITY, "4688", "ParentProcessName" = "C:\\Windows\\explorer.exe", "NewProcessName" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "\"C:\\Windows\\System32\\cmd.exe\" /c %COMSPEC% /C start /b powershell -noP -sta -w 1 -enc SQBGACgA"), threats: [("cmd.exe", "process_name"), ("explorer.exe", "parent_process_name")])],
    negatives: &[
        ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\explorer.exe", "Image" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "\"C:\\Windows\\system32\\cmd.exe\" "),
        ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\explorer.exe", "Image" = "C:\\ProgramData\\bginfo.exe", "CommandLine" = "\"C:\\ProgramData\\bginfo.exe\" C:\\ProgramData\\OTRWallPaper.bgi /silent /timer:0"),
    ],
    public: &[],
};

fn m_shellwindows_child(c: &Ctx<'_>) -> Option<Hit> {
    if c.kind != Kind::ProcessCreate || !c.parent.is_in(&["explorer.exe"]) || !c.is_image(SHELLS) {
        return None;
    }
    let cmd = format!("{} ", c.get(F::CommandLine)?.to_ascii_lowercase());
    SHELL_COMMANDS.iter().any(|n| cmd.contains(n)).then(|| Hit {
        threats: c.process_threats(),
        ..Hit::default()
    })
}

/// The host argument of `GetTypeFromProgID("X", "host")` /
/// `GetTypeFromCLSID(guid, "host")`.
static DCOM_HOST: LazyLock<Regex> = pattern!(
    r#"(?i)gettypefrom(?:progid|clsid)\(\s*['"]?[^,'")]+['"]?\s*,\s*['"]([A-Za-z0-9][A-Za-z0-9._-]*)['"]"#
);

const DCOM_REMOTE_SOURCE: Rule = Rule {
    id: "dcom_remote_source",
    alert_type: "DCOM_RemoteInstantiation_Source",
    description: "PowerShell instantiated a DCOM object on another host (MMC20.Application, ShellWindows, ShellBrowserWindow)",
    mitre: "T1021.003",
    side: Side::Source,
    technique: Some(Technique::Dcom),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 90,
    confidence: 70,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "$risk_object$ instantiated a DCOM object on $target_host$",
    when: Match::Custom(Custom {
        classes: &[Class::Process, Class::ScriptBlock],
        needles: &["gettypefromprogid", "gettypefromclsid"],
        needs_keyword: true,
        f: m_dcom_source,
    }),
    positives: &[
        pos!(ex!("XmlWinEventLog:Microsoft-Windows-PowerShell/Operational", "4104", "ScriptBlockText" = "$c = [activator]::CreateInstance([type]::GetTypeFromProgID(\"MMC20.Application\",\"SRV03\")); $c.Document.ActiveView.ExecuteShellCommand(\"cmd\",$null,\"/c calc\",\"7\")"), targets: ["SRV03"]),
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "CommandLine" = "powershell -c \"$o=[activator]::CreateInstance([type]::GetTypeFromCLSID('9BA05972-F6A8-11CF-A442-00A0C90A8F39','10.0.0.31'));$o.item().Document.Application.ShellExecute('cmd')\""), targets: ["10.0.0.31"]),
    ],
    negatives: &[
        ex!("XmlWinEventLog:Microsoft-Windows-PowerShell/Operational", "4104", "ScriptBlockText" = "$c = [activator]::CreateInstance([type]::GetTypeFromProgID(\"MMC20.Application\"))"),
        ex!("XmlWinEventLog:Microsoft-Windows-PowerShell/Operational", "4104", "ScriptBlockText" = "[type]::GetTypeFromProgID(\"MMC20.Application\",\"localhost\")"),
    ],
    public: &[],
};

fn m_dcom_source(c: &Ctx<'_>) -> Option<Hit> {
    if !c.any(&["gettypefromprogid", "gettypefromclsid"]) {
        return None;
    }
    let text = c.source();
    let targets: Vec<String> = DCOM_HOST
        .captures_iter(&text)
        .map(|m| m[1].to_string())
        .filter(|h| !is_loopback(h))
        .collect();
    (!targets.is_empty()).then(|| Hit {
        targets,
        ..Hit::default()
    })
}

const RDP_LOGON: Rule = Rule {
    id: "rdp_logon",
    alert_type: "RDP_Logon",
    description: "Remote Desktop logon (4624 logon type 10) from another host",
    mitre: "T1021.001",
    side: Side::Destination,
    technique: Some(Technique::Rdp),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 50,
    confidence: 50,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "RDP logon to $risk_object$ from $IpAddress$",
    when: Match::When(Cond {
        kinds: &[Kind::Logon],
        fields: &[
            (F::LogonType, Test::Is(&["10"])),
            (F::IpAddress, Test::Matches(&REMOTE_ADDRESS)),
        ],
        fields_not: &[(F::IpAddress, Test::Is(&["127.0.0.1", "::1"]))],
        yields: Yield::Detail {
            prefix: "from ",
            field: F::IpAddress,
            lower: true,
        },
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SECURITY, "4624", "LogonType" = "10", "IpAddress" = "10.0.0.21", "TargetUserName" = "alice"), detail: "from 10.0.0.21"),
    ],
    negatives: &[
        ex!(
            SECURITY,
            "4624",
            "LogonType" = "10",
            "IpAddress" = "127.0.0.1",
            "TargetUserName" = "alice"
        ),
        ex!(
            SECURITY,
            "4624",
            "LogonType" = "3",
            "IpAddress" = "10.0.0.21",
            "TargetUserName" = "alice"
        ),
        ex!(
            SECURITY,
            "4624",
            "LogonType" = "10",
            "IpAddress" = "-",
            "TargetUserName" = "alice"
        ),
    ],
    public: &[],
};

/// An address that is another host's: not loopback, not empty, not `-`
/// or `LOCAL`.
static REMOTE_ADDRESS: LazyLock<Regex> = pattern!(r"(?i)^(?:[0-9a-f:.]*[0-9a-f][0-9a-f:.]*)$");

const RDP_SESSION: Rule = Rule {
    id: "rdp_session",
    alert_type: "RDP_Session",
    description: "Remote Desktop user authenticated (RemoteConnectionManager 1149) or session logon / reconnection (LocalSessionManager 21 / 25) from another host",
    mitre: "T1021.001",
    side: Side::Destination,
    technique: Some(Technique::Rdp),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 50,
    confidence: 50,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "RDP session on $risk_object$ from another host",
    when: Match::Custom(Custom {
        classes: &[Class::Rdp],
        needles: &[],
        needs_keyword: false,
        f: m_rdp_session,
    }),
    positives: &[
        pos!(ex!(RCM, "1149", "Param1" = "alice", "Param2" = "CORP", "Param3" = "10.0.0.21"), detail: "client 10.0.0.21"),
        pos!(ex!(LSM, "25", "User" = "CORP\\alice", "SessionID" = "2", "Address" = "10.0.0.21"), detail: "client 10.0.0.21"),
    ],
    negatives: &[
        ex!(LSM, "21", "User" = "CORP\\alice", "SessionID" = "1", "Address" = "LOCAL"),
        ex!(RCM, "1149", "Param1" = "alice", "Param2" = "CORP", "Param3" = "127.0.0.1"),
        ex!(LSM, "23", "User" = "CORP\\alice", "SessionID" = "2"),
    ],
    public: &[],
};

fn m_rdp_session(c: &Ctx<'_>) -> Option<Hit> {
    if !matches!(c.kind, Kind::RdpSession(_)) {
        return None;
    }
    let client = c.get(F::RdpClient)?;
    let client = client.trim();
    if is_loopback(client) || !REMOTE_ADDRESS.is_match(client) {
        return None;
    }
    Some(Hit {
        detail: Some(format!("client {}", client.to_ascii_lowercase())),
        ..Hit::default()
    })
}

/// `/v:host[:port]` of an `mstsc` command line.
static MSTSC_HOST: LazyLock<Regex> = pattern!(r#"(?i)/v:\s*"?([A-Za-z0-9][A-Za-z0-9._-]*)"#);

const RDP_CLIENT_SOURCE: Rule = Rule {
    id: "rdp_client_source",
    alert_type: "RDP_Client_Source",
    description: "Remote Desktop client started against another host (mstsc /v:)",
    mitre: "T1021.001",
    side: Side::Source,
    technique: Some(Technique::Rdp),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 30,
    confidence: 50,
    basis: Basis::Own("another lateral-movement technique: outside the parity table, which is WinRM / PowerShell remoting / WMI content (detections.md); the catalogue's values"),
    message: "$risk_object$ opened Remote Desktop to $target_host$",
    when: Match::Custom(Custom {
        classes: &[Class::Process],
        needles: &[],
        needs_keyword: false,
        f: m_rdp_client,
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\mstsc.exe", "CommandLine" = "\"C:\\Windows\\system32\\mstsc.exe\" /v:SRV01"), targets: ["SRV01"], threats: [("mstsc.exe", "process_name")]),
    ],
    negatives: &[
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\mstsc.exe",
            "CommandLine" = "\"C:\\Windows\\system32\\mstsc.exe\""
        ),
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\mstsc.exe",
            "CommandLine" = "mstsc.exe /v:127.0.0.1:3390"
        ),
    ],
    public: &[],
};

fn m_rdp_client(c: &Ctx<'_>) -> Option<Hit> {
    if c.kind != Kind::ProcessCreate || !c.is_image(&["mstsc.exe"]) {
        return None;
    }
    let cmd = c.get(F::CommandLine)?;
    let target = MSTSC_HOST
        .captures(&cmd)
        .map(|m| m[1].to_string())
        .filter(|t| !is_loopback(t))?;
    Some(aimed(c, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unc_hosts_skip_loopback_and_need_a_boundary() {
        assert_eq!(
            unc_host("psexec \\\\127.0.0.1 \\\\srv9 x").as_deref(),
            Some("srv9")
        );
        assert_eq!(unc_host("copy a\\\\b c"), None);
    }
}
