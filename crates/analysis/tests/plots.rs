//! The charts and the HTML report, rendered from fixture runs: the files
//! are valid (the PNG decodes at the size it claims, the SVG parses), show
//! the series they should, and the HTML page needs nothing from a network.

use std::path::Path;

use analysis::plot::{render_charts, write_plots, ChartKind, Charts, PNG_SCALE};
use analysis::{analyze_run, load_run, write_reports, AnalysisConfig};
use harness::record::RunRecord;

fn fixture(name: &str) -> RunRecord {
    load_run(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}.json")))
        .unwrap()
}

/// The simulated 16-core run: it has cells for every chart.
fn full() -> RunRecord {
    fixture("synthetic_16core")
}

fn charts_of(run: &RunRecord) -> Charts {
    let analysis = analyze_run(run, &AnalysisConfig::default()).unwrap();
    render_charts(run, &analysis).unwrap()
}

/// Decodes a PNG and returns its size.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG image data");
    (info.width, info.height)
}

/// Parses an SVG and returns its size and every text it draws.
fn svg_texts(svg: &str) -> ((f64, f64), Vec<String>) {
    let doc = roxmltree::Document::parse(svg).expect("SVG parses as XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let dim = |a: &str| root.attribute(a).unwrap().parse::<f64>().unwrap();
    let texts = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect();
    ((dim("width"), dim("height")), texts)
}

#[test]
fn every_chart_renders_valid_svg_and_png_with_its_series() {
    let charts = charts_of(&full());
    assert!(charts.skipped.is_empty(), "{:?}", charts.skipped);
    assert_eq!(
        charts.charts.iter().map(|c| c.kind).collect::<Vec<_>>(),
        ChartKind::ALL
    );
    let expect: [(ChartKind, &[&str]); 5] = [
        (
            ChartKind::Attenuation,
            &["setitimer", "thread-timer", "16 cores"],
        ),
        (ChartKind::RateCap, &["setitimer", "thread-timer", "HZ=250"]),
        (ChartKind::ShortLived, &["thread-timer"]),
        (ChartKind::Attribution, &["100 Hz, 4 threads", "setitimer"]),
        (
            ChartKind::Foreign,
            &["hybrid", "thread-timer", "samples on foreign threads"],
        ),
    ];
    for (kind, labels) in expect {
        let chart = charts.get(kind).unwrap();
        let ((w, h), texts) = svg_texts(&chart.svg);
        assert_eq!((w as u32, h as u32), chart.size, "{kind}");
        assert_eq!(png_size(&chart.png), chart.png_size, "{kind}");
        assert_eq!(
            chart.png_size,
            (
                (f64::from(chart.size.0) * PNG_SCALE).round() as u32,
                (f64::from(chart.size.1) * PNG_SCALE).round() as u32
            )
        );
        assert!(
            texts.contains(&chart.title),
            "{kind}: no title in {texts:?}"
        );
        for label in labels {
            assert!(
                texts.iter().any(|t| t == label),
                "{kind}: no text {label:?} in {texts:?}"
            );
        }
        // Every legend entry is drawn.
        for label in &chart.legend {
            assert!(texts.contains(label), "{kind}: legend {label:?} not drawn");
        }
        // The environment caption names the machine.
        assert!(
            texts
                .iter()
                .any(|t| t.contains("HZ=250") && t.contains("16 CPUs")),
            "{kind}: no environment caption"
        );
    }
}

#[test]
fn rendering_is_deterministic() {
    let run = full();
    assert_eq!(charts_of(&run), charts_of(&run));
}

#[test]
fn a_run_without_the_cells_skips_the_chart_and_says_why() {
    // The parallel-only run: attenuation and rate cap, nothing else.
    let charts = charts_of(&fixture("real_2core_parallel"));
    let drawn: Vec<ChartKind> = charts.charts.iter().map(|c| c.kind).collect();
    assert_eq!(drawn, [ChartKind::Attenuation, ChartKind::RateCap]);
    let skipped: Vec<(ChartKind, &str)> = charts
        .skipped
        .iter()
        .map(|s| (s.kind, s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (ChartKind::ShortLived, "the run has no `short-lived` cells"),
            (ChartKind::Attribution, "the run has no `imbalanced` cells"),
            (ChartKind::Foreign, "the run has no `foreign` cells"),
        ]
    );
    // The quick matrix measures one thread count per rate: no attenuation curve.
    let quick = charts_of(&fixture("real_2core_quick"));
    let attenuation = quick
        .skipped
        .iter()
        .find(|s| s.kind == ChartKind::Attenuation)
        .expect("attenuation skipped");
    assert!(attenuation.reason.contains("two or more thread counts"));
}

#[test]
fn write_plots_writes_both_formats_and_removes_stale_charts() {
    let dir = tempfile::tempdir().unwrap();
    // A foreign chart from an earlier run of another matrix.
    std::fs::write(dir.path().join("foreign.svg"), "<svg/>").unwrap();
    std::fs::write(dir.path().join("foreign.png"), "old").unwrap();
    let charts = write_plots(&fixture("real_2core_parallel"), dir.path()).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "attenuation.png",
            "attenuation.svg",
            "rate-cap.png",
            "rate-cap.svg"
        ]
    );
    let png = std::fs::read(dir.path().join("attenuation.png")).unwrap();
    assert_eq!(
        png_size(&png),
        charts.get(ChartKind::Attenuation).unwrap().png_size
    );
    let svg = std::fs::read_to_string(dir.path().join("rate-cap.svg")).unwrap();
    let (_, texts) = svg_texts(&svg);
    for mode in ["setitimer", "thread-timer", "hybrid"] {
        assert!(texts.iter().any(|t| t == mode), "{mode} not in {texts:?}");
    }
}

