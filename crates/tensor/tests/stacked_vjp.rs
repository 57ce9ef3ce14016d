//! The layers' stacked backward rules (`Module::stacked_vjp`, `Sequential::stacked_vjp_after`)
//! against the tape: V cotangents at once must equal V separate `grad` calls, on awkward sizes.

use vaecam_tensor::nn::{
    BatchNorm2dConfig, Conv2dConfig, ConvTranspose2dConfig, Flatten, LeakyReLU, LinearConfig,
    Module, ReLU, Reshape, Sequential, Sigmoid, StackedCotangent, Tanh,
};
use vaecam_tensor::{grad, Device, Tensor};

const V: usize = 3;

fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 1e-6, "reference must not vanish");
    a.iter().zip(b).fold(0f32, |m, (u, v)| m.max((u - v).abs())) / scale
}

/// The tape's input gradients of `layer` on `x` for each of the V blocks of `seeds`
/// (`[V * N, ...out]`), stacked `[V * N, ...in]`.
fn tape_rows(layer: &dyn Module, x: &Tensor, seeds: &Tensor) -> Vec<f32> {
    let x = x.detach().requires_grad_();
    let y = layer.forward(&x).unwrap();
    let n = x.dims()[0];
    let mut out = Vec::new();
    for b in 0..V {
        let seed = seeds.slice(0, b * n, n).unwrap();
        let g = grad(
            std::slice::from_ref(&y),
            std::slice::from_ref(&x),
            Some(&[seed]),
            false,
        )
        .unwrap()
        .remove(0);
        out.extend(g.to_vec().unwrap());
    }
    out
}

fn check_layer(name: &str, layer: &dyn Module, x: &Tensor) {
    assert!(layer.stacked_vjp_refusal().is_none(), "{name} refuses");
    let n = x.dims()[0];
    let y = layer.forward(x).unwrap();
    let mut rows = vec![V * n];
    rows.extend_from_slice(&y.dims()[1..]);
    let seeds = Tensor::randn(rows, 11, x.device()).unwrap();
    let want = tape_rows(layer, x, &seeds);
    let got = layer
        .stacked_vjp(x, &y, &StackedCotangent::PerSample(seeds.clone()))
        .unwrap()
        .into_per_sample(n)
        .unwrap()
        .to_vec()
        .unwrap();
    let d = max_rel_diff(&got, &want);
    assert!(d < 1e-5, "{name}: stacked vs tape differ by {d} (relative)");
    // A shared cotangent (one per block) equals the per-sample one repeated over samples.
    let shared = seeds.slice(0, 0, V).unwrap();
    let repeated = StackedCotangent::Shared(shared.clone())
        .into_per_sample(n)
        .unwrap();
    let a = layer
        .stacked_vjp(x, &y, &StackedCotangent::Shared(shared))
        .unwrap()
        .into_per_sample(n)
        .unwrap()
        .to_vec()
        .unwrap();
    let b = layer
        .stacked_vjp(x, &y, &StackedCotangent::PerSample(repeated))
        .unwrap()
        .into_per_sample(n)
        .unwrap()
        .to_vec()
        .unwrap();
    assert!(max_rel_diff(&a, &b) < 1e-6, "{name}: shared vs repeated");
    // The spatial sum equals the full cotangent summed over H and W.
    if x.rank() == 4 {
        let full = layer
            .stacked_vjp(x, &y, &StackedCotangent::PerSample(seeds.clone()))
            .unwrap()
            .tensor()
            .sum(&[2, 3], false)
            .unwrap()
            .to_vec()
            .unwrap();
        let summed = layer
            .stacked_vjp_spatial_sum(x, &y, &StackedCotangent::PerSample(seeds))
            .unwrap()
            .tensor()
            .to_vec()
            .unwrap();
        let d = max_rel_diff(&summed, &full);
        assert!(d < 1e-5, "{name}: spatial sum differs by {d}");
    }
}

#[test]
fn every_layer_rule_equals_the_tape_on_awkward_sizes() {
    let dev = Device::cpu();
    let x = Tensor::randn([2, 3, 11, 9], 1, &dev).unwrap();
    let conv = |k, s, p, seed| {
        Conv2dConfig::new(3, 5, k)
            .stride(s)
            .padding(p)
            .init(seed, &dev)
            .unwrap()
    };
    check_layer("conv k4 s2 p1", &conv(4, 2, 1, 2), &x);
    check_layer("conv k3 s1 p1", &conv(3, 1, 1, 3), &x);
    check_layer("conv k5 s3 p2", &conv(5, 3, 2, 4), &x);
    check_layer("conv k2 s2 p0", &conv(2, 2, 0, 5), &x);
    let tconv = ConvTranspose2dConfig::new(3, 4, 4)
        .stride(2)
        .padding(1)
        .output_padding(1)
        .init(6, &dev)
        .unwrap();
    check_layer("conv_transpose k4 s2 p1 op1", &tconv, &x);
    check_layer("leaky relu", &LeakyReLU(0.2), &x);
    check_layer("relu", &ReLU, &x);
    check_layer("tanh", &Tanh, &x);
    check_layer("sigmoid", &Sigmoid, &x);
    check_layer("flatten", &Flatten, &x);
    check_layer("reshape", &Reshape(vec![3, 99]), &x);
    let bn = BatchNorm2dConfig::new(3).init(&dev).unwrap();
    bn.forward(
        &Tensor::randn([4, 3, 11, 9], 7, &dev)
            .unwrap()
            .affine(2.0, 1.0)
            .unwrap(),
    )
    .unwrap();
    bn.set_training(false);
    check_layer("batchnorm (eval)", &bn, &x);
    let fc = LinearConfig::new(7, 5).init(8, &dev).unwrap();
    check_layer("linear", &fc, &Tensor::randn([2, 7], 9, &dev).unwrap());
}

