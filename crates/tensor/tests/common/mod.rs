//! Shared test helpers: the per-device test macro, finite-difference checkers, references.
#![allow(dead_code)]

use vaecam_tensor::{grad, no_grad, Device, Result, Tensor};

/// Runs each test body once per device: `fn name(dev: &Device) { ... }` becomes
/// `cpu::name` and `gpu::name` (the WGSL backend on the default adapter and kernel family).
/// Without an adapter the GPU tests fail with the install hint, unless `VAECAM_SKIP_GPU=1`.
#[macro_export]
macro_rules! device_tests {
    ($(fn $name:ident($dev:ident : &Device) $body:block)*) => {
        $(fn $name($dev: &vaecam_tensor::Device) $body)*
        mod cpu {
            $(#[test] fn $name() { super::$name(&vaecam_tensor::Device::cpu()) })*
        }
        mod gpu {
            $(#[test] fn $name() {
                if let Some(d) = $crate::common::gpu_device() { super::$name(&d) }
            })*
        }
    };
}

/// The GPU device for tests: panics with the install hint when there is none, unless
/// `VAECAM_SKIP_GPU=1`, in which case it says so and returns None.
pub fn gpu_device() -> Option<Device> {
    match Device::gpu() {
        Ok(d) => Some(d),
        Err(e) if std::env::var("VAECAM_SKIP_GPU").as_deref() == Ok("1") => {
            eprintln!("skipped (VAECAM_SKIP_GPU=1): {e}");
            None
        }
        Err(e) => panic!("{e}\n(set VAECAM_SKIP_GPU=1 to skip the GPU tests)"),
    }
}

/// Deterministic pseudo-random values in [lo, hi) (test inputs, not the engine's RNG).
pub fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = ((s >> 40) as f32) / (1u64 << 24) as f32;
            lo + (hi - lo) * u
        })
        .collect()
}

/// Values in [lo, hi) with magnitude at least `gap` (keeps inputs off kinks at 0).
pub fn values_off_zero(n: usize, seed: u64, lo: f32, hi: f32, gap: f32) -> Vec<f32> {
    values(n, seed, lo, hi)
        .into_iter()
        .map(|v| {
            if v.abs() < gap {
                if v < 0.0 {
                    v - gap
                } else {
                    v + gap
                }
            } else {
                v
            }
        })
        .collect()
}

pub fn t(data: Vec<f32>, shape: &[usize], dev: &Device) -> Tensor {
    Tensor::from_vec(data, shape.to_vec(), dev).unwrap()
}

pub fn rand_t(shape: &[usize], seed: u64, dev: &Device) -> Tensor {
    let n = shape.iter().product();
    t(values(n, seed, -1.0, 1.0), shape, dev)
}

pub fn assert_close(got: &[f32], want: &[f64], rtol: f64, atol: f64, what: &str) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: length {} vs {}",
        got.len(),
        want.len()
    );
    let mut worst = (0.0, 0usize);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        let tol = atol + rtol * w.abs().max((g as f64).abs());
        if err.is_nan() || err > tol {
            panic!("{what}: element {i}: got {g}, want {w} (err {err:.3e} > tol {tol:.3e})");
        }
        if err > worst.0 {
            worst = (err, i);
        }
    }
}

pub fn assert_close32(got: &[f32], want: &[f32], rtol: f64, atol: f64, what: &str) {
    let w: Vec<f64> = want.iter().map(|&v| v as f64).collect();
    assert_close(got, &w, rtol, atol, what);
}

/// Host-side projection sum(out * r) in f64.
fn project(out: &[f32], r: &[f32]) -> f64 {
    out.iter().zip(r).map(|(&a, &b)| a as f64 * b as f64).sum()
}

