//! NumPy `.npy` files (format version 1.0, little-endian float32, C order), written
//! atomically: what `explain` leaves for checking its numbers outside vaecam.

use crate::error::{Error, Result};
use std::path::Path;

/// The bytes of an `.npy` file holding `data` with shape `dims`.
pub fn encode_f32(dims: &[usize], data: &[f32]) -> Result<Vec<u8>> {
    let n: usize = dims.iter().product();
    if n != data.len() {
        return Err(Error::Usage(format!(
            "npy: shape {dims:?} holds {n} values, got {}",
            data.len()
        )));
    }
    let shape = match dims {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + header length (2) + header, padded with spaces and ended by
    // a newline to a multiple of 64 bytes, as NumPy writes it.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 4 * data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// Writes `data` with shape `dims` to `path` as `.npy`, atomically.
pub fn write_f32(path: &Path, dims: &[usize], data: &[f32]) -> Result<()> {
    vaecam_tensor::io::write_atomic(path, &encode_f32(dims, data)?).map_err(Error::from)
}

/// Reads an `.npy` float32 C-order file back: (shape, values). For tests and tools.
pub fn read_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let bad = |m: &str| Error::Io {
        path: path.to_path_buf(),
        msg: format!("not a float32 .npy file: {m}"),
    };
    let b = std::fs::read(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    if b.len() < 10 || &b[..6] != b"\x93NUMPY" || b[6] != 1 {
        return Err(bad("no version 1 magic"));
    }
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(b.get(10..10 + hl).ok_or_else(|| bad("short header"))?)
        .map_err(|_| bad("header is not text"))?;
    if !header.contains("'descr': '<f4'") || !header.contains("'fortran_order': False") {
        return Err(bad("not little-endian float32 in C order"));
    }
    let open = header.find("'shape': (").ok_or_else(|| bad("no shape"))? + 10;
    let close = open + header[open..].find(')').ok_or_else(|| bad("no shape"))?;
    let dims: Vec<usize> = header[open..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad("bad shape")))
        .collect::<Result<_>>()?;
    let data: Vec<f32> = b[10 + hl..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if data.len() != dims.iter().product::<usize>() {
        return Err(bad("data length does not match the shape"));
    }
    Ok((dims, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_round_trips() {
        let b = encode_f32(&[2, 3], &[1., 2., 3., 4., 5., 6.]).unwrap();
        let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hl) % 64, 0);
        assert_eq!(b[10 + hl - 1], b'\n');
        let p = std::env::temp_dir().join(format!("vaecam-npy-{}.npy", std::process::id()));
        write_f32(&p, &[2, 3], &[1., 2., 3., 4., 5., 6.]).unwrap();
        assert_eq!(
            read_f32(&p).unwrap(),
            (vec![2, 3], vec![1., 2., 3., 4., 5., 6.])
        );
        assert!(encode_f32(&[2, 2], &[1.0]).is_err());
    }
}
