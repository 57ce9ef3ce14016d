//! The architecture file's JSON schema (`docs/architecture-files.md` is its prose twin).
//!
//! Every layer is a JSON object with a `type`, a `name` (its tap name) and, where it has
//! parameters, `params`: the prefix of its tensors in the weights file (`enc.c1` for
//! `enc.c1.weight` and `enc.c1.bias`). Unknown fields are refused so that a typo
//! (`"strid": 2`) is not silently ignored.

use serde::{Deserialize, Serialize};

/// The only format string this version reads.
pub const FORMAT: &str = "vaecam-arch/1";

/// A whole architecture file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchFile {
    /// Must be [`FORMAT`].
    pub format: String,
    /// A free-form name shown in messages (e.g. `dsprites_torch`).
    #[serde(default)]
    pub name: String,
    /// The images the encoder takes.
    pub input: InputSpec,
    /// Latent dimensions.
    pub z_dim: usize,
    /// Image to (mu, logvar).
    pub encoder: EncoderSpec,
    /// z to the image.
    pub decoder: DecoderSpec,
}

/// Input images: `channels` x `size` x `size`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Image channels (1 gray, 3 RGB).
    pub channels: usize,
    /// Square side in pixels.
    pub size: usize,
}

/// The encoder: layers, then a head giving mu and logvar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncoderSpec {
    /// Layers in order; each `name` is a tap name.
    pub layers: Vec<LayerSpec>,
    /// The last step: features to (mu, logvar).
    pub head: HeadSpec,
}

/// How the encoder ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HeadSpec {
    /// One linear layer to `2 z` outputs split `[mu | logvar]` (PyTorch's `chunk(2, dim=1)`).
    SplitLinear {
        /// Layer (tap) name.
        name: String,
        /// Tensor prefix (`enc.f2` for `enc.f2.weight`, `enc.f2.bias`).
        params: String,
        /// Input features.
        in_features: usize,
        /// Whether it has a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
    },
    /// Two linear layers from the same features: one to mu, one to logvar.
    TwoLinear {
        /// Layer (tap) name of the pair.
        name: String,
        /// Tensor prefix of the mu layer.
        mu_params: String,
        /// Tensor prefix of the logvar layer.
        logvar_params: String,
        /// Input features.
        in_features: usize,
        /// Whether both have a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
    },
}

impl HeadSpec {
    /// The head's layer name.
    pub fn name(&self) -> &str {
        match self {
            HeadSpec::SplitLinear { name, .. } | HeadSpec::TwoLinear { name, .. } => name,
        }
    }
}

/// What the decoder's output means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecoderOutput {
    /// Bernoulli logits (train with BCE-with-logits); the image is their sigmoid.
    BernoulliLogits,
    /// Logits whose sigmoid is a Gaussian mean (vaecam's own Gaussian models).
    GaussianLogits,
    /// The Gaussian mean image itself, produced by a final `sigmoid` layer (which vaecam
    /// strips to work on its logits; other final layers are refused).
    GaussianMean,
}

/// The decoder: layers from z `[N, z]` to the image `[N, C, H, W]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecoderSpec {
    /// What the last layer outputs.
    pub output: DecoderOutput,
    /// Layers in order.
    pub layers: Vec<LayerSpec>,
}

/// How a weight is initialised when vaecam trains the model from scratch (ignored when
/// weights are loaded).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum InitSpec {
    /// PyTorch's default (kaiming-uniform with a = sqrt 5).
    #[default]
    Pytorch,
    /// He-normal for a leaky-ReLU slope (0 = ReLU).
    KaimingNormal {
        /// The slope the gain is computed for.
        slope: f32,
    },
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}
fn bn_eps() -> f32 {
    1e-5
}
fn bn_momentum() -> f32 {
    0.1
}

/// A 2-D convolution (PyTorch `nn.Conv2d`, weight `[out, in, k, k]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2dSpec {
    /// Layer (tap) name.
    pub name: String,
    /// Tensor prefix.
    pub params: String,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel side.
    pub kernel: usize,
    /// Stride (default 1).
    #[serde(default = "one")]
    pub stride: usize,
    /// Zero padding (default 0).
    #[serde(default)]
    pub padding: usize,
    /// Bias (default true).
    #[serde(default = "yes")]
    pub bias: bool,
    /// Initialisation for training from scratch.
    #[serde(default)]
    pub init: InitSpec,
}

