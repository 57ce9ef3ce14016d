//! `vaecam export-arch`: a trained run as an architecture file plus its weights as a plain
//! `state_dict`, the pair `explain`, `reconstruct` and `localize` accept as `--arch/--weights`
//! (the same files an imported PyTorch model comes as).

use crate::error::{Error, Result};
use clap::Args;
use std::path::PathBuf;
use vaecam_tensor::Device;

/// Options of `vaecam export-arch`.
#[derive(Args, Debug, Clone)]
pub struct ExportArchArgs {
    /// The run folder written by `vaecam train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Output folder for arch.json and weights.safetensors (default: the run folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace existing arch.json / weights.safetensors there.
    #[arg(long)]
    pub force: bool,
}

/// Runs `vaecam export-arch`.
pub fn run(a: ExportArchArgs) -> Result<()> {
    let dir = a.out.clone().unwrap_or_else(|| a.run.clone());
    let arch = dir.join("arch.json");
    let weights = dir.join("weights.safetensors");
    if !a.force {
        if let Some(p) = [&arch, &weights].into_iter().find(|p| p.exists()) {
            return Err(Error::Usage(format!(
                "{} exists; pass --force to replace it",
                p.display()
            )));
        }
    }
    let (vae, _) = vaecam_vae::load_model(&a.run, &Device::cpu())?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io {
        path: dir.clone(),
        msg: e.to_string(),
    })?;
    vaecam_tensor::io::write_atomic(&arch, vae.arch_file.to_json().as_bytes())?;
    vaecam_tensor::io::save(&weights, &vae.state(), None)?;
    eprintln!(
        "wrote {} and {} (use them as --arch/--weights)",
        arch.display(),
        weights.display()
    );
    Ok(())
}
