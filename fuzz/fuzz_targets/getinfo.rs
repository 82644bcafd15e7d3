//! getinfo metadata and search arguments. Input starting with `{` is the
//! metadata of a getinfo frame, followed by one execute frame; anything else
//! is an argument list, one per line, for `options::parse_args`.
#![no_main]
use libfuzzer_sys::fuzz_target;

const EXECUTE: &[u8] = b"chunked 1.0,37,70\n{\"action\":\"execute\",\"finished\":true}EventCode,Computer,CommandLine\n1,SRV,winrs -r:dc01 whoami\n";

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&b'{') {
        let mut input = format!("chunked 1.0,{},0\n", data.len()).into_bytes();
        input.extend_from_slice(data);
        input.extend_from_slice(EXECUTE);
        let env = winrmdetect::scp::session::Environment::default();
        let _ = winrmdetect::scp::session::run(&input[..], Vec::new(), &env);
    } else {
        let text = String::from_utf8_lossy(data);
        let args: Vec<&str> = text.split('\n').collect();
        let _ = winrmdetect::scp::options::parse_args(&args);
    }
});
