//! The knowledge bundle and command resolution, emulated from Splunk's own
//! spec and default files (no splunkd runs here), applied to the real
//! package (`WINRMDETECT_APP_TGZ`, as in `app`):
//!
//! 1. which package files a search head replicates to its search peers:
//!    Splunk's replication pattern language, the system default
//!    `distsearch.conf` stanzas merged with the app's `default/distsearch.conf`;
//! 2. which program `commands.conf` makes splunkd run, per `<PLATFORM>`;
//! 3. the command run from an emulated peer directory, where a peer-side
//!    `local/winrmdetect.conf` must take effect.
//!
//! # The Splunk rules this relies on, quoted
//!
//! From `distsearch.conf.spec`, Splunk 10.6.0.4 (repository
//! `livehybrid/splunk-spec-files`, file `distsearch.conf.spec`, commit
//! 1b148e1068d5b41bb2ade2afa276a8369ce0f1c8), `[replicationAllowlist]`:
//!
//! > * Only files that match an allow list entry are replicated.
//! > * Only files located under $SPLUNK_HOME/etc will ever be replicated in this way.
//! >   * The regex is matched against the file name, relative to $SPLUNK_HOME/etc.
//! >     Example: For a file "$SPLUNK_HOME/etc/apps/fancy_app/default/inputs.conf",
//! >              this allow list should match "apps/fancy_app/default/inputs.conf"
//! > * The 'name' element is generally descriptive, with one exception:
//! >   If <name> begins with "refine.", files allow listed by the given pattern will
//! >   also go through another level of filtering configured in the
//! >   [replicationSettings:refineConf] stanza.
//! > * The allow list pattern is the Splunk style pattern matching, which is
//! >   primarily regex-based with special local behavior for '...' and '*'.
//! >   * '...' matches anything, while '*' matches anything besides
//! >     directory separators. See props.conf.spec for more detail on these.
//! >   * Note: '.' will match a literal dot, not any character.
//! > * These lists are applied globally across all configuration data, not to any
//! >   particular application, regardless of where they are defined.
//!
//! `[replicationDenylist]`:
//!
//! > * All comments from the replication allow list notes above also apply here.
//! > * Replication deny list takes precedence over the allow list, meaning that a
//! >   file that matches both the allow list and the deny list is NOT replicated.
//!
//! `[replicationSettings:refineConf]`:
//!
//! > replicate.<conf_file_name> = <boolean>
//! > * Whether or not the Splunk platform replicates a particular type of
//! >   *.conf file, along with any associated permissions in *.meta files.
//! > * These settings on their own do not cause files to be replicated. You must
//! >   still allow list a file (via the 'replicationAllowlist' setting) [...]
//! > * Default: false
//!
//! From `props.conf.spec`, same repository and commit ("[<spec>] stanza
//! patterns", to which distsearch.conf.spec refers):
//!
//! > ... recurses through directories until the match is met
//! >     or equivalently, matches any number of characters.
//! > *   matches anything but the path separator 0 or more times.
//! >     The path separator is '/' on unix, or '\' on Windows.
//! > |   is equivalent to 'or'
//! > ( ) are used to limit scope of |.
//! > \\ = matches a literal backslash '\'.
//! > Match expressions must match the entire name, not just a substring. Match
//! > expressions are based on a full implementation of Perl-compatible regular
//! > expressions (PCRE) with the translation of "...", "*", and "."
//!
//! Not verified: that bundle replication anchors its match as props.conf's
//! source matching does (Splunk's own default uses `$` in `....pyc$`, which
//! would be redundant if it did). The bundle is therefore computed under
//! three readings (whole name, anchored at the start only, anywhere) and must
//! be the same under all of them.
//!
//! From `commands.conf.spec`, same repository and commit:
//!
//! > * If the 'filename' setting is not specified, an external program is searched for
//! >   by appending extensions (e.g. ".py", ".pl") to the stanza name.
//! > * If the `chunked` setting is set to "true", in addition to the extensions ".py"
//! >   and ".pl" as above, the extensions ".exe", ".bat", ".cmd", ".sh", as
//! >   well as no extension (to find binaries without extensions), are searched for.
//!
//! and under `filename`:
//!
//! > * If the 'chunked' setting is set to "true", the 'filename' is looked for first in the
//! >   $SPLUNK_HOME/etc/apps/MY_APP/<PLATFORM>/bin directory before searching the
//! >   $SPLUNK_HOME/etc/apps/MY_APP/bin directory. The <PLATFORM> is one of the following:
//! >   "linux_x86_64" "linux_x86" "windows_x86_64" "windows_x86" "darwin_x86_64"
//!
//! The spec names no extension handling for a set `filename`, so the
//! emulation looks for it exactly as written. Not verified: the order in
//! which splunkd tries the extensions (the emulation requires exactly one
//! candidate per platform, so the order cannot matter), and that the
//! `<PLATFORM>/bin`-first rule also applies to the extension search (the
//! spec states it under `filename`; the package has no `bin/`, so both
//! readings give the same program).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::app::{app_tgz, env_path, extract_app, list_tgz, read_text, TempDir};
use crate::harness::{csv_chunks, fixture, run_program, session, Expect, Run};

