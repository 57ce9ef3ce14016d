//! A small scatter plot drawn pixel by pixel (axes, grid, ticks, a legend and a 3x5 bitmap
//! font), so that results need no plotting library: the paper's Fig. 8 form, disentanglement
//! score against reconstruction error.

use image::{Rgb, RgbImage};

/// One group of points, drawn in one colour.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text (letters, digits and `.-+=():/` are drawn; others as blanks).
    pub label: String,
    /// Points (x, y); non-finite ones are skipped.
    pub points: Vec<(f64, f64)>,
}

/// Colours for series, in order (colour-blind-safe Okabe-Ito palette).
pub const COLORS: [[u8; 3]; 8] = [
    [0, 114, 178],
    [213, 94, 0],
    [0, 158, 115],
    [204, 121, 167],
    [230, 159, 0],
    [86, 180, 233],
    [240, 228, 66],
    [0, 0, 0],
];

/// 3x5 glyphs, rows top to bottom, 3 bits each (MSB = left column).
fn glyph(c: char) -> [u8; 5] {
    let rows: [&str; 5] = match c.to_ascii_uppercase() {
        '0' => ["###", "#.#", "#.#", "#.#", "###"],
        '1' => [".#.", "##.", ".#.", ".#.", "###"],
        '2' => ["###", "..#", "###", "#..", "###"],
        '3' => ["###", "..#", "###", "..#", "###"],
        '4' => ["#.#", "#.#", "###", "..#", "..#"],
        '5' => ["###", "#..", "###", "..#", "###"],
        '6' => ["###", "#..", "###", "#.#", "###"],
        '7' => ["###", "..#", "..#", "..#", "..#"],
        '8' => ["###", "#.#", "###", "#.#", "###"],
        '9' => ["###", "#.#", "###", "..#", "###"],
        '.' => ["...", "...", "...", "...", ".#."],
        '-' => ["...", "...", "###", "...", "..."],
        '+' => ["...", ".#.", "###", ".#.", "..."],
        '=' => ["...", "###", "...", "###", "..."],
        '(' => [".#.", "#..", "#..", "#..", ".#."],
        ')' => [".#.", "..#", "..#", "..#", ".#."],
        ':' => ["...", ".#.", "...", ".#.", "..."],
        '/' => ["..#", "..#", ".#.", "#..", "#.."],
        'A' => [".#.", "#.#", "###", "#.#", "#.#"],
        'B' => ["##.", "#.#", "##.", "#.#", "##."],
        'C' => [".##", "#..", "#..", "#..", ".##"],
        'D' => ["##.", "#.#", "#.#", "#.#", "##."],
        'E' => ["###", "#..", "##.", "#..", "###"],
        'F' => ["###", "#..", "##.", "#..", "#.."],
        'G' => [".##", "#..", "#.#", "#.#", ".##"],
        'H' => ["#.#", "#.#", "###", "#.#", "#.#"],
        'I' => ["###", ".#.", ".#.", ".#.", "###"],
        'J' => ["..#", "..#", "..#", "#.#", ".#."],
        'K' => ["#.#", "#.#", "##.", "#.#", "#.#"],
        'L' => ["#..", "#..", "#..", "#..", "###"],
        'M' => ["#.#", "###", "###", "#.#", "#.#"],
        'N' => ["##.", "#.#", "#.#", "#.#", "#.#"],
        'O' => [".#.", "#.#", "#.#", "#.#", ".#."],
        'P' => ["##.", "#.#", "##.", "#..", "#.."],
        'Q' => [".#.", "#.#", "#.#", "##.", ".##"],
        'R' => ["##.", "#.#", "##.", "#.#", "#.#"],
        'S' => [".##", "#..", ".#.", "..#", "##."],
        'T' => ["###", ".#.", ".#.", ".#.", ".#."],
        'U' => ["#.#", "#.#", "#.#", "#.#", "###"],
        'V' => ["#.#", "#.#", "#.#", "#.#", ".#."],
        'W' => ["#.#", "#.#", "###", "###", "#.#"],
        'X' => ["#.#", "#.#", ".#.", "#.#", "#.#"],
        'Y' => ["#.#", "#.#", ".#.", ".#.", ".#."],
        'Z' => ["###", "..#", ".#.", "#..", "###"],
        _ => ["...", "...", "...", "...", "..."],
    };
    rows.map(|r| r.bytes().fold(0u8, |acc, b| (acc << 1) | u8::from(b == b'#')))
}

/// Width in pixels of `text` drawn at `scale`.
pub fn text_width(text: &str, scale: u32) -> u32 {
    (text.chars().count() as u32 * 4).saturating_sub(1) * scale
}

/// Draws `text` with its top-left corner at (x, y).
pub fn draw_text(img: &mut RgbImage, x: i64, y: i64, text: &str, scale: u32, color: [u8; 3]) {
    for (k, c) in text.chars().enumerate() {
        let g = glyph(c);
        for (r, bits) in g.iter().enumerate() {
            for col in 0..3 {
                if bits >> (2 - col) & 1 == 1 {
                    for dy in 0..scale as i64 {
                        for dx in 0..scale as i64 {
                            let px = x + (k as i64 * 4 + col) * scale as i64 + dx;
                            let py = y + r as i64 * scale as i64 + dy;
                            put(img, px, py, color);
                        }
                    }
                }
            }
        }
    }
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, Rgb(c));
    }
}

