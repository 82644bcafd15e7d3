//! WinRM, PowerShell remoting and winrs: each rule's entry, with its
//! matcher beside it where a condition cannot say what it needs.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::lists::{LOLBAS, POWERSHELL};
use super::{
    any, Basis, Built, Cond, Contrast, Custom, FromPublic, Hit, Level, Match, Origin, Positive,
    Rule, Test, Yield,
};
use super::{PSOP, SECURITY, SYSMON, WINPS, WINRM};
use crate::detect::ctx::{basename, host_application, Ctx};
use crate::detect::finding::{Artefact, Outcome, Side, Technique};
use crate::detect::targets::{command_line_targets, is_loopback, parse_connection};
use crate::event::kind::{Class, Kind};
use crate::event::F;

/// The family's rules, in the order their AlertTypes are listed.
pub(super) const ALL: &[Rule] = &[
    WINRM_REMOTEEXEC_CHILD,
    WINRM_REMOTEEXEC_CHILD_LOLBAS,
    WINRM_PSREMOTING,
    WINRM_PSREMOTING_SCRIPTBLOCK,
    WINRM_DIRECTTOOL,
    WINRM_SESSION_CREATED,
    WINRM_SESSION_INITIATED,
    WINRM_SESSION_FAILED,
    WINRM_SESSION_CONTEXT,
    WINRM_SERVER_CONTEXT,
    WINRM_NETWORK_CONNECTION,
    WINRM_INBOUND_CONNECTION,
    WINRM_EVENT_FORWARDING,
    LM_EXPLICIT_CREDENTIALS,
    WINRM_HOST_PROCESS,
    WINRM_REMOTESHELL_CHILD,
    PS_REMOTE_SESSION_400,
    PS_REMOTE_SESSION_4103,
    WINRM_EVILWINRM,
    WINRM_EVILWINRM_SESSION,
    WINRM_LSASS_ACCESS,
    WINRM_ENABLEMENT,
    WINRM_TRUSTEDHOSTS,
    PSWA_ENABLED,
    PSWA_ACTIVITY,
    WINRM_ALTHOST,
    WINRM_CLIENT_IMAGELOAD,
    PS_ALTERNATE_HOST,
];

const WINRM_REMOTEEXEC_CHILD: Rule = Rule {
    id: "winrm_remoteexec_child",
    alert_type: "WinRM_RemoteExec_Child",
    description: "wsmprovhost.exe (WinRM plugin host) started a process: command run through PowerShell remoting",
    mitre: "T1021.006",
    side: Side::Destination,
    technique: Some(Technique::PsRemoting),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 90,
    confidence: 50,
    basis: Basis::Escu("A8"),
    message: "wsmprovhost.exe on $risk_object$ spawned $process_name$ (remote PowerShell / WinRM execution)",
    when: Match::When(Cond {
        kinds: &[Kind::ProcessCreate],
        parent: &["wsmprovhost.exe"],
        image_not: &[&["conhost.exe", "werfault.exe", "csc.exe"], LOLBAS],
        needs_image: true,
        yields: Yield::ProcessThreats,
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\System32\\wsmprovhost.exe", "Image" = "C:\\Windows\\System32\\whoami.exe"), threats: [("whoami.exe", "process_name"), ("wsmprovhost.exe", "parent_process_name")]),
        pos!(ex!(SECURITY, "4688", "ParentProcessName" = "C:\\Windows\\System32\\wsmprovhost.exe", "NewProcessName" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"), threats: [("powershell.exe", "process_name"), ("wsmprovhost.exe", "parent_process_name")]),
        pos!(ex!("WinEventLog:Security", "4688", "Creator_Process_Name" = "C:\\Windows\\System32\\wsmprovhost.exe", "New_Process_Name" = "C:\\Windows\\System32\\cmd.exe"), threats: [("cmd.exe", "process_name"), ("wsmprovhost.exe", "parent_process_name")]),
        pos!(&[("parent_process_name", "wsmprovhost.exe"), ("process_name", "hostname.exe"), ("dest", "SRV02")], threats: [("hostname.exe", "process_name"), ("wsmprovhost.exe", "parent_process_name")]),
    ],
    negatives: &[
        ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\System32\\wsmprovhost.exe", "Image" = "C:\\Windows\\System32\\conhost.exe"),
        ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\System32\\wsmprovhost.exe", "Image" = "C:\\Windows\\System32\\WerFault.exe"),
        ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\System32\\wsmprovhost.exe", "Image" = "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\csc.exe"),
        ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\explorer.exe", "Image" = "C:\\Windows\\System32\\cmd.exe"),
        ex!(SYSMON, "10", "SourceImage" = "C:\\Windows\\System32\\wsmprovhost.exe", "TargetImage" = "C:\\Windows\\System32\\cmd.exe"),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("5cc2cda8"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "\"C:\\Windows\\system32\\cmd.exe\" /c whoami /all", "ParentImage" = "C:\\Windows\\System32\\wsmprovhost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wsmprovhost.exe -Embedding", "User" = "CORP\\alice"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\conhost.exe", "OriginalFileName" = "CONHOST.EXE", "CommandLine" = "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1", "ParentImage" = "C:\\Windows\\System32\\wsmprovhost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wsmprovhost.exe -Embedding", "User" = "CORP\\alice"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("734f8d9b"),
            built: Built::Regression { path: "regression_data/rules/windows/process_creation/proc_creation_win_winrm_remote_powershell_session_process/734f8d9b-42b8-41b2-bcf5-abaf49d5a3c8.json", commit: "f833216056b130164bd3d7bd753e52a770636443" },
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\HOSTNAME.EXE", "CommandLine" = "\"C:\\Windows\\system32\\HOSTNAME.EXE\"", "CurrentDirectory" = "C:\\Users\\administrator\\Documents\\", "User" = "insecurebank\\Administrator", "LogonId" = "0x15daaf", "IntegrityLevel" = "High", "ParentImage" = "C:\\Windows\\System32\\wsmprovhost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wsmprovhost.exe -Embedding"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WinrsHost.exe", "CommandLine" = "C:\\Windows\\system32\\WinrsHost.exe -Embedding", "ParentImage" = "C:\\Windows\\System32\\svchost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p", "User" = "CORP\\alice"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("A1"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "\"C:\\Windows\\system32\\cmd.exe\" /c whoami /all", "ParentImage" = "C:\\Windows\\System32\\wsmprovhost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wsmprovhost.exe -Embedding", "User" = "CORP\\alice", "LogonId" = "0x5d2e41"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\conhost.exe", "OriginalFileName" = "CONHOST.EXE", "CommandLine" = "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1", "ParentImage" = "C:\\Windows\\System32\\wsmprovhost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wsmprovhost.exe -Embedding", "User" = "CORP\\alice"), Contrast::Filtered)),
        },
    ],
};

const WINRM_REMOTEEXEC_CHILD_LOLBAS: Rule = Rule {
    id: "winrm_remoteexec_child_lolbas",
    alert_type: "WinRM_RemoteExec_Child",
    description: "wsmprovhost.exe started a living-off-the-land binary",
    mitre: "T1021.006",
    side: Side::Destination,
    technique: Some(Technique::PsRemoting),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 90,
    confidence: 60,
    basis: Basis::Escu("A2"),
    message: "wsmprovhost.exe on $risk_object$ spawned the LOLBAS binary $process_name$",
    when: Match::When(Cond {
        kinds: &[Kind::ProcessCreate],
        parent: &["wsmprovhost.exe"],
        image: LOLBAS,
        yields: Yield::ProcessThreats,
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\System32\\wsmprovhost.exe", "Image" = "C:\\Windows\\System32\\schtasks.exe"), threats: [("schtasks.exe", "process_name"), ("wsmprovhost.exe", "parent_process_name")]),
    ],
    negatives: &[ex!(
        SYSMON,
        "1",
        "ParentImage" = "C:\\Windows\\System32\\wsmprovhost.exe",
        "Image" = "C:\\Windows\\System32\\whoami.exe"
    )],
    public: &[
        FromPublic {
            origin: Origin::Escu("A2"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\schtasks.exe", "OriginalFileName" = "schtasks.exe", "CommandLine" = "\"C:\\Windows\\system32\\schtasks.exe\" /create /tn Updater /tr C:\\Users\\Public\\upd.exe /sc once /st 23:59 /ru SYSTEM", "ParentImage" = "C:\\Windows\\System32\\wsmprovhost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wsmprovhost.exe -Embedding", "User" = "CORP\\alice", "LogonId" = "0x5d2e41"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "\"C:\\Windows\\system32\\cmd.exe\" /c ipconfig", "ParentImage" = "C:\\Windows\\System32\\wsmprovhost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wsmprovhost.exe -Embedding", "User" = "CORP\\alice"), Contrast::Filtered)),
        },
    ],
};

const WINRM_PSREMOTING: Rule = Rule {
    id: "winrm_psremoting",
    alert_type: "WinRM_PSRemoting",
    description: "PowerShell started with a remoting cmdlet or WinRM target on its command line",
    mitre: "T1021.006",
    side: Side::Source,
    technique: Some(Technique::PsRemoting),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 90,
    confidence: 50,
    basis: Basis::Escu("A4"),
    message: "PowerShell remoting from $risk_object$ to $target_host$",
    when: Match::When(Cond {
        kinds: &[Kind::ProcessCreate],
        image: POWERSHELL,
        image_or_original: true,
        text_any: &[
            "invoke-command",
            "enter-pssession",
            "new-pssession",
            "-computername",
            "wsman://",
            "winrm",
        ],
        yields: Yield::CommandLine,
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "CommandLine" = "powershell -c Invoke-Command -ComputerName SRV03 -ScriptBlock {whoami}"), targets: ["SRV03"], threats: [("powershell.exe", "process_name")]),
        pos!(ex!(SECURITY, "4688", "NewProcessName" = "C:\\Program Files\\PowerShell\\7\\pwsh.exe", "CommandLine" = "pwsh -c Enter-PSSession srv03"), targets: ["srv03"], threats: [("pwsh.exe", "process_name")]),
        pos!(ex!(SYSMON, "1", "Image" = "C:\\x\\renamed.exe", "OriginalFileName" = "PowerShell.EXE", "CommandLine" = "renamed.exe New-PSSession -cn srv03"), targets: ["srv03"], threats: [("renamed.exe", "process_name")]),
    ],
    negatives: &[
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "CommandLine" = "powershell -c Get-Process"
        ),
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\cmd.exe",
            "CommandLine" = "cmd /c echo Invoke-Command"
        ),
    ],
    public: &[
        FromPublic {
            origin: Origin::Escu("A4"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "OriginalFileName" = "PowerShell.EXE", "CommandLine" = "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -c \"Invoke-Command -ComputerName SRV03 -ScriptBlock { whoami }\"", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"", "User" = "CORP\\alice"),
            targets: &["SRV03"],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "OriginalFileName" = "PowerShell.EXE", "CommandLine" = "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -c \"Invoke-Command -ScriptBlock { whoami }\"", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"", "User" = "CORP\\alice"), Contrast::Broader("ours reads every remoting cmdlet on a PowerShell command line, with or without -ComputerName"))),
        },
    ],
};

