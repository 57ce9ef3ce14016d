//! Every WGSL kernel against its CPU twin on awkward shapes (non-multiples of the tiles,
//! batch 1, 1x1 kernels, stride 2, padding), for both kernel families (tiled and register).

mod common;
use common::*;
use vaecam_tensor::backend::{AdamSpec, BinaryOp, ReduceOp, Storage, UnaryOp};
use vaecam_tensor::geometry::{Conv2dGeometry, MatmulSpec, Pool2dSpec, UpsampleSpec};
use vaecam_tensor::gpu::Kernels;
use vaecam_tensor::{Device, Shape};

/// Both kernel families on the test adapter (empty when GPU tests are skipped).
fn gpus() -> Vec<Device> {
    match gpu_device() {
        Some(_) => [Kernels::Register, Kernels::Tiled]
            .iter()
            .map(|&k| Device::gpu_with_kernels(k).unwrap())
            .collect(),
        None => Vec::new(),
    }
}

fn up(v: &[f32], dev: &Device) -> Storage {
    Storage::from_slice(v, dev).unwrap()
}

fn host(s: &Storage) -> Vec<f32> {
    s.to_vec().unwrap()
}

/// Compares to the CPU: finite values within tolerance, infinities and NaNs exactly.
fn same(got: &Storage, want: &Storage, rtol: f64, atol: f64, what: &str) {
    let (mut g, mut w) = (host(got), host(want));
    for (i, (a, b)) in g.iter_mut().zip(w.iter_mut()).enumerate() {
        if !b.is_finite() {
            let ok = (b.is_nan() && a.is_nan()) || a == b;
            assert!(ok, "{what}: element {i}: got {a}, want {b}");
            (*a, *b) = (0.0, 0.0);
        }
    }
    assert_close32(&g, &w, rtol, atol, what);
}

#[test]
fn unary_ops_match_cpu() {
    let cpu = Device::cpu();
    let mut x = values(1000, 1, -6.0, 6.0);
    x.extend([0.0, -0.0, 1e-30, -3.0, 2.0, 80.0, -80.0]);
    let ops = [
        UnaryOp::Neg,
        UnaryOp::Exp,
        UnaryOp::Abs,
        UnaryOp::Sign,
        UnaryOp::Relu,
        UnaryOp::Step,
        UnaryOp::LeakyRelu(0.2),
        UnaryOp::LeakyReluGrad(0.2),
        UnaryOp::Sigmoid,
        UnaryOp::Tanh,
        UnaryOp::Softplus,
        UnaryOp::Clamp(-0.5, 1.5),
        UnaryOp::ClampMask(-0.5, 1.5),
        UnaryOp::Powf(2.0),
        UnaryOp::Powf(3.0),
        UnaryOp::Affine(2.5, -1.0),
        UnaryOp::Recip,
    ];
    let pos: Vec<f32> = x.iter().map(|v| v.abs() + 1e-3).collect();
    for dev in gpus() {
        for op in ops {
            let want = up(&x, &cpu).unary(op).unwrap();
            let got = up(&x, &dev).unary(op).unwrap();
            same(&got, &want, 2e-6, 1e-6, &format!("{op:?}"));
        }
        for op in [
            UnaryOp::Log,
            UnaryOp::Sqrt,
            UnaryOp::Powf(0.5),
            UnaryOp::Powf(-1.5),
        ] {
            let want = up(&pos, &cpu).unary(op).unwrap();
            let got = up(&pos, &dev).unary(op).unwrap();
            same(&got, &want, 2e-6, 1e-6, &format!("{op:?}"));
        }
    }
}

