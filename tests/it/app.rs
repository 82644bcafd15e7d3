//! Tests of the packaged Splunk app (`dist/winrmdetect-<version>.tgz`).
//!
//! `bin/test` builds the package with `bin/build-app` and runs the test
//! suite with two environment variables:
//!
//! * `WINRMDETECT_APP_TGZ`: absolute path of the app tarball
//! * `WINRMDETECT_APPINSPECT`: absolute path of the `splunk-appinspect` executable
//! * `WINRMDETECT_APP_TGZ_CLOUD`: the Cloud package (`bin/build-app --cloud`)
//! * `WINRMDETECT_APP_TGZ_CLOUD_NONPIE`: the Cloud package built with a non-PIE
//!   static Linux binary (`bin/test` builds it)
//!
//! * `WINRMDETECT_WINE` (optional): the `wine` program that runs the Windows
//!   binaries; without it `wine64`/`wine` on `PATH` or Debian's
//!   `/usr/lib/wine/wine64`
//!
//! Without them these tests fail (they never skip silently). The package must
//! hold both platforms' programs: a Linux-only package
//! (`WINRMDETECT_BIN_WINDOWS=none`) fails them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::harness::{csv_chunks, fixture, fixture_path, run_binary, run_program, session};
use crate::harness::{Expect, Run, TIME_LIMIT};

const APP_ID: &str = "winrmdetect";
const HOW_TO_RUN: &str = "run bin/test (it builds the app and sets WINRMDETECT_APP_TGZ)";

const REQUIRED_FILES: &[&str] = &[
    "app.manifest",
    "README.md",
    "README/winrmdetect.conf.spec",
    "default/app.conf",
    "default/commands.conf",
    "default/distsearch.conf",
    "default/searchbnf.conf",
    "default/macros.conf",
    "default/savedsearches.conf",
    "default/winrmdetect.conf",
    "metadata/default.meta",
    "static/appIcon.png",
    "static/appIcon_2x.png",
    "static/appIconAlt.png",
    "static/appIconAlt_2x.png",
    "static/appLogo.png",
    "static/appLogo_2x.png",
    "linux_x86_64/bin/winrmdetect",
    "linux_x86_64/bin/evtx_input",
    "windows_x86_64/bin/winrmdetect.exe",
    "windows_x86_64/bin/evtx_input.exe",
    "default/inputs.conf",
    "README/inputs.conf.spec",
];

const LINUX_BIN: &str = "winrmdetect/linux_x86_64/bin/winrmdetect";
const WINDOWS_BIN: &str = "winrmdetect/windows_x86_64/bin/winrmdetect.exe";
const LINUX_INPUT: &str = "winrmdetect/linux_x86_64/bin/evtx_input";
const WINDOWS_INPUT: &str = "winrmdetect/windows_x86_64/bin/evtx_input.exe";

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

pub(crate) fn env_path(var: &str) -> PathBuf {
    let value = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("{var} is not set: {HOW_TO_RUN}"));
    let path = PathBuf::from(value);
    assert!(
        path.exists(),
        "{var}={} does not exist: {HOW_TO_RUN}",
        path.display()
    );
    path
}

pub(crate) fn app_tgz() -> PathBuf {
    env_path("WINRMDETECT_APP_TGZ")
}

/// One line of `tar -tvzf`.
pub(crate) struct TarEntry {
    pub(crate) mode: String,
    pub(crate) path: String,
}

pub(crate) fn list_tgz(tgz: &Path) -> Vec<TarEntry> {
    let out = Command::new("tar")
        .arg("-tvzf")
        .arg(tgz)
        .output()
        .expect("running tar -tvzf");
    assert!(
        out.status.success(),
        "tar -tvzf {} failed: {}",
        tgz.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("tar listing is UTF-8")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            // -rw-r--r-- 0/0  1154 2026-01-01 00:00 winrmdetect/README.md
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert!(fields.len() >= 6, "unexpected tar -tv line: {line}");
            TarEntry {
                mode: fields[0].to_string(),
                path: fields[5..].join(" "),
            }
        })
        .collect()
}

/// A temporary directory removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "winrmdetect-it-{tag}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("creating temp dir {}: {e}", dir.display()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Extracts the tarball; returns the temp dir and the app directory inside it.
pub(crate) fn extract_app(tgz: &Path) -> (TempDir, PathBuf) {
    let tmp = TempDir::new("extract");
    let out = Command::new("tar")
        .arg("-xzf")
        .arg(tgz)
        .arg("-C")
        .arg(&tmp.0)
        .output()
        .expect("running tar -xzf");
    assert!(
        out.status.success(),
        "tar -xzf {} failed: {}",
        tgz.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let app = tmp.0.join(APP_ID);
    assert!(app.is_dir(), "no {APP_ID}/ directory in {}", tgz.display());
    (tmp, app)
}

pub(crate) fn read_text(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A Splunk .conf file: stanza name -> (key -> value), in file order of stanzas.
type Conf = BTreeMap<String, BTreeMap<String, String>>;

/// Minimal .conf parser: `[stanza]`, `key = value`, `#` comments and
/// trailing-backslash continuation lines. Duplicate stanzas or keys fail.
fn parse_conf(path: &Path) -> Conf {
    let text = read_text(path);
    let mut conf = Conf::new();
    let mut stanza = String::from("default");
    let mut lines = text.lines().enumerate();
    while let Some((n, raw)) = lines.next() {
        let mut line = raw.trim_end().to_string();
        while line.ends_with('\\') {
            line.pop();
            match lines.next() {
                Some((_, next)) => {
                    line.push('\n');
                    line.push_str(next.trim_end());
                }
                None => break,
            }
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            stanza = trimmed[1..trimmed.len() - 1].to_string();
            assert!(
                !conf.contains_key(&stanza),
                "{}:{}: duplicate stanza [{stanza}]",
                path.display(),
                n + 1
            );
            conf.insert(stanza.clone(), BTreeMap::new());
            continue;
        }
        let (key, value) = trimmed.split_once('=').unwrap_or_else(|| {
            panic!(
                "{}:{}: expected `key = value`: {trimmed}",
                path.display(),
                n + 1
            )
        });
        let key = key.trim().to_string();
        let previous = conf
            .entry(stanza.clone())
            .or_default()
            .insert(key.clone(), value.trim().to_string());
        assert!(
            previous.is_none(),
            "{}:{}: duplicate key {key} in [{stanza}]",
            path.display(),
            n + 1
        );
    }
    conf
}

fn conf_value<'a>(conf: &'a Conf, file: &str, stanza: &str, key: &str) -> &'a str {
    conf.get(stanza)
        .unwrap_or_else(|| panic!("{file}: missing stanza [{stanza}]"))
        .get(key)
        .unwrap_or_else(|| panic!("{file}: [{stanza}] has no `{key}`"))
}