const WINRM_PSREMOTING_SCRIPTBLOCK: Rule = Rule {
    id: "winrm_psremoting_scriptblock",
    alert_type: "WinRM_PSRemoting",
    description: "Script block runs a PowerShell remoting cmdlet against another computer",
    mitre: "T1021.006",
    side: Side::Source,
    technique: Some(Technique::PsRemoting),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 90,
    confidence: 50,
    basis: Basis::Escu("A5"),
    message: "PowerShell remoting script block on $risk_object$ targeting $target_host$",
    when: Match::Custom(Custom {
        classes: &[Class::ScriptBlock, Class::PsModule],
        needles: &[
            "invoke-command",
            "enter-pssession",
            "new-pssession",
            "-computername",
            "-connectionuri",
            "-session",
        ],
        needs_keyword: true,
        f: m_psremoting_scriptblock,
    }),
    positives: &[
        pos!(ex!(PSOP, "4104", "ScriptBlockText" = "Invoke-Command -ComputerName SRV03 -ScriptBlock { hostname }"), targets: ["SRV03"]),
        // Module logging, as Windows writes it (the 4103 payload's shape is
        // Mordor's Empire recording's; the parameters are ours).
        pos!(ex!(PSOP, "4103", "Payload" = "CommandInvocation(Invoke-Command): \"Invoke-Command\"\r\nParameterBinding(Invoke-Command): name=\"ComputerName\"; value=\"SRV03\"\r\nParameterBinding(Invoke-Command): name=\"ScriptBlock\"; value=\" hostname \"\r\n"), targets: ["SRV03"]),
        pos!(ex!(PSOP, "4103", "Payload" = "CommandInvocation(New-PSSession): \"New-PSSession\"\r\nParameterBinding(New-PSSession): name=\"ConnectionUri\"; value=\"https://srv04.corp.local:5986/wsman\"\r\n"), targets: ["srv04.corp.local"]),
        pos!(ex!(PSOP, "4103", "Payload" = "CommandInvocation(Invoke-Command): \"Invoke-Command\"\r\nParameterBinding(Invoke-Command): name=\"Session\"; value=\"[PSSession]WinRM1\"\r\n")),
    ],
    negatives: &[
        ex!(
            PSOP,
            "4104",
            "ScriptBlockText" = "Invoke-Command -ScriptBlock { hostname }"
        ),
        // Not the way Windows writes module logging: nothing is read.
        ex!(
            PSOP,
            "4103",
            "Payload" = "Invoke-Command -ComputerName SRV03"
        ),
        ex!(PSOP, "4103", "Payload" = "CommandInvocation(Invoke-Command): \"Invoke-Command\"\r\nParameterBinding(Invoke-Command): name=\"ScriptBlock\"; value=\"Get-Process\"\r\n"),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("7b836d7f"),
            built: Built::Regression { path: "regression_data/rules/windows/powershell/powershell_script/posh_ps_invoke_command_remote/7b836d7f-179c-4ba4-90a7-a7e60afb48e6.json", commit: "c8ef5b9ec7da966b4423dd2850ec42c931f0e458" },
            event: ex!(PSOP, "4104", "ScriptBlockText" = "& {Enable-PSRemoting -Force\nInvoke-Command -ComputerName $env:COMPUTERNAME -ScriptBlock {whoami}}", "ScriptBlockId" = "5f2900d0-8268-43f0-bd1b-045e583b2e1f"),
            targets: &[],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "& {Invoke-Command -ScriptBlock {whoami}}", "ScriptBlockId" = "6a3011e1-9379-44f1-ae2c-156f694c2f20"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("a0edd39f"),
            built: Built::Regression { path: "regression_data/rules/windows/powershell/powershell_script/posh_ps_remote_session_creation/a0edd39f-a0c6-4c17-8141-261f958e8d8f.json", commit: "756298dbb0ab93e660f7e6d00158175b3b39d5d1" },
            event: ex!(PSOP, "4104", "ScriptBlockText" = "& {New-PSSession -ComputerName $env:COMPUTERNAME\nTest-Connection $env:COMPUTERNAME\nSet-Content -Path $env:TEMP\\T1086_PowerShell_Session_Creation_and_Use -Value \"T1086 PowerShell Session Creation and Use\"\nGet-Content -Path $env:TEMP\\T1086_PowerShell_Session_Creation_and_Use\nRemove-Item -Force $env:TEMP\\T1086_PowerShell_Session_Creation_and_Use}", "ScriptBlockId" = "5ca93016-ed70-4136-94ef-d16e6383565e"),
            targets: &[],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "$s = New-PSSession -Name local1", "ScriptBlockId" = "7d4e2f10-1a2b-4c3d-8e9f-0a1b2c3d4e5f"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("A5"),
            built: Built::Definition,
            event: ex!(PSOP, "4104", "ScriptBlockText" = "Invoke-Command -ComputerName SRV03 -ScriptBlock { Get-Process }"),
            targets: &["SRV03"],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "Invoke-Command -ScriptBlock { Get-Process }"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("A7"),
            built: Built::Definition,
            event: ex!(PSOP, "4104", "ScriptBlockText" = "Enter-PSSession -ComputerName SRV03 -Credential CORP\\alice"),
            targets: &["SRV03"],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "Enter-PSSession SRV03"), Contrast::Broader("Enter-PSSession names its host positionally too; ESCU needs -ComputerName"))),
        },
    ],
};

fn m_psremoting_scriptblock(c: &Ctx<'_>) -> Option<Hit> {
    if !matches!(c.kind, Kind::ScriptBlock | Kind::PsModule)
        || !any(
            &c.text,
            &["invoke-command", "enter-pssession", "new-pssession"],
        )
    {
        return None;
    }
    let targets = command_line_targets(&c.source(), false);
    (!targets.is_empty() || c.any(&["-computername", "-connectionuri", "-session"])).then(|| Hit {
        targets,
        ..Hit::default()
    })
}

const WINRM_DIRECTTOOL: Rule = Rule {
    id: "winrm_directtool",
    alert_type: "WinRM_DirectTool",
    description: "winrs.exe, or winrm on a command line (WinRM client tools)",
    mitre: "T1021.006",
    side: Side::Source,
    technique: Some(Technique::Winrs),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 90,
    confidence: 60,
    basis: Basis::Escu("A6"),
    message: "winrs/winrm used on $risk_object$ against $target_host$",
    when: Match::AnyOf(&[
        Cond {
            kinds: &[Kind::ProcessCreate],
            image: &["winrs.exe"],
            image_or_original: true,
            yields: Yield::CommandLine,
            ..Cond::ANY
        },
        // `winrm`, `winrm.cmd`, `winrm.vbs` as a word: not RogueWinRM.exe.
        Cond {
            kinds: &[Kind::ProcessCreate],
            image_not: &[&["svchost.exe"]],
            text_all: &["winrm"],
            text_regex: Some(&WINRM_TOOL),
            yields: Yield::CommandLine,
            ..Cond::ANY
        },
    ]),
    positives: &[
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\winrs.exe", "CommandLine" = "winrs -r:srv03 ipconfig"), targets: ["srv03"], threats: [("winrs.exe", "process_name")]),
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cscript.exe", "CommandLine" = "cscript //nologo C:\\Windows\\System32\\winrm.vbs invoke Create wmicimv2/Win32_Process @{CommandLine=\"calc\"} -r:http://srv03:5985"), targets: ["srv03"], threats: [("cscript.exe", "process_name")]),
    ],
    negatives: &[
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\svchost.exe",
            "CommandLine" = "C:\\Windows\\System32\\svchost.exe -k NetworkService -p -s WinRM"
        ),
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\ipconfig.exe",
            "CommandLine" = "ipconfig /all"
        ),
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Users\\IEUser\\RogueWinRM.exe",
            "CommandLine" = "RogueWinRM.exe  -p c:\\Windows\\System32\\cmd.exe"
        ),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("bcfece3d"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\winrs.exe", "OriginalFileName" = "winrs.exe", "CommandLine" = "\"c:\\Windows\\System32\\winrs.exe\" calc.exe", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"", "User" = "CORP\\alice"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\winrs.exe", "OriginalFileName" = "winrs.exe", "CommandLine" = "winrs -r:srv03.corp.example ipconfig /all", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"", "User" = "CORP\\alice"), Contrast::Broader("winrs to a remote host is the source side of the movement ours is for; Sigma wants only local proxy execution"))),
        },
        FromPublic {
            origin: Origin::Sigma("9df0dd3a"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cscript.exe", "OriginalFileName" = "cscript.exe", "CommandLine" = "cscript //nologo \"C:\\Windows\\System32\\winrm.vbs\" invoke Create wmicimv2/Win32_Process @{CommandLine=\"notepad.exe\"} -r:http://srv03.corp.example:5985", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "User" = "CORP\\alice"),
            targets: &["srv03.corp.example"],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cscript.exe", "OriginalFileName" = "cscript.exe", "CommandLine" = "cscript //nologo \"C:\\Windows\\System32\\winrm.vbs\" invoke Create wmicimv2/Win32_Process @{CommandLine=\"notepad.exe\"}", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "User" = "CORP\\alice"), Contrast::Broader("ours reports winrm.vbs on any command line, remote or not"))),
        },
        FromPublic {
            origin: Origin::Escu("A6"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\winrs.exe", "OriginalFileName" = "winrs.exe", "CommandLine" = "winrs -r:SRV03 ipconfig", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"", "User" = "CORP\\alice"),
            targets: &["SRV03"],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\winrs.exe", "OriginalFileName" = "winrs.exe", "CommandLine" = "winrs /r:SRV03 ipconfig", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"", "User" = "CORP\\alice"), Contrast::Broader("winrs /r: is a remote shell too; ESCU reads only -r: and -remote:"))),
        },
    ],
};

