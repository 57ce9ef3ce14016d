//! Procedural textures and the noise they are built from (seeded Perlin gradient noise
//! and fractal Brownian motion); no files needed.

use crate::error::{DataError, Result};
use crate::rng::Rng;
use image::GrayImage;

/// A grayscale float image (row-major, values nominally in [0, 1]).
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    /// Width in pixels.
    pub w: usize,
    /// Height in pixels.
    pub h: usize,
    /// `w·h` values, row-major.
    pub data: Vec<f32>,
}

impl Plane {
    /// A plane filled with `v`.
    pub fn filled(w: usize, h: usize, v: f32) -> Plane {
        Plane {
            w,
            h,
            data: vec![v; w * h],
        }
    }

    /// Value at column `x`, row `y`.
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.w + x]
    }

    /// The `w x h` crop with top-left corner (`x0`, `y0`).
    pub fn crop(&self, x0: usize, y0: usize, w: usize, h: usize) -> Plane {
        assert!(x0 + w <= self.w && y0 + h <= self.h, "crop out of bounds");
        let mut data = Vec::with_capacity(w * h);
        for y in y0..y0 + h {
            data.extend_from_slice(&self.data[y * self.w + x0..y * self.w + x0 + w]);
        }
        Plane { w, h, data }
    }

    /// Converts to an 8-bit image (clamped to [0, 1], rounded).
    pub fn to_gray(&self) -> GrayImage {
        let bytes = self
            .data
            .iter()
            .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        GrayImage::from_raw(self.w as u32, self.h as u32, bytes).expect("sizes match")
    }

    /// From an 8-bit image (values / 255).
    pub fn from_gray(img: &GrayImage) -> Plane {
        Plane {
            w: img.width() as usize,
            h: img.height() as usize,
            data: img.iter().map(|&v| v as f32 / 255.0).collect(),
        }
    }
}

/// Seeded 2-D Perlin gradient noise.
#[derive(Clone, Debug)]
pub struct Perlin {
    perm: [u8; 512],
}

fn fade(t: f32) -> f32 {
    t * t * t * (t * (t * 6.0 - 15.0) + 10.0)
}

impl Perlin {
    /// Noise with a permutation table drawn from `seed`.
    pub fn new(seed: u64) -> Perlin {
        let mut p: Vec<u8> = (0..=255u8).collect();
        Rng::new(seed).shuffle(&mut p);
        let mut perm = [0u8; 512];
        for i in 0..512 {
            perm[i] = p[i & 255];
        }
        Perlin { perm }
    }

    fn grad(&self, ix: i32, iy: i32, dx: f32, dy: f32) -> f32 {
        let h = self.perm[(self.perm[(ix & 255) as usize] as usize + (iy & 255) as usize) & 511];
        const S: f32 = std::f32::consts::FRAC_1_SQRT_2;
        let (gx, gy) = match h & 7 {
            0 => (1.0, 0.0),
            1 => (-1.0, 0.0),
            2 => (0.0, 1.0),
            3 => (0.0, -1.0),
            4 => (S, S),
            5 => (-S, S),
            6 => (S, -S),
            _ => (-S, -S),
        };
        gx * dx + gy * dy
    }

    /// Noise at (`x`, `y`), roughly in [-1, 1]; features about one unit across.
    pub fn noise(&self, x: f32, y: f32) -> f32 {
        let (fx, fy) = (x.floor(), y.floor());
        let (ix, iy) = (fx as i32, fy as i32);
        let (dx, dy) = (x - fx, y - fy);
        let (u, v) = (fade(dx), fade(dy));
        let n00 = self.grad(ix, iy, dx, dy);
        let n10 = self.grad(ix + 1, iy, dx - 1.0, dy);
        let n01 = self.grad(ix, iy + 1, dx, dy - 1.0);
        let n11 = self.grad(ix + 1, iy + 1, dx - 1.0, dy - 1.0);
        let a = n00 + u * (n10 - n00);
        let b = n01 + u * (n11 - n01);
        (a + v * (b - a)) * std::f32::consts::SQRT_2
    }

    /// Fractal sum of `octaves` octaves (each twice the frequency, half the amplitude),
    /// normalised to roughly [-1, 1].
    pub fn fbm(&self, x: f32, y: f32, octaves: u32) -> f32 {
        let (mut sum, mut amp, mut freq, mut norm) = (0.0, 1.0, 1.0, 0.0);
        for o in 0..octaves {
            // Offset each octave so that lattice points do not line up.
            let off = o as f32 * 17.31;
            sum += amp * self.noise(x * freq + off, y * freq - off);
            norm += amp;
            amp *= 0.5;
            freq *= 2.0;
        }
        sum / norm
    }
}

/// The built-in procedural texture kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextureKind {
    /// Interlaced threads in a plain weave.
    Woven,
    /// Growth rings of a wood cut, warped by noise, with fine grain.
    Wood,
    /// Square tiles of varying shade separated by dark grout lines.
    Tiles,
    /// Carpet-like multi-scale noise with fibre speckle.
    Carpet,
}

impl TextureKind {
    /// All kinds, in a fixed order.
    pub const ALL: [TextureKind; 4] = [
        TextureKind::Woven,
        TextureKind::Wood,
        TextureKind::Tiles,
        TextureKind::Carpet,
    ];

    /// The category name: `woven`, `wood`, `tiles`, `carpet`.
    pub fn name(self) -> &'static str {
        match self {
            TextureKind::Woven => "woven",
            TextureKind::Wood => "wood",
            TextureKind::Tiles => "tiles",
            TextureKind::Carpet => "carpet",
        }
    }

    /// The kind called `name` (see [`TextureKind::name`]).
    pub fn from_name(name: &str) -> Result<TextureKind> {
        TextureKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                DataError::invalid(
                    "procedural texture",
                    format!("{name:?} is not one of woven, wood, tiles, carpet"),
                )
            })
    }
}

