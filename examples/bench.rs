//! Throughput, CPU and memory benchmark of the `winrmdetect` binary, driven
//! the way splunkd drives it: SCP v2 chunks over the child's stdin/stdout.
//!
//! ```text
//! cargo build --release
//! cargo run --release --example bench -- [--events N] [--chunk ROWS] [--bin PATH] [--runs N]
//! ```
//!
//! Defaults: 1,000,000 events, 50,000 rows per chunk (splunkd's
//! `maxresultrows`), `target/release/winrmdetect` next to this example.
//!
//! * Generates deterministic Windows-event rows (xorshift PRNG, fixed seed):
//!   16 columns (`_time, _raw, host, source, sourcetype, index, EventCode,
//!   Computer, User, Image, ParentImage, CommandLine, ProcessId,
//!   ParentProcessId, LogonId, connection`) and their empty `__mv_` columns;
//!   ~45% Sysmon, ~35% Security, ~10% PowerShell/Operational, ~10%
//!   WinRM/Operational + WMI-Activity; ~1% attack rows. Every chunk body is
//!   encoded once, as splunkd encodes it, and reused for every run.
//! * Runs two modes, three times each by default (`--runs`, interleaved),
//!   and reports medians:
//!   full detection (`args: []`) and the no-op passthrough baseline
//!   (`args: ["detect=false"]`, parses every row and copies it back).
//! * Measures the execute phase only: wall time from the first execute chunk
//!   to the reply to the final `finished:true` chunk; the child's CPU time
//!   (utime+stime from `/proc/<pid>/stat`, difference across the phase) and
//!   peak RSS (`VmHWM` from `/proc/<pid>/status`), both read after the last
//!   reply and before stdin is closed.
//! * Replies are read on the main thread (one per request, in order) into
//!   reused buffers; their CSV is parsed and counted *after* the timed phase,
//!   so the driver does not compete with the child for the CPUs.
//!
//! Linux only (`/proc`). It is a benchmark, not a test: a missed target is
//! printed as MISS and the exit code is still 0; a protocol failure (wrong
//! reply count, lost rows, non-zero exit) aborts with exit code 1.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

/// The plain columns, in splunkd's order; the `__mv_` ones follow.
const COLUMNS: [&str; 16] = [
    "_time",
    "_raw",
    "host",
    "source",
    "sourcetype",
    "index",
    "EventCode",
    "Computer",
    "User",
    "Image",
    "ParentImage",
    "CommandLine",
    "ProcessId",
    "ParentProcessId",
    "LogonId",
    "connection",
];

const TIME: usize = 0;
const RAW: usize = 1;
const HOST: usize = 2;
const SOURCE: usize = 3;
const SOURCETYPE: usize = 4;
const INDEX: usize = 5;
const CODE: usize = 6;
const COMPUTER: usize = 7;
const USER: usize = 8;
const IMAGE: usize = 9;
const PARENT: usize = 10;
const CMDLINE: usize = 11;
const PID: usize = 12;
const PPID: usize = 13;
const LOGON: usize = 14;
const CONNECTION: usize = 15;

/// splunklib 2.1.1 at 50,000-row chunks (docs/scp-v2.md §9.1).
const SPLUNKLIB_EVENTS_PER_CPU_S: f64 = 40_000.0;
const SPLUNKLIB_RSS_MB: f64 = 408.0;

const TARGET_CPU_RATIO: f64 = 1.3;
const TARGET_EVENTS_PER_CPU_S: f64 = 400_000.0;
const TARGET_RSS_PER_CHUNK: f64 = 3.0;

type Res<T> = Result<T, String>;

