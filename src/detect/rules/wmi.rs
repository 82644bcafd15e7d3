//! WMI: each rule's entry, with its matcher beside it where a condition
//! cannot say what it needs.

use std::sync::LazyLock;

use regex::Regex;

use super::lists::LOLBAS;
use super::{any, remote, Basis, Cond, Custom, Hit, Level, Match, Positive, Rule, Test, Yield};
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
    WMI_DLL_HIJACK,
    WMI_SUBSCRIPTION_PERMANENT_CONSUMER,
    WMI_SUBSCRIPTION_PERMANENT_BINDING,
    WMI_SUBSCRIPTION_TEMPORARY,
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
    when: Match::When(Cond {
        kinds: &[Kind::ScriptBlock, Kind::ProcessCreate],
        text_any: &["wmimplant", "sharpwmi", "sharpmove", "crackmapexec", "netexec", "nxc.exe", "wmiexec.py", "invoke-wmilm"],
        text_none: &["invoke-wmiexec"],
        ..Cond::ANY
    }),
    positives: &[
        // FIXME(issue11): the event names its target (`computername=srv03`) and the
        // tool, but m_offensive_tool returns an empty Hit. Expected targets ["srv03"]
        // and threats [("sharpwmi.exe", "process_name")].
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Users\\a\\SharpWMI.exe", "CommandLine" = "SharpWMI.exe action=exec computername=srv03 command=calc")),
    ],
    negatives: &[ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\WMIC.exe", "CommandLine" = "wmic os get caption")],
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
            yields: Yield::ProcessThreats,
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
    ],
    negatives: &[ex!(
        SYSMON,
        "1",
        "Image" = "C:\\Windows\\System32\\cmd.exe",
        "CommandLine" = "cmd.exe /c dir \\\\fileserver\\share"
    )],
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
            parent: &["cmd.exe", "powershell.exe", "pwsh.exe"],
            yields: Yield::ProcessThreats,
            ..Cond::ANY
        },
        Cond {
            kinds: &[Kind::ProcessCreate],
            image: &["mofcomp.exe"],
            image_or_original: true,
            fields: &[(
                F::CommandLine,
                Test::Contains(&["\\users\\", "\\temp\\", "\\appdata\\", "\\programdata\\"]),
            )],
            yields: Yield::ProcessThreats,
            ..Cond::ANY
        },
    ]),
    positives: &[
        pos!(ex!(SYSMON, "1", "Image" = "C:\\Windows\\System32\\wbem\\mofcomp.exe", "ParentImage" = "C:\\Windows\\System32\\cmd.exe", "CommandLine" = "mofcomp C:\\Users\\a\\evil.mof"), threats: [("mofcomp.exe", "process_name"), ("cmd.exe", "parent_process_name")]),
    ],
    negatives: &[ex!(
        SYSMON,
        "1",
        "Image" = "C:\\Windows\\System32\\wbem\\mofcomp.exe",
        "ParentImage" = "C:\\Windows\\System32\\msiexec.exe",
        "CommandLine" = "mofcomp C:\\Windows\\System32\\wbem\\x.mof"
    )],
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
        ..Cond::ANY
    }),
    positives: &[
        // FIXME(issue11): the job is created on `\\srv03\root\cimv2`, but m_scheduled_job
        // returns an empty Hit. Expected targets ["srv03"].
        pos!(ex!(
            PSOP,
            "4104",
            "ScriptBlockText" =
                "([wmiclass]'\\\\srv03\\root\\cimv2:Win32_ScheduledJob').Create('calc',...)"
        )),
    ],
    negatives: &[ex!(PSOP, "4104", "ScriptBlockText" = "Get-ScheduledTask")],
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
};

// ------------------------------------------------- shared by its rules

/// Children of WmiPrvSE.exe that are its own housekeeping.
const WMI_CHILD_NOISE: &[&str] = &["werfault.exe", "wmiprvse.exe", "dismhost.exe", "wermgr.exe"];

/// Children of WmiPrvSE.exe run by the machine itself: as SYSTEM, in its
/// logon session (0x3e7), or by the ConfigMgr client (`\ccm\`).
const WMI_CHILD_SYSTEM: &[(F, Test)] = &[
    (F::User, Test::EndsWith(&["system"])),
    (F::LogonId, Test::Is(&["0x3e7"])),
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
static IMPACKET_FILE: LazyLock<Regex> = pattern!(r"(?i)^c:\\windows\\__1\d{6,}\.\d+$");
