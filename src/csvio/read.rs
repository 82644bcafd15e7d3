//! CSV rows of a chunk body, fast.
//!
//! Splunk writes regular CSV: a field is either bare (no `,`, `"`, CR or LF
//! in it) or quoted from its first byte, with `""` for a quote inside. For
//! such rows [`Rows`] finds field ends with SIMD byte searches (`memchr`)
//! instead of a byte-at-a-time state machine: the long `_raw` XML of every
//! event is skipped in a few instructions per 32 bytes.
//!
//! Anything else (a quote inside a bare field, bytes after a closing quote,
//! a quote never closed) hands the rest of the body to the `csv` crate's
//! reader, so every input reads exactly as the `csv` crate reads it (flexible
//! rows, CR, LF or CR LF line ends, empty lines skipped); a test compares the
//! two on generated input.

use csv::ByteRecord;
use memchr::memchr;

/// Bytes that end a bare field (`"` inside one sends it to the slow path).
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b',' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'\r' as usize] = true;
    t[b'"' as usize] = true;
    t
};

/// A reader of CSV records from one chunk body.
pub struct Rows<'a> {
    body: &'a [u8],
    /// Fast path: where the next record starts (possibly at a line end).
    pos: usize,
    /// Set once the fast path has met something irregular: the `csv`
    /// crate's reader over `body[offset..]`.
    slow: Option<(csv::Reader<&'a [u8]>, usize)>,
    /// A quoted field with `""` in it, unescaped.
    scratch: Vec<u8>,
}

impl<'a> Rows<'a> {
    /// Records of `body`, header included (no header handling).
    pub fn new(body: &'a [u8]) -> Self {
        Rows {
            body,
            pos: 0,
            slow: None,
            scratch: Vec::new(),
        }
    }

    /// Byte offset in the body after the last record read, as the `csv`
    /// crate counts it: past the record's first line-end byte (the LF of a
    /// CR LF is left to the next record).
    pub fn position(&self) -> usize {
        match &self.slow {
            Some((r, offset)) => offset + r.position().byte() as usize,
            None => self.pos,
        }
    }

    /// Reads the next record into `rec`; `Ok(false)` at the end.
    pub fn read_byte_record(&mut self, rec: &mut ByteRecord) -> csv::Result<bool> {
        self.read_into(rec)
    }

    /// Reads the next record into `row`, whose fields are spans of the body
    /// where they stand there as they read (no copy); `Ok(false)` at the end.
    pub fn read_row(&mut self, row: &mut Row<'a>) -> csv::Result<bool> {
        row.body = self.body;
        self.read_into(row)
    }

    fn read_into<S: Sink<'a>>(&mut self, rec: &mut S) -> csv::Result<bool> {
        if let Some((r, _)) = &mut self.slow {
            return rec.read_csv(r);
        }
        let b = self.body;
        let start = self.pos;
        let mut i = start;
        while i < b.len() && (b[i] == b'\n' || b[i] == b'\r') {
            i += 1;
        }
        if i == b.len() {
            self.pos = i;
            return Ok(false);
        }
        rec.clear();
        loop {
            // One field from `i`.
            if b[i] == b'"' {
                let Some(end) = self.quoted(i, rec) else {
                    return self.go_slow(start, rec);
                };
                i = end + 1;
            } else {
                // Bare fields are short: a byte loop beats a search call.
                let mut k = i;
                while k < b.len() && !SPECIAL[usize::from(b[k])] {
                    k += 1;
                }
                if b.get(k) == Some(&b'"') {
                    return self.go_slow(start, rec);
                }
                rec.push_span(b, i, k);
                i = k;
            }
            match b.get(i) {
                None => {
                    self.pos = i;
                    return Ok(true);
                }
                Some(b'\n' | b'\r') => {
                    self.pos = i + 1;
                    return Ok(true);
                }
                Some(b',') => {
                    i += 1;
                    if i == b.len() || b[i] == b'\n' || b[i] == b'\r' {
                        // A trailing comma: one more, empty, field.
                        rec.push_span(b, i, i);
                        self.pos = (i + 1).min(b.len());
                        return Ok(true);
                    }
                }
                // Bytes after a closing quote.
                Some(_) => return self.go_slow(start, rec),
            }
        }
    }

    /// Pushes the quoted field opening at `i` to `rec` and returns where its
    /// closing quote is; `None` (nothing pushed) when it is never closed.
    #[inline]
    fn quoted<S: Sink<'a>>(&mut self, i: usize, rec: &mut S) -> Option<usize> {
        let b = self.body;
        let mut j = i + 1;
        let mut escaped = false;
        let end = loop {
            let k = memchr(b'"', &b[j..])?;
            if b.get(j + k + 1) == Some(&b'"') {
                if !escaped {
                    self.scratch.clear();
                    escaped = true;
                }
                self.scratch.extend_from_slice(&b[j..j + k + 1]);
                j += k + 2;
                continue;
            }
            break j + k;
        };
        if escaped {
            self.scratch.extend_from_slice(&b[j..end]);
            rec.push_copy(&self.scratch);
        } else {
            rec.push_span(b, i + 1, end);
        }
        Some(end)
    }

    /// Reads from `start` on with the `csv` crate.
    fn go_slow<S: Sink<'a>>(&mut self, start: usize, rec: &mut S) -> csv::Result<bool> {
        let r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&self.body[start..]);
        let (r, _) = self.slow.insert((r, start));
        rec.read_csv(r)
    }

    /// Whether the fast path gave up (for tests and benchmarks).
    pub fn is_slow(&self) -> bool {
        self.slow.is_some()
    }
}

