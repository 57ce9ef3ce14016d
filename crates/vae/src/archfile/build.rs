//! Builds the engine's modules from a validated architecture file. Parameters are named by
//! the file's `params` prefixes (PyTorch's `state_dict` keys), not by the layer names.

use super::schema::*;
use vaecam_tensor::nn::{
    BatchNorm2d, BatchNorm2dConfig, Conv2d, Conv2dConfig, ConvTranspose2dConfig, Flatten, Init,
    LeakyReLU, Linear, LinearConfig, Module, ReLU, Reshape, Sequential, Sigmoid, StackedCotangent,
    Tanh,
};
use vaecam_tensor::rng::derive_seed;
use vaecam_tensor::{Device, Result, Tensor};

fn init(spec: InitSpec) -> Init {
    match spec {
        InitSpec::Pytorch => Init::PyTorchDefault,
        InitSpec::KaimingNormal { slope } => Init::KaimingNormal(slope),
    }
}

/// A layer whose tensors are named `params.*` whatever the container calls it.
struct Prefixed<M: Module> {
    inner: M,
    params: String,
}

impl<M: Module> Module for Prefixed<M> {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.inner.forward(x)
    }
    fn named_parameters(&self, _prefix: &str, out: &mut Vec<(String, Tensor)>) {
        self.inner.named_parameters(&self.params, out);
    }
    fn named_buffers(&self, _prefix: &str, out: &mut Vec<(String, Tensor)>) {
        self.inner.named_buffers(&self.params, out);
    }
    fn set_training(&self, training: bool) {
        self.inner.set_training(training);
    }
    fn mixes_batch(&self) -> bool {
        self.inner.mixes_batch()
    }
    fn stacked_vjp_refusal(&self) -> Option<String> {
        self.inner.stacked_vjp_refusal()
    }
    fn stacked_vjp(
        &self,
        input: &Tensor,
        output: &Tensor,
        cot: &StackedCotangent,
    ) -> Result<StackedCotangent> {
        self.inner.stacked_vjp(input, output, cot)
    }
    fn stacked_vjp_spatial_sum(
        &self,
        input: &Tensor,
        output: &Tensor,
        cot: &StackedCotangent,
    ) -> Result<StackedCotangent> {
        self.inner.stacked_vjp_spatial_sum(input, output, cot)
    }
    fn describe(&self) -> String {
        format!("{} [{}]", self.inner.describe(), self.params)
    }
}

fn prefixed(inner: impl Module + 'static, params: &str) -> Box<dyn Module> {
    Box::new(Prefixed {
        inner,
        params: params.to_string(),
    })
}

/// Two linear layers on the same features, concatenated `[mu | logvar]`.
struct TwoLinearHead {
    mu: Linear,
    logvar: Linear,
    mu_params: String,
    logvar_params: String,
}

impl Module for TwoLinearHead {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Tensor::concat(&[self.mu.forward(x)?, self.logvar.forward(x)?], 1)
    }
    fn named_parameters(&self, _prefix: &str, out: &mut Vec<(String, Tensor)>) {
        self.mu.named_parameters(&self.mu_params, out);
        self.logvar.named_parameters(&self.logvar_params, out);
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
        // [mu | logvar] cotangent columns go back through their own weights and add up.
        let z = self.mu.weight.dims()[0];
        cot.map(|g| {
            g.slice(1, 0, z)?
                .matmul(&self.mu.weight)?
                .add(&g.slice(1, z, z)?.matmul(&self.logvar.weight)?)
        })
    }
    fn describe(&self) -> String {
        format!(
            "TwoLinear(mu [{}], logvar [{}])",
            self.mu_params, self.logvar_params
        )
    }
}

/// ResNet's basic block with the tensor names of the file.
struct Residual {
    conv1: Conv2d,
    bn1: BatchNorm2d,
    conv2: Conv2d,
    bn2: BatchNorm2d,
    projection: Option<(Conv2d, BatchNorm2d)>,
    slope: f32,
    params: String,
    names: ResidualNames,
}

impl Residual {
    fn at(&self, name: &str) -> String {
        format!("{}.{name}", self.params)
    }
}

