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
