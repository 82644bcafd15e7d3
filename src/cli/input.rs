//! `hunt`'s inputs: which files the arguments name ([`discover`]), and each
//! one opened once and told apart by its first bytes ([`open`]).
//!
//! An argument is a file, a directory (walked), a glob (`*`, `?`, `[...]`,
//! expanded when no file has the argument's own name), or `-` (stdin). A
//! pipe, `/dev/stdin` or a process substitution (`/dev/fd/N`) named
//! explicitly is read as any file. Nothing here stops the run: whatever
//! cannot be read is a [`Failure`] (printed as `ERROR <file>: <why>`), and
//! the caller goes on with the other inputs.
//!
//! The pipeline's use:
//!
//! ```no_run
//! use winrmdetect::cli::input::{discover, open, Kind, Tally};
//! let found = discover(&["logs/", "-"]);
//! let mut tally = Tally { skipped: found.skipped, failed: found.failed.len(), read: 0 };
//! for f in &found.failed {
//!     eprintln!("{f}");
//! }
//! for input in &found.inputs {
//!     let opened = match open(input) {
//!         Ok(o) => o,
//!         Err(f) => {
//!             eprintln!("{f}");
//!             tally.failed += 1;
//!             continue;
//!         }
//!     };
//!     match opened.kind {
//!         Kind::Evtx => { let _evtx = opened.into_evtx(); }
//!         Kind::Csv | Kind::JsonLines => { let _rows = opened.into_reader(); }
//!     }
//!     tally.read += 1;
//! }
//! eprintln!("{tally}");
//! ```

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{File, Metadata};
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};
use crate::evtx::EvtxFile;
use crate::modinput::paths::EVTX_MAGIC;

/// The extensions a directory walk takes (any case, also with `.gz` after
/// them); other files met in a walk are counted as skipped.
pub const WALKED: &[&str] = &["evtx", "csv", "json", "jsonl", "ndjson"];

/// How many bytes are looked at to tell the format (the whole first line
/// of a CSV export's header must usually fit).
const HEAD: u64 = 64 * 1024;

/// The first bytes of a gzip member.
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// What an input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Windows event log file (`ElfFile\0`).
    Evtx,
    /// A Splunk CSV export (`| table *`, `outputcsv`).
    Csv,
    /// One JSON object per line, as Winlogbeat or the Mordor datasets
    /// write them ([`crate::cli::jsonl`]).
    JsonLines,
}

impl Kind {
    /// The kind as messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Evtx => "EVTX",
            Kind::Csv => "CSV",
            Kind::JsonLines => "JSON lines",
        }
    }
}

/// Where an input's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Path(PathBuf),
    Stdin,
}

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The input as messages show it: the argument as given, a walked
    /// file's path below the directory given, or `-` for stdin.
    pub name: String,
    source: Source,
}

impl Input {
    /// A file (or pipe) to read as it is, named by its path: for callers
    /// that know their file without [`discover`].
    pub fn file(path: impl Into<PathBuf>) -> Input {
        let path = path.into();
        Input {
            name: path.display().to_string(),
            source: Source::Path(path),
        }
    }

    /// Stdin, named `-`.
    pub fn stdin() -> Input {
        Input {
            name: "-".into(),
            source: Source::Stdin,
        }
    }

    /// The file, or `None` for stdin.
    pub fn path(&self) -> Option<&Path> {
        match &self.source {
            Source::Path(p) => Some(p),
            Source::Stdin => None,
        }
    }
}

/// An input that cannot be read, and why. Its `Display` is the line the
/// user sees: `ERROR <name>: <why>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The input, as [`Input::name`].
    pub name: String,
    /// Why (the operating system's reason, or what the bytes are not).
    pub why: String,
}

impl Failure {
    /// `name` could not be read, because of `why`.
    pub fn new(name: &str, why: impl Into<String>) -> Failure {
        Failure {
            name: name.to_string(),
            why: why.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ERROR {}: {}", self.name, self.why)
    }
}

/// What the arguments name.
#[derive(Debug, Default)]
pub struct Found {
    /// The inputs, in argument order (a directory's files in path order),
    /// each file once however many ways it was reached.
    pub inputs: Vec<Input>,
    /// Arguments and walked entries that cannot be read.
    pub failed: Vec<Failure>,
    /// Files a walk (or a glob) met and left alone: other extensions, and
    /// pipes, sockets and devices, which are never opened there.
    pub skipped: usize,
}

/// The run's summary line: files read, skipped and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Inputs read.
    pub read: usize,
    /// Files skipped ([`Found::skipped`]).
    pub skipped: usize,
    /// Inputs that failed, at discovery or when opened or read.
    pub failed: usize,
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "{} file{} read, {} skipped, {} failed",
            self.read,
            s(self.read),
            self.skipped,
            self.failed
        )
    }
}