const APP_ID: &str = "winrmdetect";

/// Splunk's system default `distsearch.conf`, the replication stanzas
/// verbatim: Splunk 10.6.0.4, repository `livehybrid/splunk-spec-files`,
/// file `distsearch.conf`, commit 1b148e1068d5b41bb2ade2afa276a8369ce0f1c8.
/// (9.1.2, `jewnix/splunk-spec-files` commit
/// 032e82657db97787d1e2d1716b89d65bc0030af4, has the same allowlist and
/// denylist without `splunkvisualexporter`, and `replicate.literals` instead
/// of `replicate.field_filters`; neither changes this package's bundle.)
const SYSTEM_DEFAULT_DISTSEARCH: &str = r"
[replicationSettings:refineConf]
# Replicate these specific *.conf files and their associated *.meta stanzas.
replicate.app               = true
replicate.authorize         = true
replicate.collections       = true
replicate.commands          = true
replicate.eventtypes        = true
replicate.fields            = true
replicate.field_filters     = true
replicate.segmenters        = true
replicate.lookups           = true
replicate.macros            = true
replicate.multikv           = true
replicate.props             = true
replicate.tags              = true
replicate.transforms        = true
replicate.transactiontypes  = true

[replicationAllowlist]
refine.conf = (system|(apps/*)|users(/_reserved)?/*/*)/(default|local)/*.conf
refine.metadata = (system|(apps/*)|users(/_reserved)?/*/*)/metadata/*.meta
other = (system|(apps/(?!pdfserver)*)|users(/_reserved)?/*/*)/(bin|lookups)/...
kvstore = kvstore_*/...

[replicationDenylist]
lookupindexfiles = (system|apps/*|users(/_reserved)?/*/*)/lookups/*.(tmp$|index((|.alive|.lock)$|/...))
sampleapp = apps/sample_app/...
# Protect against overly-broad conf allowlists.
conf = (system|(apps/*))/(default|local)/server.conf
# Search processes do not use anything contained in user-specific *.meta files.
user_specific_meta = users(/_reserved)?/*/*/metadata/local.meta
framework = apps/framework/...
precompiled_python = ....pyc$
splunkvisualexporter = apps/splunk-visual-exporter/...
";

// ---------------------------------------------------------------------------
// Splunk's replication pattern language
// ---------------------------------------------------------------------------

/// One element of a translated pattern.
#[derive(Debug, Clone)]
enum Node {
    Lit(char),
    /// `[...]`: the characters and ranges, negated or not.
    Class(Vec<(char, char)>, bool),
    /// `...`: any characters, as many as possible first.
    AnyRun,
    /// `*`: any characters but `/` and `\`.
    NonSepRun,
    /// `( | )` or `(?: | )`, optional when followed by `?`.
    Group(Vec<Vec<Node>>, bool),
    /// `(?! | )`.
    NotAhead(Vec<Vec<Node>>),
    Start,
    End,
}

/// How much of the path a pattern must match (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Whole,
    Start,
    Anywhere,
}

const ANCHORS: [Anchor; 3] = [Anchor::Whole, Anchor::Start, Anchor::Anywhere];

/// A compiled Splunk pattern.
#[derive(Debug)]
struct Pattern {
    #[allow(dead_code)] // shown by Debug in assertion messages
    text: String,
    alts: Vec<Vec<Node>>,
}

