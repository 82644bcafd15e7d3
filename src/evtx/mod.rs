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
//! damaged chunks and records instead of stopping.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use quick_xml::events::{BytesStart, Event as XmlEvent};
use quick_xml::Reader;

use crate::error::{Error, Result};

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
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let settings = evtx::ParserSettings::default().indent(false).num_threads(1);
        Ok(EvtxFile {
            parser,
            settings: Arc::new(settings),
            path: path.to_path_buf(),
        })
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
        mut on_record: impl FnMut(Rendered, Position) -> bool,
        mut on_damage: impl FnMut(Damage),
    ) {
        let mut next = from.chunk;
        while let Some((chunk, number)) = self.parser.find_next_chunk(next) {
            next = number + 1;
            let bad_chunk = |message: String| Damage {
                chunk: number,
                record: None,
                message,
            };
            let mut data = match chunk {
                Ok(d) => d,
                Err(e) => {
                    on_damage(bad_chunk(e.to_string()));
                    continue;
                }
            };
            // A chunk whose records are all done is not parsed again.
            if number == from.chunk && data.header.last_event_record_id <= from.record_id {
                continue;
            }
            if let Some(at) = string_table_loop(&data.data) {
                on_damage(bad_chunk(format!(
                    "the string table's links loop (through offset {at})"
                )));
                continue;
            }
            let mut parsed = match data.parse(self.settings.clone()) {
                Ok(p) => p,
                Err(e) => {
                    on_damage(bad_chunk(e.to_string()));
                    continue;
                }
            };
            // Ids only grow within a chunk: a log that wrapped around has
            // older records in later chunks.
            let mut last = if number == from.chunk {
                from.record_id
            } else {
                0
            };
            for (i, r) in parsed.iter().enumerate() {
                if let Ok(r) = &r {
                    if number == from.chunk && r.event_record_id <= from.record_id {
                        continue;
                    }
                }
                let rendered = r.map_err(|e| e.to_string()).and_then(|r| {
                    // The record header's time, for a record without
                    // TimeCreated.
                    let header_time = || {
                        let t = r.timestamp;
                        Some(t.as_second() as f64 + f64::from(t.subsec_microsecond()) / 1e6)
                    };
                    match render_tree(&r, header_time) {
                        Some(done) => done,
                        // Something the direct renderer does not take: the
                        // crate's XML, parsed and re-serialized.
                        None => {
                            let h = header_time();
                            let x = r.into_xml().map_err(|e| e.to_string())?;
                            render(&x.data, x.event_record_id, h)
                        }
                    }
                    .map_err(|e| e.to_string())
                });
                match rendered {
                    Ok(rec) => {
                        last = last.max(rec.record_id);
                        // The chunk stays the resume point: the last chunk of
                        // a live file grows, and ids skip what was done.
                        let pos = Position {
                            chunk: number,
                            record_id: last,
                        };
                        if !on_record(rec, pos) {
                            return;
                        }
                    }
                    Err(message) => on_damage(Damage {
                        chunk: number,
                        record: Some(i as u64),
                        message,
                    }),
                }
            }
        }
    }
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

