//! Defects drawn on a grayscale crop, each with its exact mask.
//!
//! Every defect is an opacity map `alpha` in [0, 1] and a target value per pixel:
//! `out = (1 - alpha)·image + alpha·target`. The ground-truth mask is exactly the set of
//! pixels with `alpha >= 0.5`, so soft rims fade out where the mask ends.

use super::textures::{procedural_plane, Perlin, Plane, TextureKind};
use crate::error::{DataError, Result};
use crate::rng::Rng;

/// The six defect types of the synthetic benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefectKind {
    /// A thin bright or dark polyline.
    Scratch,
    /// A dark ellipse with a soft rim.
    Hole,
    /// A Perlin-thresholded blob with an intensity shift.
    Stain,
    /// A dark random-walk line.
    Crack,
    /// A rectangular patch of the same image, moved from elsewhere (and flipped).
    CutPaste,
    /// Another texture blended inside a Perlin-shaped mask.
    Contamination,
}

impl DefectKind {
    /// All six, in a fixed order.
    pub const ALL: [DefectKind; 6] = [
        DefectKind::Scratch,
        DefectKind::Hole,
        DefectKind::Stain,
        DefectKind::Crack,
        DefectKind::CutPaste,
        DefectKind::Contamination,
    ];

    /// The folder name: `scratch`, `hole`, `stain`, `crack`, `cut_paste`, `contamination`.
    pub fn name(self) -> &'static str {
        match self {
            DefectKind::Scratch => "scratch",
            DefectKind::Hole => "hole",
            DefectKind::Stain => "stain",
            DefectKind::Crack => "crack",
            DefectKind::CutPaste => "cut_paste",
            DefectKind::Contamination => "contamination",
        }
    }

    /// The kind called `name` (see [`DefectKind::name`]).
    pub fn from_name(name: &str) -> Result<DefectKind> {
        DefectKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                DataError::invalid(
                    "defect type",
                    format!(
                        "{name:?} is not one of scratch, hole, stain, crack, cut_paste, contamination"
                    ),
                )
            })
    }
}

/// Smallest defect area (pixels) accepted; smaller draws are redrawn.
const MIN_AREA: usize = 8;

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Distance from point p to segment a-b.
fn seg_dist(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((p.0 - a.0 - t * dx).powi(2) + (p.1 - a.1 - t * dy).powi(2)).sqrt()
}

/// Draws one defect of `kind` on `img` (a square crop) and returns its mask (1 = defect).
///
/// `source` is the image region the crop came from (used by cut-paste for the patch);
/// `foreign` is the texture kind blended in by contamination.
pub fn draw_defect(
    img: &mut Plane,
    kind: DefectKind,
    source: &Plane,
    foreign: TextureKind,
    rng: &mut Rng,
) -> Vec<u8> {
    // Redraw defects that came out too small: at least MIN_AREA pixels for 20 tries,
    // then at least one pixel (tiny images); never loops forever.
    for attempt in 0..100 {
        let (alpha, target) = defect_layers(img, kind, source, foreign, rng);
        let area = alpha.iter().filter(|&&a| a >= 0.5).count();
        let needed = if attempt < 20 { MIN_AREA } else { 1 };
        if area >= needed || attempt == 99 {
            for i in 0..img.data.len() {
                let a = alpha[i];
                if a > 0.0 {
                    img.data[i] = ((1.0 - a) * img.data[i] + a * target[i]).clamp(0.0, 1.0);
                }
            }
            return alpha.iter().map(|&a| (a >= 0.5) as u8).collect();
        }
    }
    unreachable!("the last attempt always returns")
}

