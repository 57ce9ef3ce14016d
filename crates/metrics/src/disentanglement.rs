//! Disentanglement metrics on a ground-truth data set with known generative factors,
//! generic over the data and the model: the [`GroundTruth`] trait gives factor sizes,
//! samples factor vectors and returns the model's mean latents for the images of given
//! factors. Implemented here: the FactorVAE score (Kim & Mnih 2018) following
//! disentanglement_lib's `factor_vae.py`; MIG is in [`crate::mig()`].

use crate::error::{MetricsError, Result};
use crate::rng::SplitMix64;

/// A boxed error of a [`GroundTruth`] implementation.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A data set with discrete ground-truth factors together with a representation (a model's
/// mean latent code) of its images. The root package implements it with the dSprites
/// renderer and a VAE encoder; tests implement it with synthetic representations.
pub trait GroundTruth {
    /// Number of values of each factor (dSprites: `[3, 6, 40, 32, 32]`).
    fn factor_sizes(&self) -> &[usize];

    /// `n` random factor vectors, each factor independent and uniform over its values
    /// (the default). Override for a data set that is not a full factorial product.
    fn sample_factors(&mut self, n: usize, rng: &mut SplitMix64) -> Vec<Vec<usize>> {
        let sizes = self.factor_sizes().to_vec();
        (0..n)
            .map(|_| sizes.iter().map(|&s| rng.below(s)).collect())
            .collect()
    }

    /// The representation (mean latents, one vector of the same length per input) of the
    /// images with these factors. Called with at most the metric's `batch_size` vectors.
    fn representation(
        &mut self,
        factors: &[Vec<usize>],
    ) -> std::result::Result<Vec<Vec<f32>>, BoxError>;
}

/// Calls [`GroundTruth::representation`] and checks the shape (`dim`: expected latent size,
/// set by the first call).
pub(crate) fn represent<G: GroundTruth + ?Sized>(
    data: &mut G,
    factors: &[Vec<usize>],
    dim: &mut Option<usize>,
) -> Result<Vec<Vec<f32>>> {
    let reps = data
        .representation(factors)
        .map_err(MetricsError::GroundTruth)?;
    if reps.len() != factors.len() {
        return Err(MetricsError::Representation(format!(
            "{} vectors returned for {} factor vectors",
            reps.len(),
            factors.len()
        )));
    }
    for (k, r) in reps.iter().enumerate() {
        let d = *dim.get_or_insert(r.len());
        if r.len() != d || d == 0 {
            return Err(MetricsError::Representation(format!(
                "vector {k} has {} dims, expected {d} (and at least 1)",
                r.len()
            )));
        }
        if let Some(i) = r.iter().position(|v| !v.is_finite()) {
            return Err(MetricsError::Representation(format!(
                "vector {k}, dim {i} is not finite ({})",
                r[i]
            )));
        }
    }
    Ok(reps)
}

/// Factor vectors and their representations, in sample order.
pub(crate) type Samples = (Vec<Vec<usize>>, Vec<Vec<f32>>);

/// Representations of `n` random samples, obtained `batch` at a time, with their factors.
pub(crate) fn sample_codes<G: GroundTruth + ?Sized>(
    data: &mut G,
    n: usize,
    batch: usize,
    rng: &mut SplitMix64,
    dim: &mut Option<usize>,
) -> Result<Samples> {
    let (mut ys, mut zs) = (Vec::with_capacity(n), Vec::with_capacity(n));
    while ys.len() < n {
        let f = data.sample_factors(batch.min(n - ys.len()), rng);
        zs.extend(represent(data, &f, dim)?);
        ys.extend(f);
    }
    Ok((ys, zs))
}

/// Unbiased (ddof = 1) variance of each dim of `zs` (at least 2 vectors).
fn variances(zs: &[Vec<f32>]) -> Vec<f64> {
    let (n, d) = (zs.len() as f64, zs[0].len());
    let mut mean = vec![0.0f64; d];
    for z in zs {
        for (m, &v) in mean.iter_mut().zip(z) {
            *m += v as f64 / n;
        }
    }
    let mut var = vec![0.0f64; d];
    for z in zs {
        for ((s, &v), m) in var.iter_mut().zip(z).zip(&mean) {
            *s += (v as f64 - m).powi(2);
        }
    }
    var.iter().map(|s| s / (n - 1.0)).collect()
}

/// Options of [`factor_vae_score`] (defaults: disentanglement_lib's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FactorVaeOptions {
    /// Images per vote (64).
    pub batch_size: usize,
    /// Training votes (10,000).
    pub num_train: usize,
    /// Evaluation votes (5,000).
    pub num_eval: usize,
    /// Samples for the global variance of each dim (10,000).
    pub num_variance_estimate: usize,
    /// Dims whose global standard deviation is below this are pruned (0.05).
    pub prune_std: f64,
    /// Seed of the sampling.
    pub seed: u64,
}

impl Default for FactorVaeOptions {
    fn default() -> Self {
        Self {
            batch_size: 64,
            num_train: 10_000,
            num_eval: 5_000,
            num_variance_estimate: 10_000,
            prune_std: 0.05,
            seed: 0,
        }
    }
}

