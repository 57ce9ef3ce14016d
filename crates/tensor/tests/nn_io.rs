//! Layers, optimizers and checkpoints.

mod common;
use common::*;
use vaecam_tensor::io::{load, load_into, save};
use vaecam_tensor::nn::{
    self, BatchNorm2dConfig, Conv2dConfig, ConvTranspose2dConfig, Flatten, Init, LeakyReLU,
    LinearConfig, Module, Sequential,
};
use vaecam_tensor::optim::{Adam, AdamConfig, Sgd};
use vaecam_tensor::{Device, Reduction, Tensor};

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("vaecam-tensor-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn fixture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch_fixture.safetensors")
}

fn tiny_encoder(dev: &Device, seed: u64) -> Sequential {
    Sequential::new()
        .push(
            "conv1",
            Conv2dConfig::new(1, 4, 4)
                .stride(2)
                .padding(1)
                .init(seed, dev)
                .unwrap(),
        )
        .push("bn1", BatchNorm2dConfig::new(4).init(dev).unwrap())
        .push("act1", LeakyReLU(0.2))
        .push(
            "conv2",
            Conv2dConfig::new(4, 8, 4)
                .stride(2)
                .padding(1)
                .init(seed + 1, dev)
                .unwrap(),
        )
        .push("act2", LeakyReLU(0.2))
        .push("flat", Flatten)
        .push(
            "fc",
            LinearConfig::new(8 * 2 * 2, 3).init(seed + 2, dev).unwrap(),
        )
}