fn main() {
    if let Err(e) = real_main() {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

struct Args {
    events: usize,
    chunk: usize,
    bin: PathBuf,
    runs: usize,
    /// Event mix: `stress` (the default) or `real`.
    real_mix: bool,
    /// `--mix adversarial`.
    adversarial: bool,
    /// Benchmark correlation instead of per-event detection.
    correlate: bool,
    /// Adds one row to the first chunk whose CommandLine is this many MB.
    field_mb: usize,
    /// `--linearity`: CPU per event at 100k and at `--events` events.
    linearity: bool,
}

fn parse_args() -> Res<Args> {
    let mut a = Args {
        events: 1_000_000,
        chunk: 50_000,
        bin: default_bin()?,
        runs: 3,
        real_mix: false,
        adversarial: false,
        correlate: false,
        field_mb: 0,
        linearity: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--events" => a.events = number(&value()?)?,
            "--chunk" => a.chunk = number(&value()?)?,
            "--bin" => a.bin = PathBuf::from(value()?),
            "--runs" => a.runs = number(&value()?)?,
            "--correlate" => a.correlate = true,
            "--field-mb" => a.field_mb = number(&value()?)?,
            "--linearity" => a.linearity = true,
            "--mix" => {
                (a.real_mix, a.adversarial) = match value()?.as_str() {
                    "stress" => (false, false),
                    "real" => (true, false),
                    "adversarial" => (false, true),
                    other => {
                        return Err(format!(
                            "--mix takes stress, real or adversarial, not {other:?}"
                        ))
                    }
                }
            }
            "-h" | "--help" => {
                println!("usage: bench [--events N] [--chunk ROWS] [--bin PATH] [--runs N] [--mix stress|real|adversarial] [--correlate] [--field-mb MB] [--linearity]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.events == 0 || a.chunk == 0 || a.runs == 0 {
        return Err("--events, --chunk and --runs must be positive".into());
    }
    Ok(a)
}

fn number(s: &str) -> Res<usize> {
    s.replace('_', "")
        .parse()
        .map_err(|e| format!("bad number {s:?}: {e}"))
}

/// `target/<profile>/winrmdetect`, found from this example's own path
/// (`target/<profile>/examples/bench`).
fn default_bin() -> Res<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(|examples| examples.parent())
        .ok_or("cannot locate the target directory")?;
    Ok(profile_dir.join("winrmdetect"))
}

// ---------------------------------------------------------------- data ----

/// xorshift64: tiny, deterministic, good enough to pick strings.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const SYSMON: &str = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational";
const SECURITY: &str = "XmlWinEventLog:Security";
const PSOP: &str = "XmlWinEventLog:Microsoft-Windows-PowerShell/Operational";
const WINRM: &str = "XmlWinEventLog:Microsoft-Windows-WinRM/Operational";
const WMI: &str = "XmlWinEventLog:Microsoft-Windows-WMI-Activity/Operational";

const USERS: &[&str] = &[
    "CORP\\alice",
    "CORP\\bob",
    "CORP\\carol",
    "CORP\\dave",
    "CORP\\erin",
    "CORP\\frank",
    "CORP\\grace",
    "CORP\\heidi",
    "CORP\\ivan",
    "CORP\\judy",
    "CORP\\svc_backup",
    "CORP\\svc_sql",
    "NT AUTHORITY\\SYSTEM",
    "NT AUTHORITY\\NETWORK SERVICE",
    "NT AUTHORITY\\LOCAL SERVICE",
];

/// (Image, ParentImage, CommandLine) of ordinary process starts.
const PROCESSES: &[(&str, &str, &str)] = &[
    (
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer --display-capture-permissions-policy-allowed --lang=en-US --renderer-client-id=7 --mojo-platform-channel-handle=3412 /prefetch:1",
    ),
    (
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\System32\\services.exe",
        "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
    ),
    (
        "C:\\Windows\\System32\\conhost.exe",
        "C:\\Windows\\System32\\cmd.exe",
        "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
    ),
    (
        "C:\\Windows\\System32\\cmd.exe",
        "C:\\Windows\\explorer.exe",
        "\"C:\\Windows\\system32\\cmd.exe\" /c \"C:\\Users\\alice\\AppData\\Local\\Temp\\build.bat\" release",
    ),
    (
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "C:\\Windows\\explorer.exe",
        "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -NoProfile -Command Get-Process | Sort-Object CPU -Descending",
    ),
    (
        "C:\\Program Files\\Git\\cmd\\git.exe",
        "C:\\Program Files\\Microsoft VS Code\\Code.exe",
        "\"C:\\Program Files\\Git\\cmd\\git.exe\" -c core.quotepath=false -c color.ui=false status -z -uall",
    ),
    (
        "C:\\Windows\\System32\\taskhostw.exe",
        "C:\\Windows\\System32\\svchost.exe",
        "taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}",
    ),
    (
        "C:\\Windows\\System32\\SearchProtocolHost.exe",
        "C:\\Windows\\System32\\SearchIndexer.exe",
        "\"C:\\Windows\\system32\\SearchProtocolHost.exe\" Global\\UsGthrFltPipeMssGthrPipe5_ Global\\UsGthrCtrlFltPipeMssGthrPipe5 1 -2147483646 \"Software\\Microsoft\\Windows Search\"",
    ),
    (
        "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
        "C:\\Windows\\explorer.exe",
        "\"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe\" --single-argument https://intranet.corp.example/",
    ),
    (
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\System32\\services.exe",
        "C:\\Windows\\System32\\svchost.exe -k NetworkService -p -s WinRM",
    ),
    (
        "C:\\Windows\\System32\\backgroundTaskHost.exe",
        "C:\\Windows\\System32\\svchost.exe",
        "\"C:\\Windows\\system32\\backgroundTaskHost.exe\" -ServerName:App.AppXmtcan0h2tfbfy7k9kn8hbxb6dmzz1zh0.mca",
    ),
    (
        "C:\\Windows\\System32\\wbem\\WMIC.exe",
        "C:\\Windows\\System32\\cmd.exe",
        "wmic os get caption,version /format:list",
    ),
];

const OTHER_IMAGES: &[&str] = &[
    "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    "C:\\Windows\\System32\\svchost.exe",
    "C:\\Windows\\explorer.exe",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
    "C:\\Users\\alice\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe",
    "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe",
    "C:\\Windows\\System32\\lsass.exe",
    "C:\\Windows\\System32\\SearchIndexer.exe",
];

const TARGET_FILES: &[&str] = &[
    "C:\\Users\\alice\\AppData\\Local\\Temp\\chrome_BITS_4412_1876/download.tmp",
    "C:\\Windows\\Prefetch\\SVCHOST.EXE-7AC8D7B5.pf",
    "C:\\Users\\bob\\Documents\\Q3 report (final).xlsx",
    "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\History\\Service\\DetectionHistory\\02",
];

const REG_KEYS: &[&str] = &[
    "HKLM\\System\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\S-1-5-21-1004336348-1177238915-682003330-1104\\\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe",
    "HKU\\S-1-5-21-1004336348-1177238915-682003330-1104\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\.xlsx",
    "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignatureUpdateLastAttempted",
];

/// What kind of row the generator made, for the summary.
#[derive(Default)]
struct Mix {
    sysmon: usize,
    security: usize,
    powershell: usize,
    winrm_wmi: usize,
    attack: usize,
}

struct Gen {
    /// `--mix real`: channel and event-code shares of the three Mordor
    /// recordings in the project's reference data (6,451 events: Sysmon
    /// 70.4%, Security 23.4%, PowerShell 6.1%, WinRM/WMI < 0.1%; Sysmon 1 is
    /// 0.35% of Sysmon, Sysmon 3 1.3%; 4688 1.1% of Security, 5156 11.8%,
    /// 4624 1.5%), plus the same 1% attack rows as the stress mix.
    real: bool,
    /// `--mix adversarial` (issue 5): every event is correlation evidence,
    /// from and to a million hosts, by 100,000 users, over 30 days (long
    /// sessions): the correlation caps' worst case.
    adversarial: bool,
    rng: Rng,
    n: u64,
    mix: Mix,
}

impl Gen {
    fn new() -> Self {
        Gen {
            real: false,
            adversarial: false,
            rng: Rng(0x9E37_79B9_7F4A_7C15),
            n: 0,
            mix: Mix::default(),
        }
    }

    /// One event as its 16 column values.
    fn row(&mut self) -> [String; 16] {
        let mut r: [String; 16] = Default::default();
        self.n += 1;
        // 2026-11-23T00:00:00Z plus ~37 ms per event.
        let ms = if self.adversarial {
            1_795_392_000_000u64 + self.rng.below(30 * 86_400_000)
        } else {
            1_795_392_000_000u64 + self.n * 37 + self.rng.below(37)
        };
        r[TIME] = format!("{}.{:03}", ms / 1000, ms % 1000);
        let host = if self.adversarial {
            self.target()
        } else if self.rng.below(10) == 0 {
            format!("SRV{:02}", self.rng.below(20) + 1)
        } else {
            format!("WKS{:03}", self.rng.below(400) + 1)
        };
        r[COMPUTER] = format!("{host}.corp.example");
        r[HOST] = host;
        r[SOURCETYPE] = "XmlWinEventLog".into();
        r[INDEX] = "wineventlog".into();
        r[USER] = if self.adversarial {
            format!("CORP\\u{:05}", self.rng.below(100_000))
        } else {
            self.rng.pick(USERS).into()
        };
        r[PID] = (self.rng.below(12_000) * 4 + 4).to_string();
        r[LOGON] = format!("0x{:x}", self.rng.below(0xff_ffff) + 0x3e7);

        // Stress mix per mille: attack 10, Sysmon 450, Security 350,
        // PowerShell 100, WinRM/WMI 90. Real mix: attack 10, Sysmon 697,
        // Security 232, PowerShell 60, WinRM/WMI 1.
        let (sysmon, security, powershell) = if self.real {
            (707, 939, 999)
        } else {
            (460, 810, 910)
        };
        let roll = if self.adversarial {
            0
        } else {
            self.rng.below(1000)
        };
        if roll < 10 {
            self.mix.attack += 1;
            self.attack(&mut r);
        } else if roll < sysmon {
            self.mix.sysmon += 1;
            self.sysmon(&mut r);
        } else if roll < security {
            self.mix.security += 1;
            self.security(&mut r);
        } else if roll < powershell {
            self.mix.powershell += 1;
            self.powershell(&mut r);
        } else {
            self.mix.winrm_wmi += 1;
            self.winrm_wmi(&mut r);
        }
        r
    }

    fn process(&mut self, r: &mut [String; 16], code: &str, source: &str) {
        let (image, parent, cmd) = PROCESSES[self.rng.below(PROCESSES.len() as u64) as usize];
        r[SOURCE] = source.into();
        r[CODE] = code.into();
        r[IMAGE] = image.into();
        r[PARENT] = parent.into();
        r[CMDLINE] = cmd.into();
        r[PPID] = (self.rng.below(12_000) * 4 + 4).to_string();
    }

    fn sysmon(&mut self, r: &mut [String; 16]) {
        let code = if self.real {
            match self.rng.below(10_000) {
                0..=34 => "1",
                35..=164 => "3",
                165..=1_700 => "10",
                1_701..=1_800 => "11",
                1_801..=7_000 => "12",
                _ => "13",
            }
        } else {
            match self.rng.below(100) {
                0..=29 => "1",
                30..=49 => "3",
                50..=59 => "10",
                60..=79 => "11",
                80..=89 => "12",
                _ => "13",
            }
        };
        let detail = match code {
            "1" => {
                self.process(r, code, SYSMON);
                format!("<Data Name='ParentProcessId'>{}</Data>", r[PPID])
            }
            "3" => {
                r[IMAGE] = self.rng.pick(OTHER_IMAGES).into();
                format!(
                    "<Data Name='DestinationIp'>10.{}.{}.{}</Data><Data Name='DestinationPort'>443</Data>",
                    self.rng.below(255),
                    self.rng.below(255),
                    self.rng.below(255)
                )
            }
            "10" => {
                r[IMAGE] = self.rng.pick(OTHER_IMAGES).into();
                "<Data Name='TargetImage'>C:\\Windows\\System32\\svchost.exe</Data><Data Name='GrantedAccess'>0x1000</Data>".into()
            }
            "11" => {
                r[IMAGE] = self.rng.pick(OTHER_IMAGES).into();
                format!(
                    "<Data Name='TargetFilename'>{}</Data>",
                    self.rng.pick(TARGET_FILES)
                )
            }
            _ => {
                r[IMAGE] = self.rng.pick(OTHER_IMAGES).into();
                format!(
                    "<Data Name='TargetObject'>{}</Data>",
                    self.rng.pick(REG_KEYS)
                )
            }
        };
        r[SOURCE] = SYSMON.into();
        r[CODE] = code.into();
        r[RAW] = raw(r, "Microsoft-Windows-Sysmon", &detail);
    }

    fn security(&mut self, r: &mut [String; 16]) {
        let code = if self.real {
            match self.rng.below(1_000) {
                0..=14 => "4624",
                15..=25 => "4688",
                26..=300 => "4656",
                301..=700 => "4658",
                701..=818 => "5156",
                _ => "5158",
            }
        } else {
            match self.rng.below(100) {
                0..=29 => "4624",
                30..=49 => "4688",
                50..=64 => "4656",
                65..=79 => "4658",
                80..=94 => "5156",
                _ => "5158",
            }
        };
        r[PID] = format!("0x{:x}", self.rng.below(12_000) * 4 + 4);
        let detail = match code {
            "4688" => {
                self.process(r, code, SECURITY);
                r[PPID] = format!("0x{:x}", self.rng.below(12_000) * 4 + 4);
                "<Data Name='TokenElevationType'>%%1938</Data><Data Name='MandatoryLabel'>S-1-16-8192</Data>".to_string()
            }
            "4624" => {
                r[IMAGE] = "C:\\Windows\\System32\\lsass.exe".into();
                format!(
                    "<Data Name='LogonType'>{}</Data><Data Name='IpAddress'>10.0.{}.{}</Data>",
                    [2, 3, 5, 10][self.rng.below(4) as usize],
                    self.rng.below(255),
                    self.rng.below(255)
                )
            }
            "4656" | "4658" => {
                r[IMAGE] = self.rng.pick(OTHER_IMAGES).into();
                "<Data Name='ObjectServer'>Security</Data><Data Name='ObjectType'>File</Data><Data Name='AccessMask'>0x120089</Data>".into()
            }
            _ => {
                r[IMAGE] = "\\device\\harddiskvolume3\\windows\\system32\\svchost.exe".into();
                format!(
                    "<Data Name='Direction'>%%14593</Data><Data Name='DestAddress'>10.1.{}.{}</Data><Data Name='DestPort'>443</Data>",
                    self.rng.below(255),
                    self.rng.below(255)
                )
            }
        };
        r[SOURCE] = SECURITY.into();
        r[CODE] = code.into();
        r[RAW] = raw(r, "Microsoft-Windows-Security-Auditing", &detail);
    }

    fn powershell(&mut self, r: &mut [String; 16]) {
        let (code, detail) = if self.rng.below(2) == 0 {
            (
                "4103",
                "<Data Name='ContextInfo'>Severity = Informational Host Name = ConsoleHost Host Application = powershell.exe -NoProfile Command Name = Get-ChildItem</Data>",
            )
        } else {
            (
                "4104",
                "<Data Name='ScriptBlockText'>Get-ChildItem -Path $env:TEMP -Filter *.log | Where-Object { $_.Length -gt 1MB } | Remove-Item -WhatIf</Data>",
            )
        };
        r[SOURCE] = PSOP.into();
        r[CODE] = code.into();
        r[RAW] = raw(r, "Microsoft-Windows-PowerShell", detail);
    }

    fn winrm_wmi(&mut self, r: &mut [String; 16]) {
        if self.rng.below(2) == 0 {
            let code = ["6", "31", "161", "142", "8", "15", "16", "33"][self.rng.below(8) as usize];
            if code == "6" {
                r[CONNECTION] =
                    "localhost:47001/WSMan?MSP=6a83d074;PSVersion=5.1.19041.4291".into();
            }
            r[SOURCE] = WINRM.into();
            r[CODE] = code.into();
            r[RAW] = raw(
                r,
                "Microsoft-Windows-WinRM",
                "<Data Name='operationName'>Enumeration</Data>",
            );
        } else {
            let code = if self.rng.below(4) == 0 {
                "5858"
            } else {
                "5857"
            };
            r[SOURCE] = WMI.into();
            r[CODE] = code.into();
            r[RAW] = raw(
                r,
                "Microsoft-Windows-WMI-Activity",
                "<Data Name='ProviderName'>CIMWin32</Data><Data Name='HostProcess'>wmiprvse.exe</Data>",
            );
        }
    }

    /// A remote host: one of 20 servers, or of a million hosts when adversarial.
    fn target(&mut self) -> String {
        if self.adversarial {
            format!("H{:07}", self.rng.below(1_000_000))
        } else {
            format!("SRV{:02}", self.rng.below(20) + 1)
        }
    }

    fn attack(&mut self, r: &mut [String; 16]) {
        let target = self.target();
        let provider = match self.rng.below(6) {
            0 => {
                r[SOURCE] = SYSMON.into();
                r[CODE] = "1".into();
                r[PARENT] = "C:\\Windows\\System32\\wsmprovhost.exe".into();
                r[IMAGE] = "C:\\Windows\\System32\\whoami.exe".into();
                r[CMDLINE] = "\"C:\\Windows\\system32\\whoami.exe\" /all".into();
                r[PPID] = "4412".into();
                "Microsoft-Windows-Sysmon"
            }
            1 => {
                r[SOURCE] = SYSMON.into();
                r[CODE] = "1".into();
                r[PARENT] = "C:\\Windows\\explorer.exe".into();
                r[IMAGE] = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe".into();
                r[CMDLINE] = format!(
                    "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -NoP -c Invoke-Command -ComputerName {target} -ScriptBlock {{hostname}}"
                );
                r[PPID] = "5120".into();
                "Microsoft-Windows-Sysmon"
            }
            2 => {
                r[SOURCE] = WINRM.into();
                r[CODE] = "6".into();
                r[CONNECTION] = format!("{target}.corp.example/wsman?PSVersion=5.1.19041.4291");
                "Microsoft-Windows-WinRM"
            }
            3 => {
                r[SOURCE] = SECURITY.into();
                r[CODE] = "4688".into();
                r[PARENT] = "C:\\Windows\\System32\\cmd.exe".into();
                r[IMAGE] = "C:\\Windows\\System32\\winrs.exe".into();
                r[CMDLINE] = format!("winrs -r:{target} ipconfig /all");
                r[PPID] = "0x1a2c".into();
                "Microsoft-Windows-Security-Auditing"
            }
            4 => {
                r[SOURCE] = PSOP.into();
                r[CODE] = "4103".into();
                r[RAW] = raw(
                    r,
                    "Microsoft-Windows-PowerShell",
                    "<Data Name='ContextInfo'>Severity = Informational Host Name = ServerRemoteHost Host Application = C:\\Windows\\system32\\wsmprovhost.exe -Embedding</Data>",
                );
                return;
            }
            _ => {
                r[SOURCE] = SYSMON.into();
                r[CODE] = "1".into();
                r[PARENT] = "C:\\Windows\\System32\\cmd.exe".into();
                r[IMAGE] = "C:\\Windows\\System32\\wbem\\WMIC.exe".into();
                r[CMDLINE] = format!(
                    "wmic /node:{target} /user:corp\\svc_backup process call create \"cmd /c whoami > C:\\Windows\\Temp\\o.txt\""
                );
                r[PPID] = "7340".into();
                "Microsoft-Windows-Sysmon"
            }
        };
        r[RAW] = raw(r, provider, "");
    }
}

/// A one-line XML-ish `_raw` (not valid XML; it is carried, not parsed).
fn raw(r: &[String; 16], provider: &str, detail: &str) -> String {
    let ms: u64 = r[TIME].replace('.', "").parse().unwrap_or(0);
    let secs = (ms / 1000) % 86_400;
    let mut s = format!(
        "<Event><System><Provider Name='{provider}'/><EventID>{}</EventID><TimeCreated SystemTime='2026-11-23T{:02}:{:02}:{:02}.{:03}Z'/><Computer>{}</Computer></System><EventData>",
        r[CODE],
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ms % 1000,
        r[COMPUTER]
    );
    if !r[USER].is_empty() {
        s.push_str(&format!("<Data Name='User'>{}</Data>", r[USER]));
    }
    s.push_str(detail);
    s.push_str("</EventData></Event>");
    s
}

/// Appends one value as splunkd writes it: bare when purely ASCII
/// letters/digits (or empty), else quoted with `"` doubled.
fn push_value(out: &mut Vec<u8>, v: &str) {
    if v.bytes().all(|b| b.is_ascii_alphanumeric()) {
        out.extend_from_slice(v.as_bytes());
        return;
    }
    out.push(b'"');
    for b in v.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn header_line() -> Vec<u8> {
    let mut h = Vec::new();
    let names = COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(COLUMNS.iter().map(|c| format!("__mv_{c}")));
    for (i, name) in names.enumerate() {
        if i > 0 {
            h.push(b',');
        }
        push_value(&mut h, &name);
    }
    h.push(b'\n');
    h
}

struct Data {
    bodies: Vec<Vec<u8>>,
    rows: Vec<usize>,
    header: Vec<u8>,
    mix: Mix,
    row_bytes: usize,
}

/// What one command process is sent: chunk bodies (borrowed), their row
/// counts, and the header-only body of the final request.
struct Feed<'a> {
    bodies: Vec<&'a [u8]>,
    rows: Vec<usize>,
    header: &'a [u8],
}

impl Data {
    /// Every chunk.
    fn feed(&self) -> Feed<'_> {
        self.share(0, 1)
    }

    /// Every `of`-th chunk from `peer` on: one indexer's share.
    fn share(&self, peer: usize, of: usize) -> Feed<'_> {
        let pick = |i: &usize| i % of == peer;
        Feed {
            bodies: (0..self.bodies.len())
                .filter(pick)
                .map(|i| self.bodies[i].as_slice())
                .collect(),
            rows: (0..self.rows.len())
                .filter(pick)
                .map(|i| self.rows[i])
                .collect(),
            header: &self.header,
        }
    }
}

fn generate(events: usize, chunk: usize, real: bool, adversarial: bool) -> Data {
    let header = header_line();
    let mut g = Gen::new();
    g.real = real;
    g.adversarial = adversarial;
    let mut bodies = Vec::new();
    let mut rows = Vec::new();
    let mut row_bytes = 0;
    let mut left = events;
    while left > 0 {
        let n = left.min(chunk);
        left -= n;
        let mut body = Vec::with_capacity(header.len() + n * 700);
        body.extend_from_slice(&header);
        for _ in 0..n {
            let start = body.len();
            push_row(&mut body, &g.row());
            row_bytes += body.len() - start;
        }
        body.shrink_to_fit();
        bodies.push(body);
        rows.push(n);
    }
    Data {
        bodies,
        rows,
        header,
        mix: g.mix,
        row_bytes,
    }
}

/// `--linearity` (issue 5): the detection mode (or with `--correlate`, the
/// one-process correlation) over 100,000, 1,000,000 and `--events` events,
/// same mix and chunk size; prints CPU-seconds per million events
/// for each (best of `--runs`) and their ratio: 1.0 is linear, a quadratic
/// path would show as ~100 at 10M.
fn linearity(args: &Args, tck: f64) -> Res<()> {
    let mode = if args.correlate {
        CORRELATE_MODES[0]
    } else {
        MODES[0]
    };
    let mut per_million = Vec::new();
    let mut sizes = vec![100_000, 1_000_000, args.events];
    sizes.dedup();
    for &events in &sizes {
        let data = generate(events, args.chunk, args.real_mix, args.adversarial);
        let mut replies = Vec::new();
        let mut best: Option<Measure> = None;
        for _ in 0..args.runs {
            let (me, _) = run_once(&args.bin, mode, &data.feed(), tck, &mut replies)?;
            if best.as_ref().is_none_or(|b| me.cpu < b.cpu) {
                best = Some(me);
            }
        }
        let best = best.expect("--runs is positive");
        let pm = best.cpu / events as f64 * 1e6;
        println!(
            "{:<24} {events:>10} events  cpu {:>8.3} s  wall {:>8.3} s  {pm:.3} CPU-s per million events  peak RSS {:.1} MB",
            mode.name,
            best.cpu,
            best.wall,
            best.rss_kib as f64 / 1024.0
        );
        per_million.push(pm);
    }
    // At 100k the start (patterns compiled, first buffers) is a visible
    // share; the ratio to the middle size shows the steady state.
    for (i, &events) in sizes.iter().enumerate().take(sizes.len() - 1) {
        println!(
            "linearity: CPU per event at {} / at {events} = {:.2} (1.00 = linear; above 1 grows faster than linear)",
            args.events,
            per_million[sizes.len() - 1] / per_million[i].max(1e-12)
        );
    }
    Ok(())
}

/// One row as splunkd encodes it: the values, then their empty `__mv_`
/// companions (single values).
fn push_row(body: &mut Vec<u8>, row: &[String]) {
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        push_value(body, v);
    }
    body.extend_from_slice(&[b','; COLUMNS.len()]);
    body.push(b'\n');
}

