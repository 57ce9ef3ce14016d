//! Optimizers: Adam and SGD. Updates run on the parameters' device, in place.

use crate::autograd::Gradients;
use crate::backend::AdamSpec;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Adam's hyper-parameters (PyTorch defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f32,
    /// (beta1, beta2).
    pub betas: (f32, f32),
    /// Denominator epsilon.
    pub eps: f32,
    /// L2 weight decay.
    pub weight_decay: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Adam (Kingma & Ba) over a fixed list of named parameters.
pub struct Adam {
    params: Vec<(String, Tensor)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    /// Hyper-parameters (the learning rate may be changed between steps).
    pub config: AdamConfig,
    step: u64,
}

impl Adam {
    /// An optimizer for `params` with zeroed moments.
    pub fn new(params: Vec<(String, Tensor)>, config: AdamConfig) -> Result<Self> {
        if config.lr.is_nan()
            || config.lr < 0.0
            || !(0.0..1.0).contains(&config.betas.0)
            || !(0.0..1.0).contains(&config.betas.1)
        {
            return Err(Error::InvalidArgument(format!(
                "invalid Adam settings {config:?}"
            )));
        }
        let m = params
            .iter()
            .map(|(_, p)| p.zeros_like())
            .collect::<Result<Vec<_>>>()?;
        let v = params
            .iter()
            .map(|(_, p)| p.zeros_like())
            .collect::<Result<Vec<_>>>()?;
        Ok(Adam {
            params,
            m,
            v,
            config,
            step: 0,
        })
    }
    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }
    /// One update from `grads`; parameters without a gradient are left as they are.
    pub fn step(&mut self, grads: &Gradients) -> Result<()> {
        self.step += 1;
        let spec = AdamSpec {
            lr: self.config.lr,
            beta1: self.config.betas.0,
            beta2: self.config.betas.1,
            eps: self.config.eps,
            weight_decay: self.config.weight_decay,
            step: self.step,
        };
        for (i, (_, p)) in self.params.iter().enumerate() {
            let Some(g) = grads.get(p) else { continue };
            let g = g.storage();
            let mut m = self.m[i].storage_mut();
            let mut v = self.v[i].storage_mut();
            p.storage_mut().adam_step(&g, &mut m, &mut v, &spec)?;
        }
        Ok(())
    }
    /// The optimizer state as named tensors (`<param>.exp_avg`, `<param>.exp_avg_sq`, `step`),
    /// for checkpoints.
    pub fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = Vec::with_capacity(2 * self.params.len() + 1);
        for (i, (n, _)) in self.params.iter().enumerate() {
            out.push((format!("{n}.exp_avg"), self.m[i].clone()));
            out.push((format!("{n}.exp_avg_sq"), self.v[i].clone()));
        }
        // f32 holds integers exactly up to 2^24; split the step so any count round-trips.
        let dev = self
            .params
            .first()
            .map(|(_, p)| p.device().clone())
            .unwrap_or(crate::Device::Cpu);
        let (hi, lo) = ((self.step >> 24) as f32, (self.step & 0xFF_FFFF) as f32);
        out.push(("step".into(), Tensor::from_vec(vec![hi, lo], [2], &dev)?));
        Ok(out)
    }
    /// Restores a state saved by [`Adam::state`].
    pub fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let find = |name: &str| -> Result<&Tensor> {
            state
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t)
                .ok_or_else(|| {
                    Error::UnknownName(format!("optimizer state has no tensor {name:?}"))
                })
        };
        for (i, (n, _)) in self.params.iter().enumerate() {
            self.m[i].assign(find(&format!("{n}.exp_avg"))?)?;
            self.v[i].assign(find(&format!("{n}.exp_avg_sq"))?)?;
        }
        let s = find("step")?.to_vec()?;
        if s.len() != 2 {
            return Err(Error::InvalidArgument(
                "optimizer state 'step' must hold 2 values".into(),
            ));
        }
        self.step = ((s[0] as u64) << 24) | s[1] as u64;
        Ok(())
    }
}

/// Stochastic gradient descent with optional momentum and weight decay.
pub struct Sgd {
    params: Vec<(String, Tensor)>,
    bufs: Vec<Option<Tensor>>,
    /// Learning rate.
    pub lr: f32,
    /// Momentum (0 disables).
    pub momentum: f32,
    /// L2 weight decay.
    pub weight_decay: f32,
}

impl Sgd {
    /// An SGD optimizer.
    pub fn new(
        params: Vec<(String, Tensor)>,
        lr: f32,
        momentum: f32,
        weight_decay: f32,
    ) -> Result<Self> {
        let bufs = params
            .iter()
            .map(|(_, p)| {
                if momentum > 0.0 {
                    p.zeros_like().map(Some)
                } else {
                    Ok(None)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Sgd {
            params,
            bufs,
            lr,
            momentum,
            weight_decay,
        })
    }
    /// One update from `grads`.
    pub fn step(&mut self, grads: &Gradients) -> Result<()> {
        for (i, (_, p)) in self.params.iter().enumerate() {
            let Some(g) = grads.get(p) else { continue };
            let g = g.storage();
            let mut buf = self.bufs[i].as_ref().map(|b| b.storage_mut());
            p.storage_mut().sgd_step(
                &g,
                buf.as_deref_mut(),
                self.lr,
                self.momentum,
                self.weight_decay,
            )?;
        }
        Ok(())
    }
}
