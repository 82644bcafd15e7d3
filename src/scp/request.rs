//! The metadata of requests and replies.
//!
//! A request is read the way lsp-server reads a message (its method at
//! once, its params when the handler asks): [`Request::read`] decodes the
//! metadata as far as the action, and the rest is decoded with serde when
//! the session asks for it ([`Request::getinfo`], [`Request::execute`]),
//! after it has checked that the action may come now. So a second getinfo
//! is a protocol error whatever its arguments hold, and an execute before
//! getinfo is one whatever its `finished` holds.
//!
//! The replies are built here too: the getinfo reply (the command's type),
//! an execute reply's `finished` and `inspector.messages`, and the error
//! reply that ends a search.

use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::scp::options::Options;

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The first request: the search's arguments, answered with the
    /// command's type.
    Getinfo,
    /// Every later request: a chunk of events in the body.
    Execute,
}

/// One request's metadata, decoded as far as its action.
#[derive(Debug)]
pub struct Request {
    /// What the request asks for.
    pub action: Action,
    /// The whole metadata object, decoded further on demand.
    meta: Value,
}

/// A getinfo request: the search's arguments.
#[derive(Debug, Default, PartialEq)]
pub struct Getinfo {
    /// `searchinfo.args`, as splunkd passes them (quotes removed).
    pub args: Vec<String>,
}

/// getinfo's `searchinfo`, as far as the command reads it.
#[derive(Deserialize)]
struct SearchInfo {
    /// Absent or null: no arguments. Whether every item is a string is
    /// decoded next, so that the two mistakes get their own message.
    #[serde(default)]
    args: Option<Vec<Value>>,
}

/// An execute request (its events are the chunk's body).
#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct Execute {
    /// This is the search's last request. Absent or null means false.
    #[serde(default, deserialize_with = "null_is_false")]
    pub finished: bool,
}

fn null_is_false<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

impl Request {
    /// Decodes a chunk's metadata as far as its action.
    pub fn read(metadata: &[u8]) -> Result<Request> {
        let meta: Value = serde_json::from_slice(metadata).map_err(Error::MetadataJson)?;
        if !meta.is_object() {
            return Err(bad("metadata is not a JSON object", None));
        }
        let action = match meta.get("action").and_then(Value::as_str) {
            Some("getinfo") => Action::Getinfo,
            Some("execute") => Action::Execute,
            Some(other) => return Err(Error::Protocol(format!("unknown action {other:?}"))),
            None => return Err(bad("no 'action' in the metadata", None)),
        };
        Ok(Request { action, meta })
    }

    /// The rest of a getinfo request. A `searchinfo` that is not an object
    /// holds no arguments (as the JSON pointer `/searchinfo/args` reads it).
    pub fn getinfo(mut self) -> Result<Getinfo> {
        let info = match self.meta.get_mut("searchinfo").map(Value::take) {
            Some(info @ Value::Object(_)) => info,
            _ => return Ok(Getinfo::default()),
        };
        let list = SearchInfo::deserialize(info)
            .map_err(|e| bad("searchinfo.args is not a list", Some(e)))?
            .args
            .unwrap_or_default();
        let args = serde_json::from_value(Value::Array(list))
            .map_err(|e| bad("searchinfo.args holds a non-string", Some(e)))?;
        Ok(Getinfo { args })
    }

    /// The rest of an execute request.
    pub fn execute(self) -> Result<Execute> {
        Execute::deserialize(self.meta).map_err(|e| bad("'finished' is not a boolean", Some(e)))
    }
}

fn bad(what: &'static str, source: Option<serde_json::Error>) -> Error {
    Error::BadMetadata { what, source }
}

/// The getinfo reply: the command's type, from the options.
pub fn getinfo_reply(options: &Options) -> Value {
    // Correlation must see every event: on the search head, after a map
    // phase on the indexers that keeps only the evidence (`local=true`: all
    // on the search head).
    match (options.correlate.is_some(), options.local) {
        (true, false) => {
            json!({ "type": "reporting", "streaming_preop": "winrmdetect phase=map" })
        }
        (true, true) => json!({ "type": "events" }),
        (false, true) => json!({ "type": "stateful" }),
        (false, false) => json!({ "type": "streaming" }),
    }
}

