//! The stacked strategy on the built-in VAEs (the layers the architecture-file loader wraps):
//! the dSprites encoder and the texture conv encoder (BatchNorm in evaluation mode) give the
//! per-dimension strategy's maps; training mode and the ResNet encoder refuse or fall back.

use vaecam_attention::{latent_attention_maps, MapOptions, SequentialEncoder, Strategy};
use vaecam_tensor::{Device, Tensor};
use vaecam_vae::{Vae, VaeConfig};

fn rel_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let (a, b) = (a.to_vec().unwrap(), b.to_vec().unwrap());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 1e-7, "the reference must not vanish");
    a.iter()
        .zip(&b)
        .fold(0f32, |m, (u, v)| m.max((u - v).abs()))
        / scale
}

/// The error of Strategy::Stacked at `layer` (it must refuse).
fn stacked_refusal(vae: &Vae, x: &Tensor, layer: &str) -> String {
    let enc = SequentialEncoder::new(&vae.encoder, vae.config.z_dim);
    let opts = MapOptions {
        strategy: Strategy::Stacked,
        ..Default::default()
    };
    latent_attention_maps(&enc, x, layer, &opts)
        .err()
        .expect("Strategy::Stacked must refuse here")
        .to_string()
}

fn assert_strategies_agree(vae: &Vae, x: &Tensor, layer: &str) {
    let enc = SequentialEncoder::new(&vae.encoder, vae.config.z_dim);
    let run = |strategy| {
        latent_attention_maps(
            &enc,
            x,
            layer,
            &MapOptions {
                strategy,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let want = run(Strategy::PerDim);
    for strategy in [Strategy::Stacked, Strategy::Batched, Strategy::Auto] {
        let got = run(strategy);
        let d_alpha = rel_diff(&got.alpha, &want.alpha);
        let d_maps = rel_diff(
            got.per_dim_raw.as_ref().unwrap(),
            want.per_dim_raw.as_ref().unwrap(),
        );
        assert!(
            d_alpha <= 1e-5 && d_maps <= 1e-5,
            "{strategy:?} at {layer}: alpha differs by {d_alpha}, maps by {d_maps} (relative)"
        );
    }
}

#[test]
fn stacked_equals_per_dim_on_the_dsprites_encoder() {
    let dev = Device::cpu();
    let vae = Vae::new(&VaeConfig::dsprites(7), 3, &dev).unwrap();
    let x = Tensor::rand([3, 1, 64, 64], 4, &dev).unwrap();
    // The dSprites model has no BatchNorm: training mode is fine.
    for layer in ["relu2", "conv3", "relu1", "relu4"] {
        assert_strategies_agree(&vae, &x, layer);
    }
}

#[test]
fn stacked_equals_per_dim_on_the_texture_encoder_in_evaluation_mode() {
    let dev = Device::cpu();
    let vae = Vae::new(&VaeConfig::conv(3, 48, vec![6, 10, 12, 8], 5), 5, &dev).unwrap();
    for s in 0..2 {
        let batch = Tensor::rand([4, 3, 48, 48], 20 + s, &dev).unwrap();
        vae.encode(&batch).unwrap();
    }
    let x = Tensor::rand([2, 3, 48, 48], 6, &dev).unwrap();
    // Training mode: Stacked refuses, naming the BatchNorm; Auto falls back to PerDim.
    let err = stacked_refusal(&vae, &x, "act2");
    assert!(
        err.contains("\"bn3\"") && err.contains("training mode"),
        "{err}"
    );
    let enc = SequentialEncoder::new(&vae.encoder, vae.config.z_dim);
    let per_dim = |strategy| {
        latent_attention_maps(
            &enc,
            &x,
            "act2",
            &MapOptions {
                strategy,
                ..Default::default()
            },
        )
        .unwrap()
        .per_dim_raw
        .unwrap()
    };
    assert!(rel_diff(&per_dim(Strategy::Auto), &per_dim(Strategy::PerDim)) <= 1e-6);
    vae.set_training(false);
    for layer in ["act2", "act1", "bn3", "conv4"] {
        assert_strategies_agree(&vae, &x, layer);
    }
}

#[test]
fn the_resnet_encoder_falls_back() {
    let dev = Device::cpu();
    let vae = Vae::new(&VaeConfig::resnet18(1, 32, 2, 3), 1, &dev).unwrap();
    vae.set_training(false);
    let x = Tensor::rand([2, 1, 32, 32], 2, &dev).unwrap();
    let err = stacked_refusal(&vae, &x, "stem_act");
    assert!(err.contains("no stacked backward rule"), "{err}");
    assert_strategies_agree_auto_only(&vae, &x, "stem_act");
}

fn assert_strategies_agree_auto_only(vae: &Vae, x: &Tensor, layer: &str) {
    let enc = SequentialEncoder::new(&vae.encoder, vae.config.z_dim);
    let run = |strategy| {
        latent_attention_maps(
            &enc,
            x,
            layer,
            &MapOptions {
                strategy,
                ..Default::default()
            },
        )
        .unwrap()
        .per_dim_raw
        .unwrap()
    };
    assert!(rel_diff(&run(Strategy::Auto), &run(Strategy::PerDim)) <= 1e-6);
}
