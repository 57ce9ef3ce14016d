//! Taps: the activation of a named encoder layer, recorded during the forward pass, so that
//! gradients of any latent quantity with respect to it come from the engine's `grad` without a
//! second forward pass.

use vaecam_tensor::nn::Sequential;
use vaecam_tensor::{Error, Result, Tensor};

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
}
