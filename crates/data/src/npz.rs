//! A small `.npy` / `.npz` reader (NumPy's array formats), and the original dSprites
//! archive `dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`.
//!
//! Supported: format versions 1-3, C order, dtypes `u1`/`|u1`/`|b1`, `<i4`, `<i8`, `<f4`,
//! `<f8`. Object arrays (pickles, e.g. dSprites' `metadata`) are not read, but they may
//! sit in the same archive: only the arrays asked for are decoded.

use crate::batch::{Dataset, Item};
use crate::dsprites;
use crate::error::{DataError, Result};
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

/// The element values of an array, by dtype.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    /// `u1` (also `b1`).
    U8(Vec<u8>),
    /// `<i4`.
    I32(Vec<i32>),
    /// `<i8`.
    I64(Vec<i64>),
    /// `<f4`.
    F32(Vec<f32>),
    /// `<f8`.
    F64(Vec<f64>),
}

impl NpyData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            NpyData::U8(v) => v.len(),
            NpyData::I32(v) => v.len(),
            NpyData::I64(v) => v.len(),
            NpyData::F32(v) => v.len(),
            NpyData::F64(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values converted to f64.
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            NpyData::U8(v) => v.iter().map(|&x| x as f64).collect(),
            NpyData::I32(v) => v.iter().map(|&x| x as f64).collect(),
            NpyData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            NpyData::F32(v) => v.iter().map(|&x| x as f64).collect(),
            NpyData::F64(v) => v.clone(),
        }
    }
}

/// An n-dimensional array read from `.npy` (C order).
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// The values in C (row-major) order.
    pub data: NpyData,
}

fn bad(source: &str, message: impl Into<String>) -> DataError {
    DataError::BadNpy {
        source_name: source.to_string(),
        message: message.into(),
    }
}

/// Value of `'key':` in a header dict, up to the next top-level `,` or `}`.
fn header_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pat1 = format!("'{key}'");
    let pat2 = format!("\"{key}\"");
    let start = header
        .find(&pat1)
        .map(|i| i + pat1.len())
        .or_else(|| header.find(&pat2).map(|i| i + pat2.len()))?;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with('(') {
        let end = rest.find(')')?;
        Some(&rest[..=end])
    } else {
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        Some(rest[..end].trim())
    }
}

