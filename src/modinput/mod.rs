//! The `evtx_input` modular input: EVTX files on Linux/macOS Splunk become
//! `XmlWinEventLog` events, checkpointed.
//!
//! * `--scheme` prints the scheme; `--validate-arguments` reads `<items>` and
//!   answers `<error><message>…</message></error>` when a parameter is bad;
//!   no argument reads `<input>` and streams `<event>`s in XML mode.
//! * Checkpoints: one file per EVTX file identity (the first record's id and
//!   timestamp, so a renamed or copied file is the same log and a replaced
//!   one is new) in `checkpoint_dir`: two fixed slots with a sequence number
//!   and a checksum, written in turn ([`Checkpoint`]).
//! * Exactly once: events are packed into units written with one system
//!   call each on an unbuffered stdout, each followed by a commit of the
//!   position it covers. A unit lands whole or not at all: it is at most
//!   `PIPE_BUF` (4096) bytes, or at most the room the pipe has (up to
//!   64 KiB; Linux), so the write does not wait and a kill cannot cut it. SIGTERM and SIGINT (how splunkd stops an input)
//!   set a flag read between a commit and the next write, so a stop repeats
//!   and loses nothing. A SIGKILL cannot be caught: landing between a write
//!   and its commit (two system calls) it repeats that one unit on restart,
//!   and it never loses one. An event bigger than the unit may be cut by a
//!   kill while the pipe is full.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

/// Checkpoint format version (version 1 was a JSON file, still read).
const CHECKPOINT_VERSION: u64 = 2;

/// One checkpoint slot: fixed width, so a commit is one positioned write.
const SLOT: usize = 96;

fn checkpoint_path(dir: &Path, stanza: &str, id: &str) -> PathBuf {
    let safe: String = stanza
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    dir.join(format!("{safe}-{id}.ckpt"))
}

/// FNV-1a, 64 bits: a torn or damaged slot does not pass as a position.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn slot_text(seq: u64, pos: Position) -> Vec<u8> {
    let body = format!(
        "v{CHECKPOINT_VERSION} seq={seq:020} chunk={:010} record={:020}",
        pos.chunk, pos.record_id
    );
    let mut s = format!("{body} sum={:016x}", fnv(body.as_bytes())).into_bytes();
    s.resize(SLOT - 1, b' ');
    s.push(b'\n');
    s
}

fn parse_slot(slot: &[u8]) -> Option<(u64, Position)> {
    let text = std::str::from_utf8(slot).ok()?.trim_end();
    let (body, sum) = text.rsplit_once(" sum=")?;
    if u64::from_str_radix(sum, 16).ok()? != fnv(body.as_bytes()) {
        return None;
    }
    let mut it = body.split(' ');
    if it.next()? != format!("v{CHECKPOINT_VERSION}") {
        return None;
    }
    let mut field = |name: &str| -> Option<u64> { it.next()?.strip_prefix(name)?.parse().ok() };
    let seq = field("seq=")?;
    let chunk = field("chunk=")?;
    let record_id = field("record=")?;
    Some((seq, Position { chunk, record_id }))
}

/// A file's checkpoint: two fixed slots written in turn with a positioned
/// write (a commit is one system call, cheap enough for every event; a torn
/// slot leaves the other one), then the EVTX file's path for people.
/// Created by writing a temporary file and renaming it.
pub struct Checkpoint {
    path: PathBuf,
    file: std::fs::File,
    seq: u64,
    /// The last committed position.
    pub position: Position,
}

fn checkpoint_io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::File {
        context: format!("checkpoint {}", path.display()),
        source: e,
    }
}

