//! The `evtx_input` modular input: everything lives in the library
//! (`winrmdetect::modinput`); this maps its result to an exit code. Errors
//! go to stderr with a level, which splunkd writes to splunkd.log.

#![forbid(unsafe_code)]

use std::process::ExitCode;

/// mimalloc rather than the platform's allocator: musl's made the static
/// Linux build about three times slower (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match winrmdetect::modinput::main_with(&args) {
        Ok(code) => code,
        Err(e) if e.is_peer_gone() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ERROR evtx_input: {e}");
            ExitCode::from(2)
        }
    }
}