/// The inputs the arguments name (see the module's documentation). Never
/// opens a file: a pipe named explicitly is opened by [`open`], one met in
/// a walk is skipped. Directories are walked in path order, following
/// links; a directory reached again (a link loop) is not walked twice, and
/// a file reached twice (links, or named twice) is read once.
pub fn discover<S: AsRef<OsStr>>(args: &[S]) -> Found {
    let mut d = Discovery::default();
    for a in args {
        d.arg(a.as_ref());
    }
    d.found
}

/// The walk's state.
#[derive(Default)]
struct Discovery {
    found: Found,
    /// (device, inode) of the files taken.
    files: HashSet<(u64, u64)>,
    /// (device, inode) of the directories walked.
    dirs: HashSet<(u64, u64)>,
    stdin: bool,
}

/// A file's identity on this machine.
#[cfg(unix)]
fn identity(m: &Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((m.dev(), m.ino()))
}

/// A file's identity on this machine (none known here: no deduplication).
#[cfg(not(unix))]
fn identity(_: &Metadata) -> Option<(u64, u64)> {
    None
}

impl Discovery {
    /// One command-line argument.
    fn arg(&mut self, arg: &OsStr) {
        if arg == "-" {
            if !std::mem::replace(&mut self.stdin, true) {
                self.found.inputs.push(Input::stdin());
            }
            return;
        }
        let path = Path::new(arg);
        let name = path.display().to_string();
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => self.walk(path, &m),
            // Explicit: any name, and pipes and devices too.
            Ok(m) => self.take(path, name, &m),
            Err(e) if e.kind() == io::ErrorKind::NotFound && is_glob(&name) => self.glob(&name),
            Err(e) => self.fail(&name, unreachable(path, &e)),
        }
    }

    fn fail(&mut self, name: &str, why: String) {
        self.found.failed.push(Failure::new(name, why));
    }

    /// A file to read, unless it was taken already.
    fn take(&mut self, path: &Path, name: String, m: &Metadata) {
        if identity(m).is_none_or(|id| self.files.insert(id)) {
            self.found.inputs.push(Input {
                name,
                source: Source::Path(path.to_path_buf()),
            });
        }
    }

    /// Every entry of a directory, in path order.
    fn walk(&mut self, dir: &Path, m: &Metadata) {
        if identity(m).is_some_and(|id| !self.dirs.insert(id)) {
            return;
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => return self.fail(&dir.display().to_string(), format!("cannot list: {e}")),
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            self.entry(&p, false);
        }
    }

    /// A walked entry, or (`explicit`) a glob's match: a file of any name
    /// is taken from a glob, only the [`WALKED`] extensions from a walk.
    fn entry(&mut self, p: &Path, explicit: bool) {
        let name = p.display().to_string();
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => self.walk(p, &m),
            Ok(m) if m.is_file() && (explicit || walked(p)) => self.take(p, name, &m),
            Ok(_) => self.found.skipped += 1,
            // Gone since the directory was listed.
            Err(_) if std::fs::symlink_metadata(p).is_err() => {}
            Err(e) => self.fail(&name, unreachable(p, &e)),
        }
    }

    /// The matches of a glob, or a failure when there are none.
    fn glob(&mut self, pattern: &str) {
        let matches = expand_glob(pattern);
        if matches.is_empty() {
            return self.fail(
                pattern,
                "no such file, and no file matches the pattern".into(),
            );
        }
        for m in matches {
            self.entry(&m, true);
        }
    }
}

/// Why `metadata(path)` failed: the OS's reason, and for a link to
/// nothing, where it points.
fn unreachable(path: &Path, e: &io::Error) -> String {
    match std::fs::read_link(path) {
        Ok(target) if e.kind() == io::ErrorKind::NotFound => {
            format!("dangling symbolic link to {}: {e}", target.display())
        }
        _ => e.to_string(),
    }
}

/// Whether a walk takes the file, by its name: one of [`WALKED`], maybe
/// followed by `.gz`.
fn walked(p: &Path) -> bool {
    let ext = |p: &Path| {
        p.extension()
            .map(|x| x.to_string_lossy().to_ascii_lowercase())
    };
    let Some(mut x) = ext(p) else {
        return false;
    };
    if x == "gz" {
        let Some(inner) = p.file_stem().and_then(|s| ext(Path::new(s))) else {
            return false;
        };
        x = inner;
    }
    WALKED.contains(&x.as_str())
}

