//! Issue 14: the app's generated confs, its names beside ESCU's, and the
//! risk events Enterprise Security would write from each saved search.
//!
//! ES's risk action, as its documentation describes it (Splunk ES
//! "Configure risk scoring", `_risk` of the risk modular action): for every
//! result of the search and every risk-object entry of `_risk`, one risk
//! event per value of the entry's field (a multivalue field gives one per
//! value; an empty one none), scored with the result's `risk_score` field
//! when it has one (else the entry's static `risk_score`), carrying as
//! threat objects the values of every threat-object entry with that entry's
//! type. Not verified on a running ES here: that the per-result field wins
//! over the static score is stated by ES's RBA docs and the review, not
//! observed.

use std::borrow::Cow;
use std::collections::BTreeMap;

use winrmdetect::appconf::{saved_searches, Kind, SavedSearch};
use winrmdetect::event::PairsEvent;

use crate::harness::{csv_chunks, fixture, input_rows, run_binary, session, Row};

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Stanza name → key → value of a shipped conf (no continuation lines in
/// ours).
fn conf(path: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut at = String::from("default");
    for line in repo_file(path).lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            at = name.to_string();
            out.entry(at.clone()).or_default();
        } else if let Some((k, v)) = line.split_once('=') {
            out.entry(at.clone())
                .or_default()
                .insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    out
}

fn backticks(s: &str) -> Vec<String> {
    s.split('`')
        .skip(1)
        .step_by(2)
        .map(|m| m.split('(').next().unwrap_or(m).to_string())
        .collect()
}

/// Issue 14: the shipped `savedsearches.conf` and `macros.conf` are what
/// the rule table generates.
#[test]
fn issue14_shipped_saved_searches_and_macros_are_generated() {
    assert_eq!(
        repo_file("default/savedsearches.conf"),
        winrmdetect::appconf::savedsearches_conf(),
        "regenerate: winrmdetect print-app-conf savedsearches > default/savedsearches.conf"
    );
    assert_eq!(
        repo_file("default/macros.conf"),
        winrmdetect::appconf::macros_conf(),
        "regenerate: winrmdetect print-app-conf macros > default/macros.conf"
    );
}

/// Names ESCU (DA-ESS-ContentUpdate) exports system-wide that we use
/// (security_content `macros/*.yml`; the review's table).
const ESCU_NAMES: [&str; 6] = [
    "powershell",
    "sysmon",
    "wmi",
    "wineventlog_security",
    "wineventlog_system",
    "security_content_ctime",
];

/// Issue 14: nothing we export carries a name ESCU, SSE or ES ships: every
/// exported macro is `winrmdetect_*` and expands only to exported macros;
/// every other macro is `export = none` in `metadata/default.meta`; the
/// saved searches are `winrmdetect - *`; nothing else is shipped that
/// could collide (eventtypes, lookups, tags).
#[test]
fn issue14_exported_names_are_ours_and_escu_names_stay_private() {
    let meta = conf("splunk_app/metadata/default.meta");
    let macros = conf("default/macros.conf");
    assert_eq!(
        meta["macros"]["export"], "system",
        "our macros are usable from Search and ES"
    );
    let private = |name: &str| {
        meta.get(&format!("macros/{name}"))
            .and_then(|k| k.get("export"))
            .is_some_and(|e| e == "none")
    };
    let mut exported = 0;
    for (name, keys) in macros.iter().filter(|(n, _)| *n != "default") {
        let def = &keys["definition"];
        if private(name) {
            assert!(
                !name.starts_with("winrmdetect_"),
                "{name}: ours are exported"
            );
            continue;
        }
        exported += 1;
        assert!(
            name.starts_with("winrmdetect_"),
            "exported macro {name} is not winrmdetect_*"
        );
        for used in backticks(def) {
            assert!(
                used.starts_with("winrmdetect_") && macros.contains_key(&used) && !private(&used),
                "exported {name} expands to {used}, not an exported macro of ours"
            );
        }
    }
    assert!(exported >= 10, "{exported} exported macros");
    for escu in ESCU_NAMES {
        assert!(
            !macros.contains_key(escu) || private(escu),
            "{escu} is ESCU's name and must stay private"
        );
    }
    assert!(
        !macros
            .keys()
            .any(|k| k.starts_with("security_content_ctime")),
        "nothing uses it"
    );
    for name in ["sysmon", "powershell", "wmi", "wineventlog_security"] {
        assert!(
            private(name),
            "the design card's {name} is kept, app-private"
        );
    }
    // Meta stanzas for macros name macros that exist (a typo would export).
    for stanza in meta.keys().filter_map(|k| k.strip_prefix("macros/")) {
        assert!(
            macros.contains_key(stanza),
            "default.meta names missing macro {stanza}"
        );
    }
    for (name, _) in conf("default/savedsearches.conf")
        .iter()
        .filter(|(n, _)| *n != "default")
    {
        assert!(name.starts_with("winrmdetect - "), "{name}");
    }
    for shipped in [
        "eventtypes.conf",
        "tags.conf",
        "transforms.conf",
        "collections.conf",
    ] {
        assert!(
            !std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("default")
                .join(shipped)
                .exists(),
            "{shipped}: check its names before shipping it"
        );
    }
    // Our saved searches use only our macros.
    for search in saved_searches() {
        for used in backticks(&search.spl()) {
            assert!(used.starts_with("winrmdetect_"), "{}: {used}", search.name);
        }
    }
}

/// A harness row as an event (its values as text).
fn event_of(r: &Row) -> PairsEvent<'_> {
    PairsEvent {
        pairs: r
            .0
            .iter()
            .map(|(k, v)| (Cow::Borrowed(k.as_str()), String::from_utf8_lossy(v)))
            .collect(),
    }
}

