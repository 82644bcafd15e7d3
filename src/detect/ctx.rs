//! An event prepared for the rules ([`Ctx`]): its kind, the file names
//! and the one lower-cased text most rules look at, computed once; the
//! multi-keyword scan ([`Keywords`]) that decides most events without
//! lower-casing their command lines.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::detect::psmodule;
use crate::event::kind::Kind;
use crate::event::{Event, F};

/// An event prepared for matching: its kind and the lower-cased strings most
/// rules look at, computed once.
pub struct Ctx<'e> {
    /// The keywords of the rules, which `text` was scanned for.
    words: &'e Keywords,
    /// The event.
    pub ev: &'e dyn Event,
    /// Its shape.
    pub kind: Kind,
    /// Basename of the process image (process events), else "".
    pub image: Name<'e>,
    /// Basename of the parent image, else "".
    pub parent: Name<'e>,
    /// `OriginalFileName`, else "".
    pub original: Name<'e>,
    /// Lower-case command line, script block text, the commands a 4103
    /// recorded ([`Ctx::commands`]) or WMI subscription text; else "".
    pub text: String,
    /// The PowerShell host context of a 400 / 600 / 4103 (host name and
    /// application, engine and provider details: [`ps_blob`]); else "".
    pub context: String,
    /// The commands a 4103's `Payload` records, as PowerShell source
    /// ([`psmodule::commands`]); else "".
    pub commands: String,
    /// Whether `text` may contain a keyword: for command lines and script
    /// blocks, whether the one scan for the rules' keywords found any (else `text`
    /// is left empty); for other texts, whether there is text at all.
    pub(crate) keywords: bool,
}

/// The keywords of every rule, and one scan for them all.
#[derive(Debug, Clone)]
pub struct Keywords {
    words: Vec<&'static str>,
    scanner: Scanner,
}

impl Keywords {
    /// A scan for `words` (lower-case).
    pub fn new(words: Vec<&'static str>) -> Self {
        let scanner = Scanner::new(&words);
        Keywords { words, scanner }
    }

    /// Whether `needle` is one of the keywords.
    pub fn contains(&self, needle: &str) -> bool {
        self.words.contains(&needle)
    }

    /// Whether a lower-case text holds any keyword.
    pub fn found_in(&self, text: &str) -> bool {
        self.scanner.is_match(text)
    }
}

/// A multi-string search: Teddy (SIMD) where the CPU has it, Aho-Corasick
/// otherwise.
#[derive(Debug, Clone)]
enum Scanner {
    Packed(aho_corasick::packed::Searcher),
    Automaton(aho_corasick::AhoCorasick),
}

impl Scanner {
    fn new(words: &[&str]) -> Scanner {
        let mut b = aho_corasick::packed::Config::new().builder();
        match b.extend(words).build() {
            Some(s) => Scanner::Packed(s),
            None => Scanner::Automaton(
                aho_corasick::AhoCorasick::new(words).expect("built-in keywords compile"),
            ),
        }
    }

    fn is_match(&self, text: &str) -> bool {
        match self {
            Scanner::Packed(s) => s.find(text).is_some(),
            Scanner::Automaton(ac) => ac.is_match(text),
        }
    }
}

impl<'e> Ctx<'e> {
    /// Prepares an event already classified, scanning its command line or
    /// script block for `words`.
    pub fn with_kind(ev: &'e dyn Event, kind: Kind, words: &'e Keywords) -> Self {
        let name = |f: F| {
            Name(
                ev.get(f)
                    .value_cow()
                    .map(|v| part(v, |s| s))
                    .unwrap_or_default(),
            )
        };
        let base = |f: F| {
            Name(
                ev.get(f)
                    .value_cow()
                    .map(|v| part(v, basename))
                    .unwrap_or_default(),
            )
        };
        // Command lines and script blocks are lower-cased only when the one
        // case-insensitive keyword scan finds something: most never are.
        let scan = |v: &str| {
            let lower = v.to_ascii_lowercase();
            if words.found_in(&lower) {
                lower
            } else {
                String::new()
            }
        };
        let scanned = |f: F| ev.get(f).value().map(scan).unwrap_or_default();
        let text_only = |t: String| (Name::default(), Name::default(), Name::default(), t);
        let (context, commands) = match kind {
            Kind::PsModule => (
                ps_blob(ev),
                psmodule::commands(ev.get(F::Payload).or_empty()),
            ),
            Kind::PsClassic(_) => (ps_blob(ev), String::new()),
            _ => Default::default(),
        };
        let (image, parent, original, text) = match kind {
            Kind::ProcessCreate => (
                base(F::Image),
                base(F::ParentImage),
                name(F::OriginalFileName),
                scanned(F::CommandLine),
            ),
            Kind::ScriptBlock => text_only(scanned(F::ScriptBlockText)),
            Kind::PsModule => text_only(scan(&commands)),
            Kind::ImageLoad | Kind::Registry(_) | Kind::FileCreate => (
                base(F::Image),
                Name::default(),
                Name::default(),
                String::new(),
            ),
            // 5857/5858 are context; only subscription events need the text.
            Kind::SysmonWmi(_) | Kind::WmiActivity(5859..=5861) => text_only(wmi_text(ev)),
            _ => Default::default(),
        };
        // Command lines and script blocks are kept only when the scan found
        // a keyword; other texts whenever there is one.
        let keywords = !text.is_empty();
        Ctx {
            words,
            ev,
            kind,
            image,
            parent,
            original,
            text,
            context,
            commands,
            keywords,
        }
    }

