//! Training that never loses work: atomic checkpoints (model, optimizer, step, seed, config)
//! every N steps and at the end; `resume` continues with the same losses as an uninterrupted
//! run; a non-finite loss stops training and leaves the last good checkpoint in place.

use crate::arch::{Vae, VaeOutput};
use crate::error::{Result, VaeError};
use crate::factor;
use crate::loss::{kl_divergence, reconstruction_loss};
use crate::run::{assign_from, run_err};
// The run folder's types live in `run`; re-exported here, where users first look for them.
pub use crate::run::{
    load_model, read_run_config, FactorOptions, RunConfig, RunMode, TrainOptions, CHECKPOINT,
    CONFIG, LOG,
};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use vaecam_tensor::nn::Sequential;
use vaecam_tensor::optim::{Adam, AdamConfig};
use vaecam_tensor::rng::derive_seed;
use vaecam_tensor::{io, no_grad, Device, Tensor};

/// What a step's forward pass offers an extra loss term.
pub struct LossContext<'a> {
    /// The model.
    pub vae: &'a Vae,
    /// The input batch.
    pub x: &'a Tensor,
    /// The forward pass.
    pub out: &'a VaeOutput,
    /// Activations of the layers the term asked for in [`ExtraLoss::taps`], in that order.
    pub taps: &'a [Tensor],
    /// The step number (0-based).
    pub step: u64,
}

/// A loss term added to the VAE loss (the attention-disentanglement loss plugs in here).
pub trait ExtraLoss: Send {
    /// The name under which it is logged.
    fn name(&self) -> &str;
    /// Encoder layers whose activations the term needs.
    fn taps(&self) -> Vec<String> {
        Vec::new()
    }
    /// The weighted term to add (already multiplied by its weight).
    fn loss(&mut self, ctx: &LossContext) -> vaecam_tensor::Result<Tensor>;
}

/// A source of training batches. `batch(step)` must depend only on the step (and the
/// source's seed), so that a resumed run sees the same data.
pub trait BatchSource {
    /// NCHW values in [0, 1] for step `step`, and the shape.
    fn batch(&mut self, step: u64) -> Result<(Vec<f32>, [usize; 4])>;
}

/// One step's numbers.
#[derive(Clone, Debug)]
pub struct StepReport {
    /// The step just taken (1-based count of steps done).
    pub step: u64,
    /// Loss parts, `total` first.
    pub parts: Vec<(String, f32)>,
    /// Images per second of this step.
    pub images_per_sec: f64,
}

/// Trains a VAE (or beta-VAE, FactorVAE, plus extra terms) into a run folder.
pub struct Trainer {
    /// The model.
    pub vae: Vae,
    /// The run's configuration.
    pub config: RunConfig,
    opt: Adam,
    disc: Option<(Sequential, Adam)>,
    run_dir: PathBuf,
    step: u64,
    last_checkpoint: Option<u64>,
    /// `Force` until the first checkpoint: config.json and log.jsonl are held here, and the
    /// old run's files are replaced only when that checkpoint is on disk.
    pending_replace: Option<Vec<String>>,
    extras: Vec<Box<dyn ExtraLoss>>,
    device: Device,
}