/// The fixture's rows that a search's pre-filter lets through, as chunk
/// bodies.
fn prefiltered(name: &str, search: &SavedSearch) -> Vec<Vec<u8>> {
    let data = fixture(name);
    let rows = input_rows(&data);
    let header: Vec<String> = rows[0].0.iter().map(|(k, _)| k.clone()).collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).unwrap();
    for r in &rows {
        if search.prefilter_passes(&event_of(r)) {
            w.write_record(r.0.iter().map(|(_, v)| v.as_slice()))
                .unwrap();
        }
    }
    csv_chunks(&w.into_inner().unwrap(), 50)
}

/// The command's output for a search's `winrmdetect` call on the
/// pre-filtered fixture.
fn command_output(search: &SavedSearch, name: &str) -> Vec<Row> {
    let bodies = prefiltered(name, search);
    let args: &[&str] = match search.kind {
        Kind::Hop => &["correlate=true", "summary=true"],
        _ => &["alerts_only=true", "min_score=20"],
    };
    let run = run_binary(session(args, &bodies), &[]);
    run.assert_clean(bodies.len() + 2);
    match search.kind {
        Kind::Hop => run.last_rows(),
        _ => run.rows(),
    }
}

/// The rest of the search's SPL, as its plan says (the SPL is rendered
/// from the same plan; `the_rendered_spl_is_the_plan` checks the text).
fn rest_of_search(search: &SavedSearch, rows: Vec<Row>) -> Vec<BTreeMap<String, String>> {
    let mut rows: Vec<Row> = match search.kind {
        Kind::Hop => rows
            .into_iter()
            .filter(|r| r.get("lm_risk_added").parse::<u32>().unwrap() > 0)
            .collect(),
        _ => rows
            .into_iter()
            .filter(|r| {
                r.alert_types()
                    .iter()
                    .any(|t| search.alert_types.contains(&t.as_str()))
            })
            .collect(),
    };
    if matches!(search.kind, Kind::Rule(_)) {
        // sort 0 - risk_score | dedup dest (stable: the first of equals)
        rows.sort_by_key(|r| std::cmp::Reverse(r.score()));
        let mut seen = Vec::new();
        rows.retain(|r| {
            let d = r.get("dest");
            let new = !seen.contains(&d);
            seen.push(d);
            new
        });
    }
    rows.iter()
        .map(|r| {
            let mut out: BTreeMap<String, String> = BTreeMap::new();
            for f in search.fields() {
                let v = match (*f, search.kind) {
                    ("risk_user", _) if r.get("lm_side") == "destination" => r.get("user"),
                    ("risk_user", _) => String::new(),
                    ("risk_score", Kind::Hop) => r.get("lm_risk_added"),
                    _ => r.try_get(f).unwrap_or_default(),
                };
                out.insert(f.to_string(), v);
            }
            out
        })
        .collect()
}