    /// The source text the event shows, as written: a command line, a
    /// script block, or the commands a 4103 recorded; else "".
    pub fn source(&self) -> Cow<'_, str> {
        match self.kind {
            Kind::ProcessCreate => self.get(F::CommandLine).unwrap_or_default(),
            Kind::ScriptBlock => self.get(F::ScriptBlockText).unwrap_or_default(),
            Kind::PsModule => Cow::Borrowed(self.commands.as_str()),
            _ => Cow::Borrowed(""),
        }
    }

    /// Whether the PowerShell host context holds `needle` (plain substring:
    /// the context is not scanned for keywords).
    pub fn in_context(&self, needle: &str) -> bool {
        self.context.contains(needle)
    }

    /// A field's value, if the event has it.
    pub fn get(&self, f: F) -> Option<Cow<'e, str>> {
        match self.ev.get(f) {
            crate::event::Field::Value(v) => Some(v),
            crate::event::Field::Missing => None,
        }
    }

    /// `text.contains(needle)`, for a needle its rule declares (and so one
    /// of the keywords the text was scanned for).
    pub fn has(&self, needle: &str) -> bool {
        #[cfg(test)]
        noted::note(needle);
        debug_assert!(
            self.words.contains(needle),
            "{needle:?} is not a keyword of any rule"
        );
        self.keywords && self.text.contains(needle)
    }

    /// Any of the needles in `text` ([`Ctx::has`]).
    pub fn any(&self, needles: &[&str]) -> bool {
        needles.iter().any(|n| self.has(n))
    }

    /// Whether the image or its `OriginalFileName` is one of `names`.
    pub fn is_image(&self, names: &[&str]) -> bool {
        self.image.is_in(names) || (!self.original.is_empty() && self.original.is_in(names))
    }

    /// The image and parent names as threat objects.
    pub fn process_threats(&self) -> Vec<(String, &'static str)> {
        let mut t = Vec::new();
        if !self.image.is_empty() {
            t.push((self.image.lower(), "process_name"));
        }
        if !self.parent.is_empty() {
            t.push((self.parent.lower(), "parent_process_name"));
        }
        t
    }
}

/// `f` of a value, borrowed when the value is.
pub fn part<'a>(v: Cow<'a, str>, f: impl Fn(&str) -> &str) -> Cow<'a, str> {
    match v {
        Cow::Borrowed(s) => Cow::Borrowed(f(s)),
        Cow::Owned(s) => Cow::Owned(f(&s).to_string()),
    }
}

/// A file name, compared without regard to ASCII case (Windows' rule), so
/// no lower-case copy is made for every event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Name<'e>(pub Cow<'e, str>);

