//! Tests of the packaged Splunk app (`dist/winrmdetect-<version>.tgz`).
//!
//! `scripts/test` builds the package with `scripts/build-app` and runs the test
//! suite with two environment variables:
//!
//! * `WINRMDETECT_APP_TGZ`: absolute path of the app tarball
//! * `WINRMDETECT_APPINSPECT`: absolute path of the `splunk-appinspect` executable
//!
//! Without them these tests fail (they never skip silently).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const APP_ID: &str = "winrmdetect";
const HOW_TO_RUN: &str = "run scripts/test (it builds the app and sets WINRMDETECT_APP_TGZ)";

const REQUIRED_FILES: &[&str] = &[
    "app.manifest",
    "README.md",
    "README/winrmdetect.conf.spec",
    "default/app.conf",
    "default/commands.conf",
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

fn env_path(var: &str) -> PathBuf {
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

fn app_tgz() -> PathBuf {
    env_path("WINRMDETECT_APP_TGZ")
}

/// One line of `tar -tvzf`.
struct TarEntry {
    mode: String,
    path: String,
}

fn list_tgz(tgz: &Path) -> Vec<TarEntry> {
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
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
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
fn extract_app(tgz: &Path) -> (TempDir, PathBuf) {
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

fn read_text(path: &Path) -> String {
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
    let linux = entries
        .iter()
        .find(|e| e.path == LINUX_BIN)
        .unwrap_or_else(|| panic!("{LINUX_BIN} missing"));
    assert_eq!(linux.mode, "-rwxr-xr-x", "{LINUX_BIN} must be 755");
    let windows = entries.iter().any(|e| e.path == WINDOWS_BIN);
    assert_eq!(
        windows,
        entries.iter().any(|e| e.path == WINDOWS_INPUT),
        "both Windows programs or neither"
    );
    println!(
        "package {}: {} entries, windows binary {}",
        tgz.display(),
        entries.len(),
        if windows { "present" } else { "absent" }
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
    assert_eq!(
        conf_value(&commands, "commands.conf", APP_ID, "filename"),
        APP_ID
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
        assert_eq!(get("action.risk"), "1", "[{name}] action.risk");
        let risk: serde_json::Value = serde_json::from_str(get("action.risk.param._risk"))
            .unwrap_or_else(|e| panic!("[{name}] action.risk.param._risk is not JSON: {e}"));
        assert!(
            risk.as_array().is_some_and(|a| !a.is_empty()),
            "[{name}] action.risk.param._risk must be a non-empty JSON array"
        );
        referenced.extend(backtick_macros(spl));
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

/// The Linux programs are static-pie x86-64 ELFs; the Windows ones (if any) PEs.
fn check_binaries(app: &Path) {
    assert_static_pie_x86_64(&app.join("linux_x86_64/bin/winrmdetect"));
    assert_static_pie_x86_64(&app.join("linux_x86_64/bin/evtx_input"));
    for exe in ["winrmdetect.exe", "evtx_input.exe"] {
        let exe = app.join("windows_x86_64/bin").join(exe);
        if !exe.exists() {
            continue;
        }
        let bytes = fs::read(&exe).unwrap_or_else(|e| panic!("reading {}: {e}", exe.display()));
        assert!(
            bytes.starts_with(b"MZ"),
            "{} is not a PE file",
            exe.display()
        );
    }
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

#[test]
fn app_package_passes_appinspect() {
    let tgz = app_tgz();
    let appinspect = env_path("WINRMDETECT_APPINSPECT");
    let tmp = TempDir::new("appinspect");
    let report = tmp.0.join("appinspect.json");
    let out = Command::new(&appinspect)
        .arg("inspect")
        .arg(&tgz)
        .args([
            "--mode",
            "precert",
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
    let summary = &json["summary"];
    let count = |key: &str| summary[key].as_u64().unwrap_or(0);
    println!("AppInspect summary: {summary}");

    let mut problems = Vec::new();
    for report in json["reports"].as_array().into_iter().flatten() {
        for group in report["groups"].as_array().into_iter().flatten() {
            for check in group["checks"].as_array().into_iter().flatten() {
                let result = check["result"].as_str().unwrap_or("");
                if matches!(result, "failure" | "error" | "warning") {
                    let messages: Vec<&str> = check["messages"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|m| m["message"].as_str())
                        .collect();
                    let line = format!("{result}: {} {}", check["name"], messages.join(" | "));
                    println!("{line}");
                    if result != "warning" {
                        problems.push(line);
                    }
                }
            }
        }
    }
    assert!(
        summary.is_object(),
        "AppInspect report has no summary (exit {:?})",
        out.status.code()
    );
    assert_eq!(
        (count("failure"), count("error")),
        (0, 0),
        "AppInspect failures/errors:\n{}",
        problems.join("\n")
    );
}
