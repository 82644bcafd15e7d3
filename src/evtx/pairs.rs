//! The fields of a record as `(name, value)` pairs, collected while the
//! record is rendered ([`super::render_tree`]) by the rule the `_raw` XML
//! reader reads them with ([`crate::event::raw_xml::FieldsRead`]): `hunt`
//! gets each record's fields without parsing its XML a second time; a test
//! holds the two equal on every bundled record.

use crate::event::raw_xml::FieldsRead;

/// The fields read so far, and where the walk stands.
#[derive(Debug, Default)]
pub(super) struct PairSink {
    /// Local names of the open elements.
    path: Vec<String>,
    fields: FieldsRead,
}

use super::local_name as local;

impl PairSink {
    /// An element opens with these attributes (non-empty values, as
    /// rendered, unescaped); a `<Data>`'s `Name` is returned, for
    /// [`PairSink::close`].
    pub(super) fn open(&mut self, name: &str, attrs: &[(String, String)]) -> Option<String> {
        let name = local(name);
        let attr = |key: &str| {
            let found = attrs.iter().find(|(k, _)| local(k) == key);
            found.map(|(_, v)| v.clone())
        };
        let parent = self.path.last().map_or("", String::as_str);
        self.fields.element_opens(parent, name, attr);
        self.path.push(name.to_string());
        (name == "Data").then(|| attr("Name"))?
    }

    /// The element opened last closes: `written` when it was not rendered
    /// self-closed, `text` its text after its last written child element.
    pub(super) fn close(&mut self, written: bool, text: String, data_name: Option<String>) {
        let Some(name) = self.path.pop() else { return };
        if written {
            self.fields
                .element_closes(&self.path, name, text, data_name);
        } else {
            let parent = self.path.last().map_or("", String::as_str);
            self.fields.empty_element(parent, &name, data_name);
        }
    }

    /// The pairs, when the record has an `EventID` (as the XML reader).
    pub(super) fn finish(self) -> Option<Vec<(String, String)>> {
        self.fields.finish()
    }
}