/// Whether one record's bytes end inside a quoted field: a quote opened and
/// never closed, so the `csv` crate read everything after it, to the end of
/// the body, as one field.
pub fn ends_in_open_quote(record: &[u8]) -> bool {
    let mut i = 0;
    let mut field_start = true;
    while i < record.len() {
        match record[i] {
            b'"' if field_start => {
                // A quoted field: to the quote that is not doubled.
                i += 1;
                loop {
                    let Some(k) = memchr(b'"', &record[i..]) else {
                        return true;
                    };
                    i += k + 1;
                    if record.get(i) == Some(&b'"') {
                        i += 1;
                    } else {
                        break;
                    }
                }
                field_start = false;
            }
            b',' | b'\n' | b'\r' => {
                field_start = true;
                i += 1;
            }
            _ => {
                field_start = false;
                i += 1;
            }
        }
    }
    false
}

/// Where the reader puts a record's fields.
trait Sink<'a> {
    fn clear(&mut self);
    /// `body[start..end]`, as it stands.
    fn push_span(&mut self, body: &'a [u8], start: usize, end: usize);
    /// A field that had to be unescaped.
    fn push_copy(&mut self, field: &[u8]);
    /// The next record from the `csv` crate's reader.
    fn read_csv(&mut self, r: &mut csv::Reader<&'a [u8]>) -> csv::Result<bool>;
}

impl<'a> Sink<'a> for ByteRecord {
    fn clear(&mut self) {
        ByteRecord::clear(self);
    }
    fn push_span(&mut self, body: &'a [u8], start: usize, end: usize) {
        self.push_field(&body[start..end]);
    }
    fn push_copy(&mut self, field: &[u8]) {
        self.push_field(field);
    }
    fn read_csv(&mut self, r: &mut csv::Reader<&'a [u8]>) -> csv::Result<bool> {
        r.read_byte_record(self)
    }
}

/// One row's fields without copying them: spans of the chunk body, and
/// copies only for what does not stand in the body as it reads (a quoted
/// field with `""` in it, rows the `csv` crate reads). A 100 MB field costs
/// no second 100 MB.
#[derive(Debug, Default)]
pub struct Row<'a> {
    body: &'a [u8],
    /// Per field: in `own` (else in `body`), start, end.
    spans: Vec<(bool, usize, usize)>,
    own: Vec<u8>,
    /// The `csv` crate's record, for the slow path.
    slow: ByteRecord,
}

impl<'a> Sink<'a> for Row<'a> {
    fn clear(&mut self) {
        self.spans.clear();
        self.own.clear();
    }
    fn push_span(&mut self, _body: &'a [u8], start: usize, end: usize) {
        self.spans.push((false, start, end));
    }
    fn push_copy(&mut self, field: &[u8]) {
        let start = self.own.len();
        self.own.extend_from_slice(field);
        self.spans.push((true, start, self.own.len()));
    }
    fn read_csv(&mut self, r: &mut csv::Reader<&'a [u8]>) -> csv::Result<bool> {
        let more = r.read_byte_record(&mut self.slow)?;
        Sink::clear(self);
        let slow = std::mem::take(&mut self.slow);
        for f in &slow {
            self.push_copy(f);
        }
        self.slow = slow;
        Ok(more)
    }
}

/// The event view reads a row's fields by position (the CSV adapter of
/// [`crate::event`], kept here so the event view does not depend on the
/// parser).
impl crate::event::Fields for Row<'_> {
    fn field(&self, i: usize) -> Option<&[u8]> {
        self.get(i)
    }
}

