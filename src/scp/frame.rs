//! SCP v2 transport framing: `chunked 1.0,<M>,<B>\n` + M bytes of JSON
//! metadata + B bytes of body, in both directions.
//!
//! Two functions, [`read_chunk`] and [`write_chunk`], over `BufRead` / `Write`.
//! Lengths are byte counts. Reads loop until exactly M and B bytes arrived
//! (`read_exact` semantics through `Take`, so a declared length that never
//! arrives does not allocate it up front). This module knows nothing about
//! what the metadata or the body mean.

use std::io::{BufRead, Read, Write};

use crate::error::{Error, Result};

/// Longest header line we accept (`chunked 1.0,` plus two 20-digit numbers
/// and some whitespace fits easily).
const MAX_HEADER: usize = 128;
/// Largest metadata we accept: getinfo metadata is a few KiB.
pub const MAX_METADATA: u64 = 64 << 20;
/// Largest body we accept. splunkd sends at most `maxresultrows` rows per
/// chunk; 16 MB bodies are normal and single fields of 100 MB occur.
pub const MAX_BODY: u64 = 2 << 30;

/// One frame: raw metadata bytes and raw body bytes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The JSON metadata, undecoded.
    pub metadata: Vec<u8>,
    /// The body (CSV or empty), undecoded.
    pub body: Vec<u8>,
}

/// Reads one frame into `chunk` (its buffers are reused).
///
/// Returns `Ok(false)` on a clean end of input before the first header byte,
/// `Ok(true)` when a whole frame was read, and an error for anything else,
/// including end of input inside a frame.
pub fn read_chunk<R: BufRead>(reader: &mut R, chunk: &mut Chunk) -> Result<bool> {
    let mut header = Vec::with_capacity(32);
    let n = reader
        .by_ref()
        .take(MAX_HEADER as u64)
        .read_until(b'\n', &mut header)
        .map_err(|e| Error::io("reading a chunk header", e))?;
    if n == 0 {
        return Ok(false);
    }
    if header.last() != Some(&b'\n') {
        if header.len() >= MAX_HEADER {
            return Err(Error::BadHeader(lossy_prefix(&header)));
        }
        return Err(Error::Truncated("in the header line"));
    }
    let (meta_len, body_len) = parse_header(&header)?;
    if meta_len > MAX_METADATA {
        return Err(Error::TooLarge {
            what: "metadata",
            len: meta_len,
            limit: MAX_METADATA,
        });
    }
    if body_len > MAX_BODY {
        return Err(Error::TooLarge {
            what: "body",
            len: body_len,
            limit: MAX_BODY,
        });
    }
    read_exactly(reader, meta_len, &mut chunk.metadata, "in the metadata")?;
    read_exactly(reader, body_len, &mut chunk.body, "in the body")?;
    Ok(true)
}

/// Writes one frame and flushes.
///
/// ```
/// use winrmdetect::scp::frame::{read_chunk, write_chunk, Chunk};
/// let mut wire = Vec::new();
/// write_chunk(&mut wire, br#"{"finished":true}"#, "a\n\u{e9}\n".as_bytes()).unwrap();
/// assert!(wire.starts_with(b"chunked 1.0,17,5\n")); // lengths are bytes
/// let mut chunk = Chunk::default();
/// assert!(read_chunk(&mut &wire[..], &mut chunk).unwrap());
/// assert_eq!(chunk.body, "a\n\u{e9}\n".as_bytes());
/// ```
pub fn write_chunk<W: Write>(writer: &mut W, metadata: &[u8], body: &[u8]) -> Result<()> {
    write_chunk_parts(writer, metadata, &[body])
}

/// Writes one frame whose body is `parts` one after the other (a body
/// that is never put together in memory).
pub fn write_chunk_parts<W: Write>(writer: &mut W, metadata: &[u8], parts: &[&[u8]]) -> Result<()> {
    let w = |e| Error::io("writing a reply chunk", e);
    let len: usize = parts.iter().map(|p| p.len()).sum();
    writeln!(writer, "chunked 1.0,{},{}", metadata.len(), len).map_err(w)?;
    writer.write_all(metadata).map_err(w)?;
    for part in parts {
        writer.write_all(part).map_err(w)?;
    }
    writer.flush().map_err(w)
}

fn read_exactly<R: Read>(
    reader: &mut R,
    len: u64,
    buf: &mut Vec<u8>,
    place: &'static str,
) -> Result<()> {
    buf.clear();
    // The declared length is trusted as far as bytes arrive: the first
    // 64 MiB are reserved at once, the rest when they have come. A larger
    // body is then copied once (64 MiB, before any reply exists, so below
    // the chunk's later peak) instead of through a doubling growth, with
    // old and new buffers both resident (issue 5's memory bound); a false
    // length costs nothing.
    // A buffer too small is dropped, not grown (growing copies its old
    // capacity), and replaced with room to spare, so the next, slightly
    // larger, body fits: capacity never written costs no memory.
    const TRUSTED: usize = 64 << 20;
    let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
    let first = len_usize.min(TRUSTED);
    if buf.capacity() < first {
        *buf = Vec::new();
        let _ = buf.try_reserve_exact(first + first / 2);
    }
    let truncated = |got: usize, want: usize| {
        if got < want {
            Err(Error::Truncated(place))
        } else {
            Ok(())
        }
    };
    let got = reader
        .take(first as u64)
        .read_to_end(buf)
        .map_err(|e| Error::io("reading a chunk", e))?;
    truncated(got, first)?;
    if len_usize > first {
        if buf.capacity() < len_usize {
            // Refused: the rest grows as it arrives.
            let _ = buf.try_reserve_exact(len_usize - buf.len());
        }
        let got = reader
            .take(len - first as u64)
            .read_to_end(buf)
            .map_err(|e| Error::io("reading a chunk", e))?;
        truncated(got, len_usize - first)?;
    }
    Ok(())
}

