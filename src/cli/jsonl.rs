//! JSON lines (one event object per line, as Winlogbeat and the Mordor /
//! Security-Datasets recordings write them) as Splunk-shaped CSV bodies,
//! so that they go through the same chunk code as a CSV export.
//!
//! Two shapes are read, told apart per line:
//!
//! * **Winlogbeat** (a `winlog` object): `winlog.event_id`,
//!   `winlog.channel`, `winlog.computer_name`, `winlog.record_id`,
//!   `winlog.provider_name`, `winlog.event_data.*`, `winlog.user_data.*`,
//!   `@timestamp`, `message`. The event data become columns by their own
//!   names (`winlog.event_data.CommandLine` is `CommandLine`), as the
//!   Windows add-on names them; every other nested value becomes a dotted
//!   column (`host.name`, `event.code`).
//! * **Mordor** (flat, from NXLog through Logstash): `EventID`, `Channel`,
//!   `Hostname`, `SourceName`, `RecordNumber`, `@timestamp`, and the event
//!   data at the top level by their own names. Logstash's TCP input adds
//!   `host` and `port` of the *sender*, the event collector; neither is
//!   the event's, so `host` is replaced and `port` (which would read as
//!   WinRM's own `port` field) is dropped when `@version` marks Logstash.
//!
//! Each row starts with the columns a Splunk search gives: `_time` (epoch
//! seconds, 6 decimals, from `@timestamp`, else `winlog.time_created` or
//! `TimeCreated`; a time without an offset is taken as UTC, though NXLog's
//! `TimeCreated` in some Mordor sets is the lab's local time), `host` (the computer without
//! its DNS suffix, as a forwarder on it would report), `source`
//! (`XmlWinEventLog:<Channel>`), `sourcetype` (`XmlWinEventLog`),
//! `EventCode`, `Channel`, `Computer` and `EventRecordID`; then the System
//! values the event data do not carry themselves (`ProviderName`,
//! `UserID`, `ProcessID`, `ThreadID`; a data field of the same name wins,
//! as in the add-on), then every other field. There is no `_raw`: the
//! fields are all extracted already.

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// How many bad lines are named one by one in the warnings.
pub const LISTED: usize = 5;

/// The columns every chunk starts with, in order.
const FIRST: [&str; 8] = [
    "_time",
    "host",
    "source",
    "sourcetype",
    "EventCode",
    "Channel",
    "Computer",
    "EventRecordID",
];

/// What a conversion read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JsonStats {
    /// Lines read, blank ones included.
    pub lines: usize,
    /// Events converted (rows written).
    pub events: usize,
    /// Lines that are not a JSON object.
    pub bad: usize,
    /// The first [`LISTED`] bad lines (`line N: why`), then how many more.
    /// Not prefixed with the input's name: the caller does, as with its
    /// other warnings.
    pub warnings: Vec<String>,
}

impl JsonStats {
    fn bad_line(&mut self, line: usize, why: String) {
        self.bad += 1;
        if self.bad <= LISTED {
            self.warnings.push(format!("line {line}: {why}"));
        }
    }
}

/// Converts JSON lines into CSV bodies of at most `rows_per_chunk` rows
/// (at least one) and hands each to `each`. A body's header is the union
/// of its rows' columns. A line that is not JSON, or not an object, is a
/// warning and skipped; bytes that are not UTF-8 are replaced. `name`
/// names the input in errors: a read error (a damaged `.gz`, say) ends the
/// conversion with an error, after the chunks already handed on; so does
/// an error of `each`.
pub fn to_csv_chunks(
    mut reader: impl BufRead,
    name: &str,
    rows_per_chunk: usize,
    mut each: impl FnMut(Vec<u8>) -> Result<()>,
) -> Result<JsonStats> {
    let mut stats = JsonStats::default();
    let mut chunk = Chunk::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| Error::File {
                context: format!("reading {name}"),
                source,
            })?;
        if n == 0 {
            break;
        }
        stats.lines += 1;
        let text = String::from_utf8_lossy(&line);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        if text.trim().is_empty() {
            continue;
        }
        match event(text) {
            Ok(fields) => chunk.push(fields),
            Err(why) => stats.bad_line(stats.lines, why),
        }
        if chunk.rows.len() >= rows_per_chunk.max(1) {
            stats.events += chunk.rows.len();
            each(std::mem::replace(&mut chunk, Chunk::new()).body(name)?)?;
        }
    }
    if !chunk.rows.is_empty() {
        stats.events += chunk.rows.len();
        each(chunk.body(name)?)?;
    }
    if stats.bad > LISTED {
        let more = stats.bad - LISTED;
        stats.warnings.push(format!(
            "and {more} more line{} that are not JSON objects",
            if more == 1 { "" } else { "s" }
        ));
    }
    Ok(stats)
}

/// The rows of one chunk, by column index.
struct Chunk {
    columns: Vec<String>,
    index: HashMap<String, usize>,
    rows: Vec<Vec<(usize, String)>>,
}

impl Chunk {
    fn new() -> Chunk {
        let columns: Vec<String> = FIRST.iter().map(|c| c.to_string()).collect();
        let index = columns.iter().cloned().zip(0..).collect();
        Chunk {
            columns,
            index,
            rows: Vec::new(),
        }
    }

