//! The attention-disentanglement (AD) loss: different latent dimensions should attend to
//! different image regions. For non-negative maps M^i, M^j of one image:
//! soft IoU = sum_p min(M^i_p, M^j_p) / sum_p max(M^i_p, M^j_p), or soft Dice =
//! 2 sum min / sum (M^i + M^j); averaged over images and the chosen pairs.

use vaecam_tensor::rng::philox4x32;
use vaecam_tensor::{Error, Result, Tensor};

/// The overlap measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlap {
    /// sum min / sum max.
    SoftIoU,
    /// 2 sum min / sum (a + b).
    SoftDice,
}

/// Which pairs of latent dimensions are penalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairChoice {
    /// Every pair (METHOD.md's default for D <= 10).
    All,
    /// One random pair per step.
    Random,
    /// Every pair among the k dimensions with the largest mean |mu|.
    TopK(usize),
}

/// Settings of the AD loss term.
#[derive(Clone, Debug, PartialEq)]
pub struct AdOptions {
    /// Weight lambda.
    pub lambda: f32,
    /// Overlap measure.
    pub overlap: Overlap,
    /// Pair choice.
    pub pairs: PairChoice,
    /// Differentiate through alpha (second order, default) or treat alpha as a constant.
    pub through_alpha: bool,
    /// The tapped encoder layer.
    pub layer: String,
}

const EPS: f32 = 1e-8;

/// The pairs (i < j) to penalise. `mu` feeds the top-k choice, `seed` the random one.
pub fn choose_pairs(
    d: usize,
    choice: PairChoice,
    mu: Option<&Tensor>,
    seed: u64,
) -> Result<Vec<(usize, usize)>> {
    if d < 2 {
        return Err(Error::InvalidArgument(format!(
            "the AD loss needs at least 2 latent dimensions, got {d}"
        )));
    }
    let all = |dims: &[usize]| -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        for (a, &i) in dims.iter().enumerate() {
            for &j in &dims[a + 1..] {
                v.push((i.min(j), i.max(j)));
            }
        }
        v
    };
    Ok(match choice {
        PairChoice::All => all(&(0..d).collect::<Vec<_>>()),
        PairChoice::Random => {
            let r = philox4x32([seed as u32, (seed >> 32) as u32, 0xAD, 0], [0x5EED, 0xAD]);
            let i = ((r[0] as u64 * d as u64) >> 32) as usize;
            let mut j = ((r[1] as u64 * (d as u64 - 1)) >> 32) as usize;
            if j >= i {
                j += 1;
            }
            vec![(i.min(j), i.max(j))]
        }
        PairChoice::TopK(k) => {
            let mu = mu.ok_or_else(|| Error::InvalidArgument("top-k pairs need mu".into()))?;
            let m = mu.abs()?.mean(&[0], false)?.to_vec()?;
            let mut order: Vec<usize> = (0..d).collect();
            order.sort_by(|&a, &b| m[b].partial_cmp(&m[a]).unwrap_or(std::cmp::Ordering::Equal));
            order.truncate(k.clamp(2, d));
            all(&order)
        }
    })
}

/// The AD loss of per-dimension maps `[N, D, H, W]` (non-negative) over `pairs` of indices
/// into the D axis: mean over images and pairs of the overlap.
pub fn attention_disentanglement_loss(
    maps: &Tensor,
    pairs: &[(usize, usize)],
    overlap: Overlap,
) -> Result<Tensor> {
    if maps.rank() != 4 {
        return Err(Error::Shape {
            op: "attention_disentanglement_loss",
            msg: format!("maps {} are not [N, D, H, W]", maps.shape()),
        });
    }
    if pairs.is_empty() {
        return Err(Error::InvalidArgument(
            "the AD loss needs at least one pair".into(),
        ));
    }
    let d = maps.dims()[1];
    let mut total: Option<Tensor> = None;
    for &(i, j) in pairs {
        if i >= d || j >= d || i == j {
            return Err(Error::InvalidArgument(format!(
                "pair ({i}, {j}) is not two distinct dimensions of {d}"
            )));
        }
        let (a, b) = (maps.slice(1, i, 1)?, maps.slice(1, j, 1)?);
        let inter = a.minimum(&b)?.sum(&[1, 2, 3], false)?;
        let term = match overlap {
            Overlap::SoftIoU => {
                inter.div(&a.maximum(&b)?.sum(&[1, 2, 3], false)?.add_scalar(EPS)?)?
            }
            Overlap::SoftDice => inter
                .mul_scalar(2.0)?
                .div(&a.add(&b)?.sum(&[1, 2, 3], false)?.add_scalar(EPS)?)?,
        };
        let term = term.mean_all()?;
        total = Some(match total {
            Some(t) => t.add(&term)?,
            None => term,
        });
    }
    total
        .expect("at least one pair")
        .mul_scalar(1.0 / pairs.len() as f32)
}
