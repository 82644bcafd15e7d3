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
    let mut pairs: Vec<(Cow<'static, str>, Cow<'static, str>)> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut data_name: Option<String> = None;
    let mut unnamed = 0usize;
    let mut text = String::new();
    let mut has_event_id = false;

    // A read error ends the walk: what was read before it is kept.
    while let Ok(ev) = reader.read_event() {
        match ev {
            X::Start(e) => {
                let name = local(&e);
                system_attrs(&path, &name, &e, &mut pairs);
                if name == "Data" {
                    data_name = attr(&e, "Name");
                }
                path.push(name);
                text.clear();
            }
            X::Empty(e) => {
                let name = local(&e);
                system_attrs(&path, &name, &e, &mut pairs);
                // `<Data/>` (how the add-on renders an empty value) still
                // takes its place among the unnamed ones.
                if name == "Data" && path.last().map(String::as_str) == Some("EventData") {
                    data_field(&mut pairs, &mut unnamed, attr(&e, "Name"), String::new());
                }
            }
            X::Text(t) => {
                if let Ok(s) = t.unescape() {
                    text.push_str(&s);
                }
            }
            X::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            X::End(_) => {
                let Some(name) = path.pop() else { break };
                let parent = path.last().map(String::as_str).unwrap_or("");
                let in_section = |s: &str| path.iter().any(|p| p == s);
                let value = std::mem::take(&mut text);
                match (parent, name.as_str()) {
                    ("System", "EventID") => {
                        has_event_id = true;
                        pairs.push(("EventCode".into(), value.clone().into()));
                        pairs.push(("EventID".into(), value.into()));
                    }
                    (
                        "System",
                        "Channel" | "Computer" | "Level" | "Task" | "Opcode" | "Keywords"
                        | "EventRecordID",
                    ) => {
                        pairs.push((name.into(), value.into()));
                    }
                    ("EventData", "Data") => {
                        data_field(&mut pairs, &mut unnamed, data_name.take(), value)
                    }
                    ("RenderingInfo", "Message") => pairs.push(("Message".into(), value.into())),
                    _ if (in_section("UserData") || in_section("ProcessingErrorData"))
                        && !value.trim().is_empty() =>
                    {
                        pairs.push((name.into(), value.into()));
                    }
                    _ => {}
                }
            }
            X::Eof => break,
            _ => {}
        }
    }
    has_event_id.then_some(PairsEvent { pairs })
}

/// One `<Data>`: by its `Name`, or as `Data` and `Data_<n>` when unnamed.
fn data_field(
    pairs: &mut Vec<(Cow<'static, str>, Cow<'static, str>)>,
    unnamed: &mut usize,
    name: Option<String>,
    value: String,
) {
    let key = match name {
        Some(n) => n,
        None => {
            *unnamed += 1;
            pairs.push(("Data".into(), value.clone().into()));
            format!("Data_{unnamed}")
        }
    };
    pairs.push((key.into(), value.into()));
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
pub fn system_attributes(element: &str) -> &'static [(&'static str, &'static str)] {
    match element {
        "TimeCreated" => &[("SystemTime", "SystemTime")],
        "Security" => &[("UserID", "UserID")],
        "Execution" => &[("ProcessID", "ProcessID"), ("ThreadID", "ThreadID")],
        "Provider" => &[("Name", "Provider_Name")],
        "Correlation" => &[("ActivityID", "ActivityID")],
        _ => &[],
    }
}

fn system_attrs(
    path: &[String],
    name: &str,
    e: &BytesStart<'_>,
    pairs: &mut Vec<(Cow<'static, str>, Cow<'static, str>)>,
) {
    if path.last().map(String::as_str) != Some("System") {
        return;
    }
    for (key, field) in system_attributes(name) {
        if let Some(v) = attr(e, key) {
            pairs.push(((*field).into(), v.into()));
        }
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
