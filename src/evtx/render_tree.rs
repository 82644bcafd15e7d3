//! The direct way to a rendered record: straight from the `evtx` crate's
//! tree (what its `into_xml` walks), with the same result as
//! [`super::render`] over the crate's XML but without writing and parsing
//! that XML. Anything it does not take (processing instructions, CDATA,
//! entity references, fragments of embedded BinXML) goes the long way.

use evtx::binxml::value_variant::BinXmlValue;
use evtx::model::ir::{Attr, ElementId, IrTree, Node, Text};

use super::escape::{escape_into, Quotes};
use super::pairs::PairSink;
use super::time::{parse_system_time, push_system_time, SYSTEM_TIME_RANGE};
use super::{guid_braced, Fields, Peek, RecordError, Rendered};

/// Renders a record from its tree; `None` for what this renderer does not
/// take. `header_time` stands in for a missing `TimeCreated`.
pub(super) fn render_tree(
    r: &evtx::EvtxRecord<'_>,
    header_time: Option<f64>,
    with_pairs: bool,
) -> Option<Result<Rendered, RecordError>> {
    let mut t = TreeRender {
        tree: &r.tree,
        out: String::with_capacity(r.binxml_size as usize * 2),
        text: String::new(),
        fields: Fields::default(),
        pairs: with_pairs.then(PairSink::default),
        attrs: Vec::new(),
    };
    t.element(r.tree.root())?;
    let pairs = t.pairs.take().and_then(PairSink::finish);
    let rendered = t.fields.finish(t.out, r.event_record_id, header_time);
    Some(rendered.map(|r| Rendered { pairs, ..r }))
}

/// What the record says of its channel, event id and fields, read from
/// its tree without rendering it: the channel and event id exactly as the
/// renderer takes them ([`Fields`]); `None` for a record the renderer
/// would not take either.
pub(super) fn peek(r: &evtx::EvtxRecord<'_>) -> Option<Peek> {
    let mut t = TreeRender {
        tree: &r.tree,
        out: String::new(),
        text: String::new(),
        fields: Fields::default(),
        pairs: None,
        attrs: Vec::new(),
    };
    let mut peek = Peek::default();
    t.peek_element(r.tree.root(), &mut peek)?;
    Some(peek)
}

struct TreeRender<'t, 'a> {
    tree: &'t IrTree<'a>,
    out: String,
    /// A value being collected (text run or attribute), unescaped.
    text: String,
    fields: Fields,
    /// The fields as pairs, when asked for.
    pairs: Option<PairSink>,
    /// The attributes of the element being opened, for `pairs`.
    attrs: Vec<(String, String)>,
}

impl TreeRender<'_, '_> {
    /// Writes an element; whether it has content (else it is self-closed).
    fn element(&mut self, id: ElementId) -> Option<bool> {
        let e = self.tree.arena().get(id)?;
        let name = e.name.as_str();
        self.out.push('<');
        self.out.push_str(name);
        self.attrs.clear();
        for a in e.attrs.iter() {
            self.attribute(name, a)?;
        }
        let data_name = match &mut self.pairs {
            Some(p) => p.open(name, &self.attrs),
            None => None,
        };
        // `>` waits for content: an element whose nodes all render empty
        // is self-closed, as the XML route makes it.
        let (written, text) = self.content(name, &e.children)?;
        if written {
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push('>');
        } else {
            self.out.push_str("/>");
        }
        if let Some(p) = &mut self.pairs {
            p.close(written, text, data_name);
        }
        Some(written)
    }

    /// Writes ` name='value'` of an attribute of `element` (the time, for
    /// `TimeCreated`'s `SystemTime`).
    fn attribute(&mut self, element: &str, a: &Attr<'_>) -> Option<()> {
        self.text.clear();
        for n in a.value.iter() {
            self.node_text(n)?;
        }
        // The crate leaves out attributes whose value is empty.
        if self.text.is_empty() {
            return Some(());
        }
        if element == "TimeCreated" && a.name.as_str() == "SystemTime" {
            self.fields.time = parse_system_time(&self.text);
        }
        self.out.push(' ');
        self.out.push_str(a.name.as_str());
        self.out.push_str("='");
        let value = guid_braced(&self.text);
        escape_into(&mut self.out, &value, Quotes::Escaped);
        self.out.push('\'');
        if self.pairs.is_some() {
            self.attrs
                .push((a.name.as_str().to_string(), value.into_owned()));
        }
        Some(())
    }

