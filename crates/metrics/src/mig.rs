//! The Mutual Information Gap (Chen et al. 2018), following disentanglement_lib's
//! `mig.py` with its histogram discretisation.

use crate::disentanglement::{sample_codes, GroundTruth};
use crate::error::{MetricsError, Result};
use crate::rng::SplitMix64;

/// Options of [`mig`] (defaults: disentanglement_lib's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MigOptions {
    /// Number of random samples (10,000).
    pub num_samples: usize,
    /// Equal-width bins per latent dim (20).
    pub num_bins: usize,
    /// Factor vectors per call to [`GroundTruth::representation`] (64).
    pub batch_size: usize,
    /// Seed of the sampling.
    pub seed: u64,
}

impl Default for MigOptions {
    fn default() -> Self {
        Self {
            num_samples: 10_000,
            num_bins: 20,
            batch_size: 64,
            seed: 0,
        }
    }
}

/// Result of [`mig`].
#[derive(Debug, Clone, PartialEq)]
pub struct MigScore {
    /// The MIG: mean over factors of (largest - second largest MI) / entropy of the factor.
    pub mig: f64,
    /// The normalised gap of each factor; `None` for a factor of zero entropy in the sample
    /// (left out of the mean; disentanglement_lib would give NaN).
    pub per_factor: Vec<Option<f64>>,
    /// Mutual information `mutual_info[dim][factor]` in nats.
    pub mutual_info: Vec<Vec<f64>>,
    /// Entropy of each factor in the sample, in nats.
    pub factor_entropy: Vec<f64>,
}

/// numpy's `np.digitize(x, np.histogram(x, bins)[1][:-1]) - 1`: equal-width bins between
/// the min and the max (min - 0.5 .. max + 0.5 for a constant), values in `0..bins`.
/// Edges are computed in f64 like `np.linspace`.
pub fn histogram_discretize(values: &[f32], bins: usize) -> Vec<usize> {
    let (mut lo, mut hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v as f64), b.max(v as f64))
        });
    if lo == hi {
        lo -= 0.5;
        hi += 0.5;
    }
    let step = (hi - lo) / bins as f64;
    let edges: Vec<f64> = (0..bins).map(|k| k as f64 * step + lo).collect();
    values
        .iter()
        .map(|&v| edges.partition_point(|&e| e <= v as f64).max(1) - 1)
        .collect()
}

/// Mutual information (nats) of two discrete variables given as value indices.
pub fn discrete_mutual_info(a: &[usize], b: &[usize]) -> f64 {
    let n = a.len();
    if n == 0 {
        return 0.0;
    }
    let (na, nb) = (
        a.iter().max().map_or(0, |m| m + 1),
        b.iter().max().map_or(0, |m| m + 1),
    );
    let mut joint = vec![0u64; na * nb];
    let (mut ca, mut cb) = (vec![0u64; na], vec![0u64; nb]);
    for (&x, &y) in a.iter().zip(b) {
        joint[x * nb + y] += 1;
        ca[x] += 1;
        cb[y] += 1;
    }
    let nf = n as f64;
    let mut mi = 0.0;
    for x in 0..na {
        for y in 0..nb {
            let c = joint[x * nb + y];
            if c > 0 {
                let c = c as f64;
                mi += c / nf * (nf * c / (ca[x] as f64 * cb[y] as f64)).ln();
            }
        }
    }
    mi.max(0.0)
}

/// Entropy (nats) of a discrete variable given as value indices.
pub fn discrete_entropy(a: &[usize]) -> f64 {
    discrete_mutual_info(a, a)
}

/// The MIG of the representation: `num_samples` random samples of mean latents; each dim
/// discretised into `num_bins` equal-width bins ([`histogram_discretize`]); mutual
/// information of each dim with each factor; per factor, (largest - second largest MI over
/// dims) / entropy of the factor (with a single dim the second largest is 0); mean over
/// factors. A constant dim falls in one bin and has zero MI (no division by its variance).
///
/// Errors: option out of range, a representation of the wrong shape, an error of the
/// [`GroundTruth`], or [`MetricsError::Undefined`] when every factor has zero entropy.
pub fn mig<G: GroundTruth + ?Sized>(data: &mut G, opts: &MigOptions) -> Result<MigScore> {
    for (name, v, min) in [
        ("num_samples", opts.num_samples, 2),
        ("num_bins", opts.num_bins, 1),
        ("batch_size", opts.batch_size, 1),
    ] {
        if v < min {
            return Err(MetricsError::InvalidOption {
                name,
                value: v.to_string(),
                why: "too small (num_samples >= 2, num_bins and batch_size >= 1)",
            });
        }
    }
    let mut rng = SplitMix64::new(opts.seed);
    let mut dim = None;
    let (ys, zs) = sample_codes(data, opts.num_samples, opts.batch_size, &mut rng, &mut dim)?;
    mig_from_samples(&ys, &zs, opts.num_bins)
}

