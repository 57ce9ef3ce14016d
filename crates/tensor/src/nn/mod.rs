//! Neural-network layers, a sequential container with named layers, and parameter init.

mod init;
mod layers;
mod norm;
mod residual;
mod sequential;
mod stacked;

pub use init::Init;
pub use layers::{
    Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig, Flatten, LeakyReLU, Linear,
    LinearConfig, ReLU, Reshape, Sigmoid, Tanh,
};
pub use norm::{batch_norm_train, BatchNorm2d, BatchNorm2dConfig};
pub use residual::{ResidualBlock, ResidualBlockConfig};
pub use sequential::Sequential;
pub use stacked::StackedCotangent;

use crate::error::Result;
use crate::tensor::Tensor;

/// A layer or a stack of layers.
pub trait Module: Send + Sync {
    /// Applies the module.
    fn forward(&self, x: &Tensor) -> Result<Tensor>;
    /// Trainable parameters, named `prefix + name` (e.g. `enc.conv1.weight`).
    fn named_parameters(&self, _prefix: &str, _out: &mut Vec<(String, Tensor)>) {}
    /// Non-trainable state saved in checkpoints (BatchNorm running statistics).
    fn named_buffers(&self, _prefix: &str, _out: &mut Vec<(String, Tensor)>) {}
    /// Switches between training and evaluation behaviour (BatchNorm).
    fn set_training(&self, _training: bool) {}
    /// True when one sample's output depends on the other samples of the batch (BatchNorm in
    /// training mode): such a module cannot run a batch of stacked, independent copies.
    fn mixes_batch(&self) -> bool {
        false
    }
    /// A short description, e.g. `Conv2d(1->32, k4, s2, p1)`.
    fn describe(&self) -> String;
    /// `Some(slope)` when this module is a LeakyReLU of that slope: a layer before it may
    /// then apply it in its own output pass ([`Module::forward_then_leaky`]).
    fn leaky_slope(&self) -> Option<f32> {
        None
    }
    /// This module followed by a LeakyReLU of `slope`, as one op that saves the activation's
    /// passes over memory, or `Ok(None)` where this module has no such path now (the caller
    /// then runs the two apart). [`Sequential`] fuses such pairs unless the first one's output
    /// is asked for by name.
    fn forward_then_leaky(&self, x: &Tensor, slope: f32) -> Result<Option<Tensor>> {
        let _ = (x, slope);
        Ok(None)
    }
    /// Why [`Module::stacked_vjp`] cannot run on this module now, or None when it can. The
    /// default: no rule. A module whose output mixes the batch must refuse.
    fn stacked_vjp_refusal(&self) -> Option<String> {
        Some(format!("{} has no stacked backward rule", self.describe()))
    }
    /// Vector-Jacobian products of V stacked cotangents of this module's output at once,
    /// without the tape: `input` and `output` are what the module saw and gave in one forward
    /// pass over N samples; the result is the cotangents with respect to the input. Only
    /// valid when [`Module::stacked_vjp_refusal`] is None.
    fn stacked_vjp(
        &self,
        input: &Tensor,
        output: &Tensor,
        cot: &StackedCotangent,
    ) -> Result<StackedCotangent> {
        let _ = (input, output, cot);
        Err(stacked::no_stacked_rule(&self.describe()))
    }
    /// [`Module::stacked_vjp`] summed over the spatial positions of a `[N, C, H, W]` input:
    /// `[rows, C]` (what alpha = GAP of the gradient needs). The default forms the full
    /// input cotangent and sums it.
    fn stacked_vjp_spatial_sum(
        &self,
        input: &Tensor,
        output: &Tensor,
        cot: &StackedCotangent,
    ) -> Result<StackedCotangent> {
        stacked::sum_spatial(self.stacked_vjp(input, output, cot)?)
    }
}

/// Every parameter of `m`, named.
pub fn parameters(m: &dyn Module) -> Vec<(String, Tensor)> {
    let mut v = Vec::new();
    m.named_parameters("", &mut v);
    v
}

/// Every parameter and buffer of `m`, named: what a checkpoint stores.
pub fn state(m: &dyn Module) -> Vec<(String, Tensor)> {
    let mut v = Vec::new();
    m.named_parameters("", &mut v);
    m.named_buffers("", &mut v);
    v
}

pub(crate) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}
