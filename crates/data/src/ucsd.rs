//! UCSD Ped1 (anomaly detection in crowded scenes):
//!
//! ```text
//! UCSDped1/Train/TrainNNN/NNN.tif
//! UCSDped1/Test/TestNNN/NNN.tif
//! UCSDped1/Test/TestNNN_gt/NNN.bmp     (pixel masks, for the clips that have them)
//! ```
//!
//! Frames are 238x158 grayscale. Frames are loaded lazily (the full set is about 1 GB as
//! f32), optionally resized.

use crate::batch::{Dataset, Item};
use crate::error::{DataError, Result};
use crate::imageio::{list_dirs, list_files, open_image, to_chw, to_mask, Channels};
use std::path::{Path, PathBuf};

/// One clip: its frames in order and, for annotated test clips, one mask per frame.
#[derive(Clone, Debug, PartialEq)]
pub struct UcsdClip {
    /// Folder name, e.g. `Test003`.
    pub name: String,
    /// Frame files, sorted.
    pub frames: Vec<PathBuf>,
    /// Mask files (same order and count as `frames`), when the clip has a `_gt` folder.
    pub masks: Option<Vec<PathBuf>>,
}

/// The UCSD Ped1 file tree.
#[derive(Clone, Debug, PartialEq)]
pub struct UcsdPed1 {
    /// The `UCSDped1` folder.
    pub root: PathBuf,
    /// Training clips (normal only).
    pub train: Vec<UcsdClip>,
    /// Test clips.
    pub test: Vec<UcsdClip>,
}

