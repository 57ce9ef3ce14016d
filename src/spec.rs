//! Data specs on the command line: `dsprites`, `mvtec:ROOT/CATEGORY`,
//! `synthetic:CATEGORY`, `mnist:DIR:DIGIT`, `ucsd:ROOT`.

use crate::error::{Error, Result};
use std::path::PathBuf;
use std::sync::Arc;
use vaecam_data::mvtec::{MvtecCategory, MvtecOptions};
use vaecam_data::synthetic::{self, BenchmarkOptions};
use vaecam_data::{Channels, Dataset};

/// A parsed data spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSpec {
    /// dSprites, rendered (no file needed).
    Dsprites,
    /// An MVTec-AD-layout category on disk.
    Mvtec {
        /// The dataset root.
        root: PathBuf,
        /// The category folder name.
        category: String,
    },
    /// A built-in procedural-texture category (no file needed).
    Synthetic {
        /// woven, wood, tiles or carpet.
        category: String,
    },
    /// MNIST one-class: train on `digit`, test on all.
    Mnist {
        /// Folder of the idx files.
        dir: PathBuf,
        /// The inlier digit.
        digit: u8,
    },
    /// UCSD Ped1.
    Ucsd {
        /// Folder holding UCSDped1 (or UCSDped1 itself).
        root: PathBuf,
    },
}

const FORMS: &str =
    "dsprites, mvtec:<root>/<category>, synthetic:<category>, mnist:<dir>:<digit>, ucsd:<root>";

impl std::str::FromStr for DataSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::Usage(format!("data spec {s:?}: {why} (forms: {FORMS})"));
        if s == "dsprites" {
            return Ok(DataSpec::Dsprites);
        }
        let (kind, rest) = s.split_once(':').ok_or_else(|| bad("unknown data spec"))?;
        match kind {
            "mvtec" => {
                let p = PathBuf::from(rest.trim_end_matches('/'));
                let category = p
                    .file_name()
                    .map(|c| c.to_string_lossy().to_string())
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| bad("needs <root>/<category>"))?;
                let root = p
                    .parent()
                    .map(|r| r.to_path_buf())
                    .unwrap_or_else(|| PathBuf::from("."));
                Ok(DataSpec::Mvtec { root, category })
            }
            "synthetic" => {
                if rest.is_empty() {
                    return Err(bad("needs a category: woven, wood, tiles or carpet"));
                }
                Ok(DataSpec::Synthetic {
                    category: rest.to_string(),
                })
            }
            "mnist" => {
                let (dir, digit) = rest
                    .rsplit_once(':')
                    .ok_or_else(|| bad("needs mnist:<dir>:<digit>"))?;
                let digit: u8 = digit
                    .parse()
                    .ok()
                    .filter(|d| *d <= 9)
                    .ok_or_else(|| bad("the digit must be 0-9"))?;
                Ok(DataSpec::Mnist {
                    dir: PathBuf::from(dir),
                    digit,
                })
            }
            "ucsd" => Ok(DataSpec::Ucsd {
                root: PathBuf::from(rest),
            }),
            _ => Err(bad("unknown data spec")),
        }
    }
}

impl std::fmt::Display for DataSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataSpec::Dsprites => write!(f, "dsprites"),
            DataSpec::Mvtec { root, category } => write!(f, "mvtec:{}/{category}", root.display()),
            DataSpec::Synthetic { category } => write!(f, "synthetic:{category}"),
            DataSpec::Mnist { dir, digit } => write!(f, "mnist:{}:{digit}", dir.display()),
            DataSpec::Ucsd { root } => write!(f, "ucsd:{}", root.display()),
        }
    }
}

/// Image options for specs whose size or colour is a choice.
#[derive(Clone, Copy, Debug)]
pub struct ImageOptions {
    /// Square side (MVTec, synthetic, UCSD).
    pub size: usize,
    /// 1 (grayscale) or 3 (RGB) channels.
    pub channels: usize,
    /// Seed of generated data (synthetic).
    pub seed: u64,
}

/// An anomaly-localization category: training images and test images with masks.
pub fn load_category(spec: &DataSpec, img: ImageOptions) -> Result<MvtecCategory> {
    let channels = if img.channels == 3 {
        Channels::Rgb
    } else {
        Channels::Gray
    };
    match spec {
        DataSpec::Mvtec { root, category } => Ok(MvtecCategory::load(root, category, MvtecOptions { size: Some(img.size as u32), channels })?),
        DataSpec::Synthetic { category } => {
            let opts = BenchmarkOptions { size: img.size as u32, seed: img.seed, ..Default::default() };
            let cat = synthetic::generate_category(category, &opts)?;
            Ok(cat.to_mvtec(&PathBuf::from(format!("synthetic-{category}")), channels))
        }
        other => Err(Error::Usage(format!("{other} is not an anomaly-localization category (use mvtec:<root>/<category> or synthetic:<category>)"))),
    }
}

/// The training set of a spec.
pub fn train_dataset(spec: &DataSpec, img: ImageOptions) -> Result<Arc<dyn Dataset>> {
    Ok(match spec {
        DataSpec::Dsprites => Arc::new(vaecam_data::dsprites::DspritesDataset::full()),
        DataSpec::Mvtec { .. } | DataSpec::Synthetic { .. } => {
            Arc::new(load_category(spec, img)?.train_dataset())
        }
        DataSpec::Mnist { dir, digit } => Arc::new(
            vaecam_data::mnist::Mnist::load(dir)?
                .one_class(*digit)?
                .train,
        ),
        DataSpec::Ucsd { root } => Arc::new(
            vaecam_data::ucsd::UcsdPed1::open(root)?
                .train_frames(Some((img.size as u32, img.size as u32))),
        ),
    })
}
