//! A synthetic benchmark in the MVTec-AD layout, for tests, CI and demos.
//!
//! Each category is one texture: a photograph (every `*.png` of a textures folder, named
//! by its file stem, e.g. `brick`, `grass`) or a built-in procedural texture (`woven`,
//! `wood`, `tiles`, `carpet`). Normal images are `size x size` crops of the texture:
//! training crops from its top half, test crops from its bottom half, so the two never
//! share a pixel. Defective test images get one defect each, drawn with an exact mask
//! (see [`defects`]): scratch, hole, stain, crack, cut-paste, contamination.
//!
//! [`generate_benchmark`] writes
//!
//! ```text
//! OUT/CATEGORY/train/good/000.png ...
//! OUT/CATEGORY/test/good/000.png ...
//! OUT/CATEGORY/test/<defect>/000.png ...
//! OUT/CATEGORY/ground_truth/<defect>/000_mask.png   (0 or 255)
//! ```
//!
//! which [`crate::mvtec::MvtecCategory::load`] reads back. [`generate_category`] makes one
//! category in memory (for `synthetic:CATEGORY` in the CLI, without writing files);
//! [`SyntheticCategory::to_mvtec`] gives exactly what loading the written files would.
//!
//! The same options (seed included) give byte-identical files. Each image has its own
//! random stream derived from (seed, category, split, number), so changing a count does
//! not change the other images.
//!
//! CLI: `vaecam make-benchmark --out DIR [--textures DIR] [--seed N]` calls
//! [`generate_benchmark`] with `BenchmarkOptions { textures_dir, seed, ..Default::default() }`.

pub mod defects;
pub mod textures;

pub use defects::DefectKind;
pub use textures::{procedural_texture, Perlin, Plane, TextureKind};

use crate::error::{DataError, Result};
use crate::imageio::{list_images, open_image, save_gray_png, Channels};
use crate::mvtec::{MvtecCategory, TestSample};
use crate::rng::{hash_str, mix_seed, Rng};
use image::imageops::FilterType;
use image::GrayImage;
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchmarkOptions {
    /// Side of every image in pixels (default 128).
    pub size: u32,
    /// Normal training images per category (default 100).
    pub n_train: usize,
    /// Normal test images per category (default 20).
    pub n_test_good: usize,
    /// Test images per defect type per category (default 10).
    pub n_test_per_defect: usize,
    /// Master seed (default 0).
    pub seed: u64,
    /// Category names to generate; empty means every texture PNG of `textures_dir` plus
    /// the four procedural ones.
    pub categories: Vec<String>,
    /// A folder of texture photographs (`*.png`, any size, converted to grayscale).
    pub textures_dir: Option<PathBuf>,
    /// Defect types to draw (default all six).
    pub defects: Vec<DefectKind>,
}

impl Default for BenchmarkOptions {
    fn default() -> Self {
        BenchmarkOptions {
            size: 128,
            n_train: 100,
            n_test_good: 20,
            n_test_per_defect: 10,
            seed: 0,
            categories: Vec::new(),
            textures_dir: None,
            defects: DefectKind::ALL.to_vec(),
        }
    }
}

/// A defective or normal test image with its mask.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticTest {
    /// The image.
    pub image: GrayImage,
    /// The mask, 255 = defect (all zero for `good`).
    pub mask: GrayImage,
    /// `"good"` or a [`DefectKind::name`].
    pub defect: String,
    /// File stem, e.g. `"007"`.
    pub name: String,
}

/// One generated category, in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticCategory {
    /// Category name.
    pub name: String,
    /// Where the texture came from: a file path or `procedural:<kind>`.
    pub source: String,
    /// Normal training images.
    pub train: Vec<GrayImage>,
    /// Test images: `good` first, then each defect type in the order of the options.
    pub test: Vec<SyntheticTest>,
}

/// What [`generate_benchmark`] wrote, per category.
#[derive(Clone, Debug, PartialEq)]
pub struct CategorySummary {
    /// Category name.
    pub name: String,
    /// Texture source (file path or `procedural:<kind>`).
    pub source: String,
    /// Training images written.
    pub n_train: usize,
    /// Normal test images written.
    pub n_test_good: usize,
    /// Defective test images written, per defect folder name.
    pub n_test_defect: Vec<(String, usize)>,
}

/// What [`generate_benchmark`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The output root.
    pub root: PathBuf,
    /// One entry per category, in generation order.
    pub categories: Vec<CategorySummary>,
    /// Number of PNG files written (images and masks).
    pub files: usize,
}

/// Where a category's texture comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum TextureSource {
    /// A photograph file.
    File(PathBuf),
    /// A built-in procedural texture.
    Procedural(TextureKind),
}

