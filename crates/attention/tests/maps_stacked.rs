//! The stacked strategy (one backward of the encoder's tail for every dimension, no second
//! forward): equal to the per-dimension and batched strategies; its refusals and Auto's
//! fallback.

use vaecam_attention::{
    latent_attention_maps, MapOptions, SequentialEncoder, Strategy, TappedEncoder, Variant,
};
use vaecam_tensor::nn::{
    BatchNorm2dConfig, Conv2dConfig, Flatten, LeakyReLU, LinearConfig, Module, Sequential,
};
use vaecam_tensor::{Device, Result, Tensor};

const Z: usize = 4;

/// conv + BN + LeakyReLU three times on 19x19 inputs (19 -> 9 -> 5 -> 3 with k4/k3 mixed),
/// flatten, linear to [mu | logvar].
fn bn_encoder(dev: &Device) -> Sequential {
    let conv = |cin, cout, k, s, p, seed| {
        Conv2dConfig::new(cin, cout, k)
            .stride(s)
            .padding(p)
            .bias(seed % 2 == 0)
            .init(seed, dev)
            .unwrap()
    };
    let bn = |c| BatchNorm2dConfig::new(c).init(dev).unwrap();
    Sequential::new()
        .push("conv1", conv(2, 5, 4, 2, 1, 1))
        .push("bn1", bn(5))
        .push("act1", LeakyReLU(0.2))
        .push("conv2", conv(5, 7, 3, 2, 1, 2))
        .push("bn2", bn(7))
        .push("act2", LeakyReLU(0.2))
        .push("conv3", conv(7, 6, 3, 2, 1, 3))
        .push("bn3", bn(6))
        .push("act3", LeakyReLU(0.2))
        .push("flatten", Flatten)
        .push(
            "fc",
            LinearConfig::new(6 * 3 * 3, 2 * Z).init(4, dev).unwrap(),
        )
}

/// The encoder in evaluation mode with non-trivial running statistics.
fn eval_encoder(dev: &Device) -> Sequential {
    let net = bn_encoder(dev);
    for s in 0..3 {
        net.forward(
            &Tensor::randn([6, 2, 19, 19], 50 + s, dev)
                .unwrap()
                .affine(1.5, 0.3)
                .unwrap(),
        )
        .unwrap();
    }
    net.set_training(false);
    net
}

fn input(n: usize, dev: &Device) -> Tensor {
    Tensor::randn([n, 2, 19, 19], 7, dev).unwrap()
}

fn with(strategy: Strategy) -> MapOptions {
    MapOptions {
        strategy,
        ..Default::default()
    }
}

/// max |a - b| / max |b|.
fn rel_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let (a, b) = (a.to_vec().unwrap(), b.to_vec().unwrap());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 1e-7, "the reference maps must not vanish");
    a.iter()
        .zip(&b)
        .fold(0f32, |m, (u, v)| m.max((u - v).abs()))
        / scale
}

fn assert_same_maps(enc: &dyn TappedEncoder, x: &Tensor, layer: &str, opts: &MapOptions) {
    let reference = latent_attention_maps(
        enc,
        x,
        layer,
        &MapOptions {
            strategy: Strategy::PerDim,
            ..opts.clone()
        },
    )
    .unwrap();
    for strategy in [Strategy::Stacked, Strategy::Batched, Strategy::Auto] {
        let m = latent_attention_maps(
            enc,
            x,
            layer,
            &MapOptions {
                strategy,
                ..opts.clone()
            },
        )
        .unwrap();
        for (what, got, want) in [
            ("alpha", &m.alpha, &reference.alpha),
            (
                "raw maps",
                m.per_dim_raw.as_ref().unwrap(),
                reference.per_dim_raw.as_ref().unwrap(),
            ),
            (
                "maps",
                m.per_dim.as_ref().unwrap(),
                reference.per_dim.as_ref().unwrap(),
            ),
            ("aggregate", &m.aggregate, &reference.aggregate),
            ("mu", &m.mu, &reference.mu),
        ] {
            let d = rel_diff(got, want);
            assert!(
                d <= 1e-5,
                "{strategy:?} at {layer}: {what} differs by {d} (relative)"
            );
        }
    }
}

#[test]
fn stacked_equals_per_dim_and_batched_on_a_batchnorm_encoder() {
    let dev = Device::cpu();
    let net = eval_encoder(&dev);
    let enc = SequentialEncoder::new(&net, Z);
    let x = input(3, &dev);
    for layer in ["act1", "bn1", "conv2", "act2", "act3"] {
        assert_same_maps(&enc, &x, layer, &MapOptions::default());
    }
    // A subset of dimensions in an unusual order, and an output size of its own.
    let opts = MapOptions {
        dims: Some(vec![3, 0, 2]),
        size: Some((7, 11)),
        ..Default::default()
    };
    assert_same_maps(&enc, &x, "act1", &opts);
}

