//! Prints, per saved search, the share of each bundled recording's events
//! (tests/fixtures/*.csv) that its pre-filter hands to the binary.
//!
//!     cargo run --release --example prefilter_share

use winrmdetect::appconf::saved_searches;
use winrmdetect::event::PairsEvent;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    let searches = saved_searches();
    let mut total = vec![0usize; searches.len()];
    let mut all = 0usize;
    println!(
        "{:34} {:>7}  share reaching the binary, per search",
        "recording", "events"
    );
    for path in &files {
        let mut rdr = csv::ReaderBuilder::new().flexible(true).from_path(path)?;
        let header = rdr.headers()?.clone();
        let mut n = 0usize;
        let mut passed = vec![0usize; searches.len()];
        for rec in rdr.records() {
            let rec = rec?;
            let pairs: Vec<(&str, &str)> = header.iter().zip(rec.iter()).collect();
            let ev = PairsEvent::from_pairs(&pairs);
            n += 1;
            for (i, s) in searches.iter().enumerate() {
                passed[i] += usize::from(s.prefilter_passes(&ev));
            }
        }
        all += n;
        let shares: Vec<String> = passed
            .iter()
            .map(|&p| format!("{:5.1}%", 100.0 * p as f64 / n.max(1) as f64))
            .collect();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        println!("{name:34} {n:>7}  {}", shares.join(" "));
        for (t, p) in total.iter_mut().zip(&passed) {
            *t += p;
        }
    }
    println!();
    for (s, t) in searches.iter().zip(&total) {
        println!("{:5.1}%  {}", 100.0 * *t as f64 / all.max(1) as f64, s.name);
    }
    Ok(())
}
