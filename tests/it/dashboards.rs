//! The app's Dashboard Studio dashboards (issue 16), checked three ways:
//!
//! 1. **Definition**: each `version="2"` view under `default/data/ui/views`
//!    holds a JSON definition whose data sources, chains, tokens and
//!    drilldowns fit together, and whose expensive searches run once per
//!    load (each `winrmdetect` search is a base; chained searches never run
//!    the command again; hop panels read `summary=true`).
//! 2. **Data**: every data source is computed the way Splunk would compute
//!    it: the base search's `winrmdetect …` part by the real binary over a
//!    bundled recording (the splunkd emulation in `harness`), the SPL after
//!    it and every chained search by `spl`, with the inputs at their
//!    defaults.
//! 3. **Browser**: the definition, its data sources replaced by `ds.test`
//!    data sources holding that data, is rendered by Splunk's published
//!    dashboard framework (`tests/dashboards`, built by `bash bin/test`) in
//!    headless Chromium. Every visualisation draws with data (the Sankey and
//!    link graph name the hops' hosts), the framework's own schema finds
//!    nothing wrong, every drilldown is a handler the framework has, and
//!    there is no console error and no request outside the page.
//!
//! What stays unverified without a Splunk instance: the SPL itself (run by
//! `spl`, not by splunkd), the `$global_time$` time picker, and the
//! drilldowns' targets (the search and ES pages they open).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::app::TempDir;
use crate::harness::{csv_chunks, decode_mv, fixture, run_binary, session};
use crate::html::{run_chromium, started_requests, unescape};
use crate::serve::Server;
use crate::spl::{self, Results};

/// The recordings the dashboards are rendered with, as `name: files`.
pub const CASES: &[(&str, &[&str])] = &[
    ("psremoting", &["mordor_psremoting.csv"]),
    ("sharpwmi", &["mordor_sharpwmi.csv"]),
    ("winrm_chain", &["winrm_operational_handmade.csv"]),
    ("recordings", RECORDINGS),
];

/// Every real recording bundled with the tests (Mordor's lab and the
/// EVTX-to-MITRE WMIexec log), searched together as one index: the case
/// the README's screenshots show.
const RECORDINGS: &[&str] = &[
    "mordor_psremoting.csv",
    "mordor_sharpwmi.csv",
    "mordor_psexec.csv",
    "mordor_dcom_shellwindows.csv",
    "mordor_schtask_remote.csv",
    "mordor_wmic_xsl_local.csv",
    "mordor_dcsync_dc_rpc.csv",
    "mordor_wef_noise.csv",
    "mdec_wmiexec_via_smb.csv",
];

/// One dashboard: the view's name and its definition.
pub struct Dashboard {
    pub name: String,
    pub definition: Value,
}

fn views_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("default/data/ui/views")
}

/// Every Dashboard Studio view of the app.
pub fn dashboards() -> Vec<Dashboard> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = fs::read_dir(views_dir())
        .expect("default/data/ui/views")
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for p in paths {
        let text = fs::read_to_string(&p).unwrap();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        out.push(Dashboard {
            definition: definition(&name, &text),
            name,
        });
    }
    out
}

/// The JSON in a view's `<definition>` CDATA, read with an XML parser (the
/// way splunkd reads the view); the root must be `<dashboard version="2">`.
fn definition(name: &str, xml: &str) -> Value {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut root_ok, mut inside, mut def) = (false, false, None);
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("{name}: bad XML: {e}"))
        {
            Event::Start(e) if e.name().as_ref() == b"dashboard" => {
                let v = e
                    .try_get_attribute("version")
                    .unwrap()
                    .map(|a| a.value.to_vec());
                root_ok = v.as_deref() == Some(b"2");
            }
            Event::Start(e) => inside = e.name().as_ref() == b"definition",
            Event::End(_) => inside = false,
            Event::CData(c) if inside => {
                let text = String::from_utf8(c.into_inner().to_vec()).unwrap();
                def = Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}")));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(root_ok, "{name}: not a <dashboard version=\"2\"> view");
    def.unwrap_or_else(|| panic!("{name}: no <definition> CDATA"))
}