#[test]
fn binary_ops_broadcast_like_cpu() {
    let cpu = Device::cpu();
    let cases: [(&[usize], &[usize]); 5] = [
        (&[3, 1, 5], &[4, 1]),
        (&[2, 3, 4, 5], &[2, 3, 4, 5]),
        (&[1], &[7, 3]),
        (&[6, 1, 1, 9], &[1, 5, 3, 1]),
        (&[300, 17], &[17]),
    ];
    let ops = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Maximum,
        BinaryOp::Minimum,
        BinaryOp::Ge,
        BinaryOp::Le,
        BinaryOp::Eq,
    ];
    for dev in gpus() {
        for (sa, sb) in cases {
            let (sa, sb) = (Shape::from(sa), Shape::from(sb));
            let out = Shape::broadcast("test", &sa, &sb).unwrap();
            let mut a = values(sa.numel(), 2, -2.0, 2.0);
            let b = values(sb.numel(), 3, 0.5, 2.0);
            a[0] = b[0]; // one equal pair for Eq/Ge/Le
            for op in ops {
                let want = up(&a, &cpu)
                    .binary(&sa, &up(&b, &cpu), &sb, &out, op)
                    .unwrap();
                let got = up(&a, &dev)
                    .binary(&sa, &up(&b, &dev), &sb, &out, op)
                    .unwrap();
                same(&got, &want, 1e-6, 0.0, &format!("{op:?} {sa} {sb}"));
            }
        }
    }
}

#[test]
fn reductions_match_cpu() {
    let cpu = Device::cpu();
    let cases: Vec<(Vec<usize>, Vec<usize>)> = vec![
        (vec![2, 3, 4, 5], vec![0]),
        (vec![2, 3, 4, 5], vec![1, 3]),
        (vec![2, 3, 4, 5], vec![0, 2, 3]),
        (vec![2, 3, 4, 5], vec![0, 1, 2, 3]),
        (vec![3, 5000], vec![1]),
        (vec![5000, 3], vec![0]),
        (vec![70001], vec![0]),
        (vec![64, 7, 9, 9], vec![0, 2, 3]),
        (vec![10000, 2], vec![1]),
        (vec![4, 1, 3], vec![1]),
    ];
    for dev in gpus() {
        for (dims, axes) in &cases {
            let shape = Shape::from(dims.clone());
            let x = values(shape.numel(), 4, -1.0, 1.0);
            for op in [ReduceOp::Sum, ReduceOp::Max] {
                let want = up(&x, &cpu).reduce(&shape, axes, op).unwrap();
                let got = up(&x, &dev).reduce(&shape, axes, op).unwrap();
                same(&got, &want, 1e-5, 1e-5, &format!("{op:?} {shape} {axes:?}"));
            }
        }
    }
}

#[test]
fn matmul_matches_cpu_for_every_layout() {
    let cpu = Device::cpu();
    let sizes = [
        (1, 1, 1),
        (7, 13, 5),
        (65, 67, 9),
        (64, 64, 64),
        (3, 100, 4),
        (130, 12, 8),
        (9, 4, 12),
    ];
    for dev in gpus() {
        for &(m, n, k) in &sizes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                for (batch, ba, bb) in [
                    (1, false, false),
                    (3, false, false),
                    (2, true, false),
                    (2, false, true),
                ] {
                    let spec = MatmulSpec {
                        batch,
                        m,
                        n,
                        k,
                        trans_a: ta,
                        trans_b: tb,
                        broadcast_a: ba,
                        broadcast_b: bb,
                    };
                    let a = values(if ba { 1 } else { batch } * m * k, 5, -1.0, 1.0);
                    let b = values(if bb { 1 } else { batch } * k * n, 6, -1.0, 1.0);
                    let want = up(&a, &cpu).matmul(&up(&b, &cpu), spec).unwrap();
                    let got = up(&a, &dev).matmul(&up(&b, &dev), spec).unwrap();
                    same(&got, &want, 1e-5, 1e-5, &format!("{dev:?} {spec:?}"));
                }
            }
        }
    }
}

fn geometries() -> Vec<Conv2dGeometry> {
    let g = |n, ci, h, w, co, k: (usize, usize), s, p| {
        Conv2dGeometry::new([n, ci, h, w], co, k, s, p).unwrap()
    };
    vec![
        g(1, 3, 7, 5, 5, (3, 3), (1, 1), (1, 1)),
        g(2, 4, 9, 9, 70, (4, 4), (2, 2), (1, 1)),
        g(3, 10, 6, 6, 9, (1, 1), (1, 1), (0, 0)),
        g(2, 3, 8, 8, 4, (2, 2), (2, 2), (0, 0)),
        g(1, 1, 8, 8, 1, (3, 3), (3, 3), (2, 2)),
        g(2, 5, 7, 6, 3, (3, 2), (2, 1), (1, 0)),
        g(1, 66, 4, 4, 2, (4, 4), (2, 2), (1, 1)),
        // Shapes the register family lowers to im2col / col2im + the vec4 matmul.
        g(2, 3, 16, 16, 8, (4, 4), (2, 2), (1, 1)),
        g(3, 2, 16, 12, 12, (4, 4), (2, 2), (1, 1)),
        g(5, 4, 9, 9, 4, (3, 3), (1, 1), (1, 1)),
        g(2, 4, 8, 8, 4, (3, 3), (1, 1), (1, 1)),
        g(1, 8, 6, 10, 4, (1, 1), (1, 1), (0, 0)),
    ]
}