const WINRM_SESSION_CREATED: Rule = Rule {
    id: "winrm_session_created",
    alert_type: "WinRM_SessionCreated",
    description:
        "The WinRM service created a shell for a remote client (WinRM/Operational 91 or 168)",
    mitre: "T1021.006",
    side: Side::Destination,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 30,
    confidence: 50,
    basis: Basis::Own("WinRM/Operational: no ESCU detection or Sigma rule reads the channel (detections.md §1.3, §2); scored as Sigma low"),
    message: "WinRM shell created on $risk_object$",
    when: Match::Custom(Custom {
        classes: &[Class::WinRm],
        needles: &[],
        needs_keyword: false,
        f: m_session_created,
    }),
    positives: &[
        pos!(ex!(WINRM, "91", "resourceUri" = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"), detail: "PowerShell/plugin shell http://schemas.microsoft.com/powershell/Microsoft.PowerShell"),
        pos!(ex!(WINRM, "91", "ErrorCode" = "15005", "EventPayload" = "68007400740070003A002F002F0000000000"), detail: "PowerShell/plugin shell http://"),
        pos!(ex!(WINRM, "168")),
    ],
    negatives: &[
        ex!(WINRM, "6", "connection" = "SRV03/wsman"),
        ex!(SYSMON, "91"),
    ],
    public: &[],
};

fn m_session_created(c: &Ctx<'_>) -> Option<Hit> {
    if !matches!(c.kind, Kind::WinRm(91 | 168)) {
        return None;
    }
    let (uri, user, ip) = resource_uri(c);
    let mut threats = Vec::new();
    if let Some(ip) = ip.clone() {
        threats.push((ip, "ip_address"));
    }
    // A `cmd` shell is winrs; the PowerShell plugin is PowerShell remoting.
    let technique = uri.as_deref().and_then(|u| {
        if u.contains("/windows/shell/cmd") {
            Some(Technique::Winrs)
        } else {
            u.contains("/powershell/").then_some(Technique::PsRemoting)
        }
    });
    let mut detail = uri.map(|u| {
        let shell = if technique == Some(Technique::Winrs) {
            "winrs cmd shell"
        } else {
            "PowerShell/plugin shell"
        };
        format!("{shell} {u}")
    });
    if let (Some(user), Some(ip)) = (user, ip) {
        detail = Some(format!(
            "{}; client {user} from {ip}",
            detail.unwrap_or_default()
        ));
    }
    Some(Hit {
        targets: Vec::new(),
        detail,
        threats,
        technique,
    })
}

const WINRM_SESSION_INITIATED: Rule = Rule {
    id: "winrm_session_initiated",
    alert_type: "WinRM_SessionInitiated",
    description: "WSMan client opened a session to a remote host (WinRM/Operational 6)",
    mitre: "T1021.006",
    side: Side::Source,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 30,
    confidence: 50,
    basis: Basis::Own("WinRM/Operational: no ESCU detection or Sigma rule reads the channel (detections.md §1.3, §2); scored as Sigma low"),
    message: "WinRM session from $risk_object$ to $target_host$",
    when: Match::Custom(Custom {
        classes: &[Class::WinRm],
        needles: &[],
        needs_keyword: false,
        f: m_session_initiated,
    }),
    positives: &[
        pos!(ex!(WINRM, "6", "connection" = "SRV03.corp.example/wsman?PSVersion=5.1.19041.4291"), targets: ["SRV03.corp.example"], threats: [("SRV03.corp.example", "system")], detail: "connection SRV03.corp.example/wsman?PSVersion=5.1.19041.4291"),
        pos!(ex!(WINRM, "6", "connection" = "https://10.0.1.33:5986/wsman"), targets: ["10.0.1.33"], threats: [("10.0.1.33", "system")], detail: "connection https://10.0.1.33:5986/wsman"),
    ],
    negatives: &[
        ex!(
            WINRM,
            "6",
            "connection" = "localhost:47001/WSMan?MSP=6a83d074;PSVersion=5.1"
        ),
        ex!(WINRM, "6", "connection" = "[::1]:5985/wsman"),
        ex!(WINRM, "91", "connection" = "SRV03/wsman"),
    ],
    public: &[],
};

fn m_session_initiated(c: &Ctx<'_>) -> Option<Hit> {
    let target = connection_target(c).filter(|t| !is_loopback(t))?;
    let connection = c.get(F::Connection);
    if connection.as_deref().is_some_and(is_subscription_manager) {
        return None;
    }
    // A client session that carries a PowerShell version is PowerShell remoting.
    let technique = connection
        .as_deref()
        .is_some_and(|s| s.contains("PSVersion="))
        .then_some(Technique::PsRemoting);
    (c.kind == Kind::WinRm(6)).then(|| Hit {
        detail: connection.map(|s| format!("connection {s}")),
        threats: vec![(target.clone(), "system")],
        targets: vec![target],
        technique,
    })
}

const WINRM_SESSION_FAILED: Rule = Rule {
    id: "winrm_session_failed",
    alert_type: "WinRM_SessionFailed",
    description: "WinRM client failure: bad credentials (162) or shell creation failed (12)",
    mitre: "T1021.006",
    side: Side::Source,
    technique: None,
    outcome: Outcome::Failed,
    artefact: Artefact::Execution,
    impact: 30,
    confidence: 50,
    basis: Basis::Own("WinRM/Operational: no ESCU detection or Sigma rule reads the channel (detections.md §1.3, §2); scored as Sigma low"),
    message: "Failed WinRM session from $risk_object$",
    when: Match::Custom(Custom {
        classes: &[Class::WinRm],
        needles: &[],
        needs_keyword: false,
        f: m_session_failed,
    }),
    positives: &[
        pos!(ex!(WINRM, "162"), detail: "authentication failed: the credentials did not work"),
        pos!(ex!(WINRM, "12", "errorCode" = "2150858980"), detail: "shell creation failed, error code 2150858980 (not Kerberos/HTTPS and target not in TrustedHosts)"),
    ],
    negatives: &[
        ex!(WINRM, "6", "connection" = "SRV03/wsman"),
        ex!(SECURITY, "162"),
    ],
    public: &[],
};

fn m_session_failed(c: &Ctx<'_>) -> Option<Hit> {
    let detail = match c.kind {
        Kind::WinRm(162) => "authentication failed: the credentials did not work".to_string(),
        Kind::WinRm(12) => {
            let code = c.get(F::WinrmErrorCode).unwrap_or_default();
            let why = if code.trim() == "2150858980" {
                " (not Kerberos/HTTPS and target not in TrustedHosts)"
            } else {
                ""
            };
            format!("shell creation failed, error code {code}{why}")
        }
        _ => return None,
    };
    Some(Hit {
        detail: Some(detail),
        ..Hit::default()
    })
}

const WINRM_SESSION_CONTEXT: Rule = Rule {
    id: "winrm_session_context",
    alert_type: "WinRM_SessionContext",
    description: "WinRM session lifecycle or context event (no alert on its own)",
    mitre: "T1021.006",
    side: Side::Source,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 0,
    confidence: 0,
    basis: Basis::Own("context: never risk on its own"),
    message: "WinRM session activity on $risk_object$",
    when: Match::Custom(Custom {
        classes: &[Class::WinRm],
        needles: &[],
        needs_keyword: false,
        f: m_session_context,
    }),
    positives: &[
        pos!(ex!(WINRM, "2")),
        pos!(ex!(WINRM, "31")),
        pos!(ex!(WINRM, "80", "operationName" = "DeleteShell", "url" = "SRV03.corp.example", "port" = "5985"), targets: ["SRV03.corp.example"], detail: "DeleteShell request to SRV03.corp.example:5985"),
        pos!(ex!(WINRM, "166", "auth" = "Kerberos"), detail: "authentication mechanism Kerberos"),
        pos!(ex!(WINRM, "6", "connection" = "localhost:47001/WSMan?MSP=1;PSVersion=5.1"), targets: ["localhost"], detail: "local WSMan session (not lateral movement)"),
    ],
    negatives: &[
        ex!(WINRM, "6", "connection" = "SRV03/wsman"),
        ex!(WINRM, "91"),
        ex!(WINRM, "169"),
        ex!(WINRM, "9999"),
    ],
    public: &[],
};

fn m_session_context(c: &Ctx<'_>) -> Option<Hit> {
    let Kind::WinRm(code) = c.kind else {
        return None;
    };
    let (targets, detail) = match code {
        6 => {
            let t = connection_target(c).filter(|t| is_loopback(t))?;
            (
                vec![t],
                Some("local WSMan session (not lateral movement)".to_string()),
            )
        }
        80 => {
            let url = c.get(F::Url).unwrap_or_default();
            let port = c.get(F::Port).unwrap_or_default();
            let op = c.get(F::OperationName).unwrap_or_default();
            (
                parse_connection(&url).into_iter().collect(),
                Some(format!("{op} request to {url}:{port}")),
            )
        }
        166 => (
            vec![],
            c.get(F::Auth)
                .map(|a| format!("authentication mechanism {a}")),
        ),
        142 => (
            vec![],
            Some(format!(
                "operation {} failed, error code {}",
                c.get(F::OperationName).unwrap_or_default(),
                c.get(F::WinrmErrorCode).unwrap_or_default()
            )),
        ),
        11 => (
            vec![],
            c.get(F::ResourceUri).map(|u| format!("client shell {u}")),
        ),
        2 | 4 | 8 | 15 | 16 | 30 | 31 | 33 | 161 => (vec![], None),
        _ => return None,
    };
    Some(Hit {
        targets,
        detail,
        threats: Vec::new(),
        technique: None,
    })
}

const WINRM_SERVER_CONTEXT: Rule = Rule {
    id: "winrm_server_context",
    alert_type: "WinRM_SessionContext",
    description: "WinRM service authenticated or authorised a remote user (169/193; context)",
    mitre: "T1021.006",
    side: Side::Destination,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 0,
    confidence: 0,
    basis: Basis::Own("context: never risk on its own"),
    message: "WinRM service activity on $risk_object$",
    when: Match::Custom(Custom {
        classes: &[Class::WinRm],
        needles: &[],
        needs_keyword: false,
        f: m_server_context,
    }),
    positives: &[
        pos!(ex!(WINRM, "169", "username" = "CORP\\alice", "authenticationMechanism" = "Kerberos"), detail: "user CORP\\alice authenticated with Kerberos"),
        pos!(ex!(WINRM, "193")),
    ],
    negatives: &[
        ex!(WINRM, "6", "connection" = "SRV03/wsman"),
        ex!(WINRM, "2"),
    ],
    public: &[],
};

fn m_server_context(c: &Ctx<'_>) -> Option<Hit> {
    let detail = match c.kind {
        Kind::WinRm(169) => Some(format!(
            "user {} authenticated with {}",
            c.get(F::Username).unwrap_or_default(),
            c.get(F::AuthMechanism).unwrap_or_default()
        )),
        Kind::WinRm(193) => None,
        _ => return None,
    };
    Some(Hit {
        detail,
        ..Hit::default()
    })
}

const WINRM_NETWORK_CONNECTION: Rule = Rule {
    id: "winrm_network_connection",
    alert_type: "WinRM_NetworkConnection",
    description: "Outbound connection to a WinRM port (5985/5986) of another host",
    mitre: "T1021.006",
    side: Side::Source,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Connection,
    impact: 70,
    confidence: 70,
    basis: Basis::Sigma("c539afac", Level::High),
    message: "$risk_object$ connected to WinRM on $target_host$",
    when: Match::Custom(Custom {
        classes: &[Class::Network],
        needles: &[],
        needs_keyword: false,
        f: m_network_outbound,
    }),
    positives: &[
        pos!(ex!(SYSMON, "3", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "Initiated" = "true", "DestinationIp" = "172.18.39.6", "DestinationPort" = "5985"), targets: ["172.18.39.6"], threats: [("172.18.39.6", "ip_address"), ("powershell.exe", "process_name")]),
        pos!(ex!(SECURITY, "5156", "Application" = "\\device\\harddiskvolume2\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe", "Direction" = "%%14593", "DestAddress" = "10.0.1.33", "DestPort" = "5986"), targets: ["10.0.1.33"], threats: [("10.0.1.33", "ip_address"), ("powershell.exe", "process_name")]),
    ],
    negatives: &[
        ex!(
            SYSMON,
            "3",
            "Image" = "C:\\x\\rogue.exe",
            "Initiated" = "true",
            "DestinationIp" = "127.0.0.1",
            "DestinationPort" = "5985"
        ),
        ex!(
            SYSMON,
            "3",
            "Image" = "C:\\x\\a.exe",
            "Initiated" = "true",
            "DestinationIp" = "10.0.0.1",
            "DestinationPort" = "443"
        ),
        ex!(
            SYSMON,
            "3",
            "Image" = "System",
            "Initiated" = "false",
            "SourceIp" = "172.18.39.5",
            "DestinationIp" = "172.18.39.6",
            "DestinationPort" = "5985"
        ),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("c539afac"),
            built: Built::Regression { path: "regression_data/rules/windows/network_connection/net_connection_win_susp_remote_powershell_session/c539afac-c12a-46ed-b1bd-5a5567c9f045.json", commit: "8c5334ba59468ca967d03f7ac897f7962ef539ef" },
            event: ex!(SYSMON, "3", "RuleName" = "technique_id=T1059.001,technique_name=PowerShell", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "User" = "SigmaCatchVm\\frack113", "Protocol" = "tcp", "Initiated" = "true", "SourceIsIpv6" = "false", "SourceIp" = "192.168.122.157", "SourceHostname" = "-", "SourcePort" = "62822", "SourcePortName" = "-", "DestinationIsIpv6" = "false", "DestinationIp" = "192.168.122.157", "DestinationHostname" = "-", "DestinationPort" = "5985", "DestinationPortName" = "-"),
            targets: &["192.168.122.157"],
            contrast: Some((ex!(SYSMON, "3", "Image" = "C:\\Windows\\System32\\svchost.exe", "User" = "NT AUTHORITY\\NETWORK SERVICE", "Protocol" = "tcp", "Initiated" = "true", "SourceIsIpv6" = "false", "SourceIp" = "10.0.1.21", "SourceHostname" = "WKS01.corp.example", "SourcePort" = "49822", "DestinationIsIpv6" = "false", "DestinationIp" = "10.0.1.40", "DestinationHostname" = "wec01.corp.example", "DestinationPort" = "5985"), Contrast::Filtered)),
        },
    ],
};

fn m_network_outbound(c: &Ctx<'_>) -> Option<Hit> {
    if c.kind != Kind::NetworkConnection || !winrm_port(c) || outbound(c) != Some(true) {
        return None;
    }
    if is_event_forwarder(c) {
        return None;
    }
    let target = c
        .get(F::DestHostname)
        .or_else(|| c.get(F::DestIp))
        .filter(|t| !is_loopback(t))?;
    let ip = c.get(F::DestIp).filter(|t| !is_loopback(t))?;
    let app = c
        .get(F::Image)
        .or_else(|| c.get(F::Application))
        .map(|p| basename(&p).to_ascii_lowercase());
    let mut threats = vec![(ip.into_owned(), "ip_address")];
    threats.extend(app.map(|a| (a, "process_name")));
    Some(Hit {
        targets: vec![target.into_owned()],
        detail: None,
        threats,
        technique: None,
    })
}

const WINRM_INBOUND_CONNECTION: Rule = Rule {
    id: "winrm_inbound_connection",
    alert_type: "WinRM_InboundConnection",
    description: "Inbound connection from another host to this host's WinRM port",
    mitre: "T1021.006",
    side: Side::Destination,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Connection,
    // Corroboration only: an event collector accepts these from every
    // forwarding host all day, and the WinRM service (`System`) accepts
    // them whoever the client is.
    impact: 30,
    confidence: 0,
    basis: Basis::Own("corroboration only: inbound 5985/5986 is what every event collector and managed server receives (detections.md §4, 2026-12 correction)"),
    message: "$risk_object$ accepted a WinRM connection from $threat_object$",
    when: Match::Custom(Custom {
        classes: &[Class::Network],
        needles: &[],
        needs_keyword: false,
        f: m_network_inbound,
    }),
    positives: &[
        pos!(ex!(SYSMON, "3", "Image" = "System", "Initiated" = "false", "SourceIp" = "172.18.39.5", "DestinationIp" = "172.18.39.6", "DestinationPort" = "5985"), threats: [("172.18.39.5", "ip_address")], detail: "from 172.18.39.5"),
    ],
    negatives: &[ex!(
        SYSMON,
        "3",
        "Image" = "System",
        "Initiated" = "false",
        "SourceIp" = "127.0.0.1",
        "DestinationIp" = "127.0.0.1",
        "DestinationPort" = "5985"
    )],
    public: &[
        FromPublic {
            origin: Origin::Sigma("13acf386"),
            built: Built::Definition,
            event: ex!(SECURITY, "5156", "ProcessId" = "4", "Application" = "System", "Direction" = "%%14592", "SourceAddress" = "172.18.39.5", "SourcePort" = "59770", "DestAddress" = "172.18.39.6", "DestPort" = "5985", "Protocol" = "6", "FilterRTID" = "79935", "LayerName" = "%%14610", "LayerRTID" = "44", "RemoteUserID" = "S-1-0-0", "RemoteMachineID" = "S-1-0-0"),
            targets: &[],
            contrast: Some((ex!(SECURITY, "5156", "ProcessId" = "6404", "Application" = "\\device\\harddiskvolume2\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe", "Direction" = "%%14593", "SourceAddress" = "172.18.39.5", "SourcePort" = "59770", "DestAddress" = "172.18.39.6", "DestPort" = "5985", "Protocol" = "6", "FilterRTID" = "73106", "LayerName" = "%%14611", "LayerRTID" = "48", "RemoteUserID" = "S-1-0-0", "RemoteMachineID" = "S-1-0-0"), Contrast::Filtered)),
        },
    ],
};

fn m_network_inbound(c: &Ctx<'_>) -> Option<Hit> {
    if c.kind != Kind::NetworkConnection || !winrm_port(c) || outbound(c) != Some(false) {
        return None;
    }
    let src = c.get(F::SrcIp).filter(|s| !is_loopback(s))?;
    Some(Hit {
        detail: Some(format!("from {src}")),
        threats: vec![(src.into_owned(), "ip_address")],
        ..Hit::default()
    })
}

/// Windows Event Forwarding, recognised by what only it does: the
/// forwarder's `svchost.exe` (the Windows Remote Management service, as
/// NETWORK SERVICE) connects to the collector's WinRM port, and its WSMan
/// client sessions go to the `/wsman/SubscriptionManager/` resource of
/// the subscription URL (`Server=http://<collector>:5985/wsman/SubscriptionManager/WEC`,
/// Microsoft Learn, "Use Windows Event Forwarding to help with intrusion
/// detection"). In a collector-initiated subscription the collector's
/// `svchost.exe` (Wecsvc) connects to the sources the same way. Security
/// 5156 carries no user, so the process is the key, not NETWORK SERVICE.
const WINRM_EVENT_FORWARDING: Rule = Rule {
    id: "winrm_event_forwarding",
    alert_type: "WinRM_EventForwarding",
    description: "Windows Event Forwarding over WinRM (svchost.exe to a collector, SubscriptionManager sessions): infrastructure, not lateral movement",
    mitre: "T1021.006",
    side: Side::Local,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 0,
    confidence: 0,
    basis: Basis::Own("context: never risk on its own"),
    message: "$risk_object$ forwarded events over WinRM",
    when: Match::Custom(Custom {
        classes: &[Class::Network, Class::WinRm],
        needles: &[],
        needs_keyword: false,
        f: m_event_forwarding,
    }),
    positives: &[
        pos!(ex!(SECURITY, "5156", "Application" = "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe", "Direction" = "%%14593", "SourceAddress" = "172.18.39.5", "DestAddress" = "172.18.38.6", "DestPort" = "5985"), detail: "to 172.18.38.6"),
        pos!(ex!(SYSMON, "3", "Image" = "C:\\Windows\\System32\\svchost.exe", "User" = "NT AUTHORITY\\NETWORK SERVICE", "Initiated" = "true", "DestinationIp" = "172.18.38.6", "DestinationPort" = "5985"), detail: "to 172.18.38.6"),
        pos!(ex!(WINRM, "6", "connection" = "wec01.corp.example/wsman/SubscriptionManager/WEC"), detail: "to wec01.corp.example"),
    ],
    negatives: &[
        ex!(SYSMON, "3", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "Initiated" = "true", "DestinationIp" = "172.18.39.6", "DestinationPort" = "5985"),
        ex!(SYSMON, "3", "Image" = "C:\\Windows\\System32\\svchost.exe", "Initiated" = "true", "DestinationIp" = "172.18.38.5", "DestinationPort" = "135"),
        ex!(WINRM, "6", "connection" = "SRV03/wsman?PSVersion=5.1"),
    ],
    public: &[],
};

fn m_event_forwarding(c: &Ctx<'_>) -> Option<Hit> {
    let to = match c.kind {
        Kind::NetworkConnection
            if winrm_port(c) && outbound(c) == Some(true) && is_event_forwarder(c) =>
        {
            c.get(F::DestHostname)
                .or_else(|| c.get(F::DestIp))?
                .into_owned()
        }
        Kind::WinRm(6)
            if c.get(F::Connection)
                .as_deref()
                .is_some_and(is_subscription_manager) =>
        {
            connection_target(c)?
        }
        _ => return None,
    };
    (!is_loopback(&to)).then(|| Hit {
        detail: Some(format!("to {to}")),
        ..Hit::default()
    })
}

/// The connecting process is the WinRM service's `svchost.exe` (Sysmon
/// `Image`, 5156 `Application`) or runs as NETWORK SERVICE.
fn is_event_forwarder(c: &Ctx<'_>) -> bool {
    let user = c.get(F::User).unwrap_or_default().to_ascii_lowercase();
    let app = c.get(F::Image).or_else(|| c.get(F::Application));
    user.contains("network service")
        || app.is_some_and(|a| basename(&a).eq_ignore_ascii_case("svchost.exe"))
}

/// A WSMan connection string to an event collector's subscription manager.
fn is_subscription_manager(connection: &str) -> bool {
    connection
        .to_ascii_lowercase()
        .contains("/wsman/subscriptionmanager")
}

const LM_EXPLICIT_CREDENTIALS: Rule = Rule {
    id: "lm_explicit_credentials",
    alert_type: "LM_ExplicitCredentials",
    // (The alert_description of every matching event: the WinRM-SPN case
    // is in the README's rule table.)
    description: "Explicit-credential logon (4648) by a remoting tool to a named server",
    mitre: "T1021.006",
    side: Side::Source,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Logon,
    impact: 60,
    confidence: 60,
    basis: Basis::Sigma("941e5c45", Level::Medium),
    message: "Explicit credentials used from $risk_object$ to $target_host$ by $threat_object$",
    when: Match::Custom(Custom {
        classes: &[Class::ExplicitLogon],
        needles: &[],
        needs_keyword: false,
        f: m_explicit_credentials,
    }),
    positives: &[
        pos!(ex!(SECURITY, "4648", "ProcessName" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "TargetServerName" = "WIN-77LTAPHIQ1R", "TargetInfo" = "RPCSS/WIN-77LTAPHIQ1R"), targets: ["WIN-77LTAPHIQ1R"], threats: [("wmic.exe", "process_name")], detail: "target info RPCSS/WIN-77LTAPHIQ1R"),
        // WinRM with explicit credentials from any process: its SPN.
        pos!(ex!(SECURITY, "4648", "ProcessName" = "C:\\Users\\a\\AppData\\Local\\Temp\\agent.exe", "TargetServerName" = "srv03.corp.local", "TargetInfo" = "HTTP/srv03.corp.local"), targets: ["srv03.corp.local"], threats: [("agent.exe", "process_name")], detail: "target info HTTP/srv03.corp.local"),
        pos!(ex!(SECURITY, "4648", "ProcessName" = "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\MSBuild.exe", "TargetServerName" = "-", "TargetInfo" = "WSMAN/srv04:5985"), targets: ["srv04"], threats: [("msbuild.exe", "process_name")], detail: "target info WSMAN/srv04:5985"),
    ],
    negatives: &[
        ex!(
            SECURITY,
            "4648",
            "ProcessName" = "C:\\Windows\\System32\\lsass.exe",
            "TargetServerName" = "DC1"
        ),
        ex!(
            SECURITY,
            "4648",
            "ProcessName" = "C:\\Windows\\System32\\wbem\\WMIC.exe",
            "TargetServerName" = "localhost"
        ),
        // A browser's credentials for an intranet site.
        ex!(
            SECURITY,
            "4648",
            "ProcessName" = "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
            "TargetServerName" = "intranet.corp.local",
            "TargetInfo" = "HTTP/intranet.corp.local"
        ),
        ex!(
            SECURITY,
            "4648",
            "ProcessName" = "C:\\Users\\a\\tool.exe",
            "TargetServerName" = "localhost",
            "TargetInfo" = "HTTP/localhost"
        ),
    ],
    public: &[FromPublic {
        origin: Origin::Sigma("941e5c45"),
        built: Built::Definition,
        event: ex!(
            SECURITY,
            "4648",
            "SubjectUserSid" = "S-1-5-21-1111111111-2222222222-3333333333-1104",
            "SubjectUserName" = "alice",
            "SubjectDomainName" = "CORP",
            "SubjectLogonId" = "0x3a2f1c",
            "TargetUserName" = "admin",
            "TargetDomainName" = "CORP",
            "TargetServerName" = "srv03.corp.example",
            "TargetInfo" = "HTTP/srv03.corp.example",
            "ProcessId" = "0x1a2c",
            "ProcessName" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "IpAddress" = "-",
            "IpPort" = "-"
        ),
        targets: &["srv03.corp.example"],
        contrast: Some((
            ex!(
                SECURITY,
                "4648",
                "SubjectUserSid" = "S-1-5-18",
                "SubjectUserName" = "WKS01$",
                "SubjectDomainName" = "CORP",
                "SubjectLogonId" = "0x3e7",
                "TargetUserName" = "SRV03$",
                "TargetDomainName" = "CORP",
                "TargetServerName" = "srv03.corp.example",
                "TargetInfo" = "HTTP/srv03.corp.example",
                "ProcessId" = "0x1a2c",
                "ProcessName" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                "IpAddress" = "-",
                "IpPort" = "-"
            ),
            Contrast::Filtered,
        )),
    }],
};

fn m_explicit_credentials(c: &Ctx<'_>) -> Option<Hit> {
    if c.kind != Kind::ExplicitLogon {
        return None;
    }
    // One machine account to another is the machines' own business
    // (Sigma 941e5c45's filter).
    let machine = |f: F| c.get(f).is_some_and(|u| u.ends_with('$'));
    if machine(F::SubjectUserName) && machine(F::TargetUserName) {
        return None;
    }
    let process = basename(&c.get(F::ProcessName)?).to_ascii_lowercase();
    // The clients of the lateral-movement techniques: WinRM, WMI, the
    // service manager, the task scheduler, Remote Desktop, and the shell,
    // `net use` and `reg` that Sigma 941e5c45 adds.
    let tools = [
        "cmd.exe",
        "net.exe",
        "net1.exe",
        "reg.exe",
        "powershell.exe",
        "pwsh.exe",
        "winrs.exe",
        "wmic.exe",
        "wsmprovhost.exe",
        "sc.exe",
        "schtasks.exe",
        "psexec.exe",
        "psexec64.exe",
        "paexec.exe",
        "mstsc.exe",
    ];
    let info = c.get(F::TargetInfo);
    // WinRM's own service classes: whatever process asked (an implant, a
    // C# tool), explicit credentials for them are WinRM to that host. A
    // browser's HTTP/ logons to an intranet site are not.
    let winrm = info.as_deref().is_some_and(is_winrm_spn) && !BROWSERS.contains(&process.as_str());
    let target = c
        .get(F::TargetServerName)
        .filter(|t| !is_loopback(t) && t != "-")
        .map(Cow::into_owned)
        .or_else(|| info.as_deref().and_then(spn_host))?;
    (winrm || tools.contains(&process.as_str())).then(|| Hit {
        detail: info.map(|i| format!("target info {i}")),
        // Explicit credentials used by wmic are WMI; for WinRM's SPNs, WinRM.
        technique: if process == "wmic.exe" {
            Some(Technique::Wmi)
        } else {
            winrm.then_some(Technique::WinRm)
        },
        threats: vec![(process.clone(), "process_name")],
        targets: vec![target],
    })
}

/// Web browsers, whose explicit-credential logons to `HTTP/` services are
/// web sites.
const BROWSERS: &[&str] = &[
    "msedge.exe",
    "chrome.exe",
    "firefox.exe",
    "iexplore.exe",
    "opera.exe",
    "brave.exe",
];

/// Whether a 4648 `TargetInfo` names a WinRM service: `HTTP/host` (the SPN
/// Kerberos uses for WinRM) or `WSMAN/host`.
fn is_winrm_spn(info: &str) -> bool {
    let class = info.split('/').next().unwrap_or("");
    (class.eq_ignore_ascii_case("http") || class.eq_ignore_ascii_case("wsman"))
        && info.contains('/')
}

/// The host of an SPN `class/host[:port][/name][@REALM]`, if not a loopback.
fn spn_host(info: &str) -> Option<String> {
    let host = info.split('/').nth(1)?.split(['@', ':']).next()?;
    (!host.is_empty() && !is_loopback(host)).then(|| host.to_string())
}

const WINRM_HOST_PROCESS: Rule = Rule {
    id: "winrm_host_process",
    alert_type: "WinRM_HostProcess",
    description: "The WinRM plugin host wsmprovhost.exe started (a remoting session begins)",
    mitre: "T1021.006",
    side: Side::Destination,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 60,
    confidence: 60,
    basis: Basis::Sigma("734f8d9b", Level::Medium),
    message: "WinRM session host started on $risk_object$",
    when: Match::When(Cond {
        kinds: &[Kind::ProcessCreate],
        image: &["wsmprovhost.exe"],
        yields: Yield::ProcessThreats,
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wsmprovhost.exe", "ParentImage" = "C:\\Windows\\System32\\svchost.exe"), threats: [("wsmprovhost.exe", "process_name"), ("svchost.exe", "parent_process_name")]),
    ],
    negatives: &[ex!(
        SYSMON,
        "1",
        "Image" = "C:\\Windows\\System32\\svchost.exe",
        "ParentImage" = "C:\\Windows\\System32\\services.exe"
    )],
    public: &[],
};

const WINRM_REMOTESHELL_CHILD: Rule = Rule {
    id: "winrm_remoteshell_child",
    alert_type: "WinRM_RemoteShell_Child",
    description: "winrshost.exe started a process: command run through winrs",
    mitre: "T1021.006",
    side: Side::Destination,
    technique: Some(Technique::Winrs),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 60,
    confidence: 60,
    basis: Basis::Sigma("79df3f68", Level::Medium),
    message: "winrshost.exe on $risk_object$ spawned $process_name$ (winrs remote shell)",
    when: Match::When(Cond {
        kinds: &[Kind::ProcessCreate],
        parent: &["winrshost.exe"],
        image_not: &[&["conhost.exe"]],
        needs_image: true,
        yields: Yield::ProcessThreats,
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\System32\\winrshost.exe", "Image" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "cmd.exe /C ipconfig"), threats: [("cmd.exe", "process_name"), ("winrshost.exe", "parent_process_name")]),
    ],
    negatives: &[ex!(
        SYSMON,
        "1",
        "ParentImage" = "C:\\Windows\\System32\\winrshost.exe",
        "Image" = "C:\\Windows\\System32\\conhost.exe"
    )],
    public: &[
        FromPublic {
            origin: Origin::Sigma("79df3f68"),
            built: Built::Regression { path: "regression_data/rules/windows/process_creation/proc_creation_win_winrshost_command_execution/79df3f68-dccb-48e9-9171-b75cbc37c51d.json", commit: "1fbf3606d10a447e34070c6aafc855af32715681" },
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "C:\\WINDOWS\\system32\\cmd.exe /C powershell.exe -NoProfile -EncodedCommand JABFAHIAcgBvAHIAQQBjAHQAaQBvAG4AUAByAGUAZgBlAHIAZQBuAGMAZQAgAD0AIAAnAEMAbwBuAHQAaQBuAHUAZQAnAA0ACgBTAGUAdAAtAEUAeABlAGMAdQB0AGkAbwBuAFAAbwBsAGkAYwB5ACAAQgB5AHAAYQBzAHMAIAAtAFMAYwBvAHAAZQAgAEMAdQByAHIAZQBuAHQAVQBzAGUAcgAgAC0ARgBvAHIAYwBlACAALQBFAHIAcgBvAHIAQQBjAHQAaQBvAG4AIABTAGkAbABlAG4AdABsAHkAQwBvAG4AdABpAG4AdQBlAA0ACgAmACAAJwBDADoAXABzAGkAZwBtAGEAYwBhAHQAYwBoAFwAdwBpAG4AXwByAGUAYQBkAHkAXwBjAGgAZQBjAGsALgBwAHMAMQAnACAA", "CurrentDirectory" = "C:\\Users\\frack113\\", "User" = "SigmaCatchVm\\frack113", "LogonId" = "0x214f797", "IntegrityLevel" = "High", "ParentImage" = "C:\\Windows\\System32\\winrshost.exe", "ParentCommandLine" = "C:\\WINDOWS\\system32\\WinrsHost.exe -Embedding", "ParentUser" = "SigmaCatchVm\\frack113"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\conhost.exe", "OriginalFileName" = "CONHOST.EXE", "CommandLine" = "\\??\\C:\\WINDOWS\\system32\\conhost.exe 0xffffffff -ForceV1", "ParentImage" = "C:\\Windows\\System32\\winrshost.exe", "ParentCommandLine" = "C:\\WINDOWS\\system32\\WinrsHost.exe -Embedding", "User" = "SigmaCatchVm\\frack113"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("A3"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "C:\\Windows\\system32\\cmd.exe /C ipconfig", "ParentImage" = "C:\\Windows\\System32\\winrshost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\WinrsHost.exe -Embedding", "User" = "CORP\\alice", "LogonId" = "0x12fe05"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\conhost.exe", "OriginalFileName" = "CONHOST.EXE", "CommandLine" = "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1", "ParentImage" = "C:\\Windows\\System32\\winrshost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\WinrsHost.exe -Embedding", "User" = "CORP\\alice"), Contrast::Filtered)),
        },
    ],
};

