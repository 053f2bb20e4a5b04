//! The embedded font.
//!
//! plotters is built without its system-font backend (`ttf`, which needs
//! fontconfig and FreeType): text is laid out and rasterised by `ab_glyph`
//! from fonts registered at run time. DejaVu Sans is compiled into the
//! crate, so a bare machine renders the same PNGs as a desktop; its licence
//! is `assets/LICENSE-DejaVu.txt`.

use std::sync::OnceLock;

use plotters::style::{register_font, FontStyle};

/// The family name charts ask for. The SVG backend writes it verbatim into
/// `font-family`, so it is also a CSS font stack: a browser without DejaVu
/// falls back to Verdana (same metrics lineage), then any sans-serif, and
/// the text still fits the boxes that were measured with DejaVu.
pub(crate) const FAMILY: &str = "DejaVu Sans, Verdana, sans-serif";

const REGULAR: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/DejaVuSans-Bold.ttf");

/// Registers the embedded DejaVu Sans (regular and bold) with plotters,
/// under the chart family and under `sans-serif` (what other plotters
/// users, criterion's reports among them, ask for by default). Idempotent
/// and thread-safe; every rendering entry point of this crate calls it.
///
/// A program that draws with plotters itself in the same build as this
/// crate needs it too: cargo unifies plotters' features, so its plotters
/// also renders text with `ab_glyph` and finds no font until one is
/// registered.
pub fn register_fonts() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        for family in [FAMILY, "sans-serif"] {
            // The bytes are a valid font, checked by the tests; a failure
            // here would leave charts without text, which rendering then
            // reports as an error, so there is nothing better to do with it.
            let _ = register_font(family, FontStyle::Normal, REGULAR);
            let _ = register_font(family, FontStyle::Bold, BOLD);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::style::{FontDesc, IntoFont};

    #[test]
    fn the_embedded_fonts_measure_text() {
        register_fonts();
        let font: FontDesc = (FAMILY, 20.0).into_font();
        let (w, h) = font.box_size("setitimer").unwrap();
        assert!(w > 50 && h > 10, "{w}x{h}");
        // (`FontDesc::style` keeps the regular face's data: a bold font
        // has to be asked for by name and style together.)
        let bold: FontDesc = (FAMILY, 20.0, FontStyle::Bold).into_font();
        assert!(bold.box_size("setitimer").unwrap().0 > w);
    }
}
