//! Image file helpers shared by the loaders: decoding with errors that name the file,
//! resizing, and conversion to CHW f32 in [0, 1].
//!
//! Every loader reads the formats in [`IMAGE_EXTENSIONS`] (PNG, JPEG, BMP, TIFF, GIF).
//! Colour conversion when a file's layout differs from the model's ([`to_chw`]): an alpha
//! channel is dropped (the colour values are used as stored, not blended onto a
//! background, as PIL's `convert("RGB")` in the PyTorch pipelines does), colour becomes
//! one channel by sRGB luma (0.2126 R + 0.7152 G + 0.0722 B), and one channel becomes three
//! by repeating it.

use crate::error::{DataError, Result};
use image::imageops::FilterType;
use image::{DynamicImage, GrayImage};
use std::path::{Path, PathBuf};

/// File extensions (lowercase, no dot) of the image formats the loaders decode.
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "bmp", "tif", "tiff", "gif"];

/// The formats of [`IMAGE_EXTENSIONS`] in words, for messages.
pub const IMAGE_FORMATS: &str = "PNG, JPEG, BMP, TIFF or GIF";

/// Colour layout of loaded images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Channels {
    /// One channel (luma).
    Gray,
    /// Three channels (R, G, B).
    #[default]
    Rgb,
}

impl Channels {
    /// 1 or 3.
    pub fn count(self) -> usize {
        match self {
            Channels::Gray => 1,
            Channels::Rgb => 3,
        }
    }
}

fn format_name(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("png") => "PNG",
        Some("jpg") | Some("jpeg") => "JPEG",
        Some("tif") | Some("tiff") => "TIFF",
        Some("bmp") => "BMP",
        Some("gif") => "GIF",
        _ => "image",
    }
}

/// Decodes the image file at `path`; an undecodable file gives
/// [`DataError::CorruptImage`] naming it.
pub fn open_image(path: &Path) -> Result<DynamicImage> {
    if !path.is_file() {
        return Err(DataError::MissingFile {
            path: path.to_path_buf(),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode_image(&bytes, path)
}

/// The largest image side decoded, in pixels: far above any dataset vaecam reads, and low
/// enough that a tiny file declaring a huge image is refused at its header instead of being
/// decoded for minutes (found by the `image` fuzz target: a 146-byte JPEG declaring
/// 760 x 65527 px took 95 s).
pub const MAX_IMAGE_SIDE: u32 = 16_384;

/// Decodes an image file's bytes (the format is guessed from its first bytes, whatever the
/// name says); `path` names the file in errors. The decoder's default memory limit
/// (512 MiB) stands and sides above [`MAX_IMAGE_SIDE`] are refused, so a header declaring a
/// huge size is an error, not an allocation or a long decode.
pub fn decode_image(bytes: &[u8], path: &Path) -> Result<DynamicImage> {
    let corrupt = |message: String| DataError::CorruptImage {
        format: format_name(path),
        path: path.to_path_buf(),
        message,
    };
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    check_png_palette(bytes).map_err(corrupt)?;
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DataError::io(path, e))?;
    reader.limits(limits);
    // A decoder bug must not take the program down with it: a panic inside a decoder is
    // this file's error (with panic=unwind; the fuzz targets abort instead, to find them).
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.decode())) {
        // An empty image (a GIF declaring height 0 decodes; found by the image fuzz target)
        // has no pixels to normalise, resize or score: it is a bad file, said at the door.
        Ok(Ok(img)) if img.width() == 0 || img.height() == 0 => Err(corrupt(format!(
            "the image is {} x {} pixels (empty)",
            img.width(),
            img.height()
        ))),
        Ok(decoded) => decoded.map_err(|e| corrupt(e.to_string())),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            Err(corrupt(format!("the image decoder failed on it ({what})")))
        }
    }
}

/// A PNG palette (`PLTE`) holds whole RGB entries. The png decoder (0.18) panics on one whose
/// length is not a multiple of 3 (found by the `image` fuzz target: a 172-byte file with a
/// 62-byte palette), so such a file is refused here. Only the chunks before the image data
/// are read (the palette must come first); anything else is left to the decoder.
fn check_png_palette(bytes: &[u8]) -> std::result::Result<(), String> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(SIGNATURE) {
        return Ok(());
    }
    let mut at = SIGNATURE.len();
    while let Some(header) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        match &header[4..8] {
            b"PLTE" if !len.is_multiple_of(3) => {
                return Err(format!(
                    "its palette (PLTE chunk) holds {len} bytes, not whole RGB entries \
                     (a multiple of 3)"
                ))
            }
            b"IDAT" | b"IEND" => break,
            _ => {}
        }
        // Chunk = length, type, data, CRC.
        at = at.saturating_add(12).saturating_add(len);
    }
    Ok(())
}

/// The colour layout of a decoded file in words ("RGBA", "grayscale", "16-bit RGB", ...),
/// for messages that say what a file holds.
pub fn color_name(color: image::ColorType) -> String {
    use image::ColorType as C;
    let (layout, bits) = match color {
        C::L8 => ("grayscale", 8),
        C::La8 => ("grayscale with alpha", 8),
        C::Rgb8 => ("RGB", 8),
        C::Rgba8 => ("RGBA", 8),
        C::L16 => ("grayscale", 16),
        C::La16 => ("grayscale with alpha", 16),
        C::Rgb16 => ("RGB", 16),
        C::Rgba16 => ("RGBA", 16),
        C::Rgb32F => ("RGB", 32),
        C::Rgba32F => ("RGBA", 32),
        // `ColorType` is non-exhaustive: a layout added later is still named.
        other => return format!("{other:?}"),
    };
    match bits {
        8 => layout.to_string(),
        32 => format!("32-bit float {layout}"),
        b => format!("{b}-bit {layout}"),
    }
}