device_tests! {
    fn pytorch_written_safetensors_loads_with_the_same_values(dev: &Device) {
        let ck = load(fixture(), dev).unwrap();
        assert!(ck.metadata.get("writer").is_some_and(|w| w.starts_with("torch")));
        let f32s = ck.get("plain.f32").unwrap();
        assert_eq!(f32s.dims(), &[2, 3, 4]);
        let want: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
        assert_eq!(f32s.to_vec().unwrap(), want);
        assert_close32(&ck.get("plain.f64").unwrap().to_vec().unwrap(), &[-1.0, -0.5, 0.0, 0.5, 1.0], 0.0, 1e-7, "f64");
        assert_close32(&ck.get("plain.f16").unwrap().to_vec().unwrap(), &[0.5, -2.0, 65504.0, 1.0014e-5], 1e-3, 0.0, "f16");
        assert_close32(&ck.get("plain.bf16").unwrap().to_vec().unwrap(), &[1.5, -3.25, 9.972_771e19], 1e-3, 0.0, "bf16");
    }

    fn ops_agree_with_pytorch_outputs(dev: &Device) {
        let ck = load(fixture(), dev).unwrap();
        let g = |n: &str| ck.get(n).unwrap().clone();
        let y = g("conv.x").conv2d(&g("conv.w"), Some(&g("conv.b")), 2, 1).unwrap();
        assert_close32(&y.to_vec().unwrap(), &g("conv.y").to_vec().unwrap(), 1e-4, 1e-4, "conv2d vs torch");
        let y = g("convt.x").conv_transpose2d(&g("convt.w"), None, 2, 1, 1).unwrap();
        assert_eq!(y.dims(), g("convt.y").dims());
        assert_close32(&y.to_vec().unwrap(), &g("convt.y").to_vec().unwrap(), 1e-4, 1e-4, "conv_transpose2d vs torch");
        let y = g("up.x").upsample_bilinear(11, 8).unwrap();
        assert_close32(&y.to_vec().unwrap(), &g("up.y").to_vec().unwrap(), 1e-5, 1e-5, "upsample vs torch");
        let y = g("bce.logits").bce_with_logits(&g("bce.target"), Reduction::Sum).unwrap();
        assert_close32(&[y.item().unwrap()], &g("bce.y").to_vec().unwrap(), 1e-5, 1e-4, "bce vs torch");
    }

    fn safetensors_round_trip_and_atomic_write(dev: &Device) {
        let path = tmp(&format!("rt-{}.safetensors", dev.is_cpu()));
        let a = rand_t(&[3, 4], 1, dev);
        let b = Tensor::scalar(2.5, dev).unwrap();
        let meta = std::collections::HashMap::from([("step".to_string(), "12".to_string())]);
        save(&path, &[("a".into(), a.clone()), ("b".into(), b)], Some(meta)).unwrap();
        let ck = load(&path, dev).unwrap();
        assert_eq!(ck.get("a").unwrap().to_vec().unwrap(), a.to_vec().unwrap());
        assert_eq!(ck.get("b").unwrap().item().unwrap(), 2.5);
        assert_eq!(ck.metadata["step"], "12");
        // No temporary file is left beside it.
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().contains(".tmp-")).collect();
        assert!(leftovers.is_empty());
        assert!(save(&path, &[("a".into(), a.clone()), ("a".into(), a)], None).unwrap_err().to_string().contains("duplicate"));
    }

    fn bad_checkpoints_are_errors_naming_file_and_tensor(dev: &Device) {
        let path = tmp("bad.safetensors");
        let big = Tensor::zeros([64, 64], dev).unwrap();
        let small = Tensor::zeros([2], dev).unwrap();
        save(&path, &[("big".into(), big.clone()), ("small".into(), small.clone())], None).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // Truncated in the data section: the error names the file and the tensor cut off.
        let trunc = tmp("trunc.safetensors");
        std::fs::write(&trunc, &bytes[..bytes.len() - 100]).unwrap();
        let e = load(&trunc, dev).unwrap_err().to_string();
        assert!(e.contains("trunc.safetensors") && e.contains("big") && e.contains("truncated"), "{e}");
        // Truncated inside the header, and garbage.
        std::fs::write(&trunc, &bytes[..20]).unwrap();
        let e = load(&trunc, dev).unwrap_err().to_string();
        assert!(e.contains("trunc.safetensors"), "{e}");
        std::fs::write(&trunc, b"not a checkpoint at all").unwrap();
        assert!(load(&trunc, dev).unwrap_err().to_string().contains("trunc.safetensors"));
        assert!(load(tmp("missing.safetensors"), dev).unwrap_err().to_string().contains("missing.safetensors"));
        // Mismatched shapes, missing and extra tensors.
        let e = load_into(&path, &[("big".into(), Tensor::zeros([64, 63], dev).unwrap()), ("small".into(), small.clone())]).unwrap_err().to_string();
        assert!(e.contains("big") && e.contains("[64, 63]") && e.contains("bad.safetensors"), "{e}");
        let e = load_into(&path, &[("big".into(), big.clone()), ("other".into(), small.clone())]).unwrap_err().to_string();
        assert!(e.contains("other") && e.contains("missing"), "{e}");
        let e = load_into(&path, &[("big".into(), big)]).unwrap_err().to_string();
        assert!(e.contains("small") && e.contains("not in the model"), "{e}");
    }

    fn sequential_names_layers_and_taps_activations(dev: &Device) {
        let enc = tiny_encoder(dev, 3);
        let names: Vec<String> = nn::parameters(&enc).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"]);
        let state: Vec<String> = nn::state(&enc).into_iter().map(|(n, _)| n).collect();
        assert!(state.contains(&"bn1.running_var".to_string()));
        let x = rand_t(&[2, 1, 8, 8], 1, dev);
        let (out, taps) = enc.forward_tapped(&x, &["conv2", "act1"]).unwrap();
        assert_eq!(out.dims(), &[2, 3]);
        assert_eq!(taps[0].dims(), &[2, 8, 2, 2]);
        assert_eq!(taps[1].dims(), &[2, 4, 4, 4]);
        // The tap is the real activation: continuing from it reproduces the output.
        let rest = taps[0].leaky_relu(0.2).unwrap().flatten(1).unwrap().forward_fc(&enc);
        assert_close32(&rest.to_vec().unwrap(), &out.to_vec().unwrap(), 1e-6, 1e-6, "tap continues to the output");
        let e = enc.forward_tapped(&x, &["conv9"]).unwrap_err().to_string();
        assert!(e.contains("conv9") && e.contains("conv1, bn1, act1, conv2, act2, flat, fc"), "{e}");
        // Same seed, same weights; another seed, other weights.
        let again = tiny_encoder(dev, 3);
        let other = tiny_encoder(dev, 4);
        let w = |m: &Sequential| nn::parameters(m)[0].1.to_vec().unwrap();
        assert_eq!(w(&enc), w(&again));
        assert_ne!(w(&enc), w(&other));
    }

    fn init_rules_have_their_bounds(dev: &Device) {
        let t = Init::PyTorchDefault.tensor([64, 32, 4, 4], None, 1, dev).unwrap().to_vec().unwrap();
        let bound = 1.0 / (512f32).sqrt();
        assert!(t.iter().all(|v| v.abs() <= bound) && t.iter().any(|v| v.abs() > 0.9 * bound));
        let k = Init::KaimingNormal(0.0).tensor([256, 512], None, 2, dev).unwrap().to_vec().unwrap();
        let std = (k.iter().map(|v| v * v).sum::<f32>() / k.len() as f32).sqrt();
        assert!((std - (2.0f32 / 512.0).sqrt()).abs() < 0.003, "kaiming std {std}");
        let x = Init::XavierUniform.tensor([100, 300], None, 3, dev).unwrap().to_vec().unwrap();
        assert!(x.iter().all(|v| v.abs() <= (6.0f32 / 400.0).sqrt()));
        let ct = ConvTranspose2dConfig::new(8, 4, 4).stride(2).padding(1).init(1, dev).unwrap();
        assert_eq!(ct.weight.dims(), &[8, 4, 4, 4]);
        assert_eq!(ct.forward(&rand_t(&[1, 8, 3, 3], 1, dev)).unwrap().dims(), &[1, 4, 6, 6]);
    }

    fn batchnorm_train_and_eval_match_reference(dev: &Device) {
        let bn = BatchNorm2dConfig::new(2).init(dev).unwrap();
        let xv = values(2 * 2 * 3 * 3, 5, -2.0, 3.0);
        let x = t(xv.clone(), &[2, 2, 3, 3], dev);
        let y = bn.forward(&x).unwrap().to_vec().unwrap();
        for c in 0..2 {
            let vals: Vec<f64> = (0..2).flat_map(|n| (0..9).map(move |p| (n, p))).map(|(n, p)| xv[(n * 2 + c) * 9 + p] as f64).collect();
            let mean = vals.iter().sum::<f64>() / 18.0;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 18.0;
            for n in 0..2 {
                for p in 0..9 {
                    let want = (xv[(n * 2 + c) * 9 + p] as f64 - mean) / (var + 1e-5).sqrt();
                    assert!((y[(n * 2 + c) * 9 + p] as f64 - want).abs() < 1e-4);
                }
            }
            let rm = bn.running_mean.to_vec().unwrap()[c] as f64;
            let rv = bn.running_var.to_vec().unwrap()[c] as f64;
            assert!((rm - 0.1 * mean).abs() < 1e-5, "running mean");
            assert!((rv - (0.9 + 0.1 * var * 18.0 / 17.0)).abs() < 1e-5, "running var (unbiased)");
        }
        bn.set_training(false);
        let ye = bn.forward(&x).unwrap().to_vec().unwrap();
        let (rm, rv) = (bn.running_mean.to_vec().unwrap(), bn.running_var.to_vec().unwrap());
        for (i, &v) in xv.iter().enumerate() {
            let c = (i / 9) % 2;
            assert!((ye[i] - (v - rm[c]) / (rv[c] + 1e-5).sqrt()).abs() < 1e-5);
        }
        // The training-mode normalisation differentiates correctly (through mean and var).
        check_grad(dev, &[(xv, vec![2, 2, 3, 3])], |x| { let b = BatchNorm2dConfig::new(2).init(&x[0].device().clone())?; b.forward(&x[0]) }, 1e-3, 2e-2, 3e-3, "batchnorm");
    }

    fn batchnorm_closed_form_gradients_match_finite_differences(dev: &Device) {
        // Non-trivial scale and shift, every input differentiated, to first and second order
        // (the second through the rule's recomputation of xhat from the live input).
        let x = (values(2 * 3 * 3 * 2, 7, -2.0, 3.0), vec![2, 3, 3, 2]);
        let w = (values(3, 8, 0.5, 1.5), vec![3]);
        let b = (values(3, 9, -0.5, 0.5), vec![3]);
        let r = (values(36, 10, -1.0, 1.0), vec![2, 3, 3, 2]);
        let bn = |t: &[Tensor]| -> vaecam_tensor::Result<Tensor> {
            vaecam_tensor::nn::batch_norm_train(&t[0], &t[1], &t[2], 1e-5)?.0.mul(&t[3])
        };
        check_grad(dev, &[x.clone(), w.clone(), b.clone(), r.clone()], bn, 1e-3, 2e-2, 3e-3, "batch_norm_train");
        // Squared, so that the second derivative in the scale and shift is not zero.
        check_second_order(dev, &[x, w, b, r], |t| bn(t)?.square(), 1e-3, 3e-2, 5e-3, "batch_norm_train (2nd order)");
    }

    fn batchnorm_leaky_pair_fuses_with_the_unfused_values_and_gradients(dev: &Device) {
        // Sequential runs BatchNorm (training) + LeakyReLU as one op on the CPU; asking for
        // the BatchNorm's own output runs the two apart. Both give the same values, running
        // statistics and gradients; the fused op's gradients match finite differences to
        // second order.
        let shape = [3, 4, 5, 6];
        let xv = values(360, 11, -2.0, 3.0);
        let (wv, bv) = (values(4, 12, 0.5, 1.5), values(4, 13, -0.5, 0.5));
        let r = t(values(360, 14, -1.0, 1.0), &shape, dev);
        let stack = |wv: &[f32], bv: &[f32]| {
            let mut bn = BatchNorm2dConfig::new(4).init(dev).unwrap();
            bn.weight = t(wv.to_vec(), &[4], dev).requires_grad_();
            bn.bias = t(bv.to_vec(), &[4], dev).requires_grad_();
            Sequential::new().push("bn", bn).push("act", LeakyReLU(0.2))
        };
        let (fused, apart) = (stack(&wv, &bv), stack(&wv, &bv));
        let x = t(xv.clone(), &shape, dev).requires_grad_();
        let zf = fused.forward(&x).unwrap();
        let (za, _) = apart.forward_tapped(&x, &["bn"]).unwrap();
        let on_cpu = matches!(dev, Device::Cpu);
        if on_cpu {
            assert_eq!(zf.op_name(), Some("batch_norm2d_leaky_relu"));
        }
        assert_ne!(za.op_name(), Some("batch_norm2d_leaky_relu"));
        let zfv = zf.to_vec().unwrap();
        assert!(zfv.iter().any(|&v| v < 0.0) && zfv.iter().any(|&v| v > 0.0));
        assert_close32(&zfv, &za.to_vec().unwrap(), 1e-5, 1e-6, "fused output");
        for buf in ["bn.running_mean", "bn.running_var"] {
            let get = |s: &Sequential| {
                let mut out = Vec::new();
                s.named_buffers("", &mut out);
                out.into_iter().find(|(n, _)| n == buf).unwrap().1.to_vec().unwrap()
            };
            assert_close32(&get(&fused), &get(&apart), 1e-6, 1e-7, buf);
        }
        let grads = |s: &Sequential, z: &Tensor| {
            let g = z.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();
            let mut params = Vec::new();
            s.named_parameters("", &mut params);
            let mut out = vec![g.get(&x).unwrap().to_vec().unwrap()];
            out.extend(params.iter().map(|(_, p)| g.get(p).unwrap().to_vec().unwrap()));
            out
        };
        for (i, (a, b)) in grads(&fused, &zf).iter().zip(grads(&apart, &za)).enumerate() {
            assert_close32(a, &b, 1e-4, 1e-5, &format!("fused gradient {i}"));
        }
        let through = |t: &[Tensor]| -> vaecam_tensor::Result<Tensor> {
            let mut bn = BatchNorm2dConfig::new(t[1].numel()).init(t[0].device())?;
            bn.weight = t[1].clone();
            bn.bias = t[2].clone();
            Sequential::new().push("bn", bn).push("act", LeakyReLU(0.2)).forward(&t[0])?.mul(&t[3])
        };
        // The second image the negative of the first: every channel's mean is 0 and, with no
        // shift, every normalised value keeps clear of the activation's kink (where finite
        // differences break).
        let half = values_off_zero(3 * 3 * 2, 15, -2.0, 2.0, 0.3);
        let x2 = ([half.clone(), half.iter().map(|v| -v).collect()].concat(), vec![2, 3, 3, 2]);
        let w2 = (values(3, 16, 0.5, 1.5), vec![3]);
        let b2 = (vec![0.0; 3], vec![3]);
        let r2 = (values(36, 17, -1.0, 1.0), vec![2, 3, 3, 2]);
        let args = [x2, w2, b2, r2];
        check_grad(dev, &args, through, 1e-3, 2e-2, 3e-3, "batch_norm + leaky_relu");
        check_second_order(dev, &args, |t| through(t)?.square(), 1e-3, 3e-2, 5e-3, "batch_norm + leaky_relu (2nd order)");
    }

    fn adam_matches_a_reference_implementation(dev: &Device) {
        let p0 = vec![0.5f32, -1.0, 2.0];
        let p = t(p0.clone(), &[3], dev).requires_grad_();
        let cfg = AdamConfig { lr: 0.1, betas: (0.9, 0.99), eps: 1e-8, weight_decay: 0.01 };
        let mut opt = Adam::new(vec![("p".into(), p.clone())], cfg).unwrap();
        let (mut rp, mut m, mut v) = (p0.iter().map(|&x| x as f64).collect::<Vec<_>>(), [0f64; 3], [0f64; 3]);
        for step in 1..=5 {
            // loss = sum(p^3) -> grad 3 p^2
            let loss = p.powf(3.0).unwrap().sum_all().unwrap();
            let g = loss.backward().unwrap();
            opt.step(&g).unwrap();
            for i in 0..3 {
                let gi = 3.0 * rp[i] * rp[i] + 0.01 * rp[i];
                m[i] = 0.9 * m[i] + 0.1 * gi;
                v[i] = 0.99 * v[i] + 0.01 * gi * gi;
                let mh = m[i] / (1.0 - 0.9f64.powi(step));
                let vh = v[i] / (1.0 - 0.99f64.powi(step));
                rp[i] -= 0.1 * mh / (vh.sqrt() + 1e-8);
            }
        }
        assert_close(&p.to_vec().unwrap(), &rp, 1e-4, 1e-5, "adam");
        // State round trip.
        let st = opt.state().unwrap();
        let mut opt2 = Adam::new(vec![("p".into(), p.clone())], cfg).unwrap();
        opt2.load_state(&st).unwrap();
        assert_eq!(opt2.steps(), 5);
        let mut sgd = Sgd::new(vec![("p".into(), p.clone())], 0.5, 0.0, 0.0).unwrap();
        let before = p.to_vec().unwrap();
        let g = p.sum_all().unwrap().backward().unwrap();
        sgd.step(&g).unwrap();
        let after = p.to_vec().unwrap();
        for (a, b) in after.iter().zip(&before) {
            assert!((a - (b - 0.5)).abs() < 1e-6);
        }
    }

    fn a_tiny_regression_learns(dev: &Device) {
        // y = 2 x0 - x1 + 0.5, learned by a linear layer with Adam: the loss falls 100-fold.
        let lin = LinearConfig::new(2, 1).init(7, dev).unwrap();
        let mut opt = Adam::new(nn::parameters(&lin), AdamConfig { lr: 0.05, ..Default::default() }).unwrap();
        let xv = values(64, 3, -1.0, 1.0);
        let yv: Vec<f32> = xv.chunks(2).map(|c| 2.0 * c[0] - c[1] + 0.5).collect();
        let (x, y) = (t(xv, &[32, 2], dev), t(yv, &[32, 1], dev));
        let mut first = None;
        let mut last = 0.0;
        for _ in 0..300 {
            let loss = lin.forward(&x).unwrap().mse(&y, Reduction::Mean).unwrap();
            last = loss.item().unwrap();
            first.get_or_insert(last);
            let g = loss.backward().unwrap();
            opt.step(&g).unwrap();
        }
        assert!(last < first.unwrap() / 100.0, "loss {} -> {last}", first.unwrap());
    }
}

