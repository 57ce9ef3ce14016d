//! PNG pictures: image grids, the jet colour map and attention overlays.

use crate::error::{Error, Result};
use image::{Rgb, RgbImage};
use std::path::Path;

/// An image as CHW f32 values in [0, 1] (C = 1 or 3).
#[derive(Clone, Copy, Debug)]
pub struct Chw<'a> {
    /// The values.
    pub data: &'a [f32],
    /// Channels.
    pub c: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
}

impl Chw<'_> {
    /// The RGB pixel at (row, col), clamped to [0, 1].
    pub fn rgb(&self, r: usize, col: usize) -> [u8; 3] {
        let px = |ch: usize| {
            (self.data[(ch * self.h + r) * self.w + col].clamp(0.0, 1.0) * 255.0).round() as u8
        };
        if self.c >= 3 {
            [px(0), px(1), px(2)]
        } else {
            let g = px(0);
            [g, g, g]
        }
    }
}

/// Tiles equally sized RGB images into rows of `cols`, with a 2-pixel dark gap.
pub fn grid(tiles: &[RgbImage], cols: usize) -> RgbImage {
    let Some(first) = tiles.first() else {
        return RgbImage::new(1, 1);
    };
    let (tw, th) = (first.width(), first.height());
    let cols = cols.max(1).min(tiles.len()) as u32;
    let rows = tiles.len().div_ceil(cols as usize) as u32;
    let gap = 2;
    let mut out = RgbImage::from_pixel(
        cols * (tw + gap) + gap,
        rows * (th + gap) + gap,
        Rgb([24, 24, 24]),
    );
    for (i, t) in tiles.iter().enumerate() {
        let (x0, y0) = (
            gap + (i as u32 % cols) * (tw + gap),
            gap + (i as u32 / cols) * (th + gap),
        );
        for (x, y, p) in t.enumerate_pixels() {
            out.put_pixel(x0 + x, y0 + y, *p);
        }
    }
    out
}

/// A CHW image as an RGB picture.
pub fn to_rgb(img: Chw) -> RgbImage {
    RgbImage::from_fn(img.w as u32, img.h as u32, |x, y| {
        Rgb(img.rgb(y as usize, x as usize))
    })
}

/// MATLAB's jet colour map at t in [0, 1] (blue -> cyan -> yellow -> red).
pub fn jet(t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let ch = |off: f32| ((1.5 - (4.0 * t - off).abs()).clamp(0.0, 1.0) * 255.0).round() as u8;
    [ch(3.0), ch(2.0), ch(1.0)]
}

/// Min-max normalises a map to [0, 1] (a constant map becomes zeros).
pub fn normalize(map: &[f32]) -> Vec<f32> {
    let (lo, hi) = map
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let span = hi - lo;
    map.iter()
        .map(|&v| if span > 0.0 { (v - lo) / span } else { 0.0 })
        .collect()
}

/// A heat map (h x w values, normalised per image) in jet, blended over the image with `alpha`.
pub fn overlay(img: Chw, map: &[f32], alpha: f32) -> RgbImage {
    let m = normalize(map);
    RgbImage::from_fn(img.w as u32, img.h as u32, |x, y| {
        let (r, c) = (y as usize, x as usize);
        let base = img.rgb(r, c);
        let heat = jet(m[r * img.w + c]);
        Rgb(std::array::from_fn(|k| {
            (alpha * heat[k] as f32 + (1.0 - alpha) * base[k] as f32).round() as u8
        }))
    })
}

/// A heat map alone, in jet.
pub fn heat(map: &[f32], h: usize, w: usize) -> RgbImage {
    let m = normalize(map);
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        Rgb(jet(m[y as usize * w + x as usize]))
    })
}

/// Saves a PNG, creating the folder.
pub fn save(img: &RgbImage, path: &Path) -> Result<()> {
    check_png_path(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            msg: e.to_string(),
        })?;
    }
    // Encode in memory, then rename into place: a failure never leaves a truncated file
    // where the user's file was.
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| Error::Io {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })?;
    vaecam_tensor::io::write_atomic(path, bytes.get_ref()).map_err(Error::from)
}

/// Refuses an output path whose extension is not `.png` (the only format written), before
/// anything is opened for writing.
pub fn check_png_path(path: &Path) -> Result<()> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    if ext.as_deref() != Some("png") {
        return Err(Error::Usage(format!(
            "{}: pictures are written as PNG only; name the output *.png",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jet_runs_blue_to_red() {
        assert_eq!(jet(0.0), [0, 0, 128]);
        assert_eq!(jet(1.0), [128, 0, 0]);
        assert_eq!(jet(0.5), [128, 255, 128]);
    }

    #[test]
    fn grid_places_tiles() {
        let a = RgbImage::from_pixel(3, 2, Rgb([255, 0, 0]));
        let g = grid(&[a.clone(), a.clone(), a], 2);
        assert_eq!((g.width(), g.height()), (2 * 5 + 2, 2 * 4 + 2));
        assert_eq!(g.get_pixel(2, 2), &Rgb([255, 0, 0]));
        assert_eq!(g.get_pixel(7, 6), &Rgb([24, 24, 24]));
    }
}