/// Converts an image to CHW f32 in [0, 1], resized (bilinear) to `size` = (width, height)
/// when given. An alpha channel is dropped and colour is converted as the module
/// documentation says.
pub fn to_chw(img: &DynamicImage, channels: Channels, size: Option<(u32, u32)>) -> Vec<f32> {
    let img = match size {
        Some((w, h)) if (w, h) != (img.width(), img.height()) => {
            img.resize_exact(w, h, FilterType::Triangle)
        }
        _ => img.clone(),
    };
    match channels {
        Channels::Gray => img.to_luma8().iter().map(|&v| v as f32 / 255.0).collect(),
        Channels::Rgb => {
            let rgb = img.to_rgb8();
            let (w, h) = (rgb.width() as usize, rgb.height() as usize);
            let mut out = vec![0f32; 3 * w * h];
            for (i, p) in rgb.pixels().enumerate() {
                for c in 0..3 {
                    out[c * w * h + i] = p[c] as f32 / 255.0;
                }
            }
            out
        }
    }
}

/// A binary mask (values in {0, 1}, row-major) from a mask image: a pixel is on when its
/// luma is non-zero (MVTec stores 255, other tools 1). Resized to `size` = (width, height)
/// by area: a target pixel is on when any source pixel it covers is on, so a one-pixel
/// scratch survives downsampling (nearest neighbour would drop most of it).
pub fn to_mask(img: &DynamicImage, size: Option<(u32, u32)>) -> Vec<u8> {
    let g: GrayImage = img.to_luma8();
    let (sw, sh) = g.dimensions();
    let (tw, th) = size.unwrap_or((sw, sh));
    if (tw, th) == (sw, sh) {
        return g.iter().map(|&v| (v > 0) as u8).collect();
    }
    if sw == 0 || sh == 0 {
        // No source pixel is on (decode_image refuses such files; an image built in memory
        // may still be empty).
        return vec![0; tw as usize * th as usize];
    }
    // The source span [lo, hi) covered by target cell i of n over a side of src pixels.
    let span = |i: u32, n: u32, src: u32| -> (u32, u32) {
        let lo = (i as u64 * src as u64 / n as u64) as u32;
        let hi = ((i as u64 + 1) * src as u64).div_ceil(n as u64) as u32;
        (lo.min(src - 1), hi.clamp(lo + 1, src))
    };
    let mut out = Vec::with_capacity((tw * th) as usize);
    for ty in 0..th {
        let (y0, y1) = span(ty, th, sh);
        for tx in 0..tw {
            let (x0, x1) = span(tx, tw, sw);
            let on = (y0..y1).any(|y| (x0..x1).any(|x| g.get_pixel(x, y)[0] > 0));
            out.push(on as u8);
        }
    }
    out
}

/// Files in `dir` with one of the extensions `exts` (lowercase, no dot), sorted by name.
pub fn list_files(dir: &Path, exts: &[&str]) -> Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let p = entry.map_err(|e| DataError::io(dir, e))?.path();
        let ok = p.is_file()
            && p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()));
        if ok {
            v.push(p);
        }
    }
    v.sort();
    Ok(v)
}

/// The image files of `dir` (every extension of [`IMAGE_EXTENSIONS`]), sorted by name.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    list_files(dir, IMAGE_EXTENSIONS)
}

/// The image file `dir/STEM.EXT` for an extension of [`IMAGE_EXTENSIONS`] in lower or
/// upper case, the first in that list's order when several exist.
pub fn find_image(dir: &Path, stem: &str) -> Option<PathBuf> {
    // One stat per candidate rather than a folder listing per lookup: a defect folder
    // with n images would otherwise cost n listings.
    IMAGE_EXTENSIONS
        .iter()
        .flat_map(|e| [e.to_string(), e.to_ascii_uppercase()])
        .map(|e| dir.join(format!("{stem}.{e}")))
        .find(|p| p.is_file())
}

/// A one-line account of the files in `dir` by extension, such as "3 files: .txt, .webp",
/// or "no files": what a folder that should hold images holds instead.
pub fn describe_files(dir: &Path) -> Result<String> {
    let mut others = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let p = entry.map_err(|e| DataError::io(dir, e))?.path();
        if p.is_file() {
            others += 1;
            kinds.insert(match p.extension() {
                Some(e) => format!(".{}", e.to_string_lossy()),
                None => "no extension".to_string(),
            });
        }
    }
    Ok(match others {
        0 => "no files".to_string(),
        n => format!(
            "{n} file{}: {}",
            if n == 1 { "" } else { "s" },
            kinds.into_iter().collect::<Vec<_>>().join(", ")
        ),
    })
}

/// Sub-folders of `dir`, sorted by name.
pub fn list_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let p = entry.map_err(|e| DataError::io(dir, e))?.path();
        if p.is_dir() {
            v.push(p);
        }
    }
    v.sort();
    Ok(v)
}

/// Saves a grayscale image as PNG, creating parent folders.
pub fn save_gray_png(img: &GrayImage, path: &Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
    }
    img.save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| DataError::WriteImage {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}