#[test]
fn conv2d_kernels_match_cpu() {
    let cpu = Device::cpu();
    for dev in gpus() {
        for g in geometries() {
            let x = values(g.n * g.c_in * g.h * g.w, 7, -1.0, 1.0);
            let w = values(g.c_out * g.c_in * g.kh * g.kw, 8, -1.0, 1.0);
            let dy = values(g.n * g.c_out * g.oh * g.ow, 9, -1.0, 1.0);
            let want = up(&x, &cpu).conv2d(&up(&w, &cpu), &g).unwrap();
            let got = up(&x, &dev).conv2d(&up(&w, &dev), &g).unwrap();
            same(&got, &want, 1e-5, 1e-5, &format!("forward {g:?}"));
            let want = up(&dy, &cpu)
                .conv2d_backward_data(&up(&w, &cpu), &g)
                .unwrap();
            let got = up(&dy, &dev)
                .conv2d_backward_data(&up(&w, &dev), &g)
                .unwrap();
            same(&got, &want, 1e-5, 1e-5, &format!("backward data {g:?}"));
            let want = up(&x, &cpu)
                .conv2d_backward_weight(&up(&dy, &cpu), &g)
                .unwrap();
            let got = up(&x, &dev)
                .conv2d_backward_weight(&up(&dy, &dev), &g)
                .unwrap();
            same(&got, &want, 1e-5, 1e-4, &format!("backward weight {g:?}"));
        }
    }
}

#[test]
fn pooling_and_resize_match_cpu() {
    let cpu = Device::cpu();
    for dev in gpus() {
        for (nc, h, w, k, s) in [
            (3, 7, 5, 2, 2),
            (2, 8, 8, 3, 1),
            (1, 9, 9, 3, 3),
            (4, 6, 6, 6, 6),
        ] {
            let p = Pool2dSpec {
                nc,
                h,
                w,
                k,
                stride: s,
                oh: (h - k) / s + 1,
                ow: (w - k) / s + 1,
            };
            let x = values(nc * h * w, 10, -1.0, 1.0);
            let dy = values(nc * p.oh * p.ow, 11, -1.0, 1.0);
            same(
                &up(&x, &dev).avg_pool2d(&p).unwrap(),
                &up(&x, &cpu).avg_pool2d(&p).unwrap(),
                1e-6,
                1e-6,
                &format!("{p:?}"),
            );
            same(
                &up(&dy, &dev).avg_pool2d_backward(&p).unwrap(),
                &up(&dy, &cpu).avg_pool2d_backward(&p).unwrap(),
                1e-6,
                1e-6,
                &format!("backward {p:?}"),
            );
        }
        for (nc, h, w, oh, ow) in [
            (3, 7, 5, 11, 13),
            (2, 8, 8, 4, 4),
            (1, 4, 4, 64, 64),
            (2, 5, 3, 5, 3),
            (1, 1, 1, 3, 2),
        ] {
            let u = UpsampleSpec { nc, h, w, oh, ow };
            let x = values(nc * h * w, 12, -1.0, 1.0);
            let dy = values(nc * oh * ow, 13, -1.0, 1.0);
            same(
                &up(&x, &dev).upsample_bilinear(&u).unwrap(),
                &up(&x, &cpu).upsample_bilinear(&u).unwrap(),
                1e-5,
                1e-6,
                &format!("{u:?}"),
            );
            same(
                &up(&dy, &dev).upsample_bilinear_backward(&u).unwrap(),
                &up(&dy, &cpu).upsample_bilinear_backward(&u).unwrap(),
                1e-5,
                1e-5,
                &format!("backward {u:?}"),
            );
        }
    }
}

