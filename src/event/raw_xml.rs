//! Fallback field extraction from an XML `_raw` (`XmlWinEventLog`), for
//! searches that run without the Windows add-on's field extractions.
//!
//! Extracts the System block (`EventID` as `EventCode`, `Channel`,
//! `Computer`, `TimeCreated/@SystemTime`, `Security/@UserID`,
//! `Execution/@ProcessID`), every `<Data Name='X'>` (unnamed ones as
//! `Data_1`, `Data_2`, …), every leaf of `UserData` / `ProcessingErrorData`,
//! and `RenderingInfo/Message`. Accepts single- or double-quoted attributes
//! and tolerates damage: whatever was read before an error is kept.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event as X};
use quick_xml::Reader;

use crate::event::pairs::PairsEvent;

/// Parses one event's XML. `None` when it yields no `EventID`.
pub fn parse_event(raw: &str) -> Option<PairsEvent<'static>> {
    let mut reader = Reader::from_str(raw);
    let mut fields = FieldsRead::default();
    let mut path: Vec<String> = Vec::new();
    let mut data_name: Option<String> = None;
    let mut text = String::new();

    // A read error ends the walk: what was read before it is kept.
    while let Ok(ev) = reader.read_event() {
        match ev {
            X::Start(e) => {
                let name = local(&e);
                fields.element_opens(parent_of(&path), &name, |k| attr(&e, k));
                if name == "Data" {
                    data_name = attr(&e, "Name");
                }
                path.push(name);
                text.clear();
            }
            X::Empty(e) => {
                let name = local(&e);
                fields.element_opens(parent_of(&path), &name, |k| attr(&e, k));
                fields.empty_element(parent_of(&path), &name, attr(&e, "Name"));
            }
            X::Text(t) => {
                if let Ok(s) = t.unescape() {
                    text.push_str(&s);
                }
            }
            X::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            X::End(_) => {
                let Some(name) = path.pop() else { break };
                let value = std::mem::take(&mut text);
                let in_data = name == "Data" && parent_of(&path) == "EventData";
                let data = if in_data { data_name.take() } else { None };
                fields.element_closes(&path, name, value, data);
            }
            X::Eof => break,
            _ => {}
        }
    }
    let pairs = fields.finish()?;
    Some(PairsEvent {
        pairs: pairs
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
            .collect(),
    })
}

/// The last of the open elements, or "".
fn parent_of(path: &[String]) -> &str {
    path.last().map(String::as_str).unwrap_or("")
}

/// The fields of one event as they are read, element by element: what this
/// reader takes from an event's XML, and what the EVTX renderer
/// ([`crate::evtx`]) takes from a record's tree on its way, so that the two
/// read the same fields by one rule.
#[derive(Debug, Default)]
pub struct FieldsRead {
    pairs: Vec<(String, String)>,
    /// Unnamed `<Data>` so far.
    unnamed: usize,
    has_event_id: bool,
}

impl FieldsRead {
    /// The element `name` (local name) opens below `parent`: the
    /// attributes of `System`'s elements are taken (`attr`: an attribute's
    /// unescaped value, by local name).
    pub fn element_opens(
        &mut self,
        parent: &str,
        name: &str,
        attr: impl Fn(&str) -> Option<String>,
    ) {
        if parent != "System" {
            return;
        }
        for (key, field) in system_attributes(name) {
            if let Some(v) = attr(key) {
                self.pairs.push(((*field).to_string(), v));
            }
        }
    }

    /// The element `name` below `parent` was empty (self-closed): a
    /// `<Data/>` of `EventData` (how the add-on renders an empty value)
    /// still takes its place among the unnamed ones.
    pub fn empty_element(&mut self, parent: &str, name: &str, data_name: Option<String>) {
        if name == "Data" && parent == "EventData" {
            self.data(data_name, String::new());
        }
    }

