//! Conv2d, ConvTranspose2d, Linear and the parameter-free layers.

use super::{join, Init, Module, StackedCotangent};
use crate::device::Device;
use crate::error::{Error, Result};
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

/// Refuses a zero size or stride in a layer config, naming the layer and the field.
fn check_positive(layer: &str, fields: &[(&str, usize)]) -> Result<()> {
    for (name, v) in fields {
        if *v == 0 {
            return Err(Error::InvalidArgument(format!(
                "{layer}: {name} must be at least 1 (got 0)"
            )));
        }
    }
    Ok(())
}

/// The bias of an affine layer, drawn by PyTorch's rule U(±1/sqrt(fan_in)).
fn bias_param(
    present: bool,
    len: usize,
    fan_in: usize,
    seed: u64,
    device: &Device,
) -> Result<Option<Tensor>> {
    if !present {
        return Ok(None);
    }
    let b = Init::PyTorchDefault.tensor([len], Some((fan_in, fan_in)), seed, device)?;
    Ok(Some(b.requires_grad_()))
}

/// The settings of a [`Conv2d`]; PyTorch's defaults (stride 1, padding 0, with bias, PyTorch's
/// default init) until changed:
/// `Conv2dConfig::new(1, 32, 4).stride(2).padding(1).init(seed, &device)?`.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dConfig {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height and width.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on every side.
    pub padding: usize,
    /// Whether the layer has a bias.
    pub bias: bool,
    /// How the weight is drawn (the bias always follows PyTorch's rule).
    pub weight_init: Init,
}

impl Conv2dConfig {
    /// A `kernel x kernel` convolution from `c_in` to `c_out` channels.
    pub fn new(c_in: usize, c_out: usize, kernel: usize) -> Self {
        Conv2dConfig {
            c_in,
            c_out,
            kernel,
            stride: 1,
            padding: 0,
            bias: true,
            weight_init: Init::PyTorchDefault,
        }
    }
    /// Sets the stride.
    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }
    /// Sets the zero padding.
    pub fn padding(mut self, padding: usize) -> Self {
        self.padding = padding;
        self
    }
    /// With or without a bias.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
    /// Sets the rule that draws the weight.
    pub fn weight_init(mut self, init: Init) -> Self {
        self.weight_init = init;
        self
    }
    /// The layer, its parameters drawn from `seed` on `device`.
    pub fn init(&self, seed: u64, device: &Device) -> Result<Conv2d> {
        check_positive(
            "Conv2d",
            &[
                ("c_in", self.c_in),
                ("c_out", self.c_out),
                ("kernel", self.kernel),
                ("stride", self.stride),
            ],
        )?;
        let (c_in, c_out, k) = (self.c_in, self.c_out, self.kernel);
        let weight = self
            .weight_init
            .tensor([c_out, c_in, k, k], None, derive_seed(seed, 0), device)?
            .requires_grad_();
        let bias = bias_param(self.bias, c_out, c_in * k * k, derive_seed(seed, 1), device)?;
        Ok(Conv2d {
            weight,
            bias,
            stride: self.stride,
            padding: self.padding,
        })
    }
}

/// 2-D convolution with weight `[c_out, c_in, k, k]` and an optional bias; built by
/// [`Conv2dConfig`].
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

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.conv2d(&self.weight, self.bias.as_ref(), self.stride, self.padding)
    }
    fn stacked_vjp_refusal(&self) -> Option<String> {
        None
    }
    fn stacked_vjp(
        &self,
        input: &Tensor,
        _output: &Tensor,
        cot: &StackedCotangent,
    ) -> Result<StackedCotangent> {
        let hw = (input.dims()[2], input.dims()[3]);
        cot.map(|g| g.conv2d_backward_data(&self.weight, hw, self.stride, self.padding))
    }
    fn stacked_vjp_spatial_sum(
        &self,
        input: &Tensor,
        output: &Tensor,
        cot: &StackedCotangent,
    ) -> Result<StackedCotangent> {
        let (in_hw, out_hw) = (
            (input.dims()[2], input.dims()[3]),
            (output.dims()[2], output.dims()[3]),
        );
        let sums =
            super::stacked::conv_tap_sums(&self.weight, self.stride, self.padding, in_hw, out_hw)?;
        cot.map(|g| {
            g.reshape(vec![g.dims()[0], sums.dims()[1]])?
                .linear(&sums, None)
        })
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

/// The settings of a [`ConvTranspose2d`]; PyTorch's defaults (stride 1, padding 0, output
/// padding 0, with bias, PyTorch's default init) until changed:
/// `ConvTranspose2dConfig::new(64, 32, 4).stride(2).padding(1).init(seed, &device)?`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvTranspose2dConfig {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height and width.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Padding (removed from the output, as in PyTorch).
    pub padding: usize,
    /// Extra rows/cols on the bottom/right of the output.
    pub output_padding: usize,
    /// Whether the layer has a bias.
    pub bias: bool,
    /// How the weight is drawn (the bias always follows PyTorch's rule).
    pub weight_init: Init,
}

