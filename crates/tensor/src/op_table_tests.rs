//! Every op-table row on every device: the CPU kernel (including its specialised fast paths)
//! against the row's scalar function, and the generated WGSL kernel against the CPU, on
//! awkward sizes (not multiples of 4 or of a workgroup).

use super::*;
use crate::backend::Storage;
use crate::device::Device;
use crate::shape::Shape;

const SIZES: [usize; 4] = [1, 7, 257, 4099];

fn inputs(n: usize, (lo, hi): (f32, f32), seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let h = (i as u32)
                .wrapping_mul(2654435761)
                .wrapping_add(seed.wrapping_mul(40503));
            lo + (hi - lo) * ((h >> 8) as f32 / (1u32 << 24) as f32)
        })
        .collect()
}

fn gpu() -> Option<Device> {
    match Device::gpu() {
        Ok(d) => Some(d),
        Err(e) if std::env::var("VAECAM_SKIP_GPU").as_deref() == Ok("1") => {
            eprintln!("GPU half skipped (VAECAM_SKIP_GPU=1): {e}");
            None
        }
        Err(e) => panic!("{e}\n(set VAECAM_SKIP_GPU=1 to skip the GPU tests)"),
    }
}

fn close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = 2e-5 + 2e-5 * w.abs();
        assert!((g - w).abs() <= tol, "{what}[{i}]: got {g}, want {w}");
    }
}

#[test]
fn every_unary_row_is_found_by_its_op_and_names_are_unique() {
    for (i, row) in UNARY_OPS.iter().enumerate() {
        assert_eq!(unary_row(row.example).0, i, "{}", row.name);
        assert_eq!(UNARY_OPS.iter().filter(|r| r.name == row.name).count(), 1);
    }
    for (i, row) in BINARY_OPS.iter().enumerate() {
        assert_eq!(binary_row(row.op).0, i, "{}", row.name);
    }
    for (i, row) in REDUCE_OPS.iter().enumerate() {
        assert_eq!(reduce_row(row.op).0, i, "{}", row.name);
    }
    // The generated WGSL has one case per row, in row order.
    let src = wgsl_unary_fn();
    for (i, row) in UNARY_OPS.iter().enumerate() {
        assert!(
            src.contains(&format!("case {i}u: {{ return {}; }}", row.wgsl)),
            "{}",
            row.name
        );
    }
}

#[test]
fn every_unary_row_matches_on_cpu_and_gpu() {
    let cpu = Device::cpu();
    let gpu = gpu();
    for row in UNARY_OPS {
        let (p0, p1) = row.example.params();
        for n in SIZES {
            let x = inputs(n, row.test_range, n as u32);
            let want: Vec<f32> = x.iter().map(|&v| (row.cpu)(v, p0, p1)).collect();
            let s = Storage::from_slice(&x, &cpu).unwrap();
            let got = s.unary(row.example).unwrap().to_vec().unwrap();
            close(&got, &want, &format!("cpu {} n={n}", row.name));
            if let Some(g) = &gpu {
                let s = Storage::from_slice(&x, g).unwrap();
                let got = s.unary(row.example).unwrap().to_vec().unwrap();
                close(&got, &want, &format!("gpu {} n={n}", row.name));
            }
        }
    }
}

#[test]
fn every_binary_row_matches_on_cpu_and_gpu() {
    let cpu = Device::cpu();
    let gpu = gpu();
    for row in BINARY_OPS {
        for n in SIZES {
            // Equal shapes (the contiguous vec4 kernel), a scalar operand, and a row
            // broadcast against a column (the strided kernel).
            let cases: [(Vec<usize>, Vec<usize>); 3] = [
                (vec![n], vec![n]),
                (vec![n], vec![1]),
                (vec![n, 1], vec![1, 3]),
            ];
            for (sa, sb) in cases {
                let (a_shape, b_shape) = (Shape::from(sa), Shape::from(sb));
                let out = Shape::broadcast("test", &a_shape, &b_shape).unwrap();
                let a = inputs(a_shape.numel(), (0.5, 3.0), 1);
                // Rounded values make ties for the comparisons.
                let b: Vec<f32> = inputs(b_shape.numel(), (0.5, 3.0), 2)
                    .iter()
                    .map(|v| (v * 2.0).round() / 2.0)
                    .collect();
                let (sa_st, sb_st) = (
                    a_shape.broadcast_strides(&out),
                    b_shape.broadcast_strides(&out),
                );
                let want: Vec<f32> = (0..out.numel())
                    .map(|i| {
                        let (mut rem, mut ia, mut ib) = (i, 0, 0);
                        for ax in (0..out.rank()).rev() {
                            let c = rem % out.dim(ax);
                            rem /= out.dim(ax);
                            ia += c * sa_st[ax];
                            ib += c * sb_st[ax];
                        }
                        (row.cpu)(a[ia], b[ib])
                    })
                    .collect();
                let what = format!("{} {a_shape} with {b_shape}", row.name);
                for dev in std::iter::once(&cpu).chain(gpu.as_ref()) {
                    let sa = Storage::from_slice(&a, dev).unwrap();
                    let sb = Storage::from_slice(&b, dev).unwrap();
                    let got = sa.binary(&a_shape, &sb, &b_shape, &out, row.op).unwrap();
                    close(&got.to_vec().unwrap(), &want, &format!("{dev:?} {what}"));
                }
            }
        }
    }
}

