//! The modular input's configuration from splunkd (`<input>`; `<items>`
//! goes through the same parameter reader). `validate` is left out: it
//! looks at the file system the paths name, and a fuzzed `/` walks it all.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = winrmdetect::modinput::parse_input(&String::from_utf8_lossy(data));
});