impl Pattern {
    /// Translates `text`: `...` any run, `*` a run without a directory
    /// separator, `.` a literal dot, `\x` the literal x, the rest PCRE
    /// (groups, `|`, `?`, `[...]`, `(?!...)`, `^`, `$`). Anything else PCRE
    /// has (`+`, `{n}`, lookbehind, ...) is refused: this emulation does not
    /// guess what splunkd does with it.
    fn new(text: &str) -> Pattern {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        let alts = parse_alts(&chars, &mut i, text);
        assert!(i == chars.len(), "unbalanced `)` in pattern {text:?}");
        Pattern {
            text: text.to_string(),
            alts,
        }
    }

    fn matches(&self, path: &str, anchor: Anchor) -> bool {
        let s: Vec<char> = path.chars().collect();
        let starts: Vec<usize> = match anchor {
            Anchor::Anywhere => (0..=s.len()).collect(),
            _ => vec![0],
        };
        let done = if anchor == Anchor::Whole {
            Cont::Done(true)
        } else {
            Cont::Done(false)
        };
        starts
            .into_iter()
            .any(|at| self.alts.iter().any(|alt| run(alt, &done, &s, at)))
    }
}

fn parse_alts(c: &[char], i: &mut usize, text: &str) -> Vec<Vec<Node>> {
    let mut alts = vec![Vec::new()];
    while *i < c.len() {
        let ch = c[*i];
        match ch {
            ')' => break,
            '|' => {
                *i += 1;
                alts.push(Vec::new());
                continue;
            }
            _ => {}
        }
        let seq = alts.last_mut().expect("one alternative at least");
        match ch {
            '.' if c[*i..].starts_with(&['.', '.', '.']) => {
                seq.push(Node::AnyRun);
                *i += 3;
            }
            '.' => {
                seq.push(Node::Lit('.'));
                *i += 1;
            }
            '*' => {
                seq.push(Node::NonSepRun);
                *i += 1;
            }
            '\\' => {
                let next = *c
                    .get(*i + 1)
                    .unwrap_or_else(|| panic!("trailing `\\` in pattern {text:?}"));
                assert!(
                    !next.is_ascii_alphanumeric(),
                    "escape class `\\{next}` in {text:?} is not emulated"
                );
                seq.push(Node::Lit(next));
                *i += 2;
            }
            '[' => seq.push(parse_class(c, i, text)),
            '(' => {
                *i += 1;
                let negative = c[*i..].starts_with(&['?', '!']);
                if negative || c[*i..].starts_with(&['?', ':']) {
                    *i += 2;
                } else {
                    assert!(
                        c.get(*i) != Some(&'?'),
                        "group syntax `(?{}` in {text:?} is not emulated",
                        c.get(*i + 1).unwrap_or(&' ')
                    );
                }
                let inner = parse_alts(c, i, text);
                assert!(c.get(*i) == Some(&')'), "unclosed `(` in pattern {text:?}");
                *i += 1;
                seq.push(if negative {
                    Node::NotAhead(inner)
                } else {
                    Node::Group(inner, false)
                });
            }
            '?' => {
                let last = seq
                    .pop()
                    .unwrap_or_else(|| panic!("`?` with nothing before it in {text:?}"));
                seq.push(match last {
                    Node::Group(alts, false) => Node::Group(alts, true),
                    Node::Lit(_) | Node::Class(..) => Node::Group(vec![vec![last]], true),
                    other => panic!("`?` after {other:?} in {text:?} is not emulated"),
                });
                *i += 1;
            }
            '^' => {
                seq.push(Node::Start);
                *i += 1;
            }
            '$' => {
                seq.push(Node::End);
                *i += 1;
            }
            '+' | '{' | '}' | ']' => panic!("`{ch}` in pattern {text:?} is not emulated"),
            _ => {
                seq.push(Node::Lit(ch));
                *i += 1;
            }
        }
    }
    alts
}

