//! `hunt --html` and `hunt --dot`: a picture of a [`Report`].
//!
//! [`html`] draws ONE self-contained page (no network: a strict
//! Content-Security-Policy, no URL, no font or image to fetch; it opens
//! from disk): an SVG graph of the hosts (a node each, on a circle in the
//! order the chains pass through them) and the hops (an arrow each,
//! coloured by technique with a legend, dashed when the attempt failed,
//! thicker when it belongs to a chain of two hops or more, a tooltip with
//! its id, technique, UTC times, users and confidence); a timeline (alerts
//! as dots, hops as bars from first to last seen, on a UTC axis); the
//! chains, one line each (`a → b → c`, times, techniques); and the alerts
//! in a table that a text box filters (`#filter=TEXT` in the address sets
//! it on opening), with the count of rows shown.
//!
//! [`dot`] writes the same graph for Graphviz.
//!
//! Every value comes from the events, so from whoever wrote them: text and
//! attributes are HTML-escaped, DOT strings are quoted and escaped, and the
//! alert rows travel as JSON in a `<script type="application/json">` whose
//! `<`, `>` and `&` are `\u` escapes. The page's own script is static; it
//! puts the rows into the table with `textContent`.

use std::collections::{HashMap, HashSet};
use std::f64::consts::PI;
use std::fmt::Write;

use crate::cli::report::{chains, Alert, Chain, Report};
use crate::correlate::Hop;
use crate::detect::{Outcome, Technique};

/// The page's Content-Security-Policy: inline style and script only;
/// nothing may be fetched.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/// The alert table's headers, in the order of [`alert_cells`].
const ALERT_HEADERS: [&str; 13] = [
    "time (UTC)",
    "host",
    "user",
    "AlertType",
    "rule id",
    "score",
    "side",
    "target",
    "process",
    "command line",
    "EventID",
    "record id",
    "file",
];

/// Radius of a host's circle in the graph.
const NODE_R: f64 = 18.0;

/// Longest host label drawn in full (the tooltip has the whole name).
const LABEL_CHARS: usize = 40;

