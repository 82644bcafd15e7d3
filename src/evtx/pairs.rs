//! The fields of a record as `(name, value)` pairs, collected while the
//! record is rendered ([`super::render_tree`]), exactly as
//! [`crate::event::raw_xml`] would read them back from the rendered XML:
//! the System block's fields and attributes, every `<Data>` (unnamed ones
//! as `Data` and `Data_<n>`), the leaves of `UserData` and
//! `ProcessingErrorData`, and `RenderingInfo/Message`, in the same order.
//! `hunt` gets each record's fields without parsing its XML a second time;
//! a test holds the two equal on every bundled record.

/// The pairs collected so far, and where the walk stands.
#[derive(Debug, Default)]
pub(super) struct PairSink {
    /// Local names of the open elements.
    path: Vec<String>,
    /// Unnamed `<Data>` seen so far.
    unnamed: usize,
    has_event_id: bool,
    pub(super) pairs: Vec<(String, String)>,
}

/// An element's name without its namespace prefix.
fn local(name: &str) -> &str {
    name.split_once(':').map_or(name, |(_, l)| l)
}

impl PairSink {
    /// An element opens with these attributes (non-empty values, as
    /// rendered unescaped): the System attributes are taken; a `<Data>`'s
    /// `Name` is returned, for [`PairSink::close`].
    pub(super) fn open(&mut self, name: &str, attrs: &[(String, String)]) -> Option<String> {
        let name = local(name);
        if self.path.last().map(String::as_str) == Some("System") {
            for (key, field) in crate::event::raw_xml::system_attributes(name) {
                if let Some(v) = attr(attrs, key) {
                    self.pairs.push(((*field).to_string(), v.to_string()));
                }
            }
        }
        self.path.push(name.to_string());
        (name == "Data").then(|| attr(attrs, "Name").map(str::to_string))?
    }

    /// The element opened last closes: `written` when it was not rendered
    /// self-closed, `text` its text after its last written child element.
    pub(super) fn close(&mut self, written: bool, text: String, data_name: Option<String>) {
        let Some(name) = self.path.pop() else { return };
        let parent = self.path.last().map(String::as_str).unwrap_or("");
        if !written {
            if name == "Data" && parent == "EventData" {
                self.data(data_name, String::new());
            }
            return;
        }
        match (parent, name.as_str()) {
            ("System", "EventID") => {
                self.has_event_id = true;
                self.pairs.push(("EventCode".into(), text.clone()));
                self.pairs.push(("EventID".into(), text));
            }
            (
                "System",
                "Channel" | "Computer" | "Level" | "Task" | "Opcode" | "Keywords" | "EventRecordID",
            ) => self.pairs.push((name, text)),
            ("EventData", "Data") => self.data(data_name, text),
            ("RenderingInfo", "Message") => self.pairs.push(("Message".into(), text)),
            _ if self
                .path
                .iter()
                .any(|p| p == "UserData" || p == "ProcessingErrorData")
                && !text.trim().is_empty() =>
            {
                self.pairs.push((name, text))
            }
            _ => {}
        }
    }

    /// One `<Data>`: by its `Name`, or as `Data` and `Data_<n>`.
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

    /// The pairs, when the record has an `EventID` (as the XML reader).
    pub(super) fn finish(self) -> Option<Vec<(String, String)>> {
        self.has_event_id.then_some(self.pairs)
    }
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| local(k) == key)
        .map(|(_, v)| v.as_str())
}