impl Trainer {
    /// Opens a run folder: a new run, a resumed one, or a forced replacement.
    pub fn create(
        run_dir: &Path,
        mut config: RunConfig,
        mode: RunMode,
        device: &Device,
    ) -> Result<Self> {
        let cfg_path = run_dir.join(CONFIG);
        let exists = cfg_path.exists() || run_dir.join(CHECKPOINT).exists();
        match mode {
            RunMode::New if exists => {
                return Err(run_err(run_dir, "already holds a run (config.json or checkpoint); pass --resume to continue it or --force to replace it"));
            }
            RunMode::Resume => {
                if !exists {
                    return Err(run_err(run_dir, "holds no run to resume (no config.json)"));
                }
                let stored = read_run_config(run_dir)?;
                // The stored run defines the model and the data; the step target, the
                // learning rate and the checkpoint interval are the caller's (a caller that
                // allows changing them checks and records that, see the CLI's RunFolder).
                let extra = if config.extra.is_null() {
                    stored.extra.clone()
                } else {
                    config.extra.clone()
                };
                config = RunConfig {
                    train: TrainOptions {
                        steps: config.train.steps,
                        lr: config.train.lr,
                        checkpoint_every: config.train.checkpoint_every,
                        ..stored.train.clone()
                    },
                    extra,
                    ..stored
                };
            }
            RunMode::Force | RunMode::New => {}
        }
        config.validate()?;
        let t = &config.train;
        let vae = Vae::new(&config.model, t.seed, device)?;
        let opt = Adam::new(
            vae.parameters(),
            AdamConfig {
                lr: t.lr,
                betas: t.betas,
                eps: 1e-8,
                weight_decay: 0.0,
            },
        )?;
        let disc = match &t.factor {
            Some(f) => {
                let d = factor::discriminator(
                    config.model.z_dim,
                    f.hidden,
                    derive_seed(t.seed, 77),
                    device,
                )?;
                let o = Adam::new(
                    vaecam_tensor::nn::parameters(&d),
                    AdamConfig {
                        lr: f.lr,
                        betas: f.betas,
                        eps: 1e-8,
                        weight_decay: 0.0,
                    },
                )?;
                Some((d, o))
            }
            None => None,
        };
        let replacing = mode == RunMode::Force && exists;
        let mut tr = Trainer {
            vae,
            config,
            opt,
            disc,
            run_dir: run_dir.to_path_buf(),
            step: 0,
            last_checkpoint: None,
            pending_replace: replacing.then(Vec::new),
            extras: Vec::new(),
            device: device.clone(),
        };
        if mode == RunMode::Resume {
            tr.load_checkpoint()?;
        }
        if !replacing {
            // Everything is checked: only now does the folder come into being.
            std::fs::create_dir_all(run_dir)
                .map_err(|e| run_err(run_dir, format!("cannot create the run folder: {e}")))?;
            tr.write_config()?;
        }
        Ok(tr)
    }

    fn write_config(&self) -> Result<()> {
        let json = serde_json::to_string_pretty(&self.config)
            .map_err(|e| VaeError::Serde(format!("run config: {e}")))?;
        io::write_atomic(&self.run_dir.join(CONFIG), json.as_bytes())?;
        Ok(())
    }

    /// The step of the last checkpoint this run wrote or resumed from (None: none yet).
    pub fn last_checkpoint(&self) -> Option<u64> {
        self.last_checkpoint
    }

    /// True while a `Force` run has not yet replaced the old run's files.
    pub fn is_replacing(&self) -> bool {
        self.pending_replace.is_some()
    }

    /// Adds a loss term.
    pub fn add_loss(&mut self, term: Box<dyn ExtraLoss>) {
        self.extras.push(term);
    }
    /// Steps done so far.
    pub fn step(&self) -> u64 {
        self.step
    }
    /// The run folder.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }
    /// The FactorVAE discriminator, if any.
    pub fn discriminator(&self) -> Option<&Sequential> {
        self.disc.as_ref().map(|d| &d.0)
    }

    fn checkpoint_tensors(&self) -> vaecam_tensor::Result<Vec<(String, Tensor)>> {
        let mut v: Vec<(String, Tensor)> = self
            .vae
            .state()
            .into_iter()
            .map(|(n, t)| (format!("model.{n}"), t))
            .collect();
        v.extend(
            self.opt
                .state()?
                .into_iter()
                .map(|(n, t)| (format!("optim.{n}"), t)),
        );
        if let Some((d, o)) = &self.disc {
            v.extend(
                vaecam_tensor::nn::state(d)
                    .into_iter()
                    .map(|(n, t)| (format!("disc.{n}"), t)),
            );
            v.extend(
                o.state()?
                    .into_iter()
                    .map(|(n, t)| (format!("disc_optim.{n}"), t)),
            );
        }
        Ok(v)
    }

