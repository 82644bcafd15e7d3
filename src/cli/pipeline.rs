//! `hunt`'s work on each input, and correlation over all of them.
//!
//! Each input is read once, by one worker ([`evtx_file`], [`csv_body`]):
//! every event gets the search command's event view and detection (an EVTX
//! record is seen exactly as the CSV row `hunt` used to write for it would
//! be, without writing that row), the labelled ones become [`Alert`]s, and
//! what correlation takes from each event is read there and then
//! ([`Kept`]: an address, a SID's name, evidence). Nothing else of the
//! input is kept, so memory follows the evidence, not the input.
//!
//! Workers run in parallel, one input each ([`run_all`]); correlation then
//! takes what was kept input by input in the order given ([`correlate`]),
//! so the hops are those of one sequential pass over the same inputs.

use std::borrow::Cow;
use std::io::{Read, Seek};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::cli::report::{Alert, EvidenceEvent};
use crate::cli::scan::{add_context, alert, scan_csv_with, Kept};
use crate::correlate::{Correlator, Hop, Known, Settings};
use crate::detect::{Detection, Engine};
use crate::event::kind::{channel_of, kind_of, Channel, Kind};
use crate::event::pairs::PairsEvent;
use crate::event::{Fields, RowEvent, Schema};
use crate::evtx::{EvtxFile, Peek, Position, Take};

/// The columns of an EVTX record as `hunt` sees it: those the Windows
/// add-on's events carry, the fields coming from `_raw`, as in a search.
pub const EVTX_COLUMNS: [&str; 5] = ["_time", "host", "source", "sourcetype", "_raw"];

/// What one input gave.
#[derive(Debug, Default)]
pub struct FileResult {
    /// The input, as messages name it.
    pub name: String,
    /// Events read.
    pub events: u64,
    /// Of those, EVTX records never rendered: of no kind detection or
    /// correlation looks at.
    pub skipped: u64,
    /// Its labelled events scoring at least the minimum, in input order.
    pub alerts: Vec<Alert>,
    /// What correlation takes from its events.
    pub kept: Kept,
    /// What went wrong without stopping the reading.
    pub warnings: Vec<String>,
    /// Why the input could not be read to its end, if it could not.
    pub error: Option<String>,
    /// Input bytes already added to [`Progress::bytes`] (EVTX: up to the
    /// last chunk with a record read); the caller adds the rest.
    pub bytes_told: u64,
}

/// Counters the workers share with the progress line.
#[derive(Debug, Default)]
pub struct Progress {
    /// Events read so far, over all inputs.
    pub events: AtomicU64,
    /// Input bytes done so far (EVTX: whole chunks).
    pub bytes: AtomicU64,
    /// Inputs finished.
    pub files: AtomicUsize,
}

/// One EVTX record's columns, as the row `hunt` used to write.
struct RecordRow<'r>([&'r [u8]; 5]);

impl Fields for RecordRow<'_> {
    fn field(&self, i: usize) -> Option<&[u8]> {
        self.0.get(i).copied()
    }
}

