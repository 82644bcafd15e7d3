//! `hunt`'s progress line on a terminal: inputs done, events, events per
//! second and, when the input sizes are known, how far and how long to go.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::cli::pipeline::Progress;

/// Runs `work` while a thread redraws the progress line on stderr every
/// half second (when `show`); the line is cleared at the end.
pub fn with_progress<T>(
    show: bool,
    files: usize,
    total_bytes: Option<u64>,
    progress: &Progress,
    work: impl FnOnce() -> T,
) -> T {
    if !show {
        return work();
    }
    let done = AtomicBool::new(false);
    let start = Instant::now();
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            let mut last = Instant::now();
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                if last.elapsed() >= Duration::from_millis(500) {
                    last = Instant::now();
                    let now = Snapshot::of(progress, files, total_bytes, start.elapsed());
                    let mut err = std::io::stderr().lock();
                    let _ = write!(err, "\r{}\x1b[K", now.line());
                }
            }
        });
        let out = work();
        done.store(true, Ordering::Relaxed);
        out
    });
    eprint!("\r\x1b[K");
    out
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    /// Inputs finished, of `files`.
    pub files_done: usize,
    /// Inputs.
    pub files: usize,
    /// Events read.
    pub events: u64,
    /// Input bytes done.
    pub bytes: u64,
    /// All input bytes, when known.
    pub total_bytes: Option<u64>,
    /// Time since the start.
    pub elapsed: Duration,
}

impl Snapshot {
    /// Reads the counters.
    pub fn of(p: &Progress, files: usize, total_bytes: Option<u64>, elapsed: Duration) -> Self {
        Snapshot {
            files_done: p.files.load(Ordering::Relaxed),
            files,
            events: p.events.load(Ordering::Relaxed),
            bytes: p.bytes.load(Ordering::Relaxed),
            total_bytes,
            elapsed,
        }
    }

    /// `[2/7] 1,204,511 events  310,224 events/s  43%  ETA 0:12`.
    pub fn line(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-3);
        let rate = (self.events as f64 / secs) as u64;
        let mut line = format!(
            "[{}/{}] {} events  {} events/s",
            self.files_done,
            self.files,
            thousands(self.events),
            thousands(rate)
        );
        if let Some(total) = self.total_bytes.filter(|&t| t > 0) {
            let part = (self.bytes as f64 / total as f64).min(1.0);
            line.push_str(&format!("  {:.0}%", part * 100.0));
            if part > 0.0 {
                let left = (secs / part - secs).max(0.0) as u64;
                line.push_str(&format!("  ETA {}:{:02}", left / 60, left % 60));
            }
        }
        line
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue15_progress_shows_rate_share_and_eta() {
        let s = Snapshot {
            files_done: 2,
            files: 7,
            events: 1_200_000,
            bytes: 25,
            total_bytes: Some(100),
            elapsed: Duration::from_secs(4),
        };
        assert_eq!(
            s.line(),
            "[2/7] 1,200,000 events  300,000 events/s  25%  ETA 0:12"
        );
        let unknown = Snapshot {
            total_bytes: None,
            ..s
        };
        assert_eq!(unknown.line(), "[2/7] 1,200,000 events  300,000 events/s");
        let start = Snapshot {
            bytes: 0,
            events: 0,
            ..s
        };
        assert_eq!(start.line(), "[2/7] 0 events  0 events/s  0%");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
    }
}
