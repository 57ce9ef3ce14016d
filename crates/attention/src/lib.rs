//! # vaecam-attention
//!
//! Attention maps from a VAE's latent space ("Towards Visually Explaining Variational
//! Autoencoders", Liu et al., CVPR 2020): for an encoder layer with activation A (n channels of
//! h x w) and a latent quantity s (a latent dimension z_i, or an anomaly score),
//! alpha_k = mean over (p, q) of ds/dA_k(p, q) and M = ReLU(sum_k alpha_k A_k), upsampled to the image.
//!
//! Any encoder that names its layers can be explained: implement [`TappedEncoder`] (done here
//! for a [`vaecam_tensor::nn::Sequential`] whose output is `[mu, logvar]`).
//!
//! ```
//! use vaecam_attention::{latent_attention_maps, MapOptions, SequentialEncoder};
//! use vaecam_tensor::nn::{Conv2dConfig, Flatten, LinearConfig, ReLU, Sequential};
//! use vaecam_tensor::{Device, Tensor};
//! # fn main() -> vaecam_tensor::Result<()> {
//! let dev = Device::cpu();
//! let net = Sequential::new()
//!     .push("conv1", Conv2dConfig::new(1, 4, 4).stride(2).padding(1).init(1, &dev)?)
//!     .push("relu1", ReLU)
//!     .push("flatten", Flatten)
//!     .push("fc", LinearConfig::new(4 * 8 * 8, 2 * 3).init(2, &dev)?);
//! let enc = SequentialEncoder::new(&net, 3);
//! let x = Tensor::rand([2, 1, 16, 16], 0, &dev)?;
//! let maps = latent_attention_maps(&enc, &x, "conv1", &MapOptions::default())?;
//! assert_eq!(maps.per_dim.as_ref().unwrap().dims(), &[2, 3, 16, 16]);
//! assert_eq!(maps.aggregate.dims(), &[2, 1, 16, 16]);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod ad_loss;
pub mod maps;
pub mod tap;

pub use ad_loss::{attention_disentanglement_loss, choose_pairs, AdOptions, Overlap, PairChoice};
pub use maps::{
    latent_attention_maps, maps_from_activation, maps_from_activation_batched, AttentionMaps,
    CodeNorm, MapOptions, Strategy, Variant,
};
pub use tap::{GradientSums, SequentialEncoder, TappedEncoder};