impl Checkpoint {
    /// Opens the checkpoint at `path` (for the EVTX file `evtx`), or starts
    /// at the beginning when there is none; a damaged one is a WARN and a
    /// fresh start. A version-1 JSON checkpoint beside it is taken over.
    pub fn open(path: &Path, evtx: &Path) -> Result<Checkpoint> {
        let io = checkpoint_io(path);
        let found = match std::fs::read(path) {
            Ok(bytes) => {
                let best = bytes
                    .chunks(SLOT)
                    .take(2)
                    .filter_map(parse_slot)
                    .max_by_key(|(seq, _)| *seq);
                if best.is_none() {
                    eprintln!(
                        "WARN checkpoint {} unreadable; reading {} from the start",
                        path.display(),
                        evtx.display()
                    );
                }
                best.map(|(seq, pos)| (seq, pos, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let v1 = path.with_extension("json");
                v1.exists().then(|| (0, load_v1(&v1), true))
            }
            Err(e) => return Err(io(e)),
        };
        let (seq, position, migrated) = found.unwrap_or((0, Position::default(), false));
        let rw = || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(&io)
        };
        let file = match found {
            Some((_, _, false)) => rw()?,
            _ => {
                let mut bytes = slot_text(seq, position);
                bytes.extend(slot_text(seq, position));
                bytes.extend(format!("file={}\n", evtx.display()).into_bytes());
                let tmp = path.with_extension("tmp");
                let mut f = std::fs::File::create(&tmp).map_err(&io)?;
                f.write_all(&bytes).map_err(&io)?;
                f.sync_all().map_err(&io)?;
                std::fs::rename(&tmp, path).map_err(&io)?;
                if migrated {
                    let _ = std::fs::remove_file(path.with_extension("json"));
                }
                rw()?
            }
        };
        Ok(Checkpoint {
            path: path.to_path_buf(),
            file,
            seq,
            position,
        })
    }

    /// Records `pos` as done: one positioned write into the older slot. The
    /// page cache keeps it when the process is killed; [`Checkpoint::sync`]
    /// makes it survive a machine crash too.
    pub fn commit(&mut self, pos: Position) -> Result<()> {
        if pos == self.position {
            return Ok(());
        }
        self.seq += 1;
        let offset = (self.seq % 2) * SLOT as u64;
        write_at(&self.file, &slot_text(self.seq, pos), offset)
            .map_err(checkpoint_io(&self.path))?;
        self.position = pos;
        Ok(())
    }

    /// Flushes to disk (at the end of a file).
    pub fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(checkpoint_io(&self.path))
    }
}

#[cfg(unix)]
fn write_at(f: &std::fs::File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(f, buf, offset)
}

#[cfg(windows)]
fn write_at(f: &std::fs::File, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(f, buf, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

/// A version-1 (JSON) checkpoint's position, or the start.
fn load_v1(path: &Path) -> Position {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Position::default();
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) if v["version"].as_u64() == Some(1) => Position {
            chunk: v["chunk"].as_u64().unwrap_or(0),
            record_id: v["record_id"].as_u64().unwrap_or(0),
        },
        _ => {
            eprintln!(
                "WARN checkpoint {} unreadable; reading the file from the start",
                path.display()
            );
            Position::default()
        }
    }
}

fn escape(out: &mut Vec<u8>, s: &str) {
    // A byte loop: in rendered XML the special bytes are too close together
    // for a vectorised search to pay.
    let b = s.as_bytes();
    out.reserve(b.len() + b.len() / 4);
    let mut from = 0;
    for (i, c) in b.iter().enumerate() {
        let entity: &[u8] = match c {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            _ => continue,
        };
        out.extend_from_slice(&b[from..i]);
        out.extend_from_slice(entity);
        from = i + 1;
    }
    out.extend_from_slice(&b[from..]);
}

/// One `<event>` element.
pub fn event_xml(out: &mut Vec<u8>, stanza: &Stanza, r: &Rendered) {
    out.extend_from_slice(b"<event stanza=\"");
    escape(out, &stanza.name.replace('"', "&quot;"));
    // Writing into a Vec cannot fail.
    let _ = write!(out, "\" unbroken=\"1\"><time>{:.3}</time><source>", r.time);
    out.extend_from_slice(b"XmlWinEventLog:");
    escape(out, &r.channel);
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

/// Bytes one write to a pipe delivers whole whatever happens (`PIPE_BUF`
/// on Linux): the least a unit of events may be.
const PIPE_BUF: usize = 4096;

/// The most a unit of events may be: a write this size, into a pipe with
/// room for it, does not wait, so it lands whole too.
const MAX_UNIT: usize = 65536;

/// How many bytes the next write to standard output can take without
/// waiting (so it lands whole even if the process is killed): what
/// [`stream`] sizes its writes by.
pub type Room<'a> = dyn FnMut() -> usize + 'a;

/// The room of standard output. Linux: for a pipe, its free pages less two
/// (a partly read and a partly written one), after its size is raised to
/// 1 MiB; for a file, 64 KiB (the most a unit may be). Elsewhere
/// `PIPE_BUF`: no more is known.
pub fn stdout_room(out: &std::fs::File) -> Box<Room<'_>> {
    #[cfg(target_os = "linux")]
    {
        if let Ok(size) = rustix::pipe::fcntl_getpipe_size(out) {
            let size = rustix::pipe::fcntl_setpipe_size(out, 1 << 20).unwrap_or(size);
            return Box::new(move || match rustix::io::ioctl_fionread(out) {
                Ok(queued) => {
                    let used = (queued as usize).div_ceil(PIPE_BUF) + 2;
                    (size / PIPE_BUF).saturating_sub(used) * PIPE_BUF
                }
                Err(_) => 0,
            });
        }
        Box::new(|| MAX_UNIT)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = out;
        Box::new(|| PIPE_BUF)
    }
}

