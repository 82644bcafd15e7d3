//! The modular input's configuration: the scheme it prints, the `<input>`
//! document splunkd sends on stdin to run it (checkpoint directory and
//! stanzas) and the `<items>` of `--validate-arguments`, which go through
//! the same parameter reader.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;

use super::paths::{expand, is_glob};
use crate::conf::parse_bool;
use crate::error::{Error, Result};
use crate::evtx::Rendered;

/// The scheme XML.
pub const SCHEME: &str = r#"<scheme>
    <title>EVTX files (winrmdetect)</title>
    <description>Reads Windows .evtx files on any platform and indexes them as XmlWinEventLog, as the Splunk Add-on for Microsoft Windows renders them.</description>
    <use_external_validation>true</use_external_validation>
    <use_single_instance>false</use_single_instance>
    <streaming_mode>xml</streaming_mode>
    <endpoint>
        <args>
            <arg name="path">
                <title>Path</title>
                <description>An .evtx file, a directory (every .evtx below it) or a glob (* and ? in the file name).</description>
                <data_type>string</data_type>
                <required_on_create>true</required_on_create>
            </arg>
            <arg name="channels">
                <title>Channels</title>
                <description>Comma-separated channels to keep, or "winrmdetect" for the channels the winrmdetect rules read; empty keeps all.</description>
                <data_type>string</data_type>
                <required_on_create>false</required_on_create>
            </arg>
            <arg name="event_ids">
                <title>Event IDs</title>
                <description>Comma-separated EventIDs to keep; empty keeps all.</description>
                <data_type>string</data_type>
                <required_on_create>false</required_on_create>
            </arg>
            <arg name="host_from_computer">
                <title>Host from Computer</title>
                <description>1 (default): host is the record's Computer; 0: the stanza's host.</description>
                <data_type>boolean</data_type>
                <required_on_create>false</required_on_create>
            </arg>
        </args>
    </endpoint>
</scheme>
"#;

/// The channels the winrmdetect rules read (`channels = winrmdetect`).
pub const PRESET_CHANNELS: [&str; 11] = [
    "Security",
    "Microsoft-Windows-Sysmon/Operational",
    "Microsoft-Windows-PowerShell/Operational",
    "Windows PowerShell",
    "Microsoft-Windows-WinRM/Operational",
    "Microsoft-Windows-WMI-Activity/Operational",
    "System",
    "Microsoft-Windows-Windows Remote Management/Operational",
    "Microsoft-Windows-TaskScheduler/Operational",
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
    "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
];

/// One stanza's settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stanza {
    /// `evtx_input://name`.
    pub name: String,
    /// File, directory or glob.
    pub path: String,
    /// Channels kept (lower-case); empty = all.
    pub channels: BTreeSet<String>,
    /// EventIDs kept; empty = all.
    pub event_ids: BTreeSet<u32>,
    /// `index`, when given.
    pub index: Option<String>,
    /// `host`, when given.
    pub host: Option<String>,
    /// Take `host` from `<Computer>`.
    pub host_from_computer: bool,
}

impl Stanza {
    /// Whether the channel and EventID filters keep a record.
    pub fn keeps(&self, r: &Rendered) -> bool {
        (self.channels.is_empty() || self.channels.contains(&r.channel.to_ascii_lowercase()))
            && (self.event_ids.is_empty() || self.event_ids.contains(&r.event_id))
    }
}

/// The `<input>` document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputConfig {
    /// Where checkpoints go.
    pub checkpoint_dir: PathBuf,
    /// The stanzas.
    pub stanzas: Vec<Stanza>,
}

/// Params of `<input>` (stanzas) or `<items>` (one item), in order.
/// Stanzas or items: name and `(param, value)` pairs.
type Blocks = Vec<(String, Vec<(String, String)>)>;

