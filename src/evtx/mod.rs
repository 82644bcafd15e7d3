//! EVTX files read with the `evtx` crate and rendered the way the Splunk
//! Add-on for Microsoft Windows renders `XmlWinEventLog`: one
//! `<Event xmlns='…'>…</Event>` per record, single-quoted attributes, no XML
//! declaration, empty elements self-closed, GUIDs in braces, text escaped
//! (`&`, `<`, `>`, `"`, `'`). The add-on's field extractions only match
//! `<Data Name='…'>`, so the crate's own (double-quoted) XML will not do.
//! Records are rendered straight from the crate's tree (`render_tree`);
//! what that does not take goes the long way: the crate's XML, parsed and
//! re-serialized ([`render`]). A test checks both agree on every record.
//!
//! [`EvtxFile`] walks chunks and records from a resume point and reports
//! damaged chunks and records instead of stopping. For `hunt` it can also
//! collect each record's fields while rendering ([`EvtxFile::with_pairs`])
//! and leave out records before rendering them ([`EvtxFile::read_skipping`],
//! from a [`Peek`] at the tree).
//!
//! * `render_tree.rs`, `render_xml.rs`: the two routes (and the peek).
//! * `pairs.rs`: the fields as the `_raw` XML reader would read them.
//! * `escape.rs`: the crate's one XML escape (the modular input's too).
//! * `time.rs`: `SystemTime` text and calendar dates, through chrono.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

pub(crate) mod escape;
mod pairs;
mod render_tree;
mod render_xml;
mod time;

pub use render_xml::render;
pub use time::parse_system_time;
pub(crate) use time::utc;

/// One record, rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The `XmlWinEventLog` body (one `<Event>` element).
    pub xml: String,
    /// `<Channel>`.
    pub channel: String,
    /// `<Computer>`.
    pub computer: String,
    /// `<EventID>`.
    pub event_id: u32,
    /// `<TimeCreated SystemTime>` as epoch seconds.
    pub time: f64,
    /// `<EventRecordID>` from the record header.
    pub record_id: u64,
    /// The fields as the XML reader ([`crate::event::raw_xml`]) would
    /// read them from `xml`, when asked for ([`EvtxFile::with_pairs`]) and
    /// the direct renderer took the record; `None` otherwise (also when
    /// the record has no `EventID`, as the reader gives none then).
    pub pairs: Option<Vec<(String, String)>>,
}

/// What a record says of itself before it is rendered: enough to decide
/// whether to render it ([`EvtxFile::read_skipping`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Peek {
    /// `<Channel>`.
    pub channel: String,
    /// `<EventID>`, when it reads as a number.
    pub event_id: Option<u32>,
    /// Whether a field is named `TargetUserSid` (a `<Data Name=…>` or an
    /// element of that name); always false unless `whole`.
    pub names_target_user_sid: bool,
    /// Whether the whole record was read, or only its `System` element.
    pub whole: bool,
}

/// What to do with a record, said from its [`Peek`]
/// ([`EvtxFile::read_skipping`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Leave it out (from a peek at its `System` element alone: perhaps,
    /// the whole record decides).
    Skip,
    /// Render it.
    Xml,
    /// Collect its fields ([`Rendered::pairs`]) without writing its XML
    /// (`Rendered::xml` is empty): for records no one reads the XML of.
    Fields,
}

/// Something wrong in a file that did not stop the reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Damage {
    /// 0-based chunk number.
    pub chunk: u64,
    /// The record, when one record (not the whole chunk) was bad.
    pub record: Option<u64>,
    /// What the parser said.
    pub message: String,
}

impl std::fmt::Display for Damage {
    /// `chunk 6: skipped: …` or `chunk 0 record 13: skipped: …`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.record {
            Some(r) => write!(
                f,
                "chunk {} record {r}: skipped: {}",
                self.chunk, self.message
            ),
            None => write!(f, "chunk {}: skipped: {}", self.chunk, self.message),
        }
    }
}

