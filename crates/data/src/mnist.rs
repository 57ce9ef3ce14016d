//! MNIST from idx files, and the one-class split of the authors' experiment (train on one
//! inlier digit, test on all digits).
//!
//! File names: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` (the `.idx3-ubyte` spelling with a
//! dot is accepted too). Files must be uncompressed.

use crate::batch::{Dataset, Item};
use crate::error::{DataError, Result};
use std::path::{Path, PathBuf};

/// Magic number of an idx image file (unsigned bytes, 3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an idx label file (unsigned bytes, 1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn read_idx(path: &Path, magic: u32, dims: usize) -> Result<(Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_idx(&bytes, path, magic, dims)
}

fn parse_idx(bytes: &[u8], path: &Path, magic: u32, dims: usize) -> Result<(Vec<usize>, Vec<u8>)> {
    let header = 4 + 4 * dims;
    if bytes.len() < 4 {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            message: format!("file of {} bytes has no idx header", bytes.len()),
        });
    }
    let found = be32(bytes, 0);
    if found != magic {
        return Err(DataError::WrongMagic {
            path: path.to_path_buf(),
            found,
            expected: magic,
        });
    }
    if bytes.len() < header {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            message: "truncated idx header".into(),
        });
    }
    let shape: Vec<usize> = (0..dims).map(|d| be32(bytes, 4 + 4 * d) as usize).collect();
    // Checked: three 32-bit sizes can multiply past usize, and a wrapped product would
    // pass the length check below.
    let n = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| DataError::Malformed {
            path: path.to_path_buf(),
            message: format!("header says {shape:?}, more bytes than fit in memory"),
        })?;
    if bytes.len() - header < n {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            message: format!(
                "header says {shape:?} ({n} bytes) but the file holds {}",
                bytes.len() - header
            ),
        });
    }
    Ok((shape, bytes[header..header + n].to_vec()))
}

/// Reads an idx image file: returns (count, rows, cols, pixels).
pub fn read_idx_images(path: &Path) -> Result<(usize, usize, usize, Vec<u8>)> {
    let (s, data) = read_idx(path, IMAGES_MAGIC, 3)?;
    Ok((s[0], s[1], s[2], data))
}

/// Reads an idx label file.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    Ok(read_idx(path, LABELS_MAGIC, 1)?.1)
}

/// Like [`read_idx_images`], from the bytes of a file; `path` names it in errors.
pub fn parse_idx_images(bytes: &[u8], path: &Path) -> Result<(usize, usize, usize, Vec<u8>)> {
    let (s, data) = parse_idx(bytes, path, IMAGES_MAGIC, 3)?;
    Ok((s[0], s[1], s[2], data))
}

/// Like [`read_idx_labels`], from the bytes of a file; `path` names it in errors.
pub fn parse_idx_labels(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    Ok(parse_idx(bytes, path, LABELS_MAGIC, 1)?.1)
}

/// A set of digits: images (`n·rows·cols` bytes) and labels.
#[derive(Clone, Debug, PartialEq)]
pub struct MnistSplit {
    /// Pixels, 0..255, image after image.
    pub images: Vec<u8>,
    /// Digit of each image.
    pub labels: Vec<u8>,
    /// Image height (28).
    pub rows: usize,
    /// Image width (28).
    pub cols: usize,
}

impl MnistSplit {
    /// Image `i` as bytes.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.images[i * n..(i + 1) * n]
    }

    /// Only the images whose label satisfies `keep`, in order.
    pub fn filter(&self, keep: impl Fn(u8) -> bool) -> MnistSplit {
        let mut out = MnistSplit {
            images: Vec::new(),
            labels: Vec::new(),
            rows: self.rows,
            cols: self.cols,
        };
        for (i, &l) in self.labels.iter().enumerate() {
            if keep(l) {
                out.images.extend_from_slice(self.image(i));
                out.labels.push(l);
            }
        }
        out
    }
}

impl Dataset for MnistSplit {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn shape(&self) -> [usize; 3] {
        [1, self.rows, self.cols]
    }

    /// The digit as f32 in [0, 1]; the label is the digit.
    fn get(&self, i: usize) -> Result<Item> {
        if i >= self.len() {
            return Err(DataError::invalid(
                "dataset item",
                format!("{i} is out of range 0..{}", self.len()),
            ));
        }
        Ok(Item {
            data: self.image(i).iter().map(|&v| v as f32 / 255.0).collect(),
            label: self.labels[i] as i64,
        })
    }
}

/// MNIST training and test splits.
#[derive(Clone, Debug, PartialEq)]
pub struct Mnist {
    /// The training split.
    pub train: MnistSplit,
    /// The test split.
    pub test: MnistSplit,
}

fn find(dir: &Path, stem: &str, kind: &str) -> Result<PathBuf> {
    for name in [
        format!("{stem}-{kind}-ubyte"),
        format!("{stem}-{}", kind.replacen('-', ".", 1) + "-ubyte"),
    ] {
        let p = dir.join(&name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(DataError::MissingFile {
        path: dir.join(format!("{stem}-{kind}-ubyte")),
    })
}

fn load_split(dir: &Path, stem: &str) -> Result<MnistSplit> {
    let ipath = find(dir, stem, "images-idx3")?;
    let lpath = find(dir, stem, "labels-idx1")?;
    let (n, rows, cols, images) = read_idx_images(&ipath)?;
    let labels = read_idx_labels(&lpath)?;
    if labels.len() != n {
        return Err(DataError::Malformed {
            path: lpath,
            message: format!(
                "{} labels but {} holds {n} images",
                labels.len(),
                ipath.display()
            ),
        });
    }
    if let Some(&bad) = labels.iter().find(|&&l| l > 9) {
        return Err(DataError::Malformed {
            path: lpath,
            message: format!("label {bad} is not a digit"),
        });
    }
    Ok(MnistSplit {
        images,
        labels,
        rows,
        cols,
    })
}

impl Mnist {
    /// Loads the four idx files from `dir`.
    pub fn load(dir: &Path) -> Result<Mnist> {
        if !dir.is_dir() {
            return Err(DataError::MissingFolder {
                what: "MNIST",
                path: dir.to_path_buf(),
            });
        }
        Ok(Mnist {
            train: load_split(dir, "train")?,
            test: load_split(dir, "t10k")?,
        })
    }

    /// The one-class split: training images of digit `inlier` only; every test image,
    /// labelled with its digit (an outlier is any other digit).
    pub fn one_class(&self, inlier: u8) -> Result<OneClass> {
        if inlier > 9 {
            return Err(DataError::invalid(
                "inlier digit",
                format!("{inlier} is not 0..9"),
            ));
        }
        Ok(OneClass {
            inlier,
            train: self.train.filter(|l| l == inlier),
            test: self.test.clone(),
        })
    }
}

/// MNIST one-class anomaly detection (the authors' default inlier digit is 3).
#[derive(Clone, Debug, PartialEq)]
pub struct OneClass {
    /// The normal digit.
    pub inlier: u8,
    /// Training images (all of digit `inlier`).
    pub train: MnistSplit,
    /// All test images, labelled with their digit.
    pub test: MnistSplit,
}

impl OneClass {
    /// Per test image: 1 for an outlier (a digit other than `inlier`), 0 otherwise.
    pub fn test_outlier_labels(&self) -> Vec<u8> {
        self.test
            .labels
            .iter()
            .map(|&l| (l != self.inlier) as u8)
            .collect()
    }
}