/// The categories available with these options, with their sources: every image of
/// `textures_dir` (PNG, JPEG, ...: [`IMAGE_EXTENSIONS`](crate::imageio::IMAGE_EXTENSIONS);
/// sorted, named by file stem) then the four procedural textures.
pub fn available_categories(opts: &BenchmarkOptions) -> Result<Vec<(String, TextureSource)>> {
    let mut v = Vec::new();
    if let Some(dir) = &opts.textures_dir {
        if !dir.is_dir() {
            return Err(DataError::MissingFolder {
                what: "textures",
                path: dir.clone(),
            });
        }
        for p in list_images(dir)? {
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            v.push((name, TextureSource::File(p)));
        }
    }
    for k in TextureKind::ALL {
        if !v.iter().any(|(n, _)| n == k.name()) {
            v.push((k.name().to_string(), TextureSource::Procedural(k)));
        }
    }
    Ok(v)
}

fn resolve(name: &str, opts: &BenchmarkOptions) -> Result<TextureSource> {
    let avail = available_categories(opts)?;
    avail
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, s)| s.clone())
        .ok_or_else(|| {
            let names: Vec<&str> = avail.iter().map(|(n, _)| n.as_str()).collect();
            DataError::invalid(
                "synthetic category",
                format!("{name:?} is not one of {}", names.join(", ")),
            )
        })
}

/// The full texture of a category, at least `size` wide and `2·size` high.
fn source_plane(name: &str, src: &TextureSource, size: u32, seed: u64) -> Result<Plane> {
    match src {
        TextureSource::Procedural(kind) => {
            let s = size as usize;
            Ok(textures::procedural_plane(
                *kind,
                3 * s,
                4 * s,
                mix_seed(&[seed, hash_str(name), 1]),
            ))
        }
        TextureSource::File(path) => {
            let mut g = open_image(path)?.to_luma8();
            let (w, h) = g.dimensions();
            let scale = (size as f64 / w as f64).max(2.0 * size as f64 / h as f64);
            if scale > 1.0 {
                let nw = (w as f64 * scale).ceil() as u32;
                let nh = (h as f64 * scale).ceil() as u32;
                g = image::imageops::resize(&g, nw, nh, FilterType::Triangle);
            }
            Ok(Plane::from_gray(&g))
        }
    }
}

fn crop_from(region: &Plane, size: usize, rng: &mut Rng) -> Plane {
    let x0 = rng.below(region.w - size + 1);
    let y0 = rng.below(region.h - size + 1);
    region.crop(x0, y0, size, size)
}

/// Generates category `name` in memory (see the module docs for the sources).
pub fn generate_category(name: &str, opts: &BenchmarkOptions) -> Result<SyntheticCategory> {
    if opts.size < 16 {
        return Err(DataError::invalid(
            "image size",
            format!("{} is below the minimum of 16", opts.size),
        ));
    }
    let src = resolve(name, opts)?;
    let plane = source_plane(name, &src, opts.size, opts.seed)?;
    let size = opts.size as usize;
    let half = plane.h / 2;
    let top = plane.crop(0, 0, plane.w, half);
    let bottom = plane.crop(0, half, plane.w, plane.h - half);
    let cat_seed = mix_seed(&[opts.seed, hash_str(name)]);
    let own_kind = match &src {
        TextureSource::Procedural(k) => Some(*k),
        TextureSource::File(_) => None,
    };
    let train = (0..opts.n_train)
        .map(|i| {
            crop_from(
                &top,
                size,
                &mut Rng::new(mix_seed(&[cat_seed, 10, i as u64])),
            )
            .to_gray()
        })
        .collect();
    let mut test = Vec::new();
    let empty = GrayImage::new(opts.size, opts.size);
    for i in 0..opts.n_test_good {
        let mut rng = Rng::new(mix_seed(&[cat_seed, 20, i as u64]));
        test.push(SyntheticTest {
            image: crop_from(&bottom, size, &mut rng).to_gray(),
            mask: empty.clone(),
            defect: "good".into(),
            name: format!("{i:03}"),
        });
    }
    for (d, &kind) in opts.defects.iter().enumerate() {
        for i in 0..opts.n_test_per_defect {
            let mut rng = Rng::new(mix_seed(&[cat_seed, 30 + d as u64, kind as u64, i as u64]));
            let mut img = crop_from(&bottom, size, &mut rng);
            let foreign = loop {
                let k = TextureKind::ALL[rng.below(4)];
                if Some(k) != own_kind {
                    break k;
                }
            };
            let mask = defects::draw_defect(&mut img, kind, &bottom, foreign, &mut rng);
            let mask_img = GrayImage::from_raw(
                opts.size,
                opts.size,
                mask.iter().map(|&m| m * 255).collect(),
            )
            .expect("sizes match");
            test.push(SyntheticTest {
                image: img.to_gray(),
                mask: mask_img,
                defect: kind.name().into(),
                name: format!("{i:03}"),
            });
        }
    }
    Ok(SyntheticCategory {
        name: name.to_string(),
        source: match &src {
            TextureSource::File(p) => p.display().to_string(),
            TextureSource::Procedural(k) => format!("procedural:{}", k.name()),
        },
        train,
        test,
    })
}