impl ConvTranspose2dConfig {
    /// A `kernel x kernel` transposed convolution from `c_in` to `c_out` channels.
    pub fn new(c_in: usize, c_out: usize, kernel: usize) -> Self {
        ConvTranspose2dConfig {
            c_in,
            c_out,
            kernel,
            stride: 1,
            padding: 0,
            output_padding: 0,
            bias: true,
            weight_init: Init::PyTorchDefault,
        }
    }
    /// Sets the stride.
    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }
    /// Sets the padding.
    pub fn padding(mut self, padding: usize) -> Self {
        self.padding = padding;
        self
    }
    /// Sets the output padding.
    pub fn output_padding(mut self, output_padding: usize) -> Self {
        self.output_padding = output_padding;
        self
    }
    /// With or without a bias.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
    /// Sets the rule that draws the weight.
    pub fn weight_init(mut self, init: Init) -> Self {
        self.weight_init = init;
        self
    }
    /// The layer, its parameters drawn from `seed` on `device`.
    pub fn init(&self, seed: u64, device: &Device) -> Result<ConvTranspose2d> {
        check_positive(
            "ConvTranspose2d",
            &[
                ("c_in", self.c_in),
                ("c_out", self.c_out),
                ("kernel", self.kernel),
                ("stride", self.stride),
            ],
        )?;
        if self.output_padding >= self.stride {
            return Err(Error::InvalidArgument(format!(
                "ConvTranspose2d: output_padding {} must be smaller than stride {}",
                self.output_padding, self.stride
            )));
        }
        let (c_in, c_out, k) = (self.c_in, self.c_out, self.kernel);
        // PyTorch computes fans from the weight as stored ([in, out, k, k]): fan_in = out*k*k.
        let fan = (c_out * k * k, c_in * k * k);
        let weight = self
            .weight_init
            .tensor([c_in, c_out, k, k], Some(fan), derive_seed(seed, 0), device)?
            .requires_grad_();
        let bias = bias_param(self.bias, c_out, fan.0, derive_seed(seed, 1), device)?;
        Ok(ConvTranspose2d {
            weight,
            bias,
            stride: self.stride,
            padding: self.padding,
            output_padding: self.output_padding,
        })
    }
}

/// Transposed 2-D convolution with weight `[c_in, c_out, k, k]` (PyTorch's layout); built by
/// [`ConvTranspose2dConfig`].
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
    fn stacked_vjp_refusal(&self) -> Option<String> {
        None
    }
    fn stacked_vjp(
        &self,
        _input: &Tensor,
        _output: &Tensor,
        cot: &StackedCotangent,
    ) -> Result<StackedCotangent> {
        // A transposed convolution is conv2d's input gradient, so its own input gradient is
        // the convolution with the same weight (output padding only adds unused rows).
        cot.map(|g| g.conv2d(&self.weight, None, self.stride, self.padding))
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

/// The settings of a [`Linear`] layer; with bias and PyTorch's default init until changed:
/// `LinearConfig::new(1024, 128).init(seed, &device)?`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearConfig {
    /// Input features.
    pub d_in: usize,
    /// Output features.
    pub d_out: usize,
    /// Whether the layer has a bias.
    pub bias: bool,
    /// How the weight is drawn (the bias always follows PyTorch's rule).
    pub weight_init: Init,
}

impl LinearConfig {
    /// A layer from `d_in` to `d_out` features.
    pub fn new(d_in: usize, d_out: usize) -> Self {
        LinearConfig {
            d_in,
            d_out,
            bias: true,
            weight_init: Init::PyTorchDefault,
        }
    }
    /// With or without a bias.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
    /// Sets the rule that draws the weight.
    pub fn weight_init(mut self, init: Init) -> Self {
        self.weight_init = init;
        self
    }
    /// The layer, its parameters drawn from `seed` on `device`.
    pub fn init(&self, seed: u64, device: &Device) -> Result<Linear> {
        check_positive("Linear", &[("d_in", self.d_in), ("d_out", self.d_out)])?;
        let weight = self
            .weight_init
            .tensor([self.d_out, self.d_in], None, derive_seed(seed, 0), device)?
            .requires_grad_();
        let bias = bias_param(
            self.bias,
            self.d_out,
            self.d_in,
            derive_seed(seed, 1),
            device,
        )?;
        Ok(Linear { weight, bias })
    }
}