/// Reads one EVTX file: alerts scoring at least `min_score`, and the events
/// correlation wants.
pub fn evtx_file<R: Read + Seek + 'static>(
    file: EvtxFile<R>,
    name: &str,
    engine: &Engine,
    min_score: u32,
    progress: &Progress,
) -> FileResult {
    let schema = Schema::new(EVTX_COLUMNS.iter().map(|c| c.as_bytes()));
    let mut out = FileResult {
        name: name.to_string(),
        ..FileResult::default()
    };
    let mut kept = Kept::default();
    let mut det = Detection::default();
    // Bytes told to `progress`: the header and the chunks before the
    // current one.
    let mut told = 0u64;
    let mut skip = Skip::default();
    let mut skipped = 0u64;
    let mut take_one = |p: &Peek| {
        let take = skip.take(p);
        // Counted once, when the whole record was read.
        if take == Take::Skip && p.whole {
            skipped += 1;
            progress.events.fetch_add(1, Ordering::Relaxed);
        }
        take
    };
    // `source`, written again only when the channel changes.
    let mut source = String::from(SOURCE_PREFIX);
    let mut file = file.with_pairs();
    file.read_skipping(
        Position::default(),
        Some(&mut take_one),
        |mut r, at| {
            out.events += 1;
            progress.events.fetch_add(1, Ordering::Relaxed);
            let before = EVTX_HEADER + at.chunk * EVTX_CHUNK;
            if before > told {
                progress.bytes.fetch_add(before - told, Ordering::Relaxed);
                told = before;
            }
            let time = format!("{:.6}", r.time);
            if source[SOURCE_PREFIX.len()..] != r.channel {
                source.truncate(SOURCE_PREFIX.len());
                source.push_str(&r.channel);
            }
            let row = RecordRow([
                time.as_bytes(),
                r.computer.as_bytes(),
                source.as_bytes(),
                b"XmlWinEventLog",
                r.xml.as_bytes(),
            ]);
            // The fields the renderer read on its way, else from `_raw`.
            let ev = match r.pairs.take() {
                Some(pairs) => RowEvent::with_xml(&schema, &row, owned_pairs(pairs)),
                None => RowEvent::new(&schema, &row),
            };
            let hit = engine.detect_into(&ev, &mut det);
            kept.push(name, &ev, hit.then_some(&det));
            if hit && det.risk_score >= min_score {
                let mut a = alert(&det, &time, &r.computer);
                add_context(&mut a, &ev, &det);
                out.alerts.push(a);
            }
            true
        },
        |d| out.warnings.push(format!("{name}: {d}")),
    );
    out.events += skipped;
    out.skipped = skipped;
    out.bytes_told = told;
    out.kept = kept;
    out
}

/// What to do with an EVTX record, known from its channel and event id.
/// Skipped: from a channel we know, an event of no kind the rules look at
/// ([`Kind::Other`]: no rule runs on it, and correlation takes no evidence
/// from it), that names no SID (correlation learns account names from any
/// event that does). Rendered without XML: of a known channel, a kind whose
/// `_raw` nothing reads ([`Kind::reads_raw`]; `hunt` reports fields, never
/// `_raw`). The tests hold that the report is the same.
#[derive(Default)]
struct Skip {
    /// The kinds met so far, by channel name and event id: whether other,
    /// whether its XML is read.
    kinds: Vec<(String, u32, bool, bool)>,
}

impl Skip {
    fn take(&mut self, p: &Peek) -> Take {
        let Some(id) = p.event_id else {
            return Take::Xml;
        };
        let (other, xml) = match self.kinds.iter().find(|k| k.1 == id && k.0 == p.channel) {
            Some(k) => (k.2, k.3),
            None => {
                let source = format!("XmlWinEventLog:{}", p.channel);
                let code = id.to_string();
                let ev = PairsEvent::from_pairs(&[("source", &source), ("EventCode", &code)]);
                let known = channel_of(&p.channel) != Channel::Other;
                let kind = kind_of(&ev);
                let (other, xml) = (known && kind == Kind::Other, !known || kind.reads_raw());
                self.kinds.push((p.channel.clone(), id, other, xml));
                (other, xml)
            }
        };
        match (other && !p.names_target_user_sid, xml) {
            (true, _) => Take::Skip,
            (false, true) => Take::Xml,
            (false, false) => Take::Fields,
        }
    }
}

/// Pairs as an event.
fn owned_pairs(pairs: Vec<(String, String)>) -> PairsEvent<'static> {
    PairsEvent {
        pairs: pairs
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
            .collect(),
    }
}

/// What `source` says before the channel.
const SOURCE_PREFIX: &str = "XmlWinEventLog:";

/// The size of an EVTX chunk, and of the file header, for progress.
const EVTX_CHUNK: u64 = 64 * 1024;
const EVTX_HEADER: u64 = 4096;

/// Reads one Splunk CSV body (a whole export, or one chunk of converted
/// JSON lines) into `out`.
pub fn csv_body(out: &mut FileResult, body: &[u8], engine: &Engine, min_score: u32) {
    match scan_csv_with(&out.name, body, engine, min_score, Some(&mut out.kept)) {
        Ok(scan) => {
            out.events += scan.events as u64;
            let name = &out.name;
            out.warnings
                .extend(scan.warnings.iter().map(|w| format!("{name}: {w}")));
            out.alerts.extend(scan.alerts);
        }
        Err(e) => out.error = Some(e.to_string()),
    }
}

