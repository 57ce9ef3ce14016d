//! Conv2d, ConvTranspose2d, Linear and the parameter-free layers.

use super::{join, Init, Module};
use crate::device::Device;
use crate::error::Result;
use crate::rng::derive_seed;
use crate::tensor::Tensor;

fn push(out: &mut Vec<(String, Tensor)>, prefix: &str, name: &str, t: &Tensor) {
    out.push((join(prefix, name), t.clone()));
}

/// `prefix.weight` and, when present, `prefix.bias`: the parameters of every affine layer.
fn push_weight_bias(
    out: &mut Vec<(String, Tensor)>,
    prefix: &str,
    weight: &Tensor,
    bias: Option<&Tensor>,
) {
    push(out, prefix, "weight", weight);
    if let Some(b) = bias {
        push(out, prefix, "bias", b);
    }
}

/// 2-D convolution with weight `[c_out, c_in, k, k]` and an optional bias.
pub struct Conv2d {
    /// Weight `[c_out, c_in, k, k]`.
    pub weight: Tensor,
    /// Bias `[c_out]`.
    pub bias: Option<Tensor>,
    /// Stride.
    pub stride: usize,
    /// Zero padding.
    pub padding: usize,
}

impl Conv2d {
    /// A conv layer with PyTorch's default init from `seed`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        padding: usize,
        bias: bool,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        Self::with_init(
            c_in,
            c_out,
            k,
            stride,
            padding,
            bias,
            Init::PyTorchDefault,
            seed,
            device,
        )
    }
    /// A conv layer with the weight drawn by `init` (the bias by PyTorch's rule).
    #[allow(clippy::too_many_arguments)]
    pub fn with_init(
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        padding: usize,
        bias: bool,
        init: Init,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        let weight = init
            .tensor([c_out, c_in, k, k], None, derive_seed(seed, 0), device)?
            .requires_grad_();
        let fan_in = c_in * k * k;
        let bias = if bias {
            Some(
                Init::PyTorchDefault
                    .tensor(
                        [c_out],
                        Some((fan_in, fan_in)),
                        derive_seed(seed, 1),
                        device,
                    )?
                    .requires_grad_(),
            )
        } else {
            None
        };
        Ok(Conv2d {
            weight,
            bias,
            stride,
            padding,
        })
    }
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.conv2d(&self.weight, self.bias.as_ref(), self.stride, self.padding)
    }
    fn named_parameters(&self, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        push_weight_bias(out, prefix, &self.weight, self.bias.as_ref());
    }
    fn describe(&self) -> String {
        let d = self.weight.dims();
        format!(
            "Conv2d({}->{}, k{}, s{}, p{})",
            d[1], d[0], d[2], self.stride, self.padding
        )
    }
}

/// Transposed 2-D convolution with weight `[c_in, c_out, k, k]` (PyTorch's layout).
pub struct ConvTranspose2d {
    /// Weight `[c_in, c_out, k, k]`.
    pub weight: Tensor,
    /// Bias `[c_out]`.
    pub bias: Option<Tensor>,
    /// Stride.
    pub stride: usize,
    /// Padding.
    pub padding: usize,
    /// Extra rows/cols on the bottom/right of the output.
    pub output_padding: usize,
}

impl ConvTranspose2d {
    /// A transposed conv layer with PyTorch's default init from `seed`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        padding: usize,
        output_padding: usize,
        bias: bool,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        Self::with_init(
            c_in,
            c_out,
            k,
            stride,
            padding,
            output_padding,
            bias,
            Init::PyTorchDefault,
            seed,
            device,
        )
    }
    /// A transposed conv layer with the weight drawn by `init`.
    #[allow(clippy::too_many_arguments)]
    pub fn with_init(
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        padding: usize,
        output_padding: usize,
        bias: bool,
        init: Init,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        // PyTorch computes fans from the weight as stored ([in, out, k, k]): fan_in = out*k*k.
        let fan = (c_out * k * k, c_in * k * k);
        let weight = init
            .tensor([c_in, c_out, k, k], Some(fan), derive_seed(seed, 0), device)?
            .requires_grad_();
        let bias = if bias {
            Some(
                Init::PyTorchDefault
                    .tensor([c_out], Some((fan.0, fan.0)), derive_seed(seed, 1), device)?
                    .requires_grad_(),
            )
        } else {
            None
        };
        Ok(ConvTranspose2d {
            weight,
            bias,
            stride,
            padding,
            output_padding,
        })
    }
}