    /// The element `name` closes, `path` its open ancestors, `value` its
    /// text after its last child element; `data_name`: a `<Data>`'s
    /// `Name`.
    pub fn element_closes(
        &mut self,
        path: &[String],
        name: String,
        value: String,
        data_name: Option<String>,
    ) {
        let in_section = |s: &str| path.iter().any(|p| p == s);
        match (parent_of(path), name.as_str()) {
            ("System", "EventID") => {
                self.has_event_id = true;
                self.pairs.push(("EventCode".into(), value.clone()));
                self.pairs.push(("EventID".into(), value));
            }
            (
                "System",
                "Channel" | "Computer" | "Level" | "Task" | "Opcode" | "Keywords" | "EventRecordID",
            ) => self.pairs.push((name, value)),
            ("EventData", "Data") => self.data(data_name, value),
            ("RenderingInfo", "Message") => self.pairs.push(("Message".into(), value)),
            _ if (in_section("UserData") || in_section("ProcessingErrorData"))
                && !value.trim().is_empty() =>
            {
                self.pairs.push((name, value))
            }
            _ => {}
        }
    }

    /// One `<Data>`: by its `Name`, or as `Data` and `Data_<n>` when unnamed.
    fn data(&mut self, name: Option<String>, value: String) {
        let key = match name {
            Some(n) => n,
            None => {
                self.unnamed += 1;
                self.pairs.push(("Data".into(), value.clone()));
                format!("Data_{}", self.unnamed)
            }
        };
        self.pairs.push((key, value));
    }

    /// The fields, when the event has an `EventID` (else none).
    pub fn finish(self) -> Option<Vec<(String, String)>> {
        self.has_event_id.then_some(self.pairs)
    }
}

fn local(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key.as_bytes())
        .map(|a| {
            a.unescape_value()
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned())
        })
}

/// The attributes taken from an element of `System`: `(attribute, field)`.
fn system_attributes(element: &str) -> &'static [(&'static str, &'static str)] {
    match element {
        "TimeCreated" => &[("SystemTime", "SystemTime")],
        "Security" => &[("UserID", "UserID")],
        "Execution" => &[("ProcessID", "ProcessID"), ("ThreadID", "ThreadID")],
        "Provider" => &[("Name", "Provider_Name")],
        "Correlation" => &[("ActivityID", "ActivityID")],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, F};

    #[test]
    fn extracts_system_eventdata_and_processing_error_data() {
        let raw = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-WinRM'/><EventID>91</EventID><TimeCreated SystemTime='2024-05-14T09:12:03.6Z'/><Channel>Microsoft-Windows-WinRM/Operational</Channel><Computer>SRV03.corp.example</Computer><Security UserID='S-1-5-21-1'/></System><ProcessingErrorData><ErrorCode>15005</ErrorCode><DataItemName>shellId</DataItemName><EventPayload>6800</EventPayload></ProcessingErrorData></Event>";
        let ev = parse_event(raw).unwrap();
        assert_eq!(ev.get(F::EventCode).value(), Some("91"));
        assert_eq!(ev.get(F::Computer).value(), Some("SRV03.corp.example"));
        assert_eq!(ev.get(F::UserId).value(), Some("S-1-5-21-1"));
        assert_eq!(ev.get(F::EventPayload).value(), Some("6800"));
    }

    #[test]
    fn named_and_unnamed_data_with_escapes_and_double_quotes() {
        let raw = r#"<Event><System><EventID>400</EventID></System><EventData><Data Name="CommandLine">a &amp; b &lt;c&gt; 'q'</Data><Data>Available</Data><Data>HostName=ServerRemoteHost</Data></EventData></Event>"#;
        let ev = parse_event(raw).unwrap();
        assert_eq!(ev.get(F::CommandLine).value(), Some("a & b <c> 'q'"));
        assert_eq!(
            ev.lookup(&["Data_2"]).value(),
            Some("HostName=ServerRemoteHost")
        );
    }

    #[test]
    fn damaged_or_foreign_xml_never_panics() {
        assert!(parse_event("<Event><System><EventID>1</EventID>").is_some());
        assert!(parse_event("<notanevent/>").is_none());
        assert!(parse_event("<<<>>>&&&").is_none());
        assert!(parse_event("").is_none());
    }
}