    /// Writes the checkpoint atomically (model, optimizer(s), step, seed, config), after
    /// checking that every tensor is finite: a checkpoint on disk is always one to resume from.
    /// A `Force` run's first checkpoint then replaces the old run's config and log.
    pub fn save_checkpoint(&mut self) -> Result<()> {
        let tensors = self.checkpoint_tensors()?;
        for (name, t) in &tensors {
            if let Some(v) = t.to_vec()?.into_iter().find(|v| !v.is_finite()) {
                return Err(VaeError::NonFiniteState {
                    step: self.step,
                    tensor: name.clone(),
                    value: v,
                    last_checkpoint: self.last_checkpoint,
                });
            }
        }
        let meta = HashMap::from([
            ("format".to_string(), "vaecam-run-v1".to_string()),
            ("step".to_string(), self.step.to_string()),
            ("seed".to_string(), self.config.train.seed.to_string()),
            (
                "config".to_string(),
                serde_json::to_string(&self.config).map_err(|e| VaeError::Config(e.to_string()))?,
            ),
        ]);
        io::save(self.run_dir.join(CHECKPOINT), &tensors, Some(meta))?;
        self.last_checkpoint = Some(self.step);
        if let Some(lines) = self.pending_replace.take() {
            // The new checkpoint is on disk: the old run's config and log go now.
            self.write_config()?;
            let mut text = lines.join("\n");
            if !text.is_empty() {
                text.push('\n');
            }
            io::write_atomic(&self.run_dir.join(LOG), text.as_bytes())?;
        }
        Ok(())
    }

