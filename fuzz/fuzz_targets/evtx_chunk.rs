//! EVTX records: the input is the start of a chunk (header, string and
//! template tables, records), zero-padded to whole 64 KiB chunks behind a
//! real file header. Every record is rendered as the Windows add-on does
//! and read back by the `_raw` parser, its fields collected while rendering
//! too (issue 15), records skipped, or read for their fields only, after a peek at their trees;
//! damage is reported, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use std::path::Path;
use winrmdetect::evtx::{EvtxFile, Position, Take};

/// The 4 KiB file header of a bundled file (MIT, evtx-rs samples).
const HEADER: &[u8] = include_bytes!("../data/evtx_file_header.bin");
const CHUNK: usize = 65536;

fuzz_target!(|data: &[u8]| {
    let chunks = data.len().div_ceil(CHUNK).max(1);
    let mut file = Vec::with_capacity(HEADER.len() + chunks * CHUNK);
    file.extend_from_slice(HEADER);
    file.extend_from_slice(data);
    file.resize(HEADER.len() + chunks * CHUNK, 0);
    let Ok(f) = EvtxFile::from_reader(Cursor::new(file), Path::new("fuzz.evtx")) else {
        return;
    };
    let mut f = f.with_pairs();
    let mut n = 0u64;
    let mut skip = |_: &winrmdetect::evtx::Peek| {
        n += 1;
        match n % 3 {
            0 => Take::Skip,
            1 => Take::Xml,
            _ => Take::Fields,
        }
    };
    f.read_skipping(
        Position::default(),
        Some(&mut skip),
        |rec, _| {
            let _ = winrmdetect::event::raw_xml::parse_event(&rec.xml);
            let _ = rec.pairs.map(|p| p.len());
            true
        },
        |_| {},
    );
});
