//! Figures: labelled image grids, line charts and the demo's HTML report.

pub mod grid;
pub mod html;
pub mod plot;

use std::sync::Once;

/// The font used for every label, compiled in so figures look the same on every machine
/// (DejaVu Sans; licence in `assets/fonts/DejaVu-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");

pub(crate) fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font compiled in; registration cannot fail at runtime.
        let _ = plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, FONT);
    });
}
