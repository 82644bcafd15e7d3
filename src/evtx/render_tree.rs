//! The direct way to a rendered record: straight from the `evtx` crate's
//! tree (what its `into_xml` walks), with the same result as
//! [`super::render`] over the crate's XML but without writing and parsing
//! that XML. Anything it does not take (processing instructions, CDATA,
//! entity references, fragments of embedded BinXML) goes the long way.

use evtx::binxml::value_variant::BinXmlValue;
use evtx::model::ir::{
    is_optional_empty, Attr, ElementId, IrTree, Node, TemplateArg, TemplateRecord, Text,
};

use super::escape::{escape_into, Quotes};
use super::pairs::PairSink;
use super::time::{parse_system_time, push_system_time, SYSTEM_TIME_RANGE};
use super::{guid_braced, local_name, Fields, Peek, RecordError, Rendered};

/// Renders a record from its tree; `None` for what this renderer does not
/// take. `header_time` stands in for a missing `TimeCreated`; without
/// `xml` the XML is not written (`Rendered::xml` is empty), the fields are.
pub(super) fn render_tree(
    r: &evtx::EvtxRecord<'_>,
    header_time: Option<f64>,
    with_pairs: bool,
    xml: bool,
    memo: &mut Memo,
) -> Option<Result<Rendered, RecordError>> {
    let (tree, values) = tree_of(r);
    let mut t = TreeRender {
        tree,
        values,
        out: xml.then(|| String::with_capacity(r.binxml_size as usize * 2)),
        text: String::new(),
        fields: Fields::default(),
        pairs: with_pairs.then(PairSink::default),
        attrs: Vec::new(),
        memo,
    };
    t.element(tree.root())?;
    let pairs = t.pairs.take().and_then(PairSink::finish);
    let rendered = t
        .fields
        .finish(t.out.unwrap_or_default(), r.event_record_id, header_time);
    Some(rendered.map(|r| Rendered { pairs, ..r }))
}

/// What the record says of its channel, event id and fields, read from
/// its tree without rendering it: the channel and event id exactly as the
/// renderer takes them ([`Fields`]); `None` for a record the renderer
/// would not take either.
pub(super) fn peek(r: &evtx::EvtxRecord<'_>) -> Option<Peek> {
    peek_at(r, true, |tree| Some(tree.root()))
}

/// [`peek`] at the `System` element alone (the channel and event id, and
/// `whole` false); `None` when the record has none or it does not read.
pub(super) fn peek_system(r: &evtx::EvtxRecord<'_>) -> Option<Peek> {
    peek_at(r, false, |tree| {
        let arena = tree.arena();
        let root = arena.get(tree.root())?;
        root.children.iter().find_map(|n| match n {
            Node::Element(id) => arena
                .get(*id)
                .filter(|e| e.name.as_str() == "System")
                .map(|_| *id),
            _ => None,
        })
    })
}

/// A peek from the element `from` picks; `whole` when that is the root
/// (else `names_target_user_sid` stays false).
fn peek_at(
    r: &evtx::EvtxRecord<'_>,
    whole: bool,
    from: impl FnOnce(&IrTree<'_>) -> Option<ElementId>,
) -> Option<Peek> {
    let (tree, values) = tree_of(r);
    let start = from(tree)?;
    let mut memo = Memo::default();
    let mut t = TreeRender {
        tree,
        values,
        out: None,
        text: String::new(),
        fields: Fields::default(),
        pairs: None,
        attrs: Vec::new(),
        memo: &mut memo,
    };
    let mut peek = Peek {
        whole,
        ..Peek::default()
    };
    t.peek_element(start, &mut peek)?;
    peek.names_target_user_sid &= whole;
    Some(peek)
}

/// The tree to render and the values for its placeholders: a template
/// record's template and values, else the record's own tree.
fn tree_of<'r, 'a>(r: &'r evtx::EvtxRecord<'a>) -> (&'r IrTree<'a>, &'r [TemplateArg<'a>]) {
    match &r.template {
        Some(t) => (&t.template, &t.args),
        None => (&r.tree, &[]),
    }
}

/// A child element: one of the tree's, or an embedded fragment standing
/// where a template's placeholder is.
#[derive(Clone, Copy)]
enum Child<'t, 'a> {
    Own(ElementId),
    Nested(&'t TemplateRecord<'a>),
}

/// The child element `n` is, if it is one (`values`: the placeholders').
fn child_of<'t, 'a>(values: &'t [TemplateArg<'a>], n: &Node<'_>) -> Option<Child<'t, 'a>> {
    match n {
        Node::Element(id) => Some(Child::Own(*id)),
        Node::Placeholder(p) => match values.get(usize::from(p.id)) {
            Some(TemplateArg::Record(r)) => Some(Child::Nested(r)),
            _ => None,
        },
        _ => None,
    }
}

