//! Stand-in for the input module (issue 15, being written on its own
//! branch): explicit files and walked directories, EVTX or CSV.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::modinput::paths::is_evtx;

/// An input's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// EVTX.
    Evtx,
    /// A Splunk CSV export.
    Csv,
}

/// One input to read.
#[derive(Debug, Clone)]
pub struct Input {
    /// As messages name it.
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
}

/// What the arguments named.
#[derive(Debug, Default)]
pub struct Found {
    /// The inputs, in argument order (directories walked, sorted).
    pub inputs: Vec<Input>,
    /// Inputs that could not be looked at: name, why.
    pub failed: Vec<(String, String)>,
    /// Files skipped in walks.
    pub skipped: usize,
}

/// The inputs the arguments name.
pub fn discover(args: &[OsString]) -> Found {
    let mut found = Found::default();
    for a in args {
        let p = Path::new(a);
        match std::fs::metadata(p) {
            Err(e) => found.failed.push((p.display().to_string(), e.to_string())),
            Ok(m) if m.is_dir() => {
                let listing = |d: &Path| format!("listing {}", d.display());
                let mut add = |f: PathBuf| {
                    found.inputs.push(Input {
                        name: f.display().to_string(),
                        path: f,
                    });
                    Ok(())
                };
                if let Err(e) =
                    crate::modinput::paths::walk(p, &["evtx", "csv"], &listing, &mut add)
                {
                    found.failed.push((p.display().to_string(), e.to_string()));
                }
            }
            Ok(_) => found.inputs.push(Input {
                name: p.display().to_string(),
                path: p.to_path_buf(),
            }),
        }
    }
    found
}

/// The format of an input.
pub fn kind(input: &Input) -> Result<Kind, String> {
    match is_evtx(&input.path) {
        Ok(true) => Ok(Kind::Evtx),
        Ok(false) => Ok(Kind::Csv),
        Err(e) => Err(e.to_string()),
    }
}
