//! Taps: the activation of a named encoder layer, recorded during the forward pass, so that
//! gradients of any latent quantity with respect to it come from the engine's `grad` without a
//! second forward pass.

use vaecam_tensor::nn::{Sequential, StackedCotangent};
use vaecam_tensor::{Error, Result, Tensor};

/// Cotangent floats one chunk of the stacked backward may hold per layer (64 MiB of f32):
/// the latent dimensions are processed in chunks of this many rows, so memory stays bounded
/// for any batch while each GEMM still has hundreds of rows.
const STACKED_CHUNK_FLOATS: usize = 1 << 24;

/// What [`TappedEncoder::encode_with_gradient_sums`] returns.
pub struct GradientSums {
    /// Posterior mean `[N, D]`.
    pub mu: Tensor,
    /// Posterior log-variance `[N, D]`.
    pub logvar: Tensor,
    /// The tapped activation A `[N, K, h, w]` (on the tape).
    pub activation: Tensor,
    /// `sums[b * N + n, k]` = the sum over positions (p, q) of `d mu_{dims[b]}(n) / dA_k(n, p, q)`
    /// (not on the tape): `[V * N, K]` for V = `dims.len()`.
    pub sums: Tensor,
}

/// An encoder to a Gaussian posterior whose intermediate layers can be tapped by name.
pub trait TappedEncoder {
    /// The names of the layers that can be tapped, in forward order.
    fn layer_names(&self) -> Vec<String>;
    /// Latent dimensions.
    fn z_dim(&self) -> usize;
    /// (mu, logvar) of a batch and the activations of the `taps` layers (tensors on the tape).
    fn encode_tapped(&self, x: &Tensor, taps: &[&str]) -> Result<(Tensor, Tensor, Vec<Tensor>)>;
    /// Runs the layers after `layer` on its activation `a` and returns (mu, logvar): used by
    /// the batched strategy. The default says it is not available.
    fn encode_from(&self, layer: &str, a: &Tensor) -> Result<(Tensor, Tensor)> {
        let _ = a;
        Err(Error::NotImplemented(format!(
            "this encoder cannot run from layer {layer:?}; use Strategy::PerDim"
        )))
    }
    /// The first layer after `layer` whose output mixes the samples of a batch (BatchNorm in
    /// training mode), if any: the batched strategy stacks independent copies and refuses such
    /// a tail. The default reports none.
    fn batch_mixing_layer_after(&self, layer: &str) -> Result<Option<String>> {
        let _ = layer;
        Ok(None)
    }
    /// Why [`TappedEncoder::encode_with_gradient_sums`] cannot run from `layer` now (a layer
    /// after it without a stacked backward rule, BatchNorm in training mode), or None when
    /// it can. The default: this encoder has none.
    fn stacked_refusal(&self, layer: &str) -> Result<Option<String>> {
        let _ = layer;
        Ok(Some(
            "this encoder has no stacked backward (TappedEncoder::encode_with_gradient_sums)"
                .into(),
        ))
    }
    /// One forward pass, then the per-dimension gradient sums at `layer` for the latent
    /// dimensions `dims` from one stacked backward of the layers after it (no second forward,
    /// no tape walk per dimension). The default says it is not available.
    fn encode_with_gradient_sums(
        &self,
        x: &Tensor,
        layer: &str,
        dims: &[usize],
    ) -> Result<GradientSums> {
        let _ = (x, dims);
        Err(Error::NotImplemented(format!(
            "this encoder has no stacked backward from layer {layer:?}; use Strategy::PerDim"
        )))
    }
}

/// A [`Sequential`] whose output `[N, 2z]` holds mu then logvar (vaecam's VAE encoders).
pub struct SequentialEncoder<'a> {
    net: &'a Sequential,
    z: usize,
}

