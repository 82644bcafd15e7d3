//! Where each EVTX file's reading stands, kept across runs.
//!
//! A checkpoint belongs to a file's identity, not its name: the first
//! record's id and timestamp (bytes 0x1208..0x1218), so a renamed or copied
//! file is the same log and a replaced one is new. It holds two fixed-width
//! slots (`v2 seq=… chunk=… record=… sum=…`, 96 bytes each) written in turn
//! with one positioned write per commit, then the EVTX file's path for
//! people. The slot with the higher sequence number and a matching FNV-1a
//! checksum wins, so a write torn by a crash loses one commit, never the
//! position. A new checkpoint is written to a temporary file and renamed.
//! Version 1 was a JSON file beside it; it is still read and taken over.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::paths::{read_head, EVTX_MAGIC};
use crate::error::{Error, Result};
use crate::evtx::Position;

/// A file's identity: its first record's id and timestamp (bytes 0x1208..
/// 0x1218 of an EVTX file), as hex; `None` when the file has no record yet,
/// an error when it is not EVTX.
pub fn identity(path: &Path) -> Result<Option<String>> {
    const HEAD: u64 = 0x1218;
    let head = read_head(path, HEAD)?;
    if head.len() >= EVTX_MAGIC.len() && !head.starts_with(EVTX_MAGIC) {
        return Err(Error::NotEvtx {
            path: path.to_path_buf(),
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

/// The checkpoint of the file with identity `id` read by `stanza`.
pub(super) fn checkpoint_path(dir: &Path, stanza: &str, id: &str) -> PathBuf {
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

/// The newer of a checkpoint's two slots that reads.
fn newest_slot(bytes: &[u8]) -> Option<(u64, Position)> {
    bytes
        .chunks(SLOT)
        .take(2)
        .filter_map(parse_slot)
        .max_by_key(|(seq, _)| *seq)
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

/// What opening a checkpoint found on disk.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// A slot that reads: the checkpoint is used in place.
    Slots,
    /// A version-1 checkpoint: taken over, then removed.
    Version1,
    /// None, or none that reads: a fresh start.
    Nothing,
}

fn checkpoint_io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::File {
        context: format!("checkpoint {}", path.display()),
        source: e,
    }
}

impl Checkpoint {
    /// Opens the checkpoint at `path` (for the EVTX file `evtx`), or starts
    /// at the beginning when there is none; a damaged one is a WARN line
    /// for `log` and a fresh start. A version-1 JSON checkpoint beside it
    /// is taken over.
    pub fn open(path: &Path, evtx: &Path, log: &mut dyn FnMut(String)) -> Result<Checkpoint> {
        let io = checkpoint_io(path);
        let (seq, position, found) = match std::fs::read(path) {
            Ok(bytes) => match newest_slot(&bytes) {
                Some((seq, pos)) => (seq, pos, Found::Slots),
                None => {
                    log(format!(
                        "WARN checkpoint {} unreadable; reading {} from the start",
                        path.display(),
                        evtx.display()
                    ));
                    (0, Position::default(), Found::Nothing)
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let v1 = path.with_extension("json");
                if v1.exists() {
                    (0, load_v1(&v1, log), Found::Version1)
                } else {
                    (0, Position::default(), Found::Nothing)
                }
            }
            Err(e) => return Err(io(e)),
        };
        if found != Found::Slots {
            create(path, evtx, seq, position).map_err(&io)?;
            if found == Found::Version1 {
                let _ = std::fs::remove_file(path.with_extension("json"));
            }
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(&io)?;
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

/// Writes a new checkpoint at `path`, both slots at `position`: into a
/// temporary file, synced, then renamed.
fn create(path: &Path, evtx: &Path, seq: u64, position: Position) -> std::io::Result<()> {
    let mut bytes = slot_text(seq, position);
    bytes.extend(slot_text(seq, position));
    bytes.extend(format!("file={}\n", evtx.display()).into_bytes());
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
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

/// A version-1 (JSON) checkpoint's position, or the start (a WARN line for
/// `log` when it does not read).
fn load_v1(path: &Path, log: &mut dyn FnMut(String)) -> Position {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Position::default();
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) if v["version"].as_u64() == Some(1) => Position {
            chunk: v["chunk"].as_u64().unwrap_or(0),
            record_id: v["record_id"].as_u64().unwrap_or(0),
        },
        _ => {
            log(format!(
                "WARN checkpoint {} unreadable; reading the file from the start",
                path.display()
            ));
            Position::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modinput::test_files::{fixture_evtx, scratch};

    /// Opens a checkpoint; the WARN lines it gave.
    fn open(path: &Path, evtx: &Path) -> (Result<Checkpoint>, Vec<String>) {
        let mut warnings = Vec::new();
        let cp = Checkpoint::open(path, evtx, &mut |w| warnings.push(w));
        (cp, warnings)
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
        assert_eq!(
            identity(&path).unwrap_err().to_string(),
            format!("{}: not an EVTX file", path.display())
        );
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
        let (cp, warnings) = open(&path, Path::new("/logs/Security.evtx"));
        let err = cp.err().expect("an error");
        assert!(err.to_string().contains("s-1.ckpt"), "{err}");
        assert!(warnings.is_empty(), "{warnings:?}");
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
        let mut cp = open(&path, evtx).0.unwrap();
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
        let (cp, warnings) = open(&path, evtx);
        assert_eq!(
            cp.unwrap().position,
            Position {
                chunk: 1,
                record_id: 7
            }
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            std::fs::metadata(&path).unwrap().ino(),
            inode,
            "not rewritten"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Commits alternate between the two slots, so the newer position and
    /// the one before it are both on disk (a torn write loses one only).
    #[test]
    fn commits_alternate_between_the_two_slots() {
        let dir = scratch("cp-slots");
        let path = dir.join("s-1.ckpt");
        let mut cp = open(&path, Path::new("/logs/Security.evtx")).0.unwrap();
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

    /// A checkpoint whose slots are both damaged is a WARN and a fresh
    /// start, rewritten in place.
    #[test]
    fn a_damaged_checkpoint_is_a_warning_and_a_fresh_start() {
        let dir = scratch("cp-damaged");
        let path = dir.join("s-1.ckpt");
        std::fs::write(&path, "garbage\n").unwrap();
        let (cp, warnings) = open(&path, Path::new("/logs/Security.evtx"));
        assert_eq!(cp.unwrap().position, Position::default());
        assert_eq!(
            warnings,
            [format!(
                "WARN checkpoint {} unreadable; reading /logs/Security.evtx from the start",
                path.display()
            )]
        );
        assert_eq!(
            newest_slot(&std::fs::read(&path).unwrap()),
            Some((0, Position::default()))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A version-1 JSON checkpoint is taken over (and removed); one of
    /// another version is a fresh start, and one that is not JSON a WARN.
    #[test]
    fn a_version_1_checkpoint_is_taken_over() {
        let dir = scratch("cp-v1");
        let evtx = Path::new("/logs/Security.evtx");
        for (name, json, want, warned) in [
            (
                "a",
                r#"{"version":1,"chunk":2,"record_id":9}"#,
                Position {
                    chunk: 2,
                    record_id: 9,
                },
                false,
            ),
            (
                "b",
                r#"{"version":3,"chunk":2,"record_id":9}"#,
                Position::default(),
                true,
            ),
            ("c", "not json", Position::default(), true),
        ] {
            let path = dir.join(format!("{name}.ckpt"));
            std::fs::write(path.with_extension("json"), json).unwrap();
            let (cp, warnings) = open(&path, evtx);
            assert_eq!(cp.unwrap().position, want, "{name}");
            let warning = format!(
                "WARN checkpoint {} unreadable; reading the file from the start",
                path.with_extension("json").display()
            );
            assert_eq!(
                warnings,
                Vec::from_iter(warned.then_some(warning)),
                "{name}"
            );
            assert!(path.exists());
            assert!(
                !path.with_extension("json").exists(),
                "{name}: the v1 file is gone"
            );
            assert_eq!(open(&path, evtx).0.unwrap().position, want, "{name}: kept");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
