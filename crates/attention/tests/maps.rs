//! Latent attention maps against direct computations, and the AD loss.

use vaecam_attention::ad_loss::choose_pairs;
use vaecam_attention::{
    attention_disentanglement_loss, latent_attention_maps, MapOptions, Overlap, PairChoice,
    SequentialEncoder, Strategy, TappedEncoder, Variant,
};
use vaecam_tensor::nn::{Conv2dConfig, Flatten, LeakyReLU, LinearConfig, Sequential, Tanh};
use vaecam_tensor::{grad, no_grad, Device, Tensor};

mod common;
use common::{tiny_encoder, Z};

fn net(dev: &Device) -> Sequential {
    tiny_encoder(|| LeakyReLU(0.2), 11, dev)
}

fn input(dev: &Device) -> Tensor {
    Tensor::rand([2, 1, 16, 16], 5, dev).unwrap()
}

#[test]
fn alpha_matches_finite_differences_of_z_with_respect_to_a() {
    let dev = Device::cpu();
    let n = net(&dev);
    let enc = SequentialEncoder::new(&n, Z);
    let x = input(&dev);
    let maps = latent_attention_maps(&enc, &x, "conv2", &MapOptions::default()).unwrap();
    let a = maps.activation.detach();
    let (k, h, w) = (a.dims()[1], a.dims()[2], a.dims()[3]);
    let alpha = maps.alpha.to_vec().unwrap(); // [N, D, K]
    let eps = 1e-4f32;
    for ch in 0..k {
        // Moving every pixel of channel ch by eps: the change of z_i over eps is sum_{p,q} dz_i/dA.
        let shifted = |s: f32| -> Vec<f32> {
            let mut v = a.to_vec().unwrap();
            for img in 0..2 {
                for p in 0..h * w {
                    v[(img * k + ch) * h * w + p] += s;
                }
            }
            let t = Tensor::from_vec(v, a.dims().to_vec(), &dev).unwrap();
            no_grad(|| enc.encode_from("conv2", &t))
                .unwrap()
                .0
                .to_vec()
                .unwrap()
        };
        let (up, down) = (shifted(eps), shifted(-eps));
        for img in 0..2 {
            for i in 0..Z {
                let fd = (up[img * Z + i] - down[img * Z + i]) as f64
                    / (2.0 * eps as f64)
                    / (h * w) as f64;
                let got = alpha[(img * Z + i) * k + ch] as f64;
                assert!(
                    (fd - got).abs() <= 1e-3 + 1e-2 * fd.abs(),
                    "alpha image {img} dim {i} channel {ch}: tap {got} vs finite differences {fd}"
                );
            }
        }
    }
    // And the map is ReLU(sum_k alpha_k A_k), upsampled to the input.
    let raw = maps.per_dim_raw.unwrap().to_vec().unwrap();
    let av = a.to_vec().unwrap();
    for img in 0..2 {
        for i in 0..Z {
            for p in 0..h * w {
                let s: f32 = (0..k)
                    .map(|c| alpha[(img * Z + i) * k + c] * av[(img * k + c) * h * w + p])
                    .sum();
                assert!((raw[(img * Z + i) * h * w + p] - s.max(0.0)).abs() < 1e-5);
            }
        }
    }
    assert_eq!(maps.per_dim.unwrap().dims(), &[2, Z, 16, 16]);
}