#[test]
fn stacked_chunks_of_dimensions_give_the_same_maps_as_one_image_alone() {
    // An image's maps must not depend on its batch (chunks of dims x images are blocks).
    let dev = Device::cpu();
    let net = eval_encoder(&dev);
    let enc = SequentialEncoder::new(&net, Z);
    let x = input(5, &dev);
    let all = latent_attention_maps(&enc, &x, "act1", &with(Strategy::Stacked)).unwrap();
    for i in [0, 4] {
        let alone = latent_attention_maps(
            &enc,
            &x.slice(0, i, 1).unwrap(),
            "act1",
            &with(Strategy::Stacked),
        )
        .unwrap();
        let within = all.per_dim.as_ref().unwrap().slice(0, i, 1).unwrap();
        assert!(rel_diff(alone.per_dim.as_ref().unwrap(), &within) <= 1e-5);
    }
}

/// A layer the engine has no stacked rule for.
struct Square;
impl Module for Square {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.square()
    }
    fn describe(&self) -> String {
        "Square".into()
    }
}

#[test]
fn stacked_refuses_what_it_cannot_do_and_auto_falls_back() {
    let dev = Device::cpu();
    let x = input(2, &dev);
    let per_dim = |enc: &dyn TappedEncoder, layer: &str| {
        latent_attention_maps(enc, &x, layer, &with(Strategy::PerDim))
            .unwrap()
            .per_dim
            .unwrap()
    };
    let refusal = |enc: &dyn TappedEncoder, layer: &str, opts: &MapOptions| {
        latent_attention_maps(enc, &x, layer, opts)
            .err()
            .expect("Strategy::Stacked must refuse")
            .to_string()
    };
    // Training-mode BatchNorm after the tap.
    let net = bn_encoder(&dev);
    let enc = SequentialEncoder::new(&net, Z);
    let msg = refusal(&enc, "act1", &with(Strategy::Stacked));
    assert!(
        msg.contains("\"bn2\"") && msg.contains("training mode"),
        "{msg}"
    );
    let auto = latent_attention_maps(&enc, &x, "act1", &with(Strategy::Auto)).unwrap();
    assert!(rel_diff(auto.per_dim.as_ref().unwrap(), &per_dim(&enc, "act1")) <= 1e-6);
    // A layer without a rule.
    let odd = Sequential::new()
        .push(
            "conv1",
            Conv2dConfig::new(2, 3, 4)
                .stride(2)
                .padding(1)
                .init(1, &dev)
                .unwrap(),
        )
        .push("sq", Square)
        .push("flatten", Flatten)
        .push(
            "fc",
            LinearConfig::new(3 * 9 * 9, 2 * Z).init(2, &dev).unwrap(),
        );
    let enc = SequentialEncoder::new(&odd, Z);
    let msg = refusal(&enc, "conv1", &with(Strategy::Stacked));
    assert!(
        msg.contains("\"sq\"") && msg.contains("no stacked backward rule"),
        "{msg}"
    );
    let auto = latent_attention_maps(&enc, &x, "conv1", &with(Strategy::Auto)).unwrap();
    assert!(rel_diff(auto.per_dim.as_ref().unwrap(), &per_dim(&enc, "conv1")) <= 1e-6);
    // After the odd layer everything has a rule: stacked runs there.
    assert!(latent_attention_maps(&enc, &x, "sq", &with(Strategy::Stacked)).is_ok());
    // create_graph and a sampled z.
    let net = eval_encoder(&dev);
    let enc = SequentialEncoder::new(&net, Z);
    for (opts, word) in [
        (
            MapOptions {
                strategy: Strategy::Stacked,
                create_graph: true,
                ..Default::default()
            },
            "create_graph",
        ),
        (
            MapOptions {
                strategy: Strategy::Stacked,
                sample_seed: Some(3),
                ..Default::default()
            },
            "sample_seed",
        ),
    ] {
        let msg = refusal(&enc, "act2", &opts);
        assert!(msg.contains(word), "{msg}");
        let auto = MapOptions {
            strategy: Strategy::Auto,
            ..opts.clone()
        };
        let want = MapOptions {
            strategy: Strategy::PerDim,
            ..opts
        };
        let a = latent_attention_maps(&enc, &x, "act2", &auto).unwrap();
        let b = latent_attention_maps(&enc, &x, "act2", &want).unwrap();
        assert!(rel_diff(a.per_dim.as_ref().unwrap(), b.per_dim.as_ref().unwrap()) <= 1e-6);
    }
    // The single-map variants are unaffected by the strategy.
    let code = MapOptions {
        variant: Variant::Code,
        strategy: Strategy::Stacked,
        ..Default::default()
    };
    assert!(latent_attention_maps(&enc, &x, "act2", &code).is_ok());
}
