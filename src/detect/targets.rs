//! Where an event says the activity is going: remote host names parsed from
//! WinRM connection strings and from command lines.
//!
//! Everything here is pure string work with patterns compiled once. Targets
//! that are variables (`$c`) or files (`wmic /node:@hosts.txt`) cannot be
//! resolved and are left out; loopback names are kept but recognised by
//! [`is_loopback`] so callers can call the activity local.

use std::sync::OnceLock;

use regex::Regex;

/// The host in a WinRM connection string or URL:
/// `host/wsman?PSVersion=…`, `host:port/wsman`, `https://host:5986/wsman`,
/// `[fd00::1]:5985/wsman`, a bare `host`.
///
/// ```
/// use winrmdetect::detect::targets::parse_connection;
/// assert_eq!(parse_connection("SRV02.corp.example/wsman?PSVersion=5.1").as_deref(), Some("SRV02.corp.example"));
/// assert_eq!(parse_connection("https://[fd00::33]:5986/wsman").as_deref(), Some("fd00::33"));
/// ```
pub fn parse_connection(conn: &str) -> Option<String> {
    let s = conn.trim().trim_matches(|c| c == '"' || c == '\'');
    let s = strip_scheme(s);
    let host = if let Some(rest) = s.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else if s.matches(':').count() > 1 && !s.contains('/') {
        // A bare IPv6 literal without brackets.
        s
    } else {
        s.split(['/', ':', '?', ';', ' ']).next().unwrap_or("")
    };
    clean_host(host)
}

fn strip_scheme(s: &str) -> &str {
    let lower = s.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    if lower.starts_with("https://") {
        &s[8..]
    } else if lower.starts_with("http://") {
        &s[7..]
    } else {
        s
    }
}

fn clean_host(h: &str) -> Option<String> {
    let h = h
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\'' | ',' | '(' | ')' | '{' | '}'));
    let ok = !h.is_empty()
        && !h.starts_with('$')
        && !h.starts_with('@')
        && !h.starts_with('-')
        && h.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%'));
    ok.then(|| h.to_string())
}

/// True for `localhost`, `127.0.0.0/8`, `::1`, `.` and the like.
pub fn is_loopback(host: &str) -> bool {
    let h = host
        .trim_matches(|c| c == '[' || c == ']')
        .to_ascii_lowercase();
    h == "localhost"
        || h.starts_with("localhost.")
        || h == "."
        || h.starts_with("127.")
        || h == "::1"
        || h == "0:0:0:0:0:0:0:1"
        || h == "0.0.0.0"
}

/// The short (NetBIOS-like) form of a host name, lower-cased: `SRV02.corp.example` → `srv02`.
/// IP literals are returned whole.
pub fn short_host(host: &str) -> String {
    let h = host.trim().to_ascii_lowercase();
    if h.parse::<std::net::IpAddr>().is_ok() {
        return h;
    }
    h.split('.').next().unwrap_or("").to_string()
}

/// An account as hops and risk objects key it: no `DOMAIN\\` or `@realm`,
/// lower-case.
pub fn user_key(u: &str) -> String {
    let u = u.rsplit('\\').next().unwrap_or(u);
    u.split('@').next().unwrap_or(u).to_ascii_lowercase()
}

