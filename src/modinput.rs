//! The `evtx_input` modular input: EVTX files on Linux/macOS Splunk become
//! `XmlWinEventLog` events, checkpointed.
//!
//! * `--scheme` prints the scheme; `--validate-arguments` reads `<items>` and
//!   answers `<error><message>…</message></error>` when a parameter is bad;
//!   no argument reads `<input>` and streams `<event>`s in XML mode.
//! * Checkpoints: one file per EVTX file identity (the first record's id and
//!   timestamp, so a renamed or copied file is the same log and a replaced
//!   one is new) in `checkpoint_dir`, written to a temporary file, synced
//!   and renamed, after the events before it were written and flushed.
//!   Each event is written (and flushed) before the checkpoint that covers
//!   it: a kill between the two repeats at most the events since the last
//!   checkpoint, never loses one.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;

use crate::error::{Error, Result};
use crate::evtx::{EvtxFile, Position, Rendered};

/// The scheme XML.
pub const SCHEME: &str = r#"<scheme>
    <title>EVTX files (winrmdetect)</title>
    <description>Reads Windows .evtx files on any platform and indexes them as XmlWinEventLog, as the Splunk Add-on for Microsoft Windows renders them.</description>
    <use_external_validation>true</use_external_validation>
    <use_single_instance>false</use_single_instance>
    <streaming_mode>xml</streaming_mode>
    <endpoint>
        <args>
            <arg name="path">
                <title>Path</title>
                <description>An .evtx file, a directory (every .evtx below it) or a glob (* and ? in the file name).</description>
                <data_type>string</data_type>
                <required_on_create>true</required_on_create>
            </arg>
            <arg name="channels">
                <title>Channels</title>
                <description>Comma-separated channels to keep, or "winrmdetect" for the channels the winrmdetect rules read; empty keeps all.</description>
                <data_type>string</data_type>
                <required_on_create>false</required_on_create>
            </arg>
            <arg name="event_ids">
                <title>Event IDs</title>
                <description>Comma-separated EventIDs to keep; empty keeps all.</description>
                <data_type>string</data_type>
                <required_on_create>false</required_on_create>
            </arg>
            <arg name="host_from_computer">
                <title>Host from Computer</title>
                <description>1 (default): host is the record's Computer; 0: the stanza's host.</description>
                <data_type>boolean</data_type>
                <required_on_create>false</required_on_create>
            </arg>
        </args>
    </endpoint>
</scheme>
"#;

/// The channels the winrmdetect rules read (`channels = winrmdetect`).
pub const PRESET_CHANNELS: [&str; 8] = [
    "Security",
    "Microsoft-Windows-Sysmon/Operational",
    "Microsoft-Windows-PowerShell/Operational",
    "Windows PowerShell",
    "Microsoft-Windows-WinRM/Operational",
    "Microsoft-Windows-WMI-Activity/Operational",
    "System",
    "Microsoft-Windows-Windows Remote Management/Operational",
];

/// One stanza's settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stanza {
    /// `evtx_input://name`.
    pub name: String,
    /// File, directory or glob.
    pub path: String,
    /// Channels kept (lower-case); empty = all.
    pub channels: BTreeSet<String>,
    /// EventIDs kept; empty = all.
    pub event_ids: BTreeSet<u32>,
    /// `index`, when given.
    pub index: Option<String>,
    /// `host`, when given.
    pub host: Option<String>,
    /// Take `host` from `<Computer>`.
    pub host_from_computer: bool,
}

/// The `<input>` document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputConfig {
    /// Where checkpoints go.
    pub checkpoint_dir: PathBuf,
    /// The stanzas.
    pub stanzas: Vec<Stanza>,
}

/// Params of `<input>` (stanzas) or `<items>` (one item), in order.
/// Stanzas or items: name and `(param, value)` pairs.
type Blocks = Vec<(String, Vec<(String, String)>)>;