/// `--field-mb`: one more Sysmon row in the first chunk, a remote-exec
/// child whose CommandLine is `mb` MB (issue 5: a chunk with a 100 MB field).
fn add_big_field(data: &mut Data, mb: usize) {
    let mut field = String::from("winrs -r:dc01.corp.example cmd /c ");
    field.extend(std::iter::repeat_n('A', (mb << 20) - field.len()));
    let mut row: Vec<String> = vec![String::new(); COLUMNS.len()];
    for (name, value) in [
        ("_time", "1700000000"),
        (
            "source",
            "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
        ),
        ("EventCode", "1"),
        ("Computer", "WKS01"),
        ("Image", "C:\\Windows\\System32\\cmd.exe"),
        ("ParentImage", "C:\\Windows\\System32\\wsmprovhost.exe"),
    ] {
        row[COLUMNS.iter().position(|c| *c == name).unwrap()] = value.to_string();
    }
    row[COLUMNS.iter().position(|c| *c == "CommandLine").unwrap()] = field;
    let body = &mut data.bodies[0];
    let start = body.len();
    push_row(body, &row);
    data.row_bytes += body.len() - start;
    data.rows[0] += 1;
}

// ------------------------------------------------------------ protocol ----

fn getinfo(args: &[&str]) -> Vec<u8> {
    let meta = serde_json::json!({
        "action": "getinfo",
        "preview": false,
        "streaming_command_will_restart": false,
        "searchinfo": {
            "args": args,
            "raw_args": args,
            "dispatch_dir": "/tmp",
            "sid": "1.1",
            "app": "winrmdetect",
            "owner": "admin",
            "username": "admin",
            "session_key": "x",
            "splunkd_uri": "https://127.0.0.1:8089",
            "splunk_version": "9.1.0",
            "search": "%7C%20winrmdetect",
            "command": "winrmdetect",
            "maxresultrows": 50000,
            "earliest_time": "0",
            "latest_time": "0"
        }
    });
    meta.to_string().into_bytes()
}