fn parse_class(c: &[char], i: &mut usize, text: &str) -> Node {
    *i += 1;
    let negated = c.get(*i) == Some(&'^');
    if negated {
        *i += 1;
    }
    let mut items = Vec::new();
    loop {
        let ch = *c
            .get(*i)
            .unwrap_or_else(|| panic!("unclosed `[` in pattern {text:?}"));
        match ch {
            ']' if !items.is_empty() => {
                *i += 1;
                return Node::Class(items, negated);
            }
            // How splunkd translates '.' and '*' inside a class is not
            // documented: refuse rather than guess.
            '.' | '*' => panic!("`{ch}` inside `[...]` in {text:?} is not emulated"),
            '\\' => {
                let lit = *c
                    .get(*i + 1)
                    .unwrap_or_else(|| panic!("trailing `\\` in {text:?}"));
                items.push((lit, lit));
                *i += 2;
            }
            _ if c.get(*i + 1) == Some(&'-') && c.get(*i + 2).is_some_and(|&e| e != ']') => {
                items.push((ch, c[*i + 2]));
                *i += 3;
            }
            _ => {
                items.push((ch, ch));
                *i += 1;
            }
        }
    }
}

/// What follows the sequence being matched.
enum Cont<'a> {
    /// The end of the pattern; `true`: the path must end here too.
    Done(bool),
    Then(&'a [Node], &'a Cont<'a>),
}

/// Backtracking match of `seq` then `cont` at `s[i..]`.
fn run(seq: &[Node], cont: &Cont, s: &[char], i: usize) -> bool {
    let Some((node, rest)) = seq.split_first() else {
        return match cont {
            Cont::Done(whole) => !whole || i == s.len(),
            Cont::Then(next, up) => run(next, up, s, i),
        };
    };
    let one = |ok: bool| ok && run(rest, cont, s, i + 1);
    match node {
        Node::Lit(c) => one(s.get(i) == Some(c)),
        Node::Class(items, negated) => one(s
            .get(i)
            .is_some_and(|&c| items.iter().any(|&(a, b)| a <= c && c <= b) != *negated)),
        Node::AnyRun | Node::NonSepRun => {
            let mut end = i;
            while end < s.len() && (matches!(node, Node::AnyRun) || !matches!(s[end], '/' | '\\')) {
                end += 1;
            }
            (i..=end).rev().any(|j| run(rest, cont, s, j))
        }
        Node::Group(alts, optional) => {
            let then = Cont::Then(rest, cont);
            alts.iter().any(|alt| run(alt, &then, s, i)) || (*optional && run(rest, cont, s, i))
        }
        Node::NotAhead(alts) => {
            !alts.iter().any(|alt| run(alt, &Cont::Done(false), s, i)) && run(rest, cont, s, i)
        }
        Node::Start => i == 0 && run(rest, cont, s, i),
        Node::End => i == s.len() && run(rest, cont, s, i),
    }
}

// ---------------------------------------------------------------------------
// distsearch.conf: merged stanzas and the bundle
// ---------------------------------------------------------------------------

/// `[stanza] -> key -> value` of a .conf text (comments, blank lines).
fn parse_conf_text(text: &str, what: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut conf: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut stanza = String::from("default");
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            stanza = name.to_string();
            conf.entry(stanza.clone()).or_default();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{what}:{}: expected `key = value`: {line}", n + 1));
        let old = conf
            .entry(stanza.clone())
            .or_default()
            .insert(k.trim().to_string(), v.trim().to_string());
        assert!(old.is_none(), "{what}:{}: duplicate key {k}", n + 1);
    }
    conf
}

/// The replication rules in force: the system default and the app's
/// `default/distsearch.conf` layered (the app adds keys; a key of the same
/// name overrides).
struct Replication {
    allow: Vec<(String, Pattern)>,
    deny: Vec<(String, Pattern)>,
    refine: BTreeSet<String>,
}

impl Replication {
    fn new(app_distsearch: Option<&str>) -> Replication {
        let mut merged =
            parse_conf_text(SYSTEM_DEFAULT_DISTSEARCH, "system/default/distsearch.conf");
        if let Some(text) = app_distsearch {
            for (stanza, keys) in parse_conf_text(text, "default/distsearch.conf") {
                merged.entry(stanza).or_default().extend(keys);
            }
        }
        let stanza = |name: &str| merged.get(name).cloned().unwrap_or_default();
        let compile = |name: &str| -> Vec<(String, Pattern)> {
            stanza(name)
                .into_iter()
                .map(|(k, v)| (k, Pattern::new(&v)))
                .collect()
        };
        let refine = stanza("replicationSettings:refineConf")
            .into_iter()
            .filter_map(|(k, v)| {
                let conf = k.strip_prefix("replicate.")?.to_string();
                crate_bool(&v).then_some(conf)
            })
            .collect();
        Replication {
            allow: compile("replicationAllowlist"),
            deny: compile("replicationDenylist"),
            refine,
        }
    }

