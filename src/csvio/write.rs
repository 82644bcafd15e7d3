//! Splunk's CSV, written: fields quoted only when they must be, the
//! `__mv_` companion of every field we add, and the table model (a
//! [`Column`] list whose values are [`Cell`]s) that the CSV writers here and
//! the `cli` text and JSON writers share.
//!
//! Splunk reads a multivalue field from its `__mv_X` companion, `$a$;$b$`
//! with every `$` of a value doubled. `X` itself holds the values joined by
//! newlines, for people and for tools that ignore the companion. One value
//! goes plain, with an empty companion.

use std::borrow::Cow;

/// Writes one CSV field, quoting when needed.
pub fn write_field(out: &mut Vec<u8>, v: &[u8]) {
    if needs_quotes(v) {
        out.push(b'"');
        push_escaped(out, v);
        out.push(b'"');
    } else {
        out.extend_from_slice(v);
    }
}

/// Writes one output field and its `__mv_` companion, each followed by a
/// comma: `X,__mv_X,` (the caller drops the last comma of a row).
pub fn write_list<'a, I: Iterator<Item = &'a str> + Clone>(out: &mut Vec<u8>, vals: I) {
    let count = vals.clone().count();
    let special = vals.clone().any(|v| needs_quotes(v.as_bytes()));
    if count == 1 && !special {
        vals.for_each(|v| out.extend_from_slice(v.as_bytes()));
        out.extend_from_slice(b",,");
        return;
    }
    if count > 0 {
        out.push(b'"');
        for (i, v) in vals.clone().enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            push_escaped(out, v.as_bytes());
        }
        out.push(b'"');
    }
    out.push(b',');
    if count > 1 {
        write_mv(out, vals, special);
    }
    out.push(b',');
}

/// The `__mv_` companion of several values: `$a$;$b$`. It holds `$` and `;`
/// only, so it is quoted only when a value needs it.
fn write_mv<'a>(out: &mut Vec<u8>, vals: impl Iterator<Item = &'a str>, quote: bool) {
    if quote {
        out.push(b'"');
    }
    for (i, v) in vals.enumerate() {
        if i > 0 {
            out.push(b';');
        }
        out.push(b'$');
        for &b in v.as_bytes() {
            if b == b'$' {
                out.push(b'$');
            }
            if quote && b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'$');
    }
    if quote {
        out.push(b'"');
    }
}

/// Writes a header line: the `inputs` columns, then each of `ours` with its
/// `__mv_` companion, comma-separated.
pub fn write_header<'o, I: AsRef<[u8]>>(
    out: &mut Vec<u8>,
    inputs: impl IntoIterator<Item = I>,
    ours: impl IntoIterator<Item = &'o str>,
) {
    let mut first = true;
    let mut head = |out: &mut Vec<u8>, name: &[u8]| {
        if !first {
            out.push(b',');
        }
        first = false;
        write_field(out, name);
    };
    for name in inputs {
        head(out, name.as_ref());
    }
    for f in ours {
        head(out, f.as_bytes());
        head(out, format!("__mv_{f}").as_bytes());
    }
    out.push(b'\n');
}

/// Whether a column `name` is one of `ours` or the `__mv_` companion of one
/// (an input column we write again, and so drop).
pub fn is_ours(name: &[u8], ours: &[&str]) -> bool {
    let base = name.strip_prefix(b"__mv_").unwrap_or(name);
    ours.iter().any(|f| f.as_bytes() == base)
}

/// Whether a field must be quoted: it holds a `,`, `"`, CR or LF.
fn needs_quotes(v: &[u8]) -> bool {
    v.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
}

/// The bytes of a quoted field, `"` doubled.
fn push_escaped(out: &mut Vec<u8>, v: &[u8]) {
    for &b in v {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
}

/// One value of a report row, before a writer formats it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// Text, as it is.
    Text(Cow<'a, str>),
    /// A count or a score.
    Int(u64),
    /// Epoch seconds.
    Epoch(f64),
    /// A time as the input gave it (epoch seconds, or any other text).
    EpochText(&'a str),
    /// Several values: a multivalue field in Splunk's CSV, an array in JSON,
    /// joined by the separator in one line of text.
    List(Vec<Cow<'a, str>>, &'static str),
}

impl<'a> Cell<'a> {
    /// Borrowed text.
    pub fn text(s: &'a str) -> Self {
        Cell::Text(Cow::Borrowed(s))
    }

    /// Borrowed values, `,`-joined in text.
    pub fn list<S: AsRef<str> + ?Sized + 'a>(values: impl IntoIterator<Item = &'a S>) -> Self {
        Cell::List(
            values
                .into_iter()
                .map(|v| Cow::Borrowed(v.as_ref()))
                .collect(),
            ",",
        )
    }

    /// The cell as one line of text (a time as the input gave it, epoch
    /// seconds with milliseconds).
    pub fn plain(&self) -> Cow<'_, str> {
        match self {
            Cell::Text(s) => Cow::Borrowed(s),
            Cell::Int(n) => Cow::Owned(n.to_string()),
            Cell::Epoch(t) => Cow::Owned(format!("{t:.3}")),
            Cell::EpochText(s) => Cow::Borrowed(s),
            Cell::List(values, sep) => Cow::Owned(values.join(sep)),
        }
    }

    /// Writes the cell as a Splunk CSV field and its `__mv_` companion,
    /// each followed by a comma (see [`write_list`]).
    pub fn write_csv(&self, out: &mut Vec<u8>) {
        match self {
            Cell::List(values, _) => write_list(out, values.iter().map(|v| &**v)),
            one => write_list(out, std::iter::once(&*one.plain())),
        }
    }
}

