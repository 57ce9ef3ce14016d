//! Image formats and colour layouts (issue 13, item 11): JPEG folders load, a folder of
//! unreadable formats says what it holds, RGBA files are named RGBA and lose only alpha.

mod common;
use image::{DynamicImage, GrayImage, Luma, Rgba, RgbaImage};
use std::path::Path;
use vaecam_data::imageio::{color_name, find_image, open_image, to_chw};
use vaecam_data::mvtec::{MvtecCategory, MvtecOptions};
use vaecam_data::{Channels, DataError};

fn save(img: &DynamicImage, path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save(path).unwrap();
}

fn gray(v: u8) -> DynamicImage {
    DynamicImage::ImageLuma8(GrayImage::from_pixel(32, 32, Luma([v])))
}

#[test]
fn a_category_of_jpeg_files_loads_with_png_masks() {
    let root = common::temp_dir("jpeg-cat");
    let cat = root.join("wood");
    save(&gray(100), &cat.join("train/good/000.jpg"));
    save(&gray(140), &cat.join("train/good/001.JPEG"));
    save(&gray(100), &cat.join("test/good/000.jpg"));
    save(&gray(60), &cat.join("test/crack/000.jpg"));
    save(&gray(255), &cat.join("ground_truth/crack/000_mask.png"));
    let opts = MvtecOptions {
        size: None,
        channels: Channels::Gray,
    };
    let c = MvtecCategory::load(&root, "wood", opts).unwrap();
    assert_eq!(c.shape, [1, 32, 32]);
    assert_eq!(c.train.len(), 2);
    assert_eq!(c.test.len(), 2);
    assert_eq!(c.test[1].defect, "crack");
    assert!(c.test[1].mask.iter().all(|&m| m == 1));
    // A flat JPEG decodes to (nearly) its value: the pixels really came from the file.
    for (img, v) in c.train.iter().zip([100.0, 140.0]) {
        let mean = img.iter().sum::<f32>() / img.len() as f32 * 255.0;
        assert!((mean - v).abs() < 2.0, "mean {mean}, expected {v}");
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_train_folder_of_unreadable_formats_says_what_it_holds() {
    let root = common::temp_dir("webp-cat");
    let train = root.join("wood/train/good");
    std::fs::create_dir_all(&train).unwrap();
    std::fs::write(train.join("000.webp"), b"RIFF").unwrap();
    std::fs::write(train.join("notes.txt"), b"x").unwrap();
    let err = MvtecCategory::load(&root, "wood", MvtecOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::NoImages { .. }), "{err:?}");
    let msg = err.to_string();
    let words = [&train.display().to_string(), "JPEG", "2 files: .txt, .webp"];
    for w in words {
        assert!(msg.contains(w), "{msg:?} does not say {w:?}");
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_mask_is_found_whatever_its_image_format() {
    let root = common::temp_dir("find-image");
    save(&gray(1), &root.join("004_mask.PNG"));
    save(&gray(1), &root.join("005_mask.jpeg"));
    assert_eq!(
        find_image(&root, "004_mask"),
        Some(root.join("004_mask.PNG"))
    );
    assert_eq!(
        find_image(&root, "005_mask"),
        Some(root.join("005_mask.jpeg"))
    );
    assert_eq!(find_image(&root, "006_mask"), None);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn an_rgba_file_is_named_rgba_and_converts_by_dropping_alpha() {
    let root = common::temp_dir("rgba");
    let path = root.join("rgba.png");
    // Alpha 0 everywhere: blending onto a background would change every value below.
    let px = Rgba([200, 100, 50, 0]);
    save(
        &DynamicImage::ImageRgba8(RgbaImage::from_pixel(4, 4, px)),
        &path,
    );
    let img = open_image(&path).unwrap();
    assert_eq!(color_name(img.color()), "RGBA");
    assert_eq!(color_name(image::ColorType::La8), "grayscale with alpha");
    assert_eq!(color_name(image::ColorType::Rgb16), "16-bit RGB");
    let rgb = to_chw(&img, Channels::Rgb, None);
    assert_eq!(rgb.len(), 3 * 16);
    for (c, v) in [200.0f32, 100.0, 50.0].into_iter().enumerate() {
        assert!(rgb[c * 16..(c + 1) * 16].iter().all(|&x| x == v / 255.0));
    }
    // sRGB luma of the colour values, alpha ignored.
    let luma = to_chw(&img, Channels::Gray, None);
    let expect = ((2126.0 * 200.0 + 7152.0 * 100.0 + 722.0 * 50.0) / 10000.0f32).round();
    assert!(
        luma.iter().all(|&x| (x * 255.0 - expect).abs() <= 1.0),
        "{} vs {expect}",
        luma[0] * 255.0
    );
    std::fs::remove_dir_all(&root).unwrap();
}
