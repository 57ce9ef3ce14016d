//! The attention-disentanglement (AD) loss as a trainer loss term (METHOD.md §3): per-dimension
//! attention maps of the trainer's own forward pass, penalised by their pairwise overlap.
//!
//! The maps come from the activation the trainer tapped during its forward pass
//! ([`vaecam_vae::LossContext::taps`]) and the posterior mean, with one vector-Jacobian product
//! per latent dimension of the chosen pairs ([`maps_from_activation`]): no second forward pass.
//! The overlap is taken on the maps at the tapped layer's own resolution: bilinear upsampling
//! is a fixed linear map that adds no information and would cost 16x the memory for conv2.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use vaecam_attention::{
    attention_disentanglement_loss, choose_pairs, maps_from_activation,
    maps_from_activation_batched, AdOptions, Overlap, PairChoice, SequentialEncoder, TappedEncoder,
};
use vaecam_tensor::rng::derive_seed;
use vaecam_tensor::Tensor;
use vaecam_vae::{ExtraLoss, LossContext};

/// The default tapped layer of the dSprites VAE: the ReLU after the second conv (32 channels
/// of 16x16). Post-activation features are non-negative as in Grad-CAM; 16x16 cells of 4x4
/// pixels resolve a sprite (5-20 px) into a few cells, while conv3/conv4 (8x8, 4x4) are
/// too coarse to separate position from shape, and conv1 (32x32) doubles the cost.
pub const DEFAULT_LAYER: &str = "relu2";

/// AD settings as stored in a run's `config.json` (`extra.ad`), in their command-line spelling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdSettings {
    /// Weight lambda of the term.
    pub lambda: f32,
    /// `iou` (soft IoU, default) or `dice`.
    pub overlap: String,
    /// `all`, `random` or `top-k:K`.
    pub pairs: String,
    /// `full` (through alpha, second order) or `detached`.
    pub grad: String,
    /// The tapped encoder layer.
    pub layer: String,
    /// `per-dim` (one vector-Jacobian product per dimension, default) or `batched` (the
    /// encoder's tail re-run on the activation repeated per dimension, one product).
    #[serde(default = "per_dim")]
    pub strategy: String,
}

fn per_dim() -> String {
    "per-dim".into()
}

impl Default for AdSettings {
    fn default() -> Self {
        AdSettings {
            lambda: 1.0,
            overlap: "iou".into(),
            pairs: "all".into(),
            grad: "full".into(),
            layer: DEFAULT_LAYER.into(),
            strategy: per_dim(),
        }
    }
}

/// Parses `all`, `random` or `top-k:K`.
pub fn parse_pairs(s: &str) -> Result<PairChoice> {
    match s {
        "all" => Ok(PairChoice::All),
        "random" => Ok(PairChoice::Random),
        _ => s
            .strip_prefix("top-k:")
            .and_then(|k| k.parse::<usize>().ok())
            .filter(|&k| k >= 2)
            .map(PairChoice::TopK)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--ad-pairs {s:?}: expected all, random or top-k:K with K >= 2"
                ))
            }),
    }
}

impl AdSettings {
    /// The engine-level options (validated).
    pub fn options(&self) -> Result<AdOptions> {
        if !self.lambda.is_finite() || self.lambda < 0.0 {
            return Err(Error::Usage(format!(
                "--ad-lambda {}: must be finite and >= 0",
                self.lambda
            )));
        }
        let overlap = match self.overlap.as_str() {
            "iou" => Overlap::SoftIoU,
            "dice" => Overlap::SoftDice,
            o => {
                return Err(Error::Usage(format!(
                    "--ad-overlap {o:?}: expected iou or dice"
                )))
            }
        };
        let through_alpha = match self.grad.as_str() {
            "full" => true,
            "detached" => false,
            g => {
                return Err(Error::Usage(format!(
                    "--ad-grad {g:?}: expected full or detached"
                )))
            }
        };
        if !matches!(self.strategy.as_str(), "per-dim" | "batched") {
            return Err(Error::Usage(format!(
                "--ad-strategy {:?}: expected per-dim or batched",
                self.strategy
            )));
        }
        Ok(AdOptions {
            lambda: self.lambda,
            overlap,
            pairs: parse_pairs(&self.pairs)?,
            through_alpha,
            layer: self.layer.clone(),
        })
    }

