//! Bad input gives clear errors that name the file.

mod common;

use image::GrayImage;
use std::path::Path;
use vaecam_data::mnist::{read_idx_images, Mnist};
use vaecam_data::mvtec::{MvtecCategory, MvtecOptions};
use vaecam_data::npz::{DspritesNpz, Npz};
use vaecam_data::DataError;

fn png(path: &Path, w: u32, h: u32, v: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    GrayImage::from_pixel(w, h, image::Luma([v]))
        .save(path)
        .unwrap();
}

/// A valid category `cat` under `root`: 2 train, 1 good test, 1 "scratch" with mask.
fn category(root: &Path, cat: &str) -> std::path::PathBuf {
    let d = root.join(cat);
    png(&d.join("train/good/000.png"), 32, 32, 100);
    png(&d.join("train/good/001.png"), 32, 32, 110);
    png(&d.join("test/good/000.png"), 32, 32, 100);
    png(&d.join("test/scratch/000.png"), 32, 32, 50);
    png(&d.join("ground_truth/scratch/000_mask.png"), 32, 32, 255);
    d
}

fn load(root: &Path, cat: &str) -> Result<MvtecCategory, DataError> {
    MvtecCategory::load(root, cat, MvtecOptions::default())
}

fn assert_names(err: DataError, path: &Path, words: &str) {
    let msg = err.to_string();
    println!("{msg}");
    assert!(
        msg.contains(&path.display().to_string()),
        "{msg:?} does not name {}",
        path.display()
    );
    assert!(msg.contains(words), "{msg:?} does not say {words:?}");
}

#[test]
fn valid_category_loads() {
    let root = common::temp_dir("err-ok");
    category(&root, "carpet");
    let c = load(&root, "carpet").unwrap();
    assert_eq!(c.shape, [3, 128, 128]);
    assert_eq!(c.train.len(), 2);
    assert_eq!(c.test.len(), 2);
    assert_eq!(c.test[0].defect, "good");
    assert!(c.test[0].mask.iter().all(|&m| m == 0));
    assert!(c.test[1].mask.iter().all(|&m| m == 1));
    assert!((c.train[0][0] - 100.0 / 255.0).abs() < 1e-6);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn missing_category_folder() {
    let root = common::temp_dir("err-missing");
    let err = load(&root, "carpet").unwrap_err();
    assert_names(err, &root.join("carpet"), "missing category folder");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn corrupt_png() {
    let root = common::temp_dir("err-corrupt");
    let d = category(&root, "grid");
    let bad = d.join("train/good/001.png");
    let mut bytes = std::fs::read(&bad).unwrap();
    bytes.truncate(bytes.len() / 2);
    bytes[20] ^= 0xff;
    std::fs::write(&bad, bytes).unwrap();
    assert_names(load(&root, "grid").unwrap_err(), &bad, "corrupt PNG");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn mask_size_differs_from_image() {
    let root = common::temp_dir("err-size");
    let d = category(&root, "wood");
    let mask = d.join("ground_truth/scratch/000_mask.png");
    png(&mask, 16, 16, 255);
    let err = load(&root, "wood").unwrap_err();
    let msg = err.to_string();
    assert_names(err, &mask, "is 16x16 but its image");
    assert!(
        msg.contains("test/scratch/000.png") && msg.contains("32x32"),
        "{msg}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn mask_without_image() {
    let root = common::temp_dir("err-orphan");
    let d = category(&root, "tile");
    let mask = d.join("ground_truth/scratch/007_mask.png");
    png(&mask, 32, 32, 255);
    assert_names(load(&root, "tile").unwrap_err(), &mask, "has no image");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn image_without_mask() {
    let root = common::temp_dir("err-nomask");
    let d = category(&root, "leather");
    let img = d.join("test/scratch/003.png");
    png(&img, 32, 32, 50);
    assert_names(load(&root, "leather").unwrap_err(), &img, "has no mask");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn empty_train_folder() {
    let root = common::temp_dir("err-empty");
    let d = root.join("bottle/train/good");
    std::fs::create_dir_all(&d).unwrap();
    assert_names(load(&root, "bottle").unwrap_err(), &d, "holds no PNG");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn truncated_npz() {
    let dir = common::temp_dir("err-npz");
    let path = dir.join("dsprites.npz");
    {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        z.start_file("imgs.npy", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(&[7u8; 4000]).unwrap();
        z.finish().unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert_names(Npz::open(&path).err().unwrap(), &path, "truncated npz");
    assert_names(
        DspritesNpz::load(&path).unwrap_err(),
        &path,
        "truncated npz",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn idx_wrong_magic() {
    let dir = common::temp_dir("err-idx");
    let path = dir.join("train-images-idx3-ubyte");
    let mut bytes = vec![0, 0, 8, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2];
    bytes.extend_from_slice(&[0; 4]);
    std::fs::write(&path, &bytes).unwrap();
    assert_names(
        read_idx_images(&path).unwrap_err(),
        &path,
        "wrong magic 0x00000801",
    );
    std::fs::write(
        dir.join("train-labels-idx1-ubyte"),
        [0, 0, 8, 1, 0, 0, 0, 0],
    )
    .unwrap();
    assert_names(Mnist::load(&dir).unwrap_err(), &path, "wrong magic");
    std::fs::remove_dir_all(&dir).unwrap();
}