fn disc(img: &mut RgbImage, cx: i64, cy: i64, r: i64, c: [u8; 3], filled: bool) {
    for dy in -r..=r {
        for dx in -r..=r {
            let d2 = dx * dx + dy * dy;
            if d2 <= r * r && (filled || d2 >= (r - 1) * (r - 1)) {
                put(img, cx + dx, cy + dy, c);
            }
        }
    }
}

/// About five round tick values covering [lo, hi].
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    // Integer multiples of the step, so that labels do not drift by accumulated rounding.
    let (first, last) = ((lo / step).ceil() as i64, (hi / step + 1e-9).floor() as i64);
    (first..=last).map(|k| k as f64 * step).collect()
}

fn label(v: f64, span: f64) -> String {
    let decimals = if span >= 50.0 {
        0
    } else if span >= 5.0 {
        1
    } else if span >= 0.5 {
        2
    } else {
        3
    };
    format!("{v:.decimals$}")
}

fn range(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = vals
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-3 * hi.abs().max(1.0));
    (lo - pad, hi + pad)
}

/// A scatter plot of the series with axis titles; every point is a filled disc, each
/// series' mean a ring.
pub fn scatter(series: &[Series], x_title: &str, y_title: &str) -> RgbImage {
    let (w, h) = (640u32, 480u32);
    let (left, right, top) = (70i64, 20i64, 30i64);
    let legend_h = 14 * series.len() as i64 + 8;
    let bottom = 50 + legend_h;
    let mut img = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    let (x0, y0, x1, y1) = (left, top, w as i64 - right, h as i64 - bottom);
    let all = || series.iter().flat_map(|s| s.points.iter().copied());
    let (xlo, xhi) = range(all().map(|p| p.0));
    let (ylo, yhi) = range(all().map(|p| p.1));
    let px = |x: f64| x0 + ((x - xlo) / (xhi - xlo) * (x1 - x0) as f64).round() as i64;
    let py = |y: f64| y1 - ((y - ylo) / (yhi - ylo) * (y1 - y0) as f64).round() as i64;
    let (grid, ink) = ([225, 225, 225], [0, 0, 0]);
    for t in ticks(xlo, xhi) {
        let x = px(t);
        for y in y0..=y1 {
            put(&mut img, x, y, grid);
        }
        for y in y1..y1 + 5 {
            put(&mut img, x, y, ink);
        }
        let s = label(t, xhi - xlo);
        draw_text(&mut img, x - text_width(&s, 2) as i64 / 2, y1 + 8, &s, 2, ink);
    }
    for t in ticks(ylo, yhi) {
        let y = py(t);
        for x in x0..=x1 {
            put(&mut img, x, y, grid);
        }
        for x in x0 - 5..x0 {
            put(&mut img, x, y, ink);
        }
        let s = label(t, yhi - ylo);
        draw_text(&mut img, x0 - 8 - text_width(&s, 2) as i64, y - 5, &s, 2, ink);
    }
    for x in x0..=x1 {
        put(&mut img, x, y1, ink);
    }
    for y in y0..=y1 {
        put(&mut img, x0, y, ink);
    }
    let xt = x0 + (x1 - x0) / 2 - text_width(x_title, 2) as i64 / 2;
    draw_text(&mut img, xt, y1 + 24, x_title, 2, ink);
    draw_text(&mut img, x0, 8, y_title, 2, ink);
    for (k, s) in series.iter().enumerate() {
        let c = COLORS[k % COLORS.len()];
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        for &(x, y) in &pts {
            disc(&mut img, px(x), py(y), 4, c, true);
        }
        if pts.len() > 1 {
            let n = pts.len() as f64;
            let (mx, my) = pts
                .iter()
                .fold((0.0, 0.0), |(a, b), p| (a + p.0 / n, b + p.1 / n));
            disc(&mut img, px(mx), py(my), 8, c, false);
            disc(&mut img, px(mx), py(my), 7, c, false);
        }
        let ly = h as i64 - legend_h + 14 * k as i64;
        disc(&mut img, x0 + 6, ly + 4, 4, c, true);
        draw_text(&mut img, x0 + 16, ly, &s.label, 2, ink);
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let t = ticks(0.0, 1.0);
        assert_eq!(t.len(), 6);
        assert!((t[3] - 0.6).abs() < 1e-12 && t[5] == 1.0);
        assert_eq!(label(t[3], 1.0), "0.60");
        let t = ticks(31.3, 58.0);
        assert_eq!((t[0], *t.last().unwrap()), (35.0, 55.0));
    }

    #[test]
    fn a_scatter_draws_points_and_text() {
        let s = [Series {
            label: "AD-FactorVAE".into(),
            points: vec![(30.0, 0.8), (32.0, 0.9), (f64::NAN, 1.0)],
        }];
        let img = scatter(&s, "RECON BCE", "FACTORVAE SCORE");
        let colored = img.pixels().filter(|p| p.0 == COLORS[0]).count();
        assert!(colored > 100, "{colored}");
        assert_eq!(text_width("AB", 2), 14);
    }
}
