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
        if let Some((r, _)) = &mut self.slow {
            return r.read_byte_record(rec);
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
                let mut j = i + 1;
                let mut escaped = false;
                let end = loop {
                    let Some(k) = memchr(b'"', &b[j..]) else {
                        return self.go_slow(start, rec);
                    };
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
                    rec.push_field(&self.scratch);
                } else {
                    rec.push_field(&b[i + 1..end]);
                }
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
                rec.push_field(&b[i..k]);
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
                        rec.push_field(b"");
                        self.pos = (i + 1).min(b.len());
                        return Ok(true);
                    }
                }
                // Bytes after a closing quote.
                Some(_) => return self.go_slow(start, rec),
            }
        }
    }

    /// Reads from `start` on with the `csv` crate.
    fn go_slow(&mut self, start: usize, rec: &mut ByteRecord) -> csv::Result<bool> {
        let r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&self.body[start..]);
        let (r, _) = self.slow.insert((r, start));
        r.read_byte_record(rec)
    }

    /// Whether the fast path gave up (for tests and benchmarks).
    pub fn is_slow(&self) -> bool {
        self.slow.is_some()
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
            a.push((rec.iter().map(<[u8]>::to_vec).collect(), fast.position()));
        }
        while slow.read_byte_record(&mut rec).unwrap() {
            b.push((
                rec.iter().map(<[u8]>::to_vec).collect(),
                slow.position().byte() as usize,
            ));
        }
        (a, b)
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
