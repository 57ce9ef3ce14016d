//! The architecture-file parser and validator (shape inference over every layer).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(file) = vaecam_vae::archfile::parse(text, Some(Path::new("fuzz.arch.json"))) {
            // A file that validates must also serialise back.
            let _ = file.to_json();
        }
    }
});
