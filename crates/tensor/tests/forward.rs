//! Every op's forward pass against a direct reference (f64) on awkward shapes.

#![allow(clippy::type_complexity)] // table-driven cases

mod common;
use common::*;
use vaecam_tensor::{Reduction, Tensor};

fn conv_ref(
    x: &[f32],
    xs: [usize; 4],
    w: &[f32],
    ws: [usize; 4],
    s: usize,
    p: usize,
) -> (Vec<f64>, [usize; 4]) {
    let [n, c, h, wd] = xs;
    let [o, _, kh, kw] = ws;
    let oh = (h + 2 * p - kh) / s + 1;
    let ow = (wd + 2 * p - kw) / s + 1;
    let mut y = vec![0f64; n * o * oh * ow];
    for b in 0..n {
        for oc in 0..o {
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = 0f64;
                    for ic in 0..c {
                        for ki in 0..kh {
                            for kj in 0..kw {
                                let (r, q) = (
                                    (i * s + ki) as isize - p as isize,
                                    (j * s + kj) as isize - p as isize,
                                );
                                if r >= 0 && q >= 0 && (r as usize) < h && (q as usize) < wd {
                                    acc += x[((b * c + ic) * h + r as usize) * wd + q as usize]
                                        as f64
                                        * w[((oc * c + ic) * kh + ki) * kw + kj] as f64;
                                }
                            }
                        }
                    }
                    y[((b * o + oc) * oh + i) * ow + j] = acc;
                }
            }
        }
    }
    (y, [n, o, oh, ow])
}

