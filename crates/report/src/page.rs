//! The page around the sections: header with provenance, contents, the suppression note,
//! the list of published tables, and the inline stylesheet.

use svna_records::DisclosurePolicy;

use crate::html::{Html, esc, fmt_count, html_table};
use crate::sections::{Section, Tables};
use crate::svg;
use svna_records::ReleaseManifest;

/// The whole page. Every piece of release text is escaped where it is inserted.
pub fn render(manifest: &ReleaseManifest, tables: &Tables, sections: &[Section]) -> String {
    let mut out = String::with_capacity(256 * 1024);
    out.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>Serious violence needs assessment: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&manifest.release)
    ));
    out.push_str(&svg::defs());
    out.push_str(&header(manifest));
    out.push_str("<main>\n");
    out.push_str(&contents(sections));
    for section in sections {
        out.push_str(&format!(
            "<section id=\"{}\">\n<h2>{}</h2>\n{}</section>\n",
            section.id,
            esc(section.title),
            section.body
        ));
    }
    out.push_str(&about(manifest, tables));
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn header(manifest: &ReleaseManifest) -> String {
    let created = manifest
        .created_at
        .get(..10)
        .unwrap_or(&manifest.created_at);
    let facts = [
        ("Release", manifest.release.as_str()),
        ("Pipeline", manifest.pipeline.as_str()),
        ("Run", manifest.run_id.as_str()),
        ("Published", created),
    ];
    let mut out = String::from(
        "<header>\n<div class=\"wrap\">\n<p class=\"kicker\">Serious Violence Duty · strategic needs assessment</p>\n\
<h1>Serious violence: summary of the published release</h1>\n<dl class=\"facts\">",
    );
    for (term, value) in facts {
        out.push_str(&format!(
            "<div><dt>{term}</dt><dd>{}</dd></div>",
            esc(value)
        ));
    }
    out.push_str(&format!(
        "<div><dt>Cells</dt><dd>{} published, {} withheld</dd></div></dl>\n</div>\n</header>\n",
        fmt_count(manifest.published_cells as f64),
        fmt_count(manifest.withheld_cells as f64)
    ));
    out
}

fn contents(sections: &[Section]) -> String {
    let mut out = String::from("<nav aria-label=\"Contents\"><ol>");
    for s in sections {
        out.push_str(&format!(
            "<li><a href=\"#{}\">{}</a></li>",
            s.id,
            esc(s.title)
        ));
    }
    out.push_str("<li><a href=\"#release\">About this release</a></li></ol></nav>\n");
    out
}

/// How to read the report, above all how a withheld cell is shown.
pub fn how_to_read() -> Section {
    Section {
        id: "reading",
        title: "How to read this report",
        body: "<div class=\"callout\">\
<p><span class=\"sup\">[c]</span> means <strong>suppressed</strong>: the figure was withheld by disclosure control \
because it is small, or because it would let a small figure be worked out from others. It is <strong>not zero</strong> \
and it is not missing data. In charts a suppressed value is a hatched grey mark labelled [c]; a suppressed bar has a fixed \
short length that says nothing about its size, and a suppressed month breaks the trend line. \
<span class=\"sup\">[p]</span> marks a figure the partner withheld before sharing it: svna does not know it either. \
A figure that includes one is shown as a lower bound, <strong>≥</strong> the sum of the parts the partner shared.</p>\
<p>Every figure is copied from the published tables named under each chart. Totals are the published totals, never \
sums of parts, so a total can be published while some of its parts are suppressed. A figure this report derives \
(an average, a share, a change) is shown as [c] whenever any figure it needs is suppressed.</p>\
<p>Counts are police-recorded offences, persons and health attendances from partners' data, pseudonymised before \
they were shared. Rates of serious violence are per 1,000 residents a year (ONS population estimates).</p></div>\n"
            .to_string(),
    }
}

/// The release's tables with their disclosure policy and withheld cells, and what was checked.
fn about(manifest: &ReleaseManifest, tables: &Tables) -> String {
    let rows: Vec<Vec<Html>> = manifest
        .tables
        .iter()
        .map(|t| {
            let policy = match (t.disclosure.policy, t.disclosure.k, t.disclosure.base) {
                (DisclosurePolicy::Threshold, Some(k), _) => {
                    format!("threshold (counts under {k} withheld)")
                }
                (DisclosurePolicy::Round, _, Some(base)) => format!("rounded to base {base}"),
                (DisclosurePolicy::Accounting, _, _) => {
                    "exact (row accounting of deliveries)".to_string()
                }
                (p, _, _) => p.name().to_string(),
            };
            vec![
                Html::code(&t.name),
                Html::text(&policy),
                Html::text(&fmt_count(t.cells as f64)),
                Html::text(&fmt_count(t.withheld as f64)),
                Html::text(if tables.contains_key(&t.name) {
                    "✓"
                } else {
                    ""
                }),
            ]
        })
        .collect();
    format!(
        "<section id=\"release\">\n<h2>About this release</h2>\n\
<p>Release <code>{}</code> was published on {} from run <code>{}</code> of pipeline <code>{}</code> (svna {}). \
Its files, with their SHA-256 checksums and the provenance of every input, are listed in its <code>manifest.json</code>; \
each table this report used (✓) was checked against that checksum before use. <code>svna verify</code> re-checks the whole release.</p>\n{}</section>\n",
        esc(&manifest.release),
        esc(manifest
            .created_at
            .get(..10)
            .unwrap_or(&manifest.created_at)),
        esc(&manifest.run_id),
        esc(&manifest.pipeline),
        esc(&manifest.tool_version),
        html_table(
            "data num",
            &[
                "Table",
                "Disclosure control",
                "Cells",
                "Withheld",
                "Used here"
            ],
            &rows
        )
    )
}