const PS_REMOTE_SESSION_400: Rule = Rule {
    id: "ps_remote_session_400",
    alert_type: "PS_RemoteSession",
    description: "PowerShell engine started for a remote session (Windows PowerShell 400, HostName=ServerRemoteHost)",
    mitre: "T1021.006",
    side: Side::Destination,
    technique: Some(Technique::PsRemoting),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 30,
    confidence: 50,
    basis: Basis::Sigma("60167e5c", Level::Low),
    message: "Remote PowerShell session hosted on $risk_object$",
    when: Match::When(Cond {
        kinds: &[Kind::PsClassic(400)],
        context_all: &["hostname=serverremotehost", "wsmprovhost.exe"],
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(WINPS, "400", "HostName" = "ServerRemoteHost", "HostApplication" = "C:\\Windows\\system32\\wsmprovhost.exe -Embedding")),
        pos!(ex!("WinEventLog:Windows PowerShell", "400", "Message" = "Engine state is changed from None to Available.\n\tHostName=ServerRemoteHost\n\tHostApplication=C:\\Windows\\system32\\wsmprovhost.exe -Embedding")),
    ],
    negatives: &[ex!(WINPS, "400", "HostName" = "ConsoleHost", "HostApplication" = "powershell.exe")],
    public: &[
        FromPublic {
            origin: Origin::Sigma("60167e5c"),
            built: Built::Definition,
            event: ex!(WINPS, "400", "Data" = "NewEngineState=Available\r\n\tPreviousEngineState=None\r\n\r\n\tSequenceNumber=13\r\n\r\n\tHostName=ServerRemoteHost\r\n\tHostVersion=1.0.0.0\r\n\tHostId=6cd3b0e8-4a5d-4c3b-9d2a-1f1e2c3d4b5a\r\n\tHostApplication=C:\\Windows\\system32\\wsmprovhost.exe -Embedding\r\n\tEngineVersion=5.1.17763.1\r\n\tRunspaceId=2b7e1c90-3f1a-4d8e-9a55-0c6f1e2d3a4b\r\n\tPipelineId=\r\n\tCommandName=\r\n\tCommandType=\r\n\tScriptName=\r\n\tCommandPath=\r\n\tCommandLine="),
            targets: &[],
            contrast: Some((ex!(WINPS, "400", "Data" = "NewEngineState=Available\r\n\tPreviousEngineState=None\r\n\r\n\tSequenceNumber=13\r\n\r\n\tHostName=ConsoleHost\r\n\tHostVersion=5.1.17763.1\r\n\tHostId=9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d\r\n\tHostApplication=C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\r\n\tEngineVersion=5.1.17763.1\r\n\tRunspaceId=3c8f2d01-4a2b-4e9f-8b66-1d7a2f3e4b5c\r\n\tPipelineId=\r\n\tCommandName=\r\n\tCommandType=\r\n\tScriptName=\r\n\tCommandPath=\r\n\tCommandLine="), Contrast::Filtered)),
        },
    ],
};

