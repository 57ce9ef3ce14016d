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
const GAP: u32 = 2;

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

/// The panels side by side, each scaled (nearest) to `side` pixels, under a header row and
/// above a colour-bar row.
pub fn panel_row(panels: &[Panel], side: u32) -> RgbImage {
    let n = panels.len() as u32;
    let width = n * (side + GAP) + GAP;
    let height = HEADER + side + BAR + GAP;
    let mut out = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    for (i, p) in panels.iter().enumerate() {
        let x0 = GAP + i as u32 * (side + GAP);
        let max_chars = (side / 6) as usize;
        let title: String = p.title.chars().take(max_chars).collect();
        text(&mut out, x0 as i64 + 1, 2, &title, [0, 0, 0]);
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
            let bx = x0 as i64 + side as i64 - 6 * b.len() as i64;
            text(&mut out, bx, (y0 + 7) as i64, &b, [0, 0, 0]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panel_row_has_a_header_and_colour_bars_only_under_heat_maps() {
        let img = RgbImage::from_pixel(4, 4, Rgb([128, 128, 128]));
        let panels = [
            Panel {
                title: "IMAGE".into(),
                image: img.clone(),
                scale: None,
            },
            Panel {
                title: "ATTENTION".into(),
                image: img,
                scale: Some((0.0, 1.0)),
            },
        ];
        let row = panel_row(&panels, 64);
        assert_eq!((row.width(), row.height()), (2 * 66 + 2, 12 + 64 + 20 + 2));
        // Header text is drawn (dark pixels in the first 12 rows above each panel).
        let dark = |x0: u32, x1: u32, y0: u32, y1: u32| {
            (x0..x1).any(|x| (y0..y1).any(|y| row.get_pixel(x, y)[0] < 50))
        };
        assert!(dark(2, 66, 0, 12) && dark(68, 132, 0, 12));
        // The bar: jet's blue at the left end, red at the right, under the heat map only.
        let y = 12 + 64 + 3;
        assert_eq!(row.get_pixel(68, y).0, jet(0.0));
        assert_eq!(row.get_pixel(68 + 63, y).0, jet(1.0));
        assert_eq!(row.get_pixel(10, y).0, [255, 255, 255]);
    }
}