fn numbered(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>> {
    Ok(list_dirs(dir)?
        .into_iter()
        .filter(|d| {
            d.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(prefix))
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect())
}

fn clips(dir: &Path, prefix: &str) -> Result<Vec<UcsdClip>> {
    let mut out = Vec::new();
    for d in numbered(dir, prefix)? {
        let name = d.file_name().unwrap().to_string_lossy().to_string();
        let frames = list_files(&d, &["tif", "tiff"])?;
        if frames.is_empty() {
            return Err(DataError::EmptyFolder {
                what: "clip",
                path: d,
            });
        }
        let gt = dir.join(format!("{name}_gt"));
        let masks = if gt.is_dir() {
            let masks = list_files(&gt, &["bmp", "png", "tif"])?;
            for m in &masks {
                let stem = m.file_stem().unwrap().to_string_lossy().to_string();
                let has = frames
                    .iter()
                    .any(|f| f.file_stem().is_some_and(|s| s.to_string_lossy() == stem));
                if !has {
                    return Err(DataError::MaskWithoutImage {
                        mask: m.clone(),
                        expected: d.join(format!("{stem}.tif")),
                    });
                }
            }
            if masks.len() != frames.len() {
                return Err(DataError::Malformed {
                    path: gt,
                    message: format!(
                        "{} masks for {} frames of {}",
                        masks.len(),
                        frames.len(),
                        d.display()
                    ),
                });
            }
            Some(masks)
        } else {
            None
        };
        out.push(UcsdClip {
            name,
            frames,
            masks,
        });
    }
    Ok(out)
}

impl UcsdPed1 {
    /// Opens the tree at `root` (the `UCSDped1` folder, or a folder that contains it).
    pub fn open(root: &Path) -> Result<UcsdPed1> {
        let root = if root.join("UCSDped1").is_dir() {
            root.join("UCSDped1")
        } else {
            root.to_path_buf()
        };
        let (train_dir, test_dir) = (root.join("Train"), root.join("Test"));
        for (d, what) in [
            (&train_dir, "UCSD Ped1 Train"),
            (&test_dir, "UCSD Ped1 Test"),
        ] {
            if !d.is_dir() {
                return Err(DataError::MissingFolder {
                    what,
                    path: d.clone(),
                });
            }
        }
        let train = clips(&train_dir, "Train")?;
        if train.is_empty() {
            return Err(DataError::EmptyFolder {
                what: "train",
                path: train_dir,
            });
        }
        let test = clips(&test_dir, "Test")?;
        Ok(UcsdPed1 { root, train, test })
    }

    /// Every training frame, as a lazily loaded [`Dataset`] (labels: clip number).
    pub fn train_frames(&self, size: Option<(u32, u32)>) -> UcsdFrames {
        UcsdFrames::from_clips(&self.train, size, false)
    }

    /// Every frame of the annotated test clips (labels: 1 when its mask has a pixel on).
    pub fn test_frames_with_masks(&self, size: Option<(u32, u32)>) -> UcsdFrames {
        let annotated: Vec<UcsdClip> = self
            .test
            .iter()
            .filter(|c| c.masks.is_some())
            .cloned()
            .collect();
        UcsdFrames::from_clips(&annotated, size, true)
    }
}

/// Frames loaded on demand, optionally with their masks.
#[derive(Clone, Debug, PartialEq)]
pub struct UcsdFrames {
    /// Frame files.
    pub frames: Vec<PathBuf>,
    /// Mask files, when loaded with masks.
    pub masks: Option<Vec<PathBuf>>,
    /// Clip index of each frame.
    pub clip: Vec<usize>,
    /// Output size (width, height); `None` keeps 238x158.
    pub size: Option<(u32, u32)>,
}

impl UcsdFrames {
    fn from_clips(clips: &[UcsdClip], size: Option<(u32, u32)>, with_masks: bool) -> UcsdFrames {
        let mut f = UcsdFrames {
            frames: Vec::new(),
            masks: with_masks.then(Vec::new),
            clip: Vec::new(),
            size,
        };
        for (k, c) in clips.iter().enumerate() {
            f.frames.extend(c.frames.iter().cloned());
            f.clip.extend(std::iter::repeat_n(k, c.frames.len()));
            if let (Some(all), Some(m)) = (f.masks.as_mut(), c.masks.as_ref()) {
                all.extend(m.iter().cloned());
            }
        }
        f
    }

    fn dims(&self) -> (u32, u32) {
        self.size.unwrap_or((238, 158))
    }

    /// Frame `i` (grayscale f32 in [0, 1]) and its mask (`H·W` in {0, 1}) if any.
    pub fn frame(&self, i: usize) -> Result<(Vec<f32>, Option<Vec<u8>>)> {
        let path = &self.frames[i];
        let img = open_image(path)?;
        let (w, h) = self.dims();
        if self.size.is_none() && (img.width(), img.height()) != (w, h) {
            return Err(DataError::Malformed {
                path: path.clone(),
                message: format!(
                    "frame is {}x{}, expected {w}x{h}",
                    img.width(),
                    img.height()
                ),
            });
        }
        let data = to_chw(&img, Channels::Gray, Some((w, h)));
        let mask = match &self.masks {
            Some(m) => {
                let mpath = &m[i];
                let mi = open_image(mpath)?;
                if (mi.width(), mi.height()) != (img.width(), img.height()) {
                    return Err(DataError::MaskSizeMismatch {
                        mask: mpath.clone(),
                        mask_w: mi.width(),
                        mask_h: mi.height(),
                        image: path.clone(),
                        image_w: img.width(),
                        image_h: img.height(),
                    });
                }
                Some(to_mask(&mi, Some((w, h))))
            }
            None => None,
        };
        Ok((data, mask))
    }
}

impl Dataset for UcsdFrames {
    fn len(&self) -> usize {
        self.frames.len()
    }

    fn shape(&self) -> [usize; 3] {
        let (w, h) = self.dims();
        [1, h as usize, w as usize]
    }

    fn get(&self, i: usize) -> Result<Item> {
        if i >= self.len() {
            return Err(DataError::invalid(
                "dataset item",
                format!("{i} is out of range 0..{}", self.len()),
            ));
        }
        let (data, mask) = self.frame(i)?;
        let label = match mask {
            Some(m) => m.contains(&1) as i64,
            None => self.clip[i] as i64,
        };
        Ok(Item { data, label })
    }
}
