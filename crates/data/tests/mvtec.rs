//! MVTec-layout loading: masks resized by area (thin defects survive), any non-zero mask
//! pixel is anomalous, image labels come from the folder.

mod common;
use image::{GrayImage, Luma};
use std::path::Path;
use vaecam_data::mvtec::{MvtecCategory, MvtecOptions};
use vaecam_data::Channels;

fn save(img: &GrayImage, path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save(path).unwrap();
}

/// A 256x256 category: two train images, one good test image, a "scratch" image whose
/// mask is a one-pixel column at x = 1 (255), and a "stain" image whose mask stores 1
/// instead of 255.
fn fixture(tag: &str) -> std::path::PathBuf {
    let root = common::temp_dir(tag);
    let cat = root.join("thin");
    let plain = GrayImage::from_pixel(256, 256, Luma([120]));
    for i in 0..2 {
        save(&plain, &cat.join(format!("train/good/{i:03}.png")));
    }
    save(&plain, &cat.join("test/good/000.png"));
    save(&plain, &cat.join("test/scratch/000.png"));
    save(&plain, &cat.join("test/stain/000.png"));
    let scratch = GrayImage::from_fn(256, 256, |x, _| Luma([if x == 1 { 255 } else { 0 }]));
    save(&scratch, &cat.join("ground_truth/scratch/000_mask.png"));
    let stain = GrayImage::from_fn(256, 256, |x, y| Luma([(x / 32 == 3 && y / 32 == 3) as u8]));
    save(&stain, &cat.join("ground_truth/stain/000_mask.png"));
    root
}

#[test]
fn thin_scratches_survive_downsizing_and_masks_of_ones_count() {
    let root = fixture("mvtec-thin");
    let opts = MvtecOptions {
        size: Some(64),
        channels: Channels::Gray,
    };
    let cat = MvtecCategory::load(&root, "thin", opts).unwrap();
    let by = |d: &str| cat.test.iter().find(|t| t.defect == d).unwrap();
    // The one-pixel column x = 1 covers target column 0 (source columns 0..4), every row.
    let scratch = by("scratch");
    let on: Vec<usize> = (0..64 * 64).filter(|&i| scratch.mask[i] == 1).collect();
    assert_eq!(
        on.len(),
        64,
        "a 1-px scratch must stay one column of 64 pixels"
    );
    assert!(on.iter().all(|i| i % 64 == 0));
    // A mask stored as 0/1: the 32x32 block at (96..128)^2 is 8x8 target pixels.
    let stain = by("stain");
    assert_eq!(stain.mask.iter().filter(|&&v| v == 1).count(), 64);
    assert!(scratch.is_anomalous() && stain.is_anomalous() && !by("good").is_anomalous());
    // Same size: values are kept as they are (any non-zero pixel is anomalous).
    let full = MvtecCategory::load(
        &root,
        "thin",
        MvtecOptions {
            size: None,
            channels: Channels::Gray,
        },
    )
    .unwrap();
    let s = full.test.iter().find(|t| t.defect == "stain").unwrap();
    assert_eq!(s.mask.iter().filter(|&&v| v == 1).count(), 32 * 32);
}

#[test]
fn upsizing_a_mask_keeps_its_area() {
    let root = common::temp_dir("mvtec-up");
    let cat = root.join("small");
    let plain = GrayImage::from_pixel(16, 16, Luma([60]));
    save(&plain, &cat.join("train/good/000.png"));
    save(&plain, &cat.join("test/hole/000.png"));
    let m = GrayImage::from_fn(16, 16, |x, y| {
        Luma([if (x, y) == (3, 5) { 255 } else { 0 }])
    });
    save(&m, &cat.join("ground_truth/hole/000_mask.png"));
    let opts = MvtecOptions {
        size: Some(64),
        channels: Channels::Gray,
    };
    let c = MvtecCategory::load(&root, "small", opts).unwrap();
    let mask = &c.test[0].mask;
    let on: Vec<(usize, usize)> = (0..64 * 64)
        .filter(|&i| mask[i] == 1)
        .map(|i| (i % 64, i / 64))
        .collect();
    assert_eq!(on.len(), 16);
    assert!(on.iter().all(|&(x, y)| x / 4 == 3 && y / 4 == 5), "{on:?}");
}