const EXECUTE: &[u8] = br#"{"action":"execute","finished":false}"#;
const EXECUTE_FINISHED: &[u8] = br#"{"action":"execute","finished":true}"#;

fn write_frame(w: &mut impl Write, meta: &[u8], body: &[u8]) -> std::io::Result<()> {
    writeln!(w, "chunked 1.0,{},{}", meta.len(), body.len())?;
    w.write_all(meta)?;
    w.write_all(body)?;
    Ok(())
}

/// Reads one frame; `body` is cleared and filled. Returns the metadata.
fn read_frame(r: &mut impl BufRead, body: &mut Vec<u8>) -> Res<Vec<u8>> {
    let mut header = Vec::with_capacity(40);
    r.read_until(b'\n', &mut header)
        .map_err(|e| format!("reading a reply header: {e}"))?;
    if header.is_empty() {
        return Err("the command closed stdout before replying".into());
    }
    let text = std::str::from_utf8(&header).map_err(|_| "reply header is not UTF-8")?;
    let lens = text
        .strip_prefix("chunked 1.0,")
        .and_then(|t| t.strip_suffix('\n'))
        .and_then(|t| t.split_once(','))
        .and_then(|(m, b)| Some((m.parse::<u64>().ok()?, b.parse::<u64>().ok()?)));
    let (m, b) = lens.ok_or_else(|| format!("bad reply header {text:?}"))?;
    let mut meta = Vec::with_capacity(m as usize);
    r.by_ref()
        .take(m)
        .read_to_end(&mut meta)
        .map_err(|e| format!("reading reply metadata: {e}"))?;
    body.clear();
    r.by_ref()
        .take(b)
        .read_to_end(body)
        .map_err(|e| format!("reading a reply body: {e}"))?;
    if meta.len() as u64 != m || body.len() as u64 != b {
        return Err(format!(
            "reply truncated: header said {m}+{b} bytes, got {}+{}",
            meta.len(),
            body.len()
        ));
    }
    Ok(meta)
}