/// Renders the `evtx` crate's XML of one record as Windows does.
/// `header_time` (the record header's) stands in for a missing
/// `TimeCreated`.
pub fn render(crate_xml: &str, record_id: u64, header_time: Option<f64>) -> Result<Rendered> {
    let mut reader = Reader::from_str(crate_xml);
    let bad = |m: String| Error::Evtx {
        path: String::new(),
        message: format!("record {record_id}: {m}"),
    };
    let mut out = String::with_capacity(crate_xml.len());
    let mut open = false; // a start tag waiting for '>' or '/>'
    let mut path: Vec<String> = Vec::new();
    let (mut channel, mut computer, mut event_id, mut time) =
        (String::new(), String::new(), None, None);
    loop {
        let ev = reader.read_event().map_err(|e| bad(e.to_string()))?;
        match ev {
            XmlEvent::Decl(_) | XmlEvent::PI(_) | XmlEvent::Comment(_) | XmlEvent::DocType(_) => {}
            XmlEvent::Start(e) => {
                if open {
                    out.push('>');
                }
                let name = start_tag(&mut out, &e).map_err(bad)?;
                if name == "TimeCreated" {
                    time = attr(&e, "SystemTime").and_then(|t| parse_system_time(&t));
                }
                path.push(name);
                open = true;
            }
            XmlEvent::Empty(e) => {
                if open {
                    out.push('>');
                    open = false;
                }
                let name = start_tag(&mut out, &e).map_err(bad)?;
                if name == "TimeCreated" {
                    time = attr(&e, "SystemTime").and_then(|t| parse_system_time(&t));
                }
                out.push_str("/>");
            }
            XmlEvent::Text(t) => {
                let text = t.unescape().map_err(|e| bad(e.to_string()))?;
                // Nothing outside the root element (the crate's line end
                // after its declaration).
                if text.is_empty() || path.is_empty() {
                    continue;
                }
                if open {
                    out.push('>');
                    open = false;
                }
                let value = guid_braced(&text);
                match path.last().map(String::as_str) {
                    Some("Channel") => channel.push_str(&value),
                    Some("Computer") => computer.push_str(&value),
                    Some("EventID") => event_id = value.trim().parse().ok(),
                    _ => {}
                }
                escape_into(&mut out, &value);
            }
            XmlEvent::CData(t) => {
                if open {
                    out.push('>');
                    open = false;
                }
                escape_into(&mut out, &String::from_utf8_lossy(&t));
            }
            XmlEvent::End(e) => {
                path.pop();
                if open {
                    out.push_str("/>");
                    open = false;
                } else {
                    out.push_str("</");
                    out.push_str(&String::from_utf8_lossy(e.name().as_ref()));
                    out.push('>');
                }
            }
            XmlEvent::Eof => break,
        }
    }
    Ok(Rendered {
        xml: out,
        channel,
        computer,
        event_id: event_id.ok_or_else(|| bad("no EventID".into()))?,
        time: time
            .or(header_time)
            .ok_or_else(|| bad("no TimeCreated".into()))?,
        record_id,
    })
}

fn attr(e: &BytesStart, name: &str) -> Option<String> {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Writes `<name a='v' …` (without the closing `>`); returns the name.
fn start_tag(out: &mut String, e: &BytesStart) -> std::result::Result<String, String> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    out.push('<');
    out.push_str(&name);
    for a in e.attributes() {
        let a = a.map_err(|x| x.to_string())?;
        let value = a.unescape_value().map_err(|x| x.to_string())?;
        out.push(' ');
        out.push_str(&String::from_utf8_lossy(a.key.as_ref()));
        out.push_str("='");
        escape_into(out, &guid_braced(&value));
        out.push('\'');
    }
    Ok(name)
}

/// Renders a record straight from the crate's tree (what `into_xml` walks),
/// with the same result as [`render`] over the crate's XML but without
/// writing and parsing that XML. `None` for anything it does not take
/// (processing instructions, CDATA, entity references, fragments of
/// embedded BinXML), which goes the long way.
fn render_tree(
    r: &evtx::EvtxRecord<'_>,
    header_time: impl FnOnce() -> Option<f64>,
) -> Option<Result<Rendered>> {
    let mut t = TreeRender {
        tree: &r.tree,
        out: String::with_capacity(r.binxml_size as usize * 2),
        text: String::new(),
        channel: String::new(),
        computer: String::new(),
        event_id: None,
        time: None,
    };
    t.element(r.tree.root())?;
    let record_id = r.event_record_id;
    let bad = |m: &str| Error::Evtx {
        path: String::new(),
        message: format!("record {record_id}: {m}"),
    };
    Some((|| {
        Ok(Rendered {
            event_id: t.event_id.ok_or_else(|| bad("no EventID"))?,
            time: t
                .time
                .or_else(header_time)
                .ok_or_else(|| bad("no TimeCreated"))?,
            xml: t.out,
            channel: t.channel,
            computer: t.computer,
            record_id,
        })
    })())
}

struct TreeRender<'t, 'a> {
    tree: &'t evtx::model::ir::IrTree<'a>,
    out: String,
    /// A value being collected (text run or attribute), unescaped.
    text: String,
    channel: String,
    computer: String,
    event_id: Option<u32>,
    time: Option<f64>,
}

