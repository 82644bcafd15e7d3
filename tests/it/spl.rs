//! A small SPL evaluator for the dashboards' post-processing (issue 16).
//!
//! The dashboards' data sources are a `winrmdetect` search followed by a
//! pipeline of ordinary SPL commands, and chained searches that continue
//! it. The test runs the real binary for the `winrmdetect` part and this
//! module for the rest, so each panel gets the data Splunk would give it.
//!
//! Only the commands and forms the dashboards use are implemented, each as
//! Splunk's Search Reference documents it; anything else stops the test
//! (a dashboard that needs more must extend this emulation first):
//! - `search` with `field=value` terms (`*` wildcards, case-insensitive,
//!   a multivalue field matches when any value does, a missing field never
//!   matches), `field>=number`, `OR` binding tighter than the implicit AND;
//! - `fillnull value=X fields…`, `fields`, `table`, `rename a as b`,
//!   `head N`, `sort 0 [-]f…` (numbers numerically, stable);
//! - `stats` with `count`, `sum`, `max`, `min`, `dc`, `values`, `list`,
//!   `first`, `as`, `by` (rows missing a by-field are dropped, multivalue
//!   by-fields count once per value, groups come out in by-field order);
//! - `eval f=strftime(g, "fmt")`, `eval f=mvjoin(g, "sep")` and
//!   `eval f="text"`, comma-separated
//!   (UTC: the dashboards' times are then the test's UTC times);
//! - `bin _time span=Nm|Nh|Ns`.
//!
//! Empty values are absent, as in Splunk.

use std::collections::BTreeMap;

/// A result set: field order and rows of multivalue fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Results {
    pub fields: Vec<String>,
    pub rows: Vec<BTreeMap<String, Vec<String>>>,
}

impl Results {
    /// Column-major data as `ds.test` takes it: `{fields: [{name}], columns}`;
    /// a multivalue cell is an array, an absent one `null`.
    pub fn to_ds_test(&self) -> serde_json::Value {
        let fields: Vec<_> = self
            .fields
            .iter()
            .map(|f| serde_json::json!({ "name": f }))
            .collect();
        let columns: Vec<Vec<serde_json::Value>> = self
            .fields
            .iter()
            .map(|f| {
                self.rows
                    .iter()
                    .map(|r| match (f.as_str(), r.get(f)) {
                        ("_time", Some(t)) => cell(Some(&t.iter().map(|t| iso(t)).collect())),
                        (_, v) => cell(v),
                    })
                    .collect()
            })
            .collect();
        serde_json::json!({ "fields": fields, "columns": columns })
    }

    /// Every value of `field`, in row order.
    pub fn column(&self, field: &str) -> Vec<String> {
        self.rows
            .iter()
            .flat_map(|r| r.get(field).cloned().unwrap_or_default())
            .collect()
    }

    fn add_field(&mut self, f: &str) {
        if !self.fields.iter().any(|x| x == f) {
            self.fields.push(f.to_string());
        }
    }
}

/// `_time` as Splunk's REST API gives it to dashboards:
/// `2020-09-20T21:09:00.000+00:00`.
fn iso(epoch: &str) -> String {
    let t: f64 = epoch.parse().unwrap_or_else(|_| panic!("_time {epoch:?}"));
    let when = chrono::DateTime::from_timestamp_millis((t * 1000.0).round() as i64).expect("_time");
    when.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

fn cell(v: Option<&Vec<String>>) -> serde_json::Value {
    match v.map(Vec::as_slice) {
        None | Some([]) => serde_json::Value::Null,
        Some([one]) => serde_json::Value::String(one.clone()),
        Some(many) => serde_json::json!(many),
    }
}

/// Runs `pipeline` (`| cmd … | cmd …`, as a chained search's query) on
/// `input`.
pub fn run(pipeline: &str, mut input: Results) -> Results {
    for command in split_pipes(pipeline) {
        input = apply(&command, input);
    }
    input
}

/// The commands of a pipeline: split at `|` outside quotes, trimmed, the
/// empty ones (a leading `|`) left out.
pub fn split_pipes(pipeline: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in pipeline.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                out.last_mut().unwrap().push(c);
            }
            '|' if !quoted => out.push(String::new()),
            _ => out.last_mut().unwrap().push(c),
        }
    }
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whitespace-separated words, a quoted word kept whole (with its quotes)
/// and `,` `(` `)` `=` kept inside words.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if c.is_whitespace() && !quoted {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unquote(s: &str) -> String {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
        .to_string()
}

