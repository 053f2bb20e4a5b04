//! Drawing a [`Figure`] on any plotters backend.
//!
//! Every chart has the same frame: title and subtitle on top, the panels,
//! then the legend and the caption *under* the panels, so a legend never
//! covers data however the lines run. plotters draws the axes, grids and
//! tick labels; lines, intervals and markers are drawn in pixels on the
//! root area from `backend_coord`, which is what lets points of different
//! modes be nudged sideways (a shift in pixels, not in data) and lets
//! dashes keep their length across panels.
//!
//! All lengths are given at scale 1 (CSS pixels of the SVG) and go through
//! [`Scale`], so the PNG, drawn at a larger scale, has the same layout.

use std::error::Error;
use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figure::{
    BarChart, BarFacet, Figure, LegendEntry, LineChart, LineFacet, ScatterChart, ScatterFacet,
    Swatch,
};
use super::style::{
    text_width, tint, wrap, Dash, Scale, Shape, CLASS_COLOURS, GRID, INK, MUTED, REFERENCE,
};

/// What drawing returns; plotters' errors carry the backend's error type,
/// which the caller turns into a message.
pub(crate) type DrawResult = Result<(), Box<dyn Error>>;

/// Width of every chart at scale 1.
pub(crate) const WIDTH: f64 = 1200.0;
const MARGIN: f64 = 28.0;
const TITLE_SIZE: f64 = 24.0;
const SUBTITLE_SIZE: f64 = 15.0;
const SUBTITLE_LINE: f64 = 21.0;
const PANEL_TITLE_SIZE: f64 = 16.0;
const AXIS_DESC_SIZE: f64 = 14.0;
const TICK_SIZE: f64 = 13.0;
const LEGEND_SIZE: f64 = 14.0;
const LEGEND_ROW: f64 = 26.0;
const LEGEND_SWATCH: f64 = 40.0;
const CAPTION_SIZE: f64 = 12.5;
const CAPTION_LINE: f64 = 18.0;
const MARKER_R: f64 = 4.5;