const WINRM_EVILWINRM_SESSION: Rule = Rule {
    id: "winrm_evilwinrm_session",
    alert_type: "WinRM_EvilWinRM",
    description: "Evil-WinRM's own functions run in a remote session (4103 in wsmprovhost.exe: (get-location).path, Invoke-Binary, Donut-Loader, Bypass-4MSI, its service listing)",
    mitre: "T1021.006",
    side: Side::Destination,
    technique: Some(Technique::PsRemoting),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 70,
    confidence: 70,
    basis: Basis::Sigma("9fe55ea2", Level::High),
    message: "Evil-WinRM session on $risk_object$",
    when: Match::When(Cond {
        kinds: &[Kind::PsModule],
        context_all: &["wsmprovhost.exe"],
        text_any: &[
            "(get-location).path",
            "invoke-binary ",
            "donut-loader ",
            "bypass-4msi",
            "$servicios = get-itemproperty",
        ],
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(PSOP, "4103", "ContextInfo" = "        Host Name = ServerRemoteHost\r\n        Host Application = C:\\Windows\\system32\\wsmprovhost.exe -Embedding\r\n", "Payload" = "CommandInvocation(Bypass-4MSI): \"Bypass-4MSI\"\r\n")),
    ],
    negatives: &[
        // The same function in a local console is not a remote session.
        ex!(PSOP, "4103", "ContextInfo" = "        Host Name = ConsoleHost\r\n        Host Application = C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\r\n", "Payload" = "CommandInvocation(Bypass-4MSI): \"Bypass-4MSI\"\r\n"),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("9fe55ea2"),
            built: Built::Definition,
            event: ex!(PSOP, "4103", "ContextInfo" = "        Severity = Informational\r\n        Host Name = ServerRemoteHost\r\n        Host Version = 1.0.0.0\r\n        Host ID = 6cd3b0e8-4a5d-4c3b-9d2a-1f1e2c3d4b5a\r\n        Host Application = C:\\Windows\\system32\\wsmprovhost.exe -Embedding\r\n        Engine Version = 5.1.17763.1\r\n        Runspace ID = 2b7e1c90-3f1a-4d8e-9a55-0c6f1e2d3a4b\r\n        Pipeline ID = 7\r\n        Command Name = Invoke-Expression\r\n        Command Type = Cmdlet\r\n        Script Name = \r\n        Command Path = \r\n        Sequence Number = 21\r\n        User = CORP\\alice\r\n        Connected User = \r\n        Shell ID = Microsoft.PowerShell\r\n", "Payload" = "CommandInvocation(Invoke-Expression): \"Invoke-Expression\"\r\nParameterBinding(Invoke-Expression): name=\"Command\"; value=\"(get-location).path\"\r\n"),
            targets: &[],
            contrast: Some((ex!(PSOP, "4103", "ContextInfo" = "        Severity = Informational\r\n        Host Name = ServerRemoteHost\r\n        Host Version = 1.0.0.0\r\n        Host ID = 6cd3b0e8-4a5d-4c3b-9d2a-1f1e2c3d4b5a\r\n        Host Application = C:\\Windows\\system32\\wsmprovhost.exe -Embedding\r\n        Engine Version = 5.1.17763.1\r\n        Runspace ID = 2b7e1c90-3f1a-4d8e-9a55-0c6f1e2d3a4b\r\n        Pipeline ID = 8\r\n        Command Name = Get-ChildItem\r\n        Command Type = Cmdlet\r\n        Script Name = \r\n        Command Path = \r\n        Sequence Number = 23\r\n        User = CORP\\alice\r\n        Connected User = \r\n        Shell ID = Microsoft.PowerShell\r\n", "Payload" = "CommandInvocation(Get-ChildItem): \"Get-ChildItem\"\r\nParameterBinding(Get-ChildItem): name=\"Path\"; value=\"C:\\Users\\alice\\Documents\"\r\n"), Contrast::Filtered)),
        },
    ],
};

