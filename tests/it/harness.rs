//! A splunkd emulation: it frames requests the way splunkd does, runs the
//! real binary over pipes with a time limit, and checks every reply the way
//! the team's protocol notes (`scp-v2.md`) §12 lists: canonical header, byte lengths, a JSON object
//! with a boolean `finished`, no `partial`, the inspector shape, exactly one
//! reply per request and nothing else on stdout, CSV of constant width with
//! well-formed `__mv_` companions.
//!
//! It deliberately does not use the crate's own framing code.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one run of the binary may take before it counts as a hang.
pub const TIME_LIMIT: Duration = Duration::from_secs(60);

/// One reply chunk.
#[derive(Debug, Clone)]
pub struct Reply {
    pub meta: Value,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn finished(&self) -> bool {
        self.meta["finished"]
            .as_bool()
            .expect("finished is a boolean")
    }
    pub fn error(&self) -> Option<&str> {
        self.meta.get("error").and_then(Value::as_str)
    }
    pub fn messages(&self) -> Vec<(String, String)> {
        self.meta
            .pointer("/inspector/messages")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|m| {
                        (
                            m[0].as_str().unwrap().to_string(),
                            m[1].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    pub fn table(&self) -> Table {
        Table::parse(&self.body)
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct Run {
    pub replies: Vec<Reply>,
    /// Everything the program wrote to stdout, as it wrote it.
    pub stdout: Vec<u8>,
    pub stray: Vec<u8>,
    pub exit_code: Option<i32>,
    pub stderr: String,
}

impl Run {
    /// Asserts a clean session: exit 0, no stray output, `n` replies.
    pub fn assert_clean(&self, n: usize) {
        assert_eq!(
            self.exit_code,
            Some(0),
            "exit status; stderr: {}",
            self.stderr
        );
        assert!(
            self.stray.is_empty(),
            "bytes after the last reply: {:?}",
            String::from_utf8_lossy(&self.stray)
        );
        assert_eq!(self.replies.len(), n, "one reply per request");
    }

    /// The data rows of the last reply: where correlation answers (its
    /// hops, or the events of its hops).
    pub fn last_rows(&self) -> Vec<Row> {
        self.replies.last().expect("a reply").table().rows()
    }

    /// All data rows of all replies, as one table (header of the first
    /// non-empty reply; each row keyed by name).
    pub fn rows(&self) -> Vec<Row> {
        self.replies
            .iter()
            .skip(1)
            .flat_map(|r| r.table().rows())
            .collect()
    }
}

/// A parsed CSV body.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub records: Vec<Vec<Vec<u8>>>,
}

/// One row by column name.
#[derive(Debug, Clone, Default)]
pub struct Row(pub Vec<(String, Vec<u8>)>);

impl Row {
    /// The value of column `name`; a column the row does not have fails
    /// the test (a vanished output column must never read as "").
    pub fn get(&self, name: &str) -> String {
        self.try_get(name).unwrap_or_else(|| {
            let names: Vec<&str> = self.0.iter().map(|(k, _)| k.as_str()).collect();
            panic!("no column {name:?} in the row; columns: {names:?}")
        })
    }
    /// The value of column `name`, `None` when the row has no such column.
    pub fn try_get(&self, name: &str) -> Option<String> {
        self.bytes(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
    }
    pub fn alert_types(&self) -> Vec<String> {
        let v = self.get("AlertType");
        if v.is_empty() {
            Vec::new()
        } else {
            v.split('\n').map(str::to_string).collect()
        }
    }
    /// `risk_score` as a number: 0 when empty (an unlabelled event), and
    /// a failed test when the column is missing or holds anything else.
    pub fn score(&self) -> u32 {
        let v = self.get("risk_score");
        if v.is_empty() {
            return 0;
        }
        v.parse()
            .unwrap_or_else(|_| panic!("risk_score {v:?} is not a number"))
    }
}

impl Table {
    pub fn parse(body: &[u8]) -> Table {
        if body.is_empty() {
            return Table::default();
        }
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let mut recs = rdr.byte_records().map(|r| r.expect("reply CSV parses"));
        let header: Vec<String> = match recs.next() {
            Some(h) => h
                .iter()
                .map(|f| String::from_utf8(f.to_vec()).expect("header is UTF-8"))
                .collect(),
            None => return Table::default(),
        };
        let records: Vec<Vec<Vec<u8>>> = recs
            .map(|r| r.iter().map(<[u8]>::to_vec).collect())
            .collect();
        Table { header, records }
    }

    pub fn rows(&self) -> Vec<Row> {
        self.records
            .iter()
            .map(|r| Row(self.header.iter().cloned().zip(r.iter().cloned()).collect()))
            .collect()
    }

    /// Constant width, unique names, and `__mv_X` cells that are empty or
    /// `$a$;$b$` lists matching the newline-joined `X`.
    pub fn check(&self) {
        for (i, r) in self.records.iter().enumerate() {
            assert_eq!(r.len(), self.header.len(), "row {i} width");
        }
        let mut names = self.header.clone();
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            self.header.len(),
            "duplicate column names in {:?}",
            self.header
        );
        for (ci, name) in self.header.iter().enumerate() {
            let Some(base) = name.strip_prefix("__mv_") else {
                continue;
            };
            let Some(bi) = self.header.iter().position(|h| h == base) else {
                continue;
            };
            for r in &self.records {
                let mv = String::from_utf8_lossy(&r[ci]).into_owned();
                if mv.is_empty() {
                    continue;
                }
                let values =
                    decode_mv(&mv).unwrap_or_else(|| panic!("bad __mv_ cell {mv:?} in {name}"));
                let plain = String::from_utf8_lossy(&r[bi]).into_owned();
                assert_eq!(values.join("\n"), plain, "__mv_{base} agrees with {base}");
            }
        }
    }
}

/// Decodes `$a$;$b$` (with `$$` for a literal `$`).
pub fn decode_mv(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        if chars.next()? != '$' {
            return None;
        }
        let mut v = String::new();
        loop {
            match chars.next()? {
                '$' if chars.peek() == Some(&'$') => {
                    chars.next();
                    v.push('$');
                }
                '$' => break,
                c => v.push(c),
            }
        }
        out.push(v);
        match chars.next() {
            None => return Some(out),
            Some(';') => {}
            Some(_) => return None,
        }
    }
}

/// One frame, lengths in bytes.
pub fn frame(meta: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!("chunked 1.0,{},{}\n", meta.len(), body.len()).into_bytes();
    v.extend_from_slice(meta.as_bytes());
    v.extend_from_slice(body);
    v
}

/// A getinfo as Splunk 8.2.1 sends it.
pub fn getinfo(args: &[&str]) -> Vec<u8> {
    let meta = serde_json::json!({
        "action": "getinfo", "preview": false, "streaming_command_will_restart": false,
        "searchinfo": {
            "args": args, "raw_args": args,
            "dispatch_dir": "/opt/splunk/var/run/splunk/dispatch/1700000000.42", "sid": "1700000000.42",
            "app": "winrmdetect", "owner": "admin", "username": "admin",
            "session_key": "fake-key-for-tests^not-a-real-token^", "splunkd_uri": "https://127.0.0.1:8089",
            "splunk_version": "8.2.1", "search": "search%20index%3Dwineventlog%20%7C%20winrmdetect",
            "command": "winrmdetect", "maxresultrows": 50000, "earliest_time": "0", "latest_time": "0"
        }
    });
    frame(&meta.to_string(), b"")
}

/// An execute request.
pub fn execute(body: &[u8], finished: bool) -> Vec<u8> {
    frame(
        &format!("{{\"action\":\"execute\",\"finished\":{finished}}}"),
        body,
    )
}

/// Encodes rows the way splunkd does: every name and value that is not
/// purely ASCII alphanumeric quoted, then one empty `__mv_` column per field.
pub fn splunk_csv(header: &[&str], rows: &[Vec<&str>]) -> Vec<u8> {
    fn q(s: &str) -> String {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            s.to_string()
        } else if s.is_empty() {
            String::new()
        } else {
            format!("\"{}\"", s.replace('"', "\"\""))
        }
    }
    let mut cols: Vec<String> = header.iter().map(|h| q(h)).collect();
    cols.extend(header.iter().map(|h| q(&format!("__mv_{h}"))));
    let mut out = cols.join(",");
    out.push('\n');
    for r in rows {
        let mut cells: Vec<String> = r.iter().map(|v| q(v)).collect();
        cells.extend(std::iter::repeat_n(String::new(), header.len()));
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out.into_bytes()
}

/// The path of a committed fixture.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Splits a CSV file into chunk bodies of at most `rows` rows, each with
/// the header, cutting only at record boundaries (values may hold newlines).
pub fn csv_chunks(data: &[u8], rows: usize) -> Vec<Vec<u8>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut rec = csv::ByteRecord::new();
    assert!(rdr.read_byte_record(&mut rec).unwrap());
    let header_end = rdr.position().byte() as usize;
    let mut out = Vec::new();
    let mut start = header_end;
    let mut n = 0;
    loop {
        let more = rdr.read_byte_record(&mut rec).unwrap();
        if more {
            n += 1;
        }
        if n == rows || (!more && n > 0) {
            let end = rdr.position().byte() as usize;
            let mut body = data[..header_end].to_vec();
            body.extend_from_slice(&data[start..end]);
            if !body.ends_with(b"\n") {
                body.push(b'\n');
            }
            out.push(body);
            start = end;
            n = 0;
        }
        if !more {
            return out;
        }
    }
}

/// The 8.x session for a list of bodies: getinfo, one `finished:false`
/// execute per body, then a header-only `finished:true`.
pub fn session(args: &[&str], bodies: &[Vec<u8>]) -> Vec<u8> {
    let mut input = getinfo(args);
    for b in bodies {
        input.extend(execute(b, false));
    }
    let header_only: Vec<u8> = bodies
        .first()
        .map(|b| {
            b[..b
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |i| i + 1)]
                .to_vec()
        })
        .unwrap_or_default();
    input.extend(execute(&header_only, true));
    input
}

/// What a run of the binary must show, checked on every run. A test that
/// expects something else opts out by calling the function named for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Exit 0, exactly one reply per request frame, nothing on stdout
    /// outside frames, every reply table well-formed, no panic.
    Clean,
    /// As [`Expect::Clean`], but the reply tables are not parsed: for
    /// requests whose own CSV is malformed (their rows come back as they
    /// went, and the harness's CSV reader would refuse them).
    CleanMalformedCsv,
    /// The session ends in a finished `error` reply and a non-zero exit,
    /// with nothing outside frames and no panic.
    Fatal,
}

