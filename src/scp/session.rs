//! The command loop: getinfo once, then one reply per execute, in order.
//!
//! Generic over reader and writer so tests run it in memory. Fatal problems
//! (bad arguments, broken framing, execute before getinfo, unparsable
//! metadata) are answered with `{"finished":true,"error":…}` and end the
//! loop with an error; per-chunk trouble degrades to passing the rows through
//! with a WARN in `inspector.messages`, and a panic while answering an
//! execute (a bug) to passing that request's events through with an ERROR.
//! A clean end of input at a frame boundary (splunkd's getinfo-only probes,
//! the end of a search, a cancel) is a normal end.
//!
//! [`run`] is one dispatch over the requests, the shape of ripgrep's
//! `main`: every fatal problem is an `Err` that comes back up to one place,
//! which writes the error reply.

use std::borrow::Cow;
use std::io::{BufRead, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use serde_json::Value;

use crate::chunk::{
    annotated_events_body, collect_evidence, hops_body, process_body_into, unlinked_events_body,
    ChunkOutput, EvidenceRows,
};
use crate::conf::load;
use crate::correlate::{Correlator, Hop, Known, Settings};
use crate::detect::Engine;
use crate::error::{Error, Result};
use crate::scp::frame::{read_chunk, write_chunk_parts, Chunk};
use crate::scp::options::{parse_args, Options};
use crate::scp::request::{
    error_reply, execute_reply, getinfo_reply, Action, Execute, Getinfo, Messages, Request,
};

/// Where the command finds its configuration.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// The app directory holding `default/` and `local/winrmdetect.conf`.
    pub app_dir: Option<PathBuf>,
}

/// The ERROR of a streaming chunk whose detection panicked.
const ROWS_FAILED: &str =
    "winrmdetect: internal error in this chunk; its events were passed through without detection";

/// The ERROR of a correlation step that panicked.
const CORRELATION_FAILED: &str = "winrmdetect: internal error in correlation; the evidence events \
read so far were passed through without hops, and correlation starts again with the next chunk";

/// Correlation's last step, evidence linked into hops: [`Correlator::finish`]
/// in the command, a parameter so that a test can make it fail.
type Link = fn(Correlator) -> Vec<Hop>;

/// Runs the protocol until the input ends.
pub fn run<R: BufRead, W: Write>(reader: R, writer: W, env: &Environment) -> Result<()> {
    run_with(reader, writer, env, Correlator::finish)
}

/// [`run`], with correlation's linking step given.
fn run_with<R: BufRead, W: Write>(
    reader: R,
    writer: W,
    env: &Environment,
    link: Link,
) -> Result<()> {
    let mut replies = Replies {
        writer,
        broken: false,
    };
    serve(reader, &mut replies, env, link).or_else(|e| replies.fail(e))
}

/// Answers requests until the input ends or something is fatal.
fn serve<R: BufRead, W: Write>(
    mut reader: R,
    replies: &mut Replies<W>,
    env: &Environment,
    link: Link,
) -> Result<()> {
    let mut chunk = Chunk::default();
    let mut session: Option<Session> = None;
    while read_chunk(&mut reader, &mut chunk)? {
        let request = Request::read(&chunk.metadata)?;
        match (request.action, &mut session) {
            (Action::Getinfo, None) => {
                session = Some(Session::start(request.getinfo()?, env, link, replies)?)
            }
            (Action::Execute, Some(s)) => s.execute(request.execute()?, &chunk.body, replies)?,
            (Action::Getinfo, Some(_)) => {
                return Err(Error::Protocol("a second getinfo arrived".into()))
            }
            (Action::Execute, None) => {
                return Err(Error::Protocol("execute arrived before getinfo".into()))
            }
        }
    }
    Ok(())
}

/// The reply side of the pipe.
struct Replies<W> {
    writer: W,
    /// A reply could not be written: nothing more is, not even the error.
    broken: bool,
}

impl<W: Write> Replies<W> {
    fn send(&mut self, meta: &Value, body: &[&[u8]]) -> Result<()> {
        let sent = write_chunk_parts(&mut self.writer, meta.to_string().as_bytes(), body);
        self.broken |= sent.is_err();
        sent
    }

    /// Answers a fatal error the way Splunk shows it, then returns it. If
    /// the peer is already gone there is nobody to tell.
    fn fail(&mut self, e: Error) -> Result<()> {
        if !self.broken && !e.is_peer_gone() {
            let _ = self.send(&error_reply(&e), &[]);
        }
        Err(e)
    }
}

