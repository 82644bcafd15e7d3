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
//!   64 KiB; Linux), so the write does not wait and a kill cannot cut it.
//!   SIGTERM and SIGINT (how splunkd stops an input) set a flag read
//!   between a commit and the next write, so a stop repeats and loses
//!   nothing. A SIGKILL cannot be caught: landing between a write and its
//!   commit (two system calls) it repeats that one unit on restart, and it
//!   never loses one. An event bigger than the unit may be cut by a kill
//!   while the pipe is full.
//!
//! The library writes nothing to stderr: problems come back as ERROR/WARN
//! lines through a `log` sink, and [`main_with`] prints them (splunkd puts
//! the input's stderr in splunkd.log).
//!
//! * `config.rs`: the scheme, `<input>` and `<items>`.
//! * `paths.rs`: a stanza's path to files; the directory walker and EVTX
//!   magic check `hunt` uses too.
//! * `checkpoint.rs`: file identities and checkpoints.
//! * `unit.rs`: `<event>` elements and the room of the pipe.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::evtx::escape::{escape_into, Quotes};
use crate::evtx::{EvtxFile, Position, Rendered};

mod checkpoint;
mod config;
pub mod paths;
mod unit;

pub use checkpoint::{identity, Checkpoint};
pub use config::{parse_input, validate, InputConfig, Stanza, PRESET_CHANNELS, SCHEME};
pub use paths::expand;
pub use unit::{event_xml, stdout_room, Room};

use checkpoint::checkpoint_path;
use unit::{MAX_UNIT, PIPE_BUF};

/// Records filtered out in a row after which the position is committed
/// though nothing was written.
const IDLE_COMMIT: u64 = 4096;

/// Streams every stanza's new records to `out`, stopping between two
/// committed writes once `stop` is set. Problems with one file are
/// ERROR/WARN lines for `log`, and the other files go on.
pub fn stream<W: Write>(
    config: &InputConfig,
    out: &mut W,
    room: &mut Room<'_>,
    stop: &AtomicBool,
    log: &mut dyn FnMut(String),
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
                log(format!("ERROR {}: {e}", s.name));
                continue;
            }
        };
        for f in files {
            if stop.load(Ordering::Relaxed) {
                break 'stanzas;
            }
            if let Err(e) = stream_file(config, s, &f, out, room, stop, log) {
                if e.is_peer_gone() {
                    return Err(e);
                }
                log(format!("ERROR {}: {e}", s.name));
            }
        }
    }
    out.write_all(b"</stream>\n").map_err(io)?;
    out.flush().map_err(io)
}

/// Streams one file's records after its checkpoint.
fn stream_file<W: Write>(
    config: &InputConfig,
    s: &Stanza,
    f: &Path,
    out: &mut W,
    room: &mut Room<'_>,
    stop: &AtomicBool,
    log: &mut dyn FnMut(String),
) -> Result<()> {
    let Some(id) = identity(f)? else {
        // No record yet: a later run will see it.
        return Ok(());
    };
    let cp = Checkpoint::open(
        &checkpoint_path(&config.checkpoint_dir, &s.name, &id),
        f,
        log,
    )?;
    let mut file = EvtxFile::open(f)?;
    let mut sender = Sender::new(out, room, stop, cp);
    let mut failed = None;
    file.read_from(
        sender.upto,
        |r, pos| match sender.record(s, &r, pos) {
            Ok(go) => go,
            Err(e) => {
                failed = Some(e);
                false
            }
        },
        |d| log(format!("WARN {}: {d}", f.display())),
    );
    if let Some(e) = failed {
        return Err(e);
    }
    sender.write_unit()?;
    sender.cp.sync()
}

/// One file's events on their way out: the unit being filled, what it
/// covers, and the checkpoint its writes commit.
struct Sender<'a, 'r, W: Write> {
    out: &'a mut W,
    room: &'a mut Room<'r>,
    stop: &'a AtomicBool,
    cp: Checkpoint,
    unit: Vec<u8>,
    /// The event being added, reused.
    event: Vec<u8>,
    /// The size of the unit being filled: the room the pipe had when it
    /// was started (it only grows until we write), at least `PIPE_BUF`, at
    /// most `MAX_UNIT`.
    cap: usize,
    /// What the unit covers: every record up to here is in it or filtered.
    upto: Position,
    /// Records filtered out in a row.
    idle: u64,
}

impl<'a, 'r, W: Write> Sender<'a, 'r, W> {
    fn new(out: &'a mut W, room: &'a mut Room<'r>, stop: &'a AtomicBool, cp: Checkpoint) -> Self {
        let mut sender = Sender {
            out,
            room,
            stop,
            upto: cp.position,
            cp,
            unit: Vec::with_capacity(MAX_UNIT),
            event: Vec::new(),
            cap: 0,
            idle: 0,
        };
        sender.cap = sender.fit();
        sender
    }

    fn fit(&mut self) -> usize {
        (self.room)().clamp(PIPE_BUF, MAX_UNIT)
    }

    /// Takes the record read at `pos`; `false` to stop the reading (a stop
    /// after a commit).
    fn record(&mut self, s: &Stanza, r: &Rendered, pos: Position) -> Result<bool> {
        let go = if s.keeps(r) {
            self.add(s, r)?
        } else {
            self.skip(pos)?
        };
        if go {
            self.upto = pos;
        }
        Ok(go)
    }