/// Runs the real binary on `input` (written by a thread while stdout is
/// read), with extra environment variables, under [`TIME_LIMIT`], and
/// checks it ran as [`Expect::Clean`].
pub fn run_binary(input: Vec<u8>, env: &[(&str, &str)]) -> Run {
    run_program(
        env!("CARGO_BIN_EXE_winrmdetect").as_ref(),
        input,
        env,
        Expect::Clean,
    )
}

/// [`run_binary`] for requests whose own CSV is malformed
/// ([`Expect::CleanMalformedCsv`]).
pub fn run_binary_malformed_csv(input: Vec<u8>) -> Run {
    run_program(
        env!("CARGO_BIN_EXE_winrmdetect").as_ref(),
        input,
        &[],
        Expect::CleanMalformedCsv,
    )
}

/// [`run_binary`] for a session that must fail ([`Expect::Fatal`]).
pub fn run_binary_fatal(input: Vec<u8>) -> Run {
    run_program(
        env!("CARGO_BIN_EXE_winrmdetect").as_ref(),
        input,
        &[],
        Expect::Fatal,
    )
}

/// Runs `program` (the built binary, or the one unpacked from the app
/// package) on `input` and checks the run against `expect`.
pub fn run_program(
    program: &std::path::Path,
    input: Vec<u8>,
    env: &[(&str, &str)],
    expect: Expect,
) -> Run {
    let requests = count_frames(&input);
    let run = spawn_and_collect(program, input, env, expect != Expect::CleanMalformedCsv);
    assert!(
        !run.stderr.contains("panicked"),
        "the command panicked: {}",
        run.stderr
    );
    assert!(
        run.stray.is_empty(),
        "bytes outside reply frames: {:?}",
        String::from_utf8_lossy(&run.stray)
    );
    match expect {
        Expect::Clean | Expect::CleanMalformedCsv => run.assert_clean(requests),
        Expect::Fatal => {
            let last = run
                .replies
                .last()
                .expect("a fatal session still gets a reply");
            assert!(
                last.error().is_some() && last.finished(),
                "a finished error reply: {:?}",
                last.meta
            );
            assert_ne!(run.exit_code, Some(0), "a fatal session exits non-zero");
            // The error may answer a frame that never arrived whole.
            assert!(
                run.replies.len() <= requests + 1,
                "at most one reply per request: {} replies to {requests} whole frames",
                run.replies.len()
            );
        }
    }
    run
}

