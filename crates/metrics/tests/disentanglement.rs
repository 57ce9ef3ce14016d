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
}

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
        Ok(match self.kind {
            Kind::Identity => factors
                .iter()
                .map(|f| f.iter().map(|&v| v as f32).collect())
                .collect(),
            Kind::Noise(d) => factors
                .iter()
                .map(|_| (0..d).map(|_| self.noise.normal() as f32).collect())
                .collect(),
            Kind::Constant(d) => factors.iter().map(|_| vec![0.25; d]).collect(),
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
