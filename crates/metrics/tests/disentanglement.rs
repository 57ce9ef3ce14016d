//! FactorVAE score and MIG on synthetic representations with known answers.

use vaecam_metrics::{
    factor_vae_score, mig, BoxError, FactorVaeOptions, GroundTruth, MetricsError, MigOptions,
    SplitMix64,
};

const DSPRITES: [usize; 5] = [3, 6, 40, 32, 32];

/// The representation is a function of the factors (and of a private noise generator).
struct Synthetic {
    sizes: Vec<usize>,
    noise: SplitMix64,
    kind: Kind,
}

enum Kind {
    /// The factors themselves, as floats.
    Identity,
    /// `dims` independent standard normal values, unrelated to the factors.
    Noise(usize),
    /// Every dim constant.
    Constant(usize),
    /// Wrong number of vectors (an implementation bug).
    Short,
    /// Factor k times `scales[k]`, plus normal noise of std `noise` (also scaled): a
    /// disentangled code whose dims have very different units.
    Scaled(Vec<f32>, f32),
    /// The factors plus normal noise of std `noise`, and one more, near-collapsed dim: 0
    /// except when the last factor is 0, with a global std of about 0.01 (a dead unit that
    /// rarely fires).
    WithCollapsed(f32),
}

/// Spike height of [`Kind::WithCollapsed`]: on with probability p = 1/32 (the last dSprites
/// factor has 32 values), std = h * sqrt(p (1 - p)) = 0.01.
const SPIKE: f32 = 0.0575;

impl Synthetic {
    fn new(sizes: &[usize], kind: Kind) -> Self {
        Self {
            sizes: sizes.to_vec(),
            noise: SplitMix64::new(77),
            kind,
        }
    }
}

impl GroundTruth for Synthetic {
    fn factor_sizes(&self) -> &[usize] {
        &self.sizes
    }

    fn representation(&mut self, factors: &[Vec<usize>]) -> Result<Vec<Vec<f32>>, BoxError> {
        Ok(match &self.kind {
            Kind::Identity => factors
                .iter()
                .map(|f| f.iter().map(|&v| v as f32).collect())
                .collect(),
            Kind::Noise(d) => factors
                .iter()
                .map(|_| (0..*d).map(|_| self.noise.normal() as f32).collect())
                .collect(),
            Kind::Constant(d) => factors.iter().map(|_| vec![0.25; *d]).collect(),
            Kind::Scaled(scales, noise) => factors
                .iter()
                .map(|f| {
                    f.iter()
                        .zip(scales)
                        .map(|(&v, s)| s * (v as f32 + noise * self.noise.normal() as f32))
                        .collect()
                })
                .collect(),
            Kind::WithCollapsed(noise) => factors
                .iter()
                .map(|f| {
                    let mut z: Vec<f32> = f
                        .iter()
                        .map(|&v| v as f32 + noise * self.noise.normal() as f32)
                        .collect();
                    z.push(if f[f.len() - 1] == 0 { SPIKE } else { 0.0 });
                    z
                })
                .collect(),
            Kind::Short => vec![vec![0.0; 3]; factors.len().saturating_sub(1)],
        })
    }
}

fn small() -> FactorVaeOptions {
    FactorVaeOptions {
        num_variance_estimate: 2000,
        num_train: 500,
        num_eval: 300,
        seed: 5,
        ..FactorVaeOptions::default()
    }
}

#[test]
fn factor_vae_true_factors_score_one() {
    let mut g = Synthetic::new(&DSPRITES, Kind::Identity);
    let s = factor_vae_score(&mut g, &small()).unwrap();
    assert_eq!(s.train_accuracy, 1.0);
    assert_eq!(s.eval_accuracy, 1.0);
    assert_eq!(s.num_active_dims, 5);
    assert_eq!(s.classifier, vec![0, 1, 2, 3, 4]);
    // Every vote is on the diagonal.
    let total: u64 = s.votes.iter().flatten().sum();
    let diag: u64 = (0..5).map(|k| s.votes[k][k]).sum();
    assert_eq!((total, diag), (500, 500));
    // Global variance of a uniform factor of n values: (n^2 - 1) / 12.
    assert!((s.global_variances[2] - (1600.0 - 1.0) / 12.0).abs() < 15.0);
}

#[test]
fn factor_vae_noise_scores_near_chance() {
    let mut g = Synthetic::new(&DSPRITES, Kind::Noise(10));
    let s = factor_vae_score(&mut g, &small()).unwrap();
    assert_eq!(s.num_active_dims, 10);
    assert!(s.eval_accuracy < 0.35, "{}", s.eval_accuracy);
    assert!(s.eval_accuracy > 0.1, "{}", s.eval_accuracy);
}

#[test]
fn factor_vae_constant_representation_is_pruned() {
    let mut g = Synthetic::new(&DSPRITES, Kind::Constant(4));
    let s = factor_vae_score(&mut g, &small()).unwrap();
    assert_eq!(
        (s.num_active_dims, s.train_accuracy, s.eval_accuracy),
        (0, 0.0, 0.0)
    );
}