/// Names of the macros used in backticks, without their argument list.
fn backtick_macros(spl: &str) -> Vec<String> {
    spl.split('`')
        .skip(1)
        .step_by(2)
        .map(|m| m.split('(').next().unwrap_or(m).trim().to_string())
        .collect()
}

/// Checks the ELF header and program headers of an x86-64 Linux executable:
/// PIE (`ET_DYN`) and no `PT_INTERP`, i.e. static-pie.
fn assert_static_pie_x86_64(path: &Path) {
    const ET_DYN: u16 = 3;
    const EM_X86_64: u16 = 62;
    const PT_INTERP: u32 = 3;
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let what = path.display();
    assert!(
        bytes.len() >= 64 && bytes[..4] == *b"\x7fELF",
        "{what} is not an ELF file"
    );
    assert_eq!(bytes[4], 2, "{what}: not a 64-bit ELF");
    assert_eq!(bytes[5], 1, "{what}: not little-endian");
    let u16_at = |off: usize| u16::from_le_bytes([bytes[off], bytes[off + 1]]);
    let u32_at = |off: usize| u32::from_le_bytes(bytes[off..off + 4].try_into().expect("4 bytes"));
    let u64_at = |off: usize| u64::from_le_bytes(bytes[off..off + 8].try_into().expect("8 bytes"));
    assert_eq!(u16_at(0x12), EM_X86_64, "{what}: e_machine is not x86-64");
    assert_eq!(
        u16_at(0x10),
        ET_DYN,
        "{what}: not a PIE executable (AppInspect fails non-PIE x86_64 ELF binaries)"
    );
    let phoff = usize::try_from(u64_at(0x20)).expect("e_phoff fits usize");
    let phentsize = usize::from(u16_at(0x36));
    let phnum = usize::from(u16_at(0x38));
    assert!(phnum > 0, "{what}: no program headers");
    assert!(
        phoff + phnum * phentsize <= bytes.len(),
        "{what}: program headers out of bounds"
    );
    for i in 0..phnum {
        let p_type = u32_at(phoff + i * phentsize);
        assert_ne!(
            p_type, PT_INTERP,
            "{what}: has a PT_INTERP program header, i.e. is dynamically linked; it must be static"
        );
    }
}

/// Checks the headers of a Windows x86-64 console executable: `MZ`, the
/// `PE\0\0` signature at `e_lfanew`, COFF machine `IMAGE_FILE_MACHINE_AMD64`
/// (0x8664), an executable image that is not a DLL, a PE32+ optional header
/// (magic 0x20b) and the console subsystem (stdin/stdout are the protocol).
fn assert_pe32_plus_x86_64_console(path: &Path) {
    const IMAGE_FILE_MACHINE_AMD64: u16 = 0x8664;
    const IMAGE_FILE_EXECUTABLE_IMAGE: u16 = 0x0002;
    const IMAGE_FILE_DLL: u16 = 0x2000;
    const PE32_PLUS_MAGIC: u16 = 0x20b;
    const IMAGE_SUBSYSTEM_WINDOWS_CUI: u16 = 3;
    let what = path.display();
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("reading {what}: {e}"));
    assert!(
        bytes.len() >= 0x40 && bytes.starts_with(b"MZ"),
        "{what} is not a PE file (no MZ header)"
    );
    let u16_at = |off: usize| u16::from_le_bytes([bytes[off], bytes[off + 1]]);
    let u32_at = |off: usize| u32::from_le_bytes(bytes[off..off + 4].try_into().expect("4 bytes"));
    let pe = usize::try_from(u32_at(0x3c)).expect("e_lfanew fits usize");
    let coff = pe + 4;
    let optional = coff + 20;
    // The optional header up to and including Subsystem (offset 68).
    assert!(
        optional + 70 <= bytes.len(),
        "{what}: PE headers (e_lfanew {pe:#x}) out of bounds"
    );
    assert_eq!(
        &bytes[pe..coff],
        b"PE\0\0",
        "{what}: no PE signature at e_lfanew {pe:#x}"
    );
    let machine = u16_at(coff);
    assert_eq!(
        machine, IMAGE_FILE_MACHINE_AMD64,
        "{what}: COFF machine {machine:#06x} is not x86-64 (0x8664)"
    );
    let characteristics = u16_at(coff + 18);
    assert!(
        characteristics & IMAGE_FILE_EXECUTABLE_IMAGE != 0 && characteristics & IMAGE_FILE_DLL == 0,
        "{what}: COFF characteristics {characteristics:#06x}: not an executable image, or a DLL"
    );
    assert!(
        usize::from(u16_at(coff + 16)) >= 70,
        "{what}: optional header too short"
    );
    let magic = u16_at(optional);
    assert_eq!(
        magic, PE32_PLUS_MAGIC,
        "{what}: optional header magic {magic:#06x} is not PE32+ (0x20b)"
    );
    let subsystem = u16_at(optional + 68);
    assert_eq!(
        subsystem, IMAGE_SUBSYSTEM_WINDOWS_CUI,
        "{what}: subsystem {subsystem} is not the console (3)"
    );
}

