//! Which files an input reads: a stanza's `path` (a file, a directory or a
//! glob in its last component) expanded to `.evtx` files, the crate's one
//! directory walker (also `hunt`'s, `crate::cli::hunt`) and its one EVTX
//! magic check.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The first bytes of every EVTX file.
pub const EVTX_MAGIC: &[u8; 8] = b"ElfFile\0";

/// Whether a file is EVTX, by its magic (whatever its name).
pub fn is_evtx(path: &Path) -> Result<bool> {
    Ok(read_head(path, EVTX_MAGIC.len() as u64)?.starts_with(EVTX_MAGIC))
}

/// The first `len` bytes of a file (fewer if it is shorter).
pub fn read_head(path: &Path, len: u64) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(len as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(len).read_to_end(&mut head))
        .map_err(|e| Error::File {
            context: format!("reading {}", path.display()),
            source: e,
        })?;
    Ok(head)
}

/// Hands every file below the directory `dir` whose extension is one of
/// `extensions` (any case) to `found`, in path order: each directory's
/// entries sorted, a subdirectory walked where it sorts. Links are
/// followed, and an entry that vanishes while its directory is listed is
/// left out. A directory that cannot be listed ends the walk with an error
/// whose context is `cannot_list(that directory)`; so does an error of
/// `found`.
pub fn walk(
    dir: &Path,
    extensions: &[&str],
    cannot_list: &dyn Fn(&Path) -> String,
    found: &mut dyn FnMut(PathBuf) -> Result<()>,
) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::File {
        context: cannot_list(dir),
        source: e,
    })?;
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            walk(&e, extensions, cannot_list, found)?;
        } else if e
            .extension()
            .is_some_and(|x| extensions.iter().any(|want| x.eq_ignore_ascii_case(want)))
        {
            found(e)?;
        }
    }
    Ok(())
}

pub(super) fn is_glob(p: &str) -> bool {
    p.contains('*') || p.contains('?')
}

/// The `.evtx` files a path names: the file, every `.evtx` below a
/// directory, or the matches of a glob in its last component; sorted.
pub fn expand(path: &str) -> Result<Vec<PathBuf>> {
    let p = Path::new(path);
    let mut out = Vec::new();
    if is_glob(path) {
        glob(path, &mut out)?;
    } else if p.is_dir() {
        let cannot_list = |d: &Path| format!("path {}: cannot list", d.display());
        walk(p, &["evtx"], &cannot_list, &mut |f| {
            out.push(f);
            Ok(())
        })?;
    } else if p.is_file() {
        out.push(p.to_path_buf());
    }
    out.sort();
    Ok(out)
}

/// The files (of any name) that a glob in the last component of `path`
/// matches.
fn glob(path: &str, out: &mut Vec<PathBuf>) -> Result<()> {
    let p = Path::new(path);
    let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    if is_glob(&dir.to_string_lossy()) {
        return Err(Error::Input(format!(
            "path {path:?}: wildcards only in the file name"
        )));
    }
    let pat = p
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::File {
        context: format!("path {}: cannot list", dir.display()),
        source: e,
    })?;
    for e in entries.flatten() {
        if wildcard(&pat, &e.file_name().to_string_lossy()) && e.path().is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

/// `*` and `?` matching.
fn wildcard(pat: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modinput::test_files::{fixture_evtx, scratch};

    #[test]
    fn wildcards_match_file_names() {
        assert!(wildcard("*.evtx", "Security.evtx"));
        assert!(wildcard("Sec?rity*.evtx", "Security-2024.evtx"));
        assert!(!wildcard("*.evtx", "Security.evtx.bak"));
    }

    /// The walk goes in path order (a directory where its name sorts, so
    /// `b/` before `b.evtx`), takes the extensions in any case and nothing
    /// else, and names a directory it cannot list.
    #[test]
    fn the_walk_is_in_path_order() {
        let dir = scratch("walk");
        for f in [
            "b.evtx",
            "b/z.EVTX",
            "b/a.csv",
            "a.txt",
            "c/d/e.evtx",
            "0.evtx",
        ] {
            let path = dir.join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"").unwrap();
        }
        let walked = |extensions: &[&str]| {
            let mut out = Vec::new();
            walk(
                &dir,
                extensions,
                &|d| format!("listing {}", d.display()),
                &mut |f| {
                    out.push(f.strip_prefix(&dir).unwrap().display().to_string());
                    Ok(())
                },
            )
            .unwrap();
            out
        };
        assert_eq!(
            walked(&["evtx"]),
            ["0.evtx", "b/z.EVTX", "b.evtx", "c/d/e.evtx"]
        );
        assert_eq!(walked(&["evtx", "csv"])[1..3], ["b/a.csv", "b/z.EVTX"]);
        let expanded: Vec<PathBuf> = walked(&["evtx"]).iter().map(|f| dir.join(f)).collect();
        assert_eq!(expand(&dir.display().to_string()).unwrap(), expanded);
        let missing = dir.join("none");
        let err = walk(
            &missing,
            &["evtx"],
            &|d| format!("listing {}", d.display()),
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .starts_with(&format!("listing {}: ", missing.display())));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn evtx_is_told_by_its_magic() {
        let dir = scratch("magic");
        assert!(is_evtx(&fixture_evtx()).unwrap());
        let csv = dir.join("a.evtx");
        std::fs::write(&csv, b"_time,_raw\n").unwrap();
        assert!(!is_evtx(&csv).unwrap());
        let err = is_evtx(&dir.join("none.evtx")).unwrap_err().to_string();
        assert!(err.starts_with("reading "), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