/// A transposed 2-D convolution (PyTorch `nn.ConvTranspose2d`, weight `[in, out, k, k]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvTranspose2dSpec {
    /// Layer (tap) name.
    pub name: String,
    /// Tensor prefix.
    pub params: String,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel side.
    pub kernel: usize,
    /// Stride (default 1).
    #[serde(default = "one")]
    pub stride: usize,
    /// Padding (default 0).
    #[serde(default)]
    pub padding: usize,
    /// Extra rows/columns on the bottom/right of the output (default 0).
    #[serde(default)]
    pub output_padding: usize,
    /// Bias (default true).
    #[serde(default = "yes")]
    pub bias: bool,
    /// Initialisation for training from scratch.
    #[serde(default)]
    pub init: InitSpec,
}

/// A fully connected layer (PyTorch `nn.Linear`, weight `[out, in]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearSpec {
    /// Layer (tap) name.
    pub name: String,
    /// Tensor prefix.
    pub params: String,
    /// Input features.
    pub in_features: usize,
    /// Output features.
    pub out_features: usize,
    /// Bias (default true).
    #[serde(default = "yes")]
    pub bias: bool,
    /// Initialisation for training from scratch.
    #[serde(default)]
    pub init: InitSpec,
}

/// Batch normalisation over channels (PyTorch `nn.BatchNorm2d`: `weight`, `bias`,
/// `running_mean`, `running_var`; `num_batches_tracked` is ignored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNorm2dSpec {
    /// Layer (tap) name.
    pub name: String,
    /// Tensor prefix.
    pub params: String,
    /// Channels.
    pub channels: usize,
    /// Variance epsilon (default 1e-5).
    #[serde(default = "bn_eps")]
    pub eps: f32,
    /// Running-statistics momentum (default 0.1).
    #[serde(default = "bn_momentum")]
    pub momentum: f32,
}

/// Tensor names inside a residual block, relative to its `params` prefix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidualNames {
    /// First conv (default `conv1`).
    pub conv1: String,
    /// First BatchNorm (default `bn1`).
    pub bn1: String,
    /// Second conv (default `conv2`).
    pub conv2: String,
    /// Second BatchNorm (default `bn2`).
    pub bn2: String,
    /// The projection's 1x1 conv (default `shortcut.conv`; torchvision: `downsample.0`).
    pub projection_conv: String,
    /// The projection's BatchNorm (default `shortcut.bn`; torchvision: `downsample.1`).
    pub projection_bn: String,
}

impl Default for ResidualNames {
    fn default() -> Self {
        ResidualNames {
            conv1: "conv1".into(),
            bn1: "bn1".into(),
            conv2: "conv2".into(),
            bn2: "bn2".into(),
            projection_conv: "shortcut.conv".into(),
            projection_bn: "shortcut.bn".into(),
        }
    }
}

/// ResNet's basic block: `act(bn2(conv2(act(bn1(conv1(x))))) + shortcut(x))`, 3x3 convs
/// without bias; the shortcut is a 1x1 strided conv + BatchNorm when `projection` is true.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidualSpec {
    /// Layer (tap) name.
    pub name: String,
    /// Tensor prefix of the block.
    pub params: String,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Stride of the first conv and of the projection (default 1).
    #[serde(default = "one")]
    pub stride: usize,
    /// Whether the shortcut is a projection (required when the shape changes).
    pub projection: bool,
    /// Leaky-ReLU slope of the activations (default 0: ReLU).
    #[serde(default)]
    pub slope: f32,
    /// Tensor names inside the block.
    #[serde(default)]
    pub names: ResidualNames,
}

/// Bilinear (`align_corners=False`) or nearest upsampling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpsampleMode {
    /// PyTorch `mode="bilinear", align_corners=False`.
    Bilinear,
    /// PyTorch `mode="nearest"` with an integer factor.
    Nearest,
}

