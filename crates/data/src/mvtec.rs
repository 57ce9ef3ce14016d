//! The MVTec-AD folder layout, for any category name:
//!
//! ```text
//! ROOT/CATEGORY/train/good/*.png
//! ROOT/CATEGORY/test/good/*.png
//! ROOT/CATEGORY/test/<defect>/*.png
//! ROOT/CATEGORY/ground_truth/<defect>/NAME_mask.png   (255 = anomalous)
//! ```
//!
//! Any format of [`IMAGE_EXTENSIONS`](crate::imageio::IMAGE_EXTENSIONS) may stand for
//! `.png` (images and masks alike: `003.jpg` with `003_mask.png` is fine); alpha channels
//! are dropped (see [`crate::imageio`]).
//!
//! Images come back as CHW f32 in [0, 1] (RGB or grayscale, resized bilinearly to the
//! chosen size), masks as {0, 1} bytes (any non-zero mask pixel is anomalous) resized by
//! area (a target pixel is anomalous when any pixel it covers is, so thin scratches
//! survive); `test/good` images get all-zero masks. An image's label comes from its folder
//! (`good` or a defect type), never from its resized mask. Files are read in sorted order,
//! so loads are deterministic.

use crate::batch::InMemory;
use crate::error::{DataError, Result};
use crate::imageio::{
    describe_files, find_image, list_dirs, list_images, open_image, to_chw, to_mask, Channels,
};
use std::path::{Path, PathBuf};

/// How to load a category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MvtecOptions {
    /// Output side length (images are resized to `size x size`); `None` keeps the files'
    /// size (which must then be the same for every image of the category).
    pub size: Option<u32>,
    /// RGB or grayscale output.
    pub channels: Channels,
}

impl Default for MvtecOptions {
    fn default() -> Self {
        MvtecOptions {
            size: Some(128),
            channels: Channels::Rgb,
        }
    }
}

/// A test image with its ground truth.
#[derive(Clone, Debug, PartialEq)]
pub struct TestSample {
    /// CHW f32 in [0, 1].
    pub image: Vec<f32>,
    /// H·W values in {0, 1} (1 = anomalous); all zero for `good`.
    pub mask: Vec<u8>,
    /// The defect folder name (`"good"` for normal images).
    pub defect: String,
    /// The image file.
    pub path: PathBuf,
}

impl TestSample {
    /// True for a defective image (`defect != "good"`).
    pub fn is_anomalous(&self) -> bool {
        self.defect != "good"
    }
}

/// One category loaded in memory.
#[derive(Clone, Debug)]
pub struct MvtecCategory {
    /// The category name (folder name).
    pub name: String,
    /// `ROOT/CATEGORY`.
    pub dir: PathBuf,
    /// `[C, H, W]` of every image.
    pub shape: [usize; 3],
    /// Normal training images (CHW f32).
    pub train: Vec<Vec<f32>>,
    /// The training image files, in the same order.
    pub train_paths: Vec<PathBuf>,
    /// Test images (good first, then defect folders in sorted order).
    pub test: Vec<TestSample>,
}

/// The category folders under `root` (those that hold a `train` folder), sorted.
pub fn list_categories(root: &Path) -> Result<Vec<String>> {
    if !root.is_dir() {
        return Err(DataError::MissingFolder {
            what: "dataset root",
            path: root.to_path_buf(),
        });
    }
    Ok(list_dirs(root)?
        .into_iter()
        .filter(|d| d.join("train").is_dir())
        .filter_map(|d| d.file_name().and_then(|n| n.to_str()).map(String::from))
        .collect())
}

struct Loader {
    opts: MvtecOptions,
    /// Size of the first image file seen, when `opts.size` is `None`.
    fixed: Option<(u32, u32, PathBuf)>,
}

impl Loader {
    fn target(&self) -> Option<(u32, u32)> {
        self.opts
            .size
            .map(|s| (s, s))
            .or(self.fixed.as_ref().map(|f| (f.0, f.1)))
    }

    /// Loads an image; returns (CHW data, original width, original height).
    fn image(&mut self, path: &Path) -> Result<(Vec<f32>, u32, u32)> {
        let img = open_image(path)?;
        let (w, h) = (img.width(), img.height());
        if self.opts.size.is_none() {
            match &self.fixed {
                None => self.fixed = Some((w, h, path.to_path_buf())),
                Some((fw, fh, first)) if (*fw, *fh) != (w, h) => {
                    return Err(DataError::Malformed {
                        path: path.to_path_buf(),
                        message: format!(
                            "image is {w}x{h} but {} is {fw}x{fh}; pass a size to resize them",
                            first.display()
                        ),
                    })
                }
                _ => {}
            }
        }
        Ok((to_chw(&img, self.opts.channels, self.target()), w, h))
    }
}