struct Patterns {
    computer_name: Regex,
    enter_pssession: Regex,
    connection_uri: Regex,
    winrs_remote: Regex,
    wmic_node: Regex,
    evil_winrm: Regex,
    tool_target: Regex,
    tool_computername: Regex,
    netexec: Regex,
    wmi_path: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        // A value: a quoted string or a run up to whitespace / a separator.
        // Comma lists stay together and are split afterwards.
        let item = r#"(?:"[^"]*"|'[^']*'|[^\s;|(){},]+)"#;
        let value = format!(r"({item}(?:\s*,\s*{item})*)");
        let re = |p: String| Regex::new(&p).expect("built-in pattern compiles");
        Patterns {
            computer_name: re(format!(
                r"(?i)(?:^|[\s(])-(?:ComputerName|cn)(?::|\s+)\s*{value}"
            )),
            enter_pssession: re(format!(r"(?i)\bEnter-PSSession\s+{value}")),
            connection_uri: re(format!(r"(?i)-(?:ConnectionUri|Uri)(?::|\s+)\s*{value}")),
            winrs_remote: re(format!(r"(?i)(?:^|\s)[-/](?:r|remote):{value}")),
            wmic_node: re(format!(r"(?i)[-/]node:\s*{value}")),
            evil_winrm: re(format!(r"(?i)(?:^|\s)-i\s+{value}")),
            tool_target: re(format!(r"(?i)(?:^|\s)-Target(?::|\s+)\s*{value}")),
            tool_computername: re(format!(r"(?i)(?:^|\s)computername=\s*{value}")),
            netexec: re(format!(
                r"(?i)\b(?:nxc|netexec|crackmapexec|cme)(?:\.exe|\.py)?\s+(?:smb|wmi|winrm|mssql|ldap|ssh|rdp)\s+({item})"
            )),
            wmi_path: re(r#"(?i)\\\\([^\\\s'"]+)\\root\\"#.to_string()),
        }
    })
}

/// Remote targets named on a command line or in a script block:
/// `-ComputerName X` / `-cn X` (also `a,b` lists and quoted values),
/// positional `Enter-PSSession X`, `-ConnectionUri http(s)://X:5985/wsman`,
/// `winrs -r:X` / `-remote:X` / `/r:X`, `wmic /node:X` (quoted, comma lists),
/// and evil-winrm's `-i X` when `evil` is set. Duplicates are removed; order
/// of first appearance is kept.
pub fn command_line_targets(cmd: &str, evil: bool) -> Vec<String> {
    let p = patterns();
    let mut out: Vec<String> = Vec::new();
    let mut push = |h: Option<String>| push_new(&mut out, h);
    for c in p.computer_name.captures_iter(cmd) {
        for part in list_items(&c[1]) {
            push(parse_connection(part));
        }
    }
    for c in p.enter_pssession.captures_iter(cmd) {
        let v = unquote(&c[1]);
        if !v.starts_with('-') {
            push(parse_connection(v));
        }
    }
    for c in p.connection_uri.captures_iter(cmd) {
        push(parse_connection(unquote(&c[1])));
    }
    for c in p.winrs_remote.captures_iter(cmd) {
        push(parse_connection(unquote(&c[1])));
    }
    for c in p.wmic_node.captures_iter(cmd) {
        for part in list_items(&c[1]) {
            push(clean_host(part));
        }
    }
    if evil {
        for c in p.evil_winrm.captures_iter(cmd) {
            push(parse_connection(unquote(&c[1])));
        }
    }
    out
}

/// Remote targets an offensive tool's arguments name, beside those of
/// [`command_line_targets`]: `-Target X` (Invoke-WMIExec, WMImplant),
/// `computername=X` (SharpWMI, SharpMove), the host after NetExec's or
/// CrackMapExec's protocol (`nxc smb X`), a remote WMI namespace path
/// (`\\X\root\cimv2`). Loopback names are left out.
pub fn tool_targets(cmd: &str) -> Vec<String> {
    let p = patterns();
    let mut out = command_line_targets(cmd, false);
    for re in [
        &p.tool_target,
        &p.tool_computername,
        &p.netexec,
        &p.wmi_path,
    ] {
        for c in re.captures_iter(cmd) {
            for part in list_items(&c[1]) {
                push_new(&mut out, parse_connection(unquote(part)));
            }
        }
    }
    out.retain(|h| !is_loopback(h) && h != ".");
    out
}

/// Adds a host unless it is there already (ASCII case aside).
fn push_new(out: &mut Vec<String>, h: Option<String>) {
    if let Some(h) = h {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&h)) {
            out.push(h);
        }
    }
}