    /// Whether `path` (relative to `$SPLUNK_HOME/etc`) is in the bundle.
    fn replicates(&self, path: &str, anchor: Anchor) -> bool {
        if self.deny.iter().any(|(_, p)| p.matches(path, anchor)) {
            return false;
        }
        self.allow.iter().any(|(name, p)| {
            p.matches(path, anchor) && (!name.starts_with("refine.") || self.refined(path))
        })
    }

    /// The refineConf filter: a `<type>.conf` file only when
    /// `replicate.<type> = true`; `.meta` files pass (their stanzas are
    /// filtered by conf type, which this emulation does not model).
    fn refined(&self, path: &str) -> bool {
        let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
        match file.strip_suffix(".conf") {
            Some(conf_type) => self.refine.contains(conf_type),
            None => true,
        }
    }

    /// The package files (`<app>/...` relative) that reach the peers, the
    /// same under every reading of the anchoring.
    fn bundle(&self, files: &[String]) -> BTreeSet<String> {
        let per_anchor: Vec<BTreeSet<String>> = ANCHORS
            .iter()
            .map(|&anchor| {
                files
                    .iter()
                    .filter(|f| self.replicates(&format!("apps/{f}"), anchor))
                    .cloned()
                    .collect()
            })
            .collect();
        for (anchor, set) in ANCHORS.iter().zip(&per_anchor) {
            assert_eq!(
                set, &per_anchor[0],
                "the bundle depends on how the patterns are anchored ({anchor:?} vs {:?})",
                ANCHORS[0]
            );
        }
        per_anchor.into_iter().next().expect("three readings")
    }
}

/// Splunk booleans as `replicate.<conf>` takes them.
fn crate_bool(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "1" | "true" | "t" | "yes" | "y" | "on"
    )
}

/// The regular files of the package, `winrmdetect/...`.
fn package_files(tgz: &Path) -> Vec<String> {
    list_tgz(tgz)
        .into_iter()
        .filter(|e| e.mode.starts_with('-'))
        .map(|e| e.path)
        .collect()
}

fn app_distsearch(app: &Path) -> String {
    read_text(&app.join("default/distsearch.conf"))
}

// ---------------------------------------------------------------------------
// commands.conf: which program runs
// ---------------------------------------------------------------------------

/// The extensions commands.conf.spec searches for a chunked command without
/// `filename` (the order is not verified; see [`resolve`]).
const CHUNKED_EXTENSIONS: [&str; 7] = [".py", ".pl", ".exe", ".bat", ".cmd", ".sh", ""];

/// The program splunkd runs for command `name` of the app in `app` on
/// `platform`, by commands.conf.spec: `filename` as written, else the name
/// with each extension, in `<PLATFORM>/bin` before `bin`. More than one
/// candidate in a directory fails: the spec leaves the order open.
fn resolve(
    app: &Path,
    stanza: &BTreeMap<String, String>,
    name: &str,
    platform: &str,
) -> Option<PathBuf> {
    assert_eq!(
        stanza.get("chunked").map(String::as_str),
        Some("true"),
        "the emulation covers chunked commands"
    );
    let names: Vec<String> = match stanza.get("filename") {
        Some(f) => vec![f.clone()],
        None => CHUNKED_EXTENSIONS
            .iter()
            .map(|ext| format!("{name}{ext}"))
            .collect(),
    };
    for dir in [app.join(platform).join("bin"), app.join("bin")] {
        let found: Vec<PathBuf> = names
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| p.is_file())
            .collect();
        assert!(
            found.len() <= 1,
            "{} candidates for {name} in {}: {found:?}; the order splunkd tries is not specified",
            found.len(),
            dir.display()
        );
        if let Some(p) = found.into_iter().next() {
            return Some(p);
        }
    }
    None
}

fn command_stanza(app: &Path) -> BTreeMap<String, String> {
    let conf = parse_conf_text(
        &read_text(&app.join("default/commands.conf")),
        "commands.conf",
    );
    conf.get(APP_ID)
        .cloned()
        .expect("commands.conf has a [winrmdetect] stanza")
}

// ---------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------