/// What the command keeps between requests, from getinfo on.
struct Session {
    options: Options,
    engine: Engine,
    /// Known hosts and accounts, for correlation.
    known: Known,
    /// Messages for the next reply (the rule configuration's warnings).
    pending: Messages,
    /// The previous reply's buffer, reused for the next one.
    spare: Vec<u8>,
    /// Correlation state (correlate=true).
    correlator: Option<Correlator>,
    /// The events kept as evidence, annotated at the end.
    evidence_rows: EvidenceRows,
    link: Link,
}

impl Session {
    /// Answers getinfo, then reads the rule configuration.
    fn start<W: Write>(
        getinfo: Getinfo,
        env: &Environment,
        link: Link,
        replies: &mut Replies<W>,
    ) -> Result<Session> {
        let options = parse_args(&getinfo.args)?;
        replies.send(&getinfo_reply(&options), &[])?;
        // The rule configuration is read after the getinfo reply: a
        // getinfo-only probe never touches the disk.
        let (config, warnings) = load(env.app_dir.as_deref());
        let mut pending = Messages::default();
        pending.warn_as_is(warnings);
        Ok(Session {
            options,
            engine: config.engine,
            known: config.known,
            pending,
            spare: Vec::new(),
            correlator: None,
            evidence_rows: EvidenceRows::default(),
            link,
        })
    }

    /// Answers one execute request.
    fn execute<W: Write>(
        &mut self,
        request: Execute,
        body: &[u8],
        replies: &mut Replies<W>,
    ) -> Result<()> {
        let mut messages = std::mem::take(&mut self.pending);
        let Some(settings) = self.options.correlate else {
            let out = self.execute_rows(body, &mut messages);
            let meta = execute_reply(request.finished, &messages);
            replies.send(&meta, &out.parts(body))?;
            self.spare = out.body;
            return Ok(());
        };
        let out = self.execute_correlation(settings, request.finished, body, &mut messages);
        replies.send(&execute_reply(request.finished, &messages), &[&out])
    }

    /// Streaming: detection on every row of the chunk, the rows passed on.
    fn execute_rows(&mut self, body: &[u8], messages: &mut Messages) -> ChunkOutput {
        let spare = std::mem::take(&mut self.spare);
        let (engine, mode) = (&self.engine, self.options.mode);
        match contain(|| process_body_into(body, engine, mode, spare)) {
            Some(mut out) => {
                messages.warn(std::mem::take(&mut out.warnings));
                out
            }
            None => {
                messages.error(ROWS_FAILED);
                ChunkOutput {
                    splices: vec![(0, 0, body.len())],
                    ..ChunkOutput::default()
                }
            }
        }
    }

    /// Correlation: evidence from every chunk, hops at the end; replies
    /// before the last request carry no rows. If a step panics, the
    /// correlation so far is dropped (its state is not to be trusted) and
    /// the evidence events read so far, this request's included, are passed
    /// through without hop fields, with an ERROR.
    fn execute_correlation<'b>(
        &mut self,
        settings: Settings,
        finished: bool,
        body: &'b [u8],
        messages: &mut Messages,
    ) -> Cow<'b, [u8]> {
        match contain(|| self.correlate(settings, finished, body)) {
            Some((out, warnings)) => {
                messages.warn(warnings);
                Cow::Owned(out)
            }
            None => {
                self.correlator = None;
                let kept = std::mem::take(&mut self.evidence_rows);
                messages.error(CORRELATION_FAILED);
                // Rows already read are written as they were read; should
                // that fail too, the request's own rows go back.
                contain(|| unlinked_events_body(&kept)).map_or(Cow::Borrowed(body), Cow::Owned)
            }
        }
    }

    /// One correlation step: the reply body and the warnings.
    fn correlate(
        &mut self,
        settings: Settings,
        finished: bool,
        body: &[u8],
    ) -> (Vec<u8>, Vec<String>) {
        let mut corr = self
            .correlator
            .take()
            .unwrap_or_else(|| Correlator::new(settings).with_known(self.known.clone()));
        let mut warnings = collect_evidence(body, &self.engine, &mut corr, &mut self.evidence_rows);
        if !finished {
            self.correlator = Some(corr);
            return (Vec::new(), warnings);
        }
        warnings.extend(corr.warnings());
        let hops = (self.link)(corr);
        let rows = std::mem::take(&mut self.evidence_rows);
        let out = if self.options.summary {
            hops_body(&hops)
        } else {
            annotated_events_body(&rows, &hops)
        };
        (out, warnings)
    }
}

