//! The HTML report: one self-contained page.
//!
//! Everything is in the file: the CSS inline, every chart as inline SVG,
//! no script, no font or stylesheet fetched from anywhere, so the page
//! reads the same from a CI artefact, an e-mail attachment or an
//! air-gapped machine. The tables are the Markdown report's ([`Doc`]),
//! with each verdict cell coloured by its verdict.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::doc::{Block, Doc, Table};
use crate::analyze::Comparison;
use crate::plot::{ChartKind, Charts};

/// Where a run's chart files are, relative to the page, for the links
/// under each chart; `None` when they were not written.
pub(crate) type ChartLinks<'a> = &'a dyn Fn(usize, ChartKind) -> Option<String>;

const CSS: &str = r#"
:root { --ink: #222; --muted: #5f6368; --line: #dfe1e5; --head: #f3f4f6; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: var(--ink);
  font: 15px/1.55 "DejaVu Sans", Verdana, system-ui, sans-serif; }
main { max-width: 1320px; margin: 0 auto; padding: 28px 36px 72px; background: #fff; }
h1 { font-size: 30px; margin: 0 0 12px; }
h2 { font-size: 22px; margin: 44px 0 10px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 17px; margin: 26px 0 8px; }
p { max-width: 980px; }
code { font: 90% "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #f1f3f4;
  padding: 1px 4px; border-radius: 3px; }
nav.toc { margin: 16px 0 8px; padding: 10px 16px; background: var(--head); border-radius: 6px; }
nav.toc ol { margin: 4px 0; padding-left: 22px; columns: 2; }
nav.toc a { color: #1a56a8; text-decoration: none; }
.key { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 4px; font-size: 13px; }
.key span { padding: 2px 10px; border-radius: 10px; }
.table-wrap { overflow-x: auto; margin: 10px 0 22px; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { padding: 5px 10px; text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); }
th { background: var(--head); font-weight: 600; white-space: nowrap; }
td.k { white-space: nowrap; color: #333; }
tbody tr:last-child td { border-bottom: none; }
tbody tr:hover td { filter: brightness(0.97); }
.faithful, .consistent { background: #e4f4e8; color: #0b5a27; }
.attenuated, .skewed { background: #fde7e4; color: #9b1111; }
.inflated { background: #fdebd3; color: #874200; }
.slightly-skewed { background: #fff4d1; color: #6b5200; }
.inconclusive, .untestable { background: #eef0f2; color: #4a4f55; }
p.empty { color: var(--muted); font-style: italic; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(600px, 1fr)); gap: 18px; margin: 14px 0 24px; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: #fff; }
figure.chart svg { display: block; width: 100%; height: auto; }
figure.chart figcaption { font-size: 13px; color: var(--muted); padding: 4px 8px 2px; }
figure.chart figcaption a { color: #1a56a8; }
p.no-chart { color: var(--muted); font-size: 13px; font-style: italic; }
footer { margin-top: 48px; font-size: 12px; color: var(--muted); }
"#;

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

/// The three inline marks of [`Doc`] text as tags, everything else
/// escaped. A mark without a closing partner is literal text.
pub(crate) fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while !rest.is_empty() {
        let mark = if rest.starts_with('`') {
            Some(("`", "code"))
        } else if rest.starts_with("**") {
            Some(("**", "strong"))
        } else if rest.starts_with('*') {
            Some(("*", "em"))
        } else {
            None
        };
        if let Some((m, tag)) = mark {
            if let Some(end) = rest[m.len()..].find(m) {
                let inner = &rest[m.len()..m.len() + end];
                let inner = if tag == "code" {
                    escape(inner)
                } else {
                    inline(inner)
                };
                let _ = write!(out, "<{tag}>{inner}</{tag}>");
                rest = &rest[2 * m.len() + end..];
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push_str(&escape(&c.to_string()));
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// An id for a heading: its words, lower case, joined by dashes.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn table(t: &Table, runs: usize, out: &mut String) {
    // The columns before the runs' name the cell (mode, workload, …).
    let fixed = t.header.len().saturating_sub(runs);
    out.push_str("<div class=\"table-wrap\"><table>\n<thead><tr>");
    for h in &t.header {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let mut classes = Vec::new();
            if i < fixed {
                classes.push("k");
            }
            if let Some(tone) = cell.tone {
                classes.push(tone.class());
            }
            if classes.is_empty() {
                out.push_str("<td>");
            } else {
                let _ = write!(out, "<td class=\"{}\">", classes.join(" "));
            }
            out.push_str(&inline(&cell.text));
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

fn figure(
    kind: ChartKind,
    cmp: &Comparison,
    charts: &[Charts],
    links: ChartLinks<'_>,
    out: &mut String,
) {
    let several = cmp.runs.len() > 1;
    let mut drawn = String::new();
    let mut missing = Vec::new();
    for (i, (run, set)) in cmp.runs.iter().zip(charts).enumerate() {
        let Some(chart) = set.get(kind) else {
            if let Some(s) = set.skipped.iter().find(|s| s.kind == kind) {
                missing.push(if several {
                    format!("{}: {}", run.column, s.reason)
                } else {
                    s.reason.clone()
                });
            }
            continue;
        };
        let _ = write!(
            drawn,
            "<figure class=\"chart\" aria-label=\"{}\">\n{}\n<figcaption>",
            escape(&format!("{} chart, {}", kind.describe(), run.column)),
            chart.svg.trim()
        );
        if several {
            let _ = write!(drawn, "<strong>{}</strong>. ", escape(&run.column));
        }
        if let Some(base) = links(i, kind) {
            let _ = write!(
                drawn,
                "Files: <a href=\"{0}.svg\">SVG</a> · <a href=\"{0}.png\">PNG</a>",
                escape(&base)
            );
        }
        drawn.push_str("</figcaption></figure>\n");
    }
    if !drawn.is_empty() {
        let _ = write!(out, "<div class=\"charts\">\n{drawn}</div>\n");
    }
    for reason in missing {
        let _ = writeln!(
            out,
            "<p class=\"no-chart\">No {} chart: {}.</p>",
            escape(kind.describe()),
            inline(&reason)
        );
    }
}

/// Renders the report page. `charts[i]` are the charts of `cmp.runs[i]`
/// (an empty [`Charts`] draws none); `links` says where their files are.
pub(crate) fn html_of(
    doc: &Doc,
    cmp: &Comparison,
    charts: &[Charts],
    links: ChartLinks<'_>,
) -> String {
    let columns: Vec<&str> = cmp.runs.iter().map(|r| r.column.as_str()).collect();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>profbench report: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        escape(&columns.join(" | "))
    );
    let mut used = BTreeSet::new();
    let mut id_for = |text: &str| {
        let base = slug(text);
        let mut id = base.clone();
        let mut n = 2;
        while !used.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    };
    let sections: Vec<(String, String)> = doc
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading { level: 2, text } => Some((id_for(text), text.clone())),
            _ => None,
        })
        .collect();
    let mut next_section = sections.iter();
    let mut toc_done = false;
    for block in &doc.blocks {
        match block {
            Block::Heading { level: 2, text } => {
                if !toc_done {
                    toc_done = true;
                    out.push_str(&key());
                    out.push_str("<nav class=\"toc\"><strong>Contents</strong><ol>\n");
                    for (id, text) in &sections {
                        let _ = writeln!(out, "<li><a href=\"#{id}\">{}</a></li>", inline(text));
                    }
                    out.push_str("</ol></nav>\n");
                }
                let id = next_section
                    .next()
                    .map(|(id, _)| id.clone())
                    .unwrap_or_default();
                let _ = writeln!(out, "<h2 id=\"{id}\">{}</h2>", inline(text));
            }
            Block::Heading { level, text } => {
                let level = (*level).clamp(1, 6);
                let _ = writeln!(out, "<h{level}>{}</h{level}>", inline(text));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "<p>{}</p>", inline(text));
            }
            Block::Table(t) => table(t, cmp.runs.len(), &mut out),
            Block::Empty(text) => {
                let _ = writeln!(out, "<p class=\"empty\">{}</p>", inline(text));
            }
            Block::Figure(kind) => figure(*kind, cmp, charts, links, &mut out),
        }
    }
    let _ = write!(
        out,
        "<footer>Written by profbench {}. Self-contained: no scripts, no external resources.</footer>\n\
         </main>\n</body>\n</html>\n",
        escape(
            &cmp.runs
                .first()
                .map(|r| r.analysis.run.profbench_version.clone())
                .unwrap_or_default()
        )
    );
    out
}

/// The colour key of the verdicts.
fn key() -> String {
    let mut out = String::from("<div class=\"key\" aria-label=\"verdict colours\">");
    for (class, text) in [
        ("faithful", "faithful / consistent"),
        ("attenuated", "attenuated / skewed"),
        ("inflated", "inflated"),
        ("slightly-skewed", "slightly skewed"),
        ("inconclusive", "inconclusive / untestable"),
    ] {
        let _ = write!(out, "<span class=\"{class}\">{text}</span>");
    }
    out.push_str("</div>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_marks_and_escaping() {
        assert_eq!(
            inline("`a<b` and **attenuated**, *x* 2 < 3"),
            "<code>a&lt;b</code> and <strong>attenuated</strong>, <em>x</em> 2 &lt; 3"
        );
        // Unclosed marks stay literal; underscores are data.
        assert_eq!(inline("lifetime_ms=1 `x"), "lifetime_ms=1 `x");
        assert_eq!(inline("a * b"), "a * b");
        assert_eq!(slug("Short-lived bias"), "short-lived-bias");
        assert_eq!(escape("\"<&>'"), "&quot;&lt;&amp;&gt;&#39;");
    }
}
