//! The whole search command over arbitrary splunkd bytes: frames, getinfo
//! metadata and arguments, CSV bodies (with `__mv_` fields), the `_raw` XML
//! fallback, the rules and correlation. Errors are answers; panics are bugs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let env = winrmdetect::scp::session::Environment::default();
    let _ = winrmdetect::scp::session::run(data, Vec::new(), &env);
});