    fn load_checkpoint(&mut self) -> Result<()> {
        let path = self.run_dir.join(CHECKPOINT);
        if !path.is_file() {
            return Err(run_err(&path, "no checkpoint to resume from"));
        }
        let ck = io::load(&path, &self.device)?;
        // Weights (model, discriminator) in place; optimizer moments and steps through their own loaders.
        let mut weights: Vec<(String, Tensor)> = self
            .vae
            .state()
            .into_iter()
            .map(|(n, t)| (format!("model.{n}"), t))
            .collect();
        if let Some((d, _)) = &self.disc {
            weights.extend(
                vaecam_tensor::nn::state(d)
                    .into_iter()
                    .map(|(n, t)| (format!("disc.{n}"), t)),
            );
        }
        assign_from(&ck, &path, &weights)?;
        let strip = |prefix: &str| -> Vec<(String, Tensor)> {
            ck.tensors
                .iter()
                .filter_map(|(n, t)| n.strip_prefix(prefix).map(|s| (s.to_string(), t.clone())))
                .collect()
        };
        self.opt
            .load_state(&strip("optim."))
            .map_err(|e| run_err(&path, format!("optimizer state: {e}")))?;
        if let Some((_, o)) = &mut self.disc {
            o.load_state(&strip("disc_optim."))
                .map_err(|e| run_err(&path, format!("discriminator optimizer state: {e}")))?;
        }
        let step: u64 = ck
            .metadata
            .get("step")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| run_err(&path, "checkpoint metadata has no step"))?;
        self.step = step;
        self.last_checkpoint = Some(step);
        self.truncate_log(step)?;
        Ok(())
    }

    /// Drops log lines past `step` (written after the checkpoint by a run that then died).
    fn truncate_log(&self, step: u64) -> Result<()> {
        let p = self.run_dir.join(LOG);
        let Ok(text) = std::fs::read_to_string(&p) else {
            return Ok(());
        };
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .ok()
                    .and_then(|v| v.get("step")?.as_u64())
                    .is_some_and(|s| s <= step)
            })
            .collect();
        let mut out = kept.join("\n");
        if !out.is_empty() {
            out.push('\n');
        }
        io::write_atomic(&p, out.as_bytes())?;
        Ok(())
    }

    fn check(&self, step: u64, part: &str, v: f32) -> Result<()> {
        if v.is_finite() {
            Ok(())
        } else {
            Err(VaeError::NonFinite {
                step,
                part: part.to_string(),
                value: v,
                last_checkpoint: self.last_checkpoint,
            })
        }
    }

    /// One optimisation step on batch `x` (FactorVAE: the first half trains the VAE, the
    /// second half feeds the discriminator). Returns the loss parts.
    pub fn train_step(&mut self, x: &Tensor) -> Result<Vec<(String, f32)>> {
        let step = self.step;
        let seed = self.config.train.seed;
        let n = x.dims()[0];
        let (x1, x2) = if self.disc.is_some() {
            if n < 2 || !n.is_multiple_of(2) {
                return Err(VaeError::Config(format!(
                    "FactorVAE needs an even batch of two halves, got {n}"
                )));
            }
            (x.slice(0, 0, n / 2)?, Some(x.slice(0, n / 2, n / 2)?))
        } else {
            (x.clone(), None)
        };
        let tap_names: Vec<String> = self.extras.iter().flat_map(|e| e.taps()).collect();
        let tap_refs: Vec<&str> = tap_names.iter().map(|s| s.as_str()).collect();
        let (out, taps) =
            self.vae
                .forward_tapped(&x1, Some(derive_seed(seed, 4 * step)), &tap_refs)?;
        let recon = reconstruction_loss(&out.logits, &x1, self.vae.config.likelihood)?;
        let kl = kl_divergence(&out.mu, &out.logvar)?;
        let mut parts = vec![
            ("recon".to_string(), recon.clone()),
            ("kl".to_string(), kl.clone()),
        ];
        let mut total = recon.add(&kl.mul_scalar(self.config.train.beta)?)?;
        if let (Some((d, _)), Some(f)) = (&self.disc, &self.config.train.factor) {
            let tc = factor::total_correlation(d, &out.z)?;
            total = total.add(&tc.mul_scalar(f.gamma)?)?;
            parts.push(("tc".to_string(), tc));
        }
        let mut offset = 0;
        for e in self.extras.iter_mut() {
            let k = e.taps().len();
            let ctx = LossContext {
                vae: &self.vae,
                x: &x1,
                out: &out,
                taps: &taps[offset..offset + k],
                step,
            };
            offset += k;
            let term = e.loss(&ctx)?;
            total = total.add(&term)?;
            parts.push((e.name().to_string(), term));
        }
        parts.insert(0, ("total".to_string(), total.clone()));
        let mut values = Vec::with_capacity(parts.len() + 1);
        for (name, t) in &parts {
            values.push((name.clone(), t.item()?));
        }
        // Name the part that went bad, not the total that carries it.
        for (name, v) in values.iter().skip(1).chain(values.first()) {
            self.check(step, name, *v)?;
        }
        // Gradients for the VAE's own parameters only: the TC term runs through the
        // discriminator, whose weight gradients this optimizer would never read.
        let params: Vec<Tensor> = self.vae.parameters().into_iter().map(|(_, t)| t).collect();
        let grads = vaecam_tensor::backward_for(&total, &params)?;
        self.opt.step(&grads)?;
        if let (Some((d, dopt)), Some(x2)) = (&mut self.disc, x2) {
            // The second batch only needs z ~ q(z|x2): encode and sample, no decoder, and
            // BatchNorm's running statistics put back (they follow the VAE's batches only).
            let params: Vec<String> = self.vae.parameters().into_iter().map(|(n, _)| n).collect();
            let buffers: Vec<(Tensor, Tensor)> = self
                .vae
                .state()
                .into_iter()
                .filter(|(n, _)| !params.contains(n))
                .map(|(_, t)| Ok((t.clone(), t.detach().mul_scalar(1.0)?)))
                .collect::<vaecam_tensor::Result<_>>()?;
            let z2 = no_grad(|| -> Result<Tensor> {
                let (mu, logvar) = self.vae.encode(&x2)?;
                for (live, saved) in &buffers {
                    live.assign(saved)?;
                }
                let eps = Tensor::randn(
                    mu.shape().clone(),
                    derive_seed(seed, 4 * step + 1),
                    x2.device(),
                )?;
                Ok(mu.add(&logvar.mul_scalar(0.5)?.exp()?.mul(&eps)?)?)
            })?;
            let z_perm = factor::permute_dims(&z2, derive_seed(seed, 4 * step + 2))?;
            let d_loss = factor::discriminator_loss(d, &out.z.detach(), &z_perm)?;
            let v = d_loss.item()?;
            if !v.is_finite() {
                return Err(VaeError::NonFinite {
                    step,
                    part: "disc".into(),
                    value: v,
                    last_checkpoint: self.last_checkpoint,
                });
            }
            let g = d_loss.backward()?;
            dopt.step(&g)?;
            values.push(("disc".to_string(), v));
        }
        self.step += 1;
        Ok(values)
    }

    /// Trains up to `config.train.steps`, checkpointing every `checkpoint_every` steps and at
    /// the end, appending to `log.jsonl`, and calling `on_step` after every step.
    pub fn train(
        &mut self,
        data: &mut dyn BatchSource,
        on_step: &mut dyn FnMut(&StepReport),
    ) -> Result<()> {
        let open_log = |dir: &Path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(LOG))
                .map_err(|e| run_err(&dir.join(LOG), format!("cannot open the log: {e}")))
        };
        // A replacing run keeps its log lines in memory until its first checkpoint.
        let mut log = match self.pending_replace {
            Some(_) => None,
            None => Some(open_log(&self.run_dir)?),
        };
        let t = self.config.train.clone();
        while self.step < t.steps {
            let t0 = Instant::now();
            let step = self.step;
            let (data_vec, shape) = data.batch(step)?;
            if let Some(i) = data_vec.iter().position(|v| !v.is_finite()) {
                let per = shape[1] * shape[2] * shape[3];
                return Err(VaeError::Data(format!("the batch of step {step} holds a non-finite value ({}) in image {} of the batch", data_vec[i], i / per.max(1))));
            }
            let x = Tensor::from_vec(data_vec, shape.to_vec(), &self.device)?;
            let parts = self.train_step(&x)?;
            let report = StepReport {
                step: self.step,
                parts,
                images_per_sec: shape[0] as f64 / t0.elapsed().as_secs_f64(),
            };
            if t.log_every > 0 && (self.step.is_multiple_of(t.log_every) || self.step == t.steps) {
                let mut obj = serde_json::Map::new();
                obj.insert("step".into(), self.step.into());
                for (k, v) in &report.parts {
                    obj.insert(k.clone(), serde_json::json!(v));
                }
                obj.insert(
                    "images_per_sec".into(),
                    serde_json::json!((report.images_per_sec * 10.0).round() / 10.0),
                );
                let line = serde_json::Value::Object(obj).to_string();
                if let Some(lines) = &mut self.pending_replace {
                    lines.push(line);
                } else {
                    if log.is_none() {
                        log = Some(open_log(&self.run_dir)?);
                    }
                    if let Some(f) = &mut log {
                        writeln!(f, "{line}")
                            .map_err(|e| run_err(&self.run_dir.join(LOG), e.to_string()))?;
                    }
                }
            }
            on_step(&report);
            if t.checkpoint_every > 0
                && self.step.is_multiple_of(t.checkpoint_every)
                && self.step < t.steps
            {
                self.save_checkpoint()?;
            }
        }
        self.save_checkpoint()?;
        Ok(())
    }
}