/// The MIG of given samples: `factors[s]` and `latents[s]` are the factor vector and the
/// mean latent of sample `s` (the computation of [`mig`] after sampling).
///
/// Errors: [`MetricsError::Empty`] for no sample, [`MetricsError::Representation`] for
/// vectors of unequal length, [`MetricsError::Undefined`] when every factor has zero
/// entropy.
pub fn mig_from_samples(
    factors: &[Vec<usize>],
    latents: &[Vec<f32>],
    num_bins: usize,
) -> Result<MigScore> {
    if factors.is_empty() || latents.is_empty() {
        return Err(MetricsError::Empty("MIG samples"));
    }
    let (n_factors, d) = (factors[0].len(), latents[0].len());
    if factors.len() != latents.len()
        || factors.iter().any(|f| f.len() != n_factors)
        || latents.iter().any(|z| z.len() != d)
        || num_bins == 0
    {
        return Err(MetricsError::Representation(format!(
            "MIG needs as many factor vectors ({}) as latents ({}), each of one length, and num_bins ({num_bins}) >= 1",
            factors.len(),
            latents.len()
        )));
    }
    let columns: Vec<Vec<usize>> = (0..n_factors)
        .map(|k| factors.iter().map(|y| y[k]).collect())
        .collect();
    let codes: Vec<Vec<usize>> = (0..d)
        .map(|i| {
            let col: Vec<f32> = latents.iter().map(|z| z[i]).collect();
            histogram_discretize(&col, num_bins)
        })
        .collect();
    let mutual_info: Vec<Vec<f64>> = codes
        .iter()
        .map(|c| columns.iter().map(|f| discrete_mutual_info(c, f)).collect())
        .collect();
    let factor_entropy: Vec<f64> = columns.iter().map(|f| discrete_entropy(f)).collect();
    let per_factor: Vec<Option<f64>> = (0..n_factors)
        .map(|k| {
            let h = factor_entropy[k];
            (h > 1e-12).then(|| {
                let mut m: Vec<f64> = mutual_info.iter().map(|row| row[k]).collect();
                m.sort_by(|a, b| b.total_cmp(a));
                (m[0] - m.get(1).copied().unwrap_or(0.0)) / h
            })
        })
        .collect();
    let defined: Vec<f64> = per_factor.iter().flatten().copied().collect();
    if defined.is_empty() {
        return Err(MetricsError::Undefined {
            metric: "MIG",
            why: format!("every factor has zero entropy in {} samples", factors.len()),
        });
    }
    Ok(MigScore {
        mig: defined.iter().sum::<f64>() / defined.len() as f64,
        per_factor,
        mutual_info,
        factor_entropy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discretize_matches_numpy() {
        // np.digitize(x, np.histogram(x, 4)[1][:-1]) - 1 for x = [0, 1, 2, 3, 4]
        // edges 0, 1, 2, 3 -> [0, 1, 2, 3, 3]
        assert_eq!(
            histogram_discretize(&[0., 1., 2., 3., 4.], 4),
            vec![0, 1, 2, 3, 3]
        );
        // constant: edges linspace(1.5, 2.5, 5)[:-1] = 1.5, 1.75, 2, 2.25 -> bin index 2
        assert_eq!(histogram_discretize(&[2.0; 3], 4), vec![2, 2, 2]);
    }

    #[test]
    fn mutual_info_of_identical_and_independent() {
        let a = [0, 1, 0, 1];
        let b = [0, 0, 1, 1];
        assert!((discrete_mutual_info(&a, &a) - 2f64.ln()).abs() < 1e-12);
        assert!(discrete_mutual_info(&a, &b).abs() < 1e-12);
        assert_eq!(discrete_entropy(&[3, 3, 3]), 0.0);
    }
}
