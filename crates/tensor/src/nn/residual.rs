//! ResNet's basic block (He et al. 2016): two 3x3 convs with BatchNorm, plus a shortcut that
//! is the identity or, when the shape changes, a 1x1 strided conv with BatchNorm.

use super::{join, BatchNorm2d, Conv2d, Init, Module};
use crate::device::Device;
use crate::error::Result;
use crate::rng::derive_seed;
use crate::tensor::Tensor;

/// `act(bn2(conv2(act(bn1(conv1(x))))) + shortcut(x))` with a leaky-ReLU slope (0 = ReLU).
pub struct ResidualBlock {
    conv1: Conv2d,
    bn1: BatchNorm2d,
    conv2: Conv2d,
    bn2: BatchNorm2d,
    shortcut: Option<(Conv2d, BatchNorm2d)>,
    slope: f32,
}

impl ResidualBlock {
    /// A block from `c_in` to `c_out` channels; `stride` 2 halves the spatial size.
    pub fn new(
        c_in: usize,
        c_out: usize,
        stride: usize,
        slope: f32,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        let init = Init::KaimingNormal(slope);
        let conv1 = Conv2d::with_init(
            c_in,
            c_out,
            3,
            stride,
            1,
            false,
            init,
            derive_seed(seed, 1),
            device,
        )?;
        let conv2 = Conv2d::with_init(
            c_out,
            c_out,
            3,
            1,
            1,
            false,
            init,
            derive_seed(seed, 2),
            device,
        )?;
        let shortcut = if stride != 1 || c_in != c_out {
            Some((
                Conv2d::with_init(
                    c_in,
                    c_out,
                    1,
                    stride,
                    0,
                    false,
                    init,
                    derive_seed(seed, 3),
                    device,
                )?,
                BatchNorm2d::new(c_out, device)?,
            ))
        } else {
            None
        };
        Ok(ResidualBlock {
            conv1,
            bn1: BatchNorm2d::new(c_out, device)?,
            conv2,
            bn2: BatchNorm2d::new(c_out, device)?,
            shortcut,
            slope,
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