fn parse_params(xml: &str) -> Result<(PathBuf, Blocks)> {
    let xml = xml.trim_start_matches('\u{feff}');
    let mut r = Reader::from_str(xml);
    let bad = |m: String| Error::Input(format!("malformed configuration XML: {m}"));
    let (mut checkpoint, mut blocks) = (PathBuf::new(), Vec::new());
    let (mut element, mut param): (String, Option<String>) = (String::new(), None);
    loop {
        match r.read_event().map_err(|e| bad(e.to_string()))? {
            XmlEvent::Start(e) => {
                element = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let name = e
                    .try_get_attribute("name")
                    .map_err(|e| bad(e.to_string()))?
                    .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
                match element.as_str() {
                    "stanza" | "item" => blocks.push((name.unwrap_or_default(), Vec::new())),
                    "param" | "param_list" => param = name,
                    _ => {}
                }
            }
            XmlEvent::Text(t) => {
                let v = t.unescape().map_err(|e| bad(e.to_string()))?.into_owned();
                if element == "checkpoint_dir" {
                    checkpoint = PathBuf::from(v.trim());
                } else if let (Some(p), Some((_, params))) = (&param, blocks.last_mut()) {
                    if element == "param" || element == "value" {
                        params.push((p.clone(), v));
                    }
                }
            }
            XmlEvent::End(e) => {
                let n = e.name();
                if n.as_ref() == b"param" || n.as_ref() == b"param_list" {
                    param = None;
                }
                element.clear();
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    Ok((checkpoint, blocks))
}

fn stanza_of(name: String, params: &[(String, String)]) -> Result<Stanza> {
    let get = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut s = Stanza {
        name,
        host_from_computer: true,
        ..Stanza::default()
    };
    s.path = get("path").ok_or_else(|| Error::Input("path is required".into()))?;
    if let Some(c) = get("channels") {
        for c in c.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            if c.eq_ignore_ascii_case("winrmdetect") {
                s.channels
                    .extend(PRESET_CHANNELS.iter().map(|c| c.to_ascii_lowercase()));
            } else {
                s.channels.insert(c.to_ascii_lowercase());
            }
        }
    }
    if let Some(ids) = get("event_ids") {
        for id in ids.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            s.event_ids.insert(
                id.parse()
                    .map_err(|_| Error::Input(format!("event_ids: {id:?} is not an EventID")))?,
            );
        }
    }
    if let Some(h) = get("host_from_computer") {
        s.host_from_computer = match h.to_ascii_lowercase().as_str() {
            "1" | "true" | "t" | "yes" | "y" => true,
            "0" | "false" | "f" | "no" | "n" => false,
            _ => {
                return Err(Error::Input(format!(
                    "host_from_computer: {h:?} is not a boolean"
                )))
            }
        };
    }
    s.index = get("index");
    s.host = get("host");
    Ok(s)
}

/// Parses the `<input>` document.
pub fn parse_input(xml: &str) -> Result<InputConfig> {
    let (checkpoint_dir, blocks) = parse_params(xml)?;
    let stanzas = blocks
        .into_iter()
        .map(|(n, p)| stanza_of(n, &p))
        .collect::<Result<Vec<_>>>()?;
    Ok(InputConfig {
        checkpoint_dir,
        stanzas,
    })
}

/// Checks the `<items>` document of `--validate-arguments`.
pub fn validate(xml: &str) -> Result<()> {
    let (_, blocks) = parse_params(xml)?;
    let (name, params) = blocks
        .into_iter()
        .next()
        .ok_or_else(|| Error::Input("no <item> in the validation request".into()))?;
    let s = stanza_of(name, &params)?;
    let files = expand(&s.path)?;
    if files.is_empty() && !is_glob(&s.path) && !Path::new(&s.path).is_dir() {
        return Err(Error::Input(format!("path {:?}: no such file", s.path)));
    }
    for f in &files {
        std::fs::File::open(f).map_err(|e| Error::File {
            context: format!("path {}: cannot read", f.display()),
            source: e,
        })?;
    }
    Ok(())
}

fn is_glob(p: &str) -> bool {
    p.contains('*') || p.contains('?')
}

/// The `.evtx` files a path names: the file, every `.evtx` below a
/// directory, or the matches of a glob in its last component.
pub fn expand(path: &str) -> Result<Vec<PathBuf>> {
    let p = Path::new(path);
    let mut out = Vec::new();
    if is_glob(path) {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = dir.unwrap_or(Path::new("."));
        if is_glob(&dir.to_string_lossy()) {
            return Err(Error::Input(format!(
                "path {path:?}: wildcards only in the file name"
            )));
        }
        let pat = p
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let entries = std::fs::read_dir(dir).map_err(|e| Error::File {
            context: format!("path {}: cannot list", dir.display()),
            source: e,
        })?;
        for e in entries.flatten() {
            if wildcard(&pat, &e.file_name().to_string_lossy()) && e.path().is_file() {
                out.push(e.path());
            }
        }
    } else if p.is_dir() {
        let mut stack = vec![p.to_path_buf()];
        while let Some(d) = stack.pop() {
            let entries = std::fs::read_dir(&d).map_err(|e| Error::File {
                context: format!("path {}: cannot list", d.display()),
                source: e,
            })?;
            for e in entries.flatten() {
                let ep = e.path();
                if ep.is_dir() {
                    stack.push(ep);
                } else if ep
                    .extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
                {
                    out.push(ep);
                }
            }
        }
    } else if p.is_file() {
        out.push(p.to_path_buf());
    }
    out.sort();
    Ok(out)
}

/// `*` and `?` matching.
fn wildcard(pat: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A file's identity: its first record's id and timestamp (bytes 0x1208..
/// 0x1218 of an EVTX file), as hex; `None` when the file has no record yet,
/// an error when it is not EVTX.
pub fn identity(path: &Path) -> Result<Option<String>> {
    const HEAD: u64 = 0x1218;
    let mut head = Vec::with_capacity(HEAD as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(HEAD).read_to_end(&mut head))
        .map_err(|e| Error::File {
            context: format!("reading {}", path.display()),
            source: e,
        })?;
    if head.len() >= 8 && !head.starts_with(b"ElfFile\0") {
        return Err(Error::Evtx {
            path: path.display().to_string(),
            message: "not an EVTX file".into(),
        });
    }
    if head.len() < HEAD as usize || &head[0x1200..0x1204] != b"\x2a\x2a\x00\x00" {
        return Ok(None);
    }
    Ok(Some(
        head[0x1208..0x1218]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    ))
}

/// Checkpoint file format version.
const CHECKPOINT_VERSION: u64 = 1;

fn checkpoint_path(dir: &Path, stanza: &str, id: &str) -> PathBuf {
    let safe: String = stanza
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    dir.join(format!("{safe}-{id}.json"))
}

fn load_checkpoint(path: &Path) -> Position {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Position::default();
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        eprintln!(
            "WARN checkpoint {} unreadable; reading the file from the start",
            path.display()
        );
        return Position::default();
    };
    if v["version"].as_u64() != Some(CHECKPOINT_VERSION) {
        eprintln!(
            "WARN checkpoint {} has another version; reading the file from the start",
            path.display()
        );
        return Position::default();
    }
    Position {
        chunk: v["chunk"].as_u64().unwrap_or(0),
        record_id: v["record_id"].as_u64().unwrap_or(0),
    }
}

/// Writes a checkpoint: temporary file, sync, rename.
fn save_checkpoint(path: &Path, file: &Path, pos: Position) -> Result<()> {
    let v = serde_json::json!({
        "version": CHECKPOINT_VERSION,
        "file": file.display().to_string(),
        "chunk": pos.chunk,
        "record_id": pos.record_id,
    });
    let tmp = path.with_extension("tmp");
    let io = |e| Error::File {
        context: format!("writing checkpoint {}", path.display()),
        source: e,
    };
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(v.to_string().as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

fn escape(out: &mut Vec<u8>, s: &str) {
    for c in s.bytes() {
        match c {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            c => out.push(c),
        }
    }
}

/// One `<event>` element.
pub fn event_xml(out: &mut Vec<u8>, stanza: &Stanza, r: &Rendered) {
    out.extend_from_slice(b"<event stanza=\"");
    escape(out, &stanza.name.replace('"', "&quot;"));
    out.extend_from_slice(
        format!("\" unbroken=\"1\"><time>{:.3}</time><source>", r.time).as_bytes(),
    );
    escape(out, &format!("XmlWinEventLog:{}", r.channel));
    out.extend_from_slice(b"</source><sourcetype>XmlWinEventLog</sourcetype>");
    if let Some(i) = &stanza.index {
        out.extend_from_slice(b"<index>");
        escape(out, i);
        out.extend_from_slice(b"</index>");
    }
    let host = if stanza.host_from_computer && !r.computer.is_empty() {
        Some(r.computer.as_str())
    } else {
        stanza.host.as_deref()
    };
    if let Some(h) = host {
        out.extend_from_slice(b"<host>");
        escape(out, h);
        out.extend_from_slice(b"</host>");
    }
    out.extend_from_slice(b"<data>");
    escape(out, &r.xml);
    out.extend_from_slice(b"</data><done/></event>\n");
}

/// Events between checkpoints.
const BATCH: usize = 256;

/// Streams every stanza's new records to `out`. Problems with one file
/// are ERROR/WARN lines on stderr and the other files go on.
pub fn stream<W: Write>(config: &InputConfig, out: &mut W) -> Result<()> {
    let io = |e| Error::io("writing events", e);
    out.write_all(b"<stream>\n").map_err(io)?;
    if !config.checkpoint_dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&config.checkpoint_dir).map_err(|e| Error::File {
            context: format!("creating {}", config.checkpoint_dir.display()),
            source: e,
        })?;
    }
    for s in &config.stanzas {
        let files = match expand(&s.path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("ERROR {}: {e}", s.name);
                continue;
            }
        };
        for f in files {
            if let Err(e) = stream_file(config, s, &f, out) {
                if e.is_peer_gone() {
                    return Err(e);
                }
                eprintln!("ERROR {}: {e}", s.name);
            }
        }
    }
    out.write_all(b"</stream>\n").map_err(io)?;
    out.flush().map_err(io)
}

fn stream_file<W: Write>(config: &InputConfig, s: &Stanza, f: &Path, out: &mut W) -> Result<()> {
    let Some(id) = identity(f)? else {
        // No record yet: a later run will see it.
        return Ok(());
    };
    let cp = checkpoint_path(&config.checkpoint_dir, &s.name, &id);
    let from = load_checkpoint(&cp);
    let mut file = EvtxFile::open(f)?;
    let (mut buf, mut pending, mut last, mut failed) = (Vec::new(), 0usize, None, None);
    let mut flush = |buf: &mut Vec<u8>, last: Option<Position>| -> Result<()> {
        out.write_all(buf)
            .map_err(|e| Error::io("writing events", e))?;
        out.flush().map_err(|e| Error::io("writing events", e))?;
        buf.clear();
        if let Some(p) = last {
            save_checkpoint(&cp, f, p)?;
        }
        Ok(())
    };
    file.read_from(
        from,
        |r, pos| {
            let keep = (s.channels.is_empty()
                || s.channels.contains(&r.channel.to_ascii_lowercase()))
                && (s.event_ids.is_empty() || s.event_ids.contains(&r.event_id));
            if keep {
                event_xml(&mut buf, s, &r);
                pending += 1;
            }
            last = Some(pos);
            if pending >= BATCH {
                pending = 0;
                if let Err(e) = flush(&mut buf, last) {
                    failed = Some(e);
                    return false;
                }
            }
            true
        },
        |d| eprintln!("WARN {}: {d}", f.display()),
    );
    if let Some(e) = failed {
        return Err(e);
    }
    flush(&mut buf, last)
}

/// The program: `--scheme`, `--validate-arguments`, or streaming.
pub fn main_with(args: &[String]) -> Result<std::process::ExitCode> {
    use std::process::ExitCode;
    let mut stdin = String::new();
    let read = |buf: &mut String| {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("reading the configuration", e))?;
        *buf = decode(&bytes);
        Ok::<(), Error>(())
    };
    match args.first().map(String::as_str) {
        Some("--scheme") => {
            print!("{SCHEME}");
            Ok(ExitCode::SUCCESS)
        }
        Some("--validate-arguments") => {
            read(&mut stdin)?;
            match validate(&stdin) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(e) => {
                    let mut msg = Vec::new();
                    escape(&mut msg, &e.to_string());
                    println!(
                        "<error><message>{}</message></error>",
                        String::from_utf8_lossy(&msg)
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
        None => {
            read(&mut stdin)?;
            let config = parse_input(&stdin)?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            stream(&config, &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(Error::Input(format!(
            "unknown argument {other:?}: expected --scheme, --validate-arguments or none"
        ))),
    }
}

/// The configuration as text: UTF-8, or UTF-16 with a byte-order mark (as
/// in the SDK's fixtures).
fn decode(bytes: &[u8]) -> String {
    let utf16 = |le: bool| {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    match bytes {
        [0xff, 0xfe, ..] => utf16(true),
        [0xfe, 0xff, ..] => utf16(false),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
    .replace("encoding=\"UTF-16\"", "encoding=\"UTF-8\"")
    .replace("encoding='UTF-16'", "encoding='UTF-8'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_file_names() {
        assert!(wildcard("*.evtx", "Security.evtx"));
        assert!(wildcard("Sec?rity*.evtx", "Security-2024.evtx"));
        assert!(!wildcard("*.evtx", "Security.evtx.bak"));
    }

    #[test]
    fn input_xml_with_stanza_params() {
        let xml = r#"<input><server_host>sh</server_host><session_key>SECRET</session_key><checkpoint_dir>/tmp/cp</checkpoint_dir><configuration><stanza name="evtx_input://a" app="winrmdetect"><param name="path">/data/*.evtx</param><param name="channels">winrmdetect, Application</param><param name="event_ids">4624,91</param><param name="index">wineventlog</param><param name="host_from_computer">0</param><param name="host">collector</param></stanza></configuration></input>"#;
        let c = parse_input(xml).unwrap();
        assert_eq!(c.checkpoint_dir, PathBuf::from("/tmp/cp"));
        let s = &c.stanzas[0];
        assert_eq!(s.name, "evtx_input://a");
        assert_eq!(s.path, "/data/*.evtx");
        assert!(s.channels.contains("security") && s.channels.contains("application"));
        assert_eq!(s.event_ids, [91, 4624].into_iter().collect());
        assert_eq!(s.index.as_deref(), Some("wineventlog"));
        assert!(!s.host_from_computer);
        let bad = xml.replace("4624,91", "4624,x");
        assert!(parse_input(&bad).unwrap_err().to_string().contains("\"x\""));
    }
}
