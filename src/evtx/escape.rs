//! The crate's one XML escape. `&`, `<` and `>` always become entities;
//! whether `"` and `'` do too is the caller's [`Quotes`], because the two
//! outputs that escape need different sets and must stay as they are:
//!
//! * the EVTX renderers write what Windows' renderer writes, which escapes
//!   all five, in text as in attribute values (`&quot;x&quot; &apos;y&apos;`
//!   in a `<Data>` is what the Splunk add-on sees from Windows);
//! * the modular input wraps a rendered event in its `<event><data>`, text
//!   content, where quotes need no escaping. The event's single-quoted
//!   attributes (`<Data Name='…'>`) reach Splunk as they are written only
//!   if `'` stays `'`.

/// Which characters besides `&`, `<` and `>` become entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quotes {
    /// `"` and `'` too (`&quot;`, `&apos;`), as Windows renders
    /// `XmlWinEventLog` text and attribute values.
    Escaped,
    /// `"` and `'` stay: text content, such as the modular input's
    /// `<data>`.
    Kept,
}

/// Where escaped text goes: a `String` (the EVTX renderers) or bytes (the
/// modular input's output).
pub(crate) trait XmlOut {
    /// Appends `s`.
    fn push(&mut self, s: &str);
    /// Makes room for `additional` more bytes.
    fn reserve(&mut self, additional: usize);
}

impl XmlOut for String {
    fn push(&mut self, s: &str) {
        self.push_str(s);
    }
    fn reserve(&mut self, additional: usize) {
        String::reserve(self, additional);
    }
}

impl XmlOut for Vec<u8> {
    fn push(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
    fn reserve(&mut self, additional: usize) {
        Vec::reserve(self, additional);
    }
}

/// Appends `s` to `out` XML-escaped, the quotes as `quotes` says. Runs
/// without a special character are copied whole.
pub(crate) fn escape_into(out: &mut impl XmlOut, s: &str, quotes: Quotes) {
    // A byte loop: in rendered XML the special bytes are too close together
    // for a vectorised search to pay.
    let b = s.as_bytes();
    out.reserve(b.len() + b.len() / 4);
    let mut from = 0;
    for (i, c) in b.iter().enumerate() {
        let entity = match (c, quotes) {
            (b'&', _) => "&amp;",
            (b'<', _) => "&lt;",
            (b'>', _) => "&gt;",
            (b'"', Quotes::Escaped) => "&quot;",
            (b'\'', Quotes::Escaped) => "&apos;",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both slices end on char boundaries.
        out.push(&s[from..i]);
        out.push(entity);
        from = i + 1;
    }
    out.push(&s[from..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECIAL: &str = "a&b<c>d\"e'f é &amp;";

    #[test]
    fn escaped_quotes_are_the_five_entities() {
        let mut out = String::from("=");
        escape_into(&mut out, SPECIAL, Quotes::Escaped);
        assert_eq!(out, "=a&amp;b&lt;c&gt;d&quot;e&apos;f é &amp;amp;");
    }

    #[test]
    fn kept_quotes_are_the_three_entities_in_bytes() {
        let mut out = b"=".to_vec();
        escape_into(&mut out, SPECIAL, Quotes::Kept);
        assert_eq!(out, "=a&amp;b&lt;c&gt;d\"e'f é &amp;amp;".as_bytes());
    }

    #[test]
    fn text_without_special_characters_is_copied() {
        for quotes in [Quotes::Escaped, Quotes::Kept] {
            let mut out = String::new();
            escape_into(&mut out, "", quotes);
            escape_into(&mut out, "plain é text", quotes);
            assert_eq!(out, "plain é text");
        }
    }
}