/// Most hop lanes of the timeline; further hops share the emptiest lane.
const MAX_LANES: usize = 30;

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em}
.summary{color:#555}.empty{color:#777;font-style:italic}
#errors{color:#b00;white-space:pre-wrap}
.scroll{overflow:auto;border:1px solid #ddd;max-height:80vh}
.legend{list-style:none;padding:0;margin:.3em 0;display:flex;flex-wrap:wrap;gap:1.2em}
.legend svg{vertical-align:middle;margin-right:.3em}
.node circle{fill:#f4f6fb;stroke:#345;stroke-width:1.5}.node{cursor:pointer}
.node text{font-size:12px;fill:#123}.node:hover circle{fill:#dde6f7}
.edge{fill:none}.edge:hover{stroke-width:6}.edge.hl{stroke-width:7;filter:drop-shadow(0 0 3px #fc0)}
.axis text{font-size:11px;fill:#555}.axis line{stroke:#999}
.tl-alert{fill:#c33;fill-opacity:.6}.tl-hop{fill-opacity:.8}
ol.chains li{margin:.2em 0;cursor:pointer}ol.chains .path{font-weight:600}
ol.chains .when,ol.chains .tech{color:#555;margin-left:.8em}
table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #ddd;padding:2px 5px;vertical-align:top;text-align:left}
th{background:#f0f0f0;position:sticky;top:0}td:first-child{white-space:nowrap}
td:nth-child(10){max-width:48em;word-break:break-all}
#filter{width:24em;padding:3px}#shown{margin-left:1em;color:#555}
";

/// Sets up the error box before anything else runs: any error of the
/// page's script is written there (the browser test reads it).
const ONERROR_JS: &str =
    "window.onerror=function(m,s,l,c){var p=document.getElementById('errors');\
p.hidden=false;p.textContent+=m+' (line '+l+':'+c+')\\n';};";

/// Builds the alert table from the JSON rows, filters it, highlights a
/// chain's edges when its line is clicked, and marks `<body data-ready>`.
const PAGE_JS: &str = r#"(function () {
  var data = JSON.parse(document.getElementById('alert-data').textContent);
  var body = document.getElementById('alert-rows');
  var input = document.getElementById('filter');
  var count = document.getElementById('shown');
  var frag = document.createDocumentFragment();
  var rows = data.map(function (r) {
    var tr = document.createElement('tr');
    r.cells.forEach(function (c) {
      var td = document.createElement('td');
      td.textContent = c;
      tr.appendChild(td);
    });
    tr.title = r.title;
    frag.appendChild(tr);
    return { tr: tr, text: r.cells.join('\u0001').toLowerCase() };
  });
  body.appendChild(frag);
  function apply() {
    var q = input.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (r) {
      var show = q === '' || r.text.indexOf(q) >= 0;
      r.tr.hidden = !show;
      if (show) { n++; }
    });
    count.textContent = n + ' of ' + rows.length + ' alerts shown';
    count.setAttribute('data-shown', String(n));
  }
  var m = /^#filter=(.*)$/.exec(location.hash);
  if (m) {
    try { input.value = decodeURIComponent(m[1]); } catch (e) { input.value = m[1]; }
  }
  input.addEventListener('input', apply);
  document.querySelectorAll('.node').forEach(function (g) {
    g.addEventListener('click', function () { input.value = g.getAttribute('data-host'); apply(); });
  });
  document.querySelectorAll('ol.chains li').forEach(function (li) {
    li.addEventListener('click', function () {
      var id = li.getAttribute('data-chain');
      document.querySelectorAll('.edge').forEach(function (e) {
        e.classList.toggle('hl', e.getAttribute('data-chain') === id && !e.classList.contains('hl'));
      });
    });
  });
  apply();
  document.body.setAttribute('data-ready', '1');
})();"#;

/// The whole HTML document of `report`.
pub fn html(report: &Report) -> String {
    let chains = chains(&report.hops);
    let mut out = String::with_capacity(1 << 16);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>winrmdetect: lateral movement</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <pre id=\"errors\" hidden></pre>\n<script>{ONERROR_JS}</script>\n"
    );
    out.push_str(&summary(report, chains.len()));
    out.push_str("<section id=\"graph\">\n<h2>Hosts and hops</h2>\n");
    out.push_str(&graph(&report.hops, &chains));
    out.push_str("</section>\n<section id=\"timeline\">\n<h2>Timeline (UTC)</h2>\n");
    out.push_str(&timeline(&report.alerts, &report.hops));
    out.push_str("</section>\n<section id=\"chains\">\n<h2>Chains</h2>\n");
    out.push_str(&chain_list(&chains));
    out.push_str("</section>\n<section id=\"alerts\">\n<h2>Alerts</h2>\n");
    out.push_str(&alert_table(&report.alerts));
    let _ = write!(
        out,
        "</section>\n<script>{PAGE_JS}</script>\n</body>\n</html>\n"
    );
    out
}

/// A Graphviz `digraph` of the hosts and hops: ids and labels quoted and
/// escaped, failed attempts dashed, hops of multi-hop chains thicker.
pub fn dot(report: &Report) -> String {
    let chains = chains(&report.hops);
    let multi = multi_hop_chains(&chains);
    let mut out = String::from(
        "digraph winrmdetect {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    for host in hosts_in_order(&chains) {
        let _ = writeln!(out, "  {} [label={}];", dot_str(host), dot_str(host));
    }
    for h in &report.hops {
        let style = if failed(h.outcome) { "dashed" } else { "solid" };
        let width = if multi.contains(h.chain_id.as_str()) {
            3
        } else {
            1
        };
        let _ = writeln!(
            out,
            "  {} -> {} [id={}, label={}, color=\"{}\", style={style}, penwidth={width}, tooltip={}];",
            dot_str(&h.src),
            dot_str(&h.dest),
            dot_str(&h.id),
            dot_str(&format!("{} {}", h.id, h.technique.as_str())),
            colour(h.technique),
            dot_str(&hop_tooltip(h)),
        );
    }
    out.push_str("}\n");
    out
}

/// Text for HTML content and attribute values: `& < > " '` as entities.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A DOT quoted string: `"` and `\` escaped, line breaks as `\n` / `\r`,
/// other control characters replaced.
fn dot_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The colour of a technique's edges and bars.
fn colour(t: Technique) -> &'static str {
    match t {
        Technique::WinRm => "#1f77b4",
        Technique::PsRemoting => "#9467bd",
        Technique::Winrs => "#17becf",
        Technique::Wmi => "#ff7f0e",
        Technique::SmbService => "#d62728",
        Technique::ScheduledTask => "#8c564b",
        Technique::Dcom => "#e377c2",
        Technique::Rdp => "#7f7f00",
    }
}

/// Whether a hop is drawn dashed: the attempt failed.
fn failed(o: Outcome) -> bool {
    match o {
        Outcome::Failed => true,
        Outcome::Success => false,
    }
}

/// Epoch seconds as UTC ISO 8601 with milliseconds; `-` for a time that
/// is not one.
fn iso(epoch: f64) -> String {
    iso_with(epoch, "%Y-%m-%dT%H:%M:%S%.3fZ")
}

/// Epoch seconds as UTC ISO 8601 to the second (the axis labels).
fn iso_seconds(epoch: f64) -> String {
    iso_with(epoch, "%Y-%m-%dT%H:%M:%SZ")
}

fn iso_with(epoch: f64, format: &str) -> String {
    if !epoch.is_finite() {
        return "-".into();
    }
    let secs = epoch.floor();
    let nanos = ((epoch - secs) * 1e9).min(999_999_999.0) as u32;
    match chrono::DateTime::from_timestamp(secs as i64, nanos) {
        Some(t) => t.format(format).to_string(),
        None => "-".into(),
    }
}

/// The ids of the chains of two hops or more (drawn highlighted).
fn multi_hop_chains<'h>(chains: &[Chain<'h>]) -> HashSet<&'h str> {
    chains
        .iter()
        .filter(|c| c.hops.len() > 1)
        .map(|c| c.id)
        .collect()
}

/// Every host once, in the order the chains (by time) pass through them.
fn hosts_in_order<'h>(chains: &[Chain<'h>]) -> Vec<&'h str> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for c in chains {
        let first = c.hops.first().map(|h| h.src.as_str());
        for host in first
            .into_iter()
            .chain(c.hops.iter().map(|h| h.dest.as_str()))
        {
            if seen.insert(host) {
                out.push(host);
            }
        }
    }
    out
}

/// A hop's tooltip: id, ends, technique and outcome, times, users,
/// confidence, chain and reasons.
fn hop_tooltip(h: &Hop) -> String {
    let users = |u: &std::collections::BTreeSet<String>| match u.len() {
        0 => "-".to_string(),
        _ => u.iter().cloned().collect::<Vec<_>>().join(", "),
    };
    let reasons: Vec<&str> = h.reasons.iter().map(|r| r.as_str()).collect();
    format!(
        "{}: {} \u{2192} {}\n{}, {}\nfirst seen {}\nlast seen {}\nsource users: {}\n\
         destination users: {}\nconfidence {}, risk {}\n{}, hop {}\nreasons: {}",
        h.id,
        h.src,
        h.dest,
        h.technique.as_str(),
        h.outcome.as_str(),
        iso(h.first_seen),
        iso(h.last_seen),
        users(&h.src_users),
        users(&h.dest_users),
        h.confidence,
        h.risk_score,
        h.chain_id,
        h.hop_index,
        reasons.join(", "),
    )
}