/// The messages of one reply, shown by Splunk Web under "The following
/// error(s) and caution(s) occurred while the search ran".
#[derive(Debug, Default)]
pub struct Messages(Vec<(&'static str, String)>);

impl Messages {
    /// Trouble met while answering a request: a WARN each, naming the
    /// command.
    pub fn warn(&mut self, warnings: impl IntoIterator<Item = String>) {
        let named = warnings.into_iter().map(|w| format!("winrmdetect: {w}"));
        self.warn_as_is(named);
    }

    /// Warnings that name their source already (the rule configuration's
    /// name their file): a WARN each, as they are.
    pub fn warn_as_is(&mut self, warnings: impl IntoIterator<Item = String>) {
        self.0.extend(warnings.into_iter().map(|w| ("WARN", w)));
    }

    /// A failure the search goes on after (a contained panic): an ERROR.
    pub fn error(&mut self, text: &str) {
        self.0.push(("ERROR", text.to_string()));
    }
}

/// An execute reply's metadata: `finished`, and the messages if any.
pub fn execute_reply(finished: bool, messages: &Messages) -> Value {
    let mut reply = json!({ "finished": finished });
    if !messages.0.is_empty() {
        let list: Vec<[&str; 2]> = messages.0.iter().map(|(l, m)| [*l, m.as_str()]).collect();
        reply["inspector"] = json!({ "messages": list });
    }
    reply
}

/// The reply that ends a search with an error: Splunk Web shows "Error in
/// 'winrmdetect' command: …" and fails the job.
pub fn error_reply(e: &Error) -> Value {
    json!({ "finished": true, "error": e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn getinfo(meta: &str) -> Result<Getinfo> {
        let r = Request::read(meta.as_bytes())?;
        assert_eq!(r.action, Action::Getinfo);
        r.getinfo()
    }

    fn execute(meta: &str) -> Result<Execute> {
        let r = Request::read(meta.as_bytes())?;
        assert_eq!(r.action, Action::Execute);
        r.execute()
    }

    #[test]
    fn requests_decode_leniently_where_splunkd_may_vary() {
        let args = |meta| getinfo(meta).unwrap().args;
        let none: Vec<String> = Vec::new();
        assert_eq!(
            args(r#"{"action":"getinfo","searchinfo":{"args":["a=1"]}}"#),
            ["a=1"]
        );
        for meta in [
            r#"{"action":"getinfo"}"#,
            r#"{"action":"getinfo","searchinfo":null}"#,
            r#"{"action":"getinfo","searchinfo":"x"}"#,
            r#"{"action":"getinfo","searchinfo":[1]}"#,
            r#"{"action":"getinfo","searchinfo":{"args":null,"sid":1}}"#,
        ] {
            assert_eq!(args(meta), none, "{meta}");
        }
        // A repeated key: the last one counts.
        let twice = r#"{"action":"getinfo","searchinfo":{"args":[1],"args":["b=2"]}}"#;
        assert_eq!(args(twice), ["b=2"]);
        let finished = |meta| execute(meta).unwrap().finished;
        assert!(finished(r#"{"action":"execute","finished":true,"x":1}"#));
        assert!(!finished(r#"{"action":"execute"}"#));
        assert!(!finished(r#"{"action":"execute","finished":null}"#));
        assert!(finished(
            r#"{"action":"execute","finished":1,"finished":true}"#
        ));
    }

    /// Malformed metadata, one `metadata => message` a line: the messages
    /// are the ones the hand-validated reader gave (tests/it grep them).
    const MALFORMED: &str = r#"
{not json => malformed chunk metadata: invalid JSON: key must be a string at line 1 column 2
[1,2] => malformed chunk metadata: metadata is not a JSON object
{"finished":true} => malformed chunk metadata: no 'action' in the metadata
{"action":5} => malformed chunk metadata: no 'action' in the metadata
{"action":"d\"é"} => protocol error: unknown action "d\"é"
{"action":"getinfo","searchinfo":{"args":"x"}} => malformed chunk metadata: searchinfo.args is not a list
{"action":"getinfo","searchinfo":{"args":{}}} => malformed chunk metadata: searchinfo.args is not a list
{"action":"getinfo","searchinfo":{"args":["a",1]}} => malformed chunk metadata: searchinfo.args holds a non-string
{"action":"execute","finished":"yes"} => malformed chunk metadata: 'finished' is not a boolean
"#;

    #[test]
    fn malformed_requests_keep_their_messages() {
        for line in MALFORMED.lines().filter(|l| !l.is_empty()) {
            let (meta, message) = line.split_once(" => ").unwrap();
            let e = Request::read(meta.as_bytes()).and_then(|r| match r.action {
                Action::Getinfo => r.getinfo().map(drop),
                Action::Execute => r.execute().map(drop),
            });
            assert_eq!(e.unwrap_err().to_string(), message, "{meta}");
        }
    }

    #[test]
    fn shape_errors_keep_serdes_account_as_their_source() {
        use std::error::Error as _;
        let e = execute(r#"{"action":"execute","finished":"yes"}"#).unwrap_err();
        let source = e.source().expect("a source").to_string();
        assert!(source.contains("expected a boolean"), "{source}");
        let e = Request::read(b"[1]").unwrap_err();
        assert!(e.source().is_none());
        let e = Request::read(b"{").unwrap_err();
        assert!(e.source().is_some());
    }

    #[test]
    fn replies_keep_their_key_order() {
        let mut m = Messages::default();
        assert_eq!(
            execute_reply(false, &m).to_string(),
            r#"{"finished":false}"#
        );
        m.warn_as_is(["local/winrmdetect.conf: x".to_string()]);
        m.warn(["y".to_string()]);
        m.error("z");
        assert_eq!(
            execute_reply(true, &m).to_string(),
            r#"{"finished":true,"inspector":{"messages":[["WARN","local/winrmdetect.conf: x"],["WARN","winrmdetect: y"],["ERROR","z"]]}}"#
        );
        let e = Error::Protocol("p".into());
        assert_eq!(
            error_reply(&e).to_string(),
            r#"{"finished":true,"error":"protocol error: p"}"#
        );
        let options = crate::scp::options::parse_args(&["correlate=t"]).unwrap();
        assert_eq!(
            getinfo_reply(&options).to_string(),
            r#"{"type":"reporting","streaming_preop":"winrmdetect phase=map"}"#
        );
    }
}