/// One column of a report: its name, the forms it is in, its value per row.
/// The text form (a table for people) picks its columns by name.
pub struct Column<T> {
    /// The name in CSV and JSON (and what the text form asks for).
    pub name: &'static str,
    /// In the CSV form.
    pub csv: bool,
    /// In the JSON form.
    pub json: bool,
    /// The value of one row.
    pub value: fn(&T) -> Cell<'_>,
}

impl<T> Column<T> {
    /// A column of every form.
    pub const fn new(name: &'static str, value: fn(&T) -> Cell<'_>) -> Self {
        Column {
            name,
            csv: true,
            json: true,
            value,
        }
    }

    /// Only in CSV (and text, if the text form asks for it).
    pub const fn csv_only(self) -> Self {
        Column {
            json: false,
            ..self
        }
    }

    /// Only in text.
    pub const fn text_only(self) -> Self {
        Column {
            csv: false,
            json: false,
            ..self
        }
    }
}

/// The column of `columns` named `name`.
pub fn column<'c, T>(columns: &'c [Column<T>], name: &str) -> Option<&'c Column<T>> {
    columns.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value and its `__mv_` companion, byte for byte: nothing for no
    /// value, the plain value and an empty companion for one, a quoted
    /// newline list and `$a$;$b$` for several (quoted when a value needs it).
    #[test]
    fn write_list_writes_a_value_and_its_mv_companion() {
        let bytes = |vals: &[&str]| {
            let mut out = Vec::new();
            write_list(&mut out, vals.iter().copied());
            String::from_utf8(out).unwrap()
        };
        assert_eq!(bytes(&[]), ",,");
        assert_eq!(bytes(&["a"]), "a,,");
        assert_eq!(bytes(&["a,b"]), "\"a,b\",,");
        assert_eq!(bytes(&["a", "b$"]), "\"a\nb$\",$a$;$b$$$,");
        assert_eq!(bytes(&["a\"", "b"]), "\"a\"\"\nb\",\"$a\"\"$;$b$\",");
        assert_eq!(
            bytes(&["a$1", "b\"c"]),
            "\"a$1\nb\"\"c\",\"$a$$1$;$b\"\"c$\","
        );
    }

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        for (v, written) in [
            ("a", "a"),
            ("", ""),
            ("a b", "a b"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("a\r\nb", "\"a\r\nb\""),
        ] {
            let mut out = Vec::new();
            write_field(&mut out, v.as_bytes());
            assert_eq!(String::from_utf8(out).unwrap(), written, "{v:?}");
        }
    }

    /// Input columns, then ours with their companions; nothing before ours
    /// means no leading comma.
    #[test]
    fn a_header_is_the_inputs_then_ours_with_companions() {
        let mut out = Vec::new();
        write_header(&mut out, [&b"a"[..], b"b,c"], ["X"]);
        assert_eq!(out, b"a,\"b,c\",X,__mv_X\n");
        out.clear();
        write_header(&mut out, std::iter::empty::<&[u8]>(), ["X", "Y"]);
        assert_eq!(out, b"X,__mv_X,Y,__mv_Y\n");
        out.clear();
        write_header(&mut out, [&b"a"[..]], []);
        assert_eq!(out, b"a\n");
    }

    #[test]
    fn ours_are_the_names_and_their_companions() {
        let ours = ["risk_score", "AlertType"];
        assert!(is_ours(b"risk_score", &ours));
        assert!(is_ours(b"__mv_AlertType", &ours));
        assert!(!is_ours(b"__mv_host", &ours));
        assert!(!is_ours(b"risk", &ours));
        assert!(!is_ours(b"__mv___mv_risk_score", &ours));
    }

    /// A cell's CSV form is [`write_list`] of its values; its plain form one
    /// line.
    #[test]
    fn cells_render_as_csv_and_plain_text() {
        let csv = |c: Cell| {
            let mut out = Vec::new();
            c.write_csv(&mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(csv(Cell::Int(7)), "7,,");
        assert_eq!(csv(Cell::Epoch(1.5)), "1.500,,");
        assert_eq!(csv(Cell::text("")), ",,");
        assert_eq!(csv(Cell::list(["a", "b"])), "\"a\nb\",$a$;$b$,");
        assert_eq!(csv(Cell::list(Vec::<&str>::new())), ",,");
        assert_eq!(Cell::list(["a", "b"]).plain(), "a,b");
        assert_eq!(Cell::EpochText("17.25").plain(), "17.25");
    }
}