/// What rendering keeps from one record to the next: the text of the
/// GUIDs met last. A provider's GUID is on each of its records, and the
/// crate's `Display` of one costs more than the rest of its attribute.
#[derive(Debug, Default)]
pub(super) struct Memo {
    guids: Vec<(BinXmlValue<'static>, String)>,
}

/// GUIDs remembered.
const MEMO_GUIDS: usize = 8;

impl Memo {
    /// Appends the text of the GUID `v`, remembered or written anew.
    fn push_guid(&mut self, s: &mut String, v: &BinXmlValue<'_>) -> Option<()> {
        let BinXmlValue::GuidType(g) = v else {
            return None;
        };
        let known = self.guids.iter().find(|(k, _)| match k {
            BinXmlValue::GuidType(k) => k == g,
            _ => false,
        });
        if let Some((_, text)) = known {
            s.push_str(text);
            return Some(());
        }
        let mut text = String::new();
        use std::fmt::Write;
        write!(text, "{v}").ok()?;
        s.push_str(&text);
        if self.guids.len() >= MEMO_GUIDS {
            self.guids.remove(0);
        }
        self.guids.push((BinXmlValue::GuidType(g.clone()), text));
        Some(())
    }
}

struct TreeRender<'t, 'a, 'm> {
    tree: &'t IrTree<'a>,
    /// The values of a template's placeholders (none for a record's tree).
    values: &'t [TemplateArg<'a>],
    /// The XML, when it is written.
    out: Option<String>,
    /// A value being collected (text run or attribute), unescaped.
    text: String,
    fields: Fields,
    /// The fields as pairs, when asked for.
    pairs: Option<PairSink>,
    /// The attributes of the element being opened, for `pairs`.
    attrs: Vec<(String, String)>,
    memo: &'m mut Memo,
}

