//! `hunt --html` in a real browser: the page `cli::html::html` writes for
//! a fixture's report (plus a hostile host and command line) is opened by
//! headless Chromium from disk, and its rendered DOM is read back
//! (`--dump-dom`). The graph has one node per host and one edge per hop,
//! the page's script ran without error and filled the alert table, the
//! `#filter=` of the address filters it, nothing was injected, nothing was
//! printed to the console and nothing was fetched (Chromium's net log).
//!
//! Chromium is `$WINRMDETECT_CHROMIUM`, else `chromium` on `PATH`
//! (`bash bin/test` installs Debian's `chromium`); without it the tests
//! fail, never skip. `WINRMDETECT_HTML_OUT=FILE` keeps a copy of the
//! fixture's page (without the hostile additions) to look at.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use winrmdetect::cli::html::html;
use winrmdetect::cli::report::{Alert, Report, Summary};
use winrmdetect::cli::scan::{hops_of_files, scan_csv};
use winrmdetect::correlate::Known;
use winrmdetect::detect::Engine;

use crate::app::TempDir;
use crate::harness::{fixture, wait_at_most, TIME_LIMIT};

/// The handmade WinRM fixture: a two-hop chain, failed attempts, winrs.
const FIXTURE: &str = "winrm_operational_handmade.csv";

/// A host name and a command line that would run script if they were
/// written into the page as markup.
const HOSTILE_HOST: &str = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">";
const HOSTILE_CMD: &str = "cmd /c \"'&<>\" </script><script>document.title='pwned'</script>";

/// The browser, or a failure that says how to get it.
pub(crate) fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("WINRMDETECT_CHROMIUM").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "WINRMDETECT_CHROMIUM={} does not exist: run `bash bin/test` (it installs chromium)",
            p.display()
        );
        return p;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "chromium is not on PATH and WINRMDETECT_CHROMIUM is not set: \
                 run `bash bin/test` (it installs Debian's chromium)"
            )
        })
}

/// The fixture's report, as `hunt` would make it.
fn fixture_report() -> Report {
    let engine = Engine::default();
    let data = fixture(FIXTURE);
    let scan = scan_csv(FIXTURE, &data, &engine, 1).expect("the fixture scans");
    let (hops, warnings) = hops_of_files(&[data], &engine, &Known::default());
    assert!(hops.len() >= 2, "the fixture has hops: {hops:?}");
    let mut alerts: Vec<Alert> = scan.alerts;
    for a in &mut alerts {
        a.file = FIXTURE.into();
    }
    Report {
        summary: Summary {
            files_read: 1,
            events: scan.events as u64,
            labelled: alerts.len(),
            ..Summary::default()
        },
        alerts,
        hops,
        warnings,
        ..Report::default()
    }
}

/// `report` with one more alert and one more hop whose host and command
/// line are hostile.
fn with_hostile(mut report: Report) -> Report {
    let mut bad = report.alerts[0].clone();
    bad.host = HOSTILE_HOST.into();
    bad.command_line = HOSTILE_CMD.into();
    report.alerts.push(bad);
    let mut bad = report.hops[0].clone();
    bad.src = HOSTILE_HOST.into();
    bad.id = "hop-hostile".into();
    bad.chain_id = "chain-hostile".into();
    report.hops.push(bad);
    report
}

/// What a run of the browser left.
struct Page {
    dom: String,
    stderr: String,
    net_log: String,
}

/// Opens `file` (plus `fragment`, e.g. `#filter=x`) in headless Chromium
/// with its own profile and a net log, and returns the rendered DOM.
fn open(dir: &Path, file: &Path, fragment: &str) -> Page {
    let log = dir.join("net.json");
    let mut args: Vec<String> = ["--enable-logging=stderr", "--v=1"]
        .map(String::from)
        .to_vec();
    args.push(format!("--log-net-log={}", log.display()));
    args.push("--dump-dom".into());
    args.push(format!("file://{}{fragment}", file.display()));
    let (dom, stderr) = run_chromium(dir, &args);
    Page {
        dom,
        stderr,
        net_log: fs::read_to_string(&log).expect("chromium wrote its net log"),
    }
}

/// Headless chromium with nothing of its own running: no sync, updates,
/// extensions or background requests.
const HEADLESS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
];