/// System fonts only: nothing is fetched when the page opens.
const STYLE: &str = r#"
:root{--ink:#0f172a;--muted:#475569;--line:#e2e8f0;--brand:#1e3a8a;--accent:#1d4ed8;--bg:#f8fafc}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg);line-height:1.5;font-size:15px}
header{background:var(--brand);color:#fff;padding:28px 0 22px}
.wrap,main{max-width:1180px;margin:0 auto;padding:0 24px}
.kicker{margin:0;text-transform:uppercase;letter-spacing:.08em;font-size:12px;opacity:.8}
h1{margin:6px 0 14px;font-size:28px;font-weight:650}
.facts{display:flex;flex-wrap:wrap;gap:8px 28px;margin:0}
.facts div{min-width:0}.facts dt{font-size:11px;text-transform:uppercase;letter-spacing:.06em;opacity:.75}
.facts dd{margin:0;font-size:14px;word-break:break-all}
nav{margin:20px 0 8px}nav ol{display:flex;flex-wrap:wrap;gap:6px 18px;padding:0;margin:0;list-style:none;counter-reset:n}
nav li{counter-increment:n}nav li::before{content:counter(n) ". ";color:var(--muted)}
nav a{color:var(--accent);text-decoration:none}nav a:hover{text-decoration:underline}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:18px 24px 20px;margin:18px 0}
h2{margin:0 0 10px;font-size:20px;color:var(--brand)}
h3{margin:18px 0 6px;font-size:16px}
p{margin:6px 0}.small{font-size:13px;color:var(--muted)}.source{font-size:12px;color:var(--muted);margin-top:4px}
.note{background:#fff7ed;border-left:4px solid #f59e0b;padding:8px 12px;font-size:14px}
.callout{background:#f1f5f9;border-left:4px solid var(--accent);padding:6px 16px;border-radius:4px}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;background:#f1f5f9;padding:0 3px;border-radius:3px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:14px;margin:8px 0 12px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 16px;background:#fbfdff}
.card .label{font-size:13px;color:var(--muted)}.card .big{font-size:32px;font-weight:700;color:var(--brand);margin:2px 0 6px}
.cmp{font-size:13px;color:var(--muted)}.chg{font-weight:600;margin-left:4px}
.chg.up{color:#b91c1c}.chg.down{color:#047857}.chg.flat{color:var(--muted)}
table.data{border-collapse:collapse;width:100%;margin:8px 0;font-size:14px}
table.data th{text-align:left;font-weight:600;color:var(--muted);border-bottom:2px solid var(--line);padding:6px 8px;font-size:13px}
table.data td{border-bottom:1px solid var(--line);padding:5px 8px;vertical-align:middle}
table.num td{font-variant-numeric:tabular-nums}
table.cohort td:nth-child(-n+4){text-align:center;width:12%}.dot{color:var(--brand);font-size:16px}
.inbar{background:#eef2ff;height:10px;border-radius:2px;min-width:120px}.inbar div{background:var(--accent);height:10px;border-radius:2px}
.hatched,.sup{background:repeating-linear-gradient(45deg,#e2e8f0 0 3px,#94a3b8 3px 5px)}
span.sup{padding:0 4px;border:1px dashed #64748b;border-radius:3px;font-style:italic;color:#1e293b;background:repeating-linear-gradient(45deg,#f1f5f9 0 3px,#cbd5e1 3px 5px)}
svg.chart{display:block;margin:6px 0;font-family:inherit}
svg.chart g.sup{background:none}
ul.withheld{font-size:13px;margin:4px 0 8px;padding-left:20px}details summary{cursor:pointer;color:var(--accent)}
ul.margins{display:flex;flex-wrap:wrap;gap:4px 24px;padding:0;list-style:none;font-size:14px}
@media print{body{background:#fff}section{border:none;padding:0;break-inside:avoid}header{color:#000;background:#fff}}
"#;