// ---------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------

#[test]
fn app_package_layout_and_file_modes() {
    let tgz = app_tgz();
    let entries = list_tgz(&tgz);
    assert!(!entries.is_empty(), "{} is empty", tgz.display());

    for e in &entries {
        let path = e.path.trim_end_matches('/');
        assert!(
            path == APP_ID || path.starts_with("winrmdetect/"),
            "entry outside the top directory winrmdetect/: {}",
            e.path
        );
        for component in path.split('/') {
            assert!(
                !component.starts_with('.'),
                "dot file in package: {}",
                e.path
            );
            assert!(
                component != "local" && component != "local.meta" && component != "__MACOSX",
                "forbidden local/ or local.meta in package: {}",
                e.path
            );
        }
        match e.mode.chars().next() {
            Some('d') => assert_eq!(e.mode, "drwxr-xr-x", "directory {} should be 755", e.path),
            Some('-') => {
                let expected = if [LINUX_BIN, WINDOWS_BIN, LINUX_INPUT, WINDOWS_INPUT]
                    .contains(&e.path.as_str())
                {
                    "-rwxr-xr-x"
                } else {
                    "-rw-r--r--"
                };
                assert_eq!(e.mode, expected, "wrong mode on {}", e.path);
            }
            _ => panic!(
                "unexpected entry type (links are not allowed): {} {}",
                e.mode, e.path
            ),
        }
    }

    for f in REQUIRED_FILES {
        let full = format!("{APP_ID}/{f}");
        assert!(
            entries
                .iter()
                .any(|e| e.path == full && e.mode.starts_with('-')),
            "required file missing from package: {full}"
        );
    }
    // Both platforms' programs, executable: a package without the Windows
    // ones (no cross linker, or WINRMDETECT_BIN_WINDOWS=none) fails here.
    for bin in [LINUX_BIN, LINUX_INPUT, WINDOWS_BIN, WINDOWS_INPUT] {
        let entry = entries
            .iter()
            .find(|e| e.path == bin)
            .unwrap_or_else(|| panic!("{bin} missing from {}", tgz.display()));
        assert_eq!(entry.mode, "-rwxr-xr-x", "{bin} must be 755");
    }
    println!(
        "package {}: {} entries, Linux and Windows programs present",
        tgz.display(),
        entries.len()
    );
}

#[test]
fn app_package_conf_contents() {
    let tgz = app_tgz();
    let (_tmp, app) = extract_app(&tgz);
    let version = env!("CARGO_PKG_VERSION");

    // commands.conf: chunked protocol (SCP v2).
    let commands = parse_conf(&app.join("default/commands.conf"));
    assert_eq!(
        conf_value(&commands, "commands.conf", APP_ID, "chunked"),
        "true"
    );
    // No `filename`: commands.conf.spec searches `.exe` only without it
    // (tests/it/bundle.rs emulates the resolution per platform).
    assert!(
        !commands[APP_ID].contains_key("filename"),
        "commands.conf must not set `filename` (Windows would not find winrmdetect.exe)"
    );

    check_versions(&app, version);
    let (n_searches, n_macros) = check_saved_searches_and_macros(&app);
    check_binaries(&app);
    println!("checked {n_searches} saved searches, {n_macros} macros, version {version}");
}

/// Versions agree: Cargo.toml, app.conf [launcher] and [id], app.manifest.
fn check_versions(app: &Path, version: &str) {
    let app_conf = parse_conf(&app.join("default/app.conf"));
    assert_eq!(
        conf_value(&app_conf, "app.conf", "launcher", "version"),
        version,
        "app.conf [launcher] version != Cargo.toml version"
    );
    assert_eq!(
        conf_value(&app_conf, "app.conf", "id", "version"),
        version,
        "app.conf [id] version != Cargo.toml version"
    );
    assert_eq!(conf_value(&app_conf, "app.conf", "package", "id"), APP_ID);
    let manifest: serde_json::Value = serde_json::from_str(&read_text(&app.join("app.manifest")))
        .expect("app.manifest is not valid JSON");
    assert_eq!(
        manifest["info"]["id"]["name"].as_str(),
        Some(APP_ID),
        "app.manifest info.id.name"
    );
    assert_eq!(
        manifest["info"]["id"]["version"].as_str(),
        Some(version),
        "app.manifest info.id.version != Cargo.toml version"
    );
}