const PS_REMOTE_SESSION_4103: Rule = Rule {
    id: "ps_remote_session_4103",
    alert_type: "PS_RemoteSession",
    description: "PowerShell module logging from a remote runspace (4103, Host Name = ServerRemoteHost in wsmprovhost.exe)",
    mitre: "T1021.006",
    side: Side::Destination,
    technique: Some(Technique::PsRemoting),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 70,
    confidence: 70,
    basis: Basis::Sigma("96b9f619", Level::High),
    message: "Remote PowerShell session ran commands on $risk_object$",
    when: Match::When(Cond {
        kinds: &[Kind::PsModule],
        context_all: &["hostname=serverremotehost", "wsmprovhost.exe"],
        ..Cond::ANY
    }),
    positives: &[pos!(ex!(PSOP, "4103", "ContextInfo" = "        Severity = Informational\n        Host Name = ServerRemoteHost\n        Host Application = C:\\Windows\\system32\\wsmprovhost.exe -Embedding\n"))],
    negatives: &[
        ex!(PSOP, "4103", "ContextInfo" = "        Host Name = ConsoleHost\n        Host Application = powershell.exe\n"),
        ex!(PSOP, "4104", "ScriptBlockText" = "HostName=ServerRemoteHost wsmprovhost.exe"),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("96b9f619"),
            built: Built::Definition,
            event: ex!(PSOP, "4103", "ContextInfo" = "        Severity = Informational\r\n        Host Name = ServerRemoteHost\r\n        Host Version = 1.0.0.0\r\n        Host ID = 6cd3b0e8-4a5d-4c3b-9d2a-1f1e2c3d4b5a\r\n        Host Application = C:\\Windows\\system32\\wsmprovhost.exe -Embedding\r\n        Engine Version = 5.1.17763.1\r\n        Runspace ID = 2b7e1c90-3f1a-4d8e-9a55-0c6f1e2d3a4b\r\n        Pipeline ID = 5\r\n        Command Name = whoami.exe\r\n        Command Type = Application\r\n        Script Name = \r\n        Command Path = C:\\Windows\\system32\\whoami.exe\r\n        Sequence Number = 17\r\n        User = CORP\\alice\r\n        Connected User = \r\n        Shell ID = Microsoft.PowerShell\r\n", "Payload" = "CommandInvocation(whoami.exe): \"whoami.exe\"\r\n"),
            targets: &[],
            contrast: Some((ex!(PSOP, "4103", "ContextInfo" = "        Severity = Informational\r\n        Host Name = ServerRemoteHost\r\n        Host Version = 1.0.0.0\r\n        Host ID = 6cd3b0e8-4a5d-4c3b-9d2a-1f1e2c3d4b5a\r\n        Host Application = C:\\Windows\\system32\\wsmprovhost.exe -Embedding\r\n        Engine Version = 5.1.17763.1\r\n        Runspace ID = 2b7e1c90-3f1a-4d8e-9a55-0c6f1e2d3a4b\r\n        Pipeline ID = 9\r\n        Command Name = Expand-Archive\r\n        Command Type = Function\r\n        Script Name = C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\Modules\\Microsoft.PowerShell.Archive\\Microsoft.PowerShell.Archive.psm1\r\n        Command Path = \r\n        Sequence Number = 31\r\n        User = CORP\\alice\r\n        Connected User = \r\n        Shell ID = Microsoft.PowerShell\r\n", "Payload" = "CommandInvocation(Expand-Archive): \"Expand-Archive\"\r\nParameterBinding(Expand-Archive): name=\"Path\"; value=\"C:\\Temp\\pkg.zip\"\r\n"), Contrast::Broader("the Archive module's 4103s are still a remote session's"))),
        },
    ],
};

const WINRM_EVILWINRM: Rule = Rule {
    id: "winrm_evilwinrm",
    alert_type: "WinRM_EvilWinRM",
    description: "Evil-WinRM client run on a Windows host",
    mitre: "T1021.006",
    side: Side::Source,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 60,
    confidence: 60,
    basis: Basis::Sigma("a197e378", Level::Medium),
    message: "Evil-WinRM run on $risk_object$ against $target_host$",
    when: Match::Custom(Custom {
        classes: &[Class::Process],
        needles: &["evil-winrm"],
        needs_keyword: false,
        f: m_evilwinrm,
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Ruby30\\bin\\ruby.exe", "CommandLine" = "ruby.exe evil-winrm.rb -i 10.0.1.33 -u admin -p x"), targets: ["10.0.1.33"], threats: [("ruby.exe", "process_name")]),
    ],
    negatives: &[ex!(
        SYSMON,
        "1",
        "Image" = "C:\\Ruby30\\bin\\ruby.exe",
        "CommandLine" = "ruby.exe -v"
    )],
    public: &[
        FromPublic {
            origin: Origin::Sigma("a197e378"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Ruby31-x64\\bin\\ruby.exe", "OriginalFileName" = "ruby.exe", "CommandLine" = "\"C:\\Ruby31-x64\\bin\\ruby.exe\" \"C:/Ruby31-x64/bin/evil-winrm\" -i 10.0.1.33 -u Administrator -p P@ssw0rd1", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "User" = "CORP\\alice"),
            targets: &["10.0.1.33"],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Ruby31-x64\\bin\\ruby.exe", "OriginalFileName" = "ruby.exe", "CommandLine" = "\"C:\\Ruby31-x64\\bin\\ruby.exe\" \"C:/Ruby31-x64/bin/evil-winrm\" -i 10.0.1.33 -u Administrator -H 8846f7eaee8fb117ad06bdd830b7586c", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "User" = "CORP\\alice"), Contrast::Broader("Evil-WinRM passing the hash (-H) is Evil-WinRM too"))),
        },
    ],
};

fn m_evilwinrm(c: &Ctx<'_>) -> Option<Hit> {
    let ruby = c.image == "ruby.exe" && {
        let cmd = c
            .get(F::CommandLine)
            .unwrap_or_default()
            .to_ascii_lowercase();
        cmd.contains(" -i ") && any(&cmd, &[" -u ", " -p ", " -h "])
    };
    (c.kind == Kind::ProcessCreate && (c.has("evil-winrm") || ruby)).then(|| Hit {
        targets: command_line_targets(&c.get(F::CommandLine).unwrap_or_default(), true),
        threats: c.process_threats(),
        detail: None,
        technique: None,
    })
}

const WINRM_LSASS_ACCESS: Rule = Rule {
    id: "winrm_lsass_access",
    alert_type: "WinRM_LSASS_Access",
    description: "wsmprovhost.exe opened LSASS (credential theft from a remoting session)",
    mitre: "T1003.001",
    side: Side::Destination,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 70,
    confidence: 70,
    basis: Basis::Sigma("aa35a627", Level::High),
    message: "wsmprovhost.exe on $risk_object$ accessed LSASS",
    when: Match::Custom(Custom {
        classes: &[Class::ProcessAccess],
        needles: &[],
        needs_keyword: false,
        f: m_lsass_access,
    }),
    positives: &[
        pos!(ex!(SYSMON, "10", "SourceImage" = "C:\\Windows\\system32\\wsmprovhost.exe", "TargetImage" = "C:\\Windows\\system32\\lsass.exe", "GrantedAccess" = "0x1010"), threats: [("wsmprovhost.exe", "process_name")], detail: "granted access 0x1010"),
    ],
    negatives: &[ex!(
        SYSMON,
        "10",
        "SourceImage" = "C:\\Windows\\system32\\wsmprovhost.exe",
        "TargetImage" = "C:\\Windows\\system32\\lsass.exe",
        "GrantedAccess" = "0x80000000"
    )],
    public: &[
        FromPublic {
            origin: Origin::Sigma("aa35a627"),
            built: Built::Definition,
            event: ex!(SYSMON, "10", "SourceProcessId" = "4512", "SourceImage" = "C:\\Windows\\system32\\wsmprovhost.exe", "TargetProcessId" = "672", "TargetImage" = "C:\\Windows\\system32\\lsass.exe", "GrantedAccess" = "0x1010", "CallTrace" = "C:\\Windows\\SYSTEM32\\ntdll.dll+9d234|C:\\Windows\\System32\\KERNELBASE.dll+2bcfe|UNKNOWN(00007FFB2A1C4E21)", "SourceUser" = "CORP\\alice", "TargetUser" = "NT AUTHORITY\\SYSTEM"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "10", "SourceProcessId" = "4512", "SourceImage" = "C:\\Windows\\system32\\wsmprovhost.exe", "TargetProcessId" = "672", "TargetImage" = "C:\\Windows\\system32\\lsass.exe", "GrantedAccess" = "0x80000000", "CallTrace" = "C:\\Windows\\SYSTEM32\\ntdll.dll+9d234|C:\\Windows\\System32\\KERNELBASE.dll+2bcfe", "SourceUser" = "CORP\\alice", "TargetUser" = "NT AUTHORITY\\SYSTEM"), Contrast::Filtered)),
        },
    ],
};

fn m_lsass_access(c: &Ctx<'_>) -> Option<Hit> {
    let src = basename(&c.get(F::SourceImage)?).to_ascii_lowercase();
    let dst = basename(&c.get(F::TargetImage)?).to_ascii_lowercase();
    let access = c
        .get(F::GrantedAccess)
        .unwrap_or_default()
        .to_ascii_lowercase();
    (c.kind == Kind::ProcessAccess
        && src == "wsmprovhost.exe"
        && dst == "lsass.exe"
        && access != "0x80000000")
        .then(|| Hit {
            detail: Some(format!("granted access {access}")),
            threats: vec![(src, "process_name")],
            ..Hit::default()
        })
}

const WINRM_ENABLEMENT: Rule = Rule {
    id: "winrm_enablement",
    alert_type: "WinRM_Enablement",
    description: "PowerShell remoting / WinRM enabled (Enable-PSRemoting, Set-WSManQuickConfig, winrm quickconfig)",
    mitre: "T1021.006",
    side: Side::Local,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 50,
    confidence: 50,
    basis: Basis::Escu("B1"),
    message: "PowerShell remoting was enabled on $Computer$",
    when: Match::AnyOf(&[
        Cond {
            kinds: &[Kind::ScriptBlock, Kind::PsModule, Kind::ProcessCreate],
            text_any: &["enable-psremoting", "set-wsmanquickconfig"],
            ..Cond::ANY
        },
        Cond {
            kinds: &[Kind::ProcessCreate],
            text_all: &["winrm"],
            text_regex: Some(&WINRM_QUICKCONFIG),
            ..Cond::ANY
        },
    ]),
    positives: &[
        pos!(ex!(PSOP, "4104", "ScriptBlockText" = "Enable-PSRemoting -Force")),
        pos!(ex!(PSOP, "4103", "Payload" = "CommandInvocation(Enable-PSRemoting): \"Enable-PSRemoting\"\r\nParameterBinding(Enable-PSRemoting): name=\"Force\"; value=\"True\"\r\n")),
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "cmd /c winrm quickconfig -q")),
    ],
    negatives: &[ex!(PSOP, "4104", "ScriptBlockText" = "Disable-PSRemoting"), ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "cmd /c winrm get winrm/config")],
    public: &[
        FromPublic {
            origin: Origin::Sigma("991a9744"),
            built: Built::Regression { path: "regression_data/rules/windows/powershell/powershell_script/posh_ps_enable_psremoting/991a9744-f2f0-44f2-bd33-9092eba17dc3.json", commit: "2198602facdcc85109ff4795d12e33281231534f" },
            event: ex!(PSOP, "4104", "ScriptBlockText" = "& {Enable-PSRemoting -Force}", "ScriptBlockId" = "d8751afa-c004-41fa-bc75-833eee636190"),
            targets: &[],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "& {Disable-PSRemoting -Force}", "ScriptBlockId" = "0b1c2d3e-4f5a-46b7-8c9d-0e1f2a3b4c5d"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("B1"),
            built: Built::Definition,
            event: ex!(PSOP, "4104", "ScriptBlockText" = "Enable-PSRemoting -Force -SkipNetworkProfileCheck"),
            targets: &[],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "Disable-PSRemoting -Force"), Contrast::Filtered)),
        },
    ],
};

const WINRM_TRUSTEDHOSTS: Rule = Rule {
    id: "winrm_trustedhosts",
    alert_type: "WinRM_TrustedHosts",
    description: "WinRM client TrustedHosts changed (allows NTLM / IP targets)",
    mitre: "T1021.006",
    side: Side::Source,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 80,
    confidence: 80,
    basis: Basis::Escu("B2"),
    message: "WinRM TrustedHosts modified on $risk_object$",
    when: Match::When(Cond {
        kinds: &[Kind::ScriptBlock, Kind::PsModule, Kind::ProcessCreate],
        text_all: &["trustedhosts"],
        text_also_any: &[
            "set-item",
            "winrm set",
            "winrm.cmd set",
            "winrm.vbs set",
            "-value",
            "-concatenate",
        ],
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(
            PSOP,
            "4104",
            "ScriptBlockText" =
                "Set-Item WSMan:\\localhost\\Client\\TrustedHosts -Value '*' -Force"
        )),
        pos!(ex!(PSOP, "4103", "Payload" = "CommandInvocation(Set-Item): \"Set-Item\"\r\nParameterBinding(Set-Item): name=\"Path\"; value=\"WSMan:\\localhost\\Client\\TrustedHosts\"\r\nParameterBinding(Set-Item): name=\"Value\"; value=\"*\"\r\n")),
        pos!(ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\cmd.exe",
            "CommandLine" = "winrm set winrm/config/client @{TrustedHosts=\"10.0.0.5\"}"
        )),
    ],
    negatives: &[ex!(
        PSOP,
        "4104",
        "ScriptBlockText" = "Get-Item WSMan:\\localhost\\Client\\TrustedHosts"
    )],
    public: &[
        FromPublic {
            origin: Origin::Escu("B2"),
            built: Built::Definition,
            event: ex!(PSOP, "4104", "ScriptBlockText" = "Set-Item WSMan:\\localhost\\Client\\TrustedHosts -Value '10.0.1.33' -Concatenate -Force"),
            targets: &[],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "Get-Item WSMan:\\localhost\\Client\\TrustedHosts"), Contrast::Filtered)),
        },
    ],
};