fn parse_params(xml: &str) -> Result<(PathBuf, Blocks)> {
    let xml = xml.trim_start_matches('\u{feff}');
    let mut r = Reader::from_str(xml);
    let bad = |m: String| Error::Input(format!("malformed configuration XML: {m}"));
    let (mut checkpoint, mut blocks) = (PathBuf::new(), Vec::new());
    let (mut element, mut param): (String, Option<String>) = (String::new(), None);
    loop {
        match r.read_event().map_err(|e| bad(e.to_string()))? {
            XmlEvent::Start(e) => {
                element = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let name = e
                    .try_get_attribute("name")
                    .map_err(|e| bad(e.to_string()))?
                    .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
                match element.as_str() {
                    "stanza" | "item" => blocks.push((name.unwrap_or_default(), Vec::new())),
                    "param" | "param_list" => param = name,
                    _ => {}
                }
            }
            XmlEvent::Text(t) => {
                let v = t.unescape().map_err(|e| bad(e.to_string()))?.into_owned();
                if element == "checkpoint_dir" {
                    checkpoint = PathBuf::from(v.trim());
                } else if let (Some(p), Some((_, params))) = (&param, blocks.last_mut()) {
                    if element == "param" || element == "value" {
                        params.push((p.clone(), v));
                    }
                }
            }
            XmlEvent::End(e) => {
                let n = e.name();
                if n.as_ref() == b"param" || n.as_ref() == b"param_list" {
                    param = None;
                }
                element.clear();
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    Ok((checkpoint, blocks))
}

fn stanza_of(name: String, params: &[(String, String)]) -> Result<Stanza> {
    let get = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut s = Stanza {
        name,
        host_from_computer: true,
        ..Stanza::default()
    };
    s.path = get("path").ok_or_else(|| Error::Input("path is required".into()))?;
    if let Some(c) = get("channels") {
        for c in c.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            if c.eq_ignore_ascii_case("winrmdetect") {
                s.channels
                    .extend(PRESET_CHANNELS.iter().map(|c| c.to_ascii_lowercase()));
            } else {
                s.channels.insert(c.to_ascii_lowercase());
            }
        }
    }
    if let Some(ids) = get("event_ids") {
        for id in ids.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            s.event_ids.insert(
                id.parse()
                    .map_err(|_| Error::Input(format!("event_ids: {id:?} is not an EventID")))?,
            );
        }
    }
    if let Some(h) = get("host_from_computer") {
        s.host_from_computer = parse_bool(&h)
            .ok_or_else(|| Error::Input(format!("host_from_computer: {h:?} is not a boolean")))?;
    }
    s.index = get("index");
    s.host = get("host");
    Ok(s)
}

/// Parses the `<input>` document.
pub fn parse_input(xml: &str) -> Result<InputConfig> {
    let (checkpoint_dir, blocks) = parse_params(xml)?;
    let stanzas = blocks
        .into_iter()
        .map(|(n, p)| stanza_of(n, &p))
        .collect::<Result<Vec<_>>>()?;
    Ok(InputConfig {
        checkpoint_dir,
        stanzas,
    })
}

/// Checks the `<items>` document of `--validate-arguments`.
pub fn validate(xml: &str) -> Result<()> {
    let (_, blocks) = parse_params(xml)?;
    let (name, params) = blocks
        .into_iter()
        .next()
        .ok_or_else(|| Error::Input("no <item> in the validation request".into()))?;
    let s = stanza_of(name, &params)?;
    let files = expand(&s.path)?;
    if files.is_empty() && !is_glob(&s.path) && !Path::new(&s.path).is_dir() {
        return Err(Error::Input(format!("path {:?}: no such file", s.path)));
    }
    for f in &files {
        std::fs::File::open(f).map_err(|e| Error::File {
            context: format!("path {}: cannot read", f.display()),
            source: e,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUT: &str = r#"<input><server_host>sh</server_host><session_key>SECRET</session_key><checkpoint_dir>/tmp/cp</checkpoint_dir><configuration><stanza name="evtx_input://a" app="winrmdetect"><param name="path">/data/*.evtx</param><param name="channels">winrmdetect, Application</param><param name="event_ids">4624,91</param><param name="index">wineventlog</param><param name="host_from_computer">0</param><param name="host">collector</param></stanza></configuration></input>"#;

    #[test]
    fn input_xml_with_stanza_params() {
        let c = parse_input(INPUT).unwrap();
        assert_eq!(c.checkpoint_dir, PathBuf::from("/tmp/cp"));
        let s = &c.stanzas[0];
        assert_eq!(s.name, "evtx_input://a");
        assert_eq!(s.path, "/data/*.evtx");
        assert!(s.channels.contains("security") && s.channels.contains("application"));
        assert_eq!(s.event_ids, [91, 4624].into_iter().collect());
        assert_eq!(s.index.as_deref(), Some("wineventlog"));
        assert!(!s.host_from_computer);
        let bad = INPUT.replace("4624,91", "4624,x");
        assert!(parse_input(&bad).unwrap_err().to_string().contains("\"x\""));
        // Without the parameter, the host is the event's Computer.
        let plain = INPUT.replace("<param name=\"host_from_computer\">0</param>", "");
        assert!(parse_input(&plain).unwrap().stanzas[0].host_from_computer);
    }

    /// `host_from_computer` is a Splunk boolean (`conf::parse_bool`): since
    /// issue 12 that takes `on`/`off` too.
    #[test]
    fn host_from_computer_is_a_splunk_boolean() {
        let with = |v: &str| {
            let xml = INPUT.replace(
                "<param name=\"host_from_computer\">0</param>",
                &format!("<param name=\"host_from_computer\">{v}</param>"),
            );
            parse_input(&xml).map(|c| c.stanzas[0].host_from_computer)
        };
        for (v, want) in [("1", true), ("Yes", true), ("on", true), ("t", true)] {
            assert_eq!(with(v).unwrap(), want, "{v}");
        }
        for (v, want) in [("0", false), ("NO", false), ("off", false), ("f", false)] {
            assert_eq!(with(v).unwrap(), want, "{v}");
        }
        assert_eq!(
            with("maybe").unwrap_err().to_string(),
            "host_from_computer: \"maybe\" is not a boolean"
        );
    }
}