/// Records filtered out in a row after which the position is committed
/// though nothing was written.
const IDLE_COMMIT: u64 = 4096;

/// Streams every stanza's new records to `out`, stopping between two
/// committed writes once `stop` is set. Problems with one file are
/// ERROR/WARN lines on stderr and the other files go on.
pub fn stream<W: Write>(
    config: &InputConfig,
    out: &mut W,
    room: &mut Room<'_>,
    stop: &AtomicBool,
) -> Result<()> {
    let io = |e| Error::io("writing events", e);
    out.write_all(b"<stream>\n").map_err(io)?;
    if !config.checkpoint_dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&config.checkpoint_dir).map_err(|e| Error::File {
            context: format!("creating {}", config.checkpoint_dir.display()),
            source: e,
        })?;
    }
    'stanzas: for s in &config.stanzas {
        let files = match expand(&s.path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("ERROR {}: {e}", s.name);
                continue;
            }
        };
        for f in files {
            if stop.load(Ordering::Relaxed) {
                break 'stanzas;
            }
            if let Err(e) = stream_file(config, s, &f, out, room, stop) {
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

fn stream_file<W: Write>(
    config: &InputConfig,
    s: &Stanza,
    f: &Path,
    out: &mut W,
    room: &mut Room<'_>,
    stop: &AtomicBool,
) -> Result<()> {
    let Some(id) = identity(f)? else {
        // No record yet: a later run will see it.
        return Ok(());
    };
    let mut cp = Checkpoint::open(&checkpoint_path(&config.checkpoint_dir, &s.name, &id), f)?;
    let mut file = EvtxFile::open(f)?;
    // The size of the unit being filled: the room the pipe has now (it only
    // grows until we write), at least PIPE_BUF, at most MAX_UNIT.
    let mut fit = || room().clamp(PIPE_BUF, MAX_UNIT);
    let mut cap = fit();
    let mut write = |unit: &mut Vec<u8>, pos: Position, cp: &mut Checkpoint| -> Result<()> {
        out.write_all(unit)
            .and_then(|()| out.flush())
            .map_err(|e| Error::io("writing events", e))?;
        unit.clear();
        cp.commit(pos)
    };
    let (mut unit, mut event) = (Vec::with_capacity(MAX_UNIT), Vec::new());
    // What the unit covers: every record up to `upto` is in it or filtered.
    let (mut upto, mut idle, mut failed) = (cp.position, 0u64, None);
    file.read_from(
        cp.position,
        |r, pos| {
            let keep = (s.channels.is_empty()
                || s.channels.contains(&r.channel.to_ascii_lowercase()))
                && (s.event_ids.is_empty() || s.event_ids.contains(&r.event_id));
            if keep {
                idle = 0;
                event.clear();
                event_xml(&mut event, s, &r);
                if !unit.is_empty() && unit.len() + event.len() > cap {
                    if let Err(e) = write(&mut unit, upto, &mut cp) {
                        failed = Some(e);
                        return false;
                    }
                    cap = fit();
                    if stop.load(Ordering::Relaxed) {
                        return false;
                    }
                }
                unit.extend_from_slice(&event);
            } else {
                idle += 1;
                if unit.is_empty() && idle >= IDLE_COMMIT {
                    idle = 0;
                    if let Err(e) = cp.commit(pos) {
                        failed = Some(e);
                        return false;
                    }
                    if stop.load(Ordering::Relaxed) {
                        return false;
                    }
                }
            }
            upto = pos;
            true
        },
        |d| eprintln!("WARN {}: {d}", f.display()),
    );
    if let Some(e) = failed {
        return Err(e);
    }
    write(&mut unit, upto, &mut cp)?;
    cp.sync()
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
            let stop = Arc::new(AtomicBool::new(false));
            for sig in signal_hook::consts::TERM_SIGNALS {
                signal_hook::flag::register(*sig, Arc::clone(&stop))
                    .map_err(|e| Error::io("installing signal handlers", e))?;
            }
            let out = raw_stdout()?;
            let mut room = stdout_room(&out);
            stream(&config, &mut &out, &mut *room, &stop)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(Error::Input(format!(
            "unknown argument {other:?}: expected --scheme, --validate-arguments or none"
        ))),
    }
}

/// Standard output without a buffer: each write of a unit is one system
/// call, so a kill leaves whole units in the pipe.
fn raw_stdout() -> Result<std::fs::File> {
    #[cfg(unix)]
    let fd = std::os::fd::AsFd::as_fd(&std::io::stdout()).try_clone_to_owned();
    #[cfg(windows)]
    let fd = std::os::windows::io::AsHandle::as_handle(&std::io::stdout()).try_clone_to_owned();
    fd.map(std::fs::File::from)
        .map_err(|e| Error::io("opening standard output", e))
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

    /// A fresh, empty scratch directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wd-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The bundled EVTX file the checkpoint and unit tests read.
    fn fixture_evtx() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evtx/mdec_wmiexec_via_smb.evtx")
    }

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
        // Without the parameter, the host is the event's Computer.
        let plain = xml.replace("<param name=\"host_from_computer\">0</param>", "");
        assert!(parse_input(&plain).unwrap().stanzas[0].host_from_computer);
    }

    /// FNV-1a 64 (the published test vectors): the checksum that tells a
    /// torn slot is the algorithm the checkpoint format names.
    #[test]
    fn fnv_is_fnv1a_64() {
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv(b"foobar"), 0x8594_4171_f739_67e8);
    }

    /// A slot reads back as written; one changed byte (a torn or damaged
    /// write) makes it no position at all.
    #[test]
    fn a_damaged_slot_is_no_position() {
        let pos = Position {
            chunk: 3,
            record_id: 47_635,
        };
        let slot = slot_text(7, pos);
        assert_eq!(slot.len(), SLOT);
        assert_eq!(parse_slot(&slot), Some((7, pos)));
        let text = String::from_utf8(slot.clone()).unwrap();
        for (from, to) in [("chunk=0000000003", "chunk=0000000004"), ("seq=0", "seq=1")] {
            let damaged = text.replacen(from, to, 1);
            assert_ne!(damaged, text);
            assert_eq!(parse_slot(damaged.as_bytes()), None, "{damaged}");
        }
        assert_eq!(parse_slot(&slot[..40]), None);
    }

    /// A file's identity is its first record's id and time; a file still
    /// being copied (no first record yet) has none; another file is an error.
    #[test]
    fn identity_of_whole_partial_and_foreign_files() {
        let dir = scratch("identity");
        let fixture = fixture_evtx();
        let whole = std::fs::read(&fixture).unwrap();
        let id = identity(&fixture).unwrap().expect("a record");
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        for (name, bytes) in [
            ("header.evtx", &whole[..0x1000]),
            ("head.evtx", &whole[..0x1217]),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(identity(&path).unwrap(), None, "{name}");
        }
        let path = dir.join("first.evtx");
        std::fs::write(&path, &whole[..0x1218]).unwrap();
        assert_eq!(identity(&path).unwrap().as_deref(), Some(id.as_str()));
        let path = dir.join("other.evtx");
        std::fs::write(&path, b"not an evtx file at all").unwrap();
        assert!(identity(&path)
            .unwrap_err()
            .to_string()
            .contains("not an EVTX file"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A checkpoint that exists but cannot be read is an error that names
    /// it, not a silent fresh start (which would index the file again), and
    /// leaves nothing behind.
    #[test]
    fn an_unreadable_checkpoint_is_an_error() {
        let dir = scratch("cp-unreadable");
        let path = dir.join("s-1.ckpt");
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.with_extension("json"), r#"{"chunk":1,"record_id":5}"#).unwrap();
        let err = Checkpoint::open(&path, Path::new("/logs/Security.evtx"))
            .err()
            .expect("an error");
        assert!(err.to_string().contains("s-1.ckpt"), "{err}");
        assert!(!path.with_extension("tmp").exists());
        assert!(
            path.with_extension("json").exists(),
            "the v1 checkpoint is kept"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Commits survive a reopen (the newer of the two slots wins), and
    /// opening a good checkpoint reads it in place: no rewrite, no new file.
    #[test]
    #[cfg(unix)]
    fn a_checkpoint_reopens_where_it_was_without_a_rewrite() {
        use std::os::unix::fs::MetadataExt;
        let dir = scratch("cp-reopen");
        let path = dir.join("s-1.ckpt");
        let evtx = Path::new("/logs/Security.evtx");
        let mut cp = Checkpoint::open(&path, evtx).unwrap();
        assert_eq!(cp.position, Position::default());
        for record_id in [5, 6, 7] {
            cp.commit(Position {
                chunk: 1,
                record_id,
            })
            .unwrap();
        }
        drop(cp);
        let inode = std::fs::metadata(&path).unwrap().ino();
        let cp = Checkpoint::open(&path, evtx).unwrap();
        assert_eq!(
            cp.position,
            Position {
                chunk: 1,
                record_id: 7
            }
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().ino(),
            inode,
            "not rewritten"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Records what reaches the pipe, one entry per flush (a unit).
    #[derive(Default)]
    struct Units {
        pending: Vec<u8>,
        units: Vec<Vec<u8>>,
    }

    impl Write for Units {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.pending.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.units.push(std::mem::take(&mut self.pending));
            Ok(())
        }
    }

    fn events_of(unit: &[u8]) -> Vec<&[u8]> {
        let end = b"</event>\n";
        let mut out = Vec::new();
        let mut rest = unit;
        while let Some(i) = rest.windows(end.len()).position(|w| w == end) {
            out.push(&rest[..i + end.len()]);
            rest = &rest[i + end.len()..];
        }
        assert!(rest.is_empty(), "a unit ends on an event boundary");
        out
    }

    fn test_stanza(dir: &Path) -> (InputConfig, Stanza, PathBuf) {
        let evtx = fixture_evtx();
        let s = Stanza {
            name: "evtx_input://t".into(),
            path: evtx.display().to_string(),
            host_from_computer: true,
            ..Stanza::default()
        };
        std::fs::create_dir_all(dir).unwrap();
        let config = InputConfig {
            checkpoint_dir: dir.to_path_buf(),
            stanzas: vec![s.clone()],
        };
        (config, s, evtx)
    }

    /// A file goes out in units as full as the pipe's room allows: each
    /// unit is whole events, at most the room (unless one event is bigger),
    /// and the next event would not have fitted; each unit is committed.
    /// Stopped after a unit, a second run sends exactly the rest.
    #[test]
    fn units_are_as_full_as_fit_and_a_stop_resumes_after_one() {
        let dir = scratch("units");
        let (config, s, evtx) = test_stanza(&dir.join("all"));
        let room = 8192;
        let mut out = Units::default();
        let go = AtomicBool::new(false);
        stream_file(&config, &s, &evtx, &mut out, &mut || room, &go).unwrap();
        let units: Vec<Vec<&[u8]>> = out.units.iter().map(|u| events_of(u)).collect();
        assert!(units.len() > 3, "{} units", units.len());
        for (i, u) in units.iter().enumerate() {
            let len: usize = u.iter().map(|e| e.len()).sum();
            assert!(!u.is_empty(), "unit {i} is empty");
            assert!(len <= room || u.len() == 1, "unit {i}: {len} bytes");
            if let Some(next) = units.get(i + 1) {
                assert!(
                    len + next[0].len() > room,
                    "unit {i} had room for the next event"
                );
            }
        }
        let all: Vec<&[u8]> = units.concat();
        // Room for exactly the first unit: it fills it to the byte.
        let exact: usize = units[0].iter().map(|e| e.len()).sum();
        let (config, s, _) = test_stanza(&dir.join("exact"));
        let mut fitted = Units::default();
        stream_file(&config, &s, &evtx, &mut fitted, &mut || exact, &go).unwrap();
        assert_eq!(fitted.units[0].len(), exact);

        let (config, s, _) = test_stanza(&dir.join("stopped"));
        let mut first = Units::default();
        let stop = AtomicBool::new(true);
        stream_file(&config, &s, &evtx, &mut first, &mut || room, &stop).unwrap();
        let first: Vec<&[u8]> = first.units.iter().flat_map(|u| events_of(u)).collect();
        assert_eq!(first, all[..units[0].len()], "one unit, then the stop");
        let mut rest = Units::default();
        stream_file(&config, &s, &evtx, &mut rest, &mut || room, &go).unwrap();
        let rest: Vec<&[u8]> = rest.units.iter().flat_map(|u| events_of(u)).collect();
        assert_eq!([first, rest].concat(), all, "the rest, once");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Commits alternate between the two slots, so the newer position and
    /// the one before it are both on disk (a torn write loses one only).
    #[test]
    fn commits_alternate_between_the_two_slots() {
        let dir = scratch("cp-slots");
        let path = dir.join("s-1.ckpt");
        let mut cp = Checkpoint::open(&path, Path::new("/logs/Security.evtx")).unwrap();
        let (a, b) = (
            Position {
                chunk: 1,
                record_id: 5,
            },
            Position {
                chunk: 2,
                record_id: 9,
            },
        );
        cp.commit(a).unwrap();
        cp.commit(b).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mut slots: Vec<(u64, Position)> =
            bytes.chunks(SLOT).take(2).filter_map(parse_slot).collect();
        slots.sort_by_key(|(seq, _)| *seq);
        assert_eq!(slots, [(1, a), (2, b)]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A version-1 JSON checkpoint is taken over (and removed); one of
    /// another version is a fresh start.
    #[test]
    fn a_version_1_checkpoint_is_taken_over() {
        let dir = scratch("cp-v1");
        let evtx = Path::new("/logs/Security.evtx");
        for (name, json, want) in [
            (
                "a",
                r#"{"version":1,"chunk":2,"record_id":9}"#,
                Position {
                    chunk: 2,
                    record_id: 9,
                },
            ),
            (
                "b",
                r#"{"version":3,"chunk":2,"record_id":9}"#,
                Position::default(),
            ),
            ("c", "not json", Position::default()),
        ] {
            let path = dir.join(format!("{name}.ckpt"));
            std::fs::write(path.with_extension("json"), json).unwrap();
            let cp = Checkpoint::open(&path, evtx).unwrap();
            assert_eq!(cp.position, want, "{name}");
            assert!(path.exists());
            assert!(
                !path.with_extension("json").exists(),
                "{name}: the v1 file is gone"
            );
            drop(cp);
            assert_eq!(
                Checkpoint::open(&path, evtx).unwrap().position,
                want,
                "{name}: kept"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// With an EventID filter, records filtered out before the first kept
    /// one do not end a stopped run early: the first unit of kept events
    /// still goes out, and the next run sends the rest.
    #[test]
    fn a_filtered_stop_still_sends_its_first_unit() {
        let dir = scratch("units-filtered");
        let run = |cp: &str, stop: bool| -> Vec<Vec<u8>> {
            let (mut config, mut s, evtx) = test_stanza(&dir.join(cp));
            s.event_ids = [4688].into_iter().collect();
            config.stanzas = vec![s.clone()];
            let mut out = Units::default();
            stream_file(
                &config,
                &s,
                &evtx,
                &mut out,
                &mut || 4096,
                &AtomicBool::new(stop),
            )
            .unwrap();
            out.units
                .iter()
                .flat_map(|u| events_of(u))
                .map(<[u8]>::to_vec)
                .collect()
        };
        let all = run("all", false);
        let is_4688 = |e: &Vec<u8>| {
            let needle = b"&lt;EventID&gt;4688&lt;/EventID&gt;";
            e.windows(needle.len()).any(|w| w == needle)
        };
        assert!(
            all.len() > 2 && all.iter().all(is_4688),
            "{} events",
            all.len()
        );
        let first = run("stopped", true);
        assert!(
            !first.is_empty() && first.len() < all.len(),
            "{} of {}",
            first.len(),
            all.len()
        );
        let rest = run("stopped", false);
        assert_eq!([first, rest].concat(), all);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