/// Checks reply metadata: a JSON object, no `error`, `finished` as expected.
/// Returns the number of inspector messages.
fn check_meta(meta: &[u8], finished: bool) -> Res<usize> {
    let v: serde_json::Value = serde_json::from_slice(meta)
        .map_err(|e| format!("reply metadata is not JSON ({e}): {:?}", lossy(meta)))?;
    if let Some(e) = v.get("error") {
        return Err(format!("the command reported an error: {e}"));
    }
    let f = v.get("finished").and_then(serde_json::Value::as_bool);
    if f.unwrap_or(false) != finished {
        return Err(format!(
            "reply says finished={f:?}, expected {finished}: {}",
            lossy(meta)
        ));
    }
    Ok(v.pointer("/inspector/messages")
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len))
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned()
}

// --------------------------------------------------------------- /proc ----

/// utime + stime in clock ticks (fields 14 and 15 of `/proc/<pid>/stat`).
fn cpu_ticks(pid: u32) -> Res<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').ok_or("bad /proc stat")? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3, so field k is f[k - 3].
    let num = |k: usize| f.get(k - 3).and_then(|s| s.parse::<u64>().ok());
    Ok(num(14).ok_or("no utime")? + num(15).ok_or("no stime")?)
}

/// Peak resident set size (`VmHWM`) in KiB.
fn peak_rss_kib(pid: u32) -> Res<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmHWM in /proc status".into())
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