/// Saved searches: disabled, use the command, RBA action with JSON `_risk`;
/// every referenced macro exists and every `*_filter` macro is `search *`.
fn check_saved_searches_and_macros(app: &Path) -> (usize, usize) {
    let macros = parse_conf(&app.join("default/macros.conf"));
    let saved = parse_conf(&app.join("default/savedsearches.conf"));
    let searches: Vec<_> = saved
        .iter()
        .filter(|(name, _)| *name != "default")
        .collect();
    assert!(!searches.is_empty(), "savedsearches.conf has no searches");
    let mut referenced = Vec::new();
    for (name, keys) in &searches {
        let get = |key: &str| {
            keys.get(key).map_or_else(
                || panic!("saved search [{name}] has no `{key}`"),
                String::as_str,
            )
        };
        assert!(
            matches!(get("disabled"), "true" | "1"),
            "saved search [{name}] must ship disabled"
        );
        let spl = get("search");
        assert!(
            spl.contains("| winrmdetect"),
            "saved search [{name}] does not use `| winrmdetect`: {spl}"
        );
        referenced.extend(backtick_macros(spl));
        if name.ends_with(" - Hunting") {
            assert!(
                !keys.contains_key("action.risk"),
                "[{name}] a hunting search has no risk action"
            );
            continue;
        }
        assert_eq!(get("action.risk"), "1", "[{name}] action.risk");
        let risk: serde_json::Value = serde_json::from_str(get("action.risk.param._risk"))
            .unwrap_or_else(|e| panic!("[{name}] action.risk.param._risk is not JSON: {e}"));
        assert!(
            risk.as_array().is_some_and(|a| !a.is_empty()),
            "[{name}] action.risk.param._risk must be a non-empty JSON array"
        );
    }
    for keys in macros.values() {
        if let Some(def) = keys.get("definition") {
            referenced.extend(backtick_macros(def));
        }
    }

    // Every referenced macro exists; every `*_filter` macro is the empty `search *`.
    let macro_names: BTreeMap<&str, &BTreeMap<String, String>> = macros
        .iter()
        .map(|(k, v)| (k.split('(').next().unwrap_or(k), v))
        .collect();
    referenced.sort();
    referenced.dedup();
    for name in &referenced {
        let keys = macro_names
            .get(name.as_str())
            .unwrap_or_else(|| panic!("macro `{name}` is used but not defined in macros.conf"));
        if name.ends_with("_filter") {
            assert_eq!(
                keys.get("definition").map(String::as_str),
                Some("search *"),
                "filter macro `{name}` must have `definition = search *`"
            );
        }
    }
    assert!(
        referenced.iter().any(|m| m == "winrmdetect_filter"),
        "no saved search uses `winrmdetect_filter`"
    );

    (searches.len(), macros.len())
}

/// The Linux programs are static-pie x86-64 ELFs, the Windows ones PE32+
/// x86-64 console executables; all four must be there.
fn check_binaries(app: &Path) {
    assert_static_pie_x86_64(&app.join("linux_x86_64/bin/winrmdetect"));
    assert_static_pie_x86_64(&app.join("linux_x86_64/bin/evtx_input"));
    assert_pe32_plus_x86_64_console(&app.join("windows_x86_64/bin/winrmdetect.exe"));
    assert_pe32_plus_x86_64_console(&app.join("windows_x86_64/bin/evtx_input.exe"));
}

/// The packaged modular input: its scheme (from the packaged Linux binary)
/// declares exactly the parameters README/inputs.conf.spec documents, and
/// default/inputs.conf sets the sourcetype the add-on's extractions need.
#[test]
fn app_package_modular_input_matches_its_spec() {
    let tgz = app_tgz();
    let (_tmp, app) = extract_app(&tgz);
    let out = Command::new(app.join("linux_x86_64/bin/evtx_input"))
        .arg("--scheme")
        .output()
        .expect("running the packaged evtx_input");
    assert!(out.status.success());
    let scheme = String::from_utf8(out.stdout).unwrap();
    let args: BTreeSet<String> = scheme
        .split("<arg name=\"")
        .skip(1)
        .map(|a| a.split('"').next().unwrap().to_string())
        .collect();
    let spec = read_text(&app.join("README/inputs.conf.spec"));
    let mut documented = BTreeSet::new();
    let mut in_stanza = false;
    for line in spec.lines() {
        if line.starts_with('[') {
            in_stanza = line == "[evtx_input://<name>]";
        } else if in_stanza && !line.starts_with(['#', '*', ' ']) {
            if let Some((k, _)) = line.split_once(" = ") {
                documented.insert(k.to_string());
            }
        }
    }
    assert_eq!(
        args, documented,
        "scheme arguments vs README/inputs.conf.spec"
    );
    assert!(scheme.contains("<streaming_mode>xml</streaming_mode>"));
    let inputs = parse_conf(&app.join("default/inputs.conf"));
    assert_eq!(
        conf_value(&inputs, "inputs.conf", "evtx_input", "sourcetype"),
        "XmlWinEventLog"
    );
    let interval: u64 = conf_value(&inputs, "inputs.conf", "evtx_input", "interval")
        .parse()
        .expect("a numeric interval");
    assert!(interval > 0);
}

/// What an AppInspect run reported.
struct Inspection {
    summary: serde_json::Value,
    /// (check name, result) of every check.
    results: BTreeMap<String, String>,
    /// "result: check messages" of every failure or error.
    problems: Vec<String>,
}

impl Inspection {
    fn count(&self, key: &str) -> u64 {
        // A report without the counts (another format, a crash half way)
        // must not read as "0 failures".
        self.summary
            .get(key)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_else(|| {
                panic!(
                    "AppInspect summary has no numeric `{key}`: {}",
                    self.summary
                )
            })
    }

    /// No failure and no error, and checks that ran.
    fn assert_clean(&self, what: &str) {
        assert_eq!(
            (self.count("failure"), self.count("error")),
            (0, 0),
            "AppInspect failures/errors on {what}:\n{}",
            self.problems.join("\n")
        );
        assert!(
            self.count("success") > 0,
            "AppInspect ran no check successfully on {what}: {}",
            self.summary
        );
    }

