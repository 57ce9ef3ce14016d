//! Batch normalisation over NCHW channels.

use super::{join, Module, StackedCotangent};
use crate::autograd::{is_grad_enabled, no_grad};
use crate::backend::Storage;
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

impl BatchNorm2d {
    /// Training mode: batch statistics (and the running statistics updated), with a
    /// LeakyReLU of slope `act` applied in the same pass when asked.
    fn forward_train(&self, x: &Tensor, act: Option<f32>) -> Result<Tensor> {
        let c = self.weight.numel();
        let (y, mean, var) = batch_norm_train_act(x, &self.weight, &self.bias, self.eps, act)?;
        let count = x.numel() / c;
        no_grad(|| -> Result<()> {
            let m = self.momentum;
            let unbiased = var.mul_scalar(count as f32 / (count.max(2) - 1) as f32)?;
            let rm = self
                .running_mean
                .mul_scalar(1.0 - m)?
                .add(&mean.mul_scalar(m)?)?;
            let rv = self
                .running_var
                .mul_scalar(1.0 - m)?
                .add(&unbiased.mul_scalar(m)?)?;
            self.running_mean.assign(&rm)?;
            self.running_var.assign(&rv)
        })?;
        Ok(y)
    }

    /// `1 / sqrt(running_var + eps)` as `[1, C, 1, 1]`: evaluation mode's factor, one
    /// computation for the forward pass and the stacked rule (so the two agree bit for bit).
    fn eval_inv_std(&self) -> Result<Tensor> {
        let c = self.weight.numel();
        self.running_var
            .reshape(vec![1, c, 1, 1])?
            .add_scalar(self.eps)?
            .sqrt()?
            .recip()
    }

    fn check_input(&self, x: &Tensor) -> Result<()> {
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
        Ok(())
    }
}

impl Module for BatchNorm2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.check_input(x)?;
        if self.is_training() {
            return self.forward_train(x, None);
        }
        let c = self.weight.numel();
        let ch = |t: &Tensor| t.reshape(vec![1, c, 1, 1]);
        let inv_std = self.eval_inv_std()?;
        x.sub(&ch(&self.running_mean)?)?
            .mul(&inv_std.mul(&ch(&self.weight)?)?)?
            .add(&ch(&self.bias)?)
    }
    fn forward_then_leaky(&self, x: &Tensor, slope: f32) -> Result<Option<Tensor>> {
        // Fused only where it saves passes: the training-mode CPU kernels.
        if !self.is_training() || !matches!(&*x.storage(), Storage::Cpu(_)) {
            return Ok(None);
        }
        self.check_input(x)?;
        self.forward_train(x, Some(slope)).map(Some)
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
        let inv_std = self.eval_inv_std()?;
        let scale = inv_std.mul(&self.weight.reshape(vec![1, c, 1, 1])?)?;
        cot.map(|g| g.mul(&scale))
    }
    fn describe(&self) -> String {
        format!("BatchNorm2d({})", self.weight.numel())
    }
}

/// Training-mode batch normalisation of `x` `[N, C, H, W]` with batch statistics: returns
/// `y = (x - mean) / sqrt(var + eps) * weight + bias`, the batch mean `[C]` and the biased
/// batch variance `[C]` (both constants).
///
/// One recorded op with the closed-form gradient
/// `dx = weight / std * (g - mean(g) - xhat * mean(g * xhat))`, `dweight = sum(g * xhat)`,
/// `dbias = sum(g)` (means and sums per channel). On the CPU backend the forward pass and a
/// backward pass that is not itself recorded run two-pass kernels (`cpu::batch_norm`); the
/// GPU runs the rule written with tensor ops (about 9 passes over the activation instead of
/// the ~20 that the tape of the composite formula takes). When the backward pass is itself
/// recorded (`create_graph`), `xhat` and the standard deviation are recomputed from the live
/// `x` with tensor ops, so every order of gradient is exact.
pub fn batch_norm_train(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f32,
) -> Result<(Tensor, Tensor, Tensor)> {
    batch_norm_train_act(x, weight, bias, eps, None)
}