/// Dims in very different units: without dividing by each dim's global variance, the
/// shrunken dim 2 (std 0.06) has the least batch variance in every vote and the inflated
/// dim 0 never does, so the classifier comes out wrong.
#[test]
fn factor_vae_normalises_each_dim_by_its_global_variance() {
    let scales = vec![100.0, 1.0, 0.005, 1.0, 1.0];
    let mut g = Synthetic::new(&DSPRITES, Kind::Scaled(scales, 0.1));
    let s = factor_vae_score(&mut g, &small()).unwrap();
    assert_eq!(s.num_active_dims, 5, "{:?}", s.global_variances);
    // The scales really are far apart (so the unnormalised argmin differs).
    let std2 = s.global_variances[2].sqrt();
    assert!(std2 > 0.05 && std2 < 0.1, "dim 2 std {std2}");
    assert!(s.global_variances[0] > 1e3, "{}", s.global_variances[0]);
    assert_eq!(s.classifier, vec![0, 1, 2, 3, 4]);
    assert_eq!((s.train_accuracy, s.eval_accuracy), (1.0, 1.0));
}

/// A dim with global std 0.01 (below the 0.05 cut) must not vote: unpruned, every batch
/// that happens to hold no spike gives it batch variance 0 and so the argmin.
#[test]
fn factor_vae_prunes_a_near_collapsed_dim() {
    let mut g = Synthetic::new(&DSPRITES, Kind::WithCollapsed(0.1));
    let s = factor_vae_score(&mut g, &small()).unwrap();
    let std5 = s.global_variances[5].sqrt();
    assert!(std5 > 0.005 && std5 < 0.02, "collapsed dim std {std5}");
    assert_eq!(s.num_active_dims, 5);
    assert!(s.votes.iter().all(|v| v[5] == 0), "{:?}", s.votes);
    assert_eq!((s.train_accuracy, s.eval_accuracy), (1.0, 1.0));
}

#[test]
fn factor_vae_is_deterministic_per_seed() {
    let run = |seed| {
        let mut g = Synthetic::new(&DSPRITES, Kind::Noise(6));
        factor_vae_score(&mut g, &FactorVaeOptions { seed, ..small() }).unwrap()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1).votes, run(2).votes);
}

#[test]
fn mig_true_factors_near_one() {
    // Factors of at most 20 values keep one value per bin.
    let mut g = Synthetic::new(&[3, 6, 10, 20], Kind::Identity);
    let s = mig(&mut g, &MigOptions::default()).unwrap();
    assert!(s.mig > 0.9, "{}", s.mig);
    for (k, e) in s.factor_entropy.iter().enumerate() {
        // dim k carries all of factor k's information.
        assert!((s.mutual_info[k][k] - e).abs() < 1e-9);
    }
}

#[test]
fn mig_true_factors_with_dsprites_sizes() {
    // 40 and 32 values do not fit in 20 bins: the gap of those factors is the binned
    // entropy over the full one (log 20 / log 40 = 0.81 and 0.85), so about 0.89 overall.
    let mut g = Synthetic::new(&DSPRITES, Kind::Identity);
    let s = mig(&mut g, &MigOptions::default()).unwrap();
    assert!(s.mig > 0.85 && s.mig < 0.91, "{}", s.mig);
    let p = s.per_factor.iter().map(|p| p.unwrap()).collect::<Vec<_>>();
    assert!(p[0] > 0.99 && p[1] > 0.99, "{p:?}");
    assert!((p[2] - 20f64.ln() / 40f64.ln()).abs() < 0.02, "{p:?}");
}

#[test]
fn mig_constant_is_zero_and_noise_is_small() {
    let mut g = Synthetic::new(&DSPRITES, Kind::Constant(3));
    let s = mig(
        &mut g,
        &MigOptions {
            num_samples: 2000,
            ..MigOptions::default()
        },
    )
    .unwrap();
    assert_eq!(s.mig, 0.0);
    assert!(s.mutual_info.iter().flatten().all(|&m| m == 0.0));
    let mut g = Synthetic::new(&DSPRITES, Kind::Noise(8));
    let s = mig(
        &mut g,
        &MigOptions {
            num_samples: 5000,
            ..MigOptions::default()
        },
    )
    .unwrap();
    assert!(s.mig < 0.05, "{}", s.mig);
}

#[test]
fn bad_representation_is_an_error() {
    let mut g = Synthetic::new(&DSPRITES, Kind::Short);
    let e = mig(&mut g, &MigOptions::default()).unwrap_err();
    assert!(matches!(e, MetricsError::Representation(_)), "{e}");
    let e = factor_vae_score(&mut g, &small()).unwrap_err();
    assert!(e.to_string().contains("63 vectors returned for 64"), "{e}");
}
