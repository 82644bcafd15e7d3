//! One CSV chunk body (with `__mv_` fields, `_raw` XML, anything) through
//! the per-event path in every mode, or through correlation (evidence,
//! hops, annotated events). The first byte picks the mode; the engine is
//! built once, as in a session.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use winrmdetect::correlate::{Correlator, Settings};
use winrmdetect::detect::Engine;
use winrmdetect::chunk::{self, EvidenceRows, Mode};

fuzz_target!(|data: &[u8]| {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(Engine::default);
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    if flags & 0x80 != 0 {
        // Correlation over the body split in two chunks at a fuzzed point.
        let settings = Settings {
            max_evidence: 64,
            ..Settings::default()
        };
        let mut corr = Correlator::new(settings);
        let mut keep = EvidenceRows::default();
        let split = usize::from(flags & 0x3f) * body.len() / 63;
        let (a, b) = body.split_at(split.min(body.len()));
        let _ = chunk::collect_evidence(a, engine, &mut corr, &mut keep);
        let _ = chunk::collect_evidence(b, engine, &mut corr, &mut keep);
        let _ = corr.warnings();
        let hops = corr.finish();
        let _ = chunk::hops_body(&hops);
        let _ = chunk::annotated_events_body(&keep, &hops);
    } else {
        let mode = Mode {
            detect: flags & 1 == 0,
            alerts_only: flags & 2 != 0,
            min_score: u32::from(flags >> 2 & 0x1f) * 4,
            evidence_only: flags & 0x40 != 0,
        };
        let out = chunk::process_body(body, engine, mode);
        // No row is written that was not read.
        assert!(out.rows_out <= out.rows_in);
    }
});