impl Module for Residual {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self
            .bn1
            .forward(&self.conv1.forward(x)?)?
            .leaky_relu(self.slope)?;
        let h = self.bn2.forward(&self.conv2.forward(&h)?)?;
        let s = match &self.projection {
            Some((c, b)) => b.forward(&c.forward(x)?)?,
            None => x.clone(),
        };
        h.add(&s)?.leaky_relu(self.slope)
    }
    fn named_parameters(&self, _prefix: &str, out: &mut Vec<(String, Tensor)>) {
        let n = &self.names;
        self.conv1.named_parameters(&self.at(&n.conv1), out);
        self.bn1.named_parameters(&self.at(&n.bn1), out);
        self.conv2.named_parameters(&self.at(&n.conv2), out);
        self.bn2.named_parameters(&self.at(&n.bn2), out);
        if let Some((c, b)) = &self.projection {
            c.named_parameters(&self.at(&n.projection_conv), out);
            b.named_parameters(&self.at(&n.projection_bn), out);
        }
    }
    fn named_buffers(&self, _prefix: &str, out: &mut Vec<(String, Tensor)>) {
        let n = &self.names;
        self.bn1.named_buffers(&self.at(&n.bn1), out);
        self.bn2.named_buffers(&self.at(&n.bn2), out);
        if let Some((_, b)) = &self.projection {
            b.named_buffers(&self.at(&n.projection_bn), out);
        }
    }
    fn set_training(&self, training: bool) {
        self.bn1.set_training(training);
        self.bn2.set_training(training);
        if let Some((_, b)) = &self.projection {
            b.set_training(training);
        }
    }
    fn mixes_batch(&self) -> bool {
        self.bn1.mixes_batch()
            || self.bn2.mixes_batch()
            || self
                .projection
                .as_ref()
                .is_some_and(|(_, b)| b.mixes_batch())
    }
    fn describe(&self) -> String {
        let d = self.conv1.weight.dims();
        format!(
            "Residual({}->{}, s{}) [{}]",
            d[1], d[0], self.conv1.stride, self.params
        )
    }
}

struct AvgPool {
    kernel: usize,
    stride: usize,
}
impl Module for AvgPool {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.avg_pool2d(self.kernel, self.stride)
    }
    fn describe(&self) -> String {
        format!("AvgPool2d(k{}, s{})", self.kernel, self.stride)
    }
}

struct GlobalAvgPool;
impl Module for GlobalAvgPool {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.global_avg_pool()
    }
    fn describe(&self) -> String {
        "GlobalAvgPool".into()
    }
}

struct Upsample {
    scale: usize,
    mode: UpsampleMode,
}
impl Module for Upsample {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let d = x.dims().to_vec();
        let (n, c, h, w, f) = (d[0], d[1], d[2], d[3], self.scale);
        match self.mode {
            UpsampleMode::Bilinear => x.upsample_bilinear(h * f, w * f),
            // Nearest with an integer factor repeats each pixel f x f times: a broadcast
            // product with ones, differentiable like every other op.
            UpsampleMode::Nearest => {
                let ones = Tensor::ones([1, 1, 1, f, 1, f], x.device())?;
                x.reshape(vec![n, c, h, 1, w, 1])?
                    .mul(&ones)?
                    .reshape(vec![n, c, h * f, w * f])
            }
        }
    }
    fn describe(&self) -> String {
        format!("Upsample(x{}, {:?})", self.scale, self.mode)
    }
}

fn batch_norm(s: &BatchNorm2dSpec, dev: &Device) -> Result<BatchNorm2d> {
    BatchNorm2dConfig::new(s.channels)
        .eps(s.eps)
        .momentum(s.momentum)
        .init(dev)
}