/// [`batch_norm_train`] followed by `leaky_relu(slope)` when `act` is `Some(slope)` (with
/// `slope >= 0`), as one recorded op: the activation's gradient mask is read from the output `z`
/// (`z > 0` exactly where the BatchNorm's output is), and on the CPU both directions run
/// inside the BatchNorm kernels' passes. The mask's own derivative is zero almost everywhere,
/// so treating it as a constant keeps every order of gradient exact.
fn batch_norm_train_act(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f32,
    act: Option<f32>,
) -> Result<(Tensor, Tensor, Tensor)> {
    if let Some(slope) = act {
        if !(slope >= 0.0 && slope.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "batch_norm2d: a fused LeakyReLU needs a slope >= 0 (got {slope})"
            )));
        }
    }
    let c = weight.numel();
    if x.rank() != 4 || x.dims()[1] != c || bias.numel() != c {
        return shape_err(
            "batch_norm2d",
            format!(
                "input {}, weight {}, bias {} (expected [N, C, H, W] and [C] twice)",
                x.shape(),
                weight.shape(),
                bias.shape()
            ),
        );
    }
    const AXES: [usize; 3] = [0, 2, 3];
    let ch = move |t: &Tensor| t.reshape(vec![1, c, 1, 1]);
    // xhat, 1/std ([1, C, 1, 1]), mean and biased variance ([C]) of x, tracked or not as the
    // caller's grad mode says.
    let stats = move |x: &Tensor| -> Result<(Tensor, Tensor, Tensor, Tensor)> {
        let mean = x.mean(&AXES, true)?;
        let centered = x.sub(&mean)?;
        let var = centered.square()?.mean(&AXES, true)?;
        let inv_std = var.add_scalar(eps)?.sqrt()?.recip()?;
        let xhat = centered.mul(&inv_std)?;
        Ok((xhat, inv_std, mean.reshape(vec![c])?, var.reshape(vec![c])?))
    };
    let (y, inv_std, mean, var) = match fused::forward(x, weight, bias, eps, act)? {
        Some(done) => done,
        None => no_grad(|| -> Result<(Tensor, Tensor, Tensor, Tensor)> {
            let (xhat, inv_std, mean, var) = stats(x)?;
            let y = xhat.mul(&ch(weight)?)?.add(&ch(bias)?)?;
            let y = match act {
                Some(slope) => y.leaky_relu(slope)?,
                None => y,
            };
            Ok((y, inv_std, mean, var))
        })?,
    };
    let count = (x.numel() / c.max(1)) as f32;
    let saved_mean = mean.clone();
    let out = Tensor::recorded_as(
        &y,
        if act.is_some() {
            "batch_norm2d_leaky_relu"
        } else {
            "batch_norm2d"
        },
        &[x, weight, bias],
        move |g, out, inp, needs| {
            let (x, weight) = (&inp[0], &inp[1]);
            let mask = act.map(|slope| (out, slope));
            if !is_grad_enabled() {
                if let Some(grads) = fused::backward(g, mask, x, &saved_mean, &inv_std, weight)? {
                    let [dx, dw, db] = grads;
                    return Ok(vec![
                        needs[0].then_some(dx),
                        needs[1].then_some(dw),
                        needs[2].then_some(db),
                    ]);
                }
            }
            // The gradient with respect to the BatchNorm's output.
            let masked;
            let g = match mask {
                Some((z, slope)) => {
                    masked = g.mul(&z.leaky_relu_grad(slope)?)?;
                    &masked
                }
                None => g,
            };
            let (xhat, inv_std) = if is_grad_enabled() {
                let (xhat, inv_std, _, _) = stats(x)?;
                (xhat, inv_std)
            } else {
                (x.sub(&ch(&saved_mean)?)?.mul(&inv_std)?, inv_std.clone())
            };
            let sum_g = g.sum(&AXES, true)?;
            let sum_gx = g.mul(&xhat)?.sum(&AXES, true)?;
            let dx = if needs[0] {
                let scale = inv_std.mul(&ch(weight)?)?;
                let centred_g = g.sub(&sum_g.mul_scalar(1.0 / count)?)?;
                Some(
                    centred_g
                        .sub(&xhat.mul(&sum_gx.mul_scalar(1.0 / count)?)?)?
                        .mul(&scale)?,
                )
            } else {
                None
            };
            Ok(vec![
                dx,
                needs[1].then(|| sum_gx.reshape(vec![c])).transpose()?,
                needs[2].then(|| sum_g.reshape(vec![c])).transpose()?,
            ])
        },
    );
    Ok((out, mean, var))
}