#[test]
fn the_batched_path_equals_separate_backward_passes() {
    let dev = Device::cpu();
    let n = net(&dev);
    let enc = SequentialEncoder::new(&n, Z);
    let x = input(&dev);
    for layer in ["conv1", "act2"] {
        let per = latent_attention_maps(&enc, &x, layer, &MapOptions::default()).unwrap();
        let bat = latent_attention_maps(
            &enc,
            &x,
            layer,
            &MapOptions {
                strategy: Strategy::Batched,
                ..Default::default()
            },
        )
        .unwrap();
        let (p, b) = (
            per.per_dim.unwrap().to_vec().unwrap(),
            bat.per_dim.unwrap().to_vec().unwrap(),
        );
        let scale = p.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        assert!(scale > 1e-6, "maps must not be all zero");
        for (u, v) in p.iter().zip(&b) {
            assert!((u - v).abs() <= 1e-5 * scale + 1e-7, "{layer}: {u} vs {v}");
        }
        let sub = latent_attention_maps(
            &enc,
            &x,
            layer,
            &MapOptions {
                dims: Some(vec![2, 0]),
                strategy: Strategy::Batched,
                ..Default::default()
            },
        )
        .unwrap();
        let s = sub.per_dim.unwrap();
        let all = latent_attention_maps(&enc, &x, layer, &MapOptions::default())
            .unwrap()
            .per_dim
            .unwrap();
        // The batched path weighs A with one matmul: equal up to rounding.
        let (got, want) = (
            s.slice(1, 0, 1).unwrap().to_vec().unwrap(),
            all.slice(1, 2, 1).unwrap().to_vec().unwrap(),
        );
        for (u, v) in got.iter().zip(&want) {
            assert!(
                (u - v).abs() <= 1e-5 * scale + 1e-7,
                "{layer} dims [2, 0]: {u} vs {v}"
            );
        }
    }
}