/// A fully connected layer `y = x W^T + b` with W `[out, in]`; built by [`LinearConfig`].
pub struct Linear {
    /// Weight `[out, in]`.
    pub weight: Tensor,
    /// Bias `[out]`.
    pub bias: Option<Tensor>,
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.linear(&self.weight, self.bias.as_ref())
    }
    fn stacked_vjp_refusal(&self) -> Option<String> {
        None
    }
    fn stacked_vjp(
        &self,
        _input: &Tensor,
        _output: &Tensor,
        cot: &StackedCotangent,
    ) -> Result<StackedCotangent> {
        cot.map(|g| g.matmul(&self.weight))
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
    fn leaky_slope(&self) -> Option<f32> {
        // A fused producer reads the mask from the activation's output, which has the sign
        // of its input only for slopes >= 0.
        (self.0 >= 0.0 && self.0.is_finite()).then_some(self.0)
    }
    fn stacked_vjp_refusal(&self) -> Option<String> {
        None
    }
    fn stacked_vjp(
        &self,
        input: &Tensor,
        _output: &Tensor,
        cot: &StackedCotangent,
    ) -> Result<StackedCotangent> {
        // 1 where x > 0, else the slope (the tape's rule): step(x) = relu(sign(x)).
        let slope = self.0;
        cot.mul_per_sample(&input.sign()?.relu()?.affine(1.0 - slope, slope)?)
    }
    fn describe(&self) -> String {
        format!("LeakyReLU({})", self.0)
    }
}

/// The stacked rule of a parameter-free layer: (input, output, cotangent) -> cotangent.
type StackedRule = fn(&Tensor, &Tensor, &StackedCotangent) -> Result<StackedCotangent>;

/// A layer without parameters that applies one tensor method, with its stacked backward rule.
macro_rules! stateless_layer {
    ($(#[$doc:meta] $name:ident => $apply:expr, $vjp:expr;)*) => {$(
        #[$doc]
        pub struct $name;
        impl Module for $name {
            fn forward(&self, x: &Tensor) -> Result<Tensor> {
                let f: fn(&Tensor) -> Result<Tensor> = $apply;
                f(x)
            }
            fn stacked_vjp_refusal(&self) -> Option<String> {
                None
            }
            fn stacked_vjp(
                &self,
                input: &Tensor,
                output: &Tensor,
                cot: &StackedCotangent,
            ) -> Result<StackedCotangent> {
                let f: StackedRule = $vjp;
                f(input, output, cot)
            }
            fn describe(&self) -> String {
                stringify!($name).into()
            }
        }
    )*};
}

// The factors are the tape's rules (ops/unary.rs) evaluated at the forward's input or output.
stateless_layer! {
    /// ReLU.
    ReLU => |x| x.relu(), |x, _, g| g.mul_per_sample(&x.sign()?.relu()?);
    /// Logistic sigmoid.
    Sigmoid => |x| x.sigmoid(), |_, y, g| g.mul_per_sample(&y.mul(&y.affine(-1.0, 1.0)?)?);
    /// Hyperbolic tangent.
    Tanh => |x| x.tanh(), |_, y, g| g.mul_per_sample(&y.mul(y)?.affine(-1.0, 1.0)?);
    /// Flattens everything after the batch axis: `[N, ...]` to `[N, prod(...)]`.
    Flatten => |x| x.flatten(1), |x, _, g| g.reshape_rows(&x.dims()[1..]);
}

/// Reshapes `[N, ...]` to `[N, dims...]`.
pub struct Reshape(pub Vec<usize>);
impl Module for Reshape {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut d = vec![x.dims()[0]];
        d.extend_from_slice(&self.0);
        x.reshape(d)
    }
    fn stacked_vjp_refusal(&self) -> Option<String> {
        None
    }
    fn stacked_vjp(
        &self,
        input: &Tensor,
        _output: &Tensor,
        cot: &StackedCotangent,
    ) -> Result<StackedCotangent> {
        cot.reshape_rows(&input.dims()[1..])
    }
    fn describe(&self) -> String {
        format!("Reshape({:?})", self.0)
    }
}