/// One layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerSpec {
    /// `nn.Conv2d`.
    Conv2d(Conv2dSpec),
    /// `nn.ConvTranspose2d`.
    ConvTranspose2d(ConvTranspose2dSpec),
    /// `nn.Linear`.
    Linear(LinearSpec),
    /// `nn.BatchNorm2d`.
    BatchNorm2d(BatchNorm2dSpec),
    /// A residual basic block.
    Residual(ResidualSpec),
    /// `nn.ReLU`.
    Relu {
        /// Layer (tap) name.
        name: String,
    },
    /// `nn.LeakyReLU(slope)`.
    LeakyRelu {
        /// Layer (tap) name.
        name: String,
        /// Negative slope.
        slope: f32,
    },
    /// `nn.Sigmoid`.
    Sigmoid {
        /// Layer (tap) name.
        name: String,
    },
    /// `nn.Tanh`.
    Tanh {
        /// Layer (tap) name.
        name: String,
    },
    /// `nn.Flatten()`: `[N, C, H, W]` to `[N, C*H*W]`.
    Flatten {
        /// Layer (tap) name.
        name: String,
    },
    /// `x.view(-1, *shape)` / `nn.Unflatten(1, shape)`: `[N, ...]` to `[N, *shape]`.
    #[serde(alias = "unflatten")]
    Reshape {
        /// Layer (tap) name.
        name: String,
        /// The shape after the batch dimension.
        shape: Vec<usize>,
    },
    /// `nn.AvgPool2d(kernel, stride)` without padding.
    AvgPool2d {
        /// Layer (tap) name.
        name: String,
        /// Window side.
        kernel: usize,
        /// Stride (default: the kernel).
        #[serde(default)]
        stride: Option<usize>,
    },
    /// `nn.AdaptiveAvgPool2d(1)`: `[N, C, H, W]` to `[N, C, 1, 1]`.
    GlobalAvgPool {
        /// Layer (tap) name.
        name: String,
    },
    /// `nn.Upsample(scale_factor, mode)` with an integer factor.
    Upsample {
        /// Layer (tap) name.
        name: String,
        /// Integer scale factor.
        scale: usize,
        /// Interpolation.
        mode: UpsampleMode,
    },
}

impl LayerSpec {
    /// The layer's (tap) name.
    pub fn name(&self) -> &str {
        match self {
            LayerSpec::Conv2d(s) => &s.name,
            LayerSpec::ConvTranspose2d(s) => &s.name,
            LayerSpec::Linear(s) => &s.name,
            LayerSpec::BatchNorm2d(s) => &s.name,
            LayerSpec::Residual(s) => &s.name,
            LayerSpec::Relu { name }
            | LayerSpec::LeakyRelu { name, .. }
            | LayerSpec::Sigmoid { name }
            | LayerSpec::Tanh { name }
            | LayerSpec::Flatten { name }
            | LayerSpec::Reshape { name, .. }
            | LayerSpec::AvgPool2d { name, .. }
            | LayerSpec::GlobalAvgPool { name }
            | LayerSpec::Upsample { name, .. } => name,
        }
    }
    /// The layer's type as spelled in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Conv2d(_) => "conv2d",
            LayerSpec::ConvTranspose2d(_) => "conv_transpose2d",
            LayerSpec::Linear(_) => "linear",
            LayerSpec::BatchNorm2d(_) => "batch_norm2d",
            LayerSpec::Residual(_) => "residual",
            LayerSpec::Relu { .. } => "relu",
            LayerSpec::LeakyRelu { .. } => "leaky_relu",
            LayerSpec::Sigmoid { .. } => "sigmoid",
            LayerSpec::Tanh { .. } => "tanh",
            LayerSpec::Flatten { .. } => "flatten",
            LayerSpec::Reshape { .. } => "reshape",
            LayerSpec::AvgPool2d { .. } => "avg_pool2d",
            LayerSpec::GlobalAvgPool { .. } => "global_avg_pool",
            LayerSpec::Upsample { .. } => "upsample",
        }
    }
}
