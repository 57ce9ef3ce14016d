//! ResNet's basic block (He et al. 2016): two 3x3 convs with BatchNorm, plus a shortcut that
//! is the identity or, when the shape changes, a 1x1 strided conv with BatchNorm.

use super::{join, BatchNorm2d, BatchNorm2dConfig, Conv2d, Conv2dConfig, Init, Module};
use crate::device::Device;
use crate::error::Result;
use crate::rng::derive_seed;
use crate::tensor::Tensor;

/// `act(bn2(conv2(act(bn1(conv1(x))))) + shortcut(x))` with a leaky-ReLU slope (0 = ReLU);
/// built by [`ResidualBlockConfig`].
pub struct ResidualBlock {
    conv1: Conv2d,
    bn1: BatchNorm2d,
    conv2: Conv2d,
    bn2: BatchNorm2d,
    shortcut: Option<(Conv2d, BatchNorm2d)>,
    slope: f32,
}

/// The settings of a [`ResidualBlock`]: stride 1 and ReLU (slope 0) until changed,
/// convolutions drawn by Kaiming-normal init for the slope:
/// `ResidualBlockConfig::new(64, 128).stride(2).init(seed, &device)?`.
#[derive(Clone, Debug, PartialEq)]
pub struct ResidualBlockConfig {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Stride of the first conv and of the shortcut; 2 halves the spatial size.
    pub stride: usize,
    /// Leaky-ReLU slope of the activations (0 = ReLU).
    pub slope: f32,
}

impl ResidualBlockConfig {
    /// A block from `c_in` to `c_out` channels.
    pub fn new(c_in: usize, c_out: usize) -> Self {
        ResidualBlockConfig {
            c_in,
            c_out,
            stride: 1,
            slope: 0.0,
        }
    }
    /// Sets the stride.
    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }
    /// Sets the leaky-ReLU slope.
    pub fn slope(mut self, slope: f32) -> Self {
        self.slope = slope;
        self
    }
    /// The block, its convolutions drawn from `seed` on `device`.
    pub fn init(&self, seed: u64, device: &Device) -> Result<ResidualBlock> {
        let (c_in, c_out, stride) = (self.c_in, self.c_out, self.stride);
        let conv3 = |c: usize| {
            Conv2dConfig::new(c, c_out, 3)
                .padding(1)
                .bias(false)
                .weight_init(Init::KaimingNormal(self.slope))
        };
        let conv1 = conv3(c_in)
            .stride(stride)
            .init(derive_seed(seed, 1), device)?;
        let conv2 = conv3(c_out).init(derive_seed(seed, 2), device)?;
        let bn = BatchNorm2dConfig::new(c_out);
        let shortcut = if stride != 1 || c_in != c_out {
            let conv = Conv2dConfig::new(c_in, c_out, 1)
                .stride(stride)
                .bias(false)
                .weight_init(Init::KaimingNormal(self.slope))
                .init(derive_seed(seed, 3), device)?;
            Some((conv, bn.init(device)?))
        } else {
            None
        };
        Ok(ResidualBlock {
            conv1,
            bn1: bn.init(device)?,
            conv2,
            bn2: bn.init(device)?,
            shortcut,
            slope: self.slope,
        })
    }
}

impl Module for ResidualBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self
            .bn1
            .forward(&self.conv1.forward(x)?)?
            .leaky_relu(self.slope)?;
        let h = self.bn2.forward(&self.conv2.forward(&h)?)?;
        let s = match &self.shortcut {
            Some((c, b)) => b.forward(&c.forward(x)?)?,
            None => x.clone(),
        };
        h.add(&s)?.leaky_relu(self.slope)
    }
    fn named_parameters(&self, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        self.conv1.named_parameters(&join(prefix, "conv1"), out);
        self.bn1.named_parameters(&join(prefix, "bn1"), out);
        self.conv2.named_parameters(&join(prefix, "conv2"), out);
        self.bn2.named_parameters(&join(prefix, "bn2"), out);
        if let Some((c, b)) = &self.shortcut {
            c.named_parameters(&join(prefix, "shortcut.conv"), out);
            b.named_parameters(&join(prefix, "shortcut.bn"), out);
        }
    }
    fn named_buffers(&self, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        self.bn1.named_buffers(&join(prefix, "bn1"), out);
        self.bn2.named_buffers(&join(prefix, "bn2"), out);
        if let Some((_, b)) = &self.shortcut {
            b.named_buffers(&join(prefix, "shortcut.bn"), out);
        }
    }
    fn set_training(&self, training: bool) {
        self.bn1.set_training(training);
        self.bn2.set_training(training);
        if let Some((_, b)) = &self.shortcut {
            b.set_training(training);
        }
    }
    fn mixes_batch(&self) -> bool {
        self.bn1.mixes_batch()
            || self.bn2.mixes_batch()
            || self.shortcut.as_ref().is_some_and(|(_, b)| b.mixes_batch())
    }
    fn describe(&self) -> String {
        let d = self.conv1.weight.dims();
        format!("ResidualBlock({}->{}, s{})", d[1], d[0], self.conv1.stride)
    }
}