#[test]
fn bundle_pattern_language_follows_the_spec() {
    let p = |t: &str| Pattern::new(t);
    let whole = |t: &str, s: &str| p(t).matches(s, Anchor::Whole);
    // '...' recurses, '*' stays within one path component.
    assert!(whole("apps/...", "apps/a/b/c"));
    assert!(whole("apps/*/x", "apps/a/x"));
    assert!(!whole("apps/*/x", "apps/a/b/x"));
    assert!(!whole("apps/*", "apps/a\\b"), "'\\' is a separator too");
    // '.' is a literal dot: the review's `[/\\].*` matches only dot files.
    assert!(whole("bin/.*", "bin/.hidden"));
    assert!(!whole("bin/.*", "bin/winrmdetect"));
    let old_readme =
        "apps[/\\\\]winrmdetect[/\\\\](linux|darwin|windows)_x86(_64)?[/\\\\]bin[/\\\\].*";
    for anchor in ANCHORS {
        assert!(!p(old_readme).matches("apps/winrmdetect/linux_x86_64/bin/winrmdetect", anchor));
    }
    // Groups, '|', '?' and the negative lookahead of the default `other`.
    let other = "(system|(apps/(?!pdfserver)*)|users(/_reserved)?/*/*)/(bin|lookups)/...";
    assert!(whole(other, "apps/search/bin/x.py"));
    assert!(whole(other, "system/lookups/a.csv"));
    assert!(whole(other, "users/_reserved/bob/search/lookups/a.csv"));
    assert!(whole(other, "users/bob/search/bin/x"));
    assert!(!whole(other, "apps/pdfserver/bin/x"));
    assert!(!whole(
        other,
        "apps/winrmdetect/linux_x86_64/bin/winrmdetect"
    ));
    // Escaped backslash and character classes.
    assert!(whole("a[/\\\\]b", "a\\b") && whole("a[/\\\\]b", "a/b") && !whole("a[/\\\\]b", "a_b"));
    assert!(whole("a\\\\b", "a\\b"));
    // Anchoring readings differ on a pattern that does not end in `$`...
    assert!(!whole("apps/x", "apps/xy"));
    assert!(p("apps/x").matches("apps/xy", Anchor::Start));
    assert!(p("x/y").matches("apps/x/y", Anchor::Anywhere));
    // ... and agree on one that does.
    assert!(!p("apps/x$").matches("apps/xy", Anchor::Start));
    // The default denylist: lookup index files, .pyc anywhere.
    let system = Replication::new(None);
    assert!(!system.replicates("apps/a/lookups/big.csv.index/x", Anchor::Whole));
    assert!(system.replicates("apps/a/lookups/big.csv", Anchor::Whole));
    assert!(!system.replicates("apps/a/bin/m.pyc", Anchor::Whole));
    assert!(!system.replicates("apps/a/default/server.conf", Anchor::Whole));
    assert!(system.replicates("apps/a/default/props.conf", Anchor::Whole));
    assert!(!system.replicates("apps/a/default/savedsearches.conf", Anchor::Whole));
}