#[test]
fn layout_kernels_match_cpu() {
    let cpu = Device::cpu();
    let shape = Shape::from(vec![3, 4, 5, 2]);
    let x = values(shape.numel(), 14, -1.0, 1.0);
    for dev in gpus() {
        let (xc, xg) = (up(&x, &cpu), up(&x, &dev));
        for perm in [[0, 1, 2, 3], [3, 2, 1, 0], [0, 2, 1, 3], [1, 0, 3, 2]] {
            same(
                &xg.permute(&shape, &perm).unwrap(),
                &xc.permute(&shape, &perm).unwrap(),
                0.0,
                0.0,
                &format!("permute {perm:?}"),
            );
        }
        let small = Shape::from(vec![3, 1, 5, 1]);
        let big = Shape::from(vec![2, 3, 4, 5, 2]);
        let s = values(small.numel(), 15, -1.0, 1.0);
        same(
            &up(&s, &dev).broadcast_to(&small, &big).unwrap(),
            &up(&s, &cpu).broadcast_to(&small, &big).unwrap(),
            0.0,
            0.0,
            "broadcast_to",
        );
        for axis in 0..4 {
            let d = shape.dim(axis);
            same(
                &xg.slice(&shape, axis, 1, d - 1).unwrap(),
                &xc.slice(&shape, axis, 1, d - 1).unwrap(),
                0.0,
                0.0,
                "slice",
            );
            same(
                &xg.pad_axis(&shape, axis, 2, d + 3).unwrap(),
                &xc.pad_axis(&shape, axis, 2, d + 3).unwrap(),
                0.0,
                0.0,
                "pad_axis",
            );
            let idx = [0u32, (d - 1) as u32, 0, 1];
            same(
                &xg.index_select(&shape, axis, &idx).unwrap(),
                &xc.index_select(&shape, axis, &idx).unwrap(),
                0.0,
                0.0,
                "index_select",
            );
            let mut ish = shape.dims().to_vec();
            ish[axis] = idx.len();
            let ish = Shape::from(ish);
            let y = values(ish.numel(), 16, -1.0, 1.0);
            same(
                &up(&y, &dev).index_add(&ish, axis, &idx, d + 1).unwrap(),
                &up(&y, &cpu).index_add(&ish, axis, &idx, d + 1).unwrap(),
                1e-6,
                1e-6,
                "index_add",
            );
            let other = {
                let mut o = shape.dims().to_vec();
                o[axis] = 3;
                Shape::from(o)
            };
            let z = values(other.numel(), 17, -1.0, 1.0);
            let (zc, zg) = (up(&z, &cpu), up(&z, &dev));
            same(
                &Storage::concat(&[(&xg, &shape), (&zg, &other), (&xg, &shape)], axis).unwrap(),
                &Storage::concat(&[(&xc, &shape), (&zc, &other), (&xc, &shape)], axis).unwrap(),
                0.0,
                0.0,
                "concat",
            );
        }
        let mut d = Storage::zeros(x.len(), &dev).unwrap();
        d.copy_from(&xg).unwrap();
        assert_eq!(host(&d), x);
        assert_eq!(host(&Storage::full(5, 2.5, &dev).unwrap()), vec![2.5; 5]);
    }
}

#[test]
fn philox_fill_matches_cpu() {
    let cpu = Device::cpu();
    for dev in gpus() {
        for n in [1usize, 3, 4, 1001] {
            let want = Storage::random(n, 0x1234_5678_9abc, false, &cpu).unwrap();
            let got = Storage::random(n, 0x1234_5678_9abc, false, &dev).unwrap();
            assert_eq!(host(&got), host(&want), "uniform, n = {n}: bit-identical");
            let want = Storage::random(n, 42, true, &cpu).unwrap();
            let got = Storage::random(n, 42, true, &dev).unwrap();
            same(&got, &want, 1e-5, 1e-5, &format!("normal, n = {n}"));
        }
    }
}