const PSWA_ENABLED: Rule = Rule {
    id: "pswa_enabled",
    alert_type: "PSWA_Enabled",
    description: "PowerShell Web Access installed or authorised",
    mitre: "T1021.006",
    side: Side::Local,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 90,
    confidence: 80,
    basis: Basis::Escu("B3"),
    message: "PowerShell Web Access enabled on $risk_object$",
    when: Match::AnyOf(&[
        Cond {
            kinds: &[Kind::ScriptBlock, Kind::PsModule, Kind::ProcessCreate],
            text_any: &["install-pswawebapplication", "add-pswaauthorizationrule"],
            text_none: &["uninstall-pswawebapplication"],
            ..Cond::ANY
        },
        // The feature only when it is being installed (ESCU B3 / B4, Sigma
        // 7e8f2d3b), not when it is queried or removed.
        Cond {
            kinds: &[Kind::ScriptBlock, Kind::PsModule, Kind::ProcessCreate],
            text_all: &["windowspowershellwebaccess"],
            text_also_any: &[
                "install-windowsfeature",
                "add-windowsfeature",
                "enable-windowsoptionalfeature",
                "/enable-feature",
            ],
            text_none: &["uninstall-windowsfeature"],
            ..Cond::ANY
        },
    ]),
    positives: &[
        pos!(ex!(
            PSOP,
            "4104",
            "ScriptBlockText" = "Install-PswaWebApplication -UseTestCertificate"
        )),
        pos!(ex!(PSOP, "4103", "Payload" = "CommandInvocation(Add-PswaAuthorizationRule): \"Add-PswaAuthorizationRule\"\r\nParameterBinding(Add-PswaAuthorizationRule): name=\"UserName\"; value=\"*\"\r\n")),
        pos!(ex!(
            SECURITY,
            "4688",
            "NewProcessName" = "C:\\Windows\\System32\\Dism.exe",
            "CommandLine" = "dism /online /enable-feature /featurename:WindowsPowerShellWebAccess"
        )),
    ],
    negatives: &[
        ex!(PSOP, "4104", "ScriptBlockText" = "Get-WindowsFeature"),
        ex!(PSOP, "4104", "ScriptBlockText" = "Uninstall-PswaWebApplication -DeleteTestCertificate"),
        ex!(PSOP, "4104", "ScriptBlockText" = "Uninstall-WindowsFeature -Name WindowsPowerShellWebAccess"),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("5f9c7f1a"),
            built: Built::Definition,
            event: ex!(PSOP, "4104", "ScriptBlockText" = "Install-WindowsFeature WindowsPowerShellWebAccess -IncludeManagementTools", "ScriptBlockId" = "1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b"),
            targets: &[],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "Add-PswaAuthorizationRule -UserGroupName 'CORP\\PSWA Users' -ComputerGroupName 'CORP\\Servers' -ConfigurationName microsoft.powershell", "ScriptBlockId" = "2f3a4b5c-6d7e-4f8a-9b0c-1d2e3f4a5b6c"), Contrast::Broader("any PSWA authorisation rule opens the gateway, by user or by group"))),
        },
        FromPublic {
            origin: Origin::Sigma("7e8f2d3b"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\Dism.exe", "OriginalFileName" = "DISM.EXE", "CommandLine" = "dism.exe /online /enable-feature /featurename:WindowsPowerShellWebAccess /all", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "User" = "CORP\\admin"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\Dism.exe", "OriginalFileName" = "DISM.EXE", "CommandLine" = "dism.exe /online /get-featureinfo /featurename:WindowsPowerShellWebAccess", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "User" = "CORP\\admin"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("B3"),
            built: Built::Definition,
            event: ex!(PSOP, "4104", "ScriptBlockText" = "Install-WindowsFeature -Name WindowsPowerShellWebAccess -IncludeManagementTools"),
            targets: &[],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "Get-WindowsFeature -Name WindowsPowerShellWebAccess"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("B4"),
            built: Built::Definition,
            event: ex!(SECURITY, "4688", "NewProcessName" = "C:\\Windows\\System32\\Dism.exe", "NewProcessId" = "0x1f3c", "ParentProcessName" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "ProcessId" = "0x1a08", "CommandLine" = "\"C:\\Windows\\system32\\dism.exe\" /online /enable-feature /featurename:WindowsPowerShellWebAccess /all", "SubjectUserName" = "alice", "SubjectDomainName" = "CORP", "SubjectLogonId" = "0x4c1e2", "TokenElevationType" = "%%1937", "MandatoryLabel" = "S-1-16-12288"),
            targets: &[],
            contrast: Some((ex!(SECURITY, "4688", "NewProcessName" = "C:\\Windows\\System32\\Dism.exe", "NewProcessId" = "0x1f40", "ParentProcessName" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "ProcessId" = "0x1a08", "CommandLine" = "\"C:\\Windows\\system32\\dism.exe\" /online /get-featureinfo /featurename:WindowsPowerShellWebAccess", "SubjectUserName" = "alice", "SubjectDomainName" = "CORP", "SubjectLogonId" = "0x4c1e2"), Contrast::Filtered)),
        },
    ],
};

const PSWA_ACTIVITY: Rule = Rule {
    id: "pswa_activity",
    alert_type: "PSWA_Activity",
    description: "PowerShell Web Access gateway logging on to a target server (4648 by pswa_pool)",
    mitre: "T1021.006",
    side: Side::Source,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 80,
    confidence: 80,
    basis: Basis::Escu("B5"),
    message: "PowerShell Web Access on $risk_object$ connected to $target_host$",
    when: Match::When(Cond {
        kinds: &[Kind::ExplicitLogon],
        fields: &[(F::SubjectUserName, Test::Is(&["pswa_pool"]))],
        yields: Yield::Target(F::TargetServerName),
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SECURITY, "4648", "SubjectUserName" = "pswa_pool", "TargetServerName" = "SRV03", "ProcessName" = "C:\\Windows\\System32\\inetsrv\\w3wp.exe"), targets: ["SRV03"]),
    ],
    negatives: &[ex!(
        SECURITY,
        "4648",
        "SubjectUserName" = "alice",
        "TargetServerName" = "SRV03"
    )],
    public: &[FromPublic {
        origin: Origin::Escu("B5"),
        built: Built::Definition,
        event: ex!(
            SECURITY,
            "4648",
            "SubjectUserSid" = "S-1-5-82-1036420768-1044797643-1061213386-2937092688-4282445334",
            "SubjectUserName" = "pswa_pool",
            "SubjectDomainName" = "IIS APPPOOL",
            "SubjectLogonId" = "0x3f2a1",
            "TargetUserName" = "alice",
            "TargetDomainName" = "CORP",
            "TargetServerName" = "SRV03.corp.example",
            "TargetInfo" = "HTTP/SRV03.corp.example",
            "ProcessId" = "0x1a2c",
            "ProcessName" = "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
            "IpAddress" = "-",
            "IpPort" = "-"
        ),
        targets: &["SRV03.corp.example"],
        contrast: Some((
            ex!(
                SECURITY,
                "4648",
                "SubjectUserName" = "DefaultAppPool",
                "SubjectDomainName" = "IIS APPPOOL",
                "SubjectLogonId" = "0x3e4b7",
                "TargetUserName" = "svc_web",
                "TargetDomainName" = "CORP",
                "TargetServerName" = "SQL01.corp.example",
                "TargetInfo" = "MSSQLSvc/SQL01.corp.example:1433",
                "ProcessId" = "0x1b10",
                "ProcessName" = "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
                "IpAddress" = "-",
                "IpPort" = "-"
            ),
            Contrast::Filtered,
        )),
    }],
};

const WINRM_ALTHOST: Rule = Rule {
    id: "winrm_althost",
    alert_type: "WinRM_AltHost",
    description: "WSMan provider loaded by a non-PowerShell host application (Windows PowerShell 600)",
    mitre: "T1021.006",
    side: Side::Source,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 60,
    confidence: 60,
    basis: Basis::Sigma("df9a0e0e", Level::Medium),
    message: "WSMan used from an unusual host application on $risk_object$",
    when: Match::Custom(Custom {
        classes: &[Class::PsClassic],
        needles: &[],
        needs_keyword: false,
        f: m_althost,
    }),
    positives: &[
pos!(ex!(WINPS, "600", "Message" = "Provider \"WSMan\" is Started.\n\tProviderName=WSMan\n\tHostApplication=C:\\Users\\a\\loader.exe\n\tEngineVersion=5.1"), detail: "host application C:\\Users\\a\\loader.exe"),
    ],
    negatives: &[
        ex!(WINPS, "600", "Message" = "Provider \"WSMan\" is Started.\n\tProviderName=WSMan\n\tHostApplication=C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -nop\n"),
        // No host application said, as Sigma filters it.
        ex!(WINPS, "600", "Message" = "Provider \"WSMan\" is Started.\n\tProviderName=WSMan\n\tHostApplication=\n\tEngineVersion=5.1"),
        ex!(WINPS, "600", "Message" = "Provider \"WSMan\" is Started.\n\tProviderName=WSMan\n\tEngineVersion=5.1"),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("df9a0e0e"),
            built: Built::Definition,
            event: ex!(WINPS, "600", "Data" = "ProviderName=WSMan\r\n\tNewProviderState=Started\r\n\r\n\tSequenceNumber=3\r\n\r\n\tHostName=Default Host\r\n\tHostVersion=5.1.17763.1\r\n\tHostId=4f1c2a9e-7b3d-4e8a-9c21-5d6e7f8a9b0c\r\n\tHostApplication=C:\\Users\\alice\\AppData\\Local\\Temp\\loader.exe\r\n\tEngineVersion=5.1.17763.1\r\n\tRunspaceId=8e2d4c6a-1b3f-4a5e-9d7c-2f4e6a8c0b1d\r\n\tPipelineId=\r\n\tCommandName=\r\n\tCommandType=\r\n\tScriptName=\r\n\tCommandPath=\r\n\tCommandLine="),
            targets: &[],
            contrast: Some((ex!(WINPS, "600", "Data" = "ProviderName=WSMan\r\n\tNewProviderState=Started\r\n\r\n\tSequenceNumber=3\r\n\r\n\tHostName=Default Host\r\n\tHostVersion=5.1.17763.1\r\n\tHostId=4f1c2a9e-7b3d-4e8a-9c21-5d6e7f8a9b0c\r\n\tEngineVersion=5.1.17763.1\r\n\tRunspaceId=8e2d4c6a-1b3f-4a5e-9d7c-2f4e6a8c0b1d\r\n\tPipelineId=\r\n\tCommandName=\r\n\tCommandType=\r\n\tScriptName=\r\n\tCommandPath=\r\n\tCommandLine="), Contrast::Filtered)),
        },
    ],
};

fn m_althost(c: &Ctx<'_>) -> Option<Hit> {
    if c.kind != Kind::PsClassic(600) || !c.in_context("providername=wsman") {
        return None;
    }
    let (app, _) = foreign_host(c)?;
    Some(Hit {
        detail: Some(format!("host application {app}")),
        ..Hit::default()
    })
}

const WINRM_CLIENT_IMAGELOAD: Rule = Rule {
    id: "winrm_client_imageload",
    alert_type: "WinRM_AltHost",
    description: "WinRM client library (WsmSvc, WsmAuto, Microsoft.WSMan.Management) loaded by a program that is not a PowerShell or management host (Sysmon 7)",
    mitre: "T1021.006",
    side: Side::Source,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 60,
    confidence: 60,
    basis: Basis::Sigma("ad1f4bb9", Level::Medium),
    message: "WinRM client loaded by $threat_object$ on $risk_object$",
    when: Match::AnyOf(&[
        Cond {
            fields: &[(F::ImageLoaded, Test::EndsWith(WSMAN_CLIENT_DLLS))],
            ..WSMAN_LOAD
        },
        Cond {
            fields: &[(F::OriginalFileName, Test::Is(WSMAN_CLIENT_ORIGINAL))],
            ..WSMAN_LOAD
        },
    ]),
    positives: &[
        pos!(ex!(SYSMON, "7", "Image" = "C:\\Users\\Public\\agent.exe", "ImageLoaded" = "C:\\Windows\\System32\\WsmSvc.dll", "OriginalFileName" = "WsmSvc.dll"), threats: [("agent.exe", "process_name")], detail: "loaded C:\\Windows\\System32\\WsmSvc.dll"),
        // A renamed copy is still known by its original name.
        pos!(ex!(SYSMON, "7", "Image" = "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\MSBuild.exe", "ImageLoaded" = "C:\\Users\\a\\AppData\\Local\\Temp\\w.dll", "OriginalFileName" = "WSMANAUTOMATION.DLL"), threats: [("msbuild.exe", "process_name")], detail: "loaded C:\\Users\\a\\AppData\\Local\\Temp\\w.dll"),
    ],
    negatives: &[
        // PowerShell itself, the remoting host and the WinRM service.
        ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "ImageLoaded" = "C:\\Windows\\System32\\WsmSvc.dll"),
        ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\wsmprovhost.exe", "ImageLoaded" = "C:\\Windows\\System32\\WsmSvc.dll"),
        ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\svchost.exe", "ImageLoaded" = "C:\\Windows\\System32\\WsmSvc.dll"),
        // Sigma's filters: Citrix, MMC, Server Manager, native-image compiling.
        ex!(SYSMON, "7", "Image" = "C:\\Program Files\\Citrix\\Broker\\Service\\BrokerService.exe", "ImageLoaded" = "C:\\Windows\\System32\\WsmAuto.dll"),
        ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\mmc.exe", "ImageLoaded" = "C:\\Windows\\System32\\WsmSvc.dll"),
        ex!(SYSMON, "7", "Image" = "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\mscorsvw.exe", "ImageLoaded" = "C:\\Windows\\assembly\\NativeImages_v4.0.30319_64\\Microsoft.WSMan.Management\\x\\Microsoft.WSMan.Management.ni.dll"),
        // Another library.
        ex!(SYSMON, "7", "Image" = "C:\\Users\\Public\\agent.exe", "ImageLoaded" = "C:\\Windows\\System32\\wbemcomn.dll"),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("ad1f4bb9"),
            built: Built::Definition,
            event: ex!(SYSMON, "7", "Image" = "C:\\Users\\Public\\agent.exe", "ImageLoaded" = "C:\\Windows\\System32\\WsmSvc.dll", "OriginalFileName" = "WsmSvc.dll"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\mmc.exe", "ImageLoaded" = "C:\\Windows\\System32\\WsmSvc.dll", "OriginalFileName" = "WsmSvc.dll"), Contrast::Filtered)),
        },
    ],
};