fn apply(command: &str, input: Results) -> Results {
    let w = words(command);
    let args = &w[1..];
    match w[0].as_str() {
        "search" => search(args, input),
        "fillnull" => fillnull(args, input),
        "fields" => fields(args, input, true),
        "table" => fields(args, input, false),
        "rename" => rename(args, input),
        "head" => head(args, input),
        "sort" => sort(args, input),
        "stats" => stats(&args.join(" "), input),
        "eval" => eval(&args.join(" "), input),
        "bin" => bin(args, input),
        other => panic!("SPL emulation: command {other:?} is not emulated ({command:?})"),
    }
}

enum Term {
    Equals(String, String),
    AtLeast(String, f64),
}

fn term(word: &str) -> Term {
    if let Some((f, v)) = word.split_once(">=") {
        let n = v
            .parse()
            .unwrap_or_else(|_| panic!("SPL emulation: {word:?} compares with a non-number"));
        return Term::AtLeast(f.to_string(), n);
    }
    let (f, v) = word
        .split_once('=')
        .unwrap_or_else(|| panic!("SPL emulation: search term {word:?} is not field=value"));
    Term::Equals(f.to_string(), unquote(v))
}

fn matches(t: &Term, row: &BTreeMap<String, Vec<String>>) -> bool {
    match t {
        Term::Equals(f, pat) => row.get(f).is_some_and(|vs| {
            vs.iter()
                .any(|v| glob(&pat.to_lowercase(), &v.to_lowercase()))
        }),
        Term::AtLeast(f, n) => row
            .get(f)
            .is_some_and(|vs| vs.iter().any(|v| v.parse::<f64>().is_ok_and(|x| x >= *n))),
    }
}