fn defect_layers(
    img: &Plane,
    kind: DefectKind,
    source: &Plane,
    foreign: TextureKind,
    rng: &mut Rng,
) -> (Vec<f32>, Vec<f32>) {
    let (w, h) = (img.w, img.h);
    let n = w.min(h) as f32;
    let mut alpha = vec![0f32; w * h];
    let mut target = img.data.clone();
    let margin = 0.15 * n;
    let rand_pt = |rng: &mut Rng| {
        (
            rng.range_f32(margin, w as f32 - margin),
            rng.range_f32(margin, h as f32 - margin),
        )
    };
    match kind {
        DefectKind::Scratch => {
            let mut pts = vec![rand_pt(rng)];
            let mut ang = rng.range_f32(0.0, std::f32::consts::TAU);
            let segs = 2 + rng.below(4);
            for _ in 0..segs {
                ang += rng.range_f32(-0.6, 0.6);
                let len = rng.range_f32(0.08, 0.2) * n;
                let last = *pts.last().unwrap();
                pts.push((last.0 + len * ang.cos(), last.1 + len * ang.sin()));
            }
            let half = rng.range_f32(0.6, 1.3);
            let value = if rng.chance(0.5) {
                rng.range_f32(0.85, 1.0)
            } else {
                rng.range_f32(0.0, 0.12)
            };
            for y in 0..h {
                for x in 0..w {
                    let p = (x as f32 + 0.5, y as f32 + 0.5);
                    let d = pts
                        .windows(2)
                        .map(|s| seg_dist(p, s[0], s[1]))
                        .fold(f32::MAX, f32::min);
                    let a = 1.0 - smoothstep(half, half + 1.0, d);
                    alpha[y * w + x] = a;
                    target[y * w + x] = value;
                }
            }
        }
        DefectKind::Hole => {
            let (cx, cy) = rand_pt(rng);
            let (ra, rb) = (rng.range_f32(0.05, 0.12) * n, rng.range_f32(0.04, 0.1) * n);
            let th = rng.range_f32(0.0, std::f32::consts::PI);
            let (s, c) = th.sin_cos();
            let depth = rng.range_f32(0.02, 0.12);
            for y in 0..h {
                for x in 0..w {
                    let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
                    let (u, v) = (c * dx + s * dy, -s * dx + c * dy);
                    let rho = ((u / ra).powi(2) + (v / rb).powi(2)).sqrt();
                    // Fully dark inside, a soft rim from rho 0.8 to 1.4.
                    alpha[y * w + x] = 1.0 - smoothstep(0.8, 1.4, rho);
                    target[y * w + x] = depth + 0.1 * rho.min(1.0);
                }
            }
        }
        DefectKind::Stain | DefectKind::Contamination => {
            let perlin = Perlin::new(rng.next_u64());
            let (cx, cy) = rand_pt(rng);
            let r = rng.range_f32(0.1, 0.2) * n;
            let freq = rng.range_f32(2.0, 4.0) / r;
            let threshold = rng.range_f32(0.2, 0.35);
            let (max_alpha, fill) = if kind == DefectKind::Stain {
                (1.0, None)
            } else {
                let mut tex = procedural_plane(foreign, w, h, rng.next_u64());
                let shift = if rng.chance(0.5) { 0.25 } else { -0.25 };
                for v in &mut tex.data {
                    *v = (*v + shift).clamp(0.0, 1.0);
                }
                (rng.range_f32(0.75, 0.95), Some(tex))
            };
            let shift = if rng.chance(0.5) {
                rng.range_f32(0.15, 0.35)
            } else {
                -rng.range_f32(0.15, 0.35)
            };
            for y in 0..h {
                for x in 0..w {
                    let (xf, yf) = (x as f32 + 0.5, y as f32 + 0.5);
                    let d = ((xf - cx).powi(2) + (yf - cy).powi(2)).sqrt() / r;
                    // A cone with a noisy edge; zero far out, so no stray specks.
                    let blob = if d >= 1.5 {
                        0.0
                    } else {
                        (1.0 - d) + 0.35 * perlin.fbm(xf * freq, yf * freq, 3)
                    };
                    let a = max_alpha * smoothstep(threshold - 0.05, threshold + 0.05, blob);
                    let i = y * w + x;
                    alpha[i] = a;
                    target[i] = match &fill {
                        Some(tex) => tex.data[i],
                        None => img.data[i] + shift,
                    };
                }
            }
        }
        DefectKind::Crack => {
            let (mut x, mut y) = rand_pt(rng);
            let mut ang = rng.range_f32(0.0, std::f32::consts::TAU);
            let steps = (rng.range_f32(0.3, 0.6) * n) as usize;
            let value = rng.range_f32(0.0, 0.1);
            for _ in 0..steps {
                ang += rng.range_f32(-0.5, 0.5);
                x += ang.cos();
                y += ang.sin();
                if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
                    break;
                }
                let i = y as usize * w + x as usize;
                alpha[i] = 1.0;
                target[i] = value;
                // Occasionally widen the crack by one pixel.
                if rng.chance(0.3) && (x as usize) + 1 < w {
                    alpha[i + 1] = 1.0;
                    target[i + 1] = value;
                }
            }
        }
        DefectKind::CutPaste => {
            let pw = (rng.range_f32(0.12, 0.25) * n) as usize;
            let ph = (rng.range_f32(0.12, 0.25) * n) as usize;
            let (dx0, dy0) = (rng.below(w - pw), rng.below(h - ph));
            let (sx0, sy0) = (rng.below(source.w - pw), rng.below(source.h - ph));
            let flip_h = rng.chance(0.5);
            let gain = 1.0 + rng.range_f32(0.1, 0.2) * if rng.chance(0.5) { 1.0 } else { -1.0 };
            for y in 0..ph {
                for x in 0..pw {
                    let sx = if flip_h { pw - 1 - x } else { x };
                    // Always flipped vertically, so the patch never matches its surroundings.
                    let sy = ph - 1 - y;
                    let i = (dy0 + y) * w + dx0 + x;
                    alpha[i] = 1.0;
                    target[i] = source.at(sx0 + sx, sy0 + sy) * gain;
                }
            }
        }
    }
    (alpha, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_defect_changes_the_masked_pixels() {
        let base = procedural_plane(TextureKind::Carpet, 64, 64, 3);
        for (k, kind) in DefectKind::ALL.into_iter().enumerate() {
            let mut img = base.clone();
            let mut rng = Rng::new(k as u64);
            let mask = draw_defect(&mut img, kind, &base, TextureKind::Tiles, &mut rng);
            let area = mask.iter().filter(|&&m| m == 1).count();
            assert!(
                (MIN_AREA..64 * 64 / 2).contains(&area),
                "{kind:?} area {area}"
            );
            let changed_inside = mask
                .iter()
                .zip(img.data.iter().zip(&base.data))
                .filter(|(&m, (a, b))| m == 1 && (*a - *b).abs() > 1e-3)
                .count();
            assert!(
                changed_inside * 2 > area,
                "{kind:?}: {changed_inside} of {area} changed"
            );
            assert_eq!(DefectKind::from_name(kind.name()).unwrap(), kind);
        }
    }
}