trait ForwardFc {
    fn forward_fc(&self, enc: &Sequential) -> Tensor;
}
impl ForwardFc for Tensor {
    fn forward_fc(&self, enc: &Sequential) -> Tensor {
        enc.layer("fc").unwrap().forward(self).unwrap()
    }
}

#[test]
fn layer_configs_set_what_they_name_and_refuse_bad_values() {
    let dev = Device::cpu();
    let conv = Conv2dConfig::new(3, 8, 4)
        .stride(2)
        .padding(1)
        .bias(false)
        .init(5, &dev)
        .unwrap();
    assert_eq!(conv.weight.dims(), &[8, 3, 4, 4]);
    assert!(conv.bias.is_none());
    assert_eq!((conv.stride, conv.padding), (2, 1));
    // The same seed draws the same weight; the config defaults are PyTorch's.
    let default = Conv2dConfig::new(3, 8, 4);
    assert_eq!(
        (default.stride, default.padding, default.bias),
        (1, 0, true)
    );
    let a = default.init(5, &dev).unwrap();
    assert_eq!(a.weight.to_vec().unwrap(), conv.weight.to_vec().unwrap());
    let ct = ConvTranspose2dConfig::new(4, 2, 3)
        .stride(2)
        .padding(1)
        .output_padding(1)
        .init(1, &dev)
        .unwrap();
    assert_eq!(
        ct.forward(&rand_t(&[1, 4, 5, 5], 2, &dev)).unwrap().dims(),
        &[1, 2, 10, 10]
    );
    let lin = LinearConfig::new(6, 2).bias(false).init(3, &dev).unwrap();
    assert!(lin.bias.is_none() && lin.weight.dims() == [2, 6]);
    let bn = BatchNorm2dConfig::new(3)
        .eps(1e-3)
        .momentum(0.5)
        .init(&dev)
        .unwrap();
    assert_eq!((bn.eps, bn.momentum), (1e-3, 0.5));

    let msg = |r: Result<(), vaecam_tensor::Error>| r.unwrap_err().to_string();
    let e = msg(Conv2dConfig::new(3, 8, 4)
        .stride(0)
        .init(1, &dev)
        .map(|_| ()));
    assert!(e.contains("Conv2d") && e.contains("stride"), "{e}");
    let e = msg(ConvTranspose2dConfig::new(3, 8, 4)
        .stride(2)
        .output_padding(2)
        .init(1, &dev)
        .map(|_| ()));
    assert!(e.contains("output_padding"), "{e}");
    let e = msg(LinearConfig::new(0, 8).init(1, &dev).map(|_| ()));
    assert!(e.contains("Linear") && e.contains("d_in"), "{e}");
    let e = msg(BatchNorm2dConfig::new(3)
        .momentum(1.5)
        .init(&dev)
        .map(|_| ()));
    assert!(e.contains("momentum"), "{e}");
    let e = msg(BatchNorm2dConfig::new(3).eps(0.0).init(&dev).map(|_| ()));
    assert!(e.contains("eps"), "{e}");
}
