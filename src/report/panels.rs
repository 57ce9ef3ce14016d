//! One picture per test image: a row of panels, each with a header naming it and, for heat
//! maps, a colour bar with the values of its ends (one scale per method and category, so
//! pictures of one category compare).

use crate::report::pictures::jet;
use crate::report::plot::text;
use image::{imageops, Rgb, RgbImage};

/// One panel: its header, its picture, and for a heat map the value range of its colours.
pub struct Panel {
    /// Header text (upper-case letters, digits and `.-+=()/:%`).
    pub title: String,
    /// The picture.
    pub image: RgbImage,
    /// `(low, high)` of the colour bar, for heat maps.
    pub scale: Option<(f32, f32)>,
}

const HEADER: u32 = 12;
const BAR: u32 = 20;
/// Space between panels: wide enough that one panel's right bar label and the next panel's
/// left label never touch.
const GAP: u32 = 8;
/// Advance of one character of the 5x7 font.
const CHAR: u32 = 6;

/// A heat map in jet on the fixed scale `(lo, hi)`.
pub fn heat_scaled(map: &[f32], h: usize, w: usize, (lo, hi): (f32, f32)) -> RgbImage {
    let span = (hi - lo).max(1e-12);
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        Rgb(jet((map[y as usize * w + x as usize] - lo) / span))
    })
}

fn fmt_value(v: f32) -> String {
    if v.abs() >= 100.0 || (v != 0.0 && v.abs() < 0.01) {
        format!("{v:.1E}")
    } else {
        format!("{v:.2}")
    }
}

/// The panel side actually drawn: at least `side`, and wide enough for every header and for
/// both ends' labels of every colour bar with one character between them, so that nothing is
/// cut off or overprinted however small the images are.
pub fn fitted_side(panels: &[Panel], side: u32) -> u32 {
    let chars = |s: &str| s.chars().count() as u32;
    let need = panels
        .iter()
        .map(|p| {
            let title = chars(&p.title) * CHAR + 2;
            let bar = p
                .scale
                .map(|(lo, hi)| (chars(&fmt_value(lo)) + chars(&fmt_value(hi)) + 1) * CHAR)
                .unwrap_or(0);
            title.max(bar)
        })
        .max()
        .unwrap_or(0);
    side.max(need)
}

/// The panels side by side, each scaled (nearest) to `side` pixels (widened by
/// [`fitted_side`] when a header or the labels need it), under a header row and above a
/// colour-bar row.
pub fn panel_row(panels: &[Panel], side: u32) -> RgbImage {
    let side = fitted_side(panels, side);
    let n = panels.len() as u32;
    let width = n * (side + GAP) + GAP;
    let height = HEADER + side + BAR + GAP;
    let mut out = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    for (i, p) in panels.iter().enumerate() {
        let x0 = GAP + i as u32 * (side + GAP);
        text(&mut out, x0 as i64 + 1, 2, &p.title, [0, 0, 0]);
        let tile = imageops::resize(&p.image, side, side, imageops::FilterType::Nearest);
        imageops::replace(&mut out, &tile, x0 as i64, HEADER as i64);
        if let Some((lo, hi)) = p.scale {
            let y0 = HEADER + side + 2;
            for x in 0..side {
                let c = jet(x as f32 / (side - 1).max(1) as f32);
                for y in y0..y0 + 5 {
                    out.put_pixel(x0 + x, y, Rgb(c));
                }
            }
            let (a, b) = (fmt_value(lo), fmt_value(hi));
            text(&mut out, x0 as i64, (y0 + 7) as i64, &a, [0, 0, 0]);
            let bx = x0 as i64 + side as i64 - (CHAR * b.chars().count() as u32) as i64 + 1;
            text(&mut out, bx, (y0 + 7) as i64, &b, [0, 0, 0]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panels(titles: &[&str], scale: (f32, f32)) -> Vec<Panel> {
        let img = RgbImage::from_pixel(4, 4, Rgb([128, 128, 128]));
        titles
            .iter()
            .enumerate()
            .map(|(i, t)| Panel {
                title: t.to_string(),
                image: img.clone(),
                scale: (i > 0).then_some(scale),
            })
            .collect()
    }

    #[test]
    fn panel_row_has_a_header_and_colour_bars_only_under_heat_maps() {
        let row = panel_row(&panels(&["IMAGE", "ATTENTION"], (0.0, 1.0)), 64);
        let g = GAP;
        assert_eq!(
            (row.width(), row.height()),
            (2 * (64 + g) + g, 12 + 64 + 20 + g)
        );
        // Header text is drawn (dark pixels in the first 12 rows above each panel).
        let dark = |x0: u32, x1: u32, y0: u32, y1: u32| {
            (x0..x1).any(|x| (y0..y1).any(|y| row.get_pixel(x, y)[0] < 50))
        };
        assert!(dark(g, g + 64, 0, 12) && dark(2 * g + 64, 2 * g + 128, 0, 12));
        // The bar: jet's blue at the left end, red at the right, under the heat map only.
        let y = 12 + 64 + 3;
        assert_eq!(row.get_pixel(2 * g + 64, y).0, jet(0.0));
        assert_eq!(row.get_pixel(2 * g + 64 + 63, y).0, jet(1.0));
        assert_eq!(row.get_pixel(g + 10, y).0, [255, 255, 255]);
    }

    /// Clusters of dark columns in rows `y0..y1`, split by at least 5 white columns (wider
    /// than the gaps inside a number such as "3.2E-4").
    fn words(row: &RgbImage, y0: u32, y1: u32) -> usize {
        let mut n = 0;
        let mut white = usize::MAX;
        for x in 0..row.width() {
            if (y0..y1).any(|y| row.get_pixel(x, y)[0] < 50) {
                if white >= 5 {
                    n += 1;
                }
                white = 0;
            } else {
                white = white.saturating_add(1);
            }
        }
        n
    }

    #[test]
    fn small_panels_are_widened_so_headers_and_bar_labels_never_collide() {
        // 32 px panels: too narrow for "RECONSTRUCTION" and for two labels like "3.2E-4".
        let p = panels(
            &["RECONSTRUCTION", "RECON. ERROR", "ATTENTION"],
            (3.2e-4, 3.0e-3),
        );
        let side = fitted_side(&p, 32);
        assert!(side >= 14 * CHAR + 2, "side {side}");
        let row = panel_row(&p, 32);
        // Every header is drawn whole: the last letter's column is dark.
        let last_col = GAP + 1 + 14 * CHAR - 2;
        assert!((0..12).any(|y| row.get_pixel(last_col, y)[0] < 50));
        // Two separate labels under each of the two heat maps, none run together.
        let y0 = HEADER + side + 2 + 7;
        assert_eq!(words(&row, y0, y0 + 7), 4);
    }
}