    fn result(&self, check: &str) -> &str {
        self.results
            .get(check)
            .unwrap_or_else(|| panic!("AppInspect did not report {check}"))
    }
}

/// Runs `splunk-appinspect inspect <tgz> <args>` with a JSON report.
fn appinspect(tgz: &Path, args: &[&str]) -> Inspection {
    let appinspect = env_path("WINRMDETECT_APPINSPECT");
    let tmp = TempDir::new("appinspect");
    let report = tmp.0.join("appinspect.json");
    let out = Command::new(&appinspect)
        .arg("inspect")
        .arg(tgz)
        .args(args)
        .args([
            "--skip-trusted-libraries-update",
            "--data-format",
            "json",
            "--output-file",
        ])
        .arg(&report)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", appinspect.display()));
    let text = fs::read_to_string(&report).unwrap_or_else(|e| {
        panic!(
            "AppInspect wrote no report ({e}); exit {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let json: serde_json::Value =
        serde_json::from_str(&text).expect("AppInspect JSON report does not parse");
    let summary = json["summary"].clone();
    assert!(
        summary.is_object(),
        "AppInspect report has no summary (exit {:?})",
        out.status.code()
    );
    println!("AppInspect {} {args:?}: {summary}", tgz.display());
    let mut results = BTreeMap::new();
    let mut problems = Vec::new();
    for report in json["reports"].as_array().into_iter().flatten() {
        for group in report["groups"].as_array().into_iter().flatten() {
            for check in group["checks"].as_array().into_iter().flatten() {
                let name = check["name"].as_str().unwrap_or("").to_string();
                let result = check["result"].as_str().unwrap_or("").to_string();
                if matches!(result.as_str(), "failure" | "error" | "warning") {
                    let messages: Vec<&str> = check["messages"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|m| m["message"].as_str())
                        .collect();
                    let line = format!("{result}: {name} {}", messages.join(" | "));
                    println!("{line}");
                    if result != "warning" {
                        problems.push(line);
                    }
                }
                results.insert(name, result);
            }
        }
    }
    Inspection {
        summary,
        results,
        problems,
    }
}

#[test]
fn app_package_passes_appinspect() {
    appinspect(&app_tgz(), &["--mode", "precert"]).assert_clean("the Enterprise package");
}

/// The libmagic MIME type of `path` (what AppInspect's binary checks key on).
fn mime_type(path: &Path) -> String {
    let out = Command::new("file")
        .args(["-b", "--mime-type"])
        .arg(path)
        .output()
        .expect("running file");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The Cloud package (`bin/build-app --cloud`): the command declared
/// search-head-only, every binary denylisted from the knowledge bundle, the
/// rest as the Enterprise package.
fn check_cloud_package(tgz: &Path) {
    let (_tmp, app) = extract_app(tgz);
    let commands = parse_conf(&app.join("default/commands.conf"));
    assert_eq!(
        conf_value(&commands, "commands.conf", APP_ID, "local"),
        "true"
    );
    // Named, so that AppInspect examines it (without `filename` AppInspect
    // 4.3.1 finds no program for the command at all).
    assert_eq!(
        conf_value(&commands, "commands.conf", APP_ID, "filename"),
        APP_ID
    );
    let dist = parse_conf(&app.join("default/distsearch.conf"));
    assert!(
        !dist.contains_key("replicationAllowlist"),
        "the Cloud package sends no program to the peers"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&read_text(&app.join("app.manifest"))).expect("app.manifest JSON");
    assert!(!manifest["targetWorkloads"]
        .as_array()
        .expect("targetWorkloads")
        .contains(&serde_json::json!("_indexers")));
    for f in REQUIRED_FILES {
        assert!(app.join(f).is_file(), "{f} missing from the Cloud package");
    }
}

#[test]
fn app_cloud_package_passes_appinspect_cloud_checks() {
    let tgz = env_path("WINRMDETECT_APP_TGZ_CLOUD");
    check_cloud_package(&tgz);
    let run = appinspect(&tgz, &["--mode", "precert", "--included-tags", "cloud"]);
    run.assert_clean("the Cloud package");
    assert_eq!(run.result("check_idx_binary_compatibility"), "success");
}

/// The Cloud package with a non-PIE Linux build, which libmagic calls
/// `application/x-executable`, so AppInspect does examine it: it must pass
/// because the command is search-head-only, and fail without `local = true`.
#[test]
fn app_cloud_package_with_a_non_pie_build_passes_for_the_right_reason() {
    let tgz = env_path("WINRMDETECT_APP_TGZ_CLOUD_NONPIE");
    check_cloud_package(&tgz);
    let (tmp, app) = extract_app(&tgz);
    let bin = app.join("linux_x86_64/bin/winrmdetect");
    assert_eq!(
        mime_type(&bin),
        "application/x-executable",
        "a non-PIE build"
    );
    let run = appinspect(&tgz, &["--mode", "precert", "--included-tags", "cloud"]);
    run.assert_clean("the Cloud package with a non-PIE build");
    assert_eq!(run.result("check_idx_binary_compatibility"), "success");

    // The control: the same package without `local = true` fails the
    // indexer-binary check on the command's binary.
    let conf = app.join("default/commands.conf");
    let text = read_text(&conf);
    assert!(text.contains("\nlocal = true\n"));
    fs::write(&conf, text.replace("\nlocal = true\n", "\n")).expect("rewrite commands.conf");
    let control = tmp.0.join("winrmdetect.tgz");
    let out = Command::new("tar")
        .arg("-czf")
        .arg(&control)
        .arg("-C")
        .arg(&tmp.0)
        .arg(APP_ID)
        .output()
        .expect("running tar -czf");
    assert!(
        out.status.success(),
        "tar -czf: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = appinspect(&control, &["--mode", "precert", "--included-tags", "cloud"]);
    assert_eq!(run.result("check_idx_binary_compatibility"), "failure");
    assert!(
        run.problems
            .iter()
            .any(|p| p.contains("check_idx_binary_compatibility") && p.contains("aarch64")),
        "{:?}",
        run.problems
    );
}

/// app.manifest: deployments include search head clustering; the app is
/// installed on search heads (and forwarders, for the input), never on
/// indexers (they get the command in the knowledge bundle); not "stable".
#[test]
fn app_package_manifest_is_honest() {
    let (_tmp, app) = extract_app(&app_tgz());
    let manifest: serde_json::Value =
        serde_json::from_str(&read_text(&app.join("app.manifest"))).expect("app.manifest JSON");
    let list = |key: &str| -> Vec<String> {
        manifest[key]
            .as_array()
            .unwrap_or_else(|| panic!("app.manifest {key}"))
            .iter()
            .map(|v| v.as_str().expect("string").to_string())
            .collect()
    };
    assert_eq!(
        list("supportedDeployments"),
        ["_standalone", "_distributed", "_search_head_clustering"]
    );
    assert_eq!(list("targetWorkloads"), ["_search_heads", "_forwarders"]);
    assert_eq!(
        manifest["info"]["classification"]["developmentStatus"].as_str(),
        Some("Alpha")
    );
}

// ---------------------------------------------------------------------------
// the packaged programs, run
// ---------------------------------------------------------------------------

/// The protocol session every packaged search command runs: getinfo, the
/// PowerShell-remoting fixture in chunks of 50 rows, a header-only finish.
fn psremoting_session() -> Vec<u8> {
    let bodies = csv_chunks(&fixture("mordor_psremoting.csv"), 50);
    assert!(bodies.len() > 2, "the fixture spans several chunks");
    session(&[], &bodies)
}

/// The number of rows with a non-empty `AlertType`.
fn labelled_rows(run: &Run) -> usize {
    run.rows()
        .iter()
        .filter(|r| !r.get("AlertType").is_empty())
        .count()
}

/// `got` replied exactly as `want`: the same number of replies, the same
/// metadata and the same body bytes, reply by reply.
fn assert_same_replies(got: &Run, want: &Run, what: &str) {
    assert_eq!(
        got.replies.len(),
        want.replies.len(),
        "{what}: number of replies"
    );
    for (i, (g, w)) in got.replies.iter().zip(&want.replies).enumerate() {
        assert_eq!(
            g.meta, w.meta,
            "{what}: metadata of reply {i} differs from the built binary's"
        );
        if g.body != w.body {
            let at = g
                .body
                .iter()
                .zip(&w.body)
                .position(|(a, b)| a != b)
                .unwrap_or(g.body.len().min(w.body.len()));
            let around = |b: &[u8]| {
                String::from_utf8_lossy(&b[at.min(b.len())..(at + 200).min(b.len())]).into_owned()
            };
            panic!(
                "{what}: body of reply {i} differs from the built binary's at byte {at} ({} vs {} bytes)\n{what}: {:?}\nbuilt: {:?}",
                g.body.len(),
                w.body.len(),
                around(&g.body),
                around(&w.body)
            );
        }
    }
}

/// The modular input's stdin: one stanza reading `evtx` into `wineventlog`,
/// checkpoints in `checkpoint_dir` (as tests/it/evtx.rs `config()`).
fn input_config(checkpoint_dir: &Path, evtx: &Path) -> String {
    fs::create_dir_all(checkpoint_dir)
        .unwrap_or_else(|e| panic!("creating {}: {e}", checkpoint_dir.display()));
    format!(
        "<input><server_host>sh</server_host><session_key>SECRETKEY</session_key><checkpoint_dir>{}</checkpoint_dir><configuration><stanza name=\"evtx_input://t\" app=\"winrmdetect\"><param name=\"path\">{}</param><param name=\"index\">wineventlog</param></stanza></configuration></input>",
        checkpoint_dir.display(),
        evtx.display()
    )
}

/// The EVTX file the packaged inputs read.
fn input_fixture() -> PathBuf {
    fixture_path("evtx/mdec_wmiexec_via_smb.evtx")
}

/// Runs a modular input (`cmd`, stdin `cfg`) under [`TIME_LIMIT`]; checks it
/// exited 0 and wrote a `<stream>` of whole `<event>`s (perhaps none);
/// returns the stream and the number of events.
fn run_modular_input(mut cmd: Command, cfg: &str, what: &str) -> (Vec<u8>, usize) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {what}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let cfg = cfg.as_bytes().to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&cfg));
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        stdout.read_to_end(&mut v).map(|_| v)
    });
    let mut stderr = child.stderr.take().expect("stderr");
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the input") {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} hung for more than {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    writer
        .join()
        .expect("stdin writer")
        .unwrap_or_else(|e| panic!("writing the configuration to {what}: {e}"));
    let out = reader
        .join()
        .expect("stdout reader")
        .unwrap_or_else(|e| panic!("reading {what}'s stdout: {e}"));
    let err = err_reader.join().expect("stderr reader");
    assert!(status.success(), "{what} exited with {status}: {err}");
    assert!(
        !err.contains("SECRETKEY"),
        "{what}: the session key reached stderr"
    );
    let text = String::from_utf8(out.clone()).unwrap_or_else(|e| panic!("{what}: stdout: {e}"));
    let body = text
        .strip_prefix("<stream>\n")
        .and_then(|t| t.strip_suffix("</stream>\n"))
        .unwrap_or_else(|| panic!("{what}: not one <stream>...</stream>: {text:.300}"));
    let mut events = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let end = rest
            .find("</event>\n")
            .map(|i| i + "</event>\n".len())
            .unwrap_or_else(|| panic!("{what}: an unterminated <event>: {rest:.300}"));
        assert!(
            rest.starts_with("<event "),
            "{what}: garbage between events: {rest:.300}"
        );
        events += 1;
        rest = &rest[end..];
    }
    (out, events)
}

