//! What reading 4103 module logging as commands costs (issue 17): for the
//! 4103 events of the bundled Mordor PowerShell-remoting recording, the time
//! `psmodule::commands` takes to render a Payload, the whole detection of a
//! 4103 event, and the whole detection of the recording's other events, in
//! nanoseconds per event (one thread, best of 5 rounds of at least 0.5 s).
//!
//!     cargo run --release --example psmodule_bench

use std::time::Instant;

use winrmdetect::detect::psmodule::commands;
use winrmdetect::detect::Engine;
use winrmdetect::event::PairsEvent;

/// Best-of-5 nanoseconds per item of `f` over `n` items.
fn ns_per(n: usize, mut f: impl FnMut() -> usize) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let (start, mut done, mut sink) = (Instant::now(), 0usize, 0usize);
        while start.elapsed().as_secs_f64() < 0.5 {
            sink = sink.wrapping_add(f());
            done += n;
        }
        std::hint::black_box(sink);
        best = best.min(start.elapsed().as_secs_f64() * 1e9 / done as f64);
    }
    best
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mordor_psremoting.csv");
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_path(&path)?;
    let header: Vec<String> = rdr.headers()?.iter().map(str::to_string).collect();
    let rows: Vec<Vec<String>> = rdr
        .records()
        .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
        .collect::<Result<_, _>>()?;
    let code = header
        .iter()
        .position(|h| h == "EventCode")
        .ok_or("no EventCode")?;
    let payload = header
        .iter()
        .position(|h| h == "Payload")
        .ok_or("no Payload")?;
    let events = |want: bool| -> Vec<PairsEvent<'_>> {
        rows.iter()
            .filter(|r| (r[code] == "4103") == want)
            .map(|r| {
                let pairs: Vec<(&str, &str)> = header
                    .iter()
                    .map(String::as_str)
                    .zip(r.iter().map(String::as_str))
                    .collect();
                PairsEvent::from_pairs(&pairs)
            })
            .collect()
    };
    let (module, other) = (events(true), events(false));
    let payloads: Vec<&str> = rows
        .iter()
        .filter(|r| r[code] == "4103")
        .map(|r| r[payload].as_str())
        .collect();
    let bytes: usize = payloads.iter().map(|p| p.len()).sum();
    let engine = Engine::default();
    let render = ns_per(payloads.len(), || {
        payloads.iter().map(|p| commands(p).len()).sum()
    });
    let lower = ns_per(payloads.len(), || {
        payloads.iter().map(|p| p.to_ascii_lowercase().len()).sum()
    });
    let detect_module = ns_per(module.len(), || {
        module
            .iter()
            .filter(|e| engine.detect(*e).is_some())
            .count()
    });
    let detect_other = ns_per(other.len(), || {
        other.iter().filter(|e| engine.detect(*e).is_some()).count()
    });
    println!(
        "recording: {} ({} events, {} of them 4103, mean Payload {} bytes)",
        path.display(),
        rows.len(),
        module.len(),
        bytes / module.len().max(1)
    );
    println!("{:44} {:>10}", "per event, best of 5 (one thread)", "ns");
    println!(
        "{:44} {:>10.0}",
        "render a 4103 Payload as commands", render
    );
    println!(
        "{:44} {:>10.0}",
        "lower-case the same Payload (for scale)", lower
    );
    println!(
        "{:44} {:>10.0}",
        "detect a 4103 event (rendering included)", detect_module
    );
    println!(
        "{:44} {:>10.0}",
        "detect any other event of the recording", detect_other
    );
    println!(
        "rendering's share of a 4103 event's detection: {:.0}%",
        100.0 * render / detect_module
    );
    Ok(())
}
