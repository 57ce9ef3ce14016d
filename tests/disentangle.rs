//! Attention-disentanglement training: the AD loss term's gradients, the dSprites
//! ground truth of the metrics, and a short AD-FactorVAE run through the CLI.

mod common;
use common::vaecam;
use vaecam::pipelines::ad::AdLoss;
use vaecam::pipelines::disentangle::{reconstruction_error, DspritesGroundTruth};
use vaecam_attention::{AdOptions, Overlap, PairChoice};
use vaecam_metrics::{factor_vae_score, mig, FactorVaeOptions, GroundTruth, MigOptions};
use vaecam_tensor::{grad, Device, Tensor};
use vaecam_vae::{ExtraLoss, LossContext, Vae, VaeConfig};

const Z: usize = 3;

/// A tiny VAE with a smooth encoder (Tanh): with piecewise-linear activations above the tap,
/// alpha jumps where a pre-activation crosses zero and finite differences straddle the jumps.
fn tiny_vae(dev: &Device) -> Vae {
    let file = serde_json::json!({
        "format": "vaecam-arch/1",
        "name": "tiny-tanh",
        "input": {"channels": 1, "size": 16},
        "z_dim": Z,
        "encoder": {
            "layers": [
                {"type": "conv2d", "name": "conv1", "params": "conv1", "in_channels": 1, "out_channels": 4, "kernel": 4, "stride": 2, "padding": 1},
                {"type": "tanh", "name": "act1"},
                {"type": "conv2d", "name": "conv2", "params": "conv2", "in_channels": 4, "out_channels": 5, "kernel": 4, "stride": 2, "padding": 1},
                {"type": "tanh", "name": "act2"},
                {"type": "flatten", "name": "flatten"}
            ],
            "head": {"type": "split_linear", "name": "fc", "params": "fc", "in_features": 80}
        },
        "decoder": {
            "output": "bernoulli_logits",
            "layers": [
                {"type": "linear", "name": "fc", "params": "decoder.fc", "in_features": Z, "out_features": 256},
                {"type": "reshape", "name": "reshape", "shape": [1, 16, 16]}
            ]
        }
    });
    let file = vaecam_vae::archfile::parse(&file.to_string(), None).unwrap();
    Vae::from_arch_file(&file, 31, dev).unwrap()
}

/// The AD term as the trainer computes it: its forward pass with the tap, then the term.
fn ad_term(vae: &Vae, x: &Tensor, through_alpha: bool) -> Tensor {
    ad_term_with(vae, x, through_alpha, false)
}

fn ad_term_with(vae: &Vae, x: &Tensor, through_alpha: bool, batched: bool) -> Tensor {
    let (out, taps) = vae.forward_tapped(x, None, &["act1"]).unwrap();
    let ctx = LossContext {
        vae,
        x,
        out: &out,
        taps: &taps,
        step: 0,
    };
    let opts = AdOptions {
        lambda: 2.0,
        overlap: Overlap::SoftIoU,
        pairs: PairChoice::All,
        through_alpha,
        layer: "act1".into(),
    };
    let mut term = AdLoss::new(opts, 0).batched(batched);
    assert_eq!(term.name(), "ad");
    assert_eq!(term.taps(), vec!["act1".to_string()]);
    term.loss(&ctx).unwrap()
}