fn conv_t_ref(
    x: &[f32],
    xs: [usize; 4],
    w: &[f32],
    ws: [usize; 4],
    s: usize,
    p: usize,
    op: usize,
) -> (Vec<f64>, [usize; 4]) {
    let [n, ci, h, wd] = xs;
    let [_, co, kh, kw] = ws;
    let oh = (h - 1) * s + kh + op - 2 * p;
    let ow = (wd - 1) * s + kw + op - 2 * p;
    let mut y = vec![0f64; n * co * oh * ow];
    for b in 0..n {
        for c in 0..ci {
            for i in 0..h {
                for j in 0..wd {
                    let v = x[((b * ci + c) * h + i) * wd + j] as f64;
                    for o in 0..co {
                        for ki in 0..kh {
                            for kj in 0..kw {
                                let (r, q) = (
                                    (i * s + ki) as isize - p as isize,
                                    (j * s + kj) as isize - p as isize,
                                );
                                if r >= 0 && q >= 0 && (r as usize) < oh && (q as usize) < ow {
                                    y[((b * co + o) * oh + r as usize) * ow + q as usize] +=
                                        v * w[((c * co + o) * kh + ki) * kw + kj] as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    (y, [n, co, oh, ow])
}

device_tests! {
    fn conv2d_matches_direct_reference(dev: &Device) {
        // (x shape, c_out, k, stride, padding)
        let cases: &[([usize; 4], usize, usize, usize, usize)] = &[
            ([1, 1, 5, 7], 1, 1, 1, 0),
            ([2, 3, 5, 7], 4, 3, 1, 1),
            ([3, 2, 9, 6], 5, 4, 2, 1),
            ([1, 4, 8, 8], 3, 4, 2, 2),
            ([2, 1, 7, 5], 2, 2, 2, 0),
            ([1, 3, 6, 6], 7, 1, 2, 0),
            ([2, 5, 13, 11], 6, 3, 2, 2),
        ];
        for (i, &(xs, co, k, s, p)) in cases.iter().enumerate() {
            let x = values(xs.iter().product(), i as u64, -1.0, 1.0);
            let ws = [co, xs[1], k, k];
            let w = values(ws.iter().product(), 100 + i as u64, -1.0, 1.0);
            let b = values(co, 200 + i as u64, -1.0, 1.0);
            let (mut want, ys) = conv_ref(&x, xs, &w, ws, s, p);
            let plane = ys[2] * ys[3];
            for (idx, v) in want.iter_mut().enumerate() {
                *v += b[(idx / plane) % co] as f64;
            }
            let y = t(x, &xs, dev).conv2d(&t(w, &ws, dev), Some(&t(b, &[co], dev)), s, p).unwrap();
            assert_eq!(y.dims(), &ys[..], "case {i}");
            assert_close(&y.to_vec().unwrap(), &want, 1e-4, 1e-4, &format!("conv2d case {i}"));
        }
    }

    fn conv_transpose2d_matches_direct_reference(dev: &Device) {
        // (x shape, c_out, k, stride, padding, output_padding)
        let cases: &[([usize; 4], usize, usize, usize, usize, usize)] = &[
            ([1, 1, 4, 4], 1, 1, 1, 0, 0),
            ([2, 3, 4, 5], 2, 4, 2, 1, 0),
            ([1, 2, 3, 3], 3, 3, 2, 1, 1),
            ([2, 4, 5, 3], 1, 4, 2, 2, 1),
            ([3, 2, 2, 2], 5, 4, 2, 1, 0),
            ([1, 3, 5, 5], 2, 3, 1, 2, 0),
        ];
        for (i, &(xs, co, k, s, p, op)) in cases.iter().enumerate() {
            let x = values(xs.iter().product(), i as u64, -1.0, 1.0);
            let ws = [xs[1], co, k, k];
            let w = values(ws.iter().product(), 300 + i as u64, -1.0, 1.0);
            let (want, ys) = conv_t_ref(&x, xs, &w, ws, s, p, op);
            let y = t(x, &xs, dev).conv_transpose2d(&t(w, &ws, dev), None, s, p, op).unwrap();
            assert_eq!(y.dims(), &ys[..], "case {i}");
            assert_close(&y.to_vec().unwrap(), &want, 1e-4, 1e-4, &format!("conv_transpose2d case {i}"));
        }
    }

    fn conv_shape_errors_name_the_shapes(dev: &Device) {
        let x = Tensor::zeros([1, 3, 5, 5], dev).unwrap();
        let w = Tensor::zeros([4, 2, 3, 3], dev).unwrap();
        let e = x.conv2d(&w, None, 1, 0).unwrap_err().to_string();
        assert!(e.contains("[1, 3, 5, 5]") && e.contains("[4, 2, 3, 3]"), "{e}");
        let big = Tensor::zeros([4, 3, 7, 7], dev).unwrap();
        let e = x.conv2d(&big, None, 1, 0).unwrap_err().to_string();
        assert!(e.contains("7x7"), "{e}");
        let e = x.conv_transpose2d(&Tensor::zeros([3, 2, 4, 4], dev).unwrap(), None, 2, 1, 2).unwrap_err().to_string();
        assert!(e.contains("output_padding"), "{e}");
    }

    fn matmul_matches_reference(dev: &Device) {
        for &(b, m, k, n) in &[(0usize, 1usize, 1usize, 1usize), (0, 3, 17, 5), (0, 64, 33, 129), (2, 5, 7, 3), (3, 1, 9, 4)] {
            for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
                let bs = b.max(1);
                let a = values(bs * m * k, 1, -1.0, 1.0);
                let bb = values(bs * k * n, 2, -1.0, 1.0);
                let mut want = vec![0f64; bs * m * n];
                for q in 0..bs {
                    for i in 0..m {
                        for j in 0..n {
                            let mut s = 0f64;
                            for p in 0..k {
                                let av = if ta { a[q * m * k + p * m + i] } else { a[q * m * k + i * k + p] };
                                let bv = if tb { bb[q * k * n + j * k + p] } else { bb[q * k * n + p * n + j] };
                                s += av as f64 * bv as f64;
                            }
                            want[(q * m + i) * n + j] = s;
                        }
                    }
                }
                let sh = |r: usize, c: usize| if b == 0 { vec![r, c] } else { vec![b, r, c] };
                let at = t(a, &if ta { sh(k, m) } else { sh(m, k) }, dev);
                let bt = t(bb, &if tb { sh(n, k) } else { sh(k, n) }, dev);
                let y = vaecam_tensor::ops::matmul::matmul_t(&at, &bt, ta, tb).unwrap();
                assert_close(&y.to_vec().unwrap(), &want, 1e-4, 1e-5, &format!("matmul b{b} {m}x{k}x{n} ta{ta} tb{tb}"));
            }
        }
        // A 2-D right operand is shared across the batch.
        let a = rand_t(&[3, 2, 4], 5, dev);
        let w = rand_t(&[4, 5], 6, dev);
        let y = a.matmul(&w).unwrap();
        for q in 0..3 {
            let yq = a.slice(0, q, 1).unwrap().reshape(vec![2, 4]).unwrap().matmul(&w).unwrap();
            assert_close32(&y.slice(0, q, 1).unwrap().to_vec().unwrap(), &yq.to_vec().unwrap(), 1e-6, 1e-6, "broadcast matmul");
        }
        let e = a.matmul(&rand_t(&[5, 5], 1, dev)).unwrap_err().to_string();
        assert!(e.contains("[3, 2, 4]") && e.contains("[5, 5]"), "{e}");
    }

    fn elementwise_unary_matches_std(dev: &Device) {
        let x = values(1000, 3, -4.0, 4.0);
        let xt = t(x.clone(), &[10, 100], dev);
        let pos: Vec<f32> = x.iter().map(|v| v.abs() + 0.1).collect();
        let pt = t(pos.clone(), &[10, 100], dev);
        let check = |got: vaecam_tensor::Tensor, f: &dyn Fn(f64) -> f64, src: &[f32], name: &str| {
            let want: Vec<f64> = src.iter().map(|&v| f(v as f64)).collect();
            assert_close(&got.to_vec().unwrap(), &want, 2e-6, 1e-6, name);
        };
        check(xt.neg().unwrap(), &|v| -v, &x, "neg");
        check(xt.exp().unwrap(), &f64::exp, &x, "exp");
        check(pt.log().unwrap(), &f64::ln, &pos, "log");
        check(pt.sqrt().unwrap(), &f64::sqrt, &pos, "sqrt");
        check(xt.abs().unwrap(), &f64::abs, &x, "abs");
        check(xt.relu().unwrap(), &|v| v.max(0.0), &x, "relu");
        check(xt.leaky_relu(0.2).unwrap(), &|v| if v > 0.0 { v } else { 0.2 * v }, &x, "leaky_relu");
        check(xt.sigmoid().unwrap(), &|v| 1.0 / (1.0 + (-v).exp()), &x, "sigmoid");
        check(xt.tanh().unwrap(), &f64::tanh, &x, "tanh");
        check(xt.softplus().unwrap(), &|v| (1.0 + v.exp()).ln(), &x, "softplus");
        check(xt.clamp(-1.0, 2.0).unwrap(), &|v| v.clamp(-1.0, 2.0), &x, "clamp");
        check(pt.powf(1.5).unwrap(), &|v| v.powf(1.5), &pos, "powf");
        check(xt.affine(3.0, -2.0).unwrap(), &|v| 3.0 * v - 2.0, &x, "affine");
        check(pt.recip().unwrap(), &|v| 1.0 / v, &pos, "recip");
        // Extremes stay finite.
        let ext = t(vec![-100.0, 100.0], &[2], dev);
        assert_close(&ext.sigmoid().unwrap().to_vec().unwrap(), &[0.0, 1.0], 0.0, 1e-30, "sigmoid extremes");
        assert_close(&ext.softplus().unwrap().to_vec().unwrap(), &[0.0, 100.0], 1e-6, 1e-6, "softplus extremes");
    }

    fn binary_ops_broadcast_like_numpy(dev: &Device) {
        let cases: &[(&[usize], &[usize])] = &[(&[2, 3, 4], &[2, 3, 4]), (&[2, 3, 4], &[4]), (&[2, 1, 4], &[3, 1]), (&[1], &[5, 2]), (&[3, 1, 5, 1], &[1, 4, 1, 6]), (&[], &[2, 2])];
        for (ci, &(sa, sb)) in cases.iter().enumerate() {
            let a = values(sa.iter().product(), 1, -2.0, 2.0);
            let b = values(sb.iter().product(), 2, 0.5, 2.0);
            let out = vaecam_tensor::Shape::broadcast("t", &sa.into(), &sb.into()).unwrap();
            let idx = |shape: &[usize], full: &[usize], mut flat: usize| -> usize {
                let mut coords = vec![0; full.len()];
                for ax in (0..full.len()).rev() {
                    coords[ax] = flat % full[ax];
                    flat /= full[ax];
                }
                let off = full.len() - shape.len();
                let mut o = 0;
                for (i, &d) in shape.iter().enumerate() {
                    o = o * d + if d == 1 { 0 } else { coords[off + i] };
                }
                o
            };
            let (at, bt) = (t(a.clone(), sa, dev), t(b.clone(), sb, dev));
            let ops: [(&str, vaecam_tensor::Tensor, fn(f64, f64) -> f64); 6] = [
                ("add", at.add(&bt).unwrap(), |x, y| x + y),
                ("sub", at.sub(&bt).unwrap(), |x, y| x - y),
                ("mul", at.mul(&bt).unwrap(), |x, y| x * y),
                ("div", at.div(&bt).unwrap(), |x, y| x / y),
                ("maximum", at.maximum(&bt).unwrap(), f64::max),
                ("minimum", at.minimum(&bt).unwrap(), f64::min),
            ];
            for (name, got, f) in ops {
                assert_eq!(got.dims(), out.dims(), "{name} case {ci}");
                let want: Vec<f64> = (0..out.numel()).map(|i| f(a[idx(sa, out.dims(), i)] as f64, b[idx(sb, out.dims(), i)] as f64)).collect();
                assert_close(&got.to_vec().unwrap(), &want, 1e-6, 1e-6, &format!("{name} case {ci}"));
            }
        }
        let e = t(vec![0.0; 6], &[2, 3], dev).add(&t(vec![0.0; 4], &[4], dev)).unwrap_err().to_string();
        assert!(e.contains("[2, 3]") && e.contains("[4]"), "{e}");
    }

    fn reductions_match_reference(dev: &Device) {
        let shape = [3usize, 4, 5, 2];
        let x = values(120, 9, -3.0, 3.0);
        let xt = t(x.clone(), &shape, dev);
        let axes_sets: &[&[usize]] = &[&[0], &[1], &[3], &[0, 2], &[1, 3], &[0, 2, 3], &[0, 1, 2, 3], &[2, 1]];
        for axes in axes_sets {
            let mut keep = shape;
            for &a in axes.iter() {
                keep[a] = 1;
            }
            let n_out: usize = keep.iter().product();
            let mut sum = vec![0f64; n_out];
            let mut max = vec![f64::NEG_INFINITY; n_out];
            for (i, &v) in x.iter().enumerate() {
                let c = [i / 40, (i / 10) % 4, (i / 2) % 5, i % 2];
                let mut o = 0;
                for d in 0..4 {
                    o = o * keep[d] + if keep[d] == 1 { 0 } else { c[d] };
                }
                sum[o] += v as f64;
                max[o] = max[o].max(v as f64);
            }
            let count = (120 / n_out) as f64;
            let s = xt.sum(axes, true).unwrap();
            assert_eq!(s.dims(), &keep[..]);
            assert_close(&s.to_vec().unwrap(), &sum, 1e-6, 1e-5, &format!("sum {axes:?}"));
            let mean: Vec<f64> = sum.iter().map(|v| v / count).collect();
            assert_close(&xt.mean(axes, false).unwrap().to_vec().unwrap(), &mean, 1e-6, 1e-6, &format!("mean {axes:?}"));
            assert_close(&xt.max(axes, true).unwrap().to_vec().unwrap(), &max, 0.0, 0.0, &format!("max {axes:?}"));
            let min: Vec<f64> = {
                let neg = xt.neg().unwrap().max(axes, true).unwrap().to_vec().unwrap();
                neg.iter().map(|&v| -(v as f64)).collect()
            };
            assert_close(&xt.min(axes, true).unwrap().to_vec().unwrap(), &min, 0.0, 0.0, &format!("min {axes:?}"));
        }
        // Leading axes of a tensor large enough for the threaded paths (the innermost kept
        // axis accumulates whole rows): a bias gradient [64, 1000] and [8, 3, 2000] over 0 and 1.
        for (shape, axes) in [(vec![64usize, 1000], vec![0usize]), (vec![8, 3, 2000], vec![0, 1]), (vec![8, 3, 2000], vec![1])] {
            let len: usize = shape.iter().product();
            let x = values(len, 11, -2.0, 2.0);
            let xt = t(x.clone(), &shape, dev);
            let inner = *shape.last().unwrap();
            let (outer, mid) = if axes == [1] { (shape[0], shape[1]) } else { (1, len / inner) };
            let (mut sum, mut max) = (vec![0f64; outer * inner], vec![f64::NEG_INFINITY; outer * inner]);
            for o in 0..outer {
                for m in 0..mid {
                    for j in 0..inner {
                        let v = x[(o * mid + m) * inner + j] as f64;
                        sum[o * inner + j] += v;
                        max[o * inner + j] = max[o * inner + j].max(v);
                    }
                }
            }
            let what = format!("{shape:?} over {axes:?}");
            assert_close(&xt.sum(&axes, false).unwrap().to_vec().unwrap(), &sum, 1e-5, 1e-5, &format!("sum {what}"));
            assert_close(&xt.max(&axes, false).unwrap().to_vec().unwrap(), &max, 0.0, 0.0, &format!("max {what}"));
        }
        // A large full sum is accurate (f64 accumulation).
        let big = Tensor::full(0.1, [1 << 20], dev).unwrap();
        assert!((big.sum_all().unwrap().item().unwrap() as f64 - 104857.6).abs() < 0.05);
        assert!(xt.sum(&[4], false).is_err());
    }

    fn pooling_and_upsampling_match_reference(dev: &Device) {
        let (n, c, h, w) = (2usize, 3usize, 7usize, 5usize);
        let x = values(n * c * h * w, 4, -1.0, 1.0);
        let xt = t(x.clone(), &[n, c, h, w], dev);
        // Global average pool.
        let g = xt.global_avg_pool().unwrap();
        assert_eq!(g.dims(), &[n, c, 1, 1]);
        let want: Vec<f64> = (0..n * c).map(|p| x[p * h * w..(p + 1) * h * w].iter().map(|&v| v as f64).sum::<f64>() / (h * w) as f64).collect();
        assert_close(&g.to_vec().unwrap(), &want, 1e-6, 1e-6, "global_avg_pool");
        // 2x2 stride-2 average pool (odd sizes drop the last row/col like PyTorch).
        let p = xt.avg_pool2d(2, 2).unwrap();
        assert_eq!(p.dims(), &[n, c, 3, 2]);
        let mut want = Vec::new();
        for q in 0..n * c {
            for i in 0..3 {
                for j in 0..2 {
                    let s: f64 = [(0, 0), (0, 1), (1, 0), (1, 1)].iter().map(|(a, b)| x[q * h * w + (2 * i + a) * w + 2 * j + b] as f64).sum();
                    want.push(s / 4.0);
                }
            }
        }
        assert_close(&p.to_vec().unwrap(), &want, 1e-6, 1e-6, "avg_pool2d");
        // Bilinear, align_corners=False: PyTorch's documented source-index rule.
        for &(oh, ow) in &[(14usize, 10usize), (16, 16), (3, 2), (7, 11)] {
            let u = xt.upsample_bilinear(oh, ow).unwrap();
            let src = |d: usize, i: usize, o: usize| -> (usize, usize, f64) {
                let s = ((d as f64 + 0.5) * i as f64 / o as f64 - 0.5).max(0.0);
                let i0 = (s.floor() as usize).min(i - 1);
                (i0, (i0 + 1).min(i - 1), s - i0 as f64)
            };
            let mut want = Vec::new();
            for q in 0..n * c {
                for i in 0..oh {
                    let (r0, r1, ly) = src(i, h, oh);
                    for j in 0..ow {
                        let (c0, c1, lx) = src(j, w, ow);
                        let v = |r: usize, cc: usize| x[q * h * w + r * w + cc] as f64;
                        want.push((1.0 - ly) * ((1.0 - lx) * v(r0, c0) + lx * v(r0, c1)) + ly * ((1.0 - lx) * v(r1, c0) + lx * v(r1, c1)));
                    }
                }
            }
            assert_close(&u.to_vec().unwrap(), &want, 1e-5, 1e-5, &format!("upsample to {oh}x{ow}"));
        }
        // A known PyTorch value: interpolate([[1, 2], [3, 4]], size=4, bilinear, align_corners=False).
        let k = t(vec![1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 2], dev).upsample_bilinear(4, 4).unwrap().to_vec().unwrap();
        let torch = [1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0];
        assert_close32(&k, &torch, 1e-6, 1e-6, "upsample known values");
    }

    fn layout_ops_move_data_correctly(dev: &Device) {
        let x = t((0..24).map(|v| v as f32).collect(), &[2, 3, 4], dev);
        let p = x.permute(&[2, 0, 1]).unwrap();
        assert_eq!(p.dims(), &[4, 2, 3]);
        let pv = p.to_vec().unwrap();
        for i in 0..4 {
            for j in 0..2 {
                for k in 0..3 {
                    assert_eq!(pv[(i * 2 + j) * 3 + k], (j * 12 + k * 4 + i) as f32);
                }
            }
        }
        assert_eq!(x.transpose(1, 2).unwrap().dims(), &[2, 4, 3]);
        let s = x.slice(1, 1, 2).unwrap();
        assert_eq!(s.to_vec().unwrap(), vec![4., 5., 6., 7., 8., 9., 10., 11., 16., 17., 18., 19., 20., 21., 22., 23.]);
        let cat = vaecam_tensor::Tensor::concat(&[x.slice(2, 0, 1).unwrap(), x.slice(2, 1, 3).unwrap()], 2).unwrap();
        assert_eq!(cat.to_vec().unwrap(), x.to_vec().unwrap());
        let g = x.index_select(1, &[2, 0, 2]).unwrap();
        assert_eq!(&g.to_vec().unwrap()[..12], &[8., 9., 10., 11., 0., 1., 2., 3., 8., 9., 10., 11.]);
        let back = g.index_add(1, &[2, 0, 2], 3).unwrap().to_vec().unwrap();
        assert_eq!(&back[..12], &[0., 1., 2., 3., 0., 0., 0., 0., 16., 18., 20., 22.]);
        assert!(x.reshape(vec![5, 5]).unwrap_err().to_string().contains("[2, 3, 4]"));
        assert!(x.slice(1, 2, 2).is_err());
        assert!(x.index_select(0, &[2]).is_err());
        assert!(x.permute(&[0, 0, 1]).is_err());
        let b = t(vec![1.0, 2.0], &[2, 1], dev).broadcast_to(vec![2, 3]).unwrap();
        assert_eq!(b.to_vec().unwrap(), vec![1., 1., 1., 2., 2., 2.]);
        assert_eq!(b.sum_to(&vaecam_tensor::Shape::from([2, 1])).unwrap().to_vec().unwrap(), vec![3.0, 6.0]);
    }

    fn losses_match_reference(dev: &Device) {
        let x = values(24, 5, -6.0, 6.0);
        let y = values(24, 6, 0.0, 1.0);
        let (xt, yt) = (t(x.clone(), &[2, 12], dev), t(y.clone(), &[2, 12], dev));
        let bce: Vec<f64> = x.iter().zip(&y).map(|(&a, &b)| {
            let p = 1.0 / (1.0 + (-(a as f64)).exp());
            -(b as f64 * p.ln() + (1.0 - b as f64) * (1.0 - p).ln())
        }).collect();
        assert_close(&xt.bce_with_logits(&yt, Reduction::None).unwrap().to_vec().unwrap(), &bce, 1e-5, 1e-6, "bce");
        let total: f64 = bce.iter().sum();
        assert_close(&[xt.bce_with_logits(&yt, Reduction::BatchMean).unwrap().item().unwrap()], &[total / 2.0], 1e-5, 1e-6, "bce batch mean");
        let mse: f64 = x.iter().zip(&y).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum::<f64>() / 24.0;
        assert_close(&[xt.mse(&yt, Reduction::Mean).unwrap().item().unwrap()], &[mse], 1e-5, 1e-6, "mse");
        assert!(xt.mse(&t(vec![0.0; 12], &[12], dev), Reduction::Sum).is_err());
    }

    fn random_tensors_are_seeded(dev: &Device) {
        let a = Tensor::randn([1000], 5, dev).unwrap().to_vec().unwrap();
        let b = Tensor::randn([1000], 5, dev).unwrap().to_vec().unwrap();
        let c = Tensor::randn([1000], 6, dev).unwrap().to_vec().unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let u = Tensor::rand([1000], 5, dev).unwrap().to_vec().unwrap();
        assert!(u.iter().all(|&v| (0.0..1.0).contains(&v)));
    }
}