/// The heading and the counts of the run, and its warnings.
fn summary(report: &Report, chains: usize) -> String {
    let s = &report.summary;
    let mut out = format!(
        "<header>\n<h1>winrmdetect: lateral movement</h1>\n<p class=\"summary\">{} files read, \
         {} events, {} alerts, {} hops in {} chains</p>\n",
        s.files_read,
        s.events,
        report.alerts.len(),
        report.hops.len(),
        chains
    );
    if !report.warnings.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} warnings</summary><ul>",
            report.warnings.len()
        );
        for w in &report.warnings {
            let _ = writeln!(out, "<li>{}</li>", esc(w));
        }
        out.push_str("</ul></details>\n");
    }
    out.push_str("</header>\n");
    out
}

/// A point of the drawing.
#[derive(Debug, Clone, Copy, PartialEq)]
struct P {
    x: f64,
    y: f64,
}

impl P {
    fn add(self, o: P, k: f64) -> P {
        P {
            x: self.x + o.x * k,
            y: self.y + o.y * k,
        }
    }

    /// The unit vector from `self` to `o` (rightwards when they meet).
    fn toward(self, o: P) -> P {
        let (dx, dy) = (o.x - self.x, o.y - self.y);
        let len = dx.hypot(dy);
        if len < 1e-9 {
            return P { x: 1.0, y: 0.0 };
        }
        P {
            x: dx / len,
            y: dy / len,
        }
    }
}

/// Where the hosts go: on a circle big enough for them, the first at the
/// top, clockwise; the drawing's width and height.
struct Layout<'h> {
    hosts: Vec<&'h str>,
    at: HashMap<&'h str, usize>,
    pos: Vec<P>,
    center: P,
    width: f64,
    height: f64,
}

impl<'h> Layout<'h> {
    fn new(hosts: Vec<&'h str>) -> Self {
        let n = hosts.len();
        let radius = (n as f64 * 70.0 / (2.0 * PI)).max(130.0);
        let (width, height) = (2.0 * radius + 340.0, 2.0 * radius + 110.0);
        let center = P {
            x: width / 2.0,
            y: height / 2.0,
        };
        let pos = (0..n)
            .map(|i| match n {
                1 => center,
                _ => {
                    let a = 2.0 * PI * i as f64 / n as f64 - PI / 2.0;
                    P {
                        x: center.x + radius * a.cos(),
                        y: center.y + radius * a.sin(),
                    }
                }
            })
            .collect();
        let at = hosts.iter().enumerate().map(|(i, h)| (*h, i)).collect();
        Layout {
            hosts,
            at,
            pos,
            center,
            width,
            height,
        }
    }

    fn of(&self, host: &str) -> P {
        self.at.get(host).map_or(self.center, |&i| self.pos[i])
    }
}