impl MvtecCategory {
    /// Loads `ROOT/CATEGORY`: every training image, every test image and its mask.
    ///
    /// Errors name the file: a missing category or `train/good` folder, an empty
    /// `train/good` (saying what it holds instead), a corrupt image, a mask whose size differs from its image, a mask with
    /// no image, a defective test image with no mask.
    pub fn load(root: &Path, category: &str, opts: MvtecOptions) -> Result<MvtecCategory> {
        let dir = root.join(category);
        if !dir.is_dir() {
            return Err(DataError::MissingFolder {
                what: "category",
                path: dir,
            });
        }
        let train_dir = dir.join("train").join("good");
        if !train_dir.is_dir() {
            return Err(DataError::MissingFolder {
                what: "train/good",
                path: train_dir,
            });
        }
        let train_paths = list_images(&train_dir)?;
        if train_paths.is_empty() {
            return Err(DataError::NoImages {
                what: "train/good",
                found: describe_files(&train_dir)?,
                path: train_dir,
            });
        }
        let mut loader = Loader { opts, fixed: None };
        let mut train = Vec::with_capacity(train_paths.len());
        for p in &train_paths {
            train.push(loader.image(p)?.0);
        }
        let (w, h) = loader.target().expect("at least one image");
        let shape = [opts.channels.count(), h as usize, w as usize];

        let mut test = Vec::new();
        let test_dir = dir.join("test");
        let gt_dir = dir.join("ground_truth");
        // Masks that have no image are an error, whatever the test folder holds.
        if gt_dir.is_dir() {
            for d in list_dirs(&gt_dir)? {
                let defect = d.file_name().unwrap().to_string_lossy().to_string();
                for m in list_images(&d)? {
                    let stem = m.file_stem().unwrap().to_string_lossy().to_string();
                    let name = stem.strip_suffix("_mask").unwrap_or(&stem);
                    if find_image(&test_dir.join(&defect), name).is_none() {
                        let expected = test_dir.join(&defect).join(format!("{name}.png"));
                        return Err(DataError::MaskWithoutImage { mask: m, expected });
                    }
                }
            }
        }
        if test_dir.is_dir() {
            let mut defects: Vec<PathBuf> = list_dirs(&test_dir)?;
            // "good" first, then the defect types in sorted order.
            defects.sort_by_key(|d| (d.file_name().is_none_or(|n| n != "good"), d.clone()));
            for d in defects {
                let defect = d.file_name().unwrap().to_string_lossy().to_string();
                for p in list_images(&d)? {
                    let (image, iw, ih) = loader.image(&p)?;
                    let mask = if defect == "good" {
                        vec![0u8; shape[1] * shape[2]]
                    } else {
                        let stem = p.file_stem().unwrap().to_string_lossy().to_string();
                        let mask_dir = gt_dir.join(&defect);
                        let Some(mpath) = find_image(&mask_dir, &format!("{stem}_mask")) else {
                            return Err(DataError::ImageWithoutMask {
                                image: p,
                                expected: mask_dir.join(format!("{stem}_mask.png")),
                            });
                        };
                        let m = open_image(&mpath)?;
                        if (m.width(), m.height()) != (iw, ih) {
                            return Err(DataError::MaskSizeMismatch {
                                mask: mpath,
                                mask_w: m.width(),
                                mask_h: m.height(),
                                image: p,
                                image_w: iw,
                                image_h: ih,
                            });
                        }
                        to_mask(&m, Some((w, h)))
                    };
                    test.push(TestSample {
                        image,
                        mask,
                        defect: defect.clone(),
                        path: p,
                    });
                }
            }
        }
        Ok(MvtecCategory {
            name: category.to_string(),
            dir,
            shape,
            train,
            train_paths,
            test,
        })
    }

    /// The defect types present in the test set (without `good`), sorted.
    pub fn defect_types(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .test
            .iter()
            .filter(|t| t.is_anomalous())
            .map(|t| t.defect.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The training images as a [`crate::Dataset`] (labels 0).
    pub fn train_dataset(&self) -> InMemory {
        InMemory {
            shape: self.shape,
            images: self.train.clone(),
            labels: vec![0; self.train.len()],
        }
    }

    /// The test images as a [`crate::Dataset`] (label 1 for defective, 0 for good).
    pub fn test_dataset(&self) -> InMemory {
        InMemory {
            shape: self.shape,
            images: self.test.iter().map(|t| t.image.clone()).collect(),
            labels: self.test.iter().map(|t| t.is_anomalous() as i64).collect(),
        }
    }
}