/// One module for `layer`; `seed` draws its initial weights.
pub fn layer(layer: &LayerSpec, seed: u64, dev: &Device) -> Result<Box<dyn Module>> {
    Ok(match layer {
        LayerSpec::Conv2d(s) => prefixed(
            Conv2dConfig::new(s.in_channels, s.out_channels, s.kernel)
                .stride(s.stride)
                .padding(s.padding)
                .bias(s.bias)
                .weight_init(init(s.init))
                .init(seed, dev)?,
            &s.params,
        ),
        LayerSpec::ConvTranspose2d(s) => prefixed(
            ConvTranspose2dConfig::new(s.in_channels, s.out_channels, s.kernel)
                .stride(s.stride)
                .padding(s.padding)
                .output_padding(s.output_padding)
                .bias(s.bias)
                .weight_init(init(s.init))
                .init(seed, dev)?,
            &s.params,
        ),
        LayerSpec::Linear(s) => prefixed(
            LinearConfig::new(s.in_features, s.out_features)
                .bias(s.bias)
                .weight_init(init(s.init))
                .init(seed, dev)?,
            &s.params,
        ),
        LayerSpec::BatchNorm2d(s) => prefixed(batch_norm(s, dev)?, &s.params),
        LayerSpec::Residual(s) => {
            let he = Init::KaimingNormal(s.slope);
            let conv = |cin, k, stride, pad, stream| -> Result<Conv2d> {
                Conv2dConfig::new(cin, s.out_channels, k)
                    .stride(stride)
                    .padding(pad)
                    .bias(false)
                    .weight_init(he)
                    .init(derive_seed(seed, stream), dev)
            };
            let bn = || BatchNorm2dConfig::new(s.out_channels).init(dev);
            let projection = if s.projection {
                Some((conv(s.in_channels, 1, s.stride, 0, 3)?, bn()?))
            } else {
                None
            };
            Box::new(Residual {
                conv1: conv(s.in_channels, 3, s.stride, 1, 1)?,
                bn1: bn()?,
                conv2: conv(s.out_channels, 3, 1, 1, 2)?,
                bn2: bn()?,
                projection,
                slope: s.slope,
                params: s.params.clone(),
                names: s.names.clone(),
            })
        }
        LayerSpec::Relu { .. } => Box::new(ReLU),
        LayerSpec::LeakyRelu { slope, .. } => Box::new(LeakyReLU(*slope)),
        LayerSpec::Sigmoid { .. } => Box::new(Sigmoid),
        LayerSpec::Tanh { .. } => Box::new(Tanh),
        LayerSpec::Flatten { .. } => Box::new(Flatten),
        LayerSpec::Reshape { shape, .. } => Box::new(Reshape(shape.clone())),
        LayerSpec::AvgPool2d { kernel, stride, .. } => Box::new(AvgPool {
            kernel: *kernel,
            stride: stride.unwrap_or(*kernel),
        }),
        LayerSpec::GlobalAvgPool { .. } => Box::new(GlobalAvgPool),
        LayerSpec::Upsample { scale, mode, .. } => Box::new(Upsample {
            scale: *scale,
            mode: *mode,
        }),
    })
}

/// The encoder head as a module giving `[N, 2z]` (`[mu | logvar]`).
pub fn head(spec: &HeadSpec, z: usize, seed: u64, dev: &Device) -> Result<Box<dyn Module>> {
    Ok(match spec {
        HeadSpec::SplitLinear {
            params,
            in_features,
            bias,
            ..
        } => prefixed(
            LinearConfig::new(*in_features, 2 * z)
                .bias(*bias)
                .init(seed, dev)?,
            params,
        ),
        HeadSpec::TwoLinear {
            mu_params,
            logvar_params,
            in_features,
            bias,
            ..
        } => Box::new(TwoLinearHead {
            mu: LinearConfig::new(*in_features, z)
                .bias(*bias)
                .init(derive_seed(seed, 1), dev)?,
            logvar: LinearConfig::new(*in_features, z)
                .bias(*bias)
                .init(derive_seed(seed, 2), dev)?,
            mu_params: mu_params.clone(),
            logvar_params: logvar_params.clone(),
        }),
    })
}

/// The encoder and decoder stacks of a validated file. Layer `i` of the encoder draws its
/// weights from stream `1 + i` of `seed`, the head from 500, decoder layer `i` from `1000 + i`.
pub fn stacks(file: &ArchFile, seed: u64, dev: &Device) -> Result<(Sequential, Sequential)> {
    let mut enc = Sequential::new();
    for (i, l) in file.encoder.layers.iter().enumerate() {
        enc.add(l.name(), layer(l, derive_seed(seed, 1 + i as u64), dev)?)?;
    }
    enc.add(
        file.encoder.head.name(),
        head(&file.encoder.head, file.z_dim, derive_seed(seed, 500), dev)?,
    )?;
    let mut dec = Sequential::new();
    let mut layers = file.decoder.layers.as_slice();
    if file.decoder.output == DecoderOutput::GaussianMean {
        // Validated: the last layer is the sigmoid; vaecam's decoders end in logits.
        layers = &layers[..layers.len() - 1];
    }
    for (i, l) in layers.iter().enumerate() {
        dec.add(l.name(), layer(l, derive_seed(seed, 1000 + i as u64), dev)?)?;
    }
    Ok((enc, dec))
}