#[test]
fn variants_code_and_normal_difference() {
    let dev = Device::cpu();
    let n = net(&dev);
    let enc = SequentialEncoder::new(&n, Z);
    let x = input(&dev);
    let code = latent_attention_maps(
        &enc,
        &x,
        "conv2",
        &MapOptions {
            variant: Variant::Code,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(code.per_dim.is_none());
    let c = code.aggregate.to_vec().unwrap();
    assert!(c.iter().all(|&v| v >= 0.0) && c.iter().any(|&v| v > 0.0));
    // The code variant's alpha is GAP of the RMS-normalised gradient of sum(mu): per image,
    // rescaling the gradient leaves alpha's direction and makes its RMS-based scale fixed.
    let stats = Variant::NormalDifference {
        mean_mu: vec![0.1, -0.2, 0.0],
        mean_var: vec![0.5, 1.0, 2.0],
    };
    let nd = latent_attention_maps(
        &enc,
        &x,
        "conv2",
        &MapOptions {
            variant: stats,
            ..Default::default()
        },
    )
    .unwrap();
    let v = nd.aggregate.to_vec().unwrap();
    assert!(v.iter().all(|&t| t >= 0.0) && v.iter().any(|&t| t > 0.0));
    // Direct computation of the normal-difference alpha.
    let (mu, logvar, acts) = enc.encode_tapped(&x, &["conv2"]).unwrap();
    let m = Tensor::from_vec(vec![0.1, -0.2, 0.0], [1, 3], &dev).unwrap();
    let var = Tensor::from_vec(vec![0.5, 1.0, 2.0], [1, 3], &dev).unwrap();
    let s = mu
        .sub(&m)
        .unwrap()
        .square()
        .unwrap()
        .div(
            &logvar
                .exp()
                .unwrap()
                .add(&var)
                .unwrap()
                .mul_scalar(2.0)
                .unwrap(),
        )
        .unwrap()
        .sum_all()
        .unwrap();
    let g = grad(&[s], &acts, None, false).unwrap().remove(0);
    let alpha = g.mean(&[2, 3], false).unwrap().to_vec().unwrap();
    let got = nd.alpha.to_vec().unwrap();
    for (a, b) in alpha.iter().zip(&got) {
        assert!((a - b).abs() < 1e-6);
    }
    let e = latent_attention_maps(
        &enc,
        &x,
        "conv2",
        &MapOptions {
            variant: Variant::NormalDifference {
                mean_mu: vec![0.0],
                mean_var: vec![1.0],
            },
            ..Default::default()
        },
    );
    assert!(e.err().unwrap().to_string().contains("3 latent dimensions"));
}

#[test]
fn an_unknown_layer_lists_the_valid_names() {
    let dev = Device::cpu();
    let n = net(&dev);
    let enc = SequentialEncoder::new(&n, Z);
    let e = latent_attention_maps(&enc, &input(&dev), "conv9", &MapOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("conv9") && e.contains("conv1, act1, conv2, act2, flatten, fc"),
        "{e}"
    );
    let e = latent_attention_maps(&enc, &input(&dev), "fc", &MapOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("not a [N, C, h, w] feature map"), "{e}");
}

#[test]
fn ad_loss_is_one_for_identical_and_zero_for_disjoint_maps() {
    let dev = Device::cpu();
    let mut v = vec![0f32; 2 * 3 * 4 * 4];
    for img in 0..2 {
        for p in 0..8 {
            v[(img * 3) * 16 + p] = 1.0 + p as f32; // dim 0: top half
            v[(img * 3 + 1) * 16 + p] = 1.0 + p as f32; // dim 1 = dim 0
            v[(img * 3 + 2) * 16 + 8 + p] = 2.0; // dim 2: bottom half
        }
    }
    let maps = Tensor::from_vec(v, [2, 3, 4, 4], &dev).unwrap();
    for o in [Overlap::SoftIoU, Overlap::SoftDice] {
        let same = attention_disentanglement_loss(&maps, &[(0, 1)], o)
            .unwrap()
            .item()
            .unwrap();
        let disjoint = attention_disentanglement_loss(&maps, &[(0, 2), (1, 2)], o)
            .unwrap()
            .item()
            .unwrap();
        assert!(
            (same - 1.0).abs() < 1e-6 && disjoint.abs() < 1e-6,
            "{o:?}: {same} {disjoint}"
        );
    }
    assert_eq!(choose_pairs(4, PairChoice::All, None, 0).unwrap().len(), 6);
    let r = choose_pairs(5, PairChoice::Random, None, 3).unwrap();
    assert!(r.len() == 1 && r[0].0 < r[0].1 && r[0].1 < 5);
    let mu = Tensor::from_vec(vec![0.1, 5.0, -3.0, 0.2, 0.0, 4.0, 3.0, 0.1], [2, 4], &dev).unwrap();
    assert_eq!(
        choose_pairs(4, PairChoice::TopK(2), Some(&mu), 0).unwrap(),
        vec![(1, 2)]
    );
}

/// The AD loss of a tiny encoder as a function of conv1's weight, with alpha differentiated
/// (second order) or detached.
fn ad_loss(n: &Sequential, x: &Tensor, through_alpha: bool) -> Tensor {
    let enc = SequentialEncoder::new(n, Z);
    let m = latent_attention_maps(
        &enc,
        x,
        "act1",
        &MapOptions {
            create_graph: through_alpha,
            size: Some((8, 8)),
            ..Default::default()
        },
    )
    .unwrap();
    attention_disentanglement_loss(
        &m.per_dim.unwrap(),
        &choose_pairs(Z, PairChoice::All, None, 0).unwrap(),
        Overlap::SoftIoU,
    )
    .unwrap()
}

/// A smooth encoder: with piecewise-linear activations above the tap, alpha would jump
/// whenever a pre-activation crosses zero and finite differences would straddle the jumps.
fn smooth_net(dev: &Device) -> Sequential {
    Sequential::new()
        .push(
            "conv1",
            Conv2dConfig::new(1, 4, 4)
                .stride(2)
                .padding(1)
                .init(21, dev)
                .unwrap(),
        )
        .push("act1", Tanh)
        .push(
            "conv2",
            Conv2dConfig::new(4, 5, 4)
                .stride(2)
                .padding(1)
                .init(22, dev)
                .unwrap(),
        )
        .push("act2", Tanh)
        .push("flatten", Flatten)
        .push(
            "fc",
            LinearConfig::new(5 * 4 * 4, 2 * Z).init(23, dev).unwrap(),
        )
}

#[test]
fn ad_loss_gradient_through_alpha_matches_finite_differences() {
    let dev = Device::cpu();
    let n = smooth_net(&dev);
    let x = input(&dev);
    // conv2 sits above the tapped layer: only the path through alpha reaches it.
    let w = &vaecam_tensor::nn::parameters(&n)[2].1;
    assert_eq!(vaecam_tensor::nn::parameters(&n)[2].0, "conv2.weight");
    let l = ad_loss(&n, &x, true);
    let full = grad(&[l], std::slice::from_ref(w), None, false)
        .unwrap()
        .remove(0)
        .to_vec()
        .unwrap();
    let det = grad(
        &[ad_loss(&n, &x, false)],
        std::slice::from_ref(w),
        None,
        false,
    )
    .unwrap()
    .remove(0)
    .to_vec()
    .unwrap();
    let w0 = w.to_vec().unwrap();
    // Small steps: the map ReLU and min/max have kinks that larger steps straddle.
    let eps = 3e-4f32;
    let mut fd = Vec::new();
    for j in (0..w0.len()).step_by(7) {
        let at = |d: f32| {
            let mut v = w0.clone();
            v[j] += d;
            w.assign(&Tensor::from_vec(v, w.dims().to_vec(), &dev).unwrap())
                .unwrap();
            ad_loss(&n, &x, false).item().unwrap() as f64
        };
        let g = (at(eps) - at(-eps)) / (2.0 * eps as f64);
        fd.push((j, g));
    }
    w.assign(&Tensor::from_vec(w0, w.dims().to_vec(), &dev).unwrap())
        .unwrap();
    let tol = |g: f64| 2e-3 + 3e-2 * g.abs();
    for &(j, g) in &fd {
        let got = full[j] as f64;
        assert!(
            (got - g).abs() <= tol(g),
            "d AD / d w[{j}]: through alpha {got} vs finite differences {g}"
        );
    }
    // The check means something only where the derivative is well above its tolerance (a
    // zero gradient passes wherever |fd| < tol): most checked entries must be.
    let strong: Vec<(usize, f64)> = fd
        .iter()
        .copied()
        .filter(|&(_, g)| g.abs() >= 10.0 * tol(g))
        .collect();
    assert!(
        strong.len() >= 3 && 2 * strong.len() >= fd.len(),
        "only {} of {} finite differences are 10x their tolerance: {fd:?}",
        strong.len(),
        fd.len()
    );
    // conv2 lies above the tap, so with alpha detached the term does not depend on it: the
    // detached gradient must fail the same check there.
    for (j, g) in strong {
        let d = det[j] as f64;
        assert!(
            (d - g).abs() > tol(g),
            "d AD / d w[{j}]: the detached gradient {d} passes the check against {g}"
        );
    }
}

#[test]
fn maps_from_an_already_tapped_activation_equal_the_full_function() {
    let dev = Device::cpu();
    let n = net(&dev);
    let enc = SequentialEncoder::new(&n, Z);
    let x = input(&dev);
    // The per-dimension strategy runs the same products, so the maps are bit-identical.
    let per_dim = MapOptions {
        strategy: Strategy::PerDim,
        ..Default::default()
    };
    let full = latent_attention_maps(&enc, &x, "act1", &per_dim).unwrap();
    let (mu, _, acts) = enc.encode_tapped(&x, &["act1"]).unwrap();
    let (maps, alpha) =
        vaecam_attention::maps_from_activation(&acts[0], &mu, Some(&[2, 0]), false).unwrap();
    let want = full.per_dim_raw.unwrap();
    assert_eq!(maps.dims(), &[2, 2, 8, 8]);
    assert_eq!(alpha.dims(), &[2, 2, 4]);
    for (k, i) in [(0, 2), (1, 0)] {
        assert_eq!(
            maps.slice(1, k, 1).unwrap().to_vec().unwrap(),
            want.slice(1, i, 1).unwrap().to_vec().unwrap()
        );
    }
    let e = vaecam_attention::maps_from_activation(&acts[0].detach(), &mu, None, false);
    assert!(e.err().unwrap().to_string().contains("not on the tape"));
    let e = vaecam_attention::maps_from_activation(&acts[0], &mu, Some(&[3]), false);
    assert!(e.err().unwrap().to_string().contains("dimension 3"));
}
