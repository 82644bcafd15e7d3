//! The whole search command over arbitrary splunkd bytes: frames, getinfo
//! metadata and arguments, CSV bodies (with `__mv_` fields), the `_raw` XML
//! fallback, the rules and correlation. Errors are answers; panics are bugs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let env = winrmdetect::command::Environment::default();
    let _ = winrmdetect::command::run(data, Vec::new(), &env);
});
