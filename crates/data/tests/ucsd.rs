//! UCSD Ped1 reader on a tiny tree written by the test (TIFF frames, BMP masks).

mod common;

use image::GrayImage;
use std::path::Path;
use vaecam_data::ucsd::UcsdPed1;
use vaecam_data::Dataset;

fn save(path: &Path, img: &GrayImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save(path).unwrap();
}

fn frame(k: u8) -> GrayImage {
    GrayImage::from_fn(238, 158, |x, y| {
        image::Luma([((x + y) as u8).wrapping_add(k)])
    })
}

#[test]
fn reads_frames_and_masks() {
    let root = common::temp_dir("ucsd");
    let ped = root.join("UCSDped1");
    for clip in ["Train001", "Train002"] {
        for f in 1..=3 {
            save(
                &ped.join("Train").join(clip).join(format!("{f:03}.tif")),
                &frame(f),
            );
        }
    }
    for f in 1..=2 {
        save(
            &ped.join("Test/Test001").join(format!("{f:03}.tif")),
            &frame(f),
        );
        save(
            &ped.join("Test/Test002").join(format!("{f:03}.tif")),
            &frame(f),
        );
        let mask = GrayImage::from_fn(238, 158, |x, y| {
            image::Luma([if f == 2 && x < 10 && y < 5 { 255 } else { 0 }])
        });
        save(
            &ped.join("Test/Test002_gt").join(format!("{f:03}.bmp")),
            &mask,
        );
    }
    let u = UcsdPed1::open(&root).unwrap();
    assert_eq!(u.train.len(), 2);
    assert_eq!(u.test.len(), 2);
    assert!(u.test[0].masks.is_none() && u.test[1].masks.is_some());
    let train = u.train_frames(None);
    assert_eq!(train.len(), 6);
    assert_eq!(train.shape(), [1, 158, 238]);
    let item = train.get(4).unwrap();
    assert_eq!(item.label, 1); // second clip
    assert_eq!(item.data[0], 2.0 / 255.0); // frame 002 of clip 2, pixel (0, 0)
    let test = u.test_frames_with_masks(Some((64, 64)));
    assert_eq!(test.len(), 2);
    assert_eq!(test.shape(), [1, 64, 64]);
    let (img, mask) = test.frame(1).unwrap();
    assert_eq!(img.len(), 64 * 64);
    let mask = mask.unwrap();
    let on = mask.iter().filter(|&&m| m == 1).count();
    assert!(on > 0 && on < 20, "{on}");
    assert_eq!(test.get(0).unwrap().label, 0);
    assert_eq!(test.get(1).unwrap().label, 1);

    // A mask whose frame is missing is an error naming the mask.
    let orphan = ped.join("Test/Test002_gt/009.bmp");
    save(&orphan, &frame(0));
    let msg = UcsdPed1::open(&root).unwrap_err().to_string();
    assert!(
        msg.contains(&orphan.display().to_string()) && msg.contains("has no image"),
        "{msg}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn missing_tree_is_named() {
    let root = common::temp_dir("ucsd-missing");
    let msg = UcsdPed1::open(&root).unwrap_err().to_string();
    assert!(
        msg.contains(&root.join("Train").display().to_string()),
        "{msg}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