/// `*` matches any run of characters.
pub fn glob(pat: &str, s: &str) -> bool {
    match pat.split_once('*') {
        None => pat == s,
        Some((head, rest)) => {
            let Some(tail) = s.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

fn search(args: &[String], mut input: Results) -> Results {
    // OR binds tighter than the implicit AND: a list of OR-groups.
    let mut groups: Vec<Vec<Term>> = Vec::new();
    let mut join = false;
    for a in args {
        if a == "OR" {
            join = true;
        } else if join {
            groups.last_mut().expect("OR after a term").push(term(a));
            join = false;
        } else {
            groups.push(vec![term(a)]);
        }
    }
    input
        .rows
        .retain(|r| groups.iter().all(|g| g.iter().any(|t| matches(t, r))));
    input
}

fn fillnull(args: &[String], mut input: Results) -> Results {
    let value = args
        .iter()
        .find_map(|a| a.strip_prefix("value="))
        .map(unquote)
        .unwrap_or_else(|| "0".to_string());
    let names: Vec<&String> = args.iter().filter(|a| !a.starts_with("value=")).collect();
    for r in &mut input.rows {
        for n in &names {
            let v = r.entry(n.to_string()).or_default();
            if v.is_empty() {
                v.push(value.clone());
            }
        }
    }
    for n in names {
        input.add_field(n);
    }
    input
}

/// `fields` keeps `_time` as Splunk keeps internal fields; `table` does not.
fn fields(args: &[String], mut input: Results, keep_time: bool) -> Results {
    let mut keep: Vec<String> = args
        .iter()
        .flat_map(|a| a.split(','))
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    if keep_time && input.fields.iter().any(|f| f == "_time") && !keep.contains(&"_time".into()) {
        keep.insert(0, "_time".into());
    }
    for r in &mut input.rows {
        r.retain(|k, _| keep.contains(k));
    }
    input.fields = keep;
    input
}

fn rename(args: &[String], mut input: Results) -> Results {
    for pair in args.split(|a| a == ",").filter(|p| !p.is_empty()) {
        let [from, as_, to] = pair else {
            panic!("SPL emulation: rename {pair:?}")
        };
        assert_eq!(as_.to_lowercase(), "as", "SPL emulation: rename {pair:?}");
        for f in &mut input.fields {
            if f == from {
                f.clone_from(to);
            }
        }
        for r in &mut input.rows {
            if let Some(v) = r.remove(from) {
                r.insert(to.clone(), v);
            }
        }
    }
    input
}

fn head(args: &[String], mut input: Results) -> Results {
    let n: usize = args.first().map_or(10, |a| a.parse().expect("head N"));
    input.rows.truncate(n);
    input
}

fn sort(args: &[String], mut input: Results) -> Results {
    let mut keys: Vec<(bool, String)> = Vec::new();
    let mut desc = false;
    for a in args {
        if a == "0" && keys.is_empty() {
            continue;
        }
        if a == "-" {
            desc = true;
            continue;
        }
        let (d, f) = match a.strip_prefix('-') {
            Some(f) => (true, f),
            None => (desc, a.strip_prefix('+').unwrap_or(a)),
        };
        keys.push((d, f.to_string()));
        desc = false;
    }
    input.rows.sort_by(|a, b| {
        keys.iter()
            .map(|(d, f)| {
                let o = compare(first(a, f), first(b, f));
                if *d {
                    o.reverse()
                } else {
                    o
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    input
}

fn first<'a>(r: &'a BTreeMap<String, Vec<String>>, f: &str) -> Option<&'a str> {
    r.get(f).and_then(|v| v.first()).map(String::as_str)
}

/// Numbers before text, numbers numerically, absent values last.
fn compare(a: Option<&str>, b: Option<&str>) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (None, None) => Equal,
        (None, _) => Greater,
        (_, None) => Less,
        (Some(a), Some(b)) => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(x), Ok(y)) => x.total_cmp(&y),
            (Ok(_), Err(_)) => Less,
            (Err(_), Ok(_)) => Greater,
            _ => a.cmp(b),
        },
    }
}

struct Agg {
    func: String,
    field: Option<String>,
    name: String,
}

fn parse_aggs(spec: &str) -> (Vec<Agg>, Vec<String>) {
    let (aggs, by) = match spec.split_once(" by ") {
        Some((a, b)) => (a, words(b)),
        None => (spec, Vec::new()),
    };
    let w = words(&aggs.replace(',', " "));
    let mut out: Vec<Agg> = Vec::new();
    let mut i = 0;
    while i < w.len() {
        let (func, field) = match w[i].split_once('(') {
            Some((f, rest)) => (f.to_string(), Some(rest.trim_end_matches(')').to_string())),
            None => (w[i].clone(), None),
        };
        let known = [
            "count", "sum", "max", "min", "dc", "values", "list", "first",
        ];
        assert!(
            known.contains(&func.as_str()),
            "SPL emulation: stats {func:?}"
        );
        let mut name = match &field {
            Some(f) => format!("{func}({f})"),
            None => func.clone(),
        };
        if w.get(i + 1).is_some_and(|a| a.eq_ignore_ascii_case("as")) {
            name.clone_from(&w[i + 2]);
            i += 2;
        }
        out.push(Agg { func, field, name });
        i += 1;
    }
    (out, by)
}

/// Each combination of by-field values a row belongs to (none when a
/// by-field is absent).
fn group_keys(r: &BTreeMap<String, Vec<String>>, by: &[String]) -> Vec<Vec<String>> {
    let mut keys = vec![Vec::new()];
    for f in by {
        let Some(vs) = r.get(f).filter(|v| !v.is_empty()) else {
            return Vec::new();
        };
        keys = keys
            .into_iter()
            .flat_map(|k| {
                vs.iter().map(move |v| {
                    let mut k = k.clone();
                    k.push(v.clone());
                    k
                })
            })
            .collect();
    }
    keys
}

fn stats(spec: &str, input: Results) -> Results {
    let (aggs, by) = parse_aggs(spec);
    let mut groups: BTreeMap<Vec<String>, Vec<&BTreeMap<String, Vec<String>>>> = BTreeMap::new();
    for r in &input.rows {
        for k in group_keys(r, &by) {
            groups.entry(k).or_default().push(r);
        }
    }
    if by.is_empty() && groups.is_empty() {
        groups.insert(Vec::new(), Vec::new());
    }
    let mut out = Results {
        fields: by
            .iter()
            .cloned()
            .chain(aggs.iter().map(|a| a.name.clone()))
            .collect(),
        rows: Vec::new(),
    };
    for (key, rows) in groups {
        let mut row: BTreeMap<String, Vec<String>> = by
            .iter()
            .cloned()
            .zip(key.into_iter().map(|v| vec![v]))
            .collect();
        for a in &aggs {
            let v = aggregate(a, &rows);
            if !v.is_empty() {
                row.insert(a.name.clone(), v);
            }
        }
        out.rows.push(row);
    }
    out
}

fn aggregate(a: &Agg, rows: &[&BTreeMap<String, Vec<String>>]) -> Vec<String> {
    let values: Vec<&String> = match &a.field {
        Some(f) => rows
            .iter()
            .flat_map(|r| r.get(f).into_iter().flatten())
            .collect(),
        None => Vec::new(),
    };
    let numbers = || values.iter().filter_map(|v| v.parse::<f64>().ok());
    let number = |x: Option<f64>| x.map(|x| vec![fmt_number(x)]).unwrap_or_default();
    match a.func.as_str() {
        "count" if a.field.is_none() => vec![rows.len().to_string()],
        "count" => vec![values.len().to_string()],
        "sum" => number(numbers().reduce(|x, y| x + y)),
        "max" => number(numbers().reduce(f64::max)),
        "min" => number(numbers().reduce(f64::min)),
        "first" => values
            .first()
            .map(|v| vec![v.to_string()])
            .unwrap_or_default(),
        "list" => values.iter().map(|v| v.to_string()).collect(),
        "values" | "dc" => {
            let mut u: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            u.sort();
            u.dedup();
            if a.func == "dc" {
                vec![u.len().to_string()]
            } else {
                u
            }
        }
        f => panic!("SPL emulation: stats {f}"),
    }
}

fn fmt_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn eval(spec: &str, mut input: Results) -> Results {
    for assignment in split_commas(spec) {
        let (name, expr) = assignment
            .split_once('=')
            .unwrap_or_else(|| panic!("SPL emulation: eval {assignment:?}"));
        let (name, expr) = (name.trim().to_string(), expr.trim());
        for r in &mut input.rows {
            let v = eval_expr(expr, r);
            match v {
                Some(v) => r.insert(name.clone(), vec![v]),
                None => r.remove(&name),
            };
        }
        input.add_field(&name);
    }
    input
}

fn split_commas(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut quoted) = (Vec::new(), String::new(), 0, false);
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

fn eval_expr(expr: &str, r: &BTreeMap<String, Vec<String>>) -> Option<String> {
    if expr.starts_with('"') {
        return Some(unquote(expr));
    }
    let (function, args) = expr
        .strip_suffix(')')
        .and_then(|e| e.split_once('('))
        .unwrap_or_else(|| panic!("SPL emulation: eval {expr:?}"));
    let (field, arg) = args
        .split_once(',')
        .unwrap_or_else(|| panic!("SPL emulation: {function}(field, text)"));
    match function {
        "strftime" => strftime(r.get(field.trim())?.first()?, &unquote(arg.trim())),
        // mvjoin(MV, "sep"): the values joined; a missing field stays missing.
        "mvjoin" => Some(r.get(field.trim())?.join(&unquote(arg.trim()))),
        f => panic!("SPL emulation: eval function {f}"),
    }
}

/// `strftime(t, fmt)` in UTC, for an epoch time given as text.
fn strftime(t: &str, format: &str) -> Option<String> {
    let t: f64 = t.parse().ok()?;
    let secs = t.floor() as i64;
    let nanos = ((t - t.floor()) * 1e9) as u32;
    let when = chrono::DateTime::from_timestamp(secs, nanos)?;
    Some(when.format(format).to_string())
}

fn bin(args: &[String], mut input: Results) -> Results {
    let field = &args[0];
    let span = args
        .iter()
        .find_map(|a| a.strip_prefix("span="))
        .expect("bin span=");
    let (n, unit) = span.split_at(span.len() - 1);
    let n: f64 = n.parse().expect("bin span number");
    let secs = n * match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        u => panic!("SPL emulation: bin span unit {u}"),
    };
    for r in &mut input.rows {
        if let Some(v) = r.get_mut(field) {
            for x in v.iter_mut() {
                if let Ok(t) = x.parse::<f64>() {
                    *x = fmt_number((t / secs).floor() * secs);
                }
            }
        }
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(fields: &[&str], rows: &[&[&str]]) -> Results {
        Results {
            fields: fields.iter().map(|f| f.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| {
                    fields
                        .iter()
                        .zip(r.iter())
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(f, v)| (f.to_string(), v.split('\n').map(str::to_string).collect()))
                        .collect()
                })
                .collect(),
        }
    }

    #[test]
    fn issue16_spl_search_or_binds_tighter_and_star_needs_the_field() {
        let t = table(&["a", "b"], &[&["x", "1"], &["y", ""], &["Z", "5"]]);
        let got = run("| search a=x OR a=z b>=1", t.clone());
        assert_eq!(got.column("a"), ["x", "Z"]);
        assert_eq!(run("| search b=*", t.clone()).rows.len(), 2);
        assert_eq!(run("| search a=\"*\" b>=2", t).column("a"), ["Z"]);
    }

    #[test]
    fn issue16_spl_stats_groups_multivalues_and_drops_missing_keys() {
        let t = table(
            &["h", "t", "n"],
            &[&["a", "X\nY", "2"], &["b", "X", "3"], &["", "X", "9"]],
        );
        let got = run("| stats sum(n) as total count by t", t);
        assert_eq!(got.fields, ["t", "total", "count"]);
        assert_eq!(got.column("t"), ["X", "Y"]);
        assert_eq!(got.column("total"), ["14", "2"]);
        assert_eq!(got.column("count"), ["3", "1"]);
    }

    #[test]
    fn issue16_spl_sort_eval_rename_head_bin() {
        let t = table(
            &["_time", "h", "mv"],
            &[&["130", "b", "p\nq"], &["10", "a", "r"], &["65", "c", ""]],
        );
        let got = run(
            "| bin _time span=1m | sort 0 - _time | eval t=strftime(_time, \"%H:%M:%S\"), k=\"x\", m=mvjoin(mv, \", \") | rename h as host | head 2",
            t,
        );
        assert_eq!(got.column("t"), ["00:02:00", "00:01:00"]);
        assert_eq!(got.column("host"), ["b", "c"]);
        assert_eq!(got.column("k"), ["x", "x"]);
        assert_eq!(got.rows[0]["m"], ["p, q"]);
        assert!(!got.rows[1].contains_key("m"), "mvjoin of nothing");
    }
}
