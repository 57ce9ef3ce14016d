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

/// Floats per gathered side of one group of pairs (16 MiB).
const MAX_GATHERED_FLOATS: usize = 1 << 22;

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
    overlap_in_groups(maps, pairs, overlap, MAX_GATHERED_FLOATS)
}

/// [`attention_disentanglement_loss`] with at most `max_floats` gathered per side and group.
fn overlap_in_groups(
    maps: &Tensor,
    pairs: &[(usize, usize)],
    overlap: Overlap,
    max_floats: usize,
) -> Result<Tensor> {
    let d = maps.dims()[1];
    if let Some(&(i, j)) = pairs.iter().find(|&&(i, j)| i >= d || j >= d || i == j) {
        return Err(Error::InvalidArgument(format!(
            "pair ({i}, {j}) is not two distinct dimensions of {d}"
        )));
    }
    // All pairs of a group at once, `[N, pairs, H, W]` gathered from both sides: the loop of
    // one pair at a time ran ten small ops per pair (450 for 45 pairs, each a pass over 16K
    // floats) and as many in the backward pass. Groups bound the gathered copies.
    let (n, plane) = (maps.dims()[0], maps.dims()[2] * maps.dims()[3]);
    let per_group = (max_floats / (n * plane).max(1)).max(1);
    let mut total: Option<Tensor> = None;
    for group in pairs.chunks(per_group) {
        let (first, second): (Vec<u32>, Vec<u32>) =
            group.iter().map(|&(i, j)| (i as u32, j as u32)).unzip();
        let (a, b) = (
            maps.index_select(1, &first)?,
            maps.index_select(1, &second)?,
        );
        let inter = a.minimum(&b)?.sum(&[2, 3], false)?;
        let term = match overlap {
            Overlap::SoftIoU => inter.div(&a.maximum(&b)?.sum(&[2, 3], false)?.add_scalar(EPS)?)?,
            Overlap::SoftDice => inter
                .mul_scalar(2.0)?
                .div(&a.add(&b)?.sum(&[2, 3], false)?.add_scalar(EPS)?)?,
        };
        let sum = term.sum_all()?;
        total = Some(match total {
            Some(t) => t.add(&sum)?,
            None => sum,
        });
    }
    // The mean over images of each pair, averaged over the pairs.
    total
        .expect("at least one pair")
        .mul_scalar(1.0 / (pairs.len() * n) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vaecam_tensor::Device;

    /// The loss straight from its definition, in f64.
    fn reference(m: &[f32], [n, d, hw]: [usize; 3], pairs: &[(usize, usize)], o: Overlap) -> f64 {
        let mut total = 0.0;
        for &(i, j) in pairs {
            for b in 0..n {
                let (a, c) = (&m[(b * d + i) * hw..][..hw], &m[(b * d + j) * hw..][..hw]);
                let inter: f64 = a.iter().zip(c).map(|(x, y)| x.min(*y) as f64).sum();
                let den: f64 = match o {
                    Overlap::SoftIoU => a.iter().zip(c).map(|(x, y)| x.max(*y) as f64).sum(),
                    Overlap::SoftDice => a.iter().zip(c).map(|(x, y)| (x + y) as f64).sum(),
                };
                let num = if o == Overlap::SoftDice {
                    2.0 * inter
                } else {
                    inter
                };
                total += num / (den + EPS as f64);
            }
        }
        total / (pairs.len() * n) as f64
    }

    #[test]
    fn grouped_pairs_match_the_definition() {
        let dev = Device::cpu();
        let (n, d, h, w) = (3, 5, 4, 6);
        let maps = Tensor::rand([n, d, h, w], 7, &dev).unwrap();
        let m = maps.to_vec().unwrap();
        let pairs = choose_pairs(d, PairChoice::All, None, 0).unwrap();
        for o in [Overlap::SoftIoU, Overlap::SoftDice] {
            let want = reference(&m, [n, d, h * w], &pairs, o);
            // One group, groups of 3 pairs (ten pairs: a short last group), one pair each.
            for max in [MAX_GATHERED_FLOATS, 3 * n * h * w, 1] {
                let got = overlap_in_groups(&maps, &pairs, o, max)
                    .unwrap()
                    .item()
                    .unwrap();
                assert!(
                    (got as f64 - want).abs() < 1e-5,
                    "{o:?} max {max}: {got} vs {want}"
                );
            }
        }
        assert!(attention_disentanglement_loss(&maps, &[(1, 1)], Overlap::SoftIoU).is_err());
        assert!(attention_disentanglement_loss(&maps, &[(0, 5)], Overlap::SoftIoU).is_err());
    }
}
