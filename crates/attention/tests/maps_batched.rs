//! The batched strategy's gradients and preconditions, the code variant against a direct
//! computation, and maps on a BatchNorm model.

use vaecam_attention::ad_loss::choose_pairs;
use vaecam_attention::{
    attention_disentanglement_loss, latent_attention_maps, MapOptions, Overlap, PairChoice,
    SequentialEncoder, Strategy, TappedEncoder, Variant,
};
use vaecam_tensor::nn::{
    parameters, BatchNorm2dConfig, Conv2dConfig, Flatten, LinearConfig, Module, Sequential, Tanh,
};
use vaecam_tensor::{grad, Device, Tensor};

mod common;
use common::{tiny_encoder, Z};

fn net(dev: &Device) -> Sequential {
    tiny_encoder(|| Tanh, 31, dev)
}

fn bn_net(dev: &Device) -> Sequential {
    Sequential::new()
        .push(
            "conv1",
            Conv2dConfig::new(1, 4, 4)
                .stride(2)
                .padding(1)
                .init(41, dev)
                .unwrap(),
        )
        .push("bn1", BatchNorm2dConfig::new(4).init(dev).unwrap())
        .push("act1", Tanh)
        .push(
            "conv2",
            Conv2dConfig::new(4, 5, 4)
                .stride(2)
                .padding(1)
                .init(42, dev)
                .unwrap(),
        )
        .push("bn2", BatchNorm2dConfig::new(5).init(dev).unwrap())
        .push("act2", Tanh)
        .push("flatten", Flatten)
        .push(
            "fc",
            LinearConfig::new(5 * 4 * 4, 2 * Z).init(43, dev).unwrap(),
        )
}

fn input(n: usize, dev: &Device) -> Tensor {
    Tensor::rand([n, 1, 16, 16], 7, dev).unwrap()
}

fn opts(strategy: Strategy) -> MapOptions {
    MapOptions {
        strategy,
        ..Default::default()
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0f32, |m, (u, v)| m.max((u - v).abs()))
}

/// The AD loss on the maps at `act1`, without create_graph (alpha a constant).
fn detached_ad_loss(enc: &SequentialEncoder, x: &Tensor, strategy: Strategy) -> Tensor {
    let m = latent_attention_maps(enc, x, "act1", &opts(strategy)).unwrap();
    attention_disentanglement_loss(
        &m.per_dim.unwrap(),
        &choose_pairs(Z, PairChoice::All, None, 0).unwrap(),
        Overlap::SoftIoU,
    )
    .unwrap()
}

#[test]
fn batched_detached_maps_pass_the_gradient_below_the_tap() {
    // Issue 10 bug 8: the batched path weighed the maps with a detached copy of A, so a loss
    // on detached maps gave every parameter a zero gradient.
    let dev = Device::cpu();
    let n = net(&dev);
    let enc = SequentialEncoder::new(&n, Z);
    let x = input(2, &dev);
    let params = parameters(&n);
    assert_eq!(params[0].0, "conv1.weight");
    let w = std::slice::from_ref(&params[0].1);
    let g = |s: Strategy| {
        grad(&[detached_ad_loss(&enc, &x, s)], w, None, false)
            .unwrap()
            .remove(0)
            .to_vec()
            .unwrap()
    };
    let (per_dim, batched) = (g(Strategy::PerDim), g(Strategy::Batched));
    let scale = per_dim.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 1e-6, "the per-dim gradient must not vanish");
    let diff = max_abs_diff(&per_dim, &batched);
    assert!(
        diff <= 1e-4 * scale,
        "batched detached gradient differs from per-dim by {diff} (scale {scale})"
    );
}

#[test]
fn batched_refuses_training_mode_batchnorm_after_the_tap() {
    // Issue 10 bug 9: stacked copies through a training-mode BatchNorm share its statistics.
    let dev = Device::cpu();
    let n = bn_net(&dev);
    let enc = SequentialEncoder::new(&n, Z);
    let x = input(3, &dev);
    let err = latent_attention_maps(&enc, &x, "act1", &opts(Strategy::Batched))
        .err()
        .expect("training-mode BatchNorm after the tap must be refused");
    let msg = err.to_string();
    assert!(
        msg.contains("bn2") && msg.contains("evaluation mode"),
        "{msg}"
    );
    // Above the last BatchNorm nothing mixes the batch: allowed in training mode.
    assert!(latent_attention_maps(&enc, &x, "act2", &opts(Strategy::Batched)).is_ok());
    n.set_training(false);
    assert!(latent_attention_maps(&enc, &x, "act1", &opts(Strategy::Batched)).is_ok());
}