impl<'t, 'a> TreeRender<'t, 'a> {
    fn element(&mut self, id: evtx::model::ir::ElementId) -> Option<()> {
        let e = self.tree.arena().get(id)?;
        let name = e.name.as_str();
        self.out.push('<');
        self.out.push_str(name);
        for a in e.attrs.iter() {
            self.text.clear();
            for n in a.value.iter() {
                self.node_text(n)?;
            }
            // The crate leaves out attributes whose value is empty.
            if self.text.is_empty() {
                continue;
            }
            if name == "TimeCreated" && a.name.as_str() == "SystemTime" {
                self.time = parse_system_time(&self.text);
            }
            self.out.push(' ');
            self.out.push_str(a.name.as_str());
            self.out.push_str("='");
            escape_into(&mut self.out, &guid_braced(&self.text));
            self.out.push('\'');
        }
        // `>` waits for content: an element whose nodes all render empty
        // is self-closed, as the XML route makes it.
        let mut open = true;
        let mut nodes = e.children.iter().peekable();
        while nodes.peek().is_some() {
            if let Some(evtx::model::ir::Node::Element(child)) = nodes.peek() {
                let child = *child;
                nodes.next();
                if std::mem::take(&mut open) {
                    self.out.push('>');
                }
                self.element(child)?;
                continue;
            }
            self.text.clear();
            while let Some(n) = nodes.next_if(|n| !matches!(n, evtx::model::ir::Node::Element(_))) {
                self.node_text(n)?;
            }
            if self.text.is_empty() {
                continue;
            }
            let text = std::mem::take(&mut self.text);
            let value = guid_braced(&text);
            match name {
                "Channel" => self.channel.push_str(&value),
                "Computer" => self.computer.push_str(&value),
                "EventID" => self.event_id = value.trim().parse().ok(),
                _ => {}
            }
            if std::mem::take(&mut open) {
                self.out.push('>');
            }
            escape_into(&mut self.out, &value);
            drop(value);
            self.text = text;
        }
        if open {
            self.out.push_str("/>");
            return Some(());
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        Some(())
    }

    /// Appends a text or value node's text to `self.text`.
    fn node_text(&mut self, n: &evtx::model::ir::Node<'_>) -> Option<()> {
        use evtx::binxml::value_variant::BinXmlValue as V;
        use evtx::model::ir::{Node, Text};
        let utf16 = |s: &mut String, b: &[u8]| {
            // ASCII (most of any log) in blocks through a small buffer, the
            // rest decoded.
            let mut buf = [0u8; 128];
            let mut at = 0;
            while at + 1 < b.len() {
                let mut n = 0;
                while n < buf.len() && at + 1 < b.len() && b[at + 1] == 0 && b[at] < 0x80 {
                    buf[n] = b[at];
                    n += 1;
                    at += 2;
                }
                if let Ok(ascii) = std::str::from_utf8(&buf[..n]) {
                    s.push_str(ascii);
                }
                if n < buf.len() && at + 1 < b.len() {
                    // A non-ASCII unit: decode from it to the end.
                    let tail = b[at..]
                        .chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]]));
                    s.extend(char::decode_utf16(tail).map(|c| c.unwrap_or('\u{fffd}')));
                    break;
                }
            }
        };
        match n {
            Node::Text(Text::Utf16(s)) => utf16(&mut self.text, s.as_bytes()),
            Node::Text(Text::Utf8(s)) => self.text.push_str(s),
            Node::CharRef(c) => self.text.push(char::from_u32(u32::from(*c))?),
            Node::Value(v) => match v {
                V::NullType => {}
                V::StringType(s) => utf16(&mut self.text, s.as_bytes()),
                V::AnsiStringType(s) => self.text.push_str(s),
                V::StringArrayType(items) => {
                    for (i, s) in items.iter().enumerate() {
                        if i > 0 {
                            self.text.push(',');
                        }
                        utf16(&mut self.text, s.as_bytes());
                    }
                }
                V::EvtHandle | V::BinXmlType(_) | V::EvtXml => return None,
                // The common scalars without the crate's `Display` (which
                // allocates twice per value); the same text.
                V::UInt8Type(v) => write_display(&mut self.text, v),
                V::UInt16Type(v) => write_display(&mut self.text, v),
                V::UInt32Type(v) => write_display(&mut self.text, v),
                V::UInt64Type(v) => write_display(&mut self.text, v),
                V::Int8Type(v) => write_display(&mut self.text, v),
                V::Int16Type(v) => write_display(&mut self.text, v),
                V::Int32Type(v) => write_display(&mut self.text, v),
                V::Int64Type(v) => write_display(&mut self.text, v),
                V::HexInt32Type(v) => write_display(&mut self.text, format_args!("0x{v:x}")),
                V::HexInt64Type(v) => write_display(&mut self.text, format_args!("0x{v:x}")),
                V::FileTimeType(ts) | V::SysTimeType(ts)
                    if (0..253_402_300_800).contains(&ts.as_second()) =>
                {
                    let secs = ts.as_second();
                    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
                    let (y, m, d) = civil_from_days(days);
                    write_display(
                        &mut self.text,
                        format_args!(
                            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
                            sod / 3600,
                            sod / 60 % 60,
                            sod % 60,
                            ts.subsec_microsecond()
                        ),
                    )
                }
                other => {
                    use std::fmt::Write;
                    write!(self.text, "{other}").ok()?;
                }
            },
            _ => return None,
        }
        Some(())
    }
}

