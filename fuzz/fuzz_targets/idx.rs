//! The MNIST idx reader, as images and as labels.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use vaecam_data::mnist::{parse_idx_images, parse_idx_labels};

fuzz_target!(|data: &[u8]| {
    let _ = parse_idx_images(data, Path::new("fuzz-images-idx3-ubyte"));
    let _ = parse_idx_labels(data, Path::new("fuzz-labels-idx1-ubyte"));
});