    /// Writes the children of the element `name` after its start tag,
    /// closing that tag with `>` before the first of them; whether any was
    /// written, and (when collecting pairs) the text after the last child
    /// element that was written. A run of text and value nodes is one text.
    fn content(&mut self, name: &str, children: &[Node<'_>]) -> Option<(bool, String)> {
        let mut open = true;
        let mut trailing = String::new();
        let mut nodes = children.iter().peekable();
        while nodes.peek().is_some() {
            if let Some(Node::Element(child)) = nodes.peek() {
                let child = *child;
                nodes.next();
                if std::mem::take(&mut open) {
                    self.out.push('>');
                }
                if self.element(child)? {
                    trailing.clear();
                }
                continue;
            }
            self.text.clear();
            while let Some(n) = nodes.next_if(|n| !matches!(n, Node::Element(_))) {
                self.node_text(n)?;
            }
            if self.text.is_empty() {
                continue;
            }
            let text = std::mem::take(&mut self.text);
            let value = guid_braced(&text);
            self.fields.text(name, &value);
            if std::mem::take(&mut open) {
                self.out.push('>');
            }
            escape_into(&mut self.out, &value, Quotes::Escaped);
            if self.pairs.is_some() {
                trailing.push_str(&value);
            }
            drop(value);
            self.text = text;
        }
        Some((!open, trailing))
    }

    /// [`peek`] at one element and its children.
    fn peek_element(&mut self, id: ElementId, p: &mut Peek) -> Option<()> {
        let e = self.tree.arena().get(id)?;
        let name = e.name.as_str();
        let local = name.split_once(':').map_or(name, |(_, l)| l);
        p.names_target_user_sid |= local == "TargetUserSid";
        if local == "Data" {
            for a in e.attrs.iter() {
                let key = a.name.as_str();
                if key.split_once(':').map_or(key, |(_, l)| l) == "Name" {
                    self.text.clear();
                    for n in a.value.iter() {
                        self.node_text(n)?;
                    }
                    p.names_target_user_sid |= self.text == "TargetUserSid";
                }
            }
        }
        // Only these two elements' text matters (and only it is decoded).
        let wanted = name == "Channel" || name == "EventID";
        let mut nodes = e.children.iter().peekable();
        while let Some(n) = nodes.next() {
            if let Node::Element(child) = n {
                self.peek_element(*child, p)?;
                continue;
            }
            if !wanted {
                let xml_value = matches!(
                    n,
                    Node::Value(
                        BinXmlValue::EvtHandle | BinXmlValue::BinXmlType(_) | BinXmlValue::EvtXml
                    )
                );
                if xml_value || !matches!(n, Node::Text(_) | Node::CharRef(_) | Node::Value(_)) {
                    // What `node_text` does not take: the renderer would
                    // not take the record either.
                    return None;
                }
                continue;
            }
            // A run of text and value nodes, as `content` takes it.
            self.text.clear();
            self.node_text(n)?;
            while let Some(n) = nodes.next_if(|n| !matches!(n, Node::Element(_))) {
                self.node_text(n)?;
            }
            if self.text.is_empty() {
                continue;
            }
            let value = guid_braced(&self.text);
            match name {
                "Channel" => p.channel.push_str(&value),
                "EventID" => p.event_id = value.trim().parse().ok(),
                _ => {}
            }
        }
        Some(())
    }

    /// Appends a text or value node's text to `self.text`.
    fn node_text(&mut self, n: &Node<'_>) -> Option<()> {
        match n {
            Node::Text(Text::Utf16(s)) => push_utf16(&mut self.text, s.as_bytes()),
            Node::Text(Text::Utf8(s)) => self.text.push_str(s),
            Node::CharRef(c) => self.text.push(char::from_u32(u32::from(*c))?),
            Node::Value(v) => push_value(&mut self.text, v)?,
            _ => return None,
        }
        Some(())
    }
}

/// Appends UTF-16LE text: ASCII (most of any log) in blocks through a small
/// buffer, the rest decoded.
fn push_utf16(s: &mut String, b: &[u8]) {
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
}

/// Appends a substituted value's text as the crate's XML writes it; `None`
/// for the values that are XML themselves.
fn push_value(s: &mut String, v: &BinXmlValue<'_>) -> Option<()> {
    use BinXmlValue as V;
    match v {
        V::NullType => {}
        V::StringType(t) => push_utf16(s, t.as_bytes()),
        V::AnsiStringType(t) => s.push_str(t),
        V::StringArrayType(items) => {
            for (i, t) in items.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                push_utf16(s, t.as_bytes());
            }
        }
        V::EvtHandle | V::BinXmlType(_) | V::EvtXml => return None,
        // The common scalars without the crate's `Display` (which
        // allocates twice per value); the same text.
        V::UInt8Type(v) => write_display(s, v),
        V::UInt16Type(v) => write_display(s, v),
        V::UInt32Type(v) => write_display(s, v),
        V::UInt64Type(v) => write_display(s, v),
        V::Int8Type(v) => write_display(s, v),
        V::Int16Type(v) => write_display(s, v),
        V::Int32Type(v) => write_display(s, v),
        V::Int64Type(v) => write_display(s, v),
        V::HexInt32Type(v) => write_display(s, format_args!("0x{v:x}")),
        V::HexInt64Type(v) => write_display(s, format_args!("0x{v:x}")),
        V::FileTimeType(ts) | V::SysTimeType(ts) if SYSTEM_TIME_RANGE.contains(&ts.as_second()) => {
            push_system_time(s, ts.as_second(), ts.subsec_microsecond());
        }
        other => {
            // The crate's `Display` may fail: then the long way.
            use std::fmt::Write;
            write!(s, "{other}").ok()?;
        }
    }
    Some(())
}

fn write_display(s: &mut String, v: impl std::fmt::Display) {
    use std::fmt::Write;
    // Writing into a String cannot fail.
    let _ = write!(s, "{v}");
}