#[test]
fn every_reduce_row_matches_on_cpu_and_gpu() {
    let cpu = Device::cpu();
    let gpu = gpu();
    // Short (serial kernel) and long (tree kernel, vec4 and strided) reductions, odd sizes.
    let cases: [(Vec<usize>, Vec<usize>); 4] = [
        (vec![3, 7], vec![1]),
        (vec![5, 4099], vec![1]),
        (vec![4099, 3], vec![0]),
        (vec![2, 3, 257], vec![0, 2]),
    ];
    for row in REDUCE_OPS {
        for (dims, axes) in &cases {
            let shape = Shape::from(dims.clone());
            let x = inputs(shape.numel(), (-2.0, 2.0), 5);
            let keep = shape.reduced_keepdim(axes);
            // Reference: the row's CPU combine over each output's elements, one at a time.
            let st = shape.strides();
            let mut want = vec![row.identity; keep.numel()];
            let keep_st = keep.strides();
            for (i, &v) in x.iter().enumerate() {
                let mut o = 0;
                for ax in 0..shape.rank() {
                    let c = (i / st[ax]) % shape.dim(ax);
                    if !axes.contains(&ax) {
                        o += c * keep_st[ax];
                    }
                }
                want[o] = (row.cpu_combine)(want[o], v as f64);
            }
            let want: Vec<f32> = want.iter().map(|&v| v as f32).collect();
            for dev in std::iter::once(&cpu).chain(gpu.as_ref()) {
                let s = Storage::from_slice(&x, dev).unwrap();
                let got = s.reduce(&shape, axes, row.op).unwrap().to_vec().unwrap();
                let what = format!("{dev:?} {} of {shape} over {axes:?}", row.name);
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    // Long f32 sums on the GPU round differently from the f64 reference.
                    let tol = 1e-4 + 1e-5 * w.abs();
                    assert!((g - w).abs() <= tol, "{what}[{i}]: got {g}, want {w}");
                }
            }
        }
    }
}

#[test]
fn exp_is_within_two_ulp_of_f64_everywhere() {
    // A sweep over the whole range, the ends where 2^n leaves the normal floats, and the
    // specials.
    let mut xs: Vec<f32> = (-1_100_000..=900_000).map(|i| i as f32 * 1e-4).collect();
    xs.extend([
        -103.9, -103.0, -100.0, -88.0, -87.4, -87.3, 88.3, 88.7, 88.72, 0.0, -0.0,
    ]);
    for &x in &xs {
        let got = exp(x);
        let want = (x as f64).exp();
        let ulp = if want < f32::MIN_POSITIVE as f64 {
            // Subnormal results: absolute steps of the smallest subnormal.
            f32::from_bits(1) as f64
        } else {
            (want as f32).abs() as f64 * f32::EPSILON as f64
        };
        assert!(
            (got as f64 - want).abs() <= 2.0 * ulp,
            "exp({x}) = {got}, want {want}"
        );
    }
    assert_eq!(exp(89.0), f32::INFINITY);
    assert_eq!(exp(f32::INFINITY), f32::INFINITY);
    assert_eq!(exp(-120.0), 0.0);
    assert_eq!(exp(f32::NEG_INFINITY), 0.0);
    assert!(exp(f32::NAN).is_nan());
}