/// Runs one step of an answer; a panic in it (a bug) becomes `None`, for
/// the caller to reply with an ERROR instead of the search ending silently.
fn contain<T>(step: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(step)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Cursor;

    /// [`SYSMON_ROWS`] with a time: correlation evidence.
    const TIMED_ROWS: &str = "_time,source,EventCode,Computer,ParentImage,Image\n\
        100,XmlWinEventLog:Microsoft-Windows-Sysmon/Operational,1,S,C:\\wsmprovhost.exe,C:\\whoami.exe\n";

    const SYSMON_ROWS: &str = "source,EventCode,Computer,ParentImage,Image\n\
        XmlWinEventLog:Microsoft-Windows-Sysmon/Operational,1,S,C:\\wsmprovhost.exe,C:\\whoami.exe\n";

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
        replies_linking(input, Correlator::finish)
    }

    fn replies_linking(input: Vec<u8>, link: Link) -> (Result<()>, Vec<(Value, Vec<u8>)>) {
        let mut out = Vec::new();
        let r = run_with(Cursor::new(input), &mut out, &Environment::default(), link);
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
        let mut input = getinfo("[]");
        input.extend(frame(
            r#"{"action":"execute","finished":false}"#,
            SYSMON_ROWS,
        ));
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

    #[test]
    fn a_protocol_error_comes_before_a_malformed_field() {
        for (input, message) in [
            (
                [getinfo("[]"), getinfo("[1]")].concat(),
                "protocol error: a second getinfo arrived",
            ),
            (
                frame(r#"{"action":"execute","finished":"yes"}"#, ""),
                "protocol error: execute arrived before getinfo",
            ),
        ] {
            let (r, v) = replies(input);
            assert_eq!(r.unwrap_err().to_string(), message);
            assert_eq!(v.last().unwrap().0["error"], json!(message));
        }
    }

    /// A writer that fails every write (not a broken pipe).
    struct Failing(usize);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            self.0 += 1;
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_reply_that_cannot_be_written_is_not_followed_by_an_error_reply() {
        let mut out = Failing(0);
        let r = run(
            Cursor::new(getinfo("[]")),
            &mut out,
            &Environment::default(),
        );
        assert!(r.unwrap_err().to_string().contains("disk full"));
        assert_eq!(out.0, 1, "one write tried, then none");
    }

    /// Issue 12: the streaming path caught panics, the correlation path
    /// (correlate=true, with or without summary) did not, so a panic in it
    /// ended the search with no reply at all. Here the linking step panics
    /// at the last request: the reply is still `finished`, with an ERROR
    /// naming the failure and the evidence events of both requests passed
    /// through. Splunk then shows those events (empty `lm_*` fields, no hops)
    /// and lists the ERROR under the search's errors and cautions; the
    /// search itself is not failed, and the process ends normally.
    #[test]
    fn issue12_a_panic_in_correlation_is_an_error_reply() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static LINKS: AtomicUsize = AtomicUsize::new(0);
        fn broken_link(_: Correlator) -> Vec<Hop> {
            LINKS.fetch_add(1, Ordering::SeqCst);
            panic!("linking failed");
        }
        for args in [
            r#"["correlate=true","local=true"]"#,
            r#"["correlate=true","summary=true"]"#,
        ] {
            let mut input = getinfo(args);
            input.extend(frame(
                r#"{"action":"execute","finished":false}"#,
                TIMED_ROWS,
            ));
            input.extend(frame(r#"{"action":"execute","finished":true}"#, TIMED_ROWS));
            // No panic escapes: `run` returns, and without an error.
            let (r, v) = replies_linking(input, broken_link);
            r.unwrap();
            assert_eq!(v.len(), 3, "{args}");
            assert_eq!(v[1], (json!({ "finished": false }), Vec::new()), "{args}");
            let (meta, body) = &v[2];
            assert_eq!(
                *meta,
                json!({
                    "finished": true,
                    "inspector": { "messages": [["ERROR", CORRELATION_FAILED]] }
                }),
                "{args}"
            );
            assert!(CORRELATION_FAILED.contains("internal error in correlation"));
            let text = String::from_utf8_lossy(body);
            assert_eq!(
                text.matches("whoami.exe").count(),
                2,
                "both requests' events: {text}"
            );
            assert!(
                text.starts_with("_time,source,EventCode,Computer,ParentImage,Image,lm_hop_id,"),
                "{text}"
            );
            assert!(
                text.lines()
                    .skip(1)
                    .all(|l| l.ends_with(",,,,,,,,,,,,,,,,,,,,,,,,")),
                "empty lm_ fields: {text}"
            );
        }
        assert_eq!(
            LINKS.load(Ordering::SeqCst),
            2,
            "the panic came from the link"
        );
        // The same input with the real link: hop rows, no ERROR.
        let mut input = getinfo(r#"["correlate=true","summary=true"]"#);
        input.extend(frame(
            r#"{"action":"execute","finished":true}"#,
            SYSMON_ROWS,
        ));
        let (r, v) = replies(input);
        r.unwrap();
        assert_eq!(v[1].0, json!({ "finished": true }));
        assert!(v[1].1.starts_with(b"_time,__mv__time,lm_hop_id"));
    }
}
