//! Where a command's model comes from: a run folder trained by vaecam (`--run`), or an
//! architecture file with PyTorch weights (`--arch` + `--weights`). Both are built by the
//! same loader (`vaecam_vae::archfile`); this is the one place commands open models.

use crate::error::{Error, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use vaecam_tensor::Device;
use vaecam_vae::{archfile, RunConfig, Vae};

/// Builds the model of an architecture file and loads a PyTorch `state_dict` into it, in
/// evaluation mode. Tensors of the file the architecture does not use are reported in one
/// warning line on stderr; integer tensors (`num_batches_tracked`) are skipped silently.
pub fn load_model(arch: &Path, weights: &Path, dev: &Device) -> Result<Vae> {
    let file = archfile::read(arch)?;
    let vae = Vae::from_arch_file(&file, 0, dev)
        .map_err(|e| Error::Usage(format!("{}: {e}", arch.display())))?;
    let report = vae.load_weights(weights)?;
    if let Some(w) = report.unused_warning(weights) {
        eprintln!("{w}");
    }
    vae.set_training(false);
    Ok(vae)
}

/// The model flags shared by `explain`, `reconstruct` (and `localize`): `--run`, or `--arch`
/// with `--weights`.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// The run folder written by `vaecam train`.
    #[arg(long, conflicts_with_all = ["arch", "weights"], required_unless_present = "arch")]
    pub run: Option<PathBuf>,
    /// An architecture file (docs/architecture-files.md), with --weights.
    #[arg(long, requires = "weights")]
    pub arch: Option<PathBuf>,
    /// A PyTorch state_dict saved with safetensors.torch.save_file, with --arch.
    #[arg(long, requires = "arch")]
    pub weights: Option<PathBuf>,
}

/// A model and, for a run folder, its run configuration.
pub struct LoadedModel {
    /// The model, in evaluation mode.
    pub vae: Vae,
    /// The run's configuration (None for an imported model).
    pub run: Option<RunConfig>,
    /// How to name the model in outputs (the run folder or the weights file).
    pub label: String,
}

impl ModelArgs {
    /// Opens the model the flags name.
    pub fn open(&self, dev: &Device) -> Result<LoadedModel> {
        match (&self.run, &self.arch, &self.weights) {
            (Some(run), None, None) => {
                let (vae, cfg) = vaecam_vae::load_model(run, dev)?;
                Ok(LoadedModel {
                    vae,
                    run: Some(cfg),
                    label: run.display().to_string(),
                })
            }
            (None, Some(arch), Some(weights)) => Ok(LoadedModel {
                vae: load_model(arch, weights, dev)?,
                run: None,
                label: weights.display().to_string(),
            }),
            _ => Err(Error::Usage(
                "name the model with --run RUN_DIR, or with --arch FILE.json and --weights FILE.safetensors".into(),
            )),
        }
    }
}