fn write_display(s: &mut String, v: impl std::fmt::Display) {
    use std::fmt::Write;
    // Writing into a String cannot fail.
    let _ = write!(s, "{v}");
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// XML-escapes text and attribute values as Windows' renderer does. Runs
/// without a special character are copied whole.
fn escape_into(out: &mut String, s: &str) {
    let b = s.as_bytes();
    let mut from = 0;
    for (i, c) in b.iter().enumerate() {
        let entity = match c {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&apos;",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both slices end on char boundaries.
        out.push_str(&s[from..i]);
        out.push_str(entity);
        from = i + 1;
    }
    out.push_str(&s[from..]);
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

/// `2021-04-26T08:25:31.043685Z` → epoch seconds.
pub fn parse_system_time(s: &str) -> Option<f64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, clock) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.splitn(3, ':').map(|x| x.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let frac: f64 = if frac.is_empty() {
        0.0
    } else {
        format!("0.{frac}").parse().ok()?
    };
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss) as f64 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_the_windows_add_on() {
        let crate_xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System><Provider Name=\"Microsoft-Windows-Security-Auditing\" Guid=\"54849625-5478-4994-A5BA-3E3B0328C30D\"></Provider><EventID>4688</EventID><TimeCreated SystemTime=\"2021-04-26T08:25:36.560801Z\"></TimeCreated><EventRecordID>7</EventRecordID><Correlation></Correlation><Channel>Security</Channel><Computer>srv01.offsec.lan</Computer><Security></Security></System><EventData><Data Name=\"CommandLine\">cmd.exe /Q /c cd 1&gt; \\\\127.0.0.1\\ADMIN$\\__1 2&gt;&amp;1 &quot;x&quot; 'y' é</Data><Data Name=\"Empty\"></Data></EventData></Event>";
        let r = render(crate_xml, 7, None).unwrap();
        assert_eq!(
            r.xml,
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/><EventID>4688</EventID><TimeCreated SystemTime='2021-04-26T08:25:36.560801Z'/><EventRecordID>7</EventRecordID><Correlation/><Channel>Security</Channel><Computer>srv01.offsec.lan</Computer><Security/></System><EventData><Data Name='CommandLine'>cmd.exe /Q /c cd 1&gt; \\\\127.0.0.1\\ADMIN$\\__1 2&gt;&amp;1 &quot;x&quot; &apos;y&apos; é</Data><Data Name='Empty'/></EventData></Event>"
        );
        assert_eq!(
            (r.channel.as_str(), r.computer.as_str()),
            ("Security", "srv01.offsec.lan")
        );
        assert_eq!(r.event_id, 4688);
        assert!((r.time - 1_619_425_536.560_801).abs() < 1e-6);
    }

    #[test]
    fn system_time_parses_to_epoch() {
        assert_eq!(parse_system_time("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            parse_system_time("2000-03-01T00:00:01.5Z"),
            Some(951_868_801.5)
        );
        assert_eq!(parse_system_time("2021-13-01T00:00:00Z"), None);
        assert_eq!(parse_system_time("garbage"), None);
    }

    /// The direct renderer gives what the crate's XML, parsed and
    /// re-serialized, gives, for every record of every bundled file (or of
    /// every file below `WD_EVTX_DIR` as well, to run it over more data).
    #[test]
    fn tree_rendering_equals_the_xml_route() {
        let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evtx")];
        dirs.extend(std::env::var_os("WD_EVTX_DIR").map(PathBuf::from));
        let files: Vec<PathBuf> = dirs
            .iter()
            .flat_map(|d| crate::modinput::expand(&d.to_string_lossy()).unwrap())
            .collect();
        let (mut same, mut fallback) = (0, 0);
        for f in &files {
            let mut parser = evtx::EvtxParser::from_path(f).unwrap();
            for chunk in parser.chunks() {
                let Ok(mut data) = chunk else { continue };
                let Ok(mut parsed) =
                    data.parse(Arc::new(evtx::ParserSettings::default().indent(false)))
                else {
                    continue;
                };
                for r in parsed.iter().flatten() {
                    let direct = render_tree(&r, || None);
                    let x = r.into_xml().unwrap();
                    let long = render(&x.data, x.event_record_id, None).map(|r| r.xml);
                    match direct {
                        Some(d) => {
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
        assert!(fallback * 100 <= same, "{fallback} records fell back");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(2_932_896), (9999, 12, 31));
    }
}