/// Why one record could not be rendered. [`Error::EvtxRecord`] names the
/// file and the record around it.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The `evtx` crate could not write the record's XML.
    #[error(transparent)]
    Crate(#[from] evtx::err::EvtxError),
    /// The crate's XML did not read back.
    #[error(transparent)]
    Xml(#[from] quick_xml::Error),
    /// An attribute of the crate's XML did not read back.
    #[error(transparent)]
    Attribute(#[from] quick_xml::events::attributes::AttrError),
    /// The record has no such element (`EventID`, `TimeCreated`).
    #[error("no {0}")]
    Missing(&'static str),
}

/// Where reading stands in one file: the chunk to read next and the
/// highest record id already handled in that chunk (its records at or
/// below it are skipped; ids restart in the chunks of a wrapped log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Chunks before this one are done.
    pub chunk: u64,
    /// Records of `chunk` with ids up to this one are done.
    pub record_id: u64,
}

/// One EVTX file being read (from disk, or from any seekable reader).
pub struct EvtxFile<R: Read + Seek = File> {
    parser: evtx::EvtxParser<R>,
    settings: Arc<evtx::ParserSettings>,
    path: PathBuf,
    with_pairs: bool,
    memo: render_tree::Memo,
}

impl EvtxFile<File> {
    /// Opens a file; a missing file, a permission error or a file that is
    /// not EVTX is an error naming the path.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::File {
            context: format!("opening {}", path.display()),
            source: e,
        })?;
        EvtxFile::from_reader(file, path)
    }
}