/// Whether text has a glob's wildcards.
fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The paths a glob matches, sorted: each component with wildcards is
/// matched against the entries of the directories matched so far (a
/// leading `.` only by a pattern that starts with one, as in the shell).
pub fn expand_glob(pattern: &str) -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::new()];
    for c in Path::new(pattern).components() {
        let part = c.as_os_str().to_string_lossy();
        if !matches!(c, Component::Normal(_)) || !is_glob(&part) {
            paths.iter_mut().for_each(|p| p.push(c));
            continue;
        }
        let pat: Vec<char> = part.chars().collect();
        let mut next = Vec::new();
        for dir in &paths {
            let listed = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            let Ok(entries) = std::fs::read_dir(listed) else {
                continue;
            };
            for e in entries.flatten() {
                let name: Vec<char> = e.file_name().to_string_lossy().chars().collect();
                if (name.first() != Some(&'.') || pat.first() == Some(&'.'))
                    && glob_match(&pat, &name)
                {
                    next.push(dir.join(e.file_name()));
                }
            }
        }
        paths = next;
    }
    paths.retain(|p| std::fs::symlink_metadata(p).is_ok());
    paths.sort();
    paths
}

/// Whether `name` matches the glob `pat`: `*` any run, `?` one character,
/// `[abc]`, `[a-z]`, `[!a]` / `[^a]` one of (or none of) a set; a `[`
/// never closed is itself.
pub fn glob_match(pat: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pat.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => Some(p + 1),
            Some('[') => match class(pat, p, name[n]) {
                Some((true, end)) => Some(end),
                Some((false, _)) => None,
                None => (name[n] == '[').then_some(p + 1),
            },
            Some(c) => (*c == name[n]).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => (p, n) = (next, n + 1),
            (None, Some((sp, sn))) => {
                star = Some((sp, sn + 1));
                (p, n) = (sp + 1, sn + 1);
            }
            (None, None) => return false,
        }
    }
    pat[p..].iter().all(|c| *c == '*')
}

/// The set `[...]` starting at `pat[at]`: whether `c` is in it and the
/// index after its `]`; `None` when it is never closed.
fn class(pat: &[char], at: usize, c: char) -> Option<(bool, usize)> {
    let mut i = at + 1;
    let negated = matches!(pat.get(i), Some('!' | '^'));
    i += usize::from(negated);
    let start = i;
    let mut hit = false;
    while i < pat.len() && (pat[i] != ']' || i == start) {
        if pat.get(i + 1) == Some(&'-') && pat.get(i + 2).is_some_and(|e| *e != ']') {
            hit |= (pat[i]..=pat[i + 2]).contains(&c);
            i += 3;
        } else {
            hit |= pat[i] == c;
            i += 1;
        }
    }
    (i < pat.len()).then_some((hit != negated, i + 1))
}

/// An input, open, its kind known.
pub struct Opened {
    /// What it holds.
    pub kind: Kind,
    /// The input's name ([`Input::name`]).
    pub name: String,
    body: Body,
}

/// An open input's bytes, from the start.
enum Body {
    /// A regular, uncompressed file, at offset 0: seekable as it is.
    File(File),
    /// Anything else (stdin, a pipe, gzip), its first bytes in front.
    Stream(Box<dyn BufRead + Send>),
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = match self.body {
            Body::File(_) => "file",
            Body::Stream(_) => "stream",
        };
        write!(f, "Opened({}, {:?}, {body})", self.name, self.kind)
    }
}

/// What an EVTX input is read from: the file itself, or (stdin, pipes,
/// gzip) the whole stream in memory.
#[derive(Debug)]
pub enum Seekable {
    /// A regular file.
    File(File),
    /// A stream read to its end.
    Memory(Cursor<Vec<u8>>),
}

impl Read for Seekable {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Seekable::File(f) => f.read(buf),
            Seekable::Memory(m) => m.read(buf),
        }
    }
}

impl Seek for Seekable {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match self {
            Seekable::File(f) => f.seek(to),
            Seekable::Memory(m) => m.seek(to),
        }
    }
}

impl Opened {
    /// The bytes from the start (decompressed), buffered: for CSV and
    /// JSON lines.
    pub fn into_reader(self) -> Box<dyn BufRead + Send> {
        match self.body {
            Body::File(f) => Box::new(BufReader::with_capacity(1 << 16, f)),
            Body::Stream(s) => s,
        }
    }

    /// The input as EVTX. A regular uncompressed file is read in place;
    /// anything else (stdin, a pipe, `.gz`) is read to its end into memory
    /// first, since EVTX is read by seeking: that costs the size of the
    /// (decompressed) log.
    pub fn into_evtx(self) -> Result<EvtxFile<Seekable>> {
        let path = PathBuf::from(&self.name);
        let seekable = match self.body {
            Body::File(f) => Seekable::File(f),
            Body::Stream(mut s) => {
                let mut all = Vec::new();
                s.read_to_end(&mut all).map_err(|e| Error::File {
                    context: format!("reading {}", self.name),
                    source: e,
                })?;
                Seekable::Memory(Cursor::new(all))
            }
        };
        EvtxFile::from_reader(seekable, &path)
    }
}

