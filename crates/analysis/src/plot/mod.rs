//! Charts of a run, as SVG and PNG.
//!
//! Five charts, each answering one question of the report with the
//! analysis's own numbers ([`crate::RunAnalysis`]):
//!
//! | chart | file stem | what it needs in the run |
//! |---|---|---|
//! | [`ChartKind::Attenuation`] | `attenuation` | `parallel` (or `rayon`) cells at two or more thread counts |
//! | [`ChartKind::RateCap`] | `rate-cap` | `parallel` (or `rayon`) cells at two or more rates |
//! | [`ChartKind::ShortLived`] | `short-lived` | `short-lived` cells at two or more lifetimes |
//! | [`ChartKind::Attribution`] | `attribution` | `imbalanced` cells |
//! | [`ChartKind::Foreign`] | `foreign` | `foreign` cells |
//!
//! A run that lacks what a chart needs gets no chart, and a [`Skipped`]
//! that says why, rather than an empty frame.
//!
//! Rendering uses plotters without system fonts: the text is DejaVu Sans,
//! compiled in ([`register_fonts`]). The SVG is drawn at 1 px per unit, the
//! PNG at [`PNG_SCALE`] times that, from the same layout. Both are
//! deterministic, so regenerating the plots of an unchanged run changes no
//! committed file.
//!
//! ```no_run
//! let run = analysis::load_run("results/latest/run.json")?;
//! let charts = analysis::plot::write_plots(&run, "results/latest/plots")?;
//! for s in &charts.skipped {
//!     eprintln!("no {} chart: {}", s.kind, s.reason);
//! }
//! # Ok::<(), analysis::AnalysisError>(())
//! ```

mod draw;
mod figure;
mod font;
mod style;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use harness::record::RunRecord;
use plotters::prelude::{BitMapBackend, IntoDrawingArea, SVGBackend};
use serde::Serialize;

use crate::analyze::{analyze_run, RunAnalysis};
use crate::config::AnalysisConfig;
use crate::error::AnalysisError;
use crate::report::write_atomically;

pub use font::register_fonts;

/// The directory, under a run's or report's output directory, that holds
/// the charts.
pub const PLOTS_DIR: &str = "plots";

/// How many PNG pixels per SVG unit: 2 keeps lines and text crisp on
/// high-density screens and in print.
pub const PNG_SCALE: f64 = 2.0;

/// The five charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChartKind {
    /// Ratio against parallel threads, per mode, one panel per rate.
    Attenuation,
    /// Ratio against sampling rate, per mode, one panel per thread count.
    RateCap,
    /// Ratio against thread lifetime, per mode and option.
    ShortLived,
    /// Per-thread sample share against CPU share, `imbalanced` cells.
    Attribution,
    /// Registered and unregistered threads' CPU and samples, `foreign` cells.
    Foreign,
}

impl ChartKind {
    /// Every chart, in the report's order.
    pub const ALL: [ChartKind; 5] = [
        ChartKind::Attenuation,
        ChartKind::RateCap,
        ChartKind::ShortLived,
        ChartKind::Attribution,
        ChartKind::Foreign,
    ];

    /// The file name without extension: `attenuation`, `rate-cap`, ….
    pub fn file_stem(self) -> &'static str {
        match self {
            ChartKind::Attenuation => "attenuation",
            ChartKind::RateCap => "rate-cap",
            ChartKind::ShortLived => "short-lived",
            ChartKind::Attribution => "attribution",
            ChartKind::Foreign => "foreign",
        }
    }

    /// A short human name, for alt text and links.
    pub fn describe(self) -> &'static str {
        match self {
            ChartKind::Attenuation => "attenuation with parallel threads",
            ChartKind::RateCap => "the HZ cap on sampling rate",
            ChartKind::ShortLived => "short-lived threads",
            ChartKind::Attribution => "per-thread attribution",
            ChartKind::Foreign => "foreign (unregistered) threads",
        }
    }
}

impl fmt::Display for ChartKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_stem())
    }
}

/// One rendered chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Which chart.
    pub kind: ChartKind,
    /// Its title, as drawn.
    pub title: String,
    /// The legend's labels, as drawn (mode names, rates, thread classes).
    pub legend: Vec<String>,
    /// The SVG document (no XML declaration, so it can be inlined in HTML).
    pub svg: String,
    /// SVG size, CSS pixels.
    pub size: (u32, u32),
    /// The PNG file's bytes.
    pub png: Vec<u8>,
    /// PNG size, pixels: `size` times [`PNG_SCALE`].
    pub png_size: (u32, u32),
}