/// A linear axis with ticks exactly where asked (the measured thread
/// counts, rates and lifetimes), not at round numbers. plotters'
/// `with_key_points` does the same but loses the f64 label formatting the
/// mesh needs.
#[derive(Debug, Clone)]
struct Ticked {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Ticked {
    fn new(range: Range<f64>, ticks: Vec<f64>) -> Ticked {
        Ticked { range, ticks }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        if span == 0.0 {
            return (limit.0 + limit.1) / 2;
        }
        let f = (v - self.range.start) / span;
        limit.0 + (f64::from(limit.1 - limit.0) * f).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Grid lines at the ticks only: no light lines in between.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// The vertical layout of a figure, at scale 1.
struct Layout {
    subtitle: Vec<String>,
    header: f64,
    cols: usize,
    rows: usize,
    body: f64,
    legend_cols: usize,
    legend_col_w: f64,
    legend: f64,
    caption: Vec<String>,
    height: f64,
}

fn panels(fig: &Figure) -> usize {
    match fig {
        Figure::Line(c) => c.facets.len(),
        Figure::Scatter(c) => c.facets.len(),
        Figure::Bar(c) => c.facets.len(),
    }
}

impl Layout {
    fn of(fig: &Figure) -> Layout {
        let frame = fig.frame();
        let inner = WIDTH - 2.0 * MARGIN;
        let subtitle = wrap(&frame.subtitle, SUBTITLE_SIZE, inner);
        let header = 58.0 + subtitle.len() as f64 * SUBTITLE_LINE + 8.0;
        let n = panels(fig).max(1);
        let cols = match fig {
            Figure::Line(_) | Figure::Scatter(_) => n.min(3),
            Figure::Bar(_) => n.min(2),
        };
        let rows = n.div_ceil(cols);
        let panel_h = match fig {
            Figure::Line(_) => {
                if cols == 1 {
                    470.0
                } else {
                    410.0
                }
            }
            Figure::Scatter(_) => (inner / cols as f64).min(420.0),
            Figure::Bar(c) => {
                let most = c.facets.iter().map(|f| f.rows.len()).max().unwrap_or(1);
                100.0 + most as f64 * 56.0
            }
        };
        let body = rows as f64 * panel_h;
        let widest = frame
            .legend
            .iter()
            .map(|e| text_width(&e.label, LEGEND_SIZE, false))
            .fold(0.0_f64, f64::max);
        let legend_col_w = widest + LEGEND_SWATCH + 34.0;
        let legend_cols =
            ((inner / legend_col_w).floor() as usize).clamp(1, frame.legend.len().max(1));
        let legend_rows = frame.legend.len().div_ceil(legend_cols);
        let legend = if legend_rows == 0 {
            0.0
        } else {
            16.0 + legend_rows as f64 * LEGEND_ROW
        };
        let caption: Vec<String> = frame
            .caption
            .iter()
            .flat_map(|p| wrap(p, CAPTION_SIZE, inner))
            .collect();
        let height = header + body + legend + 10.0 + caption.len() as f64 * CAPTION_LINE + 18.0;
        Layout {
            subtitle,
            header,
            cols,
            rows,
            body,
            legend_cols,
            legend_col_w,
            legend,
            caption,
            height,
        }
    }
}

/// The size of a figure at scale 1, pixels.
pub(crate) fn size(fig: &Figure) -> (u32, u32) {
    (WIDTH as u32, Layout::of(fig).height.ceil() as u32)
}

fn at(h: HPos, v: VPos) -> Pos {
    Pos::new(h, v)
}

/// Draws `fig` on `root`, whose size must be [`size`] times the scale.
pub(crate) fn draw<DB>(root: &DrawingArea<DB, Shift>, fig: &Figure, s: Scale) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let layout = Layout::of(fig);
    let frame = fig.frame();
    root.fill(&WHITE)?;
    root.draw_text(
        &frame.title,
        &s.bold(TITLE_SIZE).color(&INK),
        (s.px(MARGIN), s.px(20.0)),
    )?;
    for (i, line) in layout.subtitle.iter().enumerate() {
        root.draw_text(
            line,
            &s.font(SUBTITLE_SIZE).color(&MUTED),
            (s.px(MARGIN), s.px(58.0 + i as f64 * SUBTITLE_LINE)),
        )?;
    }
    let body = root.clone().shrink(
        (s.px(MARGIN - 12.0), s.px(layout.header)),
        (s.px(WIDTH - 2.0 * (MARGIN - 12.0)), s.px(layout.body)),
    );
    let areas = body.split_evenly((layout.rows, layout.cols));
    match fig {
        Figure::Line(c) => {
            for (i, (facet, area)) in c.facets.iter().zip(&areas).enumerate() {
                line_panel(root, area, c, facet, s, i % layout.cols == 0)?;
            }
        }
        Figure::Scatter(c) => {
            for (i, (facet, area)) in c.facets.iter().zip(&areas).enumerate() {
                scatter_panel(root, area, c, facet, s, i % layout.cols == 0)?;
            }
        }
        Figure::Bar(c) => {
            for (facet, area) in c.facets.iter().zip(&areas) {
                bar_panel(root, area, c, facet, s)?;
            }
        }
    }
    let legend_top = layout.header + layout.body + 10.0;
    legend(root, &frame.legend, &layout, legend_top, s)?;
    let caption_top = legend_top + layout.legend;
    for (i, line) in layout.caption.iter().enumerate() {
        root.draw_text(
            line,
            &s.font(CAPTION_SIZE).color(&MUTED),
            (s.px(MARGIN), s.px(caption_top + i as f64 * CAPTION_LINE)),
        )?;
    }
    Ok(())
}

fn legend<DB>(
    root: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    layout: &Layout,
    top: f64,
    s: Scale,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    // A hairline above the legend separates it from the last panel's axis.
    if !entries.is_empty() {
        root.draw(&PathElement::new(
            vec![(s.px(MARGIN), s.px(top)), (s.px(WIDTH - MARGIN), s.px(top))],
            GRID.stroke_width(s.stroke(1.0)),
        ))?;
    }
    for (i, e) in entries.iter().enumerate() {
        let col = i % layout.legend_cols;
        let row = i / layout.legend_cols;
        let x = MARGIN + col as f64 * layout.legend_col_w;
        let y = top + 12.0 + row as f64 * LEGEND_ROW + LEGEND_ROW / 2.0;
        let (x0, x1, yc) = (s.px(x), s.px(x + LEGEND_SWATCH), s.px(y));
        let mid = (x0 + x1) / 2;
        match e.swatch {
            Swatch::Series(style) => {
                stroke(
                    root,
                    &[(x0, yc), (x1, yc)],
                    style.color.stroke_width(s.stroke(2.0)),
                    style.dash,
                    s,
                )?;
                marker(root, (mid, yc), style.shape, style.color, s)?;
            }
            Swatch::Point(color, shape) => hollow_marker(root, (mid, yc), shape, color, s)?,
            Swatch::Line(color, dash) => stroke(
                root,
                &[(x0, yc), (x1, yc)],
                color.stroke_width(s.stroke(2.0)),
                dash,
                s,
            )?,
            Swatch::Fill(color) => {
                root.draw(&Rectangle::new(
                    [
                        (s.px(x + 8.0), s.px(y - 7.0)),
                        (s.px(x + LEGEND_SWATCH - 8.0), s.px(y + 7.0)),
                    ],
                    color.filled(),
                ))?;
            }
            Swatch::Pale(color) => pale_box(
                root,
                [
                    (s.px(x + 8.0), s.px(y - 7.0)),
                    (s.px(x + LEGEND_SWATCH - 8.0), s.px(y + 7.0)),
                ],
                color,
                s,
            )?,
        }
        root.draw_text(
            &e.label,
            &s.font(LEGEND_SIZE)
                .color(&INK)
                .pos(at(HPos::Left, VPos::Center)),
            (s.px(x + LEGEND_SWATCH + 10.0), yc),
        )?;
    }
    Ok(())
}

/// The ground-truth look: a pale fill with an outline in the full colour.
fn pale_box<DB>(
    root: &DrawingArea<DB, Shift>,
    corners: [(i32, i32); 2],
    color: RGBColor,
    s: Scale,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    root.draw(&Rectangle::new(corners, tint(color, 0.62).filled()))?;
    root.draw(&Rectangle::new(corners, color.stroke_width(s.stroke(1.0))))?;
    Ok(())
}

/// Strokes a polyline, dashed when asked; dashes run on across vertices so
/// a pattern does not restart at every point.
fn stroke<DB>(
    root: &DrawingArea<DB, Shift>,
    points: &[(i32, i32)],
    style: ShapeStyle,
    dash: Dash,
    s: Scale,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    if points.len() < 2 {
        return Ok(());
    }
    let Some((on, off)) = dash.pattern() else {
        root.draw(&PathElement::new(points.to_vec(), style))?;
        return Ok(());
    };
    let (on, off) = (on * s.0, off * s.0);
    let to_px = |p: (f64, f64)| (p.0.round() as i32, p.1.round() as i32);
    let mut drawing = true;
    let mut left = on;
    let mut piece: Vec<(f64, f64)> = vec![(f64::from(points[0].0), f64::from(points[0].1))];
    for pair in points.windows(2) {
        let a = (f64::from(pair[0].0), f64::from(pair[0].1));
        let b = (f64::from(pair[1].0), f64::from(pair[1].1));
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let mut pos = 0.0;
        while len - pos > left {
            pos += left;
            let p = (a.0 + (b.0 - a.0) * pos / len, a.1 + (b.1 - a.1) * pos / len);
            if drawing {
                piece.push(p);
                root.draw(&PathElement::new(
                    piece.iter().copied().map(to_px).collect::<Vec<_>>(),
                    style,
                ))?;
                piece.clear();
            } else {
                piece = vec![p];
            }
            drawing = !drawing;
            left = if drawing { on } else { off };
        }
        left -= len - pos;
        if drawing {
            piece.push(b);
        }
    }
    if drawing && piece.len() >= 2 {
        root.draw(&PathElement::new(
            piece.into_iter().map(to_px).collect::<Vec<_>>(),
            style,
        ))?;
    }
    Ok(())
}

fn shape_points(shape: Shape, (x, y): (i32, i32), r: f64) -> Vec<(i32, i32)> {
    let p = |dx: f64, dy: f64| (x + dx.round() as i32, y + dy.round() as i32);
    match shape {
        Shape::Circle => Vec::new(),
        Shape::Triangle => vec![p(0.0, -1.3 * r), p(1.2 * r, 0.8 * r), p(-1.2 * r, 0.8 * r)],
        Shape::Square => vec![
            p(-0.9 * r, -0.9 * r),
            p(0.9 * r, -0.9 * r),
            p(0.9 * r, 0.9 * r),
            p(-0.9 * r, 0.9 * r),
        ],
        Shape::Diamond => vec![
            p(0.0, -1.3 * r),
            p(1.3 * r, 0.0),
            p(0.0, 1.3 * r),
            p(-1.3 * r, 0.0),
        ],
    }
}

/// A filled marker with a white halo, so overlapping markers stay apart.
fn marker<DB>(
    root: &DrawingArea<DB, Shift>,
    centre: (i32, i32),
    shape: Shape,
    color: RGBColor,
    s: Scale,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    for (r, c) in [(MARKER_R + 1.5, WHITE), (MARKER_R, color)] {
        let r = r * s.0;
        match shape {
            Shape::Circle => {
                root.draw(&Circle::new(centre, r.round() as i32, c.filled()))?;
            }
            other => {
                root.draw(&Polygon::new(shape_points(other, centre, r), c.filled()))?;
            }
        }
    }
    Ok(())
}

/// A marker with a translucent fill and a solid outline: where points
/// pile up (a scatter of shares does), the ones underneath still show.
fn hollow_marker<DB>(
    root: &DrawingArea<DB, Shift>,
    centre: (i32, i32),
    shape: Shape,
    color: RGBColor,
    s: Scale,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let r = MARKER_R * 1.1 * s.0;
    let outline = color.stroke_width(s.stroke(1.5));
    match shape {
        Shape::Circle => {
            let r = r.round() as i32;
            root.draw(&Circle::new(centre, r, color.mix(0.25).filled()))?;
            root.draw(&Circle::new(centre, r, outline))?;
        }
        other => {
            let mut points = shape_points(other, centre, r);
            root.draw(&Polygon::new(points.clone(), color.mix(0.25).filled()))?;
            points.push(points[0]);
            root.draw(&PathElement::new(points, outline))?;
        }
    }
    Ok(())
}

/// A number as a tick label: no trailing zeros.
fn number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{}", v.round())
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn percent(v: f64) -> String {
    format!("{:.0} %", 100.0 * v)
}

/// Ticks every `step` from 0 up to `max`.
fn steps(max: f64, step: f64) -> Vec<f64> {
    (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|v| *v <= max + 1e-9)
        .collect()
}

fn line_panel<DB>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    chart: &LineChart,
    facet: &LineFacet,
    s: Scale,
    first_in_row: bool,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let log = chart.log_x;
    let t = move |x: f64| if log { x.ln() } else { x };
    let inv = move |v: f64| if log { v.exp() } else { v };
    let mut xs: Vec<f64> = facet
        .series
        .iter()
        .flat_map(|series| series.points.iter().map(|p| p.x))
        .chain(facet.marker.iter().map(|m| m.x))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup_by(|a, b| (*a - *b).abs() <= 1e-9 * b.abs().max(1.0));
    let (lo, hi) = match (xs.first(), xs.last()) {
        (Some(a), Some(b)) => (t(*a), t(*b)),
        _ => (0.0, 1.0),
    };
    let span = if hi > lo { hi - lo } else { 1.0 };
    let (lo, hi) = (lo - 0.13 * span, hi + 0.13 * span);
    let ticks: Vec<f64> = xs.iter().map(|x| t(*x)).collect();
    let y_max = chart.y_max;
    let y_ticks = steps(y_max, 0.2);
    let mut ctx = ChartBuilder::on(area)
        .caption(&facet.title, s.bold(PANEL_TITLE_SIZE).color(&INK))
        .margin_top(s.px(4.0))
        .margin_left(s.px(4.0))
        .margin_right(s.px(16.0))
        .margin_bottom(s.px(6.0))
        .x_label_area_size(s.px(52.0))
        .y_label_area_size(s.px(if first_in_row { 70.0 } else { 46.0 }))
        .build_cartesian_2d(Ticked::new(lo..hi, ticks), Ticked::new(0.0..y_max, y_ticks))?;
    let x_fmt = |v: &f64| number(inv(*v));
    let y_fmt = |v: &f64| format!("{v:.1}");
    let mut mesh = ctx.configure_mesh();
    if first_in_row {
        mesh.y_desc(chart.y_label.as_str());
    }
    mesh.x_desc(chart.x_label.as_str())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .axis_desc_style(s.font(AXIS_DESC_SIZE).color(&INK))
        .label_style(s.font(TICK_SIZE).color(&MUTED))
        .bold_line_style(GRID.stroke_width(s.stroke(1.0)))
        .light_line_style(TRANSPARENT)
        .axis_style(REFERENCE.stroke_width(s.stroke(1.0)))
        .set_all_tick_mark_size(s.px(4.0))
        .draw()?;
    let (xr, yr) = ctx.plotting_area().get_pixel_range();
    // The faithful line.
    let one = ctx.backend_coord(&(lo, 1.0)).1;
    stroke(
        root,
        &[(xr.start, one), (xr.end, one)],
        REFERENCE.stroke_width(s.stroke(1.5)),
        Dash::Dashed,
        s,
    )?;
    if let Some(m) = &facet.marker {
        let x = ctx.backend_coord(&(t(m.x), 0.0)).0;
        stroke(
            root,
            &[(x, yr.start), (x, yr.end)],
            REFERENCE.stroke_width(s.stroke(1.5)),
            Dash::Dotted,
            s,
        )?;
        let width = s.px(text_width(&m.label, TICK_SIZE, false));
        let (anchor, tx) = if x + s.px(6.0) + width < xr.end {
            (HPos::Left, x + s.px(5.0))
        } else {
            (HPos::Right, x - s.px(5.0))
        };
        root.draw_text(
            &m.label,
            &s.font(TICK_SIZE)
                .color(&REFERENCE)
                .pos(at(anchor, VPos::Top)),
            (tx, yr.start + s.px(4.0)),
        )?;
    }
    if let Some(reference) = &facet.reference {
        let points: Vec<(i32, i32)> = reference
            .points
            .iter()
            .map(|(x, y)| ctx.backend_coord(&(t(*x), y.clamp(0.0, y_max))))
            .collect();
        stroke(
            root,
            &points,
            REFERENCE.stroke_width(s.stroke(2.0)),
            Dash::Dotted,
            s,
        )?;
    }
    // Nudge modes apart: the smallest gap between ticks, shared out.
    let tick_px: Vec<i32> = xs
        .iter()
        .map(|x| ctx.backend_coord(&(t(*x), 0.0)).0)
        .collect();
    let gap = tick_px
        .windows(2)
        .map(|w| w[1] - w[0])
        .min()
        .unwrap_or(xr.end - xr.start);
    let n = facet.series.len();
    let step = (f64::from(gap) * 0.5 / n.max(1) as f64).min(7.0 * s.0);
    let offset = |i: usize| ((i as f64 - (n as f64 - 1.0) / 2.0) * step).round() as i32;
    let y_px = |y: f64| ctx.backend_coord(&(lo, y.clamp(0.0, y_max))).1;
    let x_px = |x: f64, i: usize| ctx.backend_coord(&(t(x), 0.0)).0 + offset(i);
    for (i, series) in facet.series.iter().enumerate() {
        let points: Vec<(i32, i32)> = series
            .points
            .iter()
            .map(|p| (x_px(p.x, i), y_px(p.y)))
            .collect();
        stroke(
            root,
            &points,
            series.style.color.stroke_width(s.stroke(2.0)),
            series.style.dash,
            s,
        )?;
    }
    for (i, series) in facet.series.iter().enumerate() {
        let style = series.style.color.stroke_width(s.stroke(1.5));
        for p in &series.points {
            let x = x_px(p.x, i);
            if p.hi <= y_max {
                root.draw(&ErrorBar::new_vertical(
                    x,
                    y_px(p.hi),
                    y_px(p.y),
                    y_px(p.lo),
                    style,
                    s.stroke(9.0),
                ))?;
            } else {
                // Cut at the top of the axis: no cap there, an arrowhead
                // instead, so the cut end does not read as the interval's.
                let (top, bottom) = (yr.start, y_px(p.lo));
                root.draw(&PathElement::new(vec![(x, top), (x, bottom)], style))?;
                let half = s.px(4.5);
                root.draw(&PathElement::new(
                    vec![(x - half, bottom), (x + half, bottom)],
                    style,
                ))?;
                root.draw(&Polygon::new(
                    vec![
                        (x, top - s.px(2.0)),
                        (x - half, top + s.px(7.0)),
                        (x + half, top + s.px(7.0)),
                    ],
                    series.style.color.filled(),
                ))?;
            }
        }
    }
    for (i, series) in facet.series.iter().enumerate() {
        for p in &series.points {
            marker(
                root,
                (x_px(p.x, i), y_px(p.y)),
                series.style.shape,
                series.style.color,
                s,
            )?;
        }
    }
    Ok(())
}

fn scatter_panel<DB>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    chart: &ScatterChart,
    facet: &ScatterFacet,
    s: Scale,
    first_in_row: bool,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let max = chart.max;
    let step = if max <= 0.5 { 0.1 } else { 0.2 };
    let mut ctx = ChartBuilder::on(area)
        .caption(&facet.title, s.bold(PANEL_TITLE_SIZE).color(&INK))
        .margin_top(s.px(4.0))
        .margin_left(s.px(4.0))
        .margin_right(s.px(18.0))
        .margin_bottom(s.px(6.0))
        .x_label_area_size(s.px(52.0))
        .y_label_area_size(s.px(if first_in_row { 78.0 } else { 54.0 }))
        .build_cartesian_2d(
            Ticked::new(0.0..max, steps(max, step)),
            Ticked::new(0.0..max, steps(max, step)),
        )?;
    let fmt = |v: &f64| percent(*v);
    let mut mesh = ctx.configure_mesh();
    if first_in_row {
        mesh.y_desc(chart.y_label.as_str());
    }
    mesh.x_desc(chart.x_label.as_str())
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .axis_desc_style(s.font(AXIS_DESC_SIZE).color(&INK))
        .label_style(s.font(TICK_SIZE).color(&MUTED))
        .bold_line_style(GRID.stroke_width(s.stroke(1.0)))
        .light_line_style(TRANSPARENT)
        .axis_style(REFERENCE.stroke_width(s.stroke(1.0)))
        .set_all_tick_mark_size(s.px(4.0))
        .draw()?;
    let (xr, yr) = ctx.plotting_area().get_pixel_range();
    stroke(
        root,
        &[
            ctx.backend_coord(&(0.0, 0.0)),
            ctx.backend_coord(&(max, max)),
        ],
        REFERENCE.stroke_width(s.stroke(1.5)),
        Dash::Dashed,
        s,
    )?;
    for p in &facet.points {
        let (color, shape) = chart.groups[p.group];
        hollow_marker(
            root,
            ctx.backend_coord(&(p.cpu_share.min(max), p.sample_share.min(max))),
            shape,
            color,
            s,
        )?;
    }
    // The upper-left corner is where a point would mean "many samples, no
    // CPU": empty unless attribution is badly wrong, so the note goes there.
    root.draw_text(
        &facet.note,
        &s.font(TICK_SIZE).color(&MUTED),
        (xr.start + s.px(8.0), yr.start + s.px(6.0)),
    )?;
    Ok(())
}

