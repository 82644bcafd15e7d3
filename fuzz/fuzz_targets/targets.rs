//! Remote-host parsing: WinRM connection strings and command lines.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    if let Some(h) = winrmdetect::detect::targets::parse_connection(&s) {
        let _ = winrmdetect::detect::targets::short_host(&h);
    }
    let _ = winrmdetect::detect::targets::command_line_targets(&s, true);
    let _ = winrmdetect::detect::targets::command_line_targets(&s, false);
    let _ = winrmdetect::detect::targets::is_loopback(&s);
});