impl Module for ConvTranspose2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.conv_transpose2d(
            &self.weight,
            self.bias.as_ref(),
            self.stride,
            self.padding,
            self.output_padding,
        )
    }
    fn named_parameters(&self, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        push_weight_bias(out, prefix, &self.weight, self.bias.as_ref());
    }
    fn describe(&self) -> String {
        let d = self.weight.dims();
        format!(
            "ConvTranspose2d({}->{}, k{}, s{}, p{}, op{})",
            d[0], d[1], d[2], self.stride, self.padding, self.output_padding
        )
    }
}

/// A fully connected layer `y = x W^T + b` with W `[out, in]`.
pub struct Linear {
    /// Weight `[out, in]`.
    pub weight: Tensor,
    /// Bias `[out]`.
    pub bias: Option<Tensor>,
}

impl Linear {
    /// A linear layer with PyTorch's default init from `seed`.
    pub fn new(d_in: usize, d_out: usize, bias: bool, seed: u64, device: &Device) -> Result<Self> {
        Self::with_init(d_in, d_out, bias, Init::PyTorchDefault, seed, device)
    }
    /// A linear layer with the weight drawn by `init`.
    pub fn with_init(
        d_in: usize,
        d_out: usize,
        bias: bool,
        init: Init,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        let weight = init
            .tensor([d_out, d_in], None, derive_seed(seed, 0), device)?
            .requires_grad_();
        let bias = if bias {
            Some(
                Init::PyTorchDefault
                    .tensor([d_out], Some((d_in, d_in)), derive_seed(seed, 1), device)?
                    .requires_grad_(),
            )
        } else {
            None
        };
        Ok(Linear { weight, bias })
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.linear(&self.weight, self.bias.as_ref())
    }
    fn named_parameters(&self, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        push_weight_bias(out, prefix, &self.weight, self.bias.as_ref());
    }
    fn describe(&self) -> String {
        let d = self.weight.dims();
        format!("Linear({}->{})", d[1], d[0])
    }
}

/// Leaky ReLU with a fixed negative slope.
pub struct LeakyReLU(pub f32);
impl Module for LeakyReLU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.leaky_relu(self.0)
    }
    fn describe(&self) -> String {
        format!("LeakyReLU({})", self.0)
    }
}

/// A layer without parameters that applies one tensor method.
macro_rules! stateless_layer {
    ($(#[$doc:meta] $name:ident => $apply:expr;)*) => {$(
        #[$doc]
        pub struct $name;
        impl Module for $name {
            fn forward(&self, x: &Tensor) -> Result<Tensor> {
                let f: fn(&Tensor) -> Result<Tensor> = $apply;
                f(x)
            }
            fn describe(&self) -> String {
                stringify!($name).into()
            }
        }
    )*};
}

stateless_layer! {
    /// ReLU.
    ReLU => |x| x.relu();
    /// Logistic sigmoid.
    Sigmoid => |x| x.sigmoid();
    /// Hyperbolic tangent.
    Tanh => |x| x.tanh();
    /// Flattens everything after the batch axis: `[N, ...]` to `[N, prod(...)]`.
    Flatten => |x| x.flatten(1);
}

/// Reshapes `[N, ...]` to `[N, dims...]`.
pub struct Reshape(pub Vec<usize>);
impl Module for Reshape {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut d = vec![x.dims()[0]];
        d.extend_from_slice(&self.0);
        x.reshape(d)
    }
    fn describe(&self) -> String {
        format!("Reshape({:?})", self.0)
    }
}