// ----------------------------------------------------------------- run ----

#[derive(Clone, Copy)]
struct Mode {
    name: &'static str,
    args: &'static [&'static str],
    detect: bool,
    /// How many rows each reply must carry.
    check: Check,
}

/// Rows expected per reply.
#[derive(Clone, Copy, PartialEq)]
enum Check {
    /// As many as the request (every event passes through).
    Same,
    /// At most as many (the correlation map phase filters).
    AtMost,
    /// None before the last reply (correlation answers at the end).
    AtEnd,
}

const MODES: [Mode; 2] = [
    Mode {
        name: "winrmdetect (detection)",
        args: &[],
        detect: true,
        check: Check::Same,
    },
    Mode {
        name: "no-op passthrough",
        args: &["detect=false"],
        detect: false,
        check: Check::Same,
    },
];

/// `--correlate`: the correlation reduce phase over everything (what one
/// search head does with `local=true`) and the map phase that runs on each
/// indexer in the distributed form.
const CORRELATE_MODES: [Mode; 2] = [
    Mode {
        name: "correlate (reduce, all)",
        args: &["correlate=true", "summary=true", "local=true"],
        detect: false,
        check: Check::AtEnd,
    },
    Mode {
        name: "correlate map phase",
        args: &["phase=map"],
        detect: false,
        check: Check::AtMost,
    },
];

struct Measure {
    wall: f64,
    cpu: f64,
    rss_kib: u64,
}

#[derive(Default)]
struct Tally {
    rows: usize,
    columns: usize,
    labelled: usize,
    scored: usize,
    by_type: BTreeMap<String, usize>,
    inspector_messages: usize,
    bytes_out: usize,
}

/// One spawn of the command: getinfo, every data chunk, the final chunk.
/// `replies` is reused between runs (one buffer per request).
fn run_once(
    bin: &Path,
    mode: Mode,
    data: &Feed,
    tck: f64,
    replies: &mut Vec<Vec<u8>>,
) -> Res<(Measure, Tally)> {
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let pid = child.id();
    let mut stdin: ChildStdin = child.stdin.take().ok_or("no stdin")?;
    let stdout: ChildStdout = child.stdout.take().ok_or("no stdout")?;
    let mut out = BufReader::with_capacity(1 << 20, stdout);

    write_frame(&mut stdin, &getinfo(mode.args), b"").map_err(|e| format!("getinfo: {e}"))?;
    stdin.flush().map_err(|e| format!("getinfo: {e}"))?;
    let mut scratch = Vec::new();
    let meta = read_frame(&mut out, &mut scratch)?;
    let v: serde_json::Value =
        serde_json::from_slice(&meta).map_err(|e| format!("getinfo reply: {e}"))?;
    let kind = v.get("type").and_then(|t| t.as_str());
    if v.get("error").is_some() || !matches!(kind, Some("streaming" | "events" | "reporting")) {
        return Err(format!("unexpected getinfo reply {}", lossy(&meta)));
    }

    let requests = data.bodies.len() + 1;
    replies.resize_with(requests, Vec::new);
    let mut metas = Vec::with_capacity(requests);
    let cpu0 = cpu_ticks(pid)?;
    let t0 = Instant::now();
    let outcome = std::thread::scope(|s| {
        let writer = s.spawn(move || -> std::io::Result<ChildStdin> {
            for body in &data.bodies {
                write_frame(&mut stdin, EXECUTE, body)?;
            }
            write_frame(&mut stdin, EXECUTE_FINISHED, data.header)?;
            stdin.flush()?;
            Ok(stdin) // kept open until the measurements are taken
        });
        let mut read_all = || -> Res<(f64, u64, u64)> {
            for buf in replies.iter_mut() {
                metas.push(read_frame(&mut out, buf)?);
            }
            let wall = t0.elapsed().as_secs_f64();
            Ok((wall, cpu_ticks(pid)?, peak_rss_kib(pid)?))
        };
        let read = read_all();
        if read.is_err() {
            let _ = child.kill(); // unblock the writer
        }
        let written = writer
            .join()
            .map_err(|_| "writer thread panicked".to_string());
        (read, written)
    });
    let (wall, cpu1, rss_kib) = outcome.0?;
    let stdin = outcome.1?.map_err(|e| format!("writing requests: {e}"))?;
    drop(stdin);
    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
    let mut trailing = Vec::new();
    let _ = out.read_to_end(&mut trailing);
    if !status.success() {
        return Err(format!("{} exited with {status}", mode.name));
    }
    if !trailing.is_empty() {
        return Err(format!(
            "{} bytes after the last reply: {:?}",
            trailing.len(),
            lossy(&trailing)
        ));
    }
    let measure = Measure {
        wall,
        cpu: (cpu1 - cpu0) as f64 / tck,
        rss_kib,
    };

    // Verification, outside the timed phase.
    let mut tally = Tally::default();
    for (i, (meta, body)) in metas.iter().zip(replies.iter()).enumerate() {
        let last = i + 1 == requests;
        tally.inspector_messages += check_meta(meta, last)?;
        let expect = if last { 0 } else { data.rows[i] };
        let rows = count_rows(body, &mut tally)?;
        tally.bytes_out += body.len();
        let ok = match mode.check {
            Check::Same => rows == expect,
            Check::AtMost => rows <= expect,
            Check::AtEnd => last || rows == 0,
        };
        if !ok {
            return Err(format!(
                "{}: reply {i} has {rows} rows, request had {expect}",
                mode.name
            ));
        }
    }
    Ok((measure, tally))
}