/// Opens an input once and tells its kind from its first bytes (gzip is
/// decompressed first, whatever the name): EVTX by its magic, JSON lines
/// when the first byte that is not white space is `{`, CSV when the first
/// line looks like a header. Anything else, an empty input, and a file
/// named `.evtx` that is not EVTX, is a failure saying what it is.
pub fn open(input: &Input) -> std::result::Result<Opened, Failure> {
    let fail = |why: String| Failure::new(&input.name, why);
    let path = match &input.source {
        Source::Stdin => return from_stream(&input.name, Box::new(io::stdin())),
        Source::Path(p) => p,
    };
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let regular = file.metadata().map_err(|e| fail(e.to_string()))?.is_file();
    let opened = if regular {
        from_file(&input.name, file)
    } else {
        from_stream(&input.name, Box::new(file))
    }?;
    let named_evtx = path
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
        || path
            .to_string_lossy()
            .to_ascii_lowercase()
            .ends_with(".evtx.gz");
    if named_evtx && opened.kind != Kind::Evtx {
        return Err(fail(format!(
            "named .evtx but not EVTX (it looks like {})",
            opened.kind.name()
        )));
    }
    Ok(opened)
}

/// A regular file: sniffed, then sought back to its start (gzip goes on as
/// a stream).
fn from_file(name: &str, mut file: File) -> std::result::Result<Opened, Failure> {
    let head = read_head(&mut file).map_err(|e| Failure::new(name, e.to_string()))?;
    if head.starts_with(GZIP_MAGIC) {
        return from_stream(name, Box::new(Cursor::new(head).chain(file)));
    }
    let kind = sniff(&head).map_err(|why| Failure::new(name, why))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Failure::new(name, e.to_string()))?;
    Ok(Opened {
        kind,
        name: name.to_string(),
        body: Body::File(file),
    })
}

/// A stream: its first bytes read, looked at and put back in front.
fn from_stream(name: &str, raw: Box<dyn Read + Send>) -> std::result::Result<Opened, Failure> {
    let fail = |why: String| Failure::new(name, why);
    let (mut head, mut stream) = peek(raw).map_err(|e| fail(e.to_string()))?;
    if head.starts_with(GZIP_MAGIC) {
        let gz = MultiGzDecoder::new(stream);
        (head, stream) = peek(Box::new(gz)).map_err(|e| fail(format!("gzip: {e}")))?;
    }
    let kind = sniff(&head).map_err(fail)?;
    Ok(Opened {
        kind,
        name: name.to_string(),
        body: Body::Stream(Box::new(BufReader::with_capacity(1 << 16, stream))),
    })
}

type Stream = Box<dyn Read + Send>;

/// The first bytes of a stream, and the stream from its start again.
fn peek(mut raw: Stream) -> io::Result<(Vec<u8>, Stream)> {
    let head = read_head(&mut raw)?;
    Ok((head.clone(), Box::new(Cursor::new(head).chain(raw))))
}

/// Up to [`HEAD`] bytes (fewer only at the end of the input).
fn read_head(r: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    r.take(HEAD).read_to_end(&mut head)?;
    Ok(head)
}

/// The kind of an input from its first bytes, or why it is none.
pub fn sniff(head: &[u8]) -> std::result::Result<Kind, String> {
    if head.is_empty() {
        return Err("empty".into());
    }
    if head.starts_with(EVTX_MAGIC) {
        return Ok(Kind::Evtx);
    }
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let Some(first) = text.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err("empty (only white space)".into());
    };
    match text[first] {
        b'{' => return Ok(Kind::JsonLines),
        b'[' => return Err("a JSON array, not JSON lines (one object per line)".into()),
        _ => {}
    }
    if csv_header(text) {
        return Ok(Kind::Csv);
    }
    let start: Vec<u8> = head.iter().take(24).copied().collect();
    Err(format!(
        "not EVTX, CSV or JSON lines (starts with \"{}\")",
        start.escape_ascii()
    ))
}

/// Whether the first line of `text` looks like a Splunk CSV header: text
/// without control characters, with a comma, or one of Splunk's own
/// column names alone.
fn csv_header(text: &[u8]) -> bool {
    let end = memchr::memchr(b'\n', text).unwrap_or(text.len());
    let line = text[..end].strip_suffix(b"\r").unwrap_or(&text[..end]);
    let line = match std::str::from_utf8(line) {
        Ok(l) => l,
        // Cut inside a character at the end of the head.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&line[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    if line.is_empty() || line.starts_with('<') || line.chars().any(|c| c.is_control() && c != '\t')
    {
        return false;
    }
    let alone = line.trim().trim_matches('"');
    line.contains(',') || ["_time", "_raw", "host", "source", "sourcetype"].contains(&alone)
}

#[cfg(test)]
mod tests;