/// Runs chromium ([`HEADLESS`]) with `args` and a fresh profile, within the harness's
/// time limit, its stdout and stderr going to files in `dir`; returns
/// them, failing the test if chromium failed.
pub(crate) fn run_chromium(dir: &Path, args: &[String]) -> (String, String) {
    let profile = TempDir::new("chromium-profile");
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = Command::new(chromium())
        .args(HEADLESS)
        .arg(format!("--user-data-dir={}", profile.0.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .expect("starting chromium");
    let status = wait_at_most(&mut child, TIME_LIMIT, "chromium");
    let stderr = fs::read_to_string(&err).unwrap_or_default();
    assert!(status.success(), "chromium failed: {status}\n{stderr}");
    (fs::read_to_string(&out).expect("chromium's output"), stderr)
}

/// Writes `text` as `report.html` in `dir` and opens it.
fn render(dir: &TempDir, text: &str, fragment: &str) -> Page {
    let file = dir.0.join("report.html");
    fs::write(&file, text).unwrap();
    open(&dir.0, &file, fragment)
}

/// Attribute text as the DOM serialiser writes it, read back.
pub(crate) fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The value of `attr` in each start tag that begins with `tag` (e.g.
/// `<g class="node"`), in document order. Attribute values are always
/// quoted, with `"` as `&quot;`.
fn attrs(dom: &str, tag: &str, attr: &str) -> Vec<String> {
    let key = format!(" {attr}=\"");
    dom.split(tag)
        .skip(1)
        .map(|rest| {
            let at = rest.find(&key).unwrap_or_else(|| panic!("{attr} in {tag}"));
            let value = &rest[at + key.len()..];
            unescape(&value[..value.find('"').unwrap()])
        })
        .collect()
}

/// Console lines of the page (errors, CSP violations, `console.*`).
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// The parameters of every request job chromium started (net log
/// `URL_REQUEST_START_JOB` events that name a URL; a job's end has none).
pub(crate) fn started_requests(net_log: &str) -> Vec<serde_json::Value> {
    let log: serde_json::Value = serde_json::from_str(net_log).expect("the net log is JSON");
    let start_job = &log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"];
    assert!(start_job.is_number(), "the net log names its event types");
    log["events"]
        .as_array()
        .expect("net log events")
        .iter()
        .filter(|e| e["type"] == *start_job && e["params"]["url"].is_string())
        .map(|e| e["params"].clone())
        .collect()
}

/// The URLs the page asked the network for: request jobs started for a
/// `file://` page (Chromium's own requests, "not an origin", are not the
/// page's).
fn page_requests(net_log: &str) -> Vec<String> {
    started_requests(net_log)
        .iter()
        .filter(|p| {
            p["initiator"] != "not an origin"
                || p["network_isolation_key"]
                    .as_str()
                    .is_some_and(|k| k.contains("file://"))
        })
        .map(|p| p["url"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The page's error box, which its `window.onerror` fills.
fn errors(dom: &str) -> String {
    let start = dom.find("<pre id=\"errors\"").expect("the error box");
    let body = &dom[start..];
    let text = &body[body.find('>').unwrap() + 1..body.find("</pre>").unwrap()];
    text.to_string()
}

/// `s` without its `title="..."` attributes (their text is data).
fn without_titles(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find(" title=\"") {
        out.push_str(&rest[..at]);
        let value = &rest[at + " title=\"".len()..];
        rest = &value[value.find('"').map_or(value.len(), |q| q + 1)..];
    }
    out + rest
}

/// The alert rows the page's script made, and how many it hides.
fn table_rows(dom: &str) -> (usize, usize) {
    let start = dom
        .find("<tbody id=\"alert-rows\">")
        .expect("the alert table");
    let body = without_titles(&dom[start..start + dom[start..].find("</tbody>").unwrap()]);
    let tags: Vec<&str> = body
        .split("<tr")
        .skip(1)
        .map(|r| &r[..r.find('>').unwrap()])
        .collect();
    let hidden = tags.iter().filter(|t| t.contains(" hidden")).count();
    (tags.len(), hidden)
}

/// The HTML holds no URL but the SVG and XHTML namespaces outside the
/// alert data (whose text is the events' and is never fetched).
fn assert_no_urls(page: &str) {
    let data = page.find("<script type=\"application/json\"").unwrap();
    let end = data + page[data..].find("</script>").unwrap();
    let outside = format!("{}{}", &page[..data], &page[end..]);
    let outside = outside
        .replace("http://www.w3.org/2000/svg", "")
        .replace("http://www.w3.org/1999/xhtml", "");
    for scheme in ["http://", "https://", "//"] {
        assert!(!outside.contains(scheme), "{scheme} in the page");
    }
}

#[test]
fn issue15_html_report_renders_in_a_browser() {
    let clean = fixture_report();
    // The fixture's page, to look at (or screenshot): WINRMDETECT_HTML_OUT=FILE.
    if let Some(out) = std::env::var_os("WINRMDETECT_HTML_OUT").filter(|v| !v.is_empty()) {
        fs::write(&out, html(&clean)).expect("writing WINRMDETECT_HTML_OUT");
    }
    let report = with_hostile(clean);
    let text = html(&report);
    assert_no_urls(&text);
    let dir = TempDir::new("html");
    let page = render(&dir, &text, "");
    let dom = &page.dom;
    assert!(
        dom.contains("<body data-ready=\"1\""),
        "the page's script ran"
    );
    assert_eq!(errors(dom), "", "errors of the page's script");
    assert_eq!(console_lines(&page.stderr), Vec::<&str>::new());
    assert_eq!(page_requests(&page.net_log), Vec::<String>::new());

    let hosts: BTreeSet<String> = report
        .hops
        .iter()
        .flat_map(|h| [h.src.clone(), h.dest.clone()])
        .collect();
    let drawn = attrs(dom, "<g class=\"node\"", "data-host");
    assert_eq!(drawn.len(), hosts.len(), "{drawn:?}");
    assert_eq!(drawn.into_iter().collect::<BTreeSet<_>>(), hosts);
    let ids: Vec<String> = report.hops.iter().map(|h| h.id.clone()).collect();
    assert_eq!(attrs(dom, "<path class=\"edge", "data-hop"), ids);
    let failed = report
        .hops
        .iter()
        .filter(|h| h.outcome.as_str() == "failed")
        .count();
    assert!(failed >= 1, "the fixture has failed attempts");
    assert_eq!(dom.matches("<path class=\"edge failed").count(), failed);
    assert!(
        dom.contains(" in-chain\""),
        "the two-hop chain is highlighted"
    );

    // The script made one row per alert; nothing the events said became
    // markup.
    assert_eq!(table_rows(dom), (report.alerts.len(), 0));
    let shown = format!("{n} of {n} alerts shown", n = report.alerts.len());
    assert!(dom.contains(&shown), "{shown}");
    assert!(!dom.contains("<img"), "an element from the events");
    let body = &dom[dom.find("<body").unwrap()..];
    assert_eq!(
        &body[..body.find('>').unwrap() + 1],
        "<body data-ready=\"1\">"
    );
    assert!(!dom.contains("<title>pwned"));
    assert_eq!(dom.matches("<script").count(), 3, "the page's own scripts");
}

#[test]
fn issue15_html_filter_from_the_address() {
    let report = with_hostile(fixture_report());
    let dir = TempDir::new("html-filter");
    let page = render(&dir, &html(&report), "#filter=SRV03");
    assert_eq!(errors(&page.dom), "");
    assert_eq!(console_lines(&page.stderr), Vec::<&str>::new());
    let matching = report
        .alerts
        .iter()
        .filter(|a| {
            let score = a.risk_score.to_string();
            [
                &a.host,
                &a.user,
                &a.alert_type,
                &a.rule_id,
                &score,
                &a.side,
                &a.target,
                &a.process,
                &a.command_line,
                &a.event_code,
                &a.record_id,
                &a.file,
            ]
            .iter()
            .any(|c| c.to_lowercase().contains("srv03"))
        })
        .count();
    assert!(matching > 0 && matching < report.alerts.len(), "{matching}");
    let total = report.alerts.len();
    assert_eq!(table_rows(&page.dom), (total, total - matching));
    assert!(page.dom.contains(&format!(
        "data-shown=\"{matching}\">{matching} of {total} alerts shown"
    )));
    assert!(page.dom.contains("id=\"filter\""));
}

/// A report without alerts or hops: the page says so, and its script
/// still runs cleanly.
#[test]
fn issue15_html_empty_report_in_a_browser() {
    let dir = TempDir::new("html-empty");
    let page = render(&dir, &html(&Report::default()), "#filter=x");
    let dom = &page.dom;
    assert!(
        dom.contains("<body data-ready=\"1\">"),
        "the page's script ran"
    );
    assert_eq!(errors(dom), "");
    assert_eq!(console_lines(&page.stderr), Vec::<&str>::new());
    assert_eq!(page_requests(&page.net_log), Vec::<String>::new());
    assert_eq!(table_rows(dom), (0, 0));
    assert!(dom.contains("data-shown=\"0\">0 of 0 alerts shown"));
    assert!(dom.contains("no hops") && dom.contains("no alerts"));
    assert!(!dom.contains("class=\"node\"") && !dom.contains("class=\"edge"));
}

/// The checks above can fail: a page with a script error and a fetch (no
/// CSP) shows in the error box, on the console and in the net log.
#[test]
fn issue15_html_checks_see_errors_and_fetches() {
    let dir = TempDir::new("html-bad");
    let bad = "<!DOCTYPE html><html><body><pre id=\"errors\"></pre>\
        <script>window.onerror=function(m){document.getElementById('errors').textContent+=m;};</script>\
        <img src=\"http://127.0.0.1:9/x.png\"><script>no_such_function();</script></body></html>";
    let page = render(&dir, bad, "");
    assert!(
        errors(&page.dom).contains("no_such_function"),
        "{}",
        page.dom
    );
    assert!(!console_lines(&page.stderr).is_empty());
    assert_eq!(page_requests(&page.net_log), ["http://127.0.0.1:9/x.png"]);
}