fn bar_panel<DB>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    chart: &BarChart,
    facet: &BarFacet,
    s: Scale,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    const NOTE_SIZE: f64 = 11.5;
    let n = facet.rows.len();
    // The same label column in every panel, so the bars line up.
    let label_w = chart
        .facets
        .iter()
        .flat_map(|f| &f.rows)
        .map(|r| text_width(&r.label, TICK_SIZE, false).max(text_width(&r.note, NOTE_SIZE, false)))
        .fold(0.0_f64, f64::max)
        + 18.0;
    let x_max = chart.x_max;
    let mut ctx = ChartBuilder::on(area)
        .caption(&facet.title, s.bold(PANEL_TITLE_SIZE).color(&INK))
        .margin_top(s.px(4.0))
        .margin_left(s.px(4.0))
        .margin_right(s.px(18.0))
        .margin_bottom(s.px(6.0))
        .x_label_area_size(s.px(52.0))
        .y_label_area_size(s.px(label_w))
        .build_cartesian_2d(
            Ticked::new(0.0..x_max, steps(x_max, 0.25)),
            Ticked::new(0.0..n as f64, Vec::new()),
        )?;
    let fmt = |v: &f64| percent(*v);
    ctx.configure_mesh()
        .disable_y_mesh()
        .x_desc(chart.x_label.as_str())
        .x_label_formatter(&fmt)
        .axis_desc_style(s.font(AXIS_DESC_SIZE).color(&INK))
        .label_style(s.font(TICK_SIZE).color(&MUTED))
        .bold_line_style(GRID.stroke_width(s.stroke(1.0)))
        .light_line_style(TRANSPARENT)
        .axis_style(REFERENCE.stroke_width(s.stroke(1.0)))
        .set_all_tick_mark_size(s.px(4.0))
        .draw()?;
    let (_, yr) = ctx.plotting_area().get_pixel_range();
    let one = ctx.backend_coord(&(1.0, 0.0)).0;
    stroke(
        root,
        &[(one, yr.start), (one, yr.end)],
        REFERENCE.stroke_width(s.stroke(1.5)),
        Dash::Dashed,
        s,
    )?;
    for (i, row) in facet.rows.iter().enumerate() {
        let c = n as f64 - i as f64 - 0.5;
        let mut x = 0.0;
        for (share, color) in row.cpu.iter().zip(CLASS_COLOURS) {
            if *share > 0.0 {
                let corners = [
                    ctx.backend_coord(&(x, c + 0.36)),
                    ctx.backend_coord(&((x + share).min(x_max), c + 0.04)),
                ];
                pale_box(root, corners, color, s)?;
            }
            x += share;
        }
        let mut x = 0.0;
        for (share, color) in row.samples.iter().zip(CLASS_COLOURS) {
            if *share > 0.0 {
                root.draw(&Rectangle::new(
                    [
                        ctx.backend_coord(&(x, c - 0.04)),
                        ctx.backend_coord(&((x + share).min(x_max), c - 0.36)),
                    ],
                    color.filled(),
                ))?;
            }
            x += share;
        }
        let (lx, ly) = ctx.backend_coord(&(0.0, c));
        root.draw_text(
            &row.label,
            &s.font(TICK_SIZE)
                .color(&INK)
                .pos(at(HPos::Right, VPos::Bottom)),
            (lx - s.px(9.0), ly - s.px(1.0)),
        )?;
        root.draw_text(
            &row.note,
            &s.font(NOTE_SIZE)
                .color(&MUTED)
                .pos(at(HPos::Right, VPos::Top)),
            (lx - s.px(9.0), ly + s.px(2.0)),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels() {
        assert_eq!(number(4.0), "4");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(1000.0), "1000");
        assert_eq!(percent(0.25), "25 %");
        assert_eq!(steps(1.1, 0.2).len(), 6);
    }
}