/// The packaged Linux search command runs a whole protocol session through
/// the splunkd emulation and replies byte for byte as the freshly built
/// binary does (it reads the packaged `default/winrmdetect.conf`, the built
/// one its compiled-in defaults), labelling events on the way.
#[test]
fn app_package_linux_search_command_replies_as_the_built_one() {
    let (_tmp, app) = extract_app(&app_tgz());
    let packaged = app.join("linux_x86_64/bin/winrmdetect");
    let input = psremoting_session();
    let got = run_program(&packaged, input.clone(), &[], Expect::Clean);
    let want = run_binary(input, &[]);
    assert_same_replies(&got, &want, "packaged linux_x86_64/bin/winrmdetect");
    let labelled = labelled_rows(&got);
    assert!(
        labelled > 0,
        "the packaged command labelled no event of mordor_psremoting.csv"
    );
    println!(
        "packaged winrmdetect: {} replies, {} rows, {labelled} labelled, as the built binary",
        got.replies.len(),
        got.rows().len()
    );
}

/// The packaged Linux modular input emits the same `<event>` stream as the
/// freshly built one for a bundled EVTX file.
#[test]
fn app_package_linux_modular_input_emits_what_the_built_one_does() {
    let (tmp, app) = extract_app(&app_tgz());
    let events = assert_input_streams_as_built(
        &tmp,
        &|| Command::new(app.join("linux_x86_64/bin/evtx_input")),
        "packaged linux_x86_64/bin/evtx_input",
    );
    println!("packaged evtx_input: {events} events, as the built one");
}