    fn push(&mut self, fields: Vec<(String, String)>) {
        let row = fields
            .into_iter()
            .map(|(k, v)| {
                let next = self.columns.len();
                let i = *self.index.entry(k.clone()).or_insert(next);
                if i == next {
                    self.columns.push(k);
                }
                (i, v)
            })
            .collect();
        self.rows.push(row);
    }

    /// The chunk as a CSV body.
    fn body(self, name: &str) -> Result<Vec<u8>> {
        let csv_err = |source| Error::CsvBody {
            context: format!("{name} as CSV"),
            source,
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.columns).map_err(csv_err)?;
        let mut record = vec![String::new(); self.columns.len()];
        for row in self.rows {
            record.iter_mut().for_each(String::clear);
            for (i, v) in row {
                record[i] = v;
            }
            w.write_record(&record).map_err(csv_err)?;
        }
        w.into_inner().map_err(|e| Error::File {
            context: format!("writing {name} as CSV"),
            source: e.into_error(),
        })
    }
}

/// One line's event as (column, value) pairs, or why it is none.
fn event(text: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    match value {
        Value::Object(obj) => Ok(row(&obj)),
        other => Err(format!("not a JSON object but {}", what(&other))),
    }
}

/// What a JSON value is, for a message.
fn what(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The event's fields by the names the rules read (see the module's
/// documentation).
fn row(obj: &Map<String, Value>) -> Vec<(String, String)> {
    let flat = fields(obj);
    let logstash = !obj.contains_key("winlog") && obj.contains_key("@version");
    let get = |names: &[&str]| {
        names.iter().find_map(|n| {
            let hit = flat.iter().find(|(k, v)| k == n && !v.is_empty());
            hit.map(|(_, v)| v.clone())
        })
    };
    let time = get(&["@timestamp", "winlog.time_created", "TimeCreated"]).unwrap_or_default();
    let time = crate::correlate::parse_time(&time).map_or(time, |t| format!("{t:.6}"));
    let computer = get(&[
        "winlog.computer_name",
        "Hostname",
        "Computer",
        "host.name",
        "host.hostname",
    ]);
    let host = match &computer {
        Some(c) => c.split('.').next().unwrap_or(c).to_string(),
        None => get(&["host"]).unwrap_or_default(),
    };
    let channel = get(&["winlog.channel", "Channel"]).unwrap_or_default();
    let source = if channel.is_empty() {
        String::new()
    } else {
        format!("XmlWinEventLog:{channel}")
    };
    let first = [
        time,
        host,
        source,
        "XmlWinEventLog".into(),
        get(&["winlog.event_id", "EventID", "EventCode", "event.code"]).unwrap_or_default(),
        channel,
        computer.unwrap_or_default(),
        get(&["winlog.record_id", "EventRecordID", "RecordNumber"]).unwrap_or_default(),
    ];
    let mut out: Vec<(String, String)> = FIRST.iter().map(|c| c.to_string()).zip(first).collect();
    let system = [
        ("ProviderName", ["winlog.provider_name", "SourceName"]),
        ("UserID", ["winlog.user.identifier", "UserID"]),
        ("ProcessID", ["winlog.process.pid", "ProcessID"]),
        ("ThreadID", ["winlog.process.thread.id", "ThreadID"]),
    ];
    for (column, names) in system {
        if !flat.iter().any(|(k, _)| k == column) {
            if let Some(v) = get(&names) {
                out.push((column.to_string(), v));
            }
        }
    }
    let taken = |k: &str| FIRST.contains(&k) || (logstash && k == "port") || k == "@timestamp";
    out.extend(flat.into_iter().filter(|(k, _)| !taken(k)));
    dedupe(out)
}

/// The first value of each column (a Winlogbeat event data field and a
/// top-level field can share a name).
fn dedupe(fields: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut seen = std::collections::HashSet::new();
    fields
        .into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect()
}

/// Every value of an event as (name, text): Winlogbeat's event and user
/// data first, by their own names (so that they win over a field of the
/// same name elsewhere), then every other value, nested objects by dotted
/// names and `message` as `Message`.
fn fields(obj: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let winlog = obj.get("winlog").and_then(Value::as_object);
    for part in DATA {
        if let Some(Value::Object(data)) = winlog.and_then(|w| w.get(part)) {
            flatten("", data, &mut out);
        }
    }
    flatten("", obj, &mut out);
    out
}

/// Winlogbeat's objects whose members are the event's own fields.
const DATA: [&str; 2] = ["event_data", "user_data"];

/// The values of an object below `prefix` (Winlogbeat's event and user
/// data left out: [`fields`] takes them first).
fn flatten(prefix: &str, obj: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (k, v) in obj {
        match (prefix, v) {
            ("winlog.", _) if DATA.contains(&k.as_str()) => {}
            (_, Value::Object(inner)) => flatten(&format!("{prefix}{k}."), inner, out),
            ("", _) if k == "message" => out.push(("Message".into(), text(v))),
            _ => out.push((format!("{prefix}{k}"), text(v))),
        }
    }
}

/// A JSON value as a cell: strings as they are, arrays one value a line
/// (a Splunk multivalue), null empty, anything else as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join("\n"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
