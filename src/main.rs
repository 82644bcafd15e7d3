//! The `winrmdetect` binary: everything lives in the library; this maps its
//! result to an exit code. A broken pipe (splunkd closed our stdout) is a
//! normal end, as in ripgrep.

#![forbid(unsafe_code)]

use std::process::ExitCode;

/// mimalloc rather than the platform's allocator: musl's made the static
/// Linux build about three times slower (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match winrmdetect::cli::main_with(std::env::args_os().skip(1).collect()) {
        Ok(code) => code,
        Err(e) if e.is_peer_gone() => ExitCode::SUCCESS,
        Err(e) => {
            // In protocol mode the error already went to splunkd as an
            // `error` reply; stderr ends up in search.log.
            eprintln!("winrmdetect: {e}");
            ExitCode::from(2)
        }
    }
}