fn count_rows(body: &[u8], tally: &mut Tally) -> Res<usize> {
    if body.is_empty() {
        return Ok(0);
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body);
    let headers = rdr
        .byte_headers()
        .map_err(|e| format!("reply CSV header: {e}"))?
        .clone();
    tally.columns = tally.columns.max(headers.len());
    let alert = headers.iter().position(|h| h == b"AlertType");
    let score = headers.iter().position(|h| h == b"risk_score");
    let mut rec = csv::ByteRecord::new();
    let mut rows = 0;
    while rdr
        .read_byte_record(&mut rec)
        .map_err(|e| format!("reply CSV: {e}"))?
    {
        rows += 1;
        if let Some(a) = alert.and_then(|i| rec.get(i)).filter(|a| !a.is_empty()) {
            tally.labelled += 1;
            *tally
                .by_type
                .entry(String::from_utf8_lossy(a).into_owned())
                .or_default() += 1;
            let s = score.and_then(|i| rec.get(i)).unwrap_or(b"");
            if std::str::from_utf8(s)
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok())
                .is_some_and(|s| s > 0.0)
            {
                tally.scored += 1;
            }
        }
    }
    tally.rows += rows;
    Ok(rows)
}

/// The `--correlate` verdicts: end-to-end events/s and peak RSS of the
/// reduce over everything, and how much the map phase forwards.
fn report_correlation(
    figures: &[(f64, f64, f64)],
    tallies: &[Option<Tally>],
    events: usize,
    bytes_in: usize,
) {
    let (wall, cpu, rss_mb) = figures[0];
    let n = events as f64;
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    let hops = tallies[0].as_ref().map_or(0, |t| t.rows);
    println!("correlation over {events} events: {hops} hop rows");
    println!(
        "  events per second (end to end)  {:>10.0}   target >= 1000000   {}",
        n / wall,
        verdict(n / wall >= 1_000_000.0)
    );
    println!(
        "  events per CPU-second           {:>10.0}",
        n / cpu.max(1e-9)
    );
    println!(
        "  peak RSS                        {:>10.1} MB target <= 1024 MB  {}",
        rss_mb,
        verdict(rss_mb <= 1024.0)
    );
    if let Some(map) = &tallies[1] {
        println!(
            "  map phase forwards {} of {} events ({:.1}%) and {:.1} of {:.1} MB ({:.1}%) to the reduce phase",
            map.rows,
            events,
            100.0 * map.rows as f64 / n,
            map.bytes_out as f64 / 1e6,
            bytes_in as f64 / 1e6,
            100.0 * map.bytes_out as f64 / bytes_in.max(1) as f64
        );
    }
}