/// The CPU backend's two-pass kernels (`cpu::batch_norm`) behind [`batch_norm_train`]: `None`
/// on other backends, which run the composite formula. The backward kernel serves only a
/// backward pass that is not itself recorded; under `create_graph` the composite rule runs,
/// so that higher-order gradients see every op.
mod fused {
    use crate::backend::Storage;
    use crate::cpu::batch_norm::{self as k, Planes};
    use crate::error::Result;
    use crate::tensor::Tensor;

    fn planes(x: &Tensor) -> Planes {
        let d = x.dims();
        Planes {
            n: d[0],
            c: d[1],
            hw: d[2] * d[3],
        }
    }

    /// `v` shaped like `t`.
    fn like(t: &Tensor, v: Vec<f32>) -> Result<Tensor> {
        Tensor::from_vec(v, t.shape().clone(), t.device())
    }

    /// `v` as a vector on `t`'s device.
    fn vector(t: &Tensor, v: Vec<f32>) -> Result<Tensor> {
        let n = v.len();
        Tensor::from_vec(v, vec![n], t.device())
    }

    /// `(y, inv_std [1, C, 1, 1], mean [C], var [C])`, or `None` off the CPU.
    pub(super) fn forward(
        x: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        eps: f32,
        act: Option<f32>,
    ) -> Result<Option<(Tensor, Tensor, Tensor, Tensor)>> {
        if x.numel() == 0 {
            // An empty batch: the composite formula gives its NaN statistics.
            return Ok(None);
        }
        let (xs, ws, bs) = (x.storage(), weight.storage(), bias.storage());
        let (Storage::Cpu(xv), Storage::Cpu(wv), Storage::Cpu(bv)) = (&*xs, &*ws, &*bs) else {
            return Ok(None);
        };
        let p = planes(x);
        let (mean, var) = k::channel_stats(p, xv);
        let inv_std: Vec<f32> = var.iter().map(|&v| 1.0 / (v + eps).sqrt()).collect();
        let scale: Vec<f32> = inv_std.iter().zip(wv).map(|(i, w)| i * w).collect();
        let shift: Vec<f32> = (0..p.c).map(|c| bv[c] - mean[c] * scale[c]).collect();
        let y = like(x, k::scale_shift(p, xv, &scale, &shift, act.unwrap_or(1.0)))?;
        let inv_std = vector(x, inv_std)?.reshape(vec![1, p.c, 1, 1])?;
        Ok(Some((y, inv_std, vector(x, mean)?, vector(x, var)?)))
    }

    /// `[dx, dweight, dbias]`, or `None` off the CPU.
    pub(super) fn backward(
        g: &Tensor,
        mask: Option<(&Tensor, f32)>,
        x: &Tensor,
        mean: &Tensor,
        inv_std: &Tensor,
        weight: &Tensor,
    ) -> Result<Option<[Tensor; 3]>> {
        if x.numel() == 0 {
            return Ok(None);
        }
        let (gs, xs, ms, is, ws) = (
            g.storage(),
            x.storage(),
            mean.storage(),
            inv_std.storage(),
            weight.storage(),
        );
        let (
            Storage::Cpu(gv),
            Storage::Cpu(xv),
            Storage::Cpu(mv),
            Storage::Cpu(iv),
            Storage::Cpu(wv),
        ) = (&*gs, &*xs, &*ms, &*is, &*ws)
        else {
            return Ok(None);
        };
        let zs = mask.map(|(z, _)| z.storage());
        let m = match (&zs, mask) {
            (Some(zs), Some((_, slope))) => {
                let Storage::Cpu(zv) = &**zs else {
                    return Ok(None);
                };
                k::Mask::leaky(zv, slope)
            }
            _ => k::Mask::none(gv),
        };
        let p = planes(x);
        let (sum_g, sum_gx) = k::grad_sums(p, xv, gv, m, mv, iv);
        let dx = k::input_grad(p, xv, gv, m, mv, iv, wv, (&sum_g, &sum_gx));
        Ok(Some([like(x, dx)?, vector(x, sum_gx)?, vector(x, sum_g)?]))
    }
}