/// The graph section: legend and SVG, or "no hops".
fn graph(hops: &[Hop], chains: &[Chain<'_>]) -> String {
    if hops.is_empty() {
        return "<p class=\"empty\">no hops</p>\n".into();
    }
    let layout = Layout::new(hosts_in_order(chains));
    let multi = multi_hop_chains(chains);
    let mut out = legend(hops);
    let _ = writeln!(
        out,
        "<div class=\"scroll\"><svg class=\"graph\" width=\"{w:.0}\" height=\"{h:.0}\" \
         viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\" aria-label=\"hosts and hops\">",
        w = layout.width,
        h = layout.height
    );
    out.push_str(&markers());
    let offsets = parallel_offsets(hops, &layout);
    for (h, off) in hops.iter().zip(offsets) {
        out.push_str(&edge(h, &layout, off, multi.contains(h.chain_id.as_str())));
    }
    for (i, host) in layout.hosts.iter().enumerate() {
        out.push_str(&node(host, layout.pos[i], layout.center, hops));
    }
    out.push_str("</svg></div>\n");
    out
}

/// The legend: the techniques the hops use, a failed attempt, a chain.
fn legend(hops: &[Hop]) -> String {
    let line = |colour: &str, dash: &str, width: u32| {
        format!(
            "<svg width=\"34\" height=\"10\"><line x1=\"1\" y1=\"5\" x2=\"33\" y2=\"5\" \
             stroke=\"{colour}\" stroke-width=\"{width}\"{dash}/></svg>"
        )
    };
    let mut out = String::from("<ul class=\"legend\">\n");
    for t in Technique::ALL {
        if hops.iter().any(|h| h.technique == t) {
            let _ = writeln!(
                out,
                "<li data-technique=\"{}\">{}{}</li>",
                t.as_str(),
                line(colour(t), "", 3),
                t.as_str()
            );
        }
    }
    let dashed = " stroke-dasharray=\"6 4\"";
    let _ = writeln!(
        out,
        "<li>{}failed attempt</li>\n<li>{}in a chain of 2+ hops</li>\n</ul>",
        line("#555", dashed, 2),
        line("#555", "", 5)
    );
    out
}

/// One arrowhead per technique, in its colour.
fn markers() -> String {
    let mut out = String::from("<defs>");
    for t in Technique::ALL {
        let _ = write!(
            out,
            "<marker id=\"arrow-{}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
             markerWidth=\"7\" markerHeight=\"7\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">\
             <path d=\"M0,0 L10,5 L0,10 z\" fill=\"{}\"/></marker>",
            t.as_str(),
            colour(t)
        );
    }
    out.push_str("</defs>\n");
    out
}

/// How far each hop's curve bends from the straight line, so hops between
/// the same two hosts (either way) fan out instead of overlapping; the
/// sign is taken along the pair's own order, so opposite hops part too.
/// A host's loops to itself get 0, 36, 72, ...
fn parallel_offsets(hops: &[Hop], layout: &Layout<'_>) -> Vec<f64> {
    let pair = |h: &Hop| {
        let (a, b) = (
            layout.at.get(h.src.as_str()),
            layout.at.get(h.dest.as_str()),
        );
        (a.min(b).copied(), a.max(b).copied())
    };
    let mut total: HashMap<(Option<usize>, Option<usize>), usize> = HashMap::new();
    for h in hops {
        *total.entry(pair(h)).or_default() += 1;
    }
    let mut seen: HashMap<(Option<usize>, Option<usize>), usize> = HashMap::new();
    hops.iter()
        .map(|h| {
            let key = pair(h);
            let k = seen.entry(key).or_default();
            let m = total[&key] as f64;
            let nth = *k as f64;
            *k += 1;
            let (a, b) = (
                layout.at.get(h.src.as_str()),
                layout.at.get(h.dest.as_str()),
            );
            let off = (nth - (m - 1.0) / 2.0) * 36.0;
            match a.cmp(&b) {
                // Loops of a host to itself grow one by one.
                std::cmp::Ordering::Equal => nth * 36.0,
                std::cmp::Ordering::Greater => -off,
                std::cmp::Ordering::Less => off,
            }
        })
        .collect()
}

/// One hop as an SVG path: a quadratic curve (a loop for a host to itself)
/// between the circles' rims, with its tooltip.
fn edge(h: &Hop, layout: &Layout<'_>, offset: f64, in_chain: bool) -> String {
    let (a, b) = (layout.of(&h.src), layout.of(&h.dest));
    let d = if h.src == h.dest {
        self_loop(a, layout.center, offset)
    } else {
        curve(a, b, offset)
    };
    let mut class = String::from("edge");
    if failed(h.outcome) {
        class.push_str(" failed");
    }
    if in_chain {
        class.push_str(" in-chain");
    }
    let dash = if failed(h.outcome) {
        " stroke-dasharray=\"7 5\""
    } else {
        ""
    };
    let t = h.technique.as_str();
    format!(
        "<path class=\"{class}\" data-hop=\"{}\" data-technique=\"{t}\" data-outcome=\"{}\" \
         data-chain=\"{}\" d=\"{d}\" stroke=\"{}\" stroke-width=\"{}\"{dash} \
         marker-end=\"url(#arrow-{t})\"><title>{}</title></path>\n",
        esc(&h.id),
        h.outcome.as_str(),
        esc(&h.chain_id),
        colour(h.technique),
        if in_chain { 4 } else { 2 },
        esc(&hop_tooltip(h)),
    )
}

/// The path from circle `a` to circle `b` bent by `offset` to the left
/// of the way from `a` to `b`.
fn curve(a: P, b: P, offset: f64) -> String {
    let u = a.toward(b);
    let left = P { x: u.y, y: -u.x };
    let mid = P {
        x: (a.x + b.x) / 2.0,
        y: (a.y + b.y) / 2.0,
    };
    let c = mid.add(left, 2.0 * offset);
    let start = a.add(a.toward(c), NODE_R);
    let end = b.add(b.toward(c), NODE_R + 1.0);
    format!(
        "M{:.1},{:.1} Q{:.1},{:.1} {:.1},{:.1}",
        start.x, start.y, c.x, c.y, end.x, end.y
    )
}

/// A loop out of circle `a`, away from the centre, bigger for each
/// further hop of the host to itself.
fn self_loop(a: P, center: P, offset: f64) -> String {
    let out = center.toward(a);
    let side = P {
        x: out.y,
        y: -out.x,
    };
    let reach = 55.0 + offset;
    let start = a.add(out, NODE_R * 0.8).add(side, NODE_R * 0.6);
    let end = a.add(out, NODE_R * 0.8).add(side, -NODE_R * 0.6);
    let c1 = a.add(out, reach).add(side, reach * 0.6);
    let c2 = a.add(out, reach).add(side, -reach * 0.6);
    format!(
        "M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
        start.x, start.y, c1.x, c1.y, c2.x, c2.y, end.x, end.y
    )
}

/// One host: its circle and its label, outside the circle away from the
/// centre; the tooltip counts its hops.
fn node(host: &str, at: P, center: P, hops: &[Hop]) -> String {
    let out = hops.iter().filter(|h| h.src == host).count();
    let into = hops.iter().filter(|h| h.dest == host).count();
    let dir = if at == center {
        P { x: 0.0, y: 1.0 }
    } else {
        center.toward(at)
    };
    let label_at = at.add(dir, NODE_R + 8.0);
    let anchor = match dir.x {
        x if x > 0.3 => "start",
        x if x < -0.3 => "end",
        _ => "middle",
    };
    let dy = if dir.y > 0.3 { 12.0 } else { 4.0 };
    let mut label: String = host.chars().take(LABEL_CHARS).collect();
    if host.chars().count() > LABEL_CHARS {
        label.push('\u{2026}');
    }
    format!(
        "<g class=\"node\" data-host=\"{h}\"><title>{h}: {out} hops out, {into} in</title>\
         <circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{NODE_R}\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text></g>\n",
        at.x,
        at.y,
        label_at.x,
        label_at.y + dy,
        esc(&label),
        h = esc(host),
    )
}

/// The time axis of the timeline: `t0..t1` onto `x0..x1`.
struct Axis {
    t0: f64,
    t1: f64,
    x0: f64,
    x1: f64,
}

impl Axis {
    /// The axis over every finite time of the alerts and hops (a minute
    /// around a single instant); `None` without any time.
    fn of(alerts: &[Alert], hops: &[Hop]) -> Option<Axis> {
        let times = alerts
            .iter()
            .filter_map(|a| a.epoch)
            .chain(hops.iter().flat_map(|h| [h.first_seen, h.last_seen]))
            .filter(|t| t.is_finite());
        let (lo, hi) = times.fold(None, |span: Option<(f64, f64)>, t| match span {
            None => Some((t, t)),
            Some((lo, hi)) => Some((lo.min(t), hi.max(t))),
        })?;
        let (t0, t1) = if hi - lo < 1e-3 {
            (lo - 30.0, hi + 30.0)
        } else {
            (lo, hi)
        };
        Some(Axis {
            t0,
            t1,
            x0: 90.0,
            x1: 1060.0,
        })
    }

    fn x(&self, t: f64) -> f64 {
        self.x0 + (t - self.t0) / (self.t1 - self.t0) * (self.x1 - self.x0)
    }
}

/// The timeline: alerts as dots on the top lane, hops as bars from first
/// to last seen on lanes below (packed, at most [`MAX_LANES`]), a UTC axis.
fn timeline(alerts: &[Alert], hops: &[Hop]) -> String {
    let Some(axis) = Axis::of(alerts, hops) else {
        return "<p class=\"empty\">no times: no alerts or hops with a time</p>\n".into();
    };
    let (lanes, bars) = hop_bars(hops, &axis);
    let height = 70.0 + 16.0 * lanes as f64 + 30.0;
    let mut out = format!(
        "<div class=\"scroll\"><svg class=\"timeline\" width=\"1160\" height=\"{height:.0}\" \
         viewBox=\"0 0 1160 {height:.0}\" role=\"img\" aria-label=\"timeline\">\n\
         <text x=\"4\" y=\"29\" font-size=\"11\">alerts</text>\
         <text x=\"4\" y=\"64\" font-size=\"11\">hops</text>\n"
    );
    for a in alerts {
        let Some(t) = a.epoch.filter(|t| t.is_finite()) else {
            continue;
        };
        let _ = writeln!(
            out,
            "<circle class=\"tl-alert\" cx=\"{:.1}\" cy=\"25\" r=\"4\"><title>{} {} {} (score {})</title></circle>",
            axis.x(t),
            iso(t),
            esc(&a.host),
            esc(&a.alert_type),
            a.risk_score
        );
    }
    out.push_str(&bars);
    out.push_str(&ticks(&axis, height - 30.0));
    out.push_str("</svg></div>\n");
    let untimed = alerts
        .iter()
        .filter(|a| !a.epoch.is_some_and(f64::is_finite))
        .count();
    if untimed > 0 {
        let _ = writeln!(
            out,
            "<p class=\"empty\">{untimed} alerts without a time are not on the timeline</p>"
        );
    }
    out
}

/// The hops' bars, each on the first lane free at its start; the number of
/// lanes used.
fn hop_bars(hops: &[Hop], axis: &Axis) -> (usize, String) {
    let mut order: Vec<&Hop> = hops
        .iter()
        .filter(|h| h.first_seen.is_finite() && h.last_seen.is_finite())
        .collect();
    order.sort_by(|a, b| a.first_seen.total_cmp(&b.first_seen));
    let mut lane_end: Vec<f64> = Vec::new();
    let mut out = String::new();
    for h in order {
        let x = axis.x(h.first_seen.min(h.last_seen));
        let w = (axis.x(h.first_seen.max(h.last_seen)) - x).max(4.0);
        let lane = match lane_end.iter().position(|&end| end + 3.0 < x) {
            Some(i) => i,
            None if lane_end.len() < MAX_LANES => {
                lane_end.push(f64::NEG_INFINITY);
                lane_end.len() - 1
            }
            None => (0..lane_end.len())
                .min_by(|&i, &j| lane_end[i].total_cmp(&lane_end[j]))
                .unwrap_or(0),
        };
        lane_end[lane] = lane_end[lane].max(x + w);
        let dash = if failed(h.outcome) {
            " stroke=\"#333\" stroke-dasharray=\"3 2\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<rect class=\"tl-hop\" data-hop=\"{}\" x=\"{x:.1}\" y=\"{:.0}\" width=\"{w:.1}\" height=\"11\" fill=\"{}\"{dash}><title>{}</title></rect>",
            esc(&h.id),
            52.0 + 16.0 * lane as f64,
            colour(h.technique),
            esc(&hop_tooltip(h))
        );
    }
    (lane_end.len(), out)
}

/// Five ticks with UTC labels on the axis line at `y`.
fn ticks(axis: &Axis, y: f64) -> String {
    let mut out = format!(
        "<g class=\"axis\"><line x1=\"{:.0}\" y1=\"{y:.0}\" x2=\"{:.0}\" y2=\"{y:.0}\"/>",
        axis.x0, axis.x1
    );
    for i in 0..5 {
        let t = axis.t0 + (axis.t1 - axis.t0) * f64::from(i) / 4.0;
        let x = axis.x(t);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{y:.0}\" x2=\"{x:.1}\" y2=\"{:.0}\"/>\
             <text x=\"{x:.1}\" y=\"{:.0}\" text-anchor=\"middle\">{}</text>",
            y + 5.0,
            y + 18.0,
            iso_seconds(t)
        );
    }
    out.push_str("</g>\n");
    out
}