/// The number of whole `chunked 1.0,M,B` frames at the start of `input`
/// (a request stream the tests built; stops at the first malformed one).
pub fn count_frames(mut input: &[u8]) -> usize {
    let mut n = 0;
    while let Some(nl) = input.iter().position(|&b| b == b'\n') {
        let Some(lens) = std::str::from_utf8(&input[..nl])
            .ok()
            .and_then(|l| l.strip_prefix("chunked 1.0,"))
            .and_then(|l| l.split_once(','))
            .and_then(|(m, b)| Some((m.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
        else {
            break;
        };
        let rest = &input[nl + 1..];
        let Some(len) = lens.0.checked_add(lens.1).filter(|&l| l <= rest.len()) else {
            break;
        };
        n += 1;
        input = &rest[len..];
    }
    n
}

fn spawn_and_collect(
    program: &std::path::Path,
    input: Vec<u8>,
    env: &[(&str, &str)],
    check: bool,
) -> Run {
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.env_remove("WINRMDETECT_APP_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn winrmdetect");
    let mut stdin = child.stdin.take().unwrap();
    let writer = thread::spawn(move || {
        // The command may stop reading early (fatal error): that is fine.
        let _ = stdin.write_all(&input);
    });
    let mut stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = wait_at_most(&mut child, TIME_LIMIT, "winrmdetect");
    writer.join().unwrap();
    let out = reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    // Issue 5: nothing from searchinfo that identifies or authorises a
    // search ever reaches stderr (splunkd writes it to search.log).
    for secret in [
        "fake-key-for-tests",
        "https://127.0.0.1:8089",
        "1700000000.42",
        "index%3Dwineventlog",
    ] {
        assert!(
            !stderr.contains(secret),
            "{secret} from searchinfo reached stderr:\n{stderr}"
        );
    }
    let (replies, stray) = parse_replies_with(&out, check);
    Run {
        replies,
        stdout: out,
        stray,
        exit_code: status.code(),
        stderr,
    }
}

/// Parses and checks reply frames; returns them and any trailing bytes that
/// are not a whole canonical frame.
pub fn parse_replies(out: &[u8]) -> (Vec<Reply>, Vec<u8>) {
    parse_replies_with(out, true)
}

fn parse_replies_with(mut out: &[u8], check: bool) -> (Vec<Reply>, Vec<u8>) {
    let mut replies = Vec::new();
    while !out.is_empty() {
        let Some(nl) = out.iter().position(|&b| b == b'\n') else {
            break;
        };
        let Ok(line) = std::str::from_utf8(&out[..nl]) else {
            break;
        };
        let Some(nums) = line.strip_prefix("chunked 1.0,") else {
            break;
        };
        let parts: Vec<&str> = nums.split(',').collect();
        if parts.len() != 2
            || !parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            break;
        }
        let (m, b): (usize, usize) = (parts[0].parse().unwrap(), parts[1].parse().unwrap());
        let rest = &out[nl + 1..];
        if rest.len() < m + b {
            break;
        }
        let meta: Value = serde_json::from_slice(&rest[..m]).expect("reply metadata is JSON");
        assert!(meta.is_object(), "metadata is an object: {meta}");
        assert!(meta.get("partial").is_none(), "no partial replies");
        if let Some(msgs) = meta.pointer("/inspector/messages") {
            for msg in msgs.as_array().expect("messages is a list") {
                let level = msg[0].as_str().expect("level");
                assert!(
                    ["DEBUG", "INFO", "WARN", "ERROR"].contains(&level),
                    "{level}"
                );
                assert!(msg[1].is_string());
            }
        }
        let reply = Reply {
            meta,
            body: rest[m..m + b].to_vec(),
        };
        if reply.meta.get("type").is_none() {
            assert!(
                reply.meta["finished"].is_boolean(),
                "finished is a boolean: {}",
                reply.meta
            );
        }
        if check {
            reply.table().check();
        }
        replies.push(reply);
        out = &rest[m + b..];
    }
    (replies, out.to_vec())
}

/// Splits a recorded request stream into `(metadata, body)` frames.
pub fn split_frames(mut input: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(nl) = input.iter().position(|&b| b == b'\n') {
        let line = std::str::from_utf8(&input[..nl]).unwrap();
        let nums: Vec<usize> = line
            .trim_start_matches("chunked 1.0,")
            .split(',')
            .map(|n| n.trim().parse().unwrap())
            .collect();
        let rest = &input[nl + 1..];
        let (m, b) = (nums[0], nums[1].min(rest.len() - nums[0]));
        out.push((
            String::from_utf8(rest[..m].to_vec()).unwrap(),
            rest[m..m + b].to_vec(),
        ));
        input = &rest[m + b..];
    }
    out
}

/// The data rows of a request body, by column name (input side).
pub fn input_rows(body: &[u8]) -> Vec<Row> {
    Table::parse(body).rows()
}

/// Asserts that every input field of every input row reaches the output
/// unchanged and in order (output rows may carry more columns).
pub fn assert_passthrough(inputs: &[Row], outputs: &[Row]) {
    assert_eq!(inputs.len(), outputs.len(), "events in == events out");
    for (i, (a, b)) in inputs.iter().zip(outputs).enumerate() {
        for (k, v) in &a.0 {
            assert_eq!(
                b.bytes(k),
                Some(v.as_slice()),
                "row {i} field {k} unchanged"
            );
        }
    }
}

/// Waits for `child` at most `limit`; past it the child is killed and the
/// test fails, naming `what` ran too long.
pub fn wait_at_most(
    child: &mut std::process::Child,
    limit: Duration,
    what: &str,
) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} ran for more than {limit:?}");
        }
        thread::sleep(Duration::from_millis(5));
    }
}