#[test]
fn training_mode_batchnorm_and_ruleless_layers_refuse() {
    let dev = Device::cpu();
    let bn = BatchNorm2dConfig::new(3).init(&dev).unwrap();
    let why = bn.stacked_vjp_refusal().expect("training mode must refuse");
    assert!(why.contains("training mode"), "{why}");
    let x = Tensor::randn([2, 3, 4, 4], 1, &dev).unwrap();
    let y = bn.forward(&x).unwrap();
    let err = bn
        .stacked_vjp(&x, &y, &StackedCotangent::PerSample(y.clone()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("training mode"), "{err}");
    let net = Sequential::new()
        .push(
            "conv",
            Conv2dConfig::new(3, 3, 3).padding(1).init(2, &dev).unwrap(),
        )
        .push("bn", bn)
        .push("inner", Sequential::new().push("act", ReLU));
    let why = net.stacked_vjp_refusal_after("conv").unwrap().unwrap();
    assert!(
        why.contains("\"bn\"") && why.contains("training mode"),
        "{why}"
    );
    net.set_training(false);
    let why = net.stacked_vjp_refusal_after("conv").unwrap().unwrap();
    assert!(
        why.contains("\"inner\"") && why.contains("no stacked backward rule"),
        "{why}"
    );
    assert!(net.stacked_vjp_refusal_after("bn").unwrap().is_some());
    assert!(net.stacked_vjp_refusal_after("nope").is_err());
}

#[test]
fn sequential_tail_equals_the_tape_from_a_tap() {
    // conv + BN(eval) + leaky ReLU twice, flatten, linear; tap after the first block; the
    // seeds are one-hot rows on the output (shared per block), as the attention maps use.
    let dev = Device::cpu();
    let conv = |cin, cout, seed| {
        Conv2dConfig::new(cin, cout, 4)
            .stride(2)
            .padding(1)
            .init(seed, &dev)
            .unwrap()
    };
    let net = Sequential::new()
        .push("conv1", conv(2, 4, 1))
        .push("bn1", BatchNorm2dConfig::new(4).init(&dev).unwrap())
        .push("act1", LeakyReLU(0.2))
        .push("conv2", conv(4, 6, 2))
        .push("bn2", BatchNorm2dConfig::new(6).init(&dev).unwrap())
        .push("act2", LeakyReLU(0.2))
        .push("flatten", Flatten)
        .push("fc", LinearConfig::new(6 * 3 * 3, 5).init(3, &dev).unwrap());
    net.forward(&Tensor::randn([5, 2, 13, 13], 4, &dev).unwrap())
        .unwrap();
    net.set_training(false);
    let n = 3;
    let x = Tensor::randn([n, 2, 13, 13], 5, &dev).unwrap();
    let outs = net.forward_recorded(&x).unwrap();
    let tap = outs[2].clone(); // act1: [3, 4, 6, 6]
    let cols = [4usize, 0, 2];
    let mut seed = vec![0f32; V * 5];
    for (b, &c) in cols.iter().enumerate() {
        seed[b * 5 + c] = 1.0;
    }
    let seed = Tensor::from_vec(seed, [V, 5], &dev).unwrap();
    let full = net
        .stacked_vjp_after("act1", &outs, StackedCotangent::Shared(seed.clone()), false)
        .unwrap()
        .into_per_sample(n)
        .unwrap();
    assert_eq!(full.dims(), &[V * n, 4, 6, 6]);
    let summed = net
        .stacked_vjp_after("act1", &outs, StackedCotangent::Shared(seed), true)
        .unwrap()
        .into_per_sample(n)
        .unwrap();
    let mut want = Vec::new();
    let mut want_sum = Vec::new();
    for &c in &cols {
        let mut oh = vec![0f32; n * 5];
        for r in 0..n {
            oh[r * 5 + c] = 1.0;
        }
        let oh = Tensor::from_vec(oh, [n, 5], &dev).unwrap();
        let g = grad(
            &[outs[7].clone()],
            std::slice::from_ref(&tap),
            Some(&[oh]),
            false,
        )
        .unwrap()
        .remove(0);
        want.extend(g.to_vec().unwrap());
        want_sum.extend(g.sum(&[2, 3], false).unwrap().to_vec().unwrap());
    }
    let d = max_rel_diff(&full.to_vec().unwrap(), &want);
    assert!(d < 1e-5, "tail cotangent differs by {d}");
    let d = max_rel_diff(&summed.to_vec().unwrap(), &want_sum);
    assert!(d < 1e-5, "tail spatial sums differ by {d}");
    // Wrong recordings are refused with the counts.
    let err = net
        .stacked_vjp_after("act1", &outs[..3], StackedCotangent::PerSample(full), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("3 recorded outputs for 8 layers"), "{err}");
}