/// Runs `work` on every input, `jobs` at a time; the results in input
/// order.
pub fn run_all<I: Sync, F>(inputs: &[I], jobs: usize, work: F) -> Vec<FileResult>
where
    F: Fn(&I) -> FileResult + Sync,
{
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<FileResult>>> = Mutex::new(inputs.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, inputs.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(input) = inputs.get(i) else { break };
                let r = work(input);
                if let Ok(mut slots) = results.lock() {
                    slots[i] = Some(r);
                }
            });
        }
    });
    let slots = results.into_inner().unwrap_or_else(|e| e.into_inner());
    slots.into_iter().map(Option::unwrap_or_default).collect()
}

/// Correlates what was kept of every input, in input order: the hops, the
/// evidence events by `seq`, and correlation's warnings. What was kept is
/// taken out of `results`.
pub fn correlate(
    results: &mut [FileResult],
    known: &Known,
) -> (Vec<Hop>, Vec<EvidenceEvent>, Vec<String>) {
    let mut corr = Correlator::new(Settings::default()).with_known(known.clone());
    let mut evidence = Vec::new();
    for r in results {
        for (o, summary) in std::mem::take(&mut r.kept.events) {
            if let (Some(seq), Some(mut e)) = (corr.take(o), summary) {
                e.seq = seq;
                evidence.push(e);
            }
        }
    }
    let warnings = corr.warnings();
    (corr.finish(), evidence, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::hunt::evtx_to_csv;
    use crate::cli::scan::{hops_of_files, scan_csv};
    use crate::error::Result;
    use std::path::Path;

    /// Reads an EVTX file from a path.
    fn evtx_path(path: &Path, engine: &Engine, min_score: u32) -> Result<FileResult> {
        let file = EvtxFile::open(path)?;
        let name = path.display().to_string();
        Ok(evtx_file(
            file,
            &name,
            engine,
            min_score,
            &Progress::default(),
        ))
    }

    fn fixtures() -> Vec<std::path::PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evtx");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
            .collect();
        files.sort();
        // More with WD_EVTX_DIR=../shared/data/evtx (as the renderer's test).
        if let Some(more) = std::env::var_os("WD_EVTX_DIR") {
            let mut found = Vec::new();
            walk_evtx(Path::new(&more), &mut found);
            found.sort();
            files.extend(found);
        }
        files
    }

    fn walk_evtx(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk_evtx(&p, out);
            } else if p.extension().is_some_and(|x| x == "evtx") {
                out.push(p);
            }
        }
    }

    /// Issue 15: EVTX records go straight into detection and give what
    /// the CSV round trip gave: the same alerts, every field, and the same
    /// hops from the events kept for correlation only.
    #[test]
    fn issue15_evtx_straight_into_detection_gives_the_same_report() {
        let engine = Engine::default();
        let files = fixtures();
        assert!(files.len() >= 4);
        for min_score in [0, 1] {
            let mut bodies = Vec::new();
            let mut results = Vec::new();
            for f in &files {
                let (body, n, _) = evtx_to_csv(f).unwrap();
                let name = f.display().to_string();
                let old = scan_csv(&name, &body, &engine, min_score).unwrap();
                let new = evtx_path(f, &engine, min_score).unwrap();
                assert_eq!(new.events, n as u64, "{name}");
                assert_eq!(new.alerts, old.alerts, "{name}");
                bodies.push(body);
                results.push(new);
            }
            let alerts: usize = results.iter().map(|r| r.alerts.len()).sum();
            let skipped: u64 = results.iter().map(|r| r.skipped).sum();
            assert!(skipped > 0, "records skipped");
            assert!(alerts >= 2, "{alerts} alerts");
            let (old_hops, _) = hops_of_files(&bodies, &engine, &Known::default());
            let (hops, evidence, _) = correlate(&mut results, &Known::default());
            assert_eq!(hops, old_hops);
            assert!(!hops.is_empty());
            // Every member of a hop is summed up, with its file.
            for (seq, _) in hops.iter().flat_map(|h| &h.members) {
                let e = evidence.iter().find(|e| e.seq == *seq).unwrap();
                assert!(e.file.ends_with(".evtx") && !e.event_code.is_empty());
            }
        }
    }

    /// CSV exports keep what correlation takes from their rows, in every
    /// chunk, and correlate as the whole files did.
    #[test]
    fn issue15_csv_evidence_correlates_as_the_whole_files() {
        let engine = Engine::default();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut bodies = Vec::new();
        let mut results = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect();
        names.sort();
        for p in names {
            let body = std::fs::read(&p).unwrap();
            let mut r = FileResult {
                name: p.display().to_string(),
                ..FileResult::default()
            };
            csv_body(&mut r, &body, &engine, 1);
            assert_eq!(r.error, None);
            // What correlation takes, not every event.
            let kept = r.kept.events.len() as u64;
            assert!(kept < r.events, "{kept} of {} kept", r.events);
            bodies.push(body);
            results.push(r);
        }
        let (old_hops, _) = hops_of_files(&bodies, &engine, &Known::default());
        let (hops, _, _) = correlate(&mut results, &Known::default());
        assert!(!hops.is_empty());
        assert_eq!(hops, old_hops);
    }

    /// Issue 15: what a Security log leaves for correlation is what
    /// correlation takes from its events, not the events: fewer entries
    /// than events, none empty, each SID's name once, a summary exactly
    /// for the evidence.
    #[test]
    fn issue15_kept_is_what_correlation_takes_not_the_events() {
        let engine = Engine::default();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evtx");
        let r = evtx_path(&dir.join("mdec_wmiexec_via_smb.evtx"), &engine, 1).unwrap();
        let kept = &r.kept.events;
        assert!(
            !kept.is_empty() && (kept.len() as u64) < r.events,
            "{} of {}",
            kept.len(),
            r.events
        );
        assert!(kept.iter().all(|(o, _)| !o.is_empty()));
        assert!(kept.iter().all(|(o, s)| o.is_evidence() == s.is_some()));
        assert!(kept.iter().any(|(o, _)| o.is_evidence()));
        let sids: Vec<&str> = kept.iter().filter_map(|(o, _)| o.sid()).collect();
        let mut unique = sids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(sids.len(), unique.len(), "{sids:?}");
    }

    /// Issue 15: a SID's name is kept the first time only (correlation
    /// keeps the first), and an event that gave nothing else is not kept.
    #[test]
    fn issue15_a_sids_name_is_kept_once() {
        let logon = |name: &str| {
            let pairs = [
                ("source", "XmlWinEventLog:Security"),
                ("EventCode", "4624"),
                ("Computer", "dc01.corp"),
                ("LogonType", "2"),
                ("TargetUserSid", "S-1-5-21-1-2-3-1001"),
                ("TargetUserName", name),
            ];
            owned_pairs(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let mut kept = Kept::default();
        kept.push("a.evtx", &logon("alice"), None);
        kept.push("a.evtx", &logon("bob"), None);
        assert_eq!(kept.events.len(), 1);
        assert_eq!(kept.events[0].0.sid(), Some("s-1-5-21-1-2-3-1001"));
    }

    /// Issue 15: progress hears of every event and of the bytes up to the
    /// last chunk read, never more than the file.
    #[test]
    fn issue15_progress_counts_events_and_bytes() {
        let engine = Engine::default();
        for f in fixtures() {
            let progress = Progress::default();
            let file = EvtxFile::open(&f).unwrap();
            let r = evtx_file(file, "x", &engine, 1, &progress);
            assert_eq!(progress.events.load(Ordering::Relaxed), r.events);
            let told = progress.bytes.load(Ordering::Relaxed);
            assert_eq!(told, r.bytes_told);
            let size = std::fs::metadata(&f).unwrap().len();
            assert!(
                told <= size && (r.events == 0 || told >= EVTX_HEADER),
                "{f:?}"
            );
        }
    }

    /// Results come back in input order whatever the number of workers.
    #[test]
    fn run_all_keeps_input_order() {
        let inputs: Vec<u64> = (0..37).collect();
        for jobs in [1, 2, 8, 100] {
            let out = run_all(&inputs, jobs, |&i| FileResult {
                events: i,
                ..FileResult::default()
            });
            let got: Vec<u64> = out.iter().map(|r| r.events).collect();
            assert_eq!(got, inputs, "{jobs} jobs");
        }
    }
}
