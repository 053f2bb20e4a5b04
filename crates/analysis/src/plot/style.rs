//! Colours, line and marker styles, and the scale a chart is drawn at.
//!
//! A mode keeps its look across every chart: the hue is the mechanism and
//! the options change the shade, the dash and the marker, so
//! `thread-timer` and `thread-timer+overrun` read as relatives and stay
//! distinguishable in print and for colour-blind readers (the hues are
//! Okabe and Ito's palette, and no two modes share a marker and dash).

use harness::mode::{Mechanism, Mode};
use plotters::style::{FontDesc, FontStyle, IntoFont, RGBColor};

use super::font::FAMILY;

/// Text colour of titles and labels.
pub(crate) const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
/// Text colour of subtitles, captions and annotations.
pub(crate) const MUTED: RGBColor = RGBColor(0x5f, 0x63, 0x68);
/// Grid lines.
pub(crate) const GRID: RGBColor = RGBColor(0xe3, 0xe5, 0xe8);
/// Reference lines (ratio 1, the diagonal) and markers (cores, HZ).
pub(crate) const REFERENCE: RGBColor = RGBColor(0x70, 0x74, 0x79);

/// Okabe–Ito, without yellow (too pale on white) and black (reads as an axis).
const VERMILLION: RGBColor = RGBColor(0xd5, 0x5e, 0x00);
const ORANGE: RGBColor = RGBColor(0xe6, 0x9f, 0x00);
const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xb2);
const GREEN: RGBColor = RGBColor(0x00, 0x9e, 0x73);
const PURPLE: RGBColor = RGBColor(0xcc, 0x79, 0xa7);
const SKY: RGBColor = RGBColor(0x56, 0xb4, 0xe9);

/// Colours for categories that are not modes (rates, thread classes).
pub(crate) const CATEGORICAL: [RGBColor; 6] = [BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY];

/// Registered threads, unregistered threads, threads of unknown CPU.
pub(crate) const CLASS_COLOURS: [RGBColor; 3] = [BLUE, ORANGE, PURPLE];

/// How a line is stroked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dash {
    Solid,
    Dashed,
    Dotted,
    Long,
}

impl Dash {
    /// `(dash, gap)` lengths at scale 1, or `None` for a solid line.
    pub(crate) fn pattern(self) -> Option<(f64, f64)> {
        match self {
            Dash::Solid => None,
            Dash::Dashed => Some((9.0, 5.0)),
            Dash::Dotted => Some((2.5, 4.0)),
            Dash::Long => Some((16.0, 5.0)),
        }
    }
}

/// A marker's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Circle,
    Triangle,
    Square,
    Diamond,
}

impl Shape {
    /// Shapes in the order categories use them.
    pub(crate) const ALL: [Shape; 4] = [
        Shape::Circle,
        Shape::Triangle,
        Shape::Square,
        Shape::Diamond,
    ];
}

/// How one series is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SeriesStyle {
    pub color: RGBColor,
    pub dash: Dash,
    pub shape: Shape,
}

fn mix(c: RGBColor, toward: RGBColor, t: f64) -> RGBColor {
    let m = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    RGBColor(m(c.0, toward.0), m(c.1, toward.1), m(c.2, toward.2))
}

/// A lighter version of a colour, for backgrounds and ground-truth bars.
pub(crate) fn tint(c: RGBColor, t: f64) -> RGBColor {
    mix(c, RGBColor(255, 255, 255), t)
}

/// The look of a mode: hue by mechanism, shade, dash and marker by options.
pub(crate) fn mode_style(mode: &Mode) -> SeriesStyle {
    let hue = match mode.mechanism {
        Mechanism::Setitimer => VERMILLION,
        Mechanism::ProcessTimer => ORANGE,
        Mechanism::ThreadTimer => BLUE,
        Mechanism::Hybrid => GREEN,
        Mechanism::PerfEvent => PURPLE,
        // A real profiler under test, not one of profbench's mechanisms.
        Mechanism::PprofRs => SKY,
    };
    let o = &mode.options;
    let black = RGBColor(0, 0, 0);
    if o.flush {
        SeriesStyle {
            color: mix(hue, black, 0.42),
            dash: Dash::Dotted,
            shape: Shape::Square,
        }
    } else if o.overrun {
        SeriesStyle {
            color: mix(hue, black, 0.25),
            dash: Dash::Dashed,
            shape: Shape::Triangle,
        }
    } else if o.nojitter {
        SeriesStyle {
            color: tint(hue, 0.35),
            dash: Dash::Long,
            shape: Shape::Diamond,
        }
    } else {
        SeriesStyle {
            color: hue,
            dash: Dash::Solid,
            shape: Shape::Circle,
        }
    }
}

/// The scale a chart is drawn at: 1 for SVG (CSS pixels), more for a
/// crisp PNG. Every length goes through it, so both outputs have the same
/// layout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scale(pub f64);

impl Scale {
    /// A length in backend pixels.
    pub(crate) fn px(self, v: f64) -> i32 {
        (v * self.0).round() as i32
    }

    /// A stroke width, at least one pixel.
    pub(crate) fn stroke(self, v: f64) -> u32 {
        (v * self.0).round().max(1.0) as u32
    }

    /// The chart font at `size` (scale-1 pixels).
    pub(crate) fn font(self, size: f64) -> FontDesc<'static> {
        (FAMILY, size * self.0).into_font()
    }

    /// The bold chart font.
    pub(crate) fn bold(self, size: f64) -> FontDesc<'static> {
        (FAMILY, size * self.0, FontStyle::Bold).into_font()
    }
}

/// The width of `text` in scale-1 pixels at `size`, as the embedded font
/// lays it out.
pub(crate) fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    super::font::register_fonts();
    let s = Scale(1.0);
    let font = if bold { s.bold(size) } else { s.font(size) };
    font.box_size(text)
        .map(|(w, _)| f64::from(w))
        .unwrap_or(0.6 * size * text.chars().count() as f64)
}

/// Breaks `text` into lines no wider than `width` at `size`, at spaces.
pub(crate) fn wrap(text: &str, size: f64, width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && text_width(&candidate, size, false) > width {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_of_one_mechanism_differ() {
        let styles: Vec<SeriesStyle> = [
            "thread-timer",
            "thread-timer+overrun",
            "thread-timer+overrun+flush",
            "thread-timer+nojitter",
        ]
        .iter()
        .map(|m| mode_style(&m.parse().unwrap()))
        .collect();
        for (i, a) in styles.iter().enumerate() {
            for b in &styles[i + 1..] {
                assert!(a.color != b.color && a.dash != b.dash && a.shape != b.shape);
            }
        }
    }

    #[test]
    fn wrapping_keeps_words_and_width() {
        super::super::font::register_fonts();
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let lines = wrap(text, 14.0, 120.0);
        assert!(lines.len() > 2, "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert!(lines.iter().all(|l| text_width(l, 14.0, false) <= 120.0));
    }
}