#[test]
fn code_variant_equals_a_direct_computation() {
    // Issue 10 item 12: alpha = GAP(g / (rms(g) + 1e-5)) with g = d sum(mu) / dA per image,
    // map = |upsample(sum_k alpha_k A_k)| (no ReLU).
    let dev = Device::cpu();
    let n = net(&dev);
    let enc = SequentialEncoder::new(&n, Z);
    let x = input(2, &dev);
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
    let (mu, _, acts) = enc.encode_tapped(&x, &["conv2"]).unwrap();
    let g = grad(&[mu.sum_all().unwrap()], &acts, None, false)
        .unwrap()
        .remove(0)
        .to_vec()
        .unwrap();
    let a = acts[0].to_vec().unwrap();
    let (k, h, w) = (acts[0].dims()[1], acts[0].dims()[2], acts[0].dims()[3]);
    let per_img = k * h * w;
    let got_alpha = code.alpha.to_vec().unwrap();
    let got_raw = code.aggregate_raw.to_vec().unwrap();
    for img in 0..2 {
        let gi = &g[img * per_img..][..per_img];
        let rms = (gi.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / per_img as f64).sqrt();
        let alpha: Vec<f64> = (0..k)
            .map(|c| {
                gi[c * h * w..][..h * w]
                    .iter()
                    .map(|v| *v as f64)
                    .sum::<f64>()
                    / (h * w) as f64
                    / (rms + 1e-5)
            })
            .collect();
        for c in 0..k {
            let got = got_alpha[img * k + c] as f64;
            assert!(
                (got - alpha[c]).abs() <= 1e-5 * (1.0 + alpha[c].abs()),
                "image {img} channel {c}: alpha {got} vs direct {}",
                alpha[c]
            );
        }
        for p in 0..h * w {
            let want: f64 = (0..k)
                .map(|c| alpha[c] * a[img * per_img + c * h * w + p] as f64)
                .sum();
            let got = got_raw[img * h * w + p] as f64;
            assert!(
                (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                "map {got} vs {want}"
            );
        }
    }
    // The upsampled aggregate is the absolute value of the upsampled raw map.
    let up = code
        .aggregate_raw
        .upsample_bilinear(16, 16)
        .unwrap()
        .abs()
        .unwrap()
        .to_vec()
        .unwrap();
    assert!(max_abs_diff(&up, &code.aggregate.to_vec().unwrap()) < 1e-6);
    assert!(
        up.iter().any(|v| *v > 1e-6),
        "the code map must not be all zero"
    );
}

#[test]
fn batchnorm_model_maps_of_an_image_alone_equal_its_maps_in_a_batch() {
    // Issue 10 item 16: in evaluation mode nothing couples the images of a batch.
    let dev = Device::cpu();
    let n = bn_net(&dev);
    // Non-trivial running statistics, so evaluation mode is not the identity.
    for seed in 0..3 {
        n.forward(&Tensor::rand([4, 1, 16, 16], 100 + seed, &dev).unwrap())
            .unwrap();
    }
    n.set_training(false);
    let enc = SequentialEncoder::new(&n, Z);
    let batch = input(4, &dev);
    for strategy in [Strategy::PerDim, Strategy::Batched] {
        for layer in ["act1", "conv2"] {
            let all = latent_attention_maps(&enc, &batch, layer, &opts(strategy)).unwrap();
            let all = all.per_dim.unwrap();
            for i in [0, 3] {
                let alone = latent_attention_maps(
                    &enc,
                    &batch.slice(0, i, 1).unwrap(),
                    layer,
                    &opts(strategy),
                )
                .unwrap()
                .per_dim
                .unwrap()
                .to_vec()
                .unwrap();
                let within = all.slice(0, i, 1).unwrap().to_vec().unwrap();
                let scale = within.iter().fold(0f32, |m, v| m.max(v.abs()));
                assert!(scale > 1e-6, "{strategy:?} {layer}: maps must not vanish");
                let diff = max_abs_diff(&alone, &within);
                assert!(
                    diff <= 1e-5 * scale,
                    "{strategy:?} {layer} image {i}: alone vs in the batch differ by {diff}"
                );
            }
        }
    }
}