/// Which entries of an input of `n` values to probe (all of them for small inputs).
fn probes(n: usize, seed: u64) -> Vec<usize> {
    if n <= 48 {
        (0..n).collect()
    } else {
        let mut v: Vec<usize> = values(48, seed, 0.0, n as f32)
            .into_iter()
            .map(|x| (x as usize).min(n - 1))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Checks the gradients of L = sum(f(inputs) * r) against central finite differences of L,
/// with L evaluated in f64 from the f32 forward pass.
pub fn check_grad(
    dev: &Device,
    inputs: &[(Vec<f32>, Vec<usize>)],
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    eps: f32,
    rtol: f64,
    atol: f64,
    what: &str,
) {
    let leaves: Vec<Tensor> = inputs
        .iter()
        .map(|(d, s)| t(d.clone(), s, dev).requires_grad_())
        .collect();
    let out = f(&leaves).unwrap();
    let r = values(out.numel(), 99, -1.0, 1.0);
    let rt = t(r.clone(), out.dims(), dev);
    let loss = out.mul(&rt).unwrap().sum_all().unwrap();
    let grads = grad(&[loss], &leaves, None, false).unwrap();
    for (k, (data, shape)) in inputs.iter().enumerate() {
        let analytic = grads[k].to_vec().unwrap();
        assert_eq!(
            grads[k].dims(),
            &shape[..],
            "{what}: gradient shape of input {k}"
        );
        let mut fd = Vec::new();
        let mut an = Vec::new();
        for j in probes(data.len(), k as u64 + 7) {
            let eval = |delta: f32| -> f64 {
                let mut xs: Vec<Tensor> = leaves.iter().map(|l| l.detach()).collect();
                let mut d = data.clone();
                d[j] += delta;
                xs[k] = t(d, shape, dev);
                let o = no_grad(|| f(&xs)).unwrap();
                project(&o.to_vec().unwrap(), &r)
            };
            fd.push((eval(eps) - eval(-eps)) / (2.0 * eps as f64));
            an.push(analytic[j]);
        }
        assert_close(&an, &fd, rtol, atol, &format!("{what}: d/d input {k}"));
    }
}

/// Second order: S = sum_k sum(dL/dx_k * r2_k) with L = sum(f(x) * r) and the first-order
/// gradient taken with create_graph; dS/dx against finite differences of S, where S is
/// recomputed from first-order gradients at perturbed inputs.
pub fn check_second_order(
    dev: &Device,
    inputs: &[(Vec<f32>, Vec<usize>)],
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    eps: f32,
    rtol: f64,
    atol: f64,
    what: &str,
) {
    let r2: Vec<Vec<f32>> = inputs
        .iter()
        .enumerate()
        .map(|(k, (d, _))| values(d.len(), 500 + k as u64, -1.0, 1.0))
        .collect();
    let first = |xs: &[Tensor], create: bool| -> Vec<Tensor> {
        let out = f(xs).unwrap();
        let r = t(values(out.numel(), 99, -1.0, 1.0), out.dims(), dev);
        let loss = out.mul(&r).unwrap().sum_all().unwrap();
        grad(&[loss], xs, None, create).unwrap()
    };
    let leaves: Vec<Tensor> = inputs
        .iter()
        .map(|(d, s)| t(d.clone(), s, dev).requires_grad_())
        .collect();
    let g1 = first(&leaves, true);
    let mut s = Tensor::scalar(0.0, dev).unwrap();
    for (k, g) in g1.iter().enumerate() {
        let rk = t(r2[k].clone(), g.dims(), dev);
        s = s.add(&g.mul(&rk).unwrap().sum_all().unwrap()).unwrap();
    }
    let g2 = grad(&[s], &leaves, None, false).unwrap();
    for (k, (data, shape)) in inputs.iter().enumerate() {
        let analytic = g2[k].to_vec().unwrap();
        let mut fd = Vec::new();
        let mut an = Vec::new();
        for j in probes(data.len(), k as u64 + 11) {
            let eval = |delta: f32| -> f64 {
                let mut d = data.clone();
                d[j] += delta;
                let xs: Vec<Tensor> = inputs
                    .iter()
                    .enumerate()
                    .map(|(i, (dd, ss))| {
                        if i == k {
                            t(d.clone(), ss, dev).requires_grad_()
                        } else {
                            t(dd.clone(), ss, dev).requires_grad_()
                        }
                    })
                    .collect();
                let g = first(&xs, false);
                g.iter()
                    .enumerate()
                    .map(|(i, gi)| project(&gi.to_vec().unwrap(), &r2[i]))
                    .sum()
            };
            fd.push((eval(eps) - eval(-eps)) / (2.0 * eps as f64));
            an.push(analytic[j]);
        }
        let _ = shape;
        assert_close(
            &an,
            &fd,
            rtol,
            atol,
            &format!("{what}: second order d/d input {k}"),
        );
    }
}