/// The chains, one line each: hosts, times, techniques.
fn chain_list(chains: &[Chain<'_>]) -> String {
    if chains.is_empty() {
        return "<p class=\"empty\">no hops</p>\n".into();
    }
    let mut out = String::from("<ol class=\"chains\">\n");
    for c in chains {
        let path: Vec<String> = c.hosts().iter().map(|h| esc(h)).collect();
        let first = c.hops.iter().map(|h| h.first_seen).fold(f64::NAN, f64::min);
        let last = c.hops.iter().map(|h| h.last_seen).fold(f64::NAN, f64::max);
        let techniques: Vec<String> = c
            .hops
            .iter()
            .map(|h| match h.outcome {
                Outcome::Failed => format!("{} (failed)", h.technique.as_str()),
                Outcome::Success => h.technique.as_str().to_string(),
            })
            .collect();
        let _ = writeln!(
            out,
            "<li data-chain=\"{id}\"><b>{id}</b> <span class=\"path\">{}</span>\
             <span class=\"when\">{} \u{2013} {}</span><span class=\"tech\">{}</span></li>",
            path.join(" \u{2192} "),
            iso(first),
            iso(last),
            techniques.join(", "),
            id = esc(c.id),
        );
    }
    out.push_str("</ol>\n");
    out
}

/// An alert's cells, in [`ALERT_HEADERS`] order.
fn alert_cells(a: &Alert) -> [String; 13] {
    let time = match a.epoch.filter(|t| t.is_finite()) {
        Some(t) => iso(t),
        None => a.time.clone(),
    };
    [
        time,
        a.host.clone(),
        a.user.clone(),
        a.alert_type.clone(),
        a.rule_id.clone(),
        a.risk_score.to_string(),
        a.side.clone(),
        a.target.clone(),
        a.process.clone(),
        a.command_line.clone(),
        a.event_code.clone(),
        a.record_id.clone(),
        a.file.clone(),
    ]
}

/// The alerts as JSON for the page's script (`[{cells, title}]`), safe
/// inside a `<script>`: no `<`, `>` or `&` but as `\u` escapes.
fn alert_json(alerts: &[Alert]) -> String {
    let rows: Vec<serde_json::Value> = crate::cli::report::by_time(alerts)
        .into_iter()
        .map(|a| {
            let title = [a.description.as_str(), a.mitre.as_str(), a.message.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("\n");
            serde_json::json!({ "cells": alert_cells(a), "title": title })
        })
        .collect();
    serde_json::Value::Array(rows)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The filter box, the count of rows shown, the (empty) table the script
/// fills, and the rows as JSON.
fn alert_table(alerts: &[Alert]) -> String {
    let mut out = String::new();
    if alerts.is_empty() {
        out.push_str("<p class=\"empty\">no alerts</p>\n");
    }
    out.push_str(
        "<p><input id=\"filter\" type=\"search\" placeholder=\"filter: any text of a row\" \
         aria-label=\"filter the alerts\"><span id=\"shown\"></span></p>\n\
         <div class=\"scroll\"><table id=\"alert-table\"><thead><tr>",
    );
    for h in ALERT_HEADERS {
        let _ = write!(out, "<th>{h}</th>");
    }
    let _ = writeln!(
        out,
        "</tr></thead><tbody id=\"alert-rows\"></tbody></table></div>\n\
         <script type=\"application/json\" id=\"alert-data\">{}</script>",
        alert_json(alerts)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE_HOST: &str = "<script>alert(1)</script>";
    const HOSTILE_CMD: &str = "cmd /c \"'&<>\" \\ x";

    fn hop(id: &str, src: &str, dest: &str, technique: Technique, outcome: Outcome) -> Hop {
        let mut h = Hop::new(src, dest, technique, 1_715_677_923.5, outcome);
        h.id = id.into();
        h.last_seen = h.first_seen + 2.0;
        h.chain_id = format!("chain-{id}");
        h.hop_index = 1;
        h.confidence = 85;
        h.src_users.insert("alice".into());
        h
    }

    /// Three hosts, four hops: a two-hop chain a → b → c, a failed
    /// attempt a → c and a hop a → b by another technique.
    fn report() -> Report {
        let mut hops = vec![
            hop(
                "hop-1",
                "wks01",
                "srv02",
                Technique::PsRemoting,
                Outcome::Success,
            ),
            hop("hop-2", "srv02", "srv03", Technique::Wmi, Outcome::Success),
            hop("hop-3", "wks01", "srv03", Technique::WinRm, Outcome::Failed),
            hop(
                "hop-4",
                "wks01",
                "srv02",
                Technique::SmbService,
                Outcome::Success,
            ),
        ];
        hops[1].chain_id = "chain-hop-1".into();
        hops[1].hop_index = 2;
        hops[1].first_seen += 60.0;
        hops[1].last_seen += 60.0;
        let alert = |host: &str, epoch: Option<f64>| Alert {
            host: host.into(),
            epoch,
            time: "t".into(),
            alert_type: "WinRM_PSRemoting".into(),
            risk_score: 45,
            ..Alert::default()
        };
        Report {
            alerts: vec![
                alert("wks01", Some(1_715_677_923.0)),
                alert("srv02", Some(1_715_677_990.0)),
                alert("srv03", None),
            ],
            hops,
            ..Report::default()
        }
    }

    fn hostile() -> Report {
        let mut r = report();
        r.hops[0].src = HOSTILE_HOST.into();
        r.hops[0].src_users.insert("\"'&<>".into());
        r.alerts[0].host = HOSTILE_HOST.into();
        r.alerts[0].command_line = HOSTILE_CMD.into();
        r.warnings.push(HOSTILE_CMD.into());
        r
    }

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    /// The `<path class="edge ...">` elements of a page.
    /// The `d` of an edge's path.
    fn path_d(e: &str) -> String {
        e.split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    }

    fn edges(page: &str) -> Vec<&str> {
        page.split("<path class=\"edge")
            .skip(1)
            .map(|s| &s[..s.find('>').unwrap()])
            .collect()
    }

    /// The JSON rows of a page, parsed back.
    fn rows(page: &str) -> serde_json::Value {
        let start = page.find("id=\"alert-data\">").unwrap() + "id=\"alert-data\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        serde_json::from_str(&page[start..end]).unwrap()
    }

    #[test]
    fn hostile_text_never_appears_raw() {
        let page = html(&hostile());
        assert!(!page.contains(HOSTILE_HOST));
        assert!(!page.contains("<script>alert"));
        assert!(!page.contains("\"'&<>"));
        // Ours only: the error handler, the JSON and the page's script.
        assert_eq!(count(&page, "<script"), 3);
        assert_eq!(count(&page, "</script"), 3);
        assert!(page.contains("data-host=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; \u{2192} srv02"));
        assert!(
            page.contains("&quot;&#39;&amp;&lt;&gt;"),
            "users in the tooltip"
        );
        assert!(page.contains("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"));
        // The JSON still says exactly what the events said.
        let rows = rows(&page);
        assert_eq!(rows[0]["cells"][1], HOSTILE_HOST);
        assert_eq!(rows[0]["cells"][9], HOSTILE_CMD);
    }

    #[test]
    fn one_node_per_host_one_edge_per_hop() {
        let r = report();
        let page = html(&r);
        assert_eq!(count(&page, "<g class=\"node\""), 3);
        for host in ["wks01", "srv02", "srv03"] {
            assert_eq!(count(&page, &format!("data-host=\"{host}\"")), 1, "{host}");
        }
        let edges = edges(&page);
        assert_eq!(edges.len(), r.hops.len());
        for (e, h) in edges.iter().zip(&r.hops) {
            assert!(e.contains(&format!("data-hop=\"{}\"", h.id)), "{e}");
            let t = h.technique.as_str();
            assert!(e.contains(&format!("data-technique=\"{t}\"")), "{e}");
            assert!(
                e.contains(&format!("stroke=\"{}\"", colour(h.technique))),
                "{e}"
            );
            assert!(
                e.contains(&format!("marker-end=\"url(#arrow-{t})\"")),
                "{e}"
            );
        }
        // The legend names the techniques used, in declaration order.
        let legend: Vec<&str> = page
            .split("<li data-technique=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect();
        assert_eq!(legend, ["WinRM", "PSRemoting", "WMI", "SMBService"]);
        // Two hops wks01 → srv02: the curves part.
        assert_ne!(path_d(edges[0]), path_d(edges[3]));
    }

    #[test]
    fn failed_hops_are_dashed_and_chains_thick() {
        let page = html(&report());
        let edges = edges(&page);
        for (i, e) in edges.iter().enumerate() {
            let failed = i == 2;
            assert_eq!(e.contains("stroke-dasharray"), failed, "{e}");
            assert_eq!(e.contains(" failed\""), failed, "{e}");
            let chained = i < 2;
            assert_eq!(e.contains("in-chain"), chained, "{e}");
            let width = if chained { "4" } else { "2" };
            assert!(e.contains(&format!("stroke-width=\"{width}\"")), "{e}");
        }
    }

    #[test]
    fn tooltips_carry_ids_times_users_and_confidence() {
        let page = html(&report());
        let e = edges(&page)[0];
        assert!(page.contains(
            "<title>hop-1: wks01 \u{2192} srv02\nPSRemoting, success\n\
             first seen 2024-05-14T09:12:03.500Z\nlast seen 2024-05-14T09:12:05.500Z\n\
             source users: alice\ndestination users: -\nconfidence 85, risk 0\n\
             chain-hop-1, hop 1\nreasons: </title>"
        ));
        assert!(e.contains("data-chain=\"chain-hop-1\""));
    }

    #[test]
    fn chains_timeline_and_table() {
        let r = report();
        let page = html(&r);
        assert!(page.contains(
            "<span class=\"path\">wks01 \u{2192} srv02 \u{2192} srv03</span>\
             <span class=\"when\">2024-05-14T09:12:03.500Z \u{2013} 2024-05-14T09:13:05.500Z</span>\
             <span class=\"tech\">PSRemoting, WMI</span>"
        ));
        assert!(page.contains("<span class=\"tech\">WinRM (failed)</span>"));
        assert_eq!(count(&page, "<li data-chain="), 3);
        assert_eq!(count(&page, "class=\"tl-alert\""), 2);
        assert_eq!(count(&page, "class=\"tl-hop\""), 4);
        assert!(page.contains("1 alerts without a time are not on the timeline"));
        let rows = rows(&page);
        assert_eq!(rows.as_array().unwrap().len(), 3);
        assert_eq!(rows[0]["cells"][0], "2024-05-14T09:12:03.000Z");
        assert_eq!(rows[2]["cells"][0], "t", "no epoch: the time as given");
        assert_eq!(count(&page, "<th>"), ALERT_HEADERS.len());
    }

    #[test]
    fn one_instant_and_odd_times_draw_finite_numbers() {
        let mut r = report();
        r.hops.truncate(1);
        r.hops[0].last_seen = r.hops[0].first_seen;
        r.alerts = vec![Alert {
            epoch: Some(r.hops[0].first_seen),
            ..Alert::default()
        }];
        let page = html(&r);
        assert!(!page.contains("NaN") && !page.contains("inf"), "{page}");
        assert!(page.contains("2024-05-14T09:11:33Z"), "30 s before");
        // A hop with one time only: on the axis, but no bar.
        r.hops[0].first_seen = f64::NAN;
        let page = html(&r);
        assert!(!page.contains("NaN") && page.contains("class=\"timeline\""));
        assert_eq!(count(&page, "class=\"tl-hop\""), 0);
        r.hops[0].last_seen = f64::NAN;
        r.alerts[0].epoch = Some(f64::INFINITY);
        let page = html(&r);
        assert!(page.contains("no times: no alerts or hops with a time"));
        assert!(!page.contains("NaN"));
    }

    #[test]
    fn an_empty_report_says_so() {
        let page = html(&Report::default());
        assert_eq!(count(&page, "<p class=\"empty\">no hops</p>"), 2);
        assert!(page.contains("<p class=\"empty\">no alerts</p>"));
        assert!(page.contains("no times"));
        assert!(!page.contains("class=\"node\"") && !page.contains("class=\"edge"));
        assert_eq!(rows(&page), serde_json::json!([]));
        assert_eq!(
            dot(&Report::default()),
            "digraph winrmdetect {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n}\n"
        );
    }

    #[test]
    fn the_page_fetches_nothing() {
        let page = html(&report());
        assert!(page.contains(&format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        )));
        assert!(!page.contains("http:") && !page.contains("https:") && !page.contains("//"));
        assert!(!page.contains("src=") && !page.contains("href=") && !page.contains("@import"));
        assert_eq!(page, html(&report()), "the same page for the same input");
    }

    /// DOT's tokens: quoted strings (with `\"` and `\\`), words, and
    /// punctuation; `None` when a string does not end on its line.
    fn dot_tokens(line: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                ' ' => {}
                '"' => {
                    let mut s = String::from('"');
                    loop {
                        match chars.next()? {
                            '\\' => {
                                s.push('\\');
                                s.push(chars.next()?);
                            }
                            '"' => break,
                            c => s.push(c),
                        }
                    }
                    out.push(s + "\"");
                }
                '-' if chars.peek() == Some(&'>') => {
                    chars.next();
                    out.push("->".into());
                }
                c if c.is_alphanumeric() || c == '.' || c == '#' => {
                    let mut w = String::from(c);
                    while let Some(&n) = chars.peek().filter(|n| n.is_alphanumeric() || **n == '.')
                    {
                        w.push(n);
                        chars.next();
                    }
                    out.push(w);
                }
                c => out.push(c.to_string()),
            }
        }
        Some(out)
    }

    #[test]
    fn dot_is_a_digraph_with_quoted_escaped_ids() {
        let mut r = hostile();
        r.hops[1].dest = "srv\"03\\\nx".into();
        let text = dot(&r);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "digraph winrmdetect {");
        assert_eq!(*lines.last().unwrap(), "}");
        let (mut nodes, mut edges) = (0, 0);
        for line in &lines[1..lines.len() - 1] {
            let t = dot_tokens(line).unwrap_or_else(|| panic!("unterminated: {line}"));
            assert_eq!(t.last().map(String::as_str), Some(";"), "{line}");
            if t.get(1).map(String::as_str) == Some("->") {
                edges += 1;
                assert!(t[0].starts_with('"') && t[2].starts_with('"'), "{line}");
                assert_eq!(t[3], "[", "{line}");
            } else if t[0].starts_with('"') {
                nodes += 1;
                assert_eq!(t[1..4], ["[", "label", "="], "{line}");
            }
        }
        assert_eq!((nodes, edges), (5, 4));
        assert!(text.contains("  \"<script>alert(1)</script>\" -> \"srv02\" [id=\"hop-1\""));
        assert!(text.contains("\"srv\\\"03\\\\\\nx\" [label=\"srv\\\"03\\\\\\nx\"];"));
        assert!(text.contains("style=dashed"));
        assert_eq!(count(&text, "penwidth=3"), 2, "the chain's two hops");
        assert!(text.contains("\"hop-3\", label=\"hop-3 WinRM\", color=\"#1f77b4\", style=dashed"));
    }

    #[test]
    fn a_lone_host_and_a_hop_to_itself() {
        let mut r = Report::default();
        r.hops
            .push(hop("hop-1", "h", "h", Technique::Rdp, Outcome::Success));
        r.hops
            .push(hop("hop-2", "h", "h", Technique::Rdp, Outcome::Failed));
        let page = html(&r);
        assert_eq!(count(&page, "<g class=\"node\""), 1);
        let edges = edges(&page);
        assert_eq!(edges.len(), 2);
        assert!(path_d(edges[0]).contains(" C"), "a loop: {}", edges[0]);
        assert_ne!(path_d(edges[0]), path_d(edges[1]), "two loops apart");
        assert!(!page.contains("NaN"));
    }

    #[test]
    fn escapes() {
        assert_eq!(esc("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
        assert_eq!(
            dot_str("a\"b\\c\nd\re\u{7}"),
            "\"a\\\"b\\\\c\\nd\\re\u{FFFD}\""
        );
        assert_eq!(iso(0.25), "1970-01-01T00:00:00.250Z");
        assert_eq!(iso(f64::NAN), "-");
        assert_eq!(iso(1e300), "-");
    }
}