/// Parses `chunked 1.0,M,B\n`, tolerating the whitespace splunklib tolerates
/// (`chunked\s+1.0\s*,\s*M\s*,\s*B\s*\n`).
fn parse_header(line: &[u8]) -> Result<(u64, u64)> {
    let bad = || Error::BadHeader(lossy_prefix(line));
    let text = std::str::from_utf8(line).map_err(|_| bad())?;
    let rest = text.strip_prefix("chunked").ok_or_else(bad)?;
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Err(bad());
    }
    let mut parts = rest.trim().split(',');
    let (Some(version), Some(m), Some(b), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if version.trim() != "1.0" {
        return Err(bad());
    }
    let num = |s: &str| -> Result<u64> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<u64>().map_err(|_| bad())
    };
    Ok((num(m)?, num(b)?))
}

fn lossy_prefix(bytes: &[u8]) -> String {
    let end = bytes.len().min(64);
    String::from_utf8_lossy(&bytes[..end])
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn read_all(input: &[u8]) -> Result<Vec<Chunk>> {
        let mut r = Cursor::new(input);
        let mut out = Vec::new();
        let mut c = Chunk::default();
        while read_chunk(&mut r, &mut c)? {
            out.push(c.clone());
        }
        Ok(out)
    }

    #[test]
    fn reads_back_to_back_frames_by_bytes() {
        // "é" is two bytes: the declared length counts bytes, not chars.
        let input = "chunked 1.0,2,4\n{}é,\nchunked 1.0,0,0\n".as_bytes();
        let chunks = read_all(input).unwrap();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].metadata, b"{}");
        assert_eq!(chunks[0].body, "é,\n".as_bytes());
        assert!(chunks[1].metadata.is_empty() && chunks[1].body.is_empty());
    }

    #[test]
    fn tolerates_splunklib_whitespace() {
        assert_eq!(parse_header(b"chunked  1.0 , 12 ,0 \n").unwrap(), (12, 0));
    }

    #[test]
    fn rejects_bad_headers() {
        for h in [
            &b"chunked 2.0,1,1\n"[..],
            b"chunked 1.0,-1,0\n",
            b"chunked 1.0,1\n",
            b"chunked 1.0,1,2,3\n",
            b"chunky 1.0,1,1\n",
            b"chunked1.0,1,1\n",
            b"chunked 1.0,99999999999999999999999,0\n",
        ] {
            assert!(matches!(read_all(h), Err(Error::BadHeader(_))), "{:?}", h);
        }
    }

    #[test]
    fn eof_inside_a_frame_is_an_error_but_not_at_a_boundary() {
        assert!(read_all(b"").unwrap().is_empty());
        assert!(matches!(
            read_all(b"chunked 1.0,5,0\n{}"),
            Err(Error::Truncated(_))
        ));
        assert!(matches!(
            read_all(b"chunked 1.0,2,5\n{}ab"),
            Err(Error::Truncated(_))
        ));
        assert!(matches!(
            read_all(b"chunked 1.0,2"),
            Err(Error::Truncated(_))
        ));
    }

    #[test]
    fn huge_lengths_are_refused_before_allocation() {
        let r = read_all(b"chunked 1.0,2,99999999999\n{}");
        assert!(matches!(r, Err(Error::TooLarge { what: "body", .. })));
    }

    /// Found by the `framing` fuzz target (AddressSanitizer's 2 GiB
    /// allocation limit): a body length just under the 2 GiB cap, with
    /// almost no bytes behind it, was reserved in full. Only what arrives
    /// is trusted now: at most 96 MiB is reserved before the data is there,
    /// and a body larger than that still arrives whole.
    #[test]
    fn issue5_fuzz_framing_a_false_length_reserves_little() {
        let mut chunk = Chunk::default();
        let r = read_chunk(&mut &b"chunked 1.0,2,2000000000\n{}abc"[..], &mut chunk);
        assert!(matches!(r, Err(Error::Truncated("in the body"))), "{r:?}");
        assert!(
            chunk.body.capacity() <= 96 << 20,
            "{}",
            chunk.body.capacity()
        );

        let body: Vec<u8> = (0..(70usize << 20)).map(|i| (i % 251) as u8).collect();
        let mut wire = Vec::new();
        write_chunk(&mut wire, b"{}", &body).unwrap();
        assert!(read_chunk(&mut &wire[..], &mut chunk).unwrap());
        assert_eq!(chunk.body, body);
        wire.truncate(wire.len() - 1);
        assert!(matches!(
            read_chunk(&mut &wire[..], &mut chunk),
            Err(Error::Truncated("in the body"))
        ));
    }

    #[test]
    fn garbage_without_newline_is_a_bad_header() {
        let garbage = vec![b'x'; 500];
        assert!(matches!(read_all(&garbage), Err(Error::BadHeader(_))));
    }

    #[test]
    fn write_then_read_round_trips() {
        let mut out = Vec::new();
        write_chunk(&mut out, br#"{"finished":true}"#, "a,b\n1,ü\n".as_bytes()).unwrap();
        let chunks = read_all(&out).unwrap();
        assert_eq!(chunks[0].metadata, br#"{"finished":true}"#);
        assert_eq!(chunks[0].body, "a,b\n1,ü\n".as_bytes());
        assert!(out.starts_with(b"chunked 1.0,17,9\n"));
    }
}