impl Row<'_> {
    /// Field `i`.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.spans.get(i).map(|&(own, s, e)| {
            if own {
                &self.own[s..e]
            } else {
                &self.body[s..e]
            }
        })
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the row has no fields.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The fields as an owned record.
    pub fn to_byte_record(&self) -> ByteRecord {
        self.iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records with the position after each.
    type Read = Vec<(Vec<Vec<u8>>, usize)>;

    /// Every record and every position, from both readers.
    fn both(body: &[u8]) -> (Read, Read) {
        let mut fast = Rows::new(body);
        let mut slow = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let mut rec = ByteRecord::new();
        while fast.read_byte_record(&mut rec).unwrap() {
            a.push((
                rec.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(),
                fast.position(),
            ));
        }
        // Spans read the same records.
        let mut spans = Rows::new(body);
        let mut row = Row::default();
        let mut at = 0;
        while spans.read_row(&mut row).unwrap() {
            assert_eq!(row.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(), a[at].0);
            assert_eq!(row.to_byte_record(), ByteRecord::from(a[at].0.clone()));
            assert_eq!(spans.position(), a[at].1);
            at += 1;
        }
        assert_eq!(at, a.len());
        while slow.read_byte_record(&mut rec).unwrap() {
            b.push((
                rec.iter().map(<[u8]>::to_vec).collect(),
                slow.position().byte() as usize,
            ));
        }
        (a, b)
    }

    /// A trailing comma before LF, CRLF, CR or the end is one more, empty,
    /// field, as the `csv` crate reads it.
    #[test]
    fn a_trailing_comma_is_an_empty_last_field() {
        for body in [
            &b"a,\nb,c\n"[..],
            b"a,\r\nb,c\r\n",
            b"a,\rb,c\r",
            b"b,c\na,",
        ] {
            let (fast, slow) = both(body);
            assert_eq!(fast, slow, "{:?}", String::from_utf8_lossy(body));
            let fields: Vec<Vec<Vec<u8>>> = fast.into_iter().map(|(f, _)| f).collect();
            assert!(
                fields.contains(&vec![b"a".to_vec(), Vec::new()]),
                "{fields:?}"
            );
        }
    }

    /// Raw row slices (what the table copies) agree when positions do; the
    /// `csv` crate's positions count up to the line end, not past it.
    #[test]
    fn reads_like_the_csv_crate_on_generated_input() {
        // xorshift: reproducible without a dependency.
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let alphabet: &[&[u8]] = &[
            b"a",
            b"bc",
            b",",
            b",",
            b"\"",
            b"\"\"",
            b"\n",
            b"\r\n",
            b"\r",
            b" ",
            b"\xc3\xa9",
            b"\xff",
            b"x,y",
            b"\"q,\"\"r\"\"\"",
        ];
        let mut fast_only = 0;
        for case in 0..40_000 {
            let len = (next() % 24) as usize;
            let mut body = Vec::new();
            for _ in 0..len {
                body.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            let (a, b) = both(&body);
            assert_eq!(a, b, "case {case}: {:?}", String::from_utf8_lossy(&body));
            let mut r = Rows::new(&body);
            let mut rec = ByteRecord::new();
            while r.read_byte_record(&mut rec).unwrap() {}
            fast_only += usize::from(!r.is_slow());
        }
        assert!(fast_only > 2_000, "the fast path is exercised: {fast_only}");
    }

    #[test]
    fn an_open_quote_is_told_from_closed_ones() {
        for (record, open) in [
            (&b"a,\"b,c"[..], true),
            (b"\"", true),
            (b"a,\"b\"\"", true),
            (b"a,\"b\"\"c\"", false),
            (b"a,\"b\nc\",d", false),
            (b"a,b\"c,d", false),
            (b"\"x\"y,\"z", true),
            (b"", false),
        ] {
            assert_eq!(
                ends_in_open_quote(record),
                open,
                "{:?}",
                String::from_utf8_lossy(record)
            );
        }
    }

    #[test]
    fn splunk_rows_stay_on_the_fast_path() {
        let body = b"_time,_raw,__mv_x\r\n1,\"<E a='1'>x, \"\"y\"\"</E>\",\r\n2,plain,\"$a$;$b$\"\n\n3,,\n";
        let (a, b) = both(body);
        assert_eq!(a, b);
        assert_eq!(a.len(), 4);
        assert_eq!(a[1].0[1], b"<E a='1'>x, \"y\"</E>".to_vec());
        let mut r = Rows::new(body);
        let mut rec = ByteRecord::new();
        while r.read_byte_record(&mut rec).unwrap() {}
        assert!(!r.is_slow());
    }
}