/// A risk event: object, type, score, threat objects `type=value`.
type RiskEvent = (String, String, u32, Vec<String>);

/// ES's risk action over the results, reading the shipped `_risk` JSON.
fn risk_events(name: &str, results: &[BTreeMap<String, String>]) -> Vec<RiskEvent> {
    let saved = conf("default/savedsearches.conf");
    let risk: serde_json::Value =
        serde_json::from_str(&saved[name]["action.risk.param._risk"]).unwrap();
    let entries = risk.as_array().unwrap();
    let values = |r: &BTreeMap<String, String>, f: &str| -> Vec<String> {
        r.get(f)
            .map(|v| {
                v.lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for r in results {
        let threats: Vec<String> = entries
            .iter()
            .filter_map(|e| {
                Some((
                    e.get("threat_object_field")?.as_str()?,
                    e["threat_object_type"].as_str()?,
                ))
            })
            .flat_map(|(f, t)| values(r, f).into_iter().map(move |v| format!("{t}={v}")))
            .collect();
        for e in entries {
            let (Some(field), Some(kind)) = (e.get("risk_object_field"), e.get("risk_object_type"))
            else {
                continue;
            };
            let score = r
                .get("risk_score")
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| e["risk_score"].as_u64().unwrap() as u32);
            for v in values(r, field.as_str().unwrap()) {
                out.push((
                    v,
                    kind.as_str().unwrap().to_string(),
                    score,
                    threats.clone(),
                ));
            }
        }
    }
    out
}

/// Every saved search's risk events on a fixture, by search.
fn all_risk_events(fixture_name: &str) -> Vec<(String, RiskEvent)> {
    let mut all: Vec<(String, RiskEvent)> = Vec::new();
    for search in saved_searches() {
        if search.kind == Kind::Hunting {
            assert!(search.risk_entries().is_empty());
            continue;
        }
        let results = rest_of_search(&search, command_output(&search, fixture_name));
        for r in &results {
            assert!(
                !r.contains_key("_raw"),
                "results are trimmed before the risk action"
            );
        }
        all.extend(
            risk_events(&search.name, &results)
                .into_iter()
                .map(|e| (search.name.clone(), e)),
        );
    }
    all
}

/// Total risk per object.
fn totals(all: &[(String, RiskEvent)]) -> BTreeMap<String, u32> {
    let mut totals: BTreeMap<String, u32> = BTreeMap::new();
    for (_, (o, _, score, _)) in all {
        *totals.entry(o.clone()).or_default() += score;
    }
    totals
}

/// Issue 14: every saved search's risk action applied to the command's
/// output on the Mordor PowerShell-remoting session (WORKSTATION5 →
/// WORKSTATION6 as pgustavo): one spelling per host, the user a risk
/// object, threat objects typed one field each, and no object scored above
/// the hop's own risk (85) from this one movement: the README's risk model.
#[test]
fn issue14_es_risk_events_of_the_mordor_remoting_session() {
    let all = all_risk_events("mordor_psremoting.csv");
    let shown: Vec<String> = all
        .iter()
        .map(|(s, (o, t, score, th))| format!("{s} | {o} {t} {score} [{}]", th.join(" ")))
        .collect();
    let want = [
        // The strongest event at each end: the client's WinRM connections
        // (Sigma c539afac, high: 49), and the 4103 module logging of the
        // remote session (its UserID is a SID, no account).
        "winrmdetect - WinRM and PowerShell Remoting Lateral Movement - Rule | workstation5 system 49 [system=172.18.39.6]",
        "winrmdetect - WinRM and PowerShell Remoting Lateral Movement - Rule | workstation6 system 49 []",
        "winrmdetect - Lateral Movement Hop - Rule | workstation5 system 36 []",
        "winrmdetect - Lateral Movement Hop - Rule | workstation6 system 36 []",
        "winrmdetect - Lateral Movement Hop - Rule | pgustavo user 36 []",
    ];
    assert_eq!(shown, want, "\n{}", shown.join("\n"));
    let mut totals: BTreeMap<&str, u32> = BTreeMap::new();
    for (_, (o, _, score, _)) in &all {
        *totals.entry(o.as_str()).or_default() += score;
    }
    assert_eq!(
        totals["workstation6"], 85,
        "the destination: the hop's risk, once"
    );
    assert_eq!(
        totals["workstation5"], 85,
        "the source: its connections and the hop's addition, the hop's risk once"
    );
    assert_eq!(totals["pgustavo"], 36, "the account");
    assert!(totals.values().all(|&t| t <= 85), "{totals:?}");
}

/// The rendered SPL says what the plan the emulation runs says.
#[test]
fn issue14_the_rendered_spl_is_the_plan() {
    for search in saved_searches() {
        let spl = search.spl();
        assert!(spl.starts_with(&format!("search {} | winrmdetect ", search.prefilter())));
        match search.kind {
            Kind::Rule(_) => {
                assert!(spl.contains(
                    "| winrmdetect alerts_only=true min_score=20 | search AlertType IN ("
                ));
                for t in &search.alert_types {
                    assert!(spl.contains(&format!("\"{t}\"")), "{t}");
                }
                assert!(spl.contains("| sort 0 - risk_score | dedup dest | eval risk_user=if(lm_side==\"destination\", user, null()) | fields "));
            }
            Kind::Hop => assert!(
                spl.contains(
                    "| winrmdetect correlate=true summary=true | where lm_risk_added > 0 |"
                ) && spl.contains("| eval risk_score=lm_risk_added | fields ")
            ),
            Kind::Hunting => assert!(spl.contains("| stats ")),
        }
        if search.kind != Kind::Hunting {
            assert!(spl.ends_with(&format!("| fields {}", search.fields().join(" "))));
        }
    }
}

/// Issue 14: the share of each bundled recording's events that a search's
/// pre-filter hands to the binary (what the README states is printed by
/// `cargo run --release --example prefilter_share`); here: every event a
/// rule of the search alerts on gets through.
#[test]
fn issue14_prefilters_keep_every_event_their_rules_alert_on() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    names.sort();
    let engine = winrmdetect::detect::Engine::default();
    let rule_searches: Vec<SavedSearch> = saved_searches()
        .into_iter()
        .filter(|s| matches!(s.kind, Kind::Rule(_)))
        .collect();
    let mut checked = 0;
    for name in &names {
        for r in input_rows(&fixture(name)) {
            let ev = event_of(&r);
            let Some(det) = engine.detect(&ev) else {
                continue;
            };
            for search in rule_searches.iter() {
                if det
                    .alert_types
                    .iter()
                    .any(|t| search.alert_types.contains(t))
                {
                    assert!(
                        search.prefilter_passes(&ev),
                        "{name}: {} {:?}",
                        search.name,
                        det.alert_types
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100, "{checked}");
}

/// Issue 14: the hand-made WinRM set holds a two-hop chain (wks01 ->
/// srv02 -> srv03 by one account, known here only by its SID) among other
/// hops. Its WinRM Operational events score 15, below the per-event risk
/// searches' 20, so every point comes from the hop search: each hop once,
/// at its own risk, on both ends and the account. The pivot srv02 crosses
/// 100 only because two hops touch it.
#[test]
fn issue14_es_risk_of_a_two_hop_chain() {
    let all = all_risk_events("winrm_operational_handmade.csv");
    assert!(all
        .iter()
        .all(|(s, _)| s == "winrmdetect - Lateral Movement Hop - Rule"));
    let pivot: Vec<u32> = all
        .iter()
        .filter(|(_, (o, _, _, _))| o == "srv02")
        .map(|(_, (_, _, score, _))| *score)
        .collect();
    assert_eq!(pivot, [90, 90], "into srv02, and out of it");
    let want: BTreeMap<String, u32> = [
        ("10.0.1.21", 50),
        ("10.0.1.33", 15),
        ("s-1-5-21-3623811015-3361044348-30300820-1104", 350),
        ("srv02", 180),
        ("srv03", 245),
        ("wks01", 210),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(totals(&all), want);
}
