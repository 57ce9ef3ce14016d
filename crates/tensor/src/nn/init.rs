//! Seeded parameter initialisation.

use crate::device::Device;
use crate::error::Result;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// How to fill a weight tensor. `fan_in` / `fan_out` are computed from the weight's shape as
/// in PyTorch (`[out, in, kh, kw]` → fan_in = in*kh*kw).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// PyTorch's default for Conv/Linear: kaiming_uniform with a = sqrt(5), i.e. U(±1/sqrt(fan_in)).
    PyTorchDefault,
    /// He et al. uniform for a leaky-ReLU slope `a`: U(±gain*sqrt(3/fan_in)), gain = sqrt(2/(1+a²)).
    KaimingUniform(f32),
    /// He et al. normal for a leaky-ReLU slope `a`: N(0, gain/sqrt(fan_in)).
    KaimingNormal(f32),
    /// Glorot uniform: U(±sqrt(6/(fan_in+fan_out))).
    XavierUniform,
    /// Glorot normal: N(0, sqrt(2/(fan_in+fan_out))).
    XavierNormal,
    /// All zeros.
    Zeros,
}

/// (fan_in, fan_out) of a weight of shape `[a, b, ...]` with receptive field = product of the rest.
pub fn fans(shape: &Shape) -> (usize, usize) {
    let d = shape.dims();
    let rf: usize = d.iter().skip(2).product();
    match d.len() {
        0 => (1, 1),
        1 => (d[0], d[0]),
        _ => (d[1] * rf, d[0] * rf),
    }
}

impl Init {
    /// A tensor of `shape` filled by this rule from `seed` (a leaf, not yet requiring grad).
    /// `fans` overrides the fans computed from the shape (ConvTranspose weights are stored
    /// `[in, out, ...]`).
    pub fn tensor(
        self,
        shape: impl Into<Shape>,
        fan: Option<(usize, usize)>,
        seed: u64,
        device: &Device,
    ) -> Result<Tensor> {
        let shape = shape.into();
        let (fi, fo) = fan.unwrap_or_else(|| fans(&shape));
        let (fi, fo) = (fi.max(1) as f32, fo.max(1) as f32);
        let uniform = |bound: f32| -> Result<Tensor> {
            Tensor::rand(shape.clone(), seed, device)?.affine(2.0 * bound, -bound)
        };
        let normal = |std: f32| -> Result<Tensor> {
            Tensor::randn(shape.clone(), seed, device)?.mul_scalar(std)
        };
        match self {
            Init::PyTorchDefault => uniform(1.0 / fi.sqrt()),
            Init::KaimingUniform(a) => uniform((2.0 / (1.0 + a * a)).sqrt() * (3.0 / fi).sqrt()),
            Init::KaimingNormal(a) => normal((2.0 / (1.0 + a * a)).sqrt() / fi.sqrt()),
            Init::XavierUniform => uniform((6.0 / (fi + fo)).sqrt()),
            Init::XavierNormal => normal((2.0 / (fi + fo)).sqrt()),
            Init::Zeros => Tensor::zeros(shape, device),
        }
    }
}
