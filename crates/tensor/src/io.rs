//! Checkpoints as `.safetensors` files (the format PyTorch's `safetensors` reads and writes).
//! Writes go to a temporary file that is renamed into place, so a crash never leaves a
//! half-written checkpoint under the real name.

use crate::device::Device;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use safetensors::tensor::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

fn io_err(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    }
}

fn ckpt_err(path: &Path, tensor: &str, msg: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        tensor: tensor.to_string(),
        msg: msg.into(),
    }
}

/// Writes `bytes` to `path` atomically: a sibling temporary file, fsync, then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io_err(path, "not a file path"))?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(path, format!("cannot write: {e}")));
    }
    Ok(())
}

/// Saves named tensors (f32) and string metadata to a `.safetensors` file, atomically.
///
/// The header is written with sorted keys (tensors in name order), so the same tensors and
/// metadata always give the same bytes: a resumed run's checkpoint can be compared byte for
/// byte with an uninterrupted one.
pub fn save(
    path: impl AsRef<Path>,
    tensors: &[(String, Tensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let path = path.as_ref();
    let mut sorted: Vec<&(String, Tensor)> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(ckpt_err(path, &w[0].0, "duplicate tensor name"));
    }
    let mut header = serde_json::Map::new();
    if let Some(m) = metadata {
        let m: serde_json::Map<String, serde_json::Value> = m
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        header.insert("__metadata__".into(), serde_json::Value::Object(m));
    }
    let mut data: Vec<u8> = Vec::new();
    for (name, t) in sorted {
        if name == "__metadata__" {
            return Err(ckpt_err(path, name, "reserved name"));
        }
        let start = data.len();
        for v in t.to_vec()? {
            data.extend_from_slice(&v.to_le_bytes());
        }
        header.insert(name.clone(), serde_json::json!({"dtype": "F32", "shape": t.dims(), "data_offsets": [start, data.len()]}));
    }
    let mut head =
        serde_json::to_vec(&serde_json::Value::Object(header)).map_err(|e| io_err(path, e))?;
    // The format pads the header with spaces to a multiple of 8 bytes.
    head.resize(head.len().next_multiple_of(8), b' ');
    let mut buf = Vec::with_capacity(8 + head.len() + data.len());
    buf.extend_from_slice(&(head.len() as u64).to_le_bytes());
    buf.extend_from_slice(&head);
    buf.extend_from_slice(&data);
    write_atomic(path, &buf)
}

/// The contents of a checkpoint file.
#[derive(Debug)]
pub struct Checkpoint {
    /// Tensors in file order of names (sorted).
    pub tensors: Vec<(String, Tensor)>,
    /// The string metadata (`__metadata__`), empty when absent.
    pub metadata: HashMap<String, String>,
    /// Integer and boolean tensors of the file (PyTorch's BatchNorm `num_batches_tracked`),
    /// which no model of vaecam uses: skipped, named here.
    pub ignored: Vec<String>,
}

impl Checkpoint {
    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

fn to_f32(path: &Path, name: &str, dtype: Dtype, data: &[u8]) -> Result<Vec<f32>> {
    let f16 = |b: u16| -> f32 {
        let sign = ((b >> 15) as u32) << 31;
        let exp = ((b >> 10) & 0x1f) as u32;
        let man = (b & 0x3ff) as u32;
        let bits = match (exp, man) {
            (0, 0) => sign,
            (0, m) => {
                // Subnormal half: renormalise.
                let mut e = 127 - 15 + 1;
                let mut m = m;
                while m & 0x400 == 0 {
                    m <<= 1;
                    e -= 1;
                }
                sign | (e << 23) | ((m & 0x3ff) << 13)
            }
            (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
            (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
        };
        f32::from_bits(bits)
    };
    Ok(match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| f16(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
            .collect(),
        other => {
            return Err(ckpt_err(
                path,
                name,
                format!("dtype {other:?} is not supported (f32, f64, f16, bf16 are)"),
            ))
        }
    })
}

/// Reads the JSON header by hand so that a file cut short in its data section is reported
/// with the first tensor that lies past the end (the safetensors crate only says "incomplete").
fn check_truncation(path: &Path, buf: &[u8]) -> Result<()> {
    if buf.len() < 8 {
        return Err(io_err(
            path,
            format!(
                "not a safetensors file: {} bytes, shorter than the 8-byte header length",
                buf.len()
            ),
        ));
    }
    let n = u64::from_le_bytes(buf[..8].try_into().expect("8 bytes")) as usize;
    if n > buf.len() - 8 {
        return Err(io_err(
            path,
            format!(
                "truncated or corrupt: header of {n} bytes but only {} bytes follow",
                buf.len() - 8
            ),
        ));
    }
    let header: serde_json::Value = serde_json::from_slice(&buf[8..8 + n])
        .map_err(|e| io_err(path, format!("corrupt header JSON: {e}")))?;
    let available = buf.len() - 8 - n;
    let mut ends: Vec<(String, u64)> = header
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "__metadata__")
        .filter_map(|(k, v)| Some((k.clone(), v.get("data_offsets")?.get(1)?.as_u64()?)))
        .collect();
    ends.sort_by_key(|e| e.1);
    if let Some((name, end)) = ends.iter().find(|(_, end)| *end as usize > available) {
        return Err(ckpt_err(path, name, format!("file is truncated: the data section has {available} bytes, this tensor ends at byte {end}")));
    }
    Ok(())
}

fn is_integer(dtype: Dtype) -> bool {
    matches!(
        dtype,
        Dtype::BOOL
            | Dtype::U8
            | Dtype::I8
            | Dtype::I16
            | Dtype::U16
            | Dtype::I32
            | Dtype::U32
            | Dtype::I64
            | Dtype::U64
    )
}

/// Loads every floating-point tensor of a `.safetensors` file onto `device` (f16/bf16/f64
/// converted to f32); integer and boolean tensors are skipped and listed in
/// [`Checkpoint::ignored`]. A truncated or corrupt file, or a tensor holding NaN or an
/// infinity, is an error naming the file and, where it can tell, the tensor.
pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Checkpoint> {
    let path = path.as_ref();
    let buf = std::fs::read(path).map_err(|e| io_err(path, format!("cannot read: {e}")))?;
    load_bytes(&buf, path, device)
}

/// Like [`load`], from the bytes of a file already in memory (a browser's file picker);
/// `source` names it in errors.
pub fn load_bytes(buf: &[u8], source: impl AsRef<Path>, device: &Device) -> Result<Checkpoint> {
    let (path, buf) = (source.as_ref(), buf);
    check_truncation(path, buf)?;
    let st = SafeTensors::deserialize(buf)
        .map_err(|e| io_err(path, format!("corrupt safetensors file: {e}")))?;
    let mut names = st.names().into_iter().map(String::from).collect::<Vec<_>>();
    names.sort();
    let mut tensors = Vec::with_capacity(names.len());
    let mut ignored = Vec::new();
    for name in names {
        let view = st
            .tensor(&name)
            .map_err(|e| ckpt_err(path, &name, e.to_string()))?;
        if is_integer(view.dtype()) {
            ignored.push(name);
            continue;
        }
        let data = to_f32(path, &name, view.dtype(), view.data())?;
        if let Some((i, v)) = data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            let bad = data.iter().filter(|v| !v.is_finite()).count();
            return Err(ckpt_err(
                path,
                &name,
                format!(
                    "holds {bad} non-finite value(s) (element {i} is {v}): the weights diverged; \
                     refusing to use them"
                ),
            ));
        }
        let t = Tensor::from_vec(data, view.shape().to_vec(), device)
            .map_err(|e| ckpt_err(path, &name, e.to_string()))?;
        tensors.push((name, t));
    }
    let (_, meta) = SafeTensors::read_metadata(buf)
        .map_err(|e| io_err(path, format!("corrupt safetensors header: {e}")))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    Ok(Checkpoint {
        tensors,
        metadata,
        ignored,
    })
}

/// What [`load_state_dict`] did besides filling the model.
#[derive(Debug, Default)]
pub struct StateDictReport {
    /// Floating-point tensors of the file that the model does not use, sorted.
    pub unused: Vec<String>,
    /// Integer tensors skipped (e.g. `num_batches_tracked`), sorted.
    pub ignored: Vec<String>,
    /// The file's string metadata.
    pub metadata: HashMap<String, String>,
}

impl StateDictReport {
    /// One warning line listing the unused tensors, or None when every tensor was used.
    pub fn unused_warning(&self, path: &Path) -> Option<String> {
        if self.unused.is_empty() {
            return None;
        }
        Some(format!(
            "warning: {}: {} tensor(s) not used by the architecture: {}",
            path.display(),
            self.unused.len(),
            self.unused.join(", ")
        ))
    }
}

/// Loads a PyTorch `state_dict` (saved with `safetensors.torch.save_file`) into existing
/// tensors in place. Every target must be in the file with the same shape (the error names the
/// tensor and both shapes); tensors the file has and the targets do not are listed in the
/// report, not refused; integer tensors are skipped. Nothing is assigned unless every target
/// checks out.
pub fn load_state_dict(
    path: impl AsRef<Path>,
    targets: &[(String, Tensor)],
) -> Result<StateDictReport> {
    let path = path.as_ref();
    let buf = std::fs::read(path).map_err(|e| io_err(path, format!("cannot read: {e}")))?;
    load_state_dict_bytes(&buf, path, targets)
}

/// Like [`load_state_dict`], from the bytes of a file already in memory; `source` names it
/// in errors.
pub fn load_state_dict_bytes(
    buf: &[u8],
    source: impl AsRef<Path>,
    targets: &[(String, Tensor)],
) -> Result<StateDictReport> {
    let path = source.as_ref();
    let device = targets
        .first()
        .map(|(_, t)| t.device().clone())
        .unwrap_or(Device::Cpu);
    let ck = load_bytes(buf, path, &device)?;
    for (name, t) in targets {
        match ck.get(name) {
            None if ck.ignored.contains(name) => {
                return Err(ckpt_err(
                    path,
                    name,
                    format!(
                        "is an integer tensor in the file, the model needs floats of shape {}",
                        t.shape()
                    ),
                ))
            }
            None => {
                return Err(ckpt_err(
                    path,
                    name,
                    format!(
                        "missing from the file (the model needs shape {})",
                        t.shape()
                    ),
                ))
            }
            Some(src) if src.shape() != t.shape() => {
                return Err(ckpt_err(
                    path,
                    name,
                    format!(
                        "shape {} in the file, {} in the model",
                        src.shape(),
                        t.shape()
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    for (name, t) in targets {
        t.assign(ck.get(name).expect("checked above"))?;
    }
    let unused = ck
        .tensors
        .iter()
        .filter(|(n, _)| !targets.iter().any(|(t, _)| t == n))
        .map(|(n, _)| n.clone())
        .collect();
    Ok(StateDictReport {
        unused,
        ignored: ck.ignored,
        metadata: ck.metadata,
    })
}

/// Loads a checkpoint into existing tensors (parameters, buffers) in place. Every target must
/// be in the file with the same shape, and the file must hold nothing else: a checkpoint of
/// another architecture is refused with the first tensor that differs.
pub fn load_into(
    path: impl AsRef<Path>,
    targets: &[(String, Tensor)],
) -> Result<HashMap<String, String>> {
    let path = path.as_ref();
    let device = targets
        .first()
        .map(|(_, t)| t.device().clone())
        .unwrap_or(Device::Cpu);
    let ck = load(path, &device)?;
    for (name, t) in targets {
        let Some(src) = ck.get(name) else {
            return Err(ckpt_err(
                path,
                name,
                "missing from the checkpoint (was it saved by another architecture?)",
            ));
        };
        if src.shape() != t.shape() {
            return Err(ckpt_err(
                path,
                name,
                format!(
                    "shape {} in the file, {} in the model",
                    src.shape(),
                    t.shape()
                ),
            ));
        }
    }
    if let Some((extra, _)) = ck
        .tensors
        .iter()
        .find(|(n, _)| !targets.iter().any(|(t, _)| t == n))
    {
        return Err(ckpt_err(
            path,
            extra,
            "in the checkpoint but not in the model (another architecture?)",
        ));
    }
    for (name, t) in targets {
        t.assign(ck.get(name).expect("checked above"))?;
    }
    Ok(ck.metadata)
}