/// Result of [`factor_vae_score`].
#[derive(Debug, Clone, PartialEq)]
pub struct FactorVaeScore {
    /// Majority-vote accuracy on the training votes.
    pub train_accuracy: f64,
    /// Accuracy of the classifier on the evaluation votes (the reported score).
    pub eval_accuracy: f64,
    /// Dims kept after pruning.
    pub num_active_dims: usize,
    /// Global variance of each dim.
    pub global_variances: Vec<f64>,
    /// Training votes `votes[factor][dim]` (dims indexed in the full latent, not among the
    /// active dims only).
    pub votes: Vec<Vec<u64>>,
    /// The factor each dim is mapped to (argmax over factors of its training votes, first
    /// on ties; factor 0 for a dim with no vote, as numpy's argmax).
    pub classifier: Vec<usize>,
}

/// The FactorVAE disentanglement score, following disentanglement_lib:
///
/// 1. global variance (ddof 1) of each dim from `num_variance_estimate` random samples;
///    dims with std < `prune_std` are pruned (none active: both accuracies are 0);
/// 2. a vote: pick a factor `k` at random, sample `batch_size` factor vectors and set
///    factor `k` of all of them to the value of the first; the vote goes to
///    `(k, argmin over active dims of variance in batch / global variance)`;
/// 3. `num_train` votes fill `V[factor][dim]`; each dim is classified as its argmax factor;
///    train accuracy = `sum_dim V[class(dim)][dim] / num_train`; eval accuracy the same on
///    `num_eval` new votes.
///
/// Errors: option out of range, representation of the wrong shape or not finite, or an
/// error of the [`GroundTruth`].
pub fn factor_vae_score<G: GroundTruth + ?Sized>(
    data: &mut G,
    opts: &FactorVaeOptions,
) -> Result<FactorVaeScore> {
    let check = |name, v: usize, min| {
        if v < min {
            Err(MetricsError::InvalidOption {
                name,
                value: v.to_string(),
                why: "too small (batch_size and num_variance_estimate >= 2, num_train and num_eval >= 1)",
            })
        } else {
            Ok(())
        }
    };
    check("batch_size", opts.batch_size, 2)?;
    check("num_variance_estimate", opts.num_variance_estimate, 2)?;
    check("num_train", opts.num_train, 1)?;
    check("num_eval", opts.num_eval, 1)?;
    let n_factors = data.factor_sizes().len();
    if n_factors == 0 || data.factor_sizes().contains(&0) {
        return Err(MetricsError::InvalidOption {
            name: "factor_sizes",
            value: format!("{:?}", data.factor_sizes()),
            why: "needs at least one factor, each with at least one value",
        });
    }
    let mut rng = SplitMix64::new(opts.seed);
    let mut dim = None;
    let (_, zs) = sample_codes(
        data,
        opts.num_variance_estimate,
        opts.batch_size,
        &mut rng,
        &mut dim,
    )?;
    let global = variances(&zs);
    drop(zs);
    let d = global.len();
    let active: Vec<usize> = (0..d)
        .filter(|&i| global[i].sqrt() >= opts.prune_std)
        .collect();
    if active.is_empty() {
        return Ok(FactorVaeScore {
            train_accuracy: 0.0,
            eval_accuracy: 0.0,
            num_active_dims: 0,
            global_variances: global,
            votes: vec![vec![0; d]; n_factors],
            classifier: vec![0; d],
        });
    }
    let mut votes_for = |n: usize, rng: &mut SplitMix64| -> Result<Vec<Vec<u64>>> {
        let mut votes = vec![vec![0u64; d]; n_factors];
        for _ in 0..n {
            let k = rng.below(n_factors);
            let mut f = data.sample_factors(opts.batch_size, rng);
            let v = f[0][k];
            for row in &mut f {
                row[k] = v;
            }
            let local = variances(&represent(data, &f, &mut dim)?);
            let mut best = (f64::INFINITY, active[0]);
            for &i in &active {
                let r = local[i] / global[i];
                if r < best.0 {
                    best = (r, i);
                }
            }
            votes[k][best.1] += 1;
        }
        Ok(votes)
    };
    let train = votes_for(opts.num_train, &mut rng)?;
    let eval = votes_for(opts.num_eval, &mut rng)?;
    let classifier: Vec<usize> = (0..d)
        .map(|i| {
            let mut best = 0;
            for k in 1..n_factors {
                if train[k][i] > train[best][i] {
                    best = k;
                }
            }
            best
        })
        .collect();
    let accuracy = |v: &Vec<Vec<u64>>, n: usize| {
        (0..d).map(|i| v[classifier[i]][i]).sum::<u64>() as f64 / n as f64
    };
    Ok(FactorVaeScore {
        train_accuracy: accuracy(&train, opts.num_train),
        eval_accuracy: accuracy(&eval, opts.num_eval),
        num_active_dims: active.len(),
        global_variances: global,
        votes: train,
        classifier,
    })
}
