//! Architecture files: a VAE as JSON layer lists with PyTorch tensor names
//! (`docs/architecture-files.md`). The built-in architectures are such files too
//! ([`builtin`]), so a model trained here and one imported from PyTorch go through one loader.

pub mod build;
pub mod builtin;
pub mod schema;
pub mod validate;

pub use schema::*;
pub use validate::{validate, Activation};

use crate::error::{Result, VaeError};
use std::path::Path;

fn config_err(path: Option<&Path>, msg: impl std::fmt::Display) -> VaeError {
    match path {
        Some(p) => VaeError::Config(format!("{}: {msg}", p.display())),
        None => VaeError::Config(msg.to_string()),
    }
}

/// Finds which layer a deserialisation error comes from, so that the message names it.
fn locate(value: &serde_json::Value) -> Option<String> {
    for section in ["encoder", "decoder"] {
        let layers = value.get(section)?.get("layers")?.as_array()?;
        for (i, l) in layers.iter().enumerate() {
            if let Err(e) = serde_json::from_value::<LayerSpec>(l.clone()) {
                let name = l.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                return Some(format!("{section} layer {i} ('{name}'): {e}"));
            }
        }
    }
    let head = value.get("encoder")?.get("head")?;
    if let Err(e) = serde_json::from_value::<HeadSpec>(head.clone()) {
        let name = head.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        return Some(format!("encoder head ('{name}'): {e}"));
    }
    None
}

/// Parses and validates an architecture file's text; `path` is only used in messages.
pub fn parse(text: &str, path: Option<&Path>) -> Result<ArchFile> {
    let file: ArchFile = match serde_json::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            let msg = match serde_json::from_str::<serde_json::Value>(text) {
                Err(_) => format!("not valid JSON: {e}"),
                Ok(v) => locate(&v).unwrap_or_else(|| e.to_string()),
            };
            return Err(config_err(path, msg));
        }
    };
    validate(&file).map_err(|m| config_err(path, m))?;
    Ok(file)
}

/// Reads, parses and validates an architecture file.
pub fn read(path: &Path) -> Result<ArchFile> {
    let text = std::fs::read_to_string(path).map_err(|e| VaeError::Run {
        path: path.to_path_buf(),
        msg: format!("cannot read the architecture file: {e}"),
    })?;
    parse(&text, Some(path))
}

impl ArchFile {
    /// The file as pretty JSON (what `vaecam export-arch` writes).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serialises")
    }
}