/// A `w x h` float texture of `kind` from `seed` (values in [0, 1]).
pub fn procedural_plane(kind: TextureKind, w: usize, h: usize, seed: u64) -> Plane {
    let mut rng = Rng::new(seed);
    let perlin = Perlin::new(rng.next_u64());
    let mut out = Plane::filled(w, h, 0.0);
    match kind {
        TextureKind::Woven => {
            let p = rng.range_f32(9.0, 14.0);
            let base = rng.range_f32(0.3, 0.45);
            for y in 0..h {
                for x in 0..w {
                    let (fx, fy) = (x as f32 / p, y as f32 / p);
                    let (i, j) = (fx.floor() as i64, fy.floor() as i64);
                    let horizontal_on_top = (i + j).rem_euclid(2) == 0;
                    // Across-thread position in [0, 1] and a rounded thread profile.
                    let t = if horizontal_on_top {
                        fy.fract()
                    } else {
                        fx.fract()
                    };
                    let along = if horizontal_on_top { fx } else { fy };
                    let profile = (std::f32::consts::PI * t).sin().max(0.0).powf(0.6);
                    let fibre =
                        0.06 * perlin.noise(along * 6.0, t * 2.0 + (i * 31 + j * 17) as f32);
                    let v = base
                        + 0.45 * profile
                        + fibre
                        + 0.04 * perlin.fbm(x as f32 / 30.0, y as f32 / 30.0, 2);
                    out.data[y * w + x] = v;
                }
            }
        }
        TextureKind::Wood => {
            let cx = -rng.range_f32(0.3, 0.8) * w as f32;
            let cy = rng.range_f32(0.2, 0.8) * h as f32;
            let spacing = rng.range_f32(7.0, 11.0);
            for y in 0..h {
                for x in 0..w {
                    let (xf, yf) = (x as f32, y as f32);
                    let warp = 5.0 * perlin.fbm(xf / 60.0, yf / 60.0, 3);
                    let d = ((xf - cx).powi(2) + (yf - cy).powi(2)).sqrt() + warp;
                    let ring = (d / spacing).fract();
                    let ring = (ring * ring * (3.0 - 2.0 * ring)).powf(2.0);
                    let grain = 0.05 * perlin.noise(xf / 2.0, yf / 14.0);
                    out.data[y * w + x] = 0.42 + 0.25 * ring + grain;
                }
            }
        }
        TextureKind::Tiles => {
            let tile = rng.range_f32(22.0, 34.0);
            let grout = rng.range_f32(2.0, 3.5);
            let shades: Vec<f32> = (0..4096).map(|_| rng.range_f32(0.5, 0.75)).collect();
            for y in 0..h {
                for x in 0..w {
                    let (xf, yf) = (x as f32, y as f32);
                    let (i, j) = ((xf / tile).floor() as i64, (yf / tile).floor() as i64);
                    let (u, v) = (xf - i as f32 * tile, yf - j as f32 * tile);
                    let in_grout = u < grout || v < grout;
                    let speck = 0.03 * perlin.fbm(xf / 4.0, yf / 4.0, 2);
                    out.data[y * w + x] = if in_grout {
                        0.18 + speck
                    } else {
                        let k = ((i * 73 + j * 131).rem_euclid(4096)) as usize;
                        shades[k] + 0.05 * perlin.fbm(xf / 16.0, yf / 16.0, 3) + speck
                    };
                }
            }
        }
        TextureKind::Carpet => {
            for y in 0..h {
                for x in 0..w {
                    let (xf, yf) = (x as f32, y as f32);
                    let v = 0.5
                        + 0.15 * perlin.fbm(xf / 12.0, yf / 12.0, 4)
                        + 0.08 * perlin.noise(xf / 2.5, yf / 2.5)
                        + 0.06 * (rng.f32() - 0.5);
                    out.data[y * w + x] = v;
                }
            }
        }
    }
    for v in &mut out.data {
        *v = v.clamp(0.0, 1.0);
    }
    out
}

/// A `size x size` 8-bit grayscale texture of `kind` from `seed`.
pub fn procedural_texture(kind: TextureKind, size: u32, seed: u64) -> GrayImage {
    procedural_plane(kind, size as usize, size as usize, seed).to_gray()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textures_are_deterministic_and_varied() {
        for kind in TextureKind::ALL {
            let a = procedural_texture(kind, 64, 5);
            let b = procedural_texture(kind, 64, 5);
            let c = procedural_texture(kind, 64, 6);
            assert_eq!(a, b, "{kind:?}");
            assert_ne!(a, c, "{kind:?}");
            let mean = a.iter().map(|&v| v as f32).sum::<f32>() / 4096.0;
            let var = a.iter().map(|&v| (v as f32 - mean).powi(2)).sum::<f32>() / 4096.0;
            assert!(var.sqrt() > 5.0, "{kind:?} is flat: std {}", var.sqrt());
            assert!((30.0..230.0).contains(&mean), "{kind:?} mean {mean}");
        }
    }

    #[test]
    fn perlin_range() {
        let p = Perlin::new(1);
        let mut lo: f32 = 0.0;
        let mut hi: f32 = 0.0;
        for i in 0..10_000 {
            let v = p.noise(i as f32 * 0.137, i as f32 * 0.071);
            lo = lo.min(v);
            hi = hi.max(v);
        }
        assert!(lo >= -1.01 && hi <= 1.01 && hi - lo > 0.8, "{lo} {hi}");
        assert_eq!(p.noise(3.0, 4.0), 0.0);
    }
}