fn gray_to_chw(img: &GrayImage, channels: Channels) -> Vec<f32> {
    let g: Vec<f32> = img.iter().map(|&v| v as f32 / 255.0).collect();
    match channels {
        Channels::Gray => g,
        Channels::Rgb => [g.clone(), g.clone(), g].concat(),
    }
}

impl SyntheticCategory {
    /// The category as the MVTec loader would return it after [`generate_benchmark`]
    /// (no resizing; paths are those the files would have under `root`).
    pub fn to_mvtec(&self, root: &Path, channels: Channels) -> MvtecCategory {
        let dir = root.join(&self.name);
        let (w, h) = self
            .train
            .first()
            .or(self.test.first().map(|t| &t.image))
            .map_or((0, 0), |i| i.dimensions());
        MvtecCategory {
            name: self.name.clone(),
            dir: dir.clone(),
            shape: [channels.count(), h as usize, w as usize],
            train: self
                .train
                .iter()
                .map(|i| gray_to_chw(i, channels))
                .collect(),
            train_paths: (0..self.train.len())
                .map(|i| dir.join("train/good").join(format!("{i:03}.png")))
                .collect(),
            test: self
                .test
                .iter()
                .map(|t| TestSample {
                    image: gray_to_chw(&t.image, channels),
                    mask: t.mask.iter().map(|&m| (m >= 128) as u8).collect(),
                    defect: t.defect.clone(),
                    path: dir
                        .join("test")
                        .join(&t.defect)
                        .join(format!("{}.png", t.name)),
                })
                .collect(),
        }
    }

    /// Writes this category under `OUT/NAME/` in the MVTec layout; returns the
    /// number of files written.
    pub fn write(&self, out: &Path) -> Result<usize> {
        let dir = out.join(&self.name);
        let mut files = 0;
        for (i, img) in self.train.iter().enumerate() {
            save_gray_png(img, &dir.join("train/good").join(format!("{i:03}.png")))?;
            files += 1;
        }
        for t in &self.test {
            save_gray_png(
                &t.image,
                &dir.join("test")
                    .join(&t.defect)
                    .join(format!("{}.png", t.name)),
            )?;
            files += 1;
            if t.defect != "good" {
                let m = dir
                    .join("ground_truth")
                    .join(&t.defect)
                    .join(format!("{}_mask.png", t.name));
                save_gray_png(&t.mask, &m)?;
                files += 1;
            }
        }
        Ok(files)
    }
}

/// Generates the benchmark described by `opts` and writes it under `out` (created if
/// needed) in the MVTec-AD layout. Returns what was written.
///
/// ```no_run
/// use vaecam_data::synthetic::{generate_benchmark, BenchmarkOptions};
/// let opts = BenchmarkOptions {
///     textures_dir: Some("../shared/data/textures".into()),
///     seed: 1,
///     ..Default::default()
/// };
/// let summary = generate_benchmark(std::path::Path::new("datasets/synthetic"), &opts)?;
/// println!("{} files in {} categories", summary.files, summary.categories.len());
/// # Ok::<(), vaecam_data::DataError>(())
/// ```
pub fn generate_benchmark(out: &Path, opts: &BenchmarkOptions) -> Result<Summary> {
    let names: Vec<String> = if opts.categories.is_empty() {
        available_categories(opts)?
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    } else {
        opts.categories.clone()
    };
    std::fs::create_dir_all(out).map_err(|e| DataError::io(out, e))?;
    let mut summary = Summary {
        root: out.to_path_buf(),
        categories: Vec::new(),
        files: 0,
    };
    for name in &names {
        let cat = generate_category(name, opts)?;
        summary.files += cat.write(out)?;
        summary.categories.push(CategorySummary {
            name: name.clone(),
            source: cat.source.clone(),
            n_train: cat.train.len(),
            n_test_good: opts.n_test_good,
            n_test_defect: opts
                .defects
                .iter()
                .map(|d| (d.name().to_string(), opts.n_test_per_defect))
                .collect(),
        });
    }
    Ok(summary)
}
