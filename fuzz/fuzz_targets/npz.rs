//! The NumPy readers: `parse_npy` on the bytes, and `Npz` (a zip of `.npy` members) with
//! every member read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use vaecam_data::npz::{parse_npy, Npz};

fuzz_target!(|data: &[u8]| {
    let _ = parse_npy(data, "fuzz.npy");
    if let Ok(mut npz) = Npz::from_reader(std::io::Cursor::new(data), Path::new("fuzz.npz")) {
        for name in npz.names() {
            let _ = npz.array(&name);
        }
    }
});
