//! Small PNG plots drawn directly (no plotting dependency): ROC curves and scatter plots with
//! axes, ticks and a legend in a built-in 5x7 pixel font.

use image::{Rgb, RgbImage};

/// A series to draw.
pub struct Series<'a> {
    /// Legend label (upper-case letters, digits and `.-+=()/:%` render; others become spaces).
    pub label: &'a str,
    /// Colour.
    pub color: [u8; 3],
    /// Points in data coordinates.
    pub points: &'a [(f64, f64)],
}

/// Axis ranges and titles.
pub struct Axes<'a> {
    /// x range.
    pub x: (f64, f64),
    /// y range.
    pub y: (f64, f64),
    /// x title.
    pub x_title: &'a str,
    /// y title.
    pub y_title: &'a str,
}

/// Distinct colours for series.
pub const PALETTE: [[u8; 3]; 6] = [
    [214, 39, 40],
    [31, 119, 180],
    [44, 160, 44],
    [255, 127, 14],
    [148, 103, 189],
    [140, 86, 75],
];

const W: u32 = 560;
const H: u32 = 440;
const L: u32 = 60;
const R: u32 = 20;
const T: u32 = 20;
const B: u32 = 50;

fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        'A' => [14, 17, 17, 31, 17, 17, 17],
        'B' => [30, 17, 17, 30, 17, 17, 30],
        'C' => [14, 17, 16, 16, 16, 17, 14],
        'D' => [28, 18, 17, 17, 17, 18, 28],
        'E' => [31, 16, 16, 30, 16, 16, 31],
        'F' => [31, 16, 16, 30, 16, 16, 16],
        'G' => [14, 17, 16, 23, 17, 17, 15],
        'H' => [17, 17, 17, 31, 17, 17, 17],
        'I' => [14, 4, 4, 4, 4, 4, 14],
        'J' => [7, 2, 2, 2, 2, 18, 12],
        'K' => [17, 18, 20, 24, 20, 18, 17],
        'L' => [16, 16, 16, 16, 16, 16, 31],
        'M' => [17, 27, 21, 21, 17, 17, 17],
        'N' => [17, 17, 25, 21, 19, 17, 17],
        'O' => [14, 17, 17, 17, 17, 17, 14],
        'P' => [30, 17, 17, 30, 16, 16, 16],
        'Q' => [14, 17, 17, 17, 21, 18, 13],
        'R' => [30, 17, 17, 30, 20, 18, 17],
        'S' => [15, 16, 16, 14, 1, 1, 30],
        'T' => [31, 4, 4, 4, 4, 4, 4],
        'U' => [17, 17, 17, 17, 17, 17, 14],
        'V' => [17, 17, 17, 17, 17, 10, 4],
        'W' => [17, 17, 17, 21, 21, 21, 10],
        'X' => [17, 17, 10, 4, 10, 17, 17],
        'Y' => [17, 17, 17, 10, 4, 4, 4],
        'Z' => [31, 1, 2, 4, 8, 16, 31],
        '.' => [0, 0, 0, 0, 0, 12, 12],
        '-' => [0, 0, 0, 31, 0, 0, 0],
        '+' => [0, 4, 4, 31, 4, 4, 0],
        '=' => [0, 0, 31, 0, 31, 0, 0],
        '(' => [2, 4, 8, 8, 8, 4, 2],
        ')' => [8, 4, 2, 2, 2, 4, 8],
        '/' => [0, 1, 2, 4, 8, 16, 0],
        ':' => [0, 12, 12, 0, 12, 12, 0],
        '%' => [24, 25, 2, 4, 8, 19, 3],
        _ => [0; 7],
    }
}