impl Name<'_> {
    /// True when there is no name.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when the name is one of `names` (lower-case ASCII).
    pub fn is_in(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.0.eq_ignore_ascii_case(n))
    }

    /// The name in lower case, for output.
    pub fn lower(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl PartialEq<&str> for Name<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

/// The last path component of a Windows or POSIX path.
pub fn basename(path: &str) -> &str {
    let b = path.as_bytes();
    // Trimming is rare work: most paths neither start nor end with blanks
    // or quotes.
    let p = match (b.first(), b.last()) {
        (Some(f), Some(l))
            if f.is_ascii_whitespace() || l.is_ascii_whitespace() || *f == b'"' || *l == b'"' =>
        {
            path.trim().trim_matches('"')
        }
        _ => path,
    };
    match p.bytes().rposition(|b| b == b'\\' || b == b'/') {
        Some(i) => &p[i + 1..],
        None => p,
    }
}

/// The PowerShell engine/module context as one lower-case string with all
/// whitespace removed, so `Host Name = ServerRemoteHost` and
/// `HostName=ServerRemoteHost` look alike. Takes split fields when present,
/// else the raw blobs (`ContextInfo`, `Data`, `Message`, `_raw`).
pub fn ps_blob(ev: &dyn Event) -> String {
    // The PowerShell rules need `ServerRemoteHost` or the `WSMan` provider;
    // without either there is nothing to fold. Windows writes them in these
    // casings; a SIMD search for the exact strings is far cheaper than a
    // case-insensitive one, on every PowerShell event.
    static NEEDED: OnceLock<Scanner> = OnceLock::new();
    let needed = NEEDED.get_or_init(|| {
        Scanner::new(&[
            "ServerRemoteHost",
            "serverremotehost",
            "SERVERREMOTEHOST",
            "Serverremotehost",
            "WSMan",
            "wsman",
            "WSMAN",
            "Wsman",
            "WsMan",
        ])
    });
    let sources = [
        F::HostName,
        F::HostApplication,
        F::ContextInfo,
        F::PsData,
        F::Message,
    ];
    let any_needed = sources
        .iter()
        .any(|f| ev.get(*f).value().is_some_and(|v| needed.is_match(v)))
        || (sources.iter().all(|f| ev.get(*f).value().is_none())
            && needed.is_match(ev.get(F::Raw).or_empty()));
    if !any_needed {
        return String::new();
    }
    let mut s = String::new();
    for f in [F::HostName, F::HostApplication] {
        if let Some(v) = ev.get(f).value() {
            let key = if f == F::HostName {
                "hostname="
            } else {
                "hostapplication="
            };
            s.push_str(key);
            s.push_str(v);
            s.push('\n');
        }
    }
    for f in [F::ContextInfo, F::PsData, F::Message] {
        if let Some(v) = ev.get(f).value() {
            s.push_str(v);
            s.push('\n');
        }
    }
    if s.is_empty() {
        s.push_str(ev.get(F::Raw).or_empty());
    }
    // ASCII-only folding keeps multi-byte UTF-8 sequences intact, and every
    // needle the rules look for is ASCII.
    s.retain(|c| !c.is_whitespace());
    s.make_ascii_lowercase();
    s
}

/// The host application of a PowerShell 400 / 600 / 4103, as written: the
/// `HostApplication` field, else the `Host Application = …` line of a
/// 4103's `ContextInfo` or the `HostApplication=…` line of a 400's or
/// 600's engine text (`Data`, `Message`); None when there is none or it is
/// empty.
pub fn host_application(ev: &dyn Event) -> Option<String> {
    if let Some(v) = ev.get(F::HostApplication).value() {
        return Some(v.trim().to_string()).filter(|v| !v.is_empty());
    }
    [F::ContextInfo, F::PsData, F::Message]
        .iter()
        .filter_map(|f| ev.get(*f).value_cow())
        .find_map(|text| {
            text.lines().find_map(|line| {
                let (key, value) = line.split_once('=')?;
                // `Host Application` and `HostApplication`, any case.
                let key = key.chars().filter(|c| !c.is_whitespace());
                key.map(|c| c.to_ascii_lowercase())
                    .eq("hostapplication".chars())
                    .then(|| value.trim().to_string())
            })
        })
        .filter(|v| !v.is_empty())
}

/// The text of a WMI subscription event, lower-cased: consumer, type, query,
/// cause, and the raw event for renderings that keep them only there.
pub fn wmi_text(ev: &dyn Event) -> String {
    let mut s = String::new();
    for f in [
        F::WmiConsumer,
        F::WmiType,
        F::WmiQuery,
        F::WmiPossibleCause,
        F::WmiOperation,
        F::WmiName,
        F::Message,
    ] {
        if let Some(v) = ev.get(f).value() {
            s.push_str(v);
            s.push('\n');
        }
    }
    if s.is_empty() {
        s.push_str(ev.get(F::Raw).or_empty());
    }
    s.make_ascii_lowercase();
    s
}

/// The needles `Ctx::has` was asked for, in test builds: a rule's test
/// checks them against the needles the rule declares, in release builds
/// too (where `debug_assert!` is compiled out).
#[cfg(test)]
pub(crate) mod noted {
    use std::cell::RefCell;

    thread_local! {
        static NOTED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    /// Remembers one needle.
    pub fn note(needle: &str) {
        NOTED.with(|m| {
            let mut m = m.borrow_mut();
            if !m.iter().any(|n| n == needle) {
                m.push(needle.to_string());
            }
        });
    }

    /// The needles noted since the last call.
    pub fn take() -> Vec<String> {
        NOTED.with(|m| std::mem::take(&mut *m.borrow_mut()))
    }
}
