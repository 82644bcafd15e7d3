//! The command loop: getinfo once, then one reply per execute, in order.
//!
//! Generic over reader and writer so tests run it in memory. Fatal problems
//! (bad arguments, broken framing, execute before getinfo, unparsable
//! metadata) are answered with `{"finished":true,"error":…}` and end the
//! loop with an error; per-chunk trouble degrades to passing the rows through
//! with a WARN in `inspector.messages`. A clean end of input at a frame
//! boundary (splunkd's getinfo-only probes, the end of a search, a cancel) is
//! a normal end.

use std::io::{BufRead, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::chunk::{
    annotated_events_body, collect_evidence, hops_body, process_body_into, ChunkOutput,
    EvidenceRows,
};
use crate::conf::load_engine;
use crate::correlate::Correlator;
use crate::detect::Engine;
use crate::error::{Error, Result};
use crate::scp::frame::{read_chunk, write_chunk, write_chunk_parts, Chunk};
use crate::scp::options::{parse_args, Options};

/// Where the command finds its configuration.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// The app directory holding `default/` and `local/winrmdetect.conf`.
    pub app_dir: Option<PathBuf>,
}

struct Session {
    options: Options,
    engine: Engine,
    pending: Vec<(&'static str, String)>,
    /// The previous reply's buffer, reused for the next one.
    spare: Vec<u8>,
    /// Correlation state (correlate=true).
    correlator: Option<Correlator>,
    /// The events kept as evidence, annotated at the end.
    evidence_rows: EvidenceRows,
}

/// Runs the protocol until the input ends.
pub fn run<R: BufRead, W: Write>(mut reader: R, mut writer: W, env: &Environment) -> Result<()> {
    let mut chunk = Chunk::default();
    let mut session: Option<Session> = None;
    loop {
        match read_chunk(&mut reader, &mut chunk) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => return fail(&mut writer, e),
        }
        let meta: Value = match serde_json::from_slice(&chunk.metadata) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return fail(
                    &mut writer,
                    Error::BadMetadata("metadata is not a JSON object".into()),
                )
            }
            Err(e) => {
                return fail(
                    &mut writer,
                    Error::BadMetadata(format!("invalid JSON: {e}")),
                )
            }
        };
        match meta.get("action").and_then(Value::as_str) {
            Some("getinfo") => {
                if session.is_some() {
                    return fail(
                        &mut writer,
                        Error::Protocol("a second getinfo arrived".into()),
                    );
                }
                let args = match meta.pointer("/searchinfo/args") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(a)) => match a
                        .iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                    {
                        Some(v) => v,
                        None => {
                            return fail(
                                &mut writer,
                                Error::BadMetadata("searchinfo.args holds a non-string".into()),
                            )
                        }
                    },
                    Some(_) => {
                        return fail(
                            &mut writer,
                            Error::BadMetadata("searchinfo.args is not a list".into()),
                        )
                    }
                };
                let options = match parse_args(&args) {
                    Ok(o) => o,
                    Err(e) => return fail(&mut writer, e),
                };
                // Correlation must see every event, on the search head.
                // Correlation must see every event: on the search head, after
                // a map phase on the indexers that keeps only the evidence
                // (`local=true`: all on the search head).
                let info = match (options.correlate.is_some(), options.local) {
                    (true, false) => {
                        json!({ "type": "reporting", "streaming_preop": "winrmdetect phase=map" })
                    }
                    (true, true) => json!({ "type": "events" }),
                    (false, true) => json!({ "type": "stateful" }),
                    (false, false) => json!({ "type": "streaming" }),
                };
                write_chunk(&mut writer, info.to_string().as_bytes(), b"")?;
                // The rule configuration is read after the getinfo reply: a
                // getinfo-only probe never touches the disk.
                session = Some(Session {
                    options,
                    engine: Engine::default(),
                    pending: Vec::new(),
                    spare: Vec::new(),
                    correlator: None,
                    evidence_rows: EvidenceRows::default(),
                });
                if let Some(s) = session.as_mut() {
                    let (engine, warnings) = load_engine(env.app_dir.as_deref());
                    s.engine = engine;
                    s.pending.extend(warnings.into_iter().map(|w| ("WARN", w)));
                }
            }
            Some("execute") => {
                let Some(s) = session.as_mut() else {
                    return fail(
                        &mut writer,
                        Error::Protocol("execute arrived before getinfo".into()),
                    );
                };
                let finished = match meta.get("finished") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => {
                        return fail(
                            &mut writer,
                            Error::BadMetadata("'finished' is not a boolean".into()),
                        )
                    }
                };
                let mut messages = std::mem::take(&mut s.pending);
                if let Some(settings) = s.options.correlate {
                    // Correlation: evidence from every chunk, hops at the end;
                    // replies before the last request carry no rows.
                    let corr = s
                        .correlator
                        .get_or_insert_with(|| Correlator::new(settings));
                    let warnings =
                        collect_evidence(&chunk.body, &s.engine, corr, &mut s.evidence_rows);
                    messages.extend(
                        warnings
                            .into_iter()
                            .map(|w| ("WARN", format!("winrmdetect: {w}"))),
                    );
                    let body = if finished {
                        let corr = s
                            .correlator
                            .take()
                            .unwrap_or_else(|| Correlator::new(settings));
                        messages.extend(
                            corr.warnings()
                                .into_iter()
                                .map(|w| ("WARN", format!("winrmdetect: {w}"))),
                        );
                        let hops = corr.finish();
                        let rows = std::mem::take(&mut s.evidence_rows);
                        if s.options.summary {
                            hops_body(&hops)
                        } else {
                            annotated_events_body(&rows, &hops)
                        }
                    } else {
                        Vec::new()
                    };
                    let reply = reply_meta(finished, &messages);
                    write_chunk(&mut writer, reply.to_string().as_bytes(), &body)?;
                    continue;
                }
                let out = match catch_unwind(AssertUnwindSafe(|| {
                    let spare = std::mem::take(&mut s.spare);
                    process_body_into(&chunk.body, &s.engine, s.options.mode, spare)
                })) {
                    Ok(mut out) => {
                        messages.extend(
                            std::mem::take(&mut out.warnings)
                                .into_iter()
                                .map(|w| ("WARN", format!("winrmdetect: {w}"))),
                        );
                        out
                    }
                    Err(_) => {
                        messages.push(("ERROR", "winrmdetect: internal error in this chunk; its events were passed through without detection".into()));
                        ChunkOutput {
                            splices: vec![(0, 0, chunk.body.len())],
                            ..ChunkOutput::default()
                        }
                    }
                };
                let reply = reply_meta(finished, &messages);
                write_chunk_parts(
                    &mut writer,
                    reply.to_string().as_bytes(),
                    &out.parts(&chunk.body),
                )?;
                s.spare = out.body;
            }
            Some(other) => {
                return fail(
                    &mut writer,
                    Error::Protocol(format!("unknown action {other:?}")),
                )
            }
            None => {
                return fail(
                    &mut writer,
                    Error::BadMetadata("no 'action' in the metadata".into()),
                )
            }
        }
    }
}