    /// Reads `extra.ad` of a run config (None when the run has no AD term).
    pub fn from_extra(extra: &serde_json::Value) -> Result<Option<AdSettings>> {
        match extra.get("ad") {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| Error::Usage(format!("the run's extra.ad settings: {e}"))),
        }
    }
}

/// The AD loss term: `lambda * mean over images and chosen pairs of overlap(M^i, M^j)`,
/// logged as `ad` (weighted).
pub struct AdLoss {
    opts: AdOptions,
    seed: u64,
    batched: bool,
}

impl AdLoss {
    /// A term with these options; `seed` drives the random pair choice (a function of the
    /// step, so a resumed run draws the same pairs).
    pub fn new(opts: AdOptions, seed: u64) -> Self {
        AdLoss {
            opts,
            seed,
            batched: false,
        }
    }

    /// The same term with the batched strategy (needs the encoder in [`ExtraLoss::loss`]).
    pub fn batched(mut self, on: bool) -> Self {
        self.batched = on;
        self
    }

    /// The unweighted AD loss of an activation `a` (on the tape) and the mean `mu` computed
    /// from it, at step `step`; `enc` is used by the batched strategy only.
    pub fn overlap(
        &self,
        a: &Tensor,
        mu: &Tensor,
        step: u64,
        enc: Option<&dyn TappedEncoder>,
    ) -> vaecam_tensor::Result<Tensor> {
        let d = mu.dims()[1];
        let pairs = choose_pairs(
            d,
            self.opts.pairs,
            Some(mu),
            derive_seed(self.seed, 0xAD00_0000 + step),
        )?;
        // Maps only for the dims the pairs use; pairs re-indexed into that list.
        let mut dims: Vec<usize> = pairs.iter().flat_map(|&(i, j)| [i, j]).collect();
        dims.sort_unstable();
        dims.dedup();
        let at = |i: usize| dims.binary_search(&i).unwrap_or(0);
        let local: Vec<(usize, usize)> = pairs.iter().map(|&(i, j)| (at(i), at(j))).collect();
        let cg = self.opts.through_alpha;
        let (maps, _) = match (self.batched, enc) {
            (true, Some(enc)) => {
                maps_from_activation_batched(enc, &self.opts.layer, a, Some(&dims), cg)?
            }
            _ => maps_from_activation(a, mu, Some(&dims), cg)?,
        };
        attention_disentanglement_loss(&maps, &local, self.opts.overlap)
    }
}

impl ExtraLoss for AdLoss {
    fn name(&self) -> &str {
        "ad"
    }
    fn taps(&self) -> Vec<String> {
        vec![self.opts.layer.clone()]
    }
    fn loss(&mut self, ctx: &LossContext) -> vaecam_tensor::Result<Tensor> {
        let a = ctx.taps.first().ok_or_else(|| {
            vaecam_tensor::Error::InvalidArgument(format!(
                "the AD loss got no activation of layer {:?}",
                self.opts.layer
            ))
        })?;
        let enc = SequentialEncoder::new(&ctx.vae.encoder, ctx.vae.config.z_dim);
        self.overlap(a, &ctx.out.mu, ctx.step, Some(&enc))?
            .mul_scalar(self.opts.lambda)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_refuse() {
        let o = AdSettings::default().options().unwrap();
        assert_eq!(o.pairs, PairChoice::All);
        assert!(o.through_alpha && o.overlap == Overlap::SoftIoU);
        assert_eq!(parse_pairs("top-k:4").unwrap(), PairChoice::TopK(4));
        for bad in ["top-k:1", "top-k:x", "some"] {
            assert!(parse_pairs(bad).unwrap_err().to_string().contains(bad));
        }
        let s = AdSettings {
            grad: "half".into(),
            ..Default::default()
        };
        assert!(s.options().unwrap_err().to_string().contains("half"));
        let extra = serde_json::json!({ "ad": AdSettings::default() });
        assert_eq!(
            AdSettings::from_extra(&extra).unwrap(),
            Some(AdSettings::default())
        );
        assert_eq!(
            AdSettings::from_extra(&serde_json::Value::Null).unwrap(),
            None
        );
    }
}
