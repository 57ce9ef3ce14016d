//! The attention-disentanglement (AD) loss as a trainer loss term (METHOD.md §3): per-dimension
//! attention maps of the trainer's own forward pass, penalised by their pairwise overlap.
//!
//! The maps come from the activation the trainer tapped during its forward pass
//! ([`vaecam_vae::LossContext::taps`]) and the posterior mean, with one vector-Jacobian product
//! per latent dimension of the chosen pairs ([`maps_from_activation`]): no second forward pass.
//! The overlap is taken on the maps at the tapped layer's own resolution: bilinear upsampling
//! is a fixed linear map that adds no information and would cost 16x the memory for conv2.

use crate::error::{Error, Result};
use crate::settings::{AdGrad, AdOverlap, AdPairs, AdStrategy};
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

/// AD settings as stored in a run's `config.json` (`extra.ad`), each choice in its
/// command-line spelling (`"iou"`, `"top-k:4"`, `"full"`, `"per-dim"`), so run folders
/// written before these were typed still load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdSettings {
    /// Weight lambda of the term.
    pub lambda: f32,
    /// How map overlap is measured.
    pub overlap: AdOverlap,
    /// Which pairs of dimensions are penalised.
    pub pairs: AdPairs,
    /// Whether the gradient flows through alpha.
    pub grad: AdGrad,
    /// The tapped encoder layer.
    pub layer: String,
    /// How the maps are computed (absent in older runs: per-dim).
    #[serde(default)]
    pub strategy: AdStrategy,
}

impl Default for AdSettings {
    fn default() -> Self {
        AdSettings {
            lambda: 1.0,
            overlap: AdOverlap::default(),
            pairs: AdPairs::default(),
            grad: AdGrad::default(),
            layer: DEFAULT_LAYER.into(),
            strategy: AdStrategy::default(),
        }
    }
}

impl From<AdPairs> for PairChoice {
    fn from(p: AdPairs) -> PairChoice {
        match p {
            AdPairs::All => PairChoice::All,
            AdPairs::Random => PairChoice::Random,
            AdPairs::TopK(k) => PairChoice::TopK(k),
        }
    }
}

impl From<AdOverlap> for Overlap {
    fn from(o: AdOverlap) -> Overlap {
        match o {
            AdOverlap::Iou => Overlap::SoftIoU,
            AdOverlap::Dice => Overlap::SoftDice,
        }
    }
}

impl AdSettings {
    /// The engine-level options (lambda checked: the choices are valid by type).
    pub fn options(&self) -> Result<AdOptions> {
        if !self.lambda.is_finite() || self.lambda < 0.0 {
            return Err(Error::Usage(format!(
                "--ad-lambda {}: must be finite and >= 0",
                self.lambda
            )));
        }
        Ok(AdOptions {
            lambda: self.lambda,
            overlap: self.overlap.into(),
            pairs: self.pairs.into(),
            through_alpha: self.grad == AdGrad::Full,
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
        assert_eq!("top-k:4".parse::<AdPairs>().unwrap(), AdPairs::TopK(4));
        for bad in ["top-k:1", "top-k:x", "some"] {
            assert!(bad.parse::<AdPairs>().unwrap_err().contains(bad));
        }
        let s = AdSettings {
            lambda: f32::NAN,
            ..Default::default()
        };
        assert!(s.options().unwrap_err().to_string().contains("NaN"));
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

    /// `extra.ad` exactly as run folders stored it when the choices were strings: it must
    /// load, and store back in the same spelling.
    #[test]
    fn old_run_configs_load_and_keep_their_spelling() {
        let old = serde_json::json!({ "ad": {
            "lambda": 2.0, "overlap": "dice", "pairs": "top-k:3", "grad": "detached",
            "layer": "relu1", "strategy": "batched"
        }});
        let s = AdSettings::from_extra(&old).unwrap().unwrap();
        assert_eq!(s.overlap, AdOverlap::Dice);
        assert_eq!(s.pairs, AdPairs::TopK(3));
        assert_eq!(s.grad, AdGrad::Detached);
        assert_eq!(s.strategy, AdStrategy::Batched);
        assert_eq!(serde_json::to_value(&s).unwrap(), old["ad"]);
        // Runs from before `strategy` existed.
        let older = serde_json::json!({ "ad": {
            "lambda": 1.0, "overlap": "iou", "pairs": "random", "grad": "full", "layer": "relu2"
        }});
        let s = AdSettings::from_extra(&older).unwrap().unwrap();
        assert_eq!((s.pairs, s.strategy), (AdPairs::Random, AdStrategy::PerDim));
        let defaults = serde_json::to_value(AdSettings::default()).unwrap();
        for (k, v) in [
            ("overlap", "iou"),
            ("pairs", "all"),
            ("grad", "full"),
            ("strategy", "per-dim"),
        ] {
            assert_eq!(defaults[k], v, "{k}");
        }
        let bad = serde_json::json!({ "ad": {
            "lambda": 1.0, "overlap": "iou", "pairs": "top-k:1", "grad": "full", "layer": "relu2"
        }});
        let e = AdSettings::from_extra(&bad).unwrap_err().to_string();
        assert!(e.contains("top-k:1"), "{e}");
    }
}