/// Every `src` and `href` attribute of an HTML page.
fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=", "href="] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let quote = rest.chars().next().unwrap_or(' ');
            let value: String = if quote == '"' || quote == '\'' {
                rest[1..].chars().take_while(|c| *c != quote).collect()
            } else {
                rest.chars()
                    .take_while(|c| !c.is_whitespace() && *c != '>')
                    .collect()
            };
            out.push(value);
        }
    }
    out
}

#[test]
fn the_html_report_is_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    let runs = vec![("sim/run.json".to_string(), full())];
    let files = write_reports(&runs, dir.path(), &AnalysisConfig::default()).unwrap();
    assert_eq!(files.html, dir.path().join("report.html"));
    assert!(files.skipped.is_empty());
    assert_eq!(files.plots.len(), 10);
    let html = std::fs::read_to_string(&files.html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 5, "one inline SVG per chart");
    for r in references(&html) {
        let lower = r.to_lowercase();
        assert!(
            !lower.starts_with("http:") && !lower.starts_with("https:") && !lower.starts_with("//"),
            "network reference {r:?}"
        );
        // Anchors and the chart files next to the page, nothing else.
        assert!(
            r.starts_with('#') || r.starts_with("plots/"),
            "unexpected reference {r:?}"
        );
    }
    for banned in ["<script", "<link", "<iframe", "@import", "url("] {
        assert!(!html.contains(banned), "{banned}");
    }
    // The same tables as the Markdown report, verdicts coloured.
    assert!(html.contains("<td class=\"attenuated\">"));
    assert!(html.contains("<td class=\"faithful\">"));
    assert!(html.contains("Parallel attenuation") && html.contains("Foreign threads"));
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(md.contains("![attenuation with parallel threads](plots/attenuation.svg)"));
    // Every run column value of the Markdown tables is in the HTML too.
    for line in md.lines().filter(|l| l.starts_with("| setitimer")) {
        let last = line.trim_end_matches(" |").rsplit(" | ").next().unwrap();
        let escaped = last
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let plain = escaped.replace("**", "");
        assert!(
            html.replace("<strong>", "")
                .replace("</strong>", "")
                .contains(&plain),
            "{plain:?} missing from the HTML"
        );
    }
}

#[test]
fn several_runs_get_their_own_chart_directories() {
    let dir = tempfile::tempdir().unwrap();
    let runs = vec![
        ("a/run.json".to_string(), full()),
        ("b/run.json".to_string(), fixture("real_2core_parallel")),
    ];
    let files = write_reports(&runs, dir.path(), &AnalysisConfig::default()).unwrap();
    let html = std::fs::read_to_string(&files.html).unwrap();
    // Five charts of the first run, two of the second.
    assert_eq!(html.matches("<svg").count(), 7);
    assert!(dir
        .path()
        .join("plots/sim-16-core/attenuation.svg")
        .exists());
    let second: Vec<_> = std::fs::read_dir(dir.path().join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "sim-16-core")
        .collect();
    assert_eq!(second.len(), 1, "{second:?}");
    assert!(dir
        .path()
        .join("plots")
        .join(&second[0])
        .join("rate-cap.png")
        .exists());
    // The second run's missing charts are named, with the run.
    assert!(files
        .skipped
        .iter()
        .any(|(col, s)| s.kind == ChartKind::Foreign && col.contains("2 cores")));
    assert!(html.contains("No foreign (unregistered) threads chart"));
}