/// Splits `a,'b',"c, d"` into `a`, `b`, `c`, `d`: commas separate items,
/// quotes group, and a quoted item may itself hold a comma list.
fn list_items(s: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (item, tail) = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => match rest[1..].find(q) {
                Some(end) => (&rest[1..end + 1], &rest[end + 2..]),
                None => (&rest[1..], ""),
            },
            _ => match rest.find(',') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            },
        };
        items.extend(item.split(',').map(str::trim).filter(|i| !i.is_empty()));
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    items
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.trim();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings() {
        let cases = [
            (
                "SRV02.corp.example/wsman?PSVersion=5.1.19041.4291",
                Some("SRV02.corp.example"),
            ),
            ("SRV03.corp.example:5985/wsman", Some("SRV03.corp.example")),
            (
                "https://SRV03.corp.example:5986/wsman",
                Some("SRV03.corp.example"),
            ),
            ("HTTP://10.0.1.33:5985/wsman", Some("10.0.1.33")),
            ("10.0.1.33/wsman?PSVersion=5.1", Some("10.0.1.33")),
            ("[fd00::33]:5985/wsman", Some("fd00::33")),
            ("SRV03", Some("SRV03")),
            (
                "localhost:47001/WSMan?MSP=6a83;PSVersion=5.1",
                Some("localhost"),
            ),
            ("", None),
            ("/wsman", None),
            // A port without a path; a bare IPv6 literal (two colons, no
            // path) is one host, with a path it is cut at the first colon.
            ("srv02:5985", Some("srv02")),
            ("fd00::33", Some("fd00::33")),
            ("fd00::33/wsman", Some("fd00")),
            // Quoted whole, scheme and all.
            ("'https://srv02:5986/wsman'", Some("srv02")),
            ("\"http://10.0.1.33:5985\"", Some("10.0.1.33")),
        ];
        for (input, want) in cases {
            assert_eq!(parse_connection(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn loopback() {
        for h in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.9.9.9",
            "::1",
            "[::1]",
            ".",
            "localhost.localdomain",
            "0:0:0:0:0:0:0:1",
            "0.0.0.0",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["srv02", "10.0.0.1", "fd00::1", "localhostess"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn command_lines() {
        let t = |c: &str| command_line_targets(c, false);
        assert_eq!(
            t("powershell Invoke-Command -ComputerName SRV02 -ScriptBlock {whoami}"),
            ["SRV02"]
        );
        assert_eq!(
            t("Invoke-Command -cn 'SRV02','SRV03' {hostname}"),
            ["SRV02", "SRV03"]
        );
        assert_eq!(
            t("Invoke-Command -ComputerName:srv02.corp.example {x}"),
            ["srv02.corp.example"]
        );
        assert_eq!(
            t("Invoke-Command -ComputerName \"a, b\" -sb {x}"),
            ["a", "b"]
        );
        assert_eq!(t("Enter-PSSession dc01"), ["dc01"]);
        assert_eq!(
            t("Enter-PSSession -ComputerName dc01 -Credential $c"),
            ["dc01"]
        );
        assert_eq!(
            t("New-PSSession -ConnectionUri https://web01:5986/wsman"),
            ["web01"]
        );
        assert_eq!(t("winrs -r:srv04 cmd"), ["srv04"]);
        assert_eq!(
            t("winrs.exe /r:http://10.1.1.4:5985 ipconfig"),
            ["10.1.1.4"]
        );
        assert_eq!(t("winrs -remote:srv05.corp cmd /c dir"), ["srv05.corp"]);
        assert_eq!(
            t("wmic /node:\"10.0.0.5\" process call create calc"),
            ["10.0.0.5"]
        );
        assert_eq!(t("wmic /node:srv1,srv2 os get caption"), ["srv1", "srv2"]);
        // Quotes group a list whose items are padded with blanks.
        assert_eq!(
            t("wmic /node:\" srv1 , srv2 \",'srv3' os get caption"),
            ["srv1", "srv2", "srv3"]
        );
        assert_eq!(
            t("wmic /node:@hosts.txt process list"),
            Vec::<String>::new()
        );
        assert_eq!(
            t("Invoke-Command -ComputerName $target {x}"),
            Vec::<String>::new()
        );
        assert_eq!(t("Get-Process -Name x"), Vec::<String>::new());
        assert_eq!(
            command_line_targets("ruby evil-winrm -i 10.0.0.9 -u a -p b", true),
            ["10.0.0.9"]
        );
    }

    #[test]
    fn short_names() {
        assert_eq!(short_host("SRV02.corp.example"), "srv02");
        assert_eq!(short_host("10.0.1.2"), "10.0.1.2");
    }
}
