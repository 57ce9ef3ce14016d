//! Typed settings shared by the commands: every choice a flag offers is an enum here
//! (clap parses it, serde stores it in `config.json`), so a name is spelled in one place.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use vaecam_tensor::Device;

/// `--device`: which backend runs the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceChoice {
    /// The native CPU backend.
    Cpu,
    /// The WGSL backend through wgpu (a software adapter is accepted).
    Gpu,
    /// A hardware GPU if there is one, else the CPU (`VAECAM_DEVICE` overrides).
    #[default]
    Best,
}

impl DeviceChoice {
    /// The flag's spelling (`cpu`, `gpu`, `best`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Gpu => "gpu",
            DeviceChoice::Best => "best",
        }
    }

    /// Opens the device.
    pub fn open(self) -> crate::Result<Device> {
        Device::parse(self.as_str()).map_err(crate::Error::from)
    }
}

/// `--model`: the built-in architectures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelChoice {
    /// The dSprites VAE of METHOD.md (64x64, Bernoulli).
    Dsprites,
    /// The authors' MNIST VAE (28x28).
    Mnist,
    /// The texture/object conv VAE (BatchNorm + LeakyReLU, k4 s2 p1 stack).
    Conv,
    /// The ResNet-18-style encoder with the conv decoder.
    Resnet18,
}

impl ModelChoice {
    /// The flag's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelChoice::Dsprites => "dsprites",
            ModelChoice::Mnist => "mnist",
            ModelChoice::Conv => "conv",
            ModelChoice::Resnet18 => "resnet18",
        }
    }
}

/// `disentangle --model`: the objective trained on dSprites.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DisentangleModel {
    /// beta-VAE (weight `--beta` on the KL term).
    BetaVae,
    /// FactorVAE (weight `--gamma` on the total correlation).
    FactorVae,
}

impl DisentangleModel {
    /// The flag's spelling (`beta-vae`, `factor-vae`), also stored in `metrics.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            DisentangleModel::BetaVae => "beta-vae",
            DisentangleModel::FactorVae => "factor-vae",
        }
    }
}

/// `--ad-overlap`: how the overlap of two attention maps is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AdOverlap {
    /// Soft IoU.
    #[default]
    Iou,
    /// Soft Dice.
    Dice,
}

/// `--ad-grad`: whether the AD gradient flows through the channel weights alpha.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AdGrad {
    /// Through alpha (second order), as the paper's objective is written.
    #[default]
    Full,
    /// Alpha treated as a constant (first order only).
    Detached,
}

/// `--ad-strategy`: how the per-dimension maps are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AdStrategy {
    /// One vector-Jacobian product per latent dimension.
    #[default]
    PerDim,
    /// The encoder's tail re-run on the activation repeated per dimension, one product.
    Batched,
}

/// `--ad-pairs`: which pairs of latent dimensions are penalised. Not a `ValueEnum`, since
/// `top-k:K` carries a number: clap parses it with [`FromStr`](std::str::FromStr), and it
/// is stored in `config.json` as the same string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(try_from = "String", into = "String")]
pub enum AdPairs {
    /// Every pair.
    #[default]
    All,
    /// One random pair per step.
    Random,
    /// All pairs among the K dimensions of largest posterior-mean variance (K >= 2).
    TopK(usize),
}

impl std::str::FromStr for AdPairs {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(AdPairs::All),
            "random" => Ok(AdPairs::Random),
            _ => s
                .strip_prefix("top-k:")
                .and_then(|k| k.parse::<usize>().ok())
                .filter(|&k| k >= 2)
                .map(AdPairs::TopK)
                .ok_or_else(|| format!("{s:?}: expected all, random or top-k:K with K >= 2")),
        }
    }
}

impl std::fmt::Display for AdPairs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdPairs::All => write!(f, "all"),
            AdPairs::Random => write!(f, "random"),
            AdPairs::TopK(k) => write!(f, "top-k:{k}"),
        }
    }
}

impl TryFrom<String> for AdPairs {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<AdPairs> for String {
    fn from(p: AdPairs) -> String {
        p.to_string()
    }
}

/// Value parsers for numeric flags: clap refuses a bad value at parse time, naming the flag.
pub mod parse {
    /// An integer >= 1 (batch sizes, channel counts, latent dimensions, sample counts).
    pub fn positive_usize(s: &str) -> Result<usize, String> {
        match s.parse::<usize>() {
            Ok(0) => Err("must be at least 1".into()),
            Ok(v) => Ok(v),
            Err(e) => Err(format!("not a whole number: {e}")),
        }
    }

    /// Image channels: 1 (grey) or 3 (RGB).
    pub fn image_channels(s: &str) -> Result<usize, String> {
        match s {
            "1" => Ok(1),
            "3" => Ok(3),
            _ => Err("must be 1 (grey) or 3 (RGB)".into()),
        }
    }

    /// A finite number > 0 (learning rates).
    pub fn positive_f32(s: &str) -> Result<f32, String> {
        match s.parse::<f32>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
            Ok(v) => Err(format!("{v} must be finite and greater than 0")),
            Err(e) => Err(format!("not a number: {e}")),
        }
    }

    /// A finite number >= 0 (loss weights).
    pub fn non_negative_f32(s: &str) -> Result<f32, String> {
        match s.parse::<f32>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
            Ok(v) => Err(format!("{v} must be finite and at least 0")),
            Err(e) => Err(format!("not a number: {e}")),
        }
    }
}