#[test]
fn the_ad_term_gradient_through_alpha_matches_finite_differences() {
    let dev = Device::cpu();
    let vae = tiny_vae(&dev);
    let x = Tensor::rand([2, 1, 16, 16], 9, &dev).unwrap();
    let params = vaecam_tensor::nn::parameters(&vae.encoder);
    // conv1 lies below the tap (reached through A and alpha), conv2 above it (through alpha only).
    let ws: Vec<Tensor> = params[..3].iter().map(|p| p.1.clone()).collect();
    assert_eq!(params[2].0, "conv2.weight");
    let full = grad(&[ad_term(&vae, &x, true)], &ws, None, false).unwrap();
    let det = grad(&[ad_term(&vae, &x, false)], &ws, None, false).unwrap();
    // The batched strategy is the same function: same value, same second-order gradient.
    let (lb, lp) = (ad_term_with(&vae, &x, true, true), ad_term(&vae, &x, true));
    assert!((lb.item().unwrap() - lp.item().unwrap()).abs() < 1e-6);
    let bat = grad(&[lb], &ws, None, false).unwrap();
    for (b, f) in bat.iter().zip(&full) {
        for (u, v) in b.to_vec().unwrap().iter().zip(f.to_vec().unwrap()) {
            assert!(
                (u - v).abs() <= 1e-5 + 1e-4 * v.abs(),
                "batched {u} vs per-dim {v}"
            );
        }
    }
    let eps = 3e-4f32;
    let tol = |fd: f64| 4e-3 + 3e-2 * fd.abs();
    for (wi, w) in [0usize, 2].iter().map(|&i| (i, &ws[i])) {
        let (g_full, g_det) = (full[wi].to_vec().unwrap(), det[wi].to_vec().unwrap());
        let w0 = w.to_vec().unwrap();
        let mut fds = Vec::new();
        for j in (0..w0.len()).step_by(11) {
            let at = |d: f32| {
                let mut v = w0.clone();
                v[j] += d;
                w.assign(&Tensor::from_vec(v, w.dims().to_vec(), &dev).unwrap())
                    .unwrap();
                ad_term(&vae, &x, false).item().unwrap() as f64
            };
            let fd = (at(eps) - at(-eps)) / (2.0 * eps as f64);
            w.assign(&Tensor::from_vec(w0.clone(), w.dims().to_vec(), &dev).unwrap())
                .unwrap();
            let got = g_full[j] as f64;
            assert!(
                (got - fd).abs() <= tol(fd),
                "{} [{j}]: through alpha {got} vs finite differences {fd}",
                params[wi].0
            );
            fds.push((j, fd));
        }
        // Only derivatives well above the tolerance make the check mean something (a zero
        // gradient passes wherever |fd| < tol): most checked entries must be.
        let strong: Vec<(usize, f64)> = fds
            .iter()
            .copied()
            .filter(|&(_, fd)| fd.abs() >= 10.0 * tol(fd))
            .collect();
        assert!(
            strong.len() >= 3 && 2 * strong.len() >= fds.len(),
            "{}: only {} of {} finite differences are 10x their tolerance: {fds:?}",
            params[wi].0,
            strong.len(),
            fds.len()
        );
        if wi == 2 {
            // conv2 lies above the tap: with alpha detached the term does not depend on it,
            // so the detached gradient must fail the check there.
            for (j, fd) in strong {
                let d = g_det[j] as f64;
                assert!(
                    (d - fd).abs() > tol(fd),
                    "conv2.weight [{j}]: the detached gradient {d} passes the check against {fd}"
                );
            }
        }
    }
}