    /// Adds a kept record's event to the unit, writing the unit first when
    /// the event would not fit in it; `false` for a stop after that write.
    fn add(&mut self, s: &Stanza, r: &Rendered) -> Result<bool> {
        self.idle = 0;
        self.event.clear();
        event_xml(&mut self.event, s, r);
        if !self.unit.is_empty() && self.unit.len() + self.event.len() > self.cap {
            self.write_unit()?;
            self.cap = self.fit();
            if self.stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
        }
        self.unit.extend_from_slice(&self.event);
        Ok(true)
    }

    /// Counts a record filtered out: after `IDLE_COMMIT` in a row with
    /// nothing waiting, its position is committed; `false` for a stop after
    /// that commit.
    fn skip(&mut self, pos: Position) -> Result<bool> {
        self.idle += 1;
        if self.unit.is_empty() && self.idle >= IDLE_COMMIT {
            self.idle = 0;
            self.cp.commit(pos)?;
            if self.stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Writes the unit in one system call, then commits what it covers.
    fn write_unit(&mut self) -> Result<()> {
        self.out
            .write_all(&self.unit)
            .and_then(|()| self.out.flush())
            .map_err(|e| Error::io("writing events", e))?;
        self.unit.clear();
        self.cp.commit(self.upto)
    }
}

/// The program: `--scheme`, `--validate-arguments`, or streaming. The only
/// place of the modular input that writes to stderr: the ERROR/WARN lines
/// of the library, each as it comes.
pub fn main_with(args: &[String]) -> Result<ExitCode> {
    match args.first().map(String::as_str) {
        Some("--scheme") => {
            print!("{SCHEME}");
            Ok(ExitCode::SUCCESS)
        }
        Some("--validate-arguments") => Ok(validate_arguments(&read_stdin()?)),
        None => {
            let config = parse_input(&read_stdin()?)?;
            run(&config, &mut |line| eprintln!("{line}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(Error::Input(format!(
            "unknown argument {other:?}: expected --scheme, --validate-arguments or none"
        ))),
    }
}

/// The configuration splunkd writes to stdin.
fn read_stdin() -> Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("reading the configuration", e))?;
    Ok(decode(&bytes))
}

/// Answers `--validate-arguments`: nothing and success, or the problem as
/// `<error><message>…</message></error>` and exit code 1.
fn validate_arguments(items: &str) -> ExitCode {
    match validate(items) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut msg = String::new();
            escape_into(&mut msg, &e.to_string(), Quotes::Kept);
            println!("<error><message>{msg}</message></error>");
            ExitCode::from(1)
        }
    }
}

/// Streams to standard output until done or stopped by SIGTERM/SIGINT.
fn run(config: &InputConfig, log: &mut dyn FnMut(String)) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in signal_hook::consts::TERM_SIGNALS {
        signal_hook::flag::register(*sig, Arc::clone(&stop))
            .map_err(|e| Error::io("installing signal handlers", e))?;
    }
    let out = raw_stdout()?;
    let mut room = stdout_room(&out);
    stream(config, &mut &out, &mut *room, &stop, log)
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

/// Files the tests of the modular input's modules share.
#[cfg(test)]
mod test_files {
    use std::path::{Path, PathBuf};

    /// A fresh, empty scratch directory for one test.
    pub(super) fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wd-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The bundled EVTX file the checkpoint and unit tests read.
    pub(super) fn fixture_evtx() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evtx/mdec_wmiexec_via_smb.evtx")
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::test_files::{fixture_evtx, scratch};
    use super::*;

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

    /// What `stream_file` sends of `s`'s file with the pipe's room fixed at
    /// `room` (its log lines dropped).
    fn sent(config: &InputConfig, s: &Stanza, room: usize, stop: bool) -> Units {
        let mut out = Units::default();
        let (room, stop) = (&mut || room, &AtomicBool::new(stop));
        let path = PathBuf::from(&s.path);
        stream_file(config, s, &path, &mut out, room, stop, &mut |_| {}).unwrap();
        out
    }

    /// A file goes out in units as full as the pipe's room allows: each
    /// unit is whole events, at most the room (unless one event is bigger),
    /// and the next event would not have fitted; each unit is committed.
    /// Stopped after a unit, a second run sends exactly the rest.
    #[test]
    fn units_are_as_full_as_fit_and_a_stop_resumes_after_one() {
        let dir = scratch("units");
        let (config, s, _) = test_stanza(&dir.join("all"));
        let room = 8192;
        let out = sent(&config, &s, room, false);
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
        assert_eq!(sent(&config, &s, exact, false).units[0].len(), exact);

        let (config, s, _) = test_stanza(&dir.join("stopped"));
        let first = sent(&config, &s, room, true);
        let first: Vec<&[u8]> = first.units.iter().flat_map(|u| events_of(u)).collect();
        assert_eq!(first, all[..units[0].len()], "one unit, then the stop");
        let rest = sent(&config, &s, room, false);
        let rest: Vec<&[u8]> = rest.units.iter().flat_map(|u| events_of(u)).collect();
        assert_eq!([first, rest].concat(), all, "the rest, once");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// With an EventID filter, records filtered out before the first kept
    /// one do not end a stopped run early: the first unit of kept events
    /// still goes out, and the next run sends the rest.
    #[test]
    fn a_filtered_stop_still_sends_its_first_unit() {
        let dir = scratch("units-filtered");
        let run = |cp: &str, stop: bool| -> Vec<Vec<u8>> {
            let (mut config, mut s, _) = test_stanza(&dir.join(cp));
            s.event_ids = [4688].into_iter().collect();
            config.stanzas = vec![s.clone()];
            let out = sent(&config, &s, 4096, stop);
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