/// Runs a modular input program (`what`, a fresh command from `program`)
/// on the bundled EVTX fixture and asserts its stream is byte for byte the
/// freshly built input's, and that a second run on the same checkpoints
/// emits nothing (its commits reached the disk); returns the number of
/// events.
fn assert_input_streams_as_built(
    tmp: &TempDir,
    program: &dyn Fn() -> Command,
    what: &str,
) -> usize {
    let evtx = input_fixture();
    let cfg = input_config(
        &tmp.0.join(format!("cp-{}", what.replace(['/', ' '], "_"))),
        &evtx,
    );
    let (got, events) = run_modular_input(program(), &cfg, what);
    assert!(events > 0, "{what} emitted no event");
    let (want, _) = run_modular_input(
        Command::new(env!("CARGO_BIN_EXE_evtx_input")),
        &input_config(&tmp.0.join("cp-built"), &evtx),
        "built evtx_input",
    );
    assert!(
        got == want,
        "{what}'s stream ({} bytes) differs from the built input's ({} bytes)",
        got.len(),
        want.len()
    );
    let (_, again) = run_modular_input(program(), &cfg, what);
    assert_eq!(
        again, 0,
        "{what} emitted {again} events again on its own checkpoints"
    );
    events
}

// ---------------------------------------------------------------------------
// the Windows programs, under Wine
// ---------------------------------------------------------------------------

/// The `wine` program: `WINRMDETECT_WINE`, else `wine64` or `wine` on `PATH`,
/// else Debian's `/usr/lib/wine/wine64` (the wine64 package alone installs
/// no `PATH` wrapper).
fn wine_program() -> PathBuf {
    if std::env::var_os("WINRMDETECT_WINE").is_some_and(|v| !v.is_empty()) {
        return env_path("WINRMDETECT_WINE");
    }
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| {
        std::env::split_paths(&p)
            .flat_map(|dir| [dir.join("wine64"), dir.join("wine")])
            .collect::<Vec<_>>()
    });
    on_path
        .chain([PathBuf::from("/usr/lib/wine/wine64")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "wine not found (WINRMDETECT_WINE, wine64/wine on PATH, /usr/lib/wine/wine64): \
                 the packaged Windows programs are run under Wine; install Debian's wine64 \
                 ({HOW_TO_RUN}; it installs it as root)"
            )
        })
}

/// A Wine prefix in a temporary directory; its wineserver is stopped and the
/// directory removed on drop.
struct Wine {
    wine: PathBuf,
    prefix: TempDir,
}

/// `ProcessPrng`, which Rust's std imports from `bcryptprimitives.dll` on
/// Windows 10+, for a Wine without that DLL (Wine < 9, e.g. Debian 12's 8.0).
const BCRYPTPRIMITIVES_SHIM: &str = r#"#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
"#;