#[test]
fn the_dsprites_ground_truth_encodes_rendered_factors() {
    let dev = Device::cpu();
    let vae = Vae::new(&VaeConfig::dsprites(4), 0, &dev).unwrap();
    let mut gt = DspritesGroundTruth::new(&vae, &dev).unwrap();
    assert_eq!(gt.factor_sizes(), &[3, 6, 40, 32, 32]);
    let reps = gt
        .representation(&[
            vec![0, 0, 0, 0, 0],
            vec![2, 5, 39, 31, 31],
            vec![1, 2, 3, 4, 5],
        ])
        .unwrap();
    assert_eq!(reps.len(), 3);
    assert!(reps
        .iter()
        .all(|r| r.len() == 4 && r.iter().all(|v| v.is_finite())));
    assert_ne!(reps[0], reps[1], "different images, different codes");
    let e = gt.representation(&[vec![3, 0, 0, 0, 0]]).unwrap_err();
    assert!(e.to_string().contains("shape"), "{e}");
    let e = gt.representation(&[vec![0, 0]]).unwrap_err();
    assert!(e.to_string().contains("5 entries"), "{e}");
    let opts = FactorVaeOptions {
        batch_size: 8,
        num_train: 6,
        num_eval: 4,
        num_variance_estimate: 16,
        ..Default::default()
    };
    let s = factor_vae_score(&mut gt, &opts).unwrap();
    assert!((0.0..=1.0).contains(&s.eval_accuracy) && s.global_variances.len() == 4);
    let m = mig(
        &mut gt,
        &MigOptions {
            num_samples: 24,
            batch_size: 8,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(m.mig.is_finite() && m.mutual_info.len() == 4);
    let r = reconstruction_error(&vae, 5, &dev).unwrap();
    // An untrained decoder's logits are near 0: BCE near 64 * 64 * ln 2 per image.
    assert!(r > 1000.0 && r < 5000.0, "{r}");
}

#[test]
fn a_short_ad_factor_vae_run_logs_every_part_and_is_compared() {
    let dir = std::env::temp_dir().join(format!("vaecam-ad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let args = [
        "disentangle",
        "--model",
        "factor-vae",
        "--gamma",
        "10",
        "--ad-lambda",
        "1",
        "--z",
        "3",
        "--batch",
        "4",
        "--steps",
        "3",
        "--seeds",
        "1,2",
        "--device",
        "cpu",
        "--eval-train-votes",
        "3",
        "--eval-eval-votes",
        "2",
        "--eval-samples",
        "16",
        "--recon-images",
        "4",
        "--checkpoint-every",
        "0",
        "--quiet",
        "--out",
        d,
    ];
    let (ok, out, err) = vaecam(&args);
    assert!(ok, "{err}");
    assert!(out.contains("AD-FactorVAE (gamma 10, lambda 1)"), "{out}");
    let log = std::fs::read_to_string(dir.join("seed-1/log.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    for part in ["total", "recon", "kl", "tc", "ad", "disc"] {
        let v = last.get(part).and_then(|v| v.as_f64());
        assert!(v.is_some_and(f64::is_finite), "{part} missing: {last}");
    }
    assert_eq!(last["step"], 3);
    for f in [
        "metrics.json",
        "scatter.png",
        "scatter.csv",
        "seed-1/attention.png",
        "seed-2/samples/traversals.png",
        "seed-2/checkpoint.safetensors",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["runs"].as_array().unwrap().len(), 2);
    // Running again resumes the finished runs and reuses their evaluations.
    let (ok, out2, err) = vaecam(&args);
    assert!(ok && out2 == out, "{err}");
    // Other settings in the same folder are refused.
    let mut other = args.to_vec();
    other[4] = "20";
    let (ok, _, err) = vaecam(&other);
    assert!(
        !ok && err.contains("the run was trained with") && err.lines().count() == 1,
        "{err}"
    );
    let prefix = dir.join("cmp");
    let (ok, out, err) = vaecam(&["compare", "--runs", d, "--out", prefix.to_str().unwrap()]);
    assert!(ok && out.contains("| AD-FactorVAE"), "{err}");
    assert!(dir.join("cmp.png").is_file() && dir.join("cmp.md").is_file());
    let (ok, _, err) = vaecam(&["compare", "--runs", "/nonexistent-vaecam"]);
    assert!(!ok && err.contains("metrics.json"), "{err}");
    let (ok, _, err) = vaecam(&[
        "disentangle",
        "--model",
        "factor-vae",
        "--ad-lambda",
        "1",
        "--ad-pairs",
        "top-k:1",
        "--out",
        d,
    ]);
    assert!(!ok && err.contains("top-k:1"), "{err}");
    for cmd in ["disentangle", "compare"] {
        let (ok, out, _) = vaecam(&[cmd, "--help"]);
        assert!(ok && out.contains("Usage"), "{cmd}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