/// An execute reply's metadata: `finished`, and the messages for Splunk Web.
fn reply_meta(finished: bool, messages: &[(&'static str, String)]) -> Value {
    let mut reply = json!({ "finished": finished });
    if !messages.is_empty() {
        let list: Vec<[&str; 2]> = messages.iter().map(|(l, m)| [*l, m.as_str()]).collect();
        reply["inspector"] = json!({ "messages": list });
    }
    reply
}

/// Answers a fatal error the way Splunk shows it, then returns it. If the
/// peer is already gone there is nobody to tell.
fn fail<W: Write>(writer: &mut W, e: Error) -> Result<()> {
    if !e.is_peer_gone() {
        let meta = json!({ "finished": true, "error": e.to_string() }).to_string();
        let _ = write_chunk(writer, meta.as_bytes(), b"");
    }
    Err(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scp::frame::read_chunk;
    use std::io::Cursor;

    fn frame(meta: &str, body: &str) -> Vec<u8> {
        let mut v = format!("chunked 1.0,{},{}\n", meta.len(), body.len()).into_bytes();
        v.extend_from_slice(meta.as_bytes());
        v.extend_from_slice(body.as_bytes());
        v
    }

    fn getinfo(args: &str) -> Vec<u8> {
        frame(
            &format!(r#"{{"action":"getinfo","preview":false,"searchinfo":{{"args":{args}}}}}"#),
            "",
        )
    }

    fn replies(input: Vec<u8>) -> (Result<()>, Vec<(Value, Vec<u8>)>) {
        let mut out = Vec::new();
        let r = run(Cursor::new(input), &mut out, &Environment::default());
        let mut rd = Cursor::new(out);
        let mut c = Chunk::default();
        let mut v = Vec::new();
        while read_chunk(&mut rd, &mut c).unwrap() {
            v.push((serde_json::from_slice(&c.metadata).unwrap(), c.body.clone()));
        }
        (r, v)
    }

    #[test]
    fn getinfo_then_one_reply_per_execute() {
        let body = "source,EventCode,Computer,ParentImage,Image\n\
            XmlWinEventLog:Microsoft-Windows-Sysmon/Operational,1,S,C:\\wsmprovhost.exe,C:\\whoami.exe\n";
        let mut input = getinfo("[]");
        input.extend(frame(r#"{"action":"execute","finished":false}"#, body));
        input.extend(frame(r#"{"action":"execute","finished":true}"#, ""));
        let (r, v) = replies(input);
        r.unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].0, json!({"type":"streaming"}));
        assert_eq!(v[1].0, json!({"finished":false}));
        assert!(String::from_utf8_lossy(&v[1].1).contains("WinRM_RemoteExec_Child"));
        assert_eq!(v[2], (json!({"finished":true}), Vec::new()));
    }

    #[test]
    fn probe_and_empty_input_end_cleanly() {
        let (r, v) = replies(getinfo("[]"));
        assert!(r.is_ok() && v.len() == 1);
        let (r, v) = replies(Vec::new());
        assert!(r.is_ok() && v.is_empty());
    }

    #[test]
    fn errors_are_replied_with_finished_and_error() {
        for input in [
            frame(r#"{"action":"execute","finished":true}"#, ""),
            getinfo(r#"["bogus=1"]"#),
            getinfo(r#""not a list""#),
            getinfo(r#"[1]"#),
            [
                getinfo("[]"),
                frame(r#"{"action":"execute","finished":"yes"}"#, ""),
            ]
            .concat(),
            frame(r#"{"action":"dance"}"#, ""),
        ] {
            let (r, v) = replies(input);
            assert!(r.is_err());
            let last = &v.last().unwrap().0;
            assert_eq!(last["finished"], json!(true));
            assert!(last["error"].as_str().is_some_and(|e| !e.is_empty()));
        }
    }

    #[test]
    fn metadata_with_whitespace_and_unknown_keys_is_fine() {
        let mut input = getinfo("[]");
        input.extend(frame(
            "{ \"action\": \"execute\", \"finished\": true, \"x\": 1 }\n",
            "a,b\n1,2\n",
        ));
        let (r, v) = replies(input);
        r.unwrap();
        assert_eq!(v.len(), 2);
        assert!(v[1].1.starts_with(b"a,b,AlertType"));
    }
}