/// Splunk's distributed form end to end: `indexers` map processes in
/// parallel, each over its share of the chunks (as each indexer streams its
/// own events), then one reduce process over everything the maps forwarded.
/// Wall time is the slowest map plus the reduce: splunkd overlaps the
/// two, so this is an upper bound. The hops must be those of one process.
fn distributed(args: &Args, data: &Data, indexers: usize, tck: f64, hops: usize) -> Res<()> {
    let t0 = Instant::now();
    let maps: Vec<Res<(Measure, Vec<Vec<u8>>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..indexers)
            .map(|peer| {
                s.spawn(move || {
                    let mut replies = Vec::new();
                    let share = data.share(peer, indexers);
                    let (m, _) =
                        run_once(&args.bin, CORRELATE_MODES[1], &share, tck, &mut replies)?;
                    replies.retain(|r| !r.is_empty());
                    Ok((m, replies))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("map thread panicked".into()))
            })
            .collect()
    });
    let map_wall = t0.elapsed().as_secs_f64();
    let mut forwarded: Vec<Vec<u8>> = Vec::new();
    let mut map_cpu = 0.0;
    for m in maps {
        let (me, replies) = m?;
        map_cpu += me.cpu;
        forwarded.extend(replies);
    }
    let mut scratch = Tally::default();
    let rows = forwarded
        .iter()
        .map(|b| count_rows(b, &mut scratch))
        .collect::<Res<Vec<usize>>>()?;
    let feed = Feed {
        bodies: forwarded.iter().map(Vec::as_slice).collect(),
        rows,
        header: b"",
    };
    let mut replies = Vec::new();
    let (reduce, tally) = run_once(&args.bin, CORRELATE_MODES[0], &feed, tck, &mut replies)?;
    if args.adversarial {
        // Over the evidence cap, which evidence is kept depends on the order
        // it arrives in, and the reduce sees the maps' output interleaved.
        println!(
            "  {indexers} indexers: {} hop rows (one process: {hops}; not compared: the evidence cap drops by arrival order)",
            tally.rows
        );
    } else if tally.rows != hops {
        return Err(format!(
            "{indexers} indexers: {} hop rows, one process found {hops}",
            tally.rows
        ));
    }
    let wall = map_wall + reduce.wall;
    let n = args.events as f64;
    println!(
        "distributed, {indexers} indexers (map processes in parallel on {} CPUs, then the reduce): {} hop rows",
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        tally.rows
    );
    println!(
        "  map wall {map_wall:.3} s (CPU {map_cpu:.3} s over all maps), reduce wall {:.3} s over {} forwarded events, peak RSS {:.1} MB",
        reduce.wall,
        scratch.rows,
        reduce.rss_kib as f64 / 1024.0
    );
    println!(
        "  events per second (end to end)  {:>10.0}   target >= 1000000   {}",
        n / wall,
        if n / wall >= 1_000_000.0 {
            "PASS"
        } else {
            "MISS"
        }
    );
    Ok(())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn real_main() -> Res<()> {
    let args = parse_args()?;
    if !args.bin.is_file() {
        return Err(format!(
            "{} not found: run `cargo build --release` first, or pass --bin",
            args.bin.display()
        ));
    }
    let tck = clock_ticks_per_second();
    if args.linearity {
        return linearity(&args, tck);
    }

    let t = Instant::now();
    let mut data = generate(args.events, args.chunk, args.real_mix, args.adversarial);
    if args.field_mb > 0 {
        add_big_field(&mut data, args.field_mb);
    }
    println!(
        "event mix: {}",
        if args.real_mix {
            "real (Mordor proportions)"
        } else if args.adversarial {
            "adversarial (all evidence; 1M hosts, 100k users, 30 days)"
        } else {
            "stress"
        }
    );
    let total_bytes: usize = data.bodies.iter().map(Vec::len).sum();
    let largest = data.bodies.iter().map(Vec::len).max().unwrap_or(0);
    let pct = |n: usize| 100.0 * n as f64 / args.events as f64;
    println!("winrmdetect benchmark (SCP v2 over pipes, Linux /proc accounting)");
    println!("binary: {}", args.bin.display());
    println!(
        "events: {}  chunk rows: {}  chunks: {} + final header-only  columns: {} (+{} __mv_)",
        args.events,
        args.chunk,
        data.bodies.len(),
        COLUMNS.len(),
        COLUMNS.len()
    );
    println!(
        "mix: sysmon {:.1}%  security {:.1}%  powershell {:.1}%  winrm/wmi {:.1}%  attack {:.2}% ({} rows)",
        pct(data.mix.sysmon),
        pct(data.mix.security),
        pct(data.mix.powershell),
        pct(data.mix.winrm_wmi),
        pct(data.mix.attack),
        data.mix.attack
    );
    println!(
        "request bodies: {:.1} MB total, average row {:.0} bytes, largest chunk body {} bytes ({:.1} MB); generated in {:.1} s",
        total_bytes as f64 / 1e6,
        data.row_bytes as f64 / args.events as f64,
        largest,
        largest as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    println!("clock ticks per second: {tck}");
    println!();

    let mut replies = Vec::new();
    let modes: &[Mode] = if args.correlate {
        &CORRELATE_MODES
    } else {
        &MODES
    };
    let mut measures: Vec<Vec<Measure>> = modes.iter().map(|_| Vec::new()).collect();
    let mut tallies: Vec<Option<Tally>> = modes.iter().map(|_| None).collect();
    for run in 1..=args.runs {
        for (m, mode) in modes.iter().enumerate() {
            let (me, ta) = run_once(&args.bin, *mode, &data.feed(), tck, &mut replies)?;
            println!(
                "run {run} {:<24} wall {:>7.3} s  cpu {:>7.3} s  peak RSS {:>7.1} MB  rows out {}",
                mode.name,
                me.wall,
                me.cpu,
                me.rss_kib as f64 / 1024.0,
                ta.rows
            );
            measures[m].push(me);
            tallies[m] = Some(ta);
        }
    }
    drop(replies);
    println!();

    struct Row {
        wall: f64,
        cpu: f64,
        rss_mb: f64,
    }
    let rows: Vec<Row> = measures
        .iter()
        .map(|ms| Row {
            wall: median(ms.iter().map(|m| m.wall).collect()),
            cpu: median(ms.iter().map(|m| m.cpu).collect()),
            rss_mb: median(ms.iter().map(|m| m.rss_kib as f64 / 1024.0).collect()),
        })
        .collect();
    let n = args.events as f64;
    let chunk_mb = largest as f64 / (1024.0 * 1024.0);
    println!(
        "median of {} runs (execute phase; RSS in MiB, 1 MB = 2^20 bytes here)",
        args.runs
    );
    println!(
        "| {:<24} | {:>9} | {:>7} | {:>12} | {:>7} | {:>14} | {:>12} | {:>15} |",
        "mode",
        "events",
        "wall s",
        "events/s",
        "CPU s",
        "events/CPU-s",
        "peak RSS MB",
        "RSS / chunk"
    );
    println!(
        "|{:-<26}|{:->11}|{:->9}|{:->14}|{:->9}|{:->16}|{:->14}|{:->17}|",
        "", "", "", "", "", "", "", ""
    );
    for (mode, r) in modes.iter().zip(&rows) {
        println!(
            "| {:<24} | {:>9} | {:>7.3} | {:>12.0} | {:>7.3} | {:>14.0} | {:>12.1} | {:>14.2}x |",
            mode.name,
            args.events,
            r.wall,
            n / r.wall,
            r.cpu,
            n / r.cpu.max(1e-9),
            r.rss_mb,
            r.rss_mb / chunk_mb
        );
    }
    println!();

    if args.correlate {
        let figures: Vec<(f64, f64, f64)> =
            rows.iter().map(|r| (r.wall, r.cpu, r.rss_mb)).collect();
        report_correlation(&figures, &tallies, args.events, total_bytes);
        let hops = tallies[0].as_ref().map_or(0, |t| t.rows);
        for indexers in [2, 4] {
            distributed(&args, &data, indexers, tck, hops)?;
        }
        return Ok(());
    }
    for (mode, t) in modes.iter().zip(&tallies) {
        let Some(t) = t else { continue };
        print!(
            "{}: rows out {} (= rows in), reply columns {}",
            mode.name, t.rows, t.columns
        );
        if t.inspector_messages > 0 {
            print!(", inspector messages {}", t.inspector_messages);
        }
        println!();
        if mode.detect {
            println!(
                "  rows with AlertType: {} ({:.2}%), of which risk_score > 0: {} ({:.2}%); generated attack rows: {}",
                t.labelled,
                pct(t.labelled),
                t.scored,
                pct(t.scored),
                data.mix.attack
            );
            for (k, v) in &t.by_type {
                println!("    {k:<28} {v}");
            }
        }
    }
    println!();

    let (det, pass) = (&rows[0], &rows[1]);
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    let cpu_ratio = det.cpu / pass.cpu.max(1e-9);
    let eps = n / det.cpu.max(1e-9);
    let rss_ratio = det.rss_mb / chunk_mb;
    if det.cpu < 0.05 || pass.cpu < 0.05 {
        println!(
            "note: child CPU time below 0.05 s: too short a run, or --bin is a wrapper whose child does the work; CPU figures are not meaningful"
        );
    }
    println!("targets (detection mode):");
    println!(
        "  CPU detection / passthrough      {cpu_ratio:>8.2}   target <= {TARGET_CPU_RATIO}        {}",
        verdict(cpu_ratio <= TARGET_CPU_RATIO)
    );
    println!(
        "  events per CPU-second            {eps:>8.0}   target >= {TARGET_EVENTS_PER_CPU_S:.0}   {}  ({:.1}x splunklib's ~{SPLUNKLIB_EVENTS_PER_CPU_S:.0})",
        verdict(eps >= TARGET_EVENTS_PER_CPU_S),
        eps / SPLUNKLIB_EVENTS_PER_CPU_S
    );
    println!(
        "  peak RSS / largest chunk body    {rss_ratio:>8.2}x  target < {TARGET_RSS_PER_CHUNK}x          {}  ({:.1} MB vs 3 x {:.1} MB = {:.1} MB; splunklib ~{SPLUNKLIB_RSS_MB:.0} MB at 50k-row chunks)",
        verdict(rss_ratio < TARGET_RSS_PER_CHUNK),
        det.rss_mb,
        chunk_mb,
        TARGET_RSS_PER_CHUNK * chunk_mb
    );
    println!(
        "  (passthrough: {:.0} events per CPU-second, peak RSS {:.2}x the largest chunk)",
        n / pass.cpu.max(1e-9),
        pass.rss_mb / chunk_mb
    );
    Ok(())
}
