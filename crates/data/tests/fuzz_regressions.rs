//! Inputs that once made a reader panic or wrap around (found by reading the code for the
//! fuzz targets of fuzz/): each must now be a one-line error.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use vaecam_data::mnist::{parse_idx_images, parse_idx_labels};
use vaecam_data::npz::{parse_npy, Npz};

/// The system allocator, recording the largest single request: a reader that reserves what
/// a header claims shows up here even where the OS would hand out the pages lazily.
struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// A version-1 `.npy` with this dtype and shape text, and `body` after the header.
fn npy(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(body);
    out
}

#[test]
fn npy_shapes_whose_size_overflows_are_errors() {
    // The element count wraps to 0 in 64 bits: the length check used to pass and an
    // "array" of 2^64 elements came back empty.
    for (descr, shape) in [
        ("|u1", "(4294967296, 4294967296)"),
        ("<f8", "(2305843009213693952,)"),
        ("<i4", "(18446744073709551615, 2)"),
    ] {
        let e = parse_npy(&npy(descr, shape, &[0; 16]), "huge.npy").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("huge.npy") && msg.contains("fit in memory"),
            "{shape}: {msg}"
        );
    }
    // A plain large shape is still "truncated", not an allocation.
    let e = parse_npy(&npy("<f4", "(1000000000,)", &[0; 16]), "big.npy").unwrap_err();
    assert!(e.to_string().contains("truncated data"), "{e}");
}

#[test]
fn idx_headers_whose_size_overflows_are_errors() {
    let mut images = 0x0803u32.to_be_bytes().to_vec();
    for d in [u32::MAX, u32::MAX, u32::MAX] {
        images.extend(d.to_be_bytes());
    }
    let e = parse_idx_images(&images, Path::new("huge-images-idx3-ubyte")).unwrap_err();
    assert!(e.to_string().contains("fit in memory"), "{e}");
    // 2^31 * 2^31 * 4 = 2^64 wraps to exactly 0: the length check used to pass.
    let mut wraps = 0x0803u32.to_be_bytes().to_vec();
    for d in [1u32 << 31, 1 << 31, 4] {
        wraps.extend(d.to_be_bytes());
    }
    let e = parse_idx_images(&wraps, Path::new("wraps-images-idx3-ubyte")).unwrap_err();
    assert!(e.to_string().contains("wraps-images-idx3-ubyte"), "{e}");
    let mut labels = 0x0801u32.to_be_bytes().to_vec();
    labels.extend(u32::MAX.to_be_bytes());
    let e = parse_idx_labels(&labels, Path::new("labels-idx1-ubyte")).unwrap_err();
    assert!(e.to_string().contains("holds 0"), "{e}");
}

/// Found by `fuzz/` (target `npz`, 18,872 runs): a zip member whose header declares
/// 4 278 190 080 bytes made `Npz::array` reserve them all up front (libFuzzer: out of memory).
#[test]
fn an_npz_member_declaring_gigabytes_is_not_preallocated() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz/npz-oom-declared-4gb-member.bin");
    let bytes = std::fs::read(&path).unwrap();
    // Whatever the archive holds, reading every member returns (values or errors).
    if let Ok(mut npz) = Npz::from_reader(std::io::Cursor::new(&bytes[..]), &path) {
        for name in npz.names() {
            let _ = npz.array(&name);
        }
    }
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest < 1 << 30, "one allocation of {largest} bytes");
}

/// Found by `fuzz/` (target `idx`, 52 runs): an image header whose three sizes multiply past
/// usize panicked with "attempt to multiply with overflow" (wrapped silently in release).
#[test]
fn the_idx_crash_found_by_fuzzing_is_an_error() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz/idx-crash-size-overflow.bin");
    let bytes = std::fs::read(&path).unwrap();
    let e = parse_idx_images(&bytes, &path).unwrap_err();
    assert!(e.to_string().contains("fit in memory"), "{e}");
    let _ = parse_idx_labels(&bytes, &path);
}

/// Found by `fuzz/` (target `image`, 75,000 runs): a PNG whose palette chunk is 62 bytes (not
/// whole RGB entries) panicked inside the png decoder ("range end index 3 out of range").
#[test]
fn a_png_palette_of_partial_entries_is_an_error_not_a_panic() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz/png-palette-not-rgb-triples.png");
    let bytes = std::fs::read(&path).unwrap();
    let e = vaecam_data::imageio::decode_image(&bytes, &path).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("png-palette-not-rgb-triples.png"), "{msg}");
    assert!(
        msg.contains("62 bytes") && msg.contains("multiple of 3"),
        "{msg}"
    );
    // The same file with the palette cut to 60 bytes (20 entries, CRC left wrong) is no
    // longer refused by the palette check: whatever the decoder says, it says it as an error.
    let mut fixed = bytes.clone();
    fixed[36] = 60;
    let _ = vaecam_data::imageio::decode_image(&fixed, &path);
}

/// Found by `fuzz/` (target `image`, second run after the palette fix): a GIF declaring
/// 8 x 0 pixels decoded, and `to_mask` then underflowed computing a source span.
#[test]
fn an_empty_image_is_an_error_and_an_empty_mask_source_is_all_off() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/gif-zero-height.gif");
    let bytes = std::fs::read(&path).unwrap();
    let e = vaecam_data::imageio::decode_image(&bytes, &path).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("gif-zero-height.gif") && msg.contains("empty"),
        "{msg}"
    );
    let empty = image::DynamicImage::new_luma8(8, 0);
    assert_eq!(
        vaecam_data::imageio::to_mask(&empty, Some((4, 3))),
        vec![0; 12]
    );
}

#[test]
fn an_image_declaring_a_side_above_the_limit_is_refused_at_its_header() {
    // The fuzzer's slow unit was a JPEG declaring 760 x 65527 px; a PNG one pixel high and
    // wider than the limit is the same case in a file a test can make (deflated zeros).
    let side = vaecam_data::imageio::MAX_IMAGE_SIDE + 1;
    let img = image::GrayImage::new(side, 1);
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let path = Path::new("wide.png");
    let err = vaecam_data::imageio::decode_image(&png, path).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("wide.png"), "{msg}");
    // A side at the limit still decodes.
    let ok = image::GrayImage::new(side - 1, 1);
    let mut png = Vec::new();
    ok.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    assert!(vaecam_data::imageio::decode_image(&png, path).is_ok());
}