/// Draws `text` with its top-left corner at (x, y).
pub fn text(img: &mut RgbImage, x: i64, y: i64, s: &str, color: [u8; 3]) {
    for (i, c) in s.chars().enumerate() {
        let g = glyph(c);
        for (row, bits) in g.iter().enumerate() {
            for col in 0..5 {
                if bits & (16 >> col) != 0 {
                    put(img, x + i as i64 * 6 + col, y + row as i64, color);
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

/// A line from (x0, y0) to (x1, y1), `thick` pixels wide.
pub fn line(
    img: &mut RgbImage,
    (x0, y0): (i64, i64),
    (x1, y1): (i64, i64),
    c: [u8; 3],
    thick: i64,
) {
    let n = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
    for s in 0..=n {
        let x = x0 + (x1 - x0) * s / n;
        let y = y0 + (y1 - y0) * s / n;
        for dx in 0..thick {
            for dy in 0..thick {
                put(img, x + dx - thick / 2, y + dy - thick / 2, c);
            }
        }
    }
}

fn frame(ax: &Axes) -> (RgbImage, impl Fn(f64, f64) -> (i64, i64)) {
    let mut img = RgbImage::from_pixel(W, H, Rgb([255, 255, 255]));
    let (pw, ph) = ((W - L - R) as f64, (H - T - B) as f64);
    let (x0, x1, y0, y1) = (ax.x.0, ax.x.1, ax.y.0, ax.y.1);
    let map = move |x: f64, y: f64| -> (i64, i64) {
        let px = L as f64 + (x - x0) / (x1 - x0).max(1e-12) * pw;
        let py = T as f64 + (1.0 - (y - y0) / (y1 - y0).max(1e-12)) * ph;
        (px.round() as i64, py.round() as i64)
    };
    for k in 0..=5 {
        let f = k as f64 / 5.0;
        let (gx, _) = map(x0 + f * (x1 - x0), y0);
        let (_, gy) = map(x0, y0 + f * (y1 - y0));
        line(
            &mut img,
            (gx, T as i64),
            (gx, (H - B) as i64),
            [230, 230, 230],
            1,
        );
        line(
            &mut img,
            (L as i64, gy),
            ((W - R) as i64, gy),
            [230, 230, 230],
            1,
        );
        let xl = fmt_tick(x0 + f * (x1 - x0));
        let yl = fmt_tick(y0 + f * (y1 - y0));
        text(
            &mut img,
            gx - 3 * xl.len() as i64,
            (H - B) as i64 + 6,
            &xl,
            [60, 60, 60],
        );
        text(
            &mut img,
            L as i64 - 6 - 6 * yl.len() as i64,
            gy - 3,
            &yl,
            [60, 60, 60],
        );
    }
    let corners = [(L, T), (W - R, T), (W - R, H - B), (L, H - B), (L, T)];
    for w in corners.windows(2) {
        line(
            &mut img,
            (w[0].0 as i64, w[0].1 as i64),
            (w[1].0 as i64, w[1].1 as i64),
            [0, 0, 0],
            1,
        );
    }
    text(
        &mut img,
        (L + (W - L - R) / 2) as i64 - 3 * ax.x_title.len() as i64,
        (H - 18) as i64,
        ax.x_title,
        [0, 0, 0],
    );
    // The y title goes above the axis: the font has no rotated form.
    text(&mut img, 4, 4, ax.y_title, [0, 0, 0]);
    (img, map)
}

fn fmt_tick(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn legend(img: &mut RgbImage, series: &[Series]) {
    for (i, s) in series.iter().enumerate() {
        let y = (H - B) as i64 - 14 - 12 * (series.len() - 1 - i) as i64;
        let x = (W - R) as i64 - 10 - 6 * s.label.len() as i64 - 18;
        line(img, (x, y + 3), (x + 12, y + 3), s.color, 3);
        text(img, x + 16, y, s.label, [0, 0, 0]);
    }
}

/// Curves (ROC-style) as polylines, with the chance diagonal when `diagonal`.
pub fn line_plot(ax: &Axes, series: &[Series], diagonal: bool) -> RgbImage {
    let (mut img, map) = frame(ax);
    if diagonal {
        line(
            &mut img,
            map(ax.x.0, ax.y.0),
            map(ax.x.1, ax.y.1),
            [170, 170, 170],
            1,
        );
    }
    for s in series {
        for w in s.points.windows(2) {
            line(
                &mut img,
                map(w[0].0, w[0].1),
                map(w[1].0, w[1].1),
                s.color,
                2,
            );
        }
    }
    legend(&mut img, series);
    img
}

/// Points as filled squares.
pub fn scatter(ax: &Axes, series: &[Series]) -> RgbImage {
    let (mut img, map) = frame(ax);
    for s in series {
        for &(x, y) in s.points {
            let (px, py) = map(x, y);
            for dx in -3..=3 {
                for dy in -3..=3 {
                    put(&mut img, px + dx, py + dy, s.color);
                }
            }
        }
    }
    legend(&mut img, series);
    img
}

/// A range covering `values` with 5% margins (a unit range around a single value).
pub fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(1e-9);
    if hi - lo < 1e-9 {
        return (lo - 0.5, hi + 0.5);
    }
    (lo - 0.05 * span, hi + 0.05 * span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_draw_their_series_in_their_colour() {
        let ax = Axes {
            x: (0.0, 1.0),
            y: (0.0, 1.0),
            x_title: "FPR",
            y_title: "TPR",
        };
        let pts = [(0.0, 0.0), (0.2, 0.8), (1.0, 1.0)];
        let img = line_plot(
            &ax,
            &[Series {
                label: "ATTENTION 0.91",
                color: PALETTE[0],
                points: &pts,
            }],
            true,
        );
        assert_eq!((img.width(), img.height()), (W, H));
        let red = img.pixels().filter(|p| p.0 == PALETTE[0]).count();
        assert!(red > 300, "curve drawn ({red} pixels)");
        let s = scatter(
            &ax,
            &[Series {
                label: "A",
                color: PALETTE[1],
                points: &[(0.5, 0.5)],
            }],
        );
        assert!(s.pixels().filter(|p| p.0 == PALETTE[1]).count() >= 49);
        assert_eq!(padded_range([2.0, 2.0].into_iter()), (1.5, 2.5));
    }
}