/// Sysmon 7 of a program outside [`POWERSHELL_HOSTS`], [`WSMAN_LOADERS`] and Sigma's vendor
/// paths: what [`WINRM_CLIENT_IMAGELOAD`]'s conditions share.
const WSMAN_LOAD: Cond = Cond {
    kinds: &[Kind::ImageLoad],
    needs_image: true,
    image_not: &[POWERSHELL_HOSTS, WSMAN_LOADERS],
    fields_not: &[(
        F::Image,
        Test::Contains(&[
            "\\program files\\citrix\\",
            "\\windows\\temp\\asgard2-agent\\",
            "\\$windows.~bt\\sources\\",
            "\\windowsapps\\microsoft.gethelp_",
        ]),
    )],
    yields: Yield::LoadThreats,
    ..Cond::ANY
};

/// The WinRM client libraries by file name (Sigma `ad1f4bb9`).
const WSMAN_CLIENT_DLLS: &[&str] = &[
    "\\wsmsvc.dll",
    "\\wsmauto.dll",
    "\\microsoft.wsman.management.dll",
    "\\microsoft.wsman.management.ni.dll",
];

/// ... and by `OriginalFileName`, which a renamed copy keeps.
const WSMAN_CLIENT_ORIGINAL: &[&str] = &[
    "WsmSvc.dll",
    "WSMANAUTOMATION.DLL",
    "Microsoft.WSMan.Management.dll",
];

/// Programs beside the PowerShell hosts ([`POWERSHELL_HOSTS`]) that load
/// the WinRM client as Windows ships them: the WinRM service's svchost,
/// services.exe, MMC, Server Manager's remoting setup, the .NET
/// native-image compiler.
const WSMAN_LOADERS: &[&str] = &[
    "svchost.exe",
    "services.exe",
    "mmc.exe",
    "configure-smremoting.exe",
    "mscorsvw.exe",
];

const PS_ALTERNATE_HOST: Rule = Rule {
    id: "ps_alternate_host",
    alert_type: "PS_AlternateHost",
    description: "PowerShell engine run inside a program that is not a PowerShell host (400 / 600 / 4103 HostApplication: unmanaged PowerShell in MSBuild, rundll32, an implant)",
    mitre: "T1059.001",
    side: Side::Local,
    technique: None,
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 60,
    confidence: 60,
    basis: Basis::Sigma("64e8e417", Level::Medium),
    message: "PowerShell run inside $threat_object$ on $risk_object$",
    when: Match::Custom(Custom {
        classes: &[Class::PsClassic, Class::PsModule],
        needles: &[],
        needs_keyword: false,
        f: m_ps_alternate_host,
    }),
    positives: &[
        pos!(ex!(WINPS, "400", "Message" = "Engine state is changed from None to Available.\n\tHostName=Default Host\n\tHostApplication=C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\MSBuild.exe C:\\Users\\a\\x.csproj\n\tEngineVersion=5.1"), threats: [("msbuild.exe", "process_name")], detail: "host application C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\MSBuild.exe C:\\Users\\a\\x.csproj"),
        pos!(ex!(PSOP, "4103", "ContextInfo" = "        Severity = Informational\r\n        Host Name = Default Host\r\n        Host Application = \"C:\\Program Files\\Vendor App\\agent.exe\" -k\r\n"), threats: [("agent.exe", "process_name")], detail: "host application \"C:\\Program Files\\Vendor App\\agent.exe\" -k"),
    ],
    negatives: &[
        ex!(WINPS, "400", "HostName" = "ConsoleHost", "HostApplication" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -nop"),
        ex!(PSOP, "4103", "ContextInfo" = "        Host Name = ServerRemoteHost\r\n        Host Application = C:\\Windows\\system32\\wsmprovhost.exe -Embedding\r\n"),
        ex!(WINPS, "600", "Message" = "Provider \"Registry\" is Started.\n\tHostApplication=C:\\Program Files\\PowerShell\\7\\pwsh.exe\n"),
        // Windows' own hosts: troubleshooting packs, Server Manager.
        ex!(WINPS, "400", "HostApplication" = "C:\\Windows\\System32\\sdiagnhost.exe -Embedding"),
        ex!(WINPS, "400", "Message" = "Engine state is changed.\n\tHostApplication=\n"),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("64e8e417"),
            built: Built::Definition,
            event: ex!(PSOP, "4103", "ContextInfo" = "        Severity = Informational\r\n        Host Name = Default Host\r\n        Host Version = 5.1.17763.1\r\n        Host ID = 7e8f9a0b-1c2d-4e3f-8a5b-6c7d8e9f0a1b\r\n        Host Application = C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\MSBuild.exe C:\\Users\\alice\\AppData\\Local\\Temp\\build.csproj\r\n        Engine Version = 5.1.17763.1\r\n        Runspace ID = 9f0a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\r\n        Pipeline ID = 1\r\n        Command Name = Invoke-WebRequest\r\n        Command Type = Cmdlet\r\n        Script Name = \r\n        Command Path = \r\n        Sequence Number = 16\r\n        User = CORP\\alice\r\n        Connected User = \r\n        Shell ID = Microsoft.PowerShell\r\n", "Payload" = "CommandInvocation(Invoke-WebRequest): \"Invoke-WebRequest\"\r\nParameterBinding(Invoke-WebRequest): name=\"Uri\"; value=\"http://10.0.1.21/a.txt\"\r\n"),
            targets: &[],
            contrast: Some((ex!(PSOP, "4103", "ContextInfo" = "        Severity = Informational\r\n        Host Name = ServerRemoteHost\r\n        Host Version = 1.0.0.0\r\n        Host ID = 6cd3b0e8-4a5d-4c3b-9d2a-1f1e2c3d4b5a\r\n        Host Application = C:\\Windows\\system32\\wsmprovhost.exe -Embedding\r\n        Engine Version = 5.1.17763.1\r\n        Runspace ID = 2b7e1c90-3f1a-4d8e-9a55-0c6f1e2d3a4b\r\n        Pipeline ID = 5\r\n        Command Name = Get-Service\r\n        Command Type = Cmdlet\r\n        Script Name = \r\n        Command Path = \r\n        Sequence Number = 17\r\n        User = CORP\\alice\r\n        Connected User = \r\n        Shell ID = Microsoft.PowerShell\r\n", "Payload" = "CommandInvocation(Get-Service): \"Get-Service\"\r\n"), Contrast::Filtered)),
        },
    ],
};

fn m_ps_alternate_host(c: &Ctx<'_>) -> Option<Hit> {
    if !matches!(c.kind, Kind::PsClassic(400 | 600) | Kind::PsModule) {
        return None;
    }
    let (app, exe) = foreign_host(c).filter(|(_, exe)| !exe.is_empty())?;
    Some(Hit {
        detail: Some(format!("host application {app}")),
        threats: vec![(exe, "process_name")],
        ..Hit::default()
    })
}

/// The host application of a PowerShell event and its executable's name,
/// when that is not one of [`POWERSHELL_HOSTS`].
fn foreign_host(c: &Ctx<'_>) -> Option<(String, String)> {
    let app = host_application(c.ev)?;
    let exe = host_exe(&app);
    (!POWERSHELL_HOSTS.contains(&exe.as_str())).then_some((app, exe))
}

/// The programs that host PowerShell as Windows ships it: the consoles,
/// the ISE, the remoting host, troubleshooting packs, Server Manager.
const POWERSHELL_HOSTS: &[&str] = &[
    "powershell.exe",
    "pwsh.exe",
    "powershell_ise.exe",
    "wsmprovhost.exe",
    "sdiagnhost.exe",
    "servermanager.exe",
];

/// The executable's file name of a host application command line
/// (`"C:\Program Files\x\y.exe" -k`, `C:\w\powershell.exe -nop`,
/// `powershell`), lower-case, `.exe` added when missing.
fn host_exe(app: &str) -> String {
    let app = app.trim();
    let path = match app.strip_prefix('"') {
        Some(rest) => rest.split('"').next().unwrap_or(rest),
        None => {
            let lower = app.to_ascii_lowercase();
            match lower.find(".exe") {
                Some(i) => &app[..i + 4],
                None => app.split_whitespace().next().unwrap_or(""),
            }
        }
    };
    let name = basename(path).to_ascii_lowercase();
    if name.is_empty() || name.ends_with(".exe") {
        name
    } else {
        format!("{name}.exe")
    }
}

// ------------------------------------------------- shared by its rules

/// The resource URI of a 91, from `resourceUri` or, for the older broken
/// records, from the UTF-16LE hex in `EventPayload`; plus the user and client
/// IP of the newer `(DOMAIN\user clientIP: a.b.c.d)` suffix.
fn resource_uri(c: &Ctx<'_>) -> (Option<String>, Option<String>, Option<String>) {
    let uri = c.get(F::ResourceUri).or_else(|| {
        c.get(F::EventPayload)
            .and_then(|h| decode_utf16_hex(&h))
            .map(Cow::Owned)
    });
    let Some(uri) = uri else {
        return (None, None, None);
    };
    if let Some((u, rest)) = uri.split_once(" (") {
        if let Some((user, ip)) = rest.trim_end_matches(')').split_once(" clientIP: ") {
            return (
                Some(u.to_string()),
                Some(user.trim().to_string()),
                Some(ip.trim().to_string()),
            );
        }
    }
    (Some(uri.into_owned()), None, None)
}

/// Decodes the UTF-16LE hex of a WinRM `EventPayload`, up to the first NUL.
pub fn decode_utf16_hex(hex: &str) -> Option<String> {
    let hex = hex.trim();
    if hex.len() % 4 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let units: Vec<u16> = (0..hex.len() / 4)
        .filter_map(|i| {
            let lo = u8::from_str_radix(&hex[i * 4..i * 4 + 2], 16).ok()?;
            let hi = u8::from_str_radix(&hex[i * 4 + 2..i * 4 + 4], 16).ok()?;
            Some(u16::from_le_bytes([lo, hi]))
        })
        .take_while(|&u| u != 0)
        .collect();
    let s = String::from_utf16_lossy(&units);
    (!s.is_empty()).then_some(s)
}

fn connection_target(c: &Ctx<'_>) -> Option<String> {
    c.get(F::Connection).and_then(|s| parse_connection(&s))
}

fn winrm_port(c: &Ctx<'_>) -> bool {
    matches!(
        c.get(F::DestPort).as_deref().map(str::trim),
        Some("5985" | "5986")
    )
}

fn outbound(c: &Ctx<'_>) -> Option<bool> {
    if let Some(i) = c.get(F::Initiated) {
        return Some(i.eq_ignore_ascii_case("true"));
    }
    c.get(F::Direction).map(|d| {
        let d = d.to_ascii_lowercase();
        d.contains("outbound") || d.contains("14593")
    })
}

static WINRM_QUICKCONFIG: LazyLock<Regex> =
    pattern!(r"\bwinrm(?:\.cmd|\.vbs)?\s+(?:quickconfig|qc)\b");
static WINRM_TOOL: LazyLock<Regex> =
    pattern!(r"(?:^|[\s\\/\x22'{(;&|-])winrm(?:\.cmd|\.vbs)?(?:$|[\s\x22'])");