/// Parses `.npy` bytes; `source` names the file in errors.
pub fn parse_npy(bytes: &[u8], source: &str) -> Result<NpyArray> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad(source, "not an npy file (no \\x93NUMPY magic)"));
    }
    let major = bytes[6];
    let (hlen, hstart) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad(source, "truncated header"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(bad(source, format!("unsupported npy version {v}"))),
    };
    let header_bytes = bytes
        .get(hstart..hstart + hlen)
        .ok_or_else(|| bad(source, "truncated header"))?;
    let header =
        std::str::from_utf8(header_bytes).map_err(|_| bad(source, "header is not text"))?;
    let descr = header_field(header, "descr")
        .ok_or_else(|| bad(source, format!("no 'descr' in header {header:?}")))?
        .trim_matches(|c| c == '\'' || c == '"');
    let fortran = header_field(header, "fortran_order")
        .ok_or_else(|| bad(source, format!("no 'fortran_order' in header {header:?}")))?;
    if fortran != "False" {
        return Err(bad(source, "Fortran-order arrays are not supported"));
    }
    let shape_str = header_field(header, "shape")
        .ok_or_else(|| bad(source, format!("no 'shape' in header {header:?}")))?;
    let shape: Vec<usize> = shape_str
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(source, format!("bad shape {shape_str}")))
        })
        .collect::<Result<_>>()?;
    // Checked: a header may declare any shape, and a wrapped product would pass the
    // length check below.
    let n = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            bad(
                source,
                format!("shape {shape:?} has more elements than fit in memory"),
            )
        })?;
    let body = &bytes[hstart + hlen..];
    let elem = match descr {
        "|u1" | "u1" | "<u1" | "|b1" | "b1" => 1,
        "<i4" | "<f4" => 4,
        "<i8" | "<f8" => 8,
        d => {
            return Err(bad(
                source,
                format!("unsupported dtype {d:?} (supported: u1, <i4, <i8, <f4, <f8)"),
            ))
        }
    };
    let size = n.checked_mul(elem).ok_or_else(|| {
        bad(
            source,
            format!("shape {shape:?} has more bytes than fit in memory"),
        )
    })?;
    if body.len() < size {
        return Err(bad(
            source,
            format!(
                "truncated data: shape {shape:?} needs {size} bytes, found {}",
                body.len()
            ),
        ));
    }
    let body = &body[..size];
    let data = match descr {
        "<i4" => NpyData::I32(
            body.chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        "<f4" => NpyData::F32(
            body.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        "<i8" => NpyData::I64(
            body.chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        "<f8" => NpyData::F64(
            body.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        _ => NpyData::U8(body.to_vec()),
    };
    Ok(NpyArray { shape, data })
}

/// Reads one `.npy` file.
pub fn read_npy(path: &Path) -> Result<NpyArray> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_npy(&bytes, &path.display().to_string())
}

/// The most bytes reserved up front for one `.npz` member (64 MiB).
const MAX_PREALLOCATION: u64 = 64 << 20;

/// An open `.npz` archive (a zip of `.npy` files, stored or deflated), read from a file
/// or, with [`Npz::from_reader`], from any seekable reader.
pub struct Npz<R: Read + Seek = BufReader<File>> {
    path: PathBuf,
    zip: zip::ZipArchive<R>,
}

impl Npz {
    /// Opens `path`; a file that is not a complete zip archive gives
    /// [`DataError::TruncatedNpz`].
    pub fn open(path: &Path) -> Result<Npz> {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        Npz::from_reader(BufReader::new(file), path)
    }
}

impl<R: Read + Seek> Npz<R> {
    /// Reads the archive from `reader` (e.g. a `Cursor` over bytes in memory); `path`
    /// names it in errors.
    pub fn from_reader(reader: R, path: &Path) -> Result<Npz<R>> {
        let zip = zip::ZipArchive::new(reader).map_err(|e| DataError::TruncatedNpz {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Npz {
            path: path.to_path_buf(),
            zip,
        })
    }

    /// The array names (member names without `.npy`), sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .zip
            .file_names()
            .filter_map(|n| n.ok())
            .map(|n| n.strip_suffix(".npy").unwrap_or(&n).to_string())
            .collect();
        v.sort();
        v
    }

    /// Reads and decodes array `name` (with or without `.npy`).
    pub fn array(&mut self, name: &str) -> Result<NpyArray> {
        let member = if name.ends_with(".npy") {
            name.to_string()
        } else {
            format!("{name}.npy")
        };
        let source = format!("{}/{member}", self.path.display());
        let mut f = match self.zip.by_name(&member) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => {
                return Err(DataError::MissingArray {
                    path: self.path.clone(),
                    name: name.trim_end_matches(".npy").to_string(),
                })
            }
            Err(e) => {
                return Err(DataError::TruncatedNpz {
                    path: self.path.clone(),
                    message: format!("{member}: {e}"),
                })
            }
        };
        // The member's declared size only sizes the first allocation, capped: a header
        // may claim exabytes (read_to_end still grows as far as the data really goes).
        let mut bytes = Vec::with_capacity(f.size().min(MAX_PREALLOCATION) as usize);
        f.read_to_end(&mut bytes)
            .map_err(|e| DataError::TruncatedNpz {
                path: self.path.clone(),
                message: format!("{member}: {e}"),
            })?;
        parse_npy(&bytes, &source)
    }
}

/// The original dSprites archive, loaded in memory (about 3 GB for the full set).
#[derive(Clone, Debug)]
pub struct DspritesNpz {
    /// `[N, 64, 64]` images in {0, 1}.
    pub imgs: Vec<u8>,
    /// Number of images.
    pub len: usize,
    /// `[N, 6]` factor values (color, shape, scale, orientation, posX, posY).
    pub latents_values: Vec<f64>,
    /// `[N, 6]` factor indices (color, shape, scale, orientation, posX, posY).
    pub latents_classes: Vec<i64>,
}

impl DspritesNpz {
    /// Reads `imgs`, `latents_values` and `latents_classes` from the `.npz` at `path`.
    pub fn load(path: &Path) -> Result<DspritesNpz> {
        let mut npz = Npz::open(path)?;
        let shape_err = |name: &str, shape: &[usize], want: &str| DataError::Malformed {
            path: path.to_path_buf(),
            message: format!("array {name} has shape {shape:?}, expected {want}"),
        };
        let imgs = npz.array("imgs")?;
        if imgs.shape.len() != 3 || imgs.shape[1] != 64 || imgs.shape[2] != 64 {
            return Err(shape_err("imgs", &imgs.shape, "[N, 64, 64]"));
        }
        let len = imgs.shape[0];
        let imgs = match imgs.data {
            NpyData::U8(v) => v,
            _ => {
                return Err(DataError::Malformed {
                    path: path.to_path_buf(),
                    message: "array imgs is not uint8".into(),
                })
            }
        };
        let values = npz.array("latents_values")?;
        if values.shape != [len, 6] {
            return Err(shape_err("latents_values", &values.shape, "[N, 6]"));
        }
        let classes = npz.array("latents_classes")?;
        if classes.shape != [len, 6] {
            return Err(shape_err("latents_classes", &classes.shape, "[N, 6]"));
        }
        let latents_classes = match classes.data {
            NpyData::I64(v) => v,
            other => other.to_f64().iter().map(|&x| x as i64).collect(),
        };
        Ok(DspritesNpz {
            imgs,
            len,
            latents_values: values.data.to_f64(),
            latents_classes,
        })
    }

    /// Image `i` as 64·64 bytes.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.imgs[i * 4096..(i + 1) * 4096]
    }

    /// The factor indices of image `i` (shape, scale, orientation, posX, posY).
    pub fn factors(&self, i: usize) -> Result<dsprites::Factors> {
        let c = &self.latents_classes[i * 6..i * 6 + 6];
        let mut a = [0usize; 5];
        for k in 0..5 {
            a[k] = usize::try_from(c[k + 1]).map_err(|_| {
                DataError::invalid(
                    "dSprites latents_classes",
                    format!("negative value {}", c[k + 1]),
                )
            })?;
        }
        dsprites::Factors::from_array(a)
    }
}

impl Dataset for DspritesNpz {
    fn len(&self) -> usize {
        self.len
    }

    fn shape(&self) -> [usize; 3] {
        [1, 64, 64]
    }

    fn get(&self, i: usize) -> Result<Item> {
        if i >= self.len {
            return Err(DataError::invalid(
                "dataset item",
                format!("{i} is out of range 0..{}", self.len),
            ));
        }
        Ok(Item {
            data: self.image(i).iter().map(|&x| x.min(1) as f32).collect(),
            label: i as i64,
        })
    }
}
