//! The frame reader alone: every chunk until EOF or an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = data;
    let mut chunk = winrmdetect::scp::frame::Chunk::default();
    while let Ok(true) = winrmdetect::scp::frame::read_chunk(&mut r, &mut chunk) {}
});
