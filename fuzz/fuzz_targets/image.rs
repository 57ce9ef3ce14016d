//! The image reader (PNG first; the format is guessed from the bytes, so JPEG, BMP, TIFF and
//! GIF are reached too) and the conversions every loader applies after it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use vaecam_data::imageio::{decode_image, to_chw, to_mask};
use vaecam_data::Channels;

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = decode_image(data, Path::new("fuzz.png")) {
        let _ = to_chw(&img, Channels::Rgb, None);
        let _ = to_chw(&img, Channels::Gray, Some((16, 16)));
        let _ = to_mask(&img, Some((8, 8)));
    }
});