impl<'a> SequentialEncoder<'a> {
    /// Wraps `net`, whose output has `2 * z_dim` columns.
    pub fn new(net: &'a Sequential, z_dim: usize) -> Self {
        SequentialEncoder { net, z: z_dim }
    }
    fn split(&self, h: &Tensor) -> Result<(Tensor, Tensor)> {
        if h.rank() != 2 || h.dims()[1] != 2 * self.z {
            return Err(Error::Shape {
                op: "encoder",
                msg: format!(
                    "output {} is not [N, 2 x {}] (mu, logvar)",
                    h.shape(),
                    self.z
                ),
            });
        }
        Ok((h.slice(1, 0, self.z)?, h.slice(1, self.z, self.z)?))
    }
}

impl TappedEncoder for SequentialEncoder<'_> {
    fn layer_names(&self) -> Vec<String> {
        self.net.layer_names()
    }
    fn z_dim(&self) -> usize {
        self.z
    }
    fn encode_tapped(&self, x: &Tensor, taps: &[&str]) -> Result<(Tensor, Tensor, Vec<Tensor>)> {
        let (h, acts) = self.net.forward_tapped(x, taps)?;
        let (mu, logvar) = self.split(&h)?;
        Ok((mu, logvar, acts))
    }
    fn encode_from(&self, layer: &str, a: &Tensor) -> Result<(Tensor, Tensor)> {
        self.split(&self.net.forward_from(layer, a)?)
    }
    fn batch_mixing_layer_after(&self, layer: &str) -> Result<Option<String>> {
        self.net.batch_mixing_layer_after(layer)
    }
    fn stacked_refusal(&self, layer: &str) -> Result<Option<String>> {
        self.net.stacked_vjp_refusal_after(layer)
    }
    fn encode_with_gradient_sums(
        &self,
        x: &Tensor,
        layer: &str,
        dims: &[usize],
    ) -> Result<GradientSums> {
        let tap = self
            .net
            .layer_names()
            .iter()
            .position(|l| l == layer)
            .ok_or_else(|| Error::UnknownName(format!("no encoder layer named {layer:?}")))?;
        let outs = self.net.forward_recorded(x)?;
        let (mu, logvar) = self.split(outs.last().expect("a Sequential encoder has layers"))?;
        if outs[tap].rank() != 4 {
            return Err(Error::Shape {
                op: "encode_with_gradient_sums",
                msg: format!(
                    "layer {layer:?} gives {}, not a [N, C, h, w] feature map",
                    outs[tap].shape()
                ),
            });
        }
        let n = x.dims()[0];
        let width = 2 * self.z;
        if dims.is_empty() {
            return Err(Error::InvalidArgument(
                "encode_with_gradient_sums: no latent dimensions asked".into(),
            ));
        }
        if let Some(bad) = dims.iter().find(|&&i| i >= self.z) {
            return Err(Error::InvalidArgument(format!(
                "latent dimension {bad} does not exist (z has {})",
                self.z
            )));
        }
        let widest_row = outs[tap..]
            .iter()
            .map(|t| t.numel() / n.max(1))
            .max()
            .unwrap_or(1)
            .max(1);
        let per_chunk = (STACKED_CHUNK_FLOATS / (widest_row * n.max(1))).max(1);
        let mut parts = Vec::new();
        for chunk in dims.chunks(per_chunk) {
            // Seed the mu columns only: a one-hot row per dimension, shared by every sample.
            let mut seed = vec![0f32; chunk.len() * width];
            for (b, &i) in chunk.iter().enumerate() {
                seed[b * width + i] = 1.0;
            }
            let seed = Tensor::from_vec(seed, [chunk.len(), width], x.device())?;
            let sums =
                self.net
                    .stacked_vjp_after(layer, &outs, StackedCotangent::Shared(seed), true)?;
            parts.push(sums.into_per_sample(n)?);
        }
        let sums = if parts.len() == 1 {
            parts.remove(0)
        } else {
            Tensor::concat(&parts, 0)?
        };
        Ok(GradientSums {
            mu,
            logvar,
            activation: outs[tap].clone(),
            sums,
        })
    }
}
