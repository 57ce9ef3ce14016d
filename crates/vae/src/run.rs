//! A run folder's settings and files: the options of a training run, its `config.json`, how
//! an existing run folder is treated, and loading a trained model from one.

use crate::arch::{Vae, VaeConfig};
use crate::error::{Result, VaeError};
use serde::{Deserialize, Serialize};
use std::path::Path;
use vaecam_tensor::{io, Device, Tensor};

/// FactorVAE settings (METHOD.md: gamma, discriminator Adam lr 1e-4, betas (0.5, 0.9)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FactorOptions {
    /// Weight of the total-correlation term.
    pub gamma: f32,
    /// Discriminator learning rate.
    pub lr: f32,
    /// Discriminator Adam betas.
    pub betas: (f32, f32),
    /// Discriminator hidden width.
    pub hidden: usize,
}

impl FactorOptions {
    /// The paper's settings for a given gamma.
    pub fn with_gamma(gamma: f32) -> Self {
        FactorOptions {
            gamma,
            lr: 1e-4,
            betas: (0.5, 0.9),
            hidden: 1000,
        }
    }
}

/// How to train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Total steps of the run (a resumed run continues up to this count).
    pub steps: u64,
    /// Images per step (FactorVAE draws a second batch of the same size for its discriminator).
    pub batch_size: usize,
    /// VAE learning rate.
    pub lr: f32,
    /// VAE Adam betas.
    pub betas: (f32, f32),
    /// KL weight (1 = VAE, > 1 = beta-VAE).
    pub beta: f32,
    /// FactorVAE, when set.
    pub factor: Option<FactorOptions>,
    /// Seed of initialisation, noise and data order.
    pub seed: u64,
    /// Steps between checkpoints (0 = only at the end).
    pub checkpoint_every: u64,
    /// Steps between log lines.
    pub log_every: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            steps: 1000,
            batch_size: 64,
            lr: 1e-4,
            betas: (0.9, 0.999),
            beta: 1.0,
            factor: None,
            seed: 0,
            checkpoint_every: 500,
            log_every: 10,
        }
    }
}

/// Everything a run folder's `config.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// The model.
    pub model: VaeConfig,
    /// The training settings.
    pub train: TrainOptions,
    /// The data spec the run was trained on (e.g. `dsprites`, `synthetic:wood`).
    pub data: String,
    /// Settings of extra loss terms and other tools (free-form JSON).
    #[serde(default)]
    pub extra: serde_json::Value,
}

impl RunConfig {
    /// Checks every setting, naming the bad one; called before a run folder is touched.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        let t = &self.train;
        let bad = |what: &str, v: String| Err(VaeError::Config(format!("invalid {what}: {v}")));
        if t.steps == 0 {
            return bad("step count", "0 (a run needs at least one step)".into());
        }
        if t.batch_size == 0 {
            return bad("batch size", "0".into());
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            return bad(
                "learning rate",
                format!("{} (must be finite and > 0)", t.lr),
            );
        }
        if !(t.beta.is_finite() && t.beta >= 0.0) {
            return bad("beta", format!("{} (must be finite and >= 0)", t.beta));
        }
        if let Some(f) = &t.factor {
            if !(f.gamma.is_finite() && f.gamma >= 0.0) {
                return bad(
                    "FactorVAE gamma",
                    format!("{} (must be finite and >= 0)", f.gamma),
                );
            }
            if !(f.lr.is_finite() && f.lr > 0.0) || f.hidden == 0 {
                return bad(
                    "discriminator settings",
                    format!("lr {}, hidden {}", f.lr, f.hidden),
                );
            }
        }
        Ok(())
    }

    /// Images one step draws from the data: the batch, twice over for FactorVAE (whose
    /// discriminator takes a second, independent batch).
    pub fn images_per_step(&self) -> usize {
        let b = self.train.batch_size;
        if self.train.factor.is_some() {
            2 * b
        } else {
            b
        }
    }
}

/// How to treat an existing run folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    /// The folder must not hold a run.
    New,
    /// Continue the run in the folder from its checkpoint.
    Resume,
    /// Replace the run in the folder. The old run's files stay untouched until the new run
    /// writes its first checkpoint: a new run that fails before that loses nothing.
    Force,
}

/// Checkpoint file name inside a run folder.
pub const CHECKPOINT: &str = "checkpoint.safetensors";
/// Config file name inside a run folder.
pub const CONFIG: &str = "config.json";
/// Log file name inside a run folder.
pub const LOG: &str = "log.jsonl";

pub(crate) fn run_err(path: &Path, msg: impl Into<String>) -> VaeError {
    VaeError::Run {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Copies the checkpoint's tensors into `targets` (same names and shapes, or an error naming
/// the tensor: a checkpoint of another architecture is refused).
pub(crate) fn assign_from(
    ck: &io::Checkpoint,
    path: &Path,
    targets: &[(String, Tensor)],
) -> Result<()> {
    for (name, t) in targets {
        let fail = |msg: String| {
            VaeError::Engine(vaecam_tensor::Error::Checkpoint {
                path: path.to_path_buf(),
                tensor: name.clone(),
                msg,
            })
        };
        let src = ck
            .get(name)
            .ok_or_else(|| fail("missing from the checkpoint (another architecture?)".into()))?;
        if src.shape() != t.shape() {
            return Err(fail(format!(
                "shape {} in the file, {} in the model",
                src.shape(),
                t.shape()
            )));
        }
        t.assign(src)?;
    }
    Ok(())
}

/// Reads a run folder's config.json.
pub fn read_run_config(run_dir: &Path) -> Result<RunConfig> {
    let p = run_dir.join(CONFIG);
    let text = std::fs::read_to_string(&p)
        .map_err(|e| run_err(&p, format!("cannot read the run's config: {e}")))?;
    serde_json::from_str(&text).map_err(|e| run_err(&p, format!("not a vaecam run config: {e}")))
}

/// Loads a trained model from a run folder (its config and checkpoint), in evaluation mode.
pub fn load_model(run_dir: &Path, device: &Device) -> Result<(Vae, RunConfig)> {
    let config = read_run_config(run_dir)?;
    let ck = run_dir.join(CHECKPOINT);
    if !ck.is_file() {
        return Err(run_err(
            &ck,
            "the run folder has no checkpoint (was training started?)",
        ));
    }
    let vae = Vae::new(&config.model, config.train.seed, device)?;
    let targets: Vec<(String, Tensor)> = vae
        .state()
        .into_iter()
        .map(|(n, t)| (format!("model.{n}"), t))
        .collect();
    assign_from(&io::load(&ck, device)?, &ck, &targets)?;
    vae.set_training(false);
    Ok((vae, config))
}
