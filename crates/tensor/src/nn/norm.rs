//! Batch normalisation over NCHW channels.

use super::{join, Module, StackedCotangent};
use crate::autograd::no_grad;
use crate::device::Device;
use crate::error::{shape_err, Error, Result};
use crate::tensor::Tensor;
use std::sync::atomic::{AtomicBool, Ordering};

/// BatchNorm2d (PyTorch semantics): batch statistics in training, running statistics in
/// evaluation; running variance uses the unbiased batch variance. Built by
/// [`BatchNorm2dConfig`].
pub struct BatchNorm2d {
    /// Scale `[C]`.
    pub weight: Tensor,
    /// Shift `[C]`.
    pub bias: Tensor,
    /// Running mean `[C]`.
    pub running_mean: Tensor,
    /// Running variance `[C]`.
    pub running_var: Tensor,
    /// Running-statistics momentum.
    pub momentum: f32,
    /// Variance epsilon.
    pub eps: f32,
    training: AtomicBool,
}

/// The settings of a [`BatchNorm2d`]; PyTorch's defaults (eps 1e-5, momentum 0.1) until
/// changed: `BatchNorm2dConfig::new(64).eps(1e-3).init(&device)?`. The layer has no random
/// state (weight 1, bias 0), so building it takes no seed.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm2dConfig {
    /// Channels.
    pub channels: usize,
    /// Variance epsilon.
    pub eps: f32,
    /// Running-statistics momentum (the weight of the new batch).
    pub momentum: f32,
}

impl BatchNorm2dConfig {
    /// A BatchNorm over `channels` channels.
    pub fn new(channels: usize) -> Self {
        BatchNorm2dConfig {
            channels,
            eps: 1e-5,
            momentum: 0.1,
        }
    }
    /// Sets the variance epsilon.
    pub fn eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }
    /// Sets the running-statistics momentum.
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }
    /// The layer on `device`, in training mode.
    pub fn init(&self, device: &Device) -> Result<BatchNorm2d> {
        let c = self.channels;
        if c == 0 {
            return Err(Error::InvalidArgument(
                "BatchNorm2d: channels must be at least 1 (got 0)".into(),
            ));
        }
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "BatchNorm2d: eps must be a positive number (got {})",
                self.eps
            )));
        }
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(Error::InvalidArgument(format!(
                "BatchNorm2d: momentum must be in [0, 1] (got {})",
                self.momentum
            )));
        }
        Ok(BatchNorm2d {
            weight: Tensor::ones([c], device)?.requires_grad_(),
            bias: Tensor::zeros([c], device)?.requires_grad_(),
            running_mean: Tensor::zeros([c], device)?,
            running_var: Tensor::ones([c], device)?,
            momentum: self.momentum,
            eps: self.eps,
            training: AtomicBool::new(true),
        })
    }
}

impl BatchNorm2d {
    /// True in training mode.
    pub fn is_training(&self) -> bool {
        self.training.load(Ordering::Relaxed)
    }
}

impl Module for BatchNorm2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = self.weight.numel();
        if x.rank() != 4 || x.dims()[1] != c {
            return shape_err(
                "batch_norm2d",
                format!(
                    "input {} for {c} channels (expected [N, {c}, H, W])",
                    x.shape()
                ),
            );
        }
        let ch = |t: &Tensor| t.reshape(vec![1, c, 1, 1]);
        // Training: the centred input serves both the variance and the output, so it is
        // computed (and differentiated) once.
        let (centered, var) = if self.is_training() {
            let mean = x.mean(&[0, 2, 3], true)?;
            let centered = x.sub(&mean)?;
            let var = centered.square()?.mean(&[0, 2, 3], true)?;
            let count = x.numel() / c;
            no_grad(|| -> Result<()> {
                let m = self.momentum;
                let unbiased = var
                    .mul_scalar(count as f32 / (count.max(2) - 1) as f32)?
                    .reshape(vec![c])?;
                let rm = self
                    .running_mean
                    .mul_scalar(1.0 - m)?
                    .add(&mean.reshape(vec![c])?.mul_scalar(m)?)?;
                let rv = self
                    .running_var
                    .mul_scalar(1.0 - m)?
                    .add(&unbiased.mul_scalar(m)?)?;
                self.running_mean.assign(&rm)?;
                self.running_var.assign(&rv)
            })?;
            (centered, var)
        } else {
            (x.sub(&ch(&self.running_mean)?)?, ch(&self.running_var)?)
        };
        let inv_std = var.add_scalar(self.eps)?.sqrt()?.recip()?;
        centered
            .mul(&inv_std.mul(&ch(&self.weight)?)?)?
            .add(&ch(&self.bias)?)
    }
    fn named_parameters(&self, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        out.push((join(prefix, "weight"), self.weight.clone()));
        out.push((join(prefix, "bias"), self.bias.clone()));
    }
    fn named_buffers(&self, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        out.push((join(prefix, "running_mean"), self.running_mean.clone()));
        out.push((join(prefix, "running_var"), self.running_var.clone()));
    }
    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }
    fn mixes_batch(&self) -> bool {
        self.is_training()
    }
    fn stacked_vjp_refusal(&self) -> Option<String> {
        self.is_training().then(|| {
            format!(
                "{} is in training mode (its output depends on the whole batch); call \
                 set_training(false)",
                self.describe()
            )
        })
    }
    fn stacked_vjp(
        &self,
        _input: &Tensor,
        _output: &Tensor,
        cot: &StackedCotangent,
    ) -> Result<StackedCotangent> {
        if let Some(why) = self.stacked_vjp_refusal() {
            return Err(Error::InvalidArgument(why));
        }
        // Evaluation mode is y = (x - mean) * s + b with s = weight / sqrt(var + eps): the
        // same product as the forward's, so the factor is bit-identical to the tape's.
        let c = self.weight.numel();
        let ch = |t: &Tensor| t.reshape(vec![1, c, 1, 1]);
        let inv_std = ch(&self.running_var)?
            .add_scalar(self.eps)?
            .sqrt()?
            .recip()?;
        let scale = inv_std.mul(&ch(&self.weight)?)?;
        cot.map(|g| g.mul(&scale))
    }
    fn describe(&self) -> String {
        format!("BatchNorm2d({})", self.weight.numel())
    }
}