#[test]
fn bundle_sends_the_linux_command_and_its_confs_and_nothing_else() {
    let files = package_files(&app_tgz());
    let (_tmp, app) = extract_app(&app_tgz());
    let with_app = Replication::new(Some(&app_distsearch(&app))).bundle(&files);
    let system_only = Replication::new(None).bundle(&files);
    println!("bundle with the app's distsearch.conf: {with_app:#?}");
    println!("bundle with the system default alone: {system_only:#?}");

    let expected_in = [
        "winrmdetect/linux_x86_64/bin/winrmdetect",
        "winrmdetect/default/app.conf",
        "winrmdetect/default/commands.conf",
        "winrmdetect/default/macros.conf",
        "winrmdetect/default/winrmdetect.conf",
        "winrmdetect/metadata/default.meta",
    ];
    let expected_out = [
        "winrmdetect/linux_x86_64/bin/evtx_input",
        "winrmdetect/windows_x86_64/bin/winrmdetect.exe",
        "winrmdetect/windows_x86_64/bin/evtx_input.exe",
        "winrmdetect/default/savedsearches.conf",
        "winrmdetect/default/searchbnf.conf",
        "winrmdetect/default/inputs.conf",
        "winrmdetect/default/server.conf",
        "winrmdetect/default/distsearch.conf",
        "winrmdetect/app.manifest",
        "winrmdetect/README.md",
    ];
    for f in expected_in.iter().chain(&expected_out) {
        assert!(files.contains(&f.to_string()), "{f} is not in the package");
    }
    for f in expected_in {
        assert!(with_app.contains(f), "{f} must reach the search peers");
    }
    for f in expected_out {
        assert!(!with_app.contains(f), "{f} must stay out of the bundle");
    }
    // Anything else in the bundle is a conf type Splunk's default
    // refineConf already replicates (another helper may add eventtypes.conf
    // and such) or a lookup; no other program, no other file.
    let system = Replication::new(None);
    for f in &with_app {
        if expected_in.contains(&f.as_str()) {
            continue;
        }
        let conf_type = f
            .strip_prefix("winrmdetect/default/")
            .and_then(|c| c.strip_suffix(".conf"));
        assert!(
            conf_type.is_some_and(|t| system.refine.contains(t))
                || f.starts_with("winrmdetect/lookups/"),
            "unexpected file in the bundle: {f}"
        );
    }
    // Without the app's distsearch.conf (B1, M1): no program and no
    // winrmdetect.conf on the peers.
    assert!(!system_only.contains("winrmdetect/linux_x86_64/bin/winrmdetect"));
    assert!(!system_only.contains("winrmdetect/default/winrmdetect.conf"));
    assert!(system_only.contains("winrmdetect/default/macros.conf"));
    // A peer-side local/winrmdetect.conf (on the search head, replicated):
    assert!(Replication::new(Some(&app_distsearch(&app)))
        .replicates("apps/winrmdetect/local/winrmdetect.conf", Anchor::Whole));
}

#[test]
fn bundle_command_resolves_per_platform_without_filename() {
    let (_tmp, app) = extract_app(&app_tgz());
    let stanza = command_stanza(&app);
    assert!(
        !stanza.contains_key("filename"),
        "commands.conf sets `filename`: the spec then searches no `.exe`, so Windows would not \
         find winrmdetect.exe"
    );
    assert_eq!(
        resolve(&app, &stanza, APP_ID, "linux_x86_64"),
        Some(app.join("linux_x86_64/bin/winrmdetect"))
    );
    assert_eq!(
        resolve(&app, &stanza, APP_ID, "windows_x86_64"),
        Some(app.join("windows_x86_64/bin/winrmdetect.exe"))
    );
    // No program for the platforms the package does not build.
    for platform in ["linux_x86", "windows_x86", "darwin_x86_64"] {
        assert_eq!(resolve(&app, &stanza, APP_ID, platform), None, "{platform}");
    }
    // The conf as it was (M3): with `filename = winrmdetect` Windows finds nothing.
    let mut old = stanza.clone();
    old.insert("filename".into(), APP_ID.into());
    assert_eq!(
        resolve(&app, &old, APP_ID, "linux_x86_64"),
        Some(app.join("linux_x86_64/bin/winrmdetect"))
    );
    assert_eq!(resolve(&app, &old, APP_ID, "windows_x86_64"), None);
}

/// The PowerShell-remoting fixture in 50-row chunks.
fn psremoting() -> Vec<u8> {
    session(&[], &csv_chunks(&fixture("mordor_psremoting.csv"), 50))
}

const OVERRIDE_MARK: &str = "peer-local override";

/// (rows labelled WinRM_HostProcess, rows whose message carries the
/// override mark, the WinRM_RemoteExec_Child scores).
fn summarise(run: &Run) -> (usize, usize, BTreeSet<u32>) {
    let rows = run.rows();
    let host = rows
        .iter()
        .filter(|r| r.alert_types().iter().any(|a| a == "WinRM_HostProcess"))
        .count();
    let marked = rows
        .iter()
        .filter(|r| {
            r.try_get("risk_message")
                .is_some_and(|m| m.contains(OVERRIDE_MARK))
        })
        .count();
    let scores = rows
        .iter()
        .filter(|r| r.alert_types() == ["WinRM_RemoteExec_Child"])
        .map(|r| r.score())
        .collect();
    (host, marked, scores)
}