impl<'t, 'a> TreeRender<'t, 'a, '_> {
    /// Appends to the XML, if it is written.
    fn put(&mut self, s: &str) {
        if let Some(out) = &mut self.out {
            out.push_str(s);
        }
    }

    /// Appends `s` escaped to the XML, if it is written.
    fn put_escaped(&mut self, s: &str) {
        if let Some(out) = &mut self.out {
            escape_into(out, s, Quotes::Escaped);
        }
    }

    /// Writes an element; whether it has content (else it is self-closed).
    fn element(&mut self, id: ElementId) -> Option<bool> {
        let e = self.tree.arena().get(id)?;
        let name = e.name.as_str();
        self.put("<");
        self.put(name);
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
            self.put("</");
            self.put(name);
            self.put(">");
        } else {
            self.put("/>");
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
        self.put(" ");
        self.put(a.name.as_str());
        self.put("='");
        let value = guid_braced(&self.text);
        if let Some(out) = &mut self.out {
            escape_into(out, &value, Quotes::Escaped);
            out.push('\'');
        }
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
        let values = self.values;
        let mut nodes = children.iter().peekable();
        while let Some(n) = nodes.peek() {
            if let Some(child) = child_of(values, n) {
                nodes.next();
                if std::mem::take(&mut open) {
                    self.put(">");
                }
                if self.child(child)? {
                    trailing.clear();
                }
                continue;
            }
            self.text.clear();
            while let Some(n) = nodes.next_if(|n| child_of(values, n).is_none()) {
                self.node_text(n)?;
            }
            if self.text.is_empty() {
                continue;
            }
            let text = std::mem::take(&mut self.text);
            let value = guid_braced(&text);
            self.fields.text(name, &value);
            if std::mem::take(&mut open) {
                self.put(">");
            }
            self.put_escaped(&value);
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
        let local = local_name(name);
        p.names_target_user_sid |= local == "TargetUserSid";
        if local == "Data" {
            for a in e.attrs.iter() {
                let key = a.name.as_str();
                if local_name(key) == "Name" {
                    p.names_target_user_sid |= self.is_target_user_sid(&a.value)?;
                }
            }
        }
        // Only these two elements' text matters (and only it is decoded).
        let wanted = name == "Channel" || name == "EventID";
        let values = self.values;
        let mut nodes = e.children.iter().peekable();
        while let Some(n) = nodes.next() {
            if let Some(child) = child_of(values, n) {
                self.peek_child(child, p)?;
                continue;
            }
            if !wanted {
                let xml_value = matches!(
                    n,
                    Node::Value(
                        BinXmlValue::EvtHandle | BinXmlValue::BinXmlType(_) | BinXmlValue::EvtXml
                    )
                );
                let text = matches!(
                    n,
                    Node::Text(_) | Node::CharRef(_) | Node::Value(_) | Node::Placeholder(_)
                );
                if xml_value || !text {
                    // What `node_text` does not take: the renderer would
                    // not take the record either.
                    return None;
                }
                continue;
            }
            // A run of text and value nodes, as `content` takes it.
            self.text.clear();
            self.node_text(n)?;
            while let Some(n) = nodes.next_if(|n| child_of(values, n).is_none()) {
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

    /// Whether an attribute's value is `TargetUserSid`: compared as UTF-16
    /// when it is one text (a template's `Name`s are), else decoded.
    fn is_target_user_sid(&mut self, value: &[Node<'_>]) -> Option<bool> {
        const NAME: &[u8; 26] = b"T\0a\0r\0g\0e\0t\0U\0s\0e\0r\0S\0i\0d\0";
        if let [Node::Text(Text::Utf16(t))] = value {
            return Some(t.as_bytes() == NAME);
        }
        self.text.clear();
        for n in value {
            self.node_text(n)?;
        }
        Some(self.text == "TargetUserSid")
    }

    /// Appends a text or value node's text to `self.text`.
    fn node_text(&mut self, n: &Node<'_>) -> Option<()> {
        match n {
            Node::Text(Text::Utf16(s)) => push_utf16(&mut self.text, s.as_bytes()),
            Node::Text(Text::Utf8(s)) => self.text.push_str(s),
            Node::CharRef(c) => self.text.push(char::from_u32(u32::from(*c))?),
            Node::Value(v) => self.value_text(v)?,
            // As the crate instantiates it: nothing past the values given,
            // nor for an optional substitution left empty.
            Node::Placeholder(p) => match self.values.get(usize::from(p.id)) {
                None => {}
                Some(TemplateArg::Value(v)) if p.optional && is_optional_empty(v) => {}
                Some(TemplateArg::Value(v)) => self.value_text(v)?,
                Some(TemplateArg::Record(_)) => return None,
            },
            _ => return None,
        }
        Some(())
    }

    /// Writes a child element ([`TreeRender::element`]); an embedded
    /// fragment's with its own template and values.
    fn child(&mut self, c: Child<'t, 'a>) -> Option<bool> {
        match c {
            Child::Own(id) => self.element(id),
            Child::Nested(r) => self.nested(r, Self::element),
        }
    }

    /// [`TreeRender::peek_element`] at a child element.
    fn peek_child(&mut self, c: Child<'t, 'a>, p: &mut Peek) -> Option<()> {
        match c {
            Child::Own(id) => self.peek_element(id, p),
            Child::Nested(r) => self.nested(r, |t, root| t.peek_element(root, p)),
        }
    }

    /// Runs `f` on an embedded fragment's root, with the fragment's
    /// template and values in place of the outer ones.
    fn nested<T>(
        &mut self,
        r: &'t TemplateRecord<'a>,
        f: impl FnOnce(&mut Self, ElementId) -> T,
    ) -> T {
        let outer = (self.tree, self.values);
        (self.tree, self.values) = (&r.template, &r.args);
        let done = f(self, r.template.root());
        (self.tree, self.values) = outer;
        done
    }

    /// Appends a value's text to `self.text`.
    fn value_text(&mut self, v: &BinXmlValue<'_>) -> Option<()> {
        match v {
            BinXmlValue::GuidType(_) => self.memo.push_guid(&mut self.text, v),
            v => push_value(&mut self.text, v),
        }
    }
}

/// UTF-16 units copied a byte each when they are all ASCII.
const SHORT: usize = 64;

/// Appends UTF-16LE text (`encoding_rs`, which copies ASCII runs in
/// blocks); an unpaired surrogate becomes U+FFFD, an odd last byte is left
/// out, as `char::decode_utf16` over whole units gives.
fn push_utf16(s: &mut String, b: &[u8]) {
    let whole = &b[..b.len() & !1];
    // Most values are short and ASCII: copied without a decoder's set-up.
    if whole.len() <= 2 * SHORT {
        let mut buf = [0u8; SHORT];
        let mut n = 0;
        for u in whole.chunks_exact(2) {
            if u[1] != 0 || u[0] >= 0x80 {
                // Not ASCII: `buf.get` below gives nothing.
                n = usize::MAX;
                break;
            }
            buf[n] = u[0];
            n += 1;
        }
        if let Some(Ok(ascii)) = buf.get(..n).map(std::str::from_utf8) {
            s.push_str(ascii);
            return;
        }
    }
    let mut decoder = encoding_rs::UTF_16LE.new_decoder_without_bom_handling();
    if let Some(room) = decoder.max_utf8_buffer_length(whole.len()) {
        s.reserve(room);
    }
    let _ = decoder.decode_to_string(whole, s, true);
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
        V::UInt8Type(v) => push_int(s, *v),
        V::UInt16Type(v) => push_int(s, *v),
        V::UInt32Type(v) => push_int(s, *v),
        V::UInt64Type(v) => push_int(s, *v),
        V::Int8Type(v) => push_int(s, *v),
        V::Int16Type(v) => push_int(s, *v),
        V::Int32Type(v) => push_int(s, *v),
        V::Int64Type(v) => push_int(s, *v),
        V::HexInt32Type(v) => push_hex(s, u64::from(*v)),
        V::HexInt64Type(v) => push_hex(s, *v),
        V::SidType(sid) => push_sid(s, sid.as_bytes()),
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

/// `0x` and the lower-case hex digits, as the crate writes hex integers.
fn push_hex(s: &mut String, v: u64) {
    s.push_str("0x");
    let digits = (64 - v.leading_zeros() as usize).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        s.push(char::from(
            b"0123456789abcdef"[(v >> (i * 4)) as usize & 15],
        ));
    }
}

/// A SID's text (`S-1-5-21-…`), as the crate writes it from its bytes:
/// revision, the 48-bit big-endian authority, the little-endian
/// sub-authorities the bytes hold.
fn push_sid(s: &mut String, b: &[u8]) {
    if b.len() < 8 {
        s.push_str("S-?");
        return;
    }
    let authority = b[2..8].iter().fold(0u64, |a, &x| (a << 8) | u64::from(x));
    s.push_str("S-");
    push_int(s, b[0]);
    s.push('-');
    push_int(s, authority);
    for sub in b[8..].chunks_exact(4).take(usize::from(b[1])) {
        s.push('-');
        push_int(s, u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]]));
    }
}

/// Appends an integer's decimal text (`itoa`: without `fmt`'s machinery,
/// which cost 4% of a dense log).
fn push_int(s: &mut String, v: impl itoa::Integer) {
    s.push_str(itoa::Buffer::new().format(v));
}

#[cfg(test)]
mod tests {
    use super::*;
    use evtx::binxml::value_variant::SidRef;

    /// The hand-written value texts are the crate's own.
    #[test]
    fn sid_hex_and_integer_texts_are_the_crates() {
        let sid = [
            1u8, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0x39, 0x30, 0, 0, 0xff, 0xff, 0xff, 0xff,
        ];
        let values = [
            BinXmlValue::SidType(SidRef::new(&sid)),
            BinXmlValue::SidType(SidRef::new(&sid[..8])),
            BinXmlValue::SidType(SidRef::new(&sid[..14])),
            BinXmlValue::SidType(SidRef::new(&sid[..4])),
            BinXmlValue::HexInt32Type(0),
            BinXmlValue::HexInt32Type(0x1f4),
            BinXmlValue::HexInt64Type(u64::MAX),
            BinXmlValue::HexInt64Type(0x10),
            BinXmlValue::UInt8Type(255),
            BinXmlValue::Int8Type(-128),
            BinXmlValue::Int16Type(-1),
            BinXmlValue::UInt16Type(65535),
            BinXmlValue::Int32Type(i32::MIN),
            BinXmlValue::UInt32Type(4_294_967_295),
            BinXmlValue::Int64Type(i64::MIN),
            BinXmlValue::UInt64Type(u64::MAX),
        ];
        for v in &values {
            let mut s = String::new();
            push_value(&mut s, v).unwrap();
            assert_eq!(s, v.to_string(), "{v:?}");
        }
        let mut s = String::new();
        push_value(&mut s, &values[0]).unwrap();
        assert_eq!(s, "S-1-5-21-12345-4294967295");
    }

    /// UTF-16 text reads as `char::decode_utf16` reads it: unpaired
    /// surrogates as U+FFFD, an odd last byte left out.
    #[test]
    fn utf16_text_is_decoded_as_the_standard_library_decodes_it() {
        let texts: [&[u16]; 7] = [
            &[0x41; 100],
            &[0x41; 64],
            &[0x41, 0x42],
            &[0x41, 0xe9, 0x20ac, 0xd83d, 0xde00, 0x43],
            &[0xd800, 0x41],
            &[0x41, 0xdc00, 0xdc00],
            &[0xd83d],
        ];
        for units in texts {
            let mut bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
            let want: String = char::decode_utf16(units.iter().copied())
                .map(|c| c.unwrap_or('\u{fffd}'))
                .collect();
            let mut got = String::from(">");
            push_utf16(&mut got, &bytes);
            assert_eq!(got, format!(">{want}"), "{units:x?}");
            bytes.push(0x41);
            let mut odd = String::new();
            push_utf16(&mut odd, &bytes);
            assert_eq!(odd, want, "{units:x?} and an odd byte");
        }
    }
}
