//! EVTX files read with the `evtx` crate and rendered the way the Splunk
//! Add-on for Microsoft Windows renders `XmlWinEventLog`: one
//! `<Event xmlns='…'>…</Event>` per record, single-quoted attributes, no XML
//! declaration, empty elements self-closed, GUIDs in braces, text escaped
//! (`&`, `<`, `>`, `"`, `'`). The add-on's field extractions only match
//! `<Data Name='…'>`, which is why the crate's own (double-quoted) XML is
//! re-serialized here.
//!
//! [`EvtxFile`] walks chunks and records from a resume point and reports
//! damaged chunks and records instead of stopping.

use std::fs::File;
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

/// One EVTX file being read.
pub struct EvtxFile {
    parser: evtx::EvtxParser<File>,
    settings: Arc<evtx::ParserSettings>,
    path: PathBuf,
}

impl EvtxFile {
    /// Opens a file; a missing file, a permission error or a file that is
    /// not EVTX is an error naming the path.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::File {
            context: format!("opening {}", path.display()),
            source: e,
        })?;
        let parser = evtx::EvtxParser::from_read_seek(file).map_err(|e| Error::Evtx {
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
                let rendered = r.and_then(|r| r.into_xml()).map_err(|e| e.to_string());
                match rendered.and_then(|x| {
                    let header_time = parse_system_time(&x.timestamp.to_string());
                    render(&x.data, x.event_record_id, header_time).map_err(|e| e.to_string())
                }) {
                    Ok(rec) => {
                        if number == from.chunk && rec.record_id <= from.record_id {
                            continue;
                        }
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

/// XML-escapes text and attribute values as Windows' renderer does.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
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
}