#[test]
fn bundle_on_a_peer_runs_the_command_and_honours_local_winrmdetect_conf() {
    use std::os::unix::fs::PermissionsExt;
    let tgz = app_tgz();
    let files = package_files(&app_tgz());
    let (_pkg, app) = extract_app(&tgz);
    let bundle = Replication::new(Some(&app_distsearch(&app))).bundle(&files);

    // The bundle, unpacked where a peer keeps it: var/run/searchpeers/<sh>-<time>/apps/...
    let tmp = TempDir::new("searchpeer");
    let peer = tmp.0.join("var/run/searchpeers/sh01-1767225600");
    for f in &bundle {
        let rel = f.strip_prefix("winrmdetect/").expect("inside the app");
        let to = peer.join("apps").join(APP_ID).join(rel);
        fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
        fs::copy(app.join(rel), &to).expect("copy keeps the mode bits");
    }
    let peer_app = peer.join("apps").join(APP_ID);
    let program = resolve(
        &peer_app,
        &command_stanza(&peer_app),
        APP_ID,
        "linux_x86_64",
    )
    .expect("the command resolves on a Linux peer");
    assert_eq!(program, peer_app.join("linux_x86_64/bin/winrmdetect"));
    // The exec bit is the package's (what splunkd does on extraction is not
    // known here; this copy keeps the mode).
    let shipped = list_tgz(&tgz)
        .into_iter()
        .find(|e| e.path == "winrmdetect/linux_x86_64/bin/winrmdetect")
        .expect("in the package")
        .mode;
    assert_eq!(shipped, "-rwxr-xr-x");
    let mode = fs::metadata(&program).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o755, "mode on the peer");
    assert!(!peer_app.join("windows_x86_64").exists());
    assert!(!peer_app.join("linux_x86_64/bin/evtx_input").exists());

    // Without a local override: the replicated defaults.
    let before = run_program(&program, psremoting(), &[], Expect::Clean);
    let (host, marked, scores) = summarise(&before);
    assert!(host > 0, "WinRM_HostProcess fires by default");
    assert_eq!(marked, 0);
    assert_eq!(scores, BTreeSet::from([45]), "impact 90 * confidence 50");

    // The search head's local/winrmdetect.conf, as the bundle carries it.
    fs::create_dir_all(peer_app.join("local")).expect("mkdir local");
    fs::write(
        peer_app.join("local/winrmdetect.conf"),
        format!(
            "[winrm_host_process]\ndisabled = true\n\n[winrm_remoteexec_child]\nimpact = 100\n\
             message = {OVERRIDE_MARK}: $process_name$ on $risk_object$\n"
        ),
    )
    .expect("write local/winrmdetect.conf");
    let after = run_program(&program, psremoting(), &[], Expect::Clean);
    let (host, marked, scores) = summarise(&after);
    assert_eq!(host, 0, "the disabled rule stays silent on the peer");
    assert!(marked > 0, "the peer-local message is used");
    assert_eq!(scores, BTreeSet::from([50]), "impact 100 * confidence 50");
    assert!(
        !after.rows().is_empty() && after.rows().len() == before.rows().len(),
        "streaming passes every event through either way"
    );
}

/// The Cloud package (`bin/build-app --cloud`): no program of the app in the
/// bundle, the command declared search-head-only.
#[test]
fn bundle_of_the_cloud_package_holds_no_program() {
    let tgz = env_path("WINRMDETECT_APP_TGZ_CLOUD");
    let files = package_files(&tgz);
    let (_tmp, app) = extract_app(&tgz);
    let bundle = Replication::new(Some(&app_distsearch(&app))).bundle(&files);
    println!("Cloud bundle: {bundle:#?}");
    for f in &files {
        if f.contains("_x86_64/bin/") {
            assert!(!bundle.contains(f), "{f} must stay out of the Cloud bundle");
        }
    }
    assert!(files.iter().filter(|f| f.contains("_x86_64/bin/")).count() == 4);
    assert!(bundle.contains("winrmdetect/default/macros.conf"));
    let stanza = command_stanza(&app);
    assert_eq!(stanza.get("local").map(String::as_str), Some("true"));
    // Splunk Cloud search heads are Linux: the Cloud package names the Linux
    // program (see bin/build-app), which a Windows search head would not find.
    assert_eq!(
        resolve(&app, &stanza, APP_ID, "linux_x86_64"),
        Some(app.join("linux_x86_64/bin/winrmdetect"))
    );
    assert_eq!(resolve(&app, &stanza, APP_ID, "windows_x86_64"), None);
}