impl<R: Read + Seek + 'static> EvtxFile<R> {
    /// Reads EVTX from `reader`; `path` names it in messages. Data that is
    /// not EVTX is an error.
    pub fn from_reader(reader: R, path: &Path) -> Result<Self> {
        let parser = evtx::EvtxParser::from_read_seek(reader).map_err(|e| Error::Evtx {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        let settings = evtx::ParserSettings::default()
            .indent(false)
            .num_threads(1)
            .template_records(true);
        Ok(EvtxFile {
            parser,
            settings: Arc::new(settings),
            path: path.to_path_buf(),
            with_pairs: false,
            memo: render_tree::Memo::default(),
        })
    }

    /// Also collects each record's fields as pairs ([`Rendered::pairs`]).
    pub fn with_pairs(mut self) -> Self {
        self.with_pairs = true;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every record after `from`, chunk by chunk. `on_record` gets
    /// each rendered record and the position to store once it is handled;
    /// returning `false` stops the reading. `on_damage` hears of bad
    /// chunks and records, which are skipped.
    pub fn read_from(
        &mut self,
        from: Position,
        on_record: impl FnMut(Rendered, Position) -> bool,
        on_damage: impl FnMut(Damage),
    ) {
        self.read_skipping(from, None, on_record, on_damage);
    }

    /// [`EvtxFile::read_from`], but what to do with each record is asked
    /// of `take` before the record is rendered, from its [`Peek`]: a record
    /// it skips is never rendered nor handed to `on_record`, one it takes as
    /// [`Take::Fields`] is handed over without its XML. `take` is asked
    /// first what the `System` element says (`whole` false), and only when
    /// it says skip there, again with the whole record: most records are of
    /// a kind that is rendered, and their `System` element tells. Records
    /// whose channel and event id cannot be read from the tree are rendered.
    pub fn read_skipping(
        &mut self,
        from: Position,
        take: Option<&mut dyn FnMut(&Peek) -> Take>,
        mut on_record: impl FnMut(Rendered, Position) -> bool,
        mut on_damage: impl FnMut(Damage),
    ) {
        let mut h = Handlers {
            take,
            on_record: &mut on_record,
            on_damage: &mut on_damage,
        };
        let mut next = from.chunk;
        while let Some((chunk, number)) = self.parser.find_next_chunk(next) {
            next = number + 1;
            let data = match chunk {
                Ok(d) => d,
                Err(e) => {
                    (h.on_damage)(chunk_damage(number, e.to_string()));
                    continue;
                }
            };
            // The resume chunk's records up to this id are done.
            let done = (number == from.chunk).then_some(from.record_id);
            if !self.read_chunk(number, data, done, &mut h) {
                return;
            }
        }
    }

    /// Reads chunk `number` unless its records are all done (up to `done`)
    /// or it is damaged; `false` when `on_record` stopped the reading.
    fn read_chunk<H, D>(
        &mut self,
        number: u64,
        mut data: evtx::EvtxChunkData,
        done: Option<u64>,
        h: &mut Handlers<'_, '_, H, D>,
    ) -> bool
    where
        H: FnMut(Rendered, Position) -> bool,
        D: FnMut(Damage),
    {
        // A chunk whose records are all done is not parsed again.
        if done.is_some_and(|d| data.header.last_event_record_id <= d) {
            return true;
        }
        if let Some(at) = string_table_loop(&data.data) {
            let message = format!("the string table's links loop (through offset {at})");
            (h.on_damage)(chunk_damage(number, message));
            return true;
        }
        match data.parse(self.settings.clone()) {
            Ok(mut parsed) => self.read_records(number, &mut parsed, done, h),
            Err(e) => {
                (h.on_damage)(chunk_damage(number, e.to_string()));
                true
            }
        }
    }

    /// Reads the records of the parsed chunk `number` after `done`; `false`
    /// when `on_record` stopped the reading.
    fn read_records<H, D>(
        &mut self,
        number: u64,
        parsed: &mut evtx::EvtxChunk<'_>,
        done: Option<u64>,
        h: &mut Handlers<'_, '_, H, D>,
    ) -> bool
    where
        H: FnMut(Rendered, Position) -> bool,
        D: FnMut(Damage),
    {
        // Ids only grow within a chunk: a log that wrapped around has
        // older records in later chunks.
        let mut last = done.unwrap_or(0);
        for (i, r) in parsed.iter().enumerate() {
            let rendered = match r {
                Ok(r) if done.is_some_and(|d| r.event_record_id <= d) => continue,
                Ok(r) => match h.take(&r) {
                    Take::Skip => continue,
                    take => self.render_record(r, take == Take::Xml),
                },
                Err(e) => Err(e.to_string()),
            };
            match rendered {
                Ok(rec) => {
                    last = last.max(rec.record_id);
                    // The chunk stays the resume point: the last chunk of
                    // a live file grows, and ids skip what was done.
                    let pos = Position {
                        chunk: number,
                        record_id: last,
                    };
                    if !(h.on_record)(rec, pos) {
                        return false;
                    }
                }
                Err(message) => (h.on_damage)(Damage {
                    chunk: number,
                    record: Some(i as u64),
                    message,
                }),
            }
        }
        true
    }

    /// Renders one record straight from its tree, or, when that route
    /// does not take it, from the crate's XML; a failure is the damage
    /// message, naming the file and the record.
    fn render_record(
        &mut self,
        mut r: evtx::EvtxRecord<'_>,
        xml: bool,
    ) -> std::result::Result<Rendered, String> {
        let record_id = r.event_record_id;
        let header_time = Some(header_time(&r));
        let pairs = self.with_pairs;
        let mut direct = render_tree::render_tree(&r, header_time, pairs, xml, &mut self.memo);
        // A template record the renderer does not take: its own tree.
        if direct.is_none() && r.template.is_some() {
            direct = match r.build_tree() {
                Ok(()) => render_tree::render_tree(&r, header_time, pairs, xml, &mut self.memo),
                Err(e) => Some(Err(RecordError::from(e))),
            };
        }
        let rendered = match direct {
            Some(done) => done,
            None => r
                .into_xml()
                .map_err(RecordError::from)
                .and_then(|x| render(&x.data, x.event_record_id, header_time)),
        };
        rendered.map_err(|source| {
            Error::EvtxRecord {
                path: self.path.clone(),
                record_id,
                source: Box::new(source),
            }
            .to_string()
        })
    }
}

/// What the reading of one chunk hands its records and damage to.
struct Handlers<'s, 'h, R, D> {
    take: Option<&'s mut (dyn FnMut(&Peek) -> Take + 's)>,
    on_record: &'h mut R,
    on_damage: &'h mut D,
}

impl<R, D> Handlers<'_, '_, R, D> {
    /// What `take` says of this record (rendered whole when its channel
    /// and event id cannot be read from its tree).
    fn take(&mut self, r: &evtx::EvtxRecord<'_>) -> Take {
        let Some(take) = &mut self.take else {
            return Take::Xml;
        };
        match render_tree::peek_system(r).map(|p| take(&p)) {
            Some(Take::Skip) | None => {}
            Some(rendered) => return rendered,
        }
        render_tree::peek(r).map_or(Take::Xml, |p| take(&p))
    }
}

fn chunk_damage(chunk: u64, message: String) -> Damage {
    Damage {
        chunk,
        record: None,
        message,
    }
}

/// The record header's time, which stands in for a missing `TimeCreated`.
fn header_time(r: &evtx::EvtxRecord<'_>) -> f64 {
    let t = r.timestamp;
    t.as_second() as f64 + f64::from(t.subsec_microsecond()) / 1e6
}

/// An offset on a loop in the chunk's string table, if a chain of it (64
/// chains of `next` links from the offsets at byte 128) comes back to an
/// entry it has already visited. The `evtx` crate (0.11) follows these links until a
/// zero or a self-link, so a damaged chunk with a longer loop would hang
/// it (found by the `evtx_chunk` fuzz target); such a chunk is skipped as
/// damaged. A chain that is not a loop visits distinct offsets, so it ends
/// within as many steps as the chunk has bytes.
pub fn string_table_loop(chunk: &[u8]) -> Option<u32> {
    let u32_at = |at: usize| {
        chunk
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    for slot in 0..64 {
        let mut at = u32_at(128 + 4 * slot)?;
        let mut steps = 0;
        while at > 0 {
            let Some(next) = u32_at(at as usize) else {
                break; // out of the chunk: the crate reports it
            };
            if next == at {
                break;
            }
            steps += 1;
            if steps > chunk.len() {
                return Some(next);
            }
            at = next;
        }
    }
    None
}

/// What both renderers take from a record besides its XML.
#[derive(Debug, Default)]
struct Fields {
    channel: String,
    computer: String,
    event_id: Option<u32>,
    time: Option<f64>,
}

impl Fields {
    /// Takes the text `value` of an `element`, if it is one of the fields.
    fn text(&mut self, element: &str, value: &str) {
        match element {
            "Channel" => self.channel.push_str(value),
            "Computer" => self.computer.push_str(value),
            "EventID" => self.event_id = value.trim().parse().ok(),
            _ => {}
        }
    }

    /// The rendered record; `header_time` stands in for a missing
    /// `TimeCreated`.
    fn finish(
        self,
        xml: String,
        record_id: u64,
        header_time: Option<f64>,
    ) -> std::result::Result<Rendered, RecordError> {
        Ok(Rendered {
            event_id: self.event_id.ok_or(RecordError::Missing("EventID"))?,
            time: self
                .time
                .or(header_time)
                .ok_or(RecordError::Missing("TimeCreated"))?,
            xml,
            channel: self.channel,
            computer: self.computer,
            record_id,
            pairs: None,
        })
    }
}

/// A name without its prefix (after its first `:`). A byte loop: names are
/// short, and `split_once` set up a searcher for each (6% of a dense log).
fn local_name(name: &str) -> &str {
    match name.bytes().position(|b| b == b':') {
        Some(at) => &name[at + 1..],
        None => name,
    }
}

/// Windows renders GUID-typed values as `{XXXXXXXX-…}`; the crate writes
/// them bare. Values that are already strings (with braces) are unchanged.
fn guid_braced(v: &str) -> std::borrow::Cow<'_, str> {
    let b = v.as_bytes();
    let is_guid = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if is_guid {
        format!("{{{}}}", v.to_ascii_uppercase()).into()
    } else {
        v.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct renderer gives what the crate's XML, parsed and
    /// re-serialized, gives, for every record of every bundled file (or of
    /// every file below `WD_EVTX_DIR` as well, to run it over more data).
    #[test]
    fn tree_rendering_equals_the_xml_route() {
        let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evtx")];
        dirs.extend(std::env::var_os("WD_EVTX_DIR").map(PathBuf::from));
        // The files below each directory (the modular input's walker is a
        // layer above this one).
        fn below(d: &std::path::Path, out: &mut Vec<PathBuf>) {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    below(&p, out);
                } else if p
                    .extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
                {
                    out.push(p);
                }
            }
        }
        let mut files = Vec::new();
        for d in &dirs {
            below(d, &mut files);
        }
        let (mut same, mut fallback, mut paired, mut system, mut templates) = (0, 0, 0, 0, 0);
        let mut memo = render_tree::Memo::default();
        for f in &files {
            let mut parser = evtx::EvtxParser::from_path(f).unwrap();
            for chunk in parser.chunks() {
                let Ok(mut data) = chunk else { continue };
                // Records read as their template and values, as `EvtxFile`
                // reads them; `into_xml` builds the tree the crate renders.
                let settings = evtx::ParserSettings::default()
                    .indent(false)
                    .template_records(true);
                let Ok(mut parsed) = data.parse(Arc::new(settings)) else {
                    continue;
                };
                for r in parsed.iter().flatten() {
                    templates += usize::from(r.template.is_some());
                    let peeked = render_tree::peek(&r);
                    // The System element alone says what the whole does
                    // (the whole reads on into any UserData `Channel`).
                    if let (Some(s), Some(p)) = (render_tree::peek_system(&r), &peeked) {
                        assert!(!s.whole && s.event_id == p.event_id);
                        assert!(p.channel.starts_with(&s.channel));
                        system += usize::from(!s.channel.is_empty());
                    }
                    let direct = render_tree::render_tree(&r, None, true, true, &mut memo);
                    let x = r.into_xml().unwrap();
                    let long = render(&x.data, x.event_record_id, None).map(|r| r.xml);
                    match direct {
                        Some(d) => {
                            if let Ok(d) = &d {
                                let at = format!("{} record {}", f.display(), x.event_record_id);
                                paired += usize::from(pairs_and_peek_agree(d, peeked, &at));
                            }
                            assert_eq!(
                                d.map(|r| r.xml).ok(),
                                long.ok(),
                                "{} record {}",
                                f.display(),
                                x.event_record_id
                            );
                            same += 1;
                        }
                        None => fallback += 1,
                    }
                }
            }
        }
        assert!(same > 370, "{same} records compared");
        assert!(paired > 370, "{paired} records paired");
        assert!(system > 370, "{system} System elements peeked at");
        // The bundled Security log is written as template instances.
        assert!(templates > 90, "{templates} template records");
        assert!(fallback * 100 <= same, "{fallback} records fell back");
    }

    /// Issue 15: the pairs collected on the way are what the XML reader
    /// reads from the XML, and a peek says what the rendering says.
    fn pairs_and_peek_agree(d: &Rendered, peeked: Option<Peek>, at: &str) -> bool {
        let read = crate::event::raw_xml::parse_event(&d.xml).map(|e| {
            e.pairs
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect::<Vec<_>>()
        });
        assert_eq!(d.pairs, read, "{at}");
        let want = Peek {
            channel: d.channel.clone(),
            event_id: Some(d.event_id),
            names_target_user_sid: read.iter().flatten().any(|(k, _)| k == "TargetUserSid"),
            whole: true,
        };
        assert_eq!(peeked, Some(want), "{at}");
        read.is_some()
    }

    /// A record that cannot be rendered is damage naming the file and the
    /// record id (553877b left the file out: `: record 7: no EventID`).
    #[test]
    fn a_record_error_names_the_file_and_record() {
        let e = Error::EvtxRecord {
            path: PathBuf::from("/logs/Security.evtx"),
            record_id: 7,
            source: Box::new(render("<Event/>", 7, None).unwrap_err()),
        };
        assert_eq!(e.to_string(), "/logs/Security.evtx: record 7: no EventID");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn guids_get_braces() {
        assert_eq!(
            guid_braced("54849625-5478-4994-a5ba-3e3b0328c30d"),
            "{54849625-5478-4994-A5BA-3E3B0328C30D}"
        );
        for kept in ["{54849625-5478-4994-A5BA-3E3B0328C30D}", "54849625", ""] {
            assert_eq!(guid_braced(kept), kept);
        }
    }
}