#[test]
fn optimizer_updates_match_cpu() {
    let cpu = Device::cpu();
    let n = 1037;
    let p0 = values(n, 18, -1.0, 1.0);
    let g0 = values(n, 19, -1.0, 1.0);
    for dev in gpus() {
        let mut out = Vec::new();
        for d in [&cpu, &dev] {
            let (mut p, g) = (up(&p0, d), up(&g0, d));
            let (mut m, mut v) = (Storage::zeros(n, d).unwrap(), Storage::zeros(n, d).unwrap());
            for step in 1..=3 {
                let spec = AdamSpec {
                    lr: 1e-2,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    weight_decay: 0.01,
                    step,
                };
                p.adam_step(&g, &mut m, &mut v, &spec).unwrap();
            }
            let mut q = up(&p0, d);
            let mut buf = Storage::zeros(n, d).unwrap();
            for _ in 0..3 {
                q.sgd_step(&g, Some(&mut buf), 0.1, 0.9, 0.01).unwrap();
                q.sgd_step(&g, None, 0.1, 0.0, 0.0).unwrap();
            }
            out.push((host(&p), host(&m), host(&v), host(&q)));
        }
        assert_close32(&out[1].0, &out[0].0, 1e-5, 1e-6, "adam p");
        assert_close32(&out[1].1, &out[0].1, 1e-5, 1e-7, "adam m");
        assert_close32(&out[1].2, &out[0].2, 1e-5, 1e-9, "adam v");
        assert_close32(&out[1].3, &out[0].3, 1e-5, 1e-6, "sgd");
    }
}

#[test]
fn oversized_tensors_are_refused_with_the_limit() {
    for dev in gpus().into_iter().take(1) {
        let Device::Gpu(g) = &dev else { unreachable!() };
        let n = (g.max_storage_bytes() / 4 + 1) as usize;
        let err = Storage::zeros(n, &dev).unwrap_err().to_string();
        assert!(err.contains("max_storage_buffer_binding_size"), "{err}");
    }
}

/// BatchNorm training: the CPU's two-pass kernels against the GPU's tensor-op rule (the
/// composite the kernels replace), on values and on all three gradients; an empty batch is
/// no panic on either.
#[test]
fn batch_norm_train_cpu_kernels_match_gpu_rule() {
    use vaecam_tensor::nn::batch_norm_train;
    use vaecam_tensor::Tensor;
    let (n, c, h, w) = (3usize, 5usize, 7usize, 3usize);
    let xv: Vec<f32> = (0..n * c * h * w)
        .map(|i| 40.0 + ((i * 37) % 23) as f32 * 0.3)
        .collect();
    let wv: Vec<f32> = (0..c).map(|i| 0.5 + i as f32 * 0.25).collect();
    let bv: Vec<f32> = (0..c).map(|i| i as f32 * 0.1 - 0.2).collect();
    let rv: Vec<f32> = (0..n * c * h * w)
        .map(|i| ((i * 11) % 7) as f32 - 3.0)
        .collect();
    let run = |dev: &Device| -> Vec<Vec<f32>> {
        let x = Tensor::from_slice(&xv, [n, c, h, w], dev)
            .unwrap()
            .requires_grad_();
        let wt = Tensor::from_slice(&wv, [c], dev).unwrap().requires_grad_();
        let b = Tensor::from_slice(&bv, [c], dev).unwrap().requires_grad_();
        let r = Tensor::from_slice(&rv, [n, c, h, w], dev).unwrap();
        let (y, mean, var) = batch_norm_train(&x, &wt, &b, 1e-5).unwrap();
        let g = y.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();
        let mut out = vec![
            y.to_vec().unwrap(),
            mean.to_vec().unwrap(),
            var.to_vec().unwrap(),
        ];
        for t in [&x, &wt, &b] {
            out.push(g.get(t).unwrap().to_vec().unwrap());
        }
        let empty = Tensor::zeros([0, c, h, w], dev).unwrap();
        // Ok or an error, never a panic.
        let _ = batch_norm_train(&empty, &wt, &b, 1e-5);
        out
    };
    let want = run(&Device::cpu());
    for dev in gpus() {
        let got = run(&dev);
        for (what, (g, w)) in ["y", "mean", "var", "dx", "dweight", "dbias"]
            .iter()
            .zip(got.iter().zip(&want))
        {
            assert_close32(
                g,
                w,
                1e-3,
                1e-3,
                &format!("batch_norm_train {what} on {dev:?}"),
            );
        }
    }
}