fn obj<'a>(v: &'a Value, key: &str) -> &'a serde_json::Map<String, Value> {
    v[key]
        .as_object()
        .unwrap_or_else(|| panic!("no object {key:?}"))
}

/// The tokens the inputs set, with their default values.
pub fn input_defaults(def: &Value) -> BTreeMap<String, String> {
    obj(def, "inputs")
        .values()
        .filter(|i| i["type"] != "input.timerange")
        .map(|i| {
            let o = &i["options"];
            (
                o["token"].as_str().unwrap().to_string(),
                o["defaultValue"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `$name$` (and `$name|filter$`) tokens in a text.
pub fn tokens(text: &str) -> Vec<String> {
    text.split('$')
        .skip(1)
        .step_by(2)
        .map(|t| t.split('|').next().unwrap().to_string())
        .collect()
}

fn substitute(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in values {
        out = out.replace(&format!("${k}$"), v);
    }
    assert!(!out.contains('$'), "a token is left in {out:?}");
    out
}

/// The reply rows of the real binary as a result set: empty cells absent,
/// `__mv_` companions made into multivalues.
fn results_of(rows: &[crate::harness::Row]) -> Results {
    let mut out = Results::default();
    for r in rows {
        let mut row = BTreeMap::new();
        for (k, v) in &r.0 {
            if k.starts_with("__mv_") || v.is_empty() {
                continue;
            }
            let mv = r.try_get(&format!("__mv_{k}")).filter(|m| !m.is_empty());
            let values = match mv {
                Some(m) => decode_mv(&m).unwrap_or_else(|| panic!("bad __mv_{k}")),
                None => vec![String::from_utf8_lossy(v).into_owned()],
            };
            row.insert(k.clone(), values);
        }
        for (k, _) in &r.0 {
            if !k.starts_with("__mv_") && !out.fields.contains(k) {
                out.fields.push(k.clone());
            }
        }
        out.rows.push(row);
    }
    out
}

/// A base search on a recording: `` `winrmdetect_sources` | winrmdetect
/// ARGS | rest…``: the binary runs ARGS over the files, `spl` the rest.
fn run_base(query: &str, files: &[&str]) -> Results {
    let commands = spl::split_pipes(query);
    assert_eq!(commands[0], "`winrmdetect_sources`", "{query}");
    let args: Vec<&str> = commands[1]
        .strip_prefix("winrmdetect")
        .unwrap_or_else(|| panic!("the second command is winrmdetect: {query}"))
        .split_whitespace()
        .collect();
    let bodies: Vec<Vec<u8>> = files
        .iter()
        .flat_map(|f| csv_chunks(&fixture(f), 50_000))
        .collect();
    let run = run_binary(session(&args, &bodies), &[]);
    let rows = if args.contains(&"correlate=true") {
        run.last_rows()
    } else {
        run.rows()
    };
    let rest: Vec<String> = commands[2..].iter().map(|c| format!("| {c}")).collect();
    spl::run(&rest.join("\n"), results_of(&rows))
}

/// Every data source's results on a recording, inputs at their defaults.
pub fn compute(def: &Value, files: &[&str]) -> BTreeMap<String, Results> {
    let defaults = input_defaults(def);
    let sources = obj(def, "dataSources");
    let mut out: BTreeMap<String, Results> = BTreeMap::new();
    while out.len() < sources.len() {
        let before = out.len();
        for (id, ds) in sources {
            if out.contains_key(id) {
                continue;
            }
            let query = substitute(ds["options"]["query"].as_str().unwrap(), &defaults);
            let got = match ds["type"].as_str().unwrap() {
                "ds.search" => run_base(&query, files),
                "ds.chain" => match out.get(ds["options"]["extend"].as_str().unwrap()) {
                    Some(parent) => spl::run(&query, parent.clone()),
                    None => continue,
                },
                t => panic!("data source {id}: type {t}"),
            };
            out.insert(id.clone(), got);
        }
        assert!(
            out.len() > before,
            "chained searches that extend nothing: {sources:?}"
        );
    }
    out
}

/// The definition with every data source replaced by a `ds.test` holding
/// its computed results.
pub fn with_test_data(def: &Value, data: &BTreeMap<String, Results>) -> Value {
    let mut def = def.clone();
    let sources = def["dataSources"].as_object_mut().unwrap();
    for (id, ds) in sources.iter_mut() {
        let name = ds["name"].clone();
        *ds = json!({ "type": "ds.test", "name": name, "options": { "data": data[id].to_ds_test() } });
    }
    def["defaults"]
        .as_object_mut()
        .unwrap()
        .remove("dataSources");
    def
}

/// The data source a visualisation draws from.
fn primary(viz: &Value) -> Option<&str> {
    viz["dataSources"]["primary"].as_str()
}

fn chain_root<'a>(sources: &'a serde_json::Map<String, Value>, mut id: &'a str) -> &'a str {
    while let Some(parent) = sources[id]["options"]["extend"].as_str() {
        id = parent;
    }
    id
}

#[test]
fn issue16_dashboards_are_studio_definitions_that_fit_together() {
    let all = dashboards();
    let names: BTreeSet<&str> = all.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["winrmdetect_host", "winrmdetect_overview"]),
        "the views (no Simple XML view is kept)"
    );
    for d in &all {
        let def = &d.definition;
        let sources = obj(def, "dataSources");
        let inputs = input_defaults(def);
        for (id, ds) in sources {
            let query = ds["options"]["query"].as_str().unwrap();
            match ds["type"].as_str().unwrap() {
                "ds.search" => {
                    assert!(
                        query.starts_with("`winrmdetect_sources` | winrmdetect "),
                        "{id}"
                    );
                }
                "ds.chain" => {
                    assert!(
                        !query.contains("winrmdetect"),
                        "{}: chain {id} re-runs the command",
                        d.name
                    );
                    let parent = ds["options"]["extend"].as_str().unwrap();
                    assert!(sources.contains_key(parent), "{id} extends {parent}");
                }
                t => panic!("{id}: {t}"),
            }
            for t in tokens(query) {
                assert!(
                    inputs.contains_key(&t),
                    "{}: {id} uses ${t}$, which no input sets",
                    d.name
                );
            }
        }
        // The expensive searches: one hop search (summary=true) and one
        // alert search, each run once however many panels read them.
        let bases: Vec<&str> = sources
            .values()
            .filter(|s| s["type"] == "ds.search")
            .map(|s| s["options"]["query"].as_str().unwrap())
            .collect();
        assert_eq!(bases.len(), 2, "{}: {bases:?}", d.name);
        assert!(bases
            .iter()
            .any(|q| q.contains("correlate=true summary=true")));
        assert!(bases.iter().any(|q| q.contains("alerts_only=true")));
        for (id, viz) in obj(def, "visualizations") {
            if let Some(p) = primary(viz) {
                assert!(sources.contains_key(p), "{}: {id} reads {p}", d.name);
                assert_ne!(
                    sources[p]["type"], "ds.search",
                    "{id} should read a chain of a base"
                );
                let root = chain_root(sources, p);
                if ["ds_hops"].contains(&root) {
                    assert!(sources[root]["options"]["query"]
                        .as_str()
                        .unwrap()
                        .contains("summary=true"));
                }
            }
        }
        for g in def["layout"]["globalInputs"].as_array().unwrap() {
            assert!(obj(def, "inputs").contains_key(g.as_str().unwrap()));
        }
    }
}

#[test]
fn issue16_drilldowns_name_fields_their_panels_have() {
    for d in dashboards() {
        let def = &d.definition;
        let inputs = input_defaults(def);
        let data = compute(def, CASES[0].1);
        for (id, viz) in obj(def, "visualizations") {
            for h in viz["eventHandlers"].as_array().into_iter().flatten() {
                let url = h["options"]["url"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{id}: {h}"));
                assert!(url.starts_with("/app/"), "{id}: {url}");
                let fields = &data[primary(viz).unwrap()].fields;
                for t in tokens(url) {
                    if let Some(f) = t
                        .strip_prefix("row.")
                        .and_then(|t| t.strip_suffix(".value"))
                    {
                        assert!(
                            fields.iter().any(|x| x == f),
                            "{}: {id} drills on {f}, not in {fields:?}",
                            d.name
                        );
                    } else {
                        assert!(
                            t == "click.value"
                                || t.starts_with("global_time.")
                                || inputs.contains_key(&t),
                            "{}: {id} uses ${t}$",
                            d.name
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn issue16_panels_get_the_commands_real_hops_and_alerts() {
    let def = &dashboards()
        .into_iter()
        .find(|d| d.name == "winrmdetect_overview")
        .unwrap()
        .definition;
    for (case, files) in CASES {
        let data = compute(def, files);
        let hops = &data["ds_hops"];
        assert!(!hops.rows.is_empty(), "{case}: no hops");
        let pairs: BTreeSet<(String, String)> = hops
            .rows
            .iter()
            .map(|r| (r["src_host"][0].clone(), r["dest_host"][0].clone()))
            .collect();
        let sankey: BTreeSet<(String, String)> = data["ds_sankey"]
            .rows
            .iter()
            .map(|r| (r["src_host"][0].clone(), r["dest_host"][0].clone()))
            .collect();
        assert_eq!(sankey, pairs, "{case}");
        assert_eq!(data["ds_hop_table"].rows.len(), hops.rows.len(), "{case}");
        assert_eq!(
            data["ds_hop_count"].column("hops"),
            [hops.rows.len().to_string()]
        );
        let alerts: usize = data["ds_alerts"]
            .column("count")
            .iter()
            .map(|c| c.parse::<usize>().unwrap())
            .sum();
        assert!(alerts > 0, "{case}");
        assert_eq!(
            data["ds_alert_count"].column("alerts"),
            [alerts.to_string()],
            "{case}"
        );
        assert!(!data["ds_timeline"].rows.is_empty() && !data["ds_top_risk"].rows.is_empty());
    }
}

#[test]
fn issue16_test_data_replaces_every_data_source() {
    for d in dashboards() {
        let data = compute(&d.definition, CASES[2].1);
        let def = with_test_data(&d.definition, &data);
        for (id, ds) in obj(&def, "dataSources") {
            assert_eq!(ds["type"], "ds.test", "{}: {id}", d.name);
            let cols = ds["options"]["data"]["columns"].as_array().unwrap();
            assert_eq!(cols.len(), data[id].fields.len(), "{id}");
            assert!(
                cols.iter()
                    .all(|c| c.as_array().unwrap().len() == data[id].rows.len()),
                "{id}"
            );
        }
        assert!(def["defaults"].get("dataSources").is_none());
    }
}

/// The built test page (`tests/dashboards/dist`), or a failure that says
/// how to build it.
fn page_dir() -> PathBuf {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/dashboards/dist");
    assert!(
        dist.join("index.html").is_file(),
        "{}/index.html is missing: run `bash bin/test` (it runs npm ci and builds the page)",
        dist.display()
    );
    dist
}

/// The chromium flags of the page's contract (`tests/dashboards/README.md`).
/// (beyond the headless ones every browser test uses: `html::run_chromium`).
const CHROMIUM_FLAGS: &[&str] = &[
    "--disable-quic",
    "--hide-scrollbars",
    "--virtual-time-budget=20000",
];

/// What one load of the page left: its result JSON and the URLs chromium
/// requested (net log).
struct Load {
    result: Value,
    urls: Vec<String>,
}

/// Runs chromium on `url` with the page's flags and `extra` ones.
fn chromium_run(dir: &std::path::Path, url: &str, extra: &[String]) -> (String, String) {
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
    args.extend_from_slice(extra);
    args.push(url.to_string());
    run_chromium(dir, &args)
}

/// Every URL the page itself asked for (net log `URL_REQUEST_START_JOB`
/// with the page as initiator; chromium's own requests have "not an
/// origin", and so has the navigation to the page).
fn requested_urls(net_log: &str) -> Vec<String> {
    started_requests(net_log)
        .iter()
        .filter(|p| p["initiator"] != "not an origin")
        .map(|p| p["url"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Opens the page on `case` (already written to `cases/`) and reads the
/// result it wrote into the DOM.
fn load(dir: &std::path::Path, server: &Server, case: &str) -> Load {
    let net = dir.join(format!("{case}.net.json"));
    let url = format!("{}index.html?case={case}", server.base());
    let extra = [
        format!("--log-net-log={}", net.display()),
        "--dump-dom".into(),
    ];
    let (dom, stderr) = chromium_run(dir, &url, &extra);
    let start = dom
        .find("<pre id=\"wd-result\"")
        .unwrap_or_else(|| panic!("{case}: the page wrote no result\n{stderr}"));
    let body = &dom[start..];
    let text = unescape(&body[body.find('>').unwrap() + 1..body.find("</pre>").unwrap()]);
    Load {
        result: serde_json::from_str(&text).unwrap_or_else(|e| panic!("{case}: {e}: {text}")),
        urls: requested_urls(&fs::read_to_string(&net).expect("chromium wrote its net log")),
    }
}

/// The pages' folder: the built page and a `cases/` folder of definitions
/// with test data, one per dashboard and recording.
struct Site {
    dir: TempDir,
    server: Server,
}

impl Site {
    fn new() -> Site {
        let dir = TempDir::new("dashboards");
        fs::create_dir_all(dir.0.join("cases")).unwrap();
        let server = Server::start(vec![page_dir(), dir.0.clone()]);
        Site { dir, server }
    }

    /// Writes `def` as case `name`.
    fn add(&self, name: &str, def: &Value) {
        let text = serde_json::to_vec(&json!({ "definition": def })).unwrap();
        fs::write(self.dir.0.join(format!("cases/{name}.json")), text).unwrap();
    }
}

/// Warnings the framework always prints on this page, with why they are
/// not ours: the published grid layout preset has no layout API entry.
const KNOWN_WARNINGS: &[&str] =
    &["The preset entry for layout type grid has no config.layoutApi property"];

/// Requests that fail on the test server and would not in Splunk: the time
/// picker asks splunkweb who the user is (and shows "Cannot access
/// splunkweb." without it), the browser asks for an icon.
const KNOWN_404: &[&str] = &[
    "/services/authentication/current-context?output_mode=json",
    "/favicon.ico",
];

/// A result-set cell as a table shows it: a multivalue's values run
/// together in the cell's text.
fn cell(row: &BTreeMap<String, Vec<String>>, field: &str) -> String {
    row.get(field).map(|v| v.concat()).unwrap_or_default()
}

/// What a visualisation must show for the data it was given.
fn check_viz(at: &str, viz: &Value, data: &Results, got: &Value) {
    let kind = viz["type"].as_str().unwrap();
    assert_eq!(got["found"], true, "{at}: not drawn");
    if data.rows.is_empty() && primary(viz).is_some() {
        // Nothing to draw (a host that was only ever a destination has no
        // hops out): the framework says so in the panel.
        assert!(
            got["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["text"] == "No data!"),
            "{at}: empty data, yet {got}"
        );
        return;
    }
    assert_eq!(got["messages"], json!([]), "{at}: messages");
    assert_eq!(
        got["placeholder"], false,
        "{at}: a placeholder instead of {kind}"
    );
    assert_eq!(got["noData"], false, "{at}: drew no data");
    let strings = |key: &str| -> BTreeSet<String> {
        got[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let values = |fields: &[&str]| -> BTreeSet<String> {
        data.rows
            .iter()
            .flat_map(|r| fields.iter().map(|f| cell(r, f)))
            .collect()
    };
    let text = got["text"].as_str().unwrap();
    match kind {
        "splunk.sankey" => assert_eq!(
            strings("svgForeignText"),
            values(&["src_host", "dest_host"]),
            "{at}"
        ),
        "splunk.linkgraph" => {
            let fields: Vec<&str> = data.fields.iter().map(String::as_str).collect();
            assert_eq!(strings("nodeLabels"), values(&fields), "{at}");
        }
        "splunk.table" => {
            let table = &got["table"];
            assert_eq!(table["headers"], json!(data.fields), "{at}");
            let count = viz["options"]["count"].as_u64().unwrap_or(10) as usize;
            let want: Vec<Vec<String>> = data
                .rows
                .iter()
                .take(count)
                .map(|r| data.fields.iter().map(|f| cell(r, f)).collect())
                .collect();
            assert_eq!(table["rows"], json!(want), "{at}");
        }
        "splunk.singlevalue" => {
            // The field `majorValue` names (`seriesByName('F')`), else the first.
            let major = viz["options"]["majorValue"].as_str().unwrap_or("");
            let field = major
                .split_once("seriesByName('")
                .and_then(|(_, rest)| rest.split_once('\''))
                .map_or(data.fields[0].as_str(), |(f, _)| f);
            let value = cell(data.rows.last().expect("a single value"), field);
            let title = viz["title"].as_str().unwrap();
            assert_eq!(text, format!("{title}{value}"), "{at}");
        }
        "splunk.bar" | "splunk.column" | "splunk.pie" => {
            let n = data.rows.len();
            assert!(
                text.contains(&format!(" chart with {n} ")),
                "{at}: {n} rows, drew {text:?}"
            );
        }
        "splunk.markdown" => assert!(!text.is_empty() && !text.contains('$'), "{at}: {text:?}"),
        other => panic!("{at}: no check for {other}"),
    }
}

/// What the framework says about the definition as a whole.
fn check_page(at: &str, def: &Value, got: &Value) {
    assert!(got.get("fatal").is_none(), "{at}: {got}");
    assert_eq!(got["settled"], true, "{at}: not every visualisation drew");
    assert_eq!(got["renderError"], Value::Null, "{at}");
    let v = &got["validation"];
    for key in [
        "schemaErrors",
        "rawSchemaErrors",
        "onValidationError",
        "references",
    ] {
        assert_eq!(v[key], json!([]), "{at}: the framework's {key}");
    }
    for (key, list) in got["unknown"].as_object().unwrap() {
        assert_eq!(*list, json!([]), "{at}: types the preset lacks ({key})");
    }
    let has = |key: &str, t: &Value| got[key].as_array().unwrap().contains(t);
    for (id, viz) in obj(def, "visualizations") {
        assert!(has("vizTypes", &viz["type"]), "{at}: {id}");
        for h in viz["eventHandlers"].as_array().into_iter().flatten() {
            assert!(has("eventHandlerTypes", &h["type"]), "{at}: {id}: {h}");
        }
    }
    for (id, input) in obj(def, "inputs") {
        assert!(has("inputTypes", &input["type"]), "{at}: {id}");
        let seen = &got["inputs"][id];
        assert_eq!(seen["found"], true, "{at}: {id}");
        if input["type"] != "input.timerange" {
            assert_eq!(seen["messages"], json!([]), "{at}: {id}");
        }
    }
    assert_eq!(got["consoleErrors"], json!([]), "{at}");
    for w in got["consoleWarnings"].as_array().unwrap() {
        assert!(
            KNOWN_WARNINGS.contains(&w["message"].as_str().unwrap()),
            "{at}: {w}"
        );
    }
}

/// The dashboard as an analyst opens it: the host view from a hop (its
/// `host` input set to the recording's busiest host, one that was both a
/// destination and a source if there is one),
/// the overview as it is.
fn as_opened(d: &Dashboard, files: &[&str]) -> Value {
    let mut def = d.definition.clone();
    if d.name != "winrmdetect_host" {
        return def;
    }
    let overview = dashboards()
        .into_iter()
        .find(|d| d.name == "winrmdetect_overview")
        .unwrap();
    let hops = &compute(&overview.definition, files)["ds_sankey"];
    // Hops (in, out) per host; a host with both comes first.
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in &hops.rows {
        let n: u64 = cell(r, "hops").parse().unwrap();
        counts.entry(cell(r, "dest_host")).or_default().0 += n;
        counts.entry(cell(r, "src_host")).or_default().1 += n;
    }
    let busiest = counts
        .iter()
        .max_by_key(|(_, (i, o))| ((*i > 0 && *o > 0), *i + *o))
        .map(|(h, _)| h.clone())
        .expect("the recording has hops");
    def["inputs"]["input_host"]["options"]["defaultValue"] = json!(busiest);
    def
}

/// Renders `d` on one recording and checks it; returns the visualisations
/// that were drawn with data.
fn render_case(site: &Site, d: &Dashboard, case: &str, files: &[&str]) -> Vec<String> {
    let def = &as_opened(d, files);
    let data = compute(def, files);
    let name = format!("{}-{case}", d.name);
    site.add(&name, &with_test_data(def, &data));
    let got = load(&site.dir.0, &site.server, &name);
    if let Some(out) = std::env::var_os("WINRMDETECT_DASHBOARD_OUT") {
        let text = serde_json::to_string_pretty(&got.result).unwrap();
        fs::write(PathBuf::from(out).join(format!("{name}.json")), text).unwrap();
    }
    check_page(&name, def, &got.result);
    for url in &got.urls {
        assert!(
            url.starts_with(&site.server.base()),
            "{name}: the page asked for {url}"
        );
    }
    let mut drawn = Vec::new();
    for (id, viz) in obj(def, "visualizations") {
        let data = primary(viz).map(|p| data[p].clone()).unwrap_or_default();
        let at = format!("{name}: {id}");
        check_viz(&at, viz, &data, &got.result["visualizations"][id]);
        if !data.rows.is_empty() || primary(viz).is_none() {
            drawn.push(id.clone());
        }
    }
    drawn
}

/// The lowest edge of the dashboard's layout, in pixels.
fn layout_bottom(def: &Value) -> u64 {
    obj(&def["layout"], "layoutDefinitions")
        .values()
        .flat_map(|l| l["structure"].as_array().unwrap())
        .map(|i| i["position"]["y"].as_u64().unwrap() + i["position"]["h"].as_u64().unwrap())
        .max()
        .unwrap()
}

/// The height of the page's input bar above the layout, in pixels.
const INPUT_BAR: u64 = 160;

/// A screenshot of case `name` (already in `cases/`), 1440 px wide and as
/// high as the layout plus the input bar, written to `out`; the PNG is
/// read back: its size, and that it is a picture, not a blank page.
fn screenshot(site: &Site, name: &str, def: &Value, out: &std::path::Path) {
    let url = format!("{}index.html?case={name}", site.server.base());
    let (width, height) = (1440, layout_bottom(def) + INPUT_BAR);
    let extra = [
        format!("--window-size={width},{height}"),
        format!("--screenshot={}", out.display()),
    ];
    chromium_run(&site.dir.0, &url, &extra);
    let decoder = png::Decoder::new(fs::File::open(out).expect("the screenshot"));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).expect("the PNG's pixels");
    assert_eq!(
        (info.width as u64, info.height as u64),
        (width, height),
        "{name}"
    );
    let step = info.color_type.samples();
    let colours: BTreeSet<&[u8]> = pixels[..info.buffer_size()].chunks(step).collect();
    assert!(
        colours.len() > 500,
        "{name}: {} colours, a blank page?",
        colours.len()
    );
}

/// Where the screenshots go: `$WINRMDETECT_SCREENSHOTS` (the README's
/// `docs/img`), else a temporary folder.
fn screenshot_dir(site: &Site) -> PathBuf {
    match std::env::var_os("WINRMDETECT_SCREENSHOTS") {
        Some(d) => PathBuf::from(d),
        None => site.dir.0.clone(),
    }
}

#[test]
fn issue16_dashboards_render_in_splunks_framework() {
    let site = Site::new();
    for d in dashboards() {
        let mut drawn = BTreeSet::new();
        for (case, files) in CASES {
            drawn.extend(render_case(&site, &d, case, files));
        }
        let all: BTreeSet<String> = obj(&d.definition, "visualizations")
            .keys()
            .cloned()
            .collect();
        assert_eq!(drawn, all, "{}: panels never drawn with data", d.name);
        let out = screenshot_dir(&site).join(format!("{}.png", d.name));
        screenshot(
            &site,
            &format!("{}-recordings", d.name),
            &d.definition,
            &out,
        );
    }
    for r in site.server.requests() {
        let (status, path) = r.split_once(' ').unwrap();
        assert!(status == "200" || KNOWN_404.contains(&path), "{r}");
    }
}

/// The message of the panic `f` must raise.
fn failure(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let err = std::panic::catch_unwind(f).expect_err("the check should fail");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// The browser checks see a broken dashboard: a visualisation type and a
/// handler the preset lacks, a Sankey without data, a table missing a
/// column, an image from outside the page's server (another port, where
/// the connection is refused at once: an unroutable address would keep
/// the browser waiting).
#[test]
fn issue16_browser_checks_see_what_is_wrong() {
    let d = dashboards()
        .into_iter()
        .find(|d| d.name == "winrmdetect_overview")
        .unwrap();
    let data = compute(&d.definition, CASES[2].1);
    let mut def = with_test_data(&d.definition, &data);
    let vizzes = &mut def["visualizations"];
    vizzes["viz_linkgraph"]["type"] = json!("splunk.networkgraph");
    vizzes["viz_hops"]["eventHandlers"][0]["type"] = json!("drilldown.linkToSearch");
    vizzes["viz_intro"]["options"]["markdown"] = json!("![x](http://127.0.0.1:9/x.png)");
    let sankey = &mut def["dataSources"]["ds_sankey"]["options"]["data"];
    sankey["columns"] = json!(sankey["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|_| json!([]))
        .collect::<Vec<_>>());
    let mut hops = data["ds_hop_table"].clone();
    hops.fields.push("not_a_column".into());
    let site = Site::new();
    site.add("broken", &def);
    let got = load(&site.dir.0, &site.server, "broken");
    let r = &got.result;
    assert_eq!(r["unknown"]["vizTypes"], json!(["splunk.networkgraph"]));
    assert_eq!(
        r["unknown"]["eventHandlerTypes"],
        json!(["drilldown.linkToSearch"])
    );
    let page = failure(|| check_page("broken", &def, r));
    assert!(page.contains("not every visualisation drew"), "{page}");
    let viz = |id: &str| {
        (
            def["visualizations"][id].clone(),
            r["visualizations"][id].clone(),
        )
    };
    let (sankey_viz, sankey_got) = viz("viz_sankey");
    let drawn = failure(|| check_viz("sankey", &sankey_viz, &data["ds_sankey"], &sankey_got));
    assert!(drawn.contains("Invalid data to render"), "{drawn}");
    let (table_viz, table_got) = viz("viz_hops");
    let table = failure(|| check_viz("table", &table_viz, &hops, &table_got));
    assert!(table.contains("not_a_column"), "{table}");
    assert!(
        got.urls.iter().any(|u| u == "http://127.0.0.1:9/x.png"),
        "{:?}",
        got.urls
    );
}