/// A chart the run cannot have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Which chart.
    pub kind: ChartKind,
    /// Why: what the run lacks.
    pub reason: String,
}

/// The charts of one run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Charts {
    /// The charts drawn, in [`ChartKind::ALL`] order.
    pub charts: Vec<Chart>,
    /// The charts not drawn, with the reason.
    pub skipped: Vec<Skipped>,
}

impl Charts {
    /// The chart of a kind, if it was drawn.
    pub fn get(&self, kind: ChartKind) -> Option<&Chart> {
        self.charts.iter().find(|c| c.kind == kind)
    }

    /// Writes `DIR/<stem>.svg` and `DIR/<stem>.png` for every chart, each
    /// atomically, and removes the files of skipped charts left by an
    /// earlier run (a stale chart next to fresh ones would be read as
    /// this run's). Returns the paths written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
        fs::create_dir_all(dir).map_err(|source| AnalysisError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut written = Vec::new();
        for chart in &self.charts {
            for (ext, bytes) in [("svg", chart.svg.as_bytes()), ("png", &chart.png[..])] {
                let path = dir.join(format!("{}.{ext}", chart.kind.file_stem()));
                write_atomically(&path, bytes)?;
                written.push(path);
            }
        }
        for s in &self.skipped {
            for ext in ["svg", "png"] {
                let path = dir.join(format!("{}.{ext}", s.kind.file_stem()));
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => return Err(AnalysisError::Write { path, source }),
                }
            }
        }
        Ok(written)
    }
}

fn render_error(kind: ChartKind, e: impl fmt::Display) -> AnalysisError {
    AnalysisError::Render {
        chart: kind.file_stem().to_string(),
        message: e.to_string(),
    }
}

/// Encodes an RGB buffer as PNG in memory (so the file can be written
/// atomically, which plotters' own encoder, writing to a path, cannot).
fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

fn render(kind: ChartKind, fig: &figure::Figure) -> Result<Chart, AnalysisError> {
    register_fonts();
    let size = draw::size(fig);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw::draw(&root, fig, style::Scale(1.0)).map_err(|e| render_error(kind, e))?;
        root.present().map_err(|e| render_error(kind, e))?;
    }
    // plotters writes no XML declaration today; strip one if it ever does,
    // since the SVG is also inlined into HTML.
    if svg.starts_with("<?xml") {
        if let Some(end) = svg.find("?>") {
            svg = svg[end + 2..].trim_start().to_string();
        }
    }
    let png_size = (
        (f64::from(size.0) * PNG_SCALE).round() as u32,
        (f64::from(size.1) * PNG_SCALE).round() as u32,
    );
    let mut rgb = vec![0u8; png_size.0 as usize * png_size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, png_size).into_drawing_area();
        draw::draw(&root, fig, style::Scale(PNG_SCALE)).map_err(|e| render_error(kind, e))?;
        root.present().map_err(|e| render_error(kind, e))?;
    }
    let png = encode_png(&rgb, png_size).map_err(|e| render_error(kind, e))?;
    let frame = fig.frame();
    Ok(Chart {
        kind,
        title: frame.title.clone(),
        legend: frame.legend.iter().map(|e| e.label.clone()).collect(),
        svg,
        size,
        png,
        png_size,
    })
}

/// Renders every chart the run has data for. `run` must be the record
/// `analysis` was made from: the attribution chart reads its per-thread
/// detail.
pub fn render_charts(run: &RunRecord, analysis: &RunAnalysis) -> Result<Charts, AnalysisError> {
    let mut out = Charts::default();
    for kind in ChartKind::ALL {
        match figure::build(kind, run, analysis) {
            Ok(fig) => out.charts.push(render(kind, &fig)?),
            Err(reason) => out.skipped.push(Skipped { kind, reason }),
        }
    }
    Ok(out)
}

/// Analyses `run` with the default settings, renders its charts and writes
/// them into `dir` (see [`Charts::write`]).
pub fn write_plots(run: &RunRecord, dir: impl AsRef<Path>) -> Result<Charts, AnalysisError> {
    write_plots_with(run, dir, &AnalysisConfig::default())
}

/// [`write_plots`] with explicit settings.
pub fn write_plots_with(
    run: &RunRecord,
    dir: impl AsRef<Path>,
    config: &AnalysisConfig,
) -> Result<Charts, AnalysisError> {
    let analysis = analyze_run(run, config)?;
    let charts = render_charts(run, &analysis)?;
    charts.write(dir.as_ref())?;
    Ok(charts)
}
