//! The `_raw` XML fallback (`XmlWinEventLog` events without the add-on).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = winrmdetect::event::raw_xml::parse_event(&String::from_utf8_lossy(data));
});