impl Wine {
    /// Creates the prefix by running `exe --help` (Wine's first start is
    /// slow). When the Windows program cannot start because this Wine lacks
    /// `bcryptprimitives.dll`, a shim providing `ProcessPrng` is built with
    /// the MinGW-w64 compiler into the prefix's system32 (outside the
    /// package) and the program must then start.
    fn start(exe: &Path) -> Wine {
        let wine = Wine {
            wine: wine_program(),
            prefix: TempDir::new("wineprefix"),
        };
        let probe = wine
            .command(exe, "err+module")
            .arg("--help")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "running {} under {}: {e}",
                    exe.display(),
                    wine.wine.display()
                )
            });
        let stderr = String::from_utf8_lossy(&probe.stderr);
        let probe = if !probe.status.success() && stderr.contains("bcryptprimitives.dll") {
            println!("this Wine has no bcryptprimitives.dll: installing a ProcessPrng shim in the prefix");
            wine.install_bcryptprimitives_shim();
            wine.command(exe, "-all")
                .arg("--help")
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("running {} under Wine: {e}", exe.display()))
        } else {
            probe
        };
        assert!(
            probe.status.success()
                && String::from_utf8_lossy(&probe.stdout).contains("Usage: winrmdetect [COMMAND]"),
            "{} --help under {} (prefix {}): exit {:?}\nstdout:\n{}\nstderr:\n{}",
            exe.display(),
            wine.wine.display(),
            wine.prefix.0.display(),
            probe.status.code(),
            String::from_utf8_lossy(&probe.stdout),
            String::from_utf8_lossy(&probe.stderr)
        );
        wine
    }

    fn env(&self) -> [(&str, &str); 2] {
        [
            (
                "WINEPREFIX",
                self.prefix.0.to_str().expect("a UTF-8 temp dir"),
            ),
            ("WINEDEBUG", "-all"),
        ]
    }

    /// `wine exe` in this prefix, with `WINEDEBUG=debug`.
    fn command(&self, exe: &Path, debug: &str) -> Command {
        let mut cmd = Command::new(&self.wine);
        cmd.arg(exe)
            .env("WINEPREFIX", &self.prefix.0)
            .env("WINEDEBUG", debug)
            .env_remove("WINRMDETECT_APP_DIR");
        cmd
    }

    /// A shell script running `wine exe "$@"`, for the harness, which runs a
    /// program without arguments (the environment comes from [`Wine::env`]).
    fn wrapper(&self, exe: &Path) -> PathBuf {
        let quote = |p: &Path| {
            let s = p.to_str().expect("a UTF-8 path");
            format!("'{}'", s.replace('\'', r"'\''"))
        };
        let script = self.prefix.0.join("run-under-wine.sh");
        fs::write(
            &script,
            format!(
                "#!/bin/sh\nexec {} {} \"$@\"\n",
                quote(&self.wine),
                quote(exe)
            ),
        )
        .unwrap_or_else(|e| panic!("writing {}: {e}", script.display()));
        let mut perms = fs::metadata(&script)
            .expect("script metadata")
            .permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        fs::set_permissions(&script, perms).expect("chmod 755 the wrapper");
        script
    }

    fn install_bcryptprimitives_shim(&self) {
        let system32 = self.prefix.0.join("drive_c/windows/system32");
        assert!(
            system32.is_dir(),
            "Wine did not create {}",
            system32.display()
        );
        let source = self.prefix.0.join("bcryptprimitives.c");
        fs::write(&source, BCRYPTPRIMITIVES_SHIM).expect("writing the shim source");
        let out = Command::new("x86_64-w64-mingw32-gcc")
            .args(["-shared", "-O2", "-s", "-o"])
            .arg(system32.join("bcryptprimitives.dll"))
            .arg(&source)
            .arg("-ladvapi32")
            .output()
            .unwrap_or_else(|e| {
                panic!("running x86_64-w64-mingw32-gcc (Debian gcc-mingw-w64-x86-64, {HOW_TO_RUN}): {e}")
            });
        assert!(
            out.status.success(),
            "building the bcryptprimitives.dll shim failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        // Stop this prefix's wineserver (and the Wine processes it started)
        // before its directory goes.
        let wineserver = Some(self.wine.with_file_name("wineserver"))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("wineserver"));
        let _ = Command::new(wineserver)
            .arg("-k")
            .env("WINEPREFIX", &self.prefix.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The packaged Windows programs run under Wine: `winrmdetect.exe` through
/// the same protocol session as the Linux build, with identical replies, and
/// `evtx_input.exe` on the same EVTX file as the built Linux input, with an
/// identical `<event>` stream.
#[test]
fn app_package_windows_programs_run_under_wine_as_the_linux_ones() {
    let (tmp, app) = extract_app(&app_tgz());
    let exe = app.join("windows_x86_64/bin/winrmdetect.exe");
    let input_exe = app.join("windows_x86_64/bin/evtx_input.exe");
    let t0 = Instant::now();
    let wine = Wine::start(&exe);
    println!(
        "Wine prefix ready in {:?} ({})",
        t0.elapsed(),
        wine.wine.display()
    );

    let input = psremoting_session();
    let got = run_program(
        &wine.wrapper(&exe),
        input.clone(),
        &wine.env(),
        Expect::Clean,
    );
    let want = run_binary(input, &[]);
    assert_same_replies(&got, &want, "windows_x86_64/bin/winrmdetect.exe under Wine");
    let labelled = labelled_rows(&got);
    assert!(
        labelled > 0,
        "winrmdetect.exe labelled no event of mordor_psremoting.csv"
    );
    let replies = got.replies.len();

    let events = assert_input_streams_as_built(
        &tmp,
        &|| wine.command(&input_exe, "-all"),
        "windows_x86_64/bin/evtx_input.exe under Wine",
    );
    println!(
        "under Wine: winrmdetect.exe {replies} replies, {labelled} rows labelled; evtx_input.exe {events} events; as on Linux"
    );
}
