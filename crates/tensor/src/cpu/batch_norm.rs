//! Training-mode BatchNorm over NCHW planes in two passes forward and two backward.
//!
//! The composite formula in `nn::batch_norm_train` (the reference these kernels are tested
//! against, and what the GPU runs) makes about 12 memory passes over the activation forward
//! and 20 backward, each a separate elementwise op or reduction with its own buffer. Here the
//! forward pass reads `x` once for the per-channel statistics and once to write `y`; the
//! backward pass reads `g` and `x` once for both per-channel sums and once more to write `dx`.
//!
//! A LeakyReLU after the BatchNorm can run inside these passes (`nn::Sequential` fuses the
//! pair): the forward pass writes `leaky(y)` instead of `y`, and the backward passes read the
//! incoming gradient through the activation's mask ([`Mask`]), which saves the activation's
//! own read and write of the whole tensor in each direction.

use super::buffers;
use rayon::prelude::*;

/// The planes of a `[N, C, H, W]` activation: `n` images of `c` channels of `hw` values.
#[derive(Clone, Copy, Debug)]
pub struct Planes {
    /// Images.
    pub n: usize,
    /// Channels.
    pub c: usize,
    /// Values per plane (`H * W`).
    pub hw: usize,
}

impl Planes {
    fn plane(self, x: &[f32], b: usize, ch: usize) -> &[f32] {
        &x[(b * self.c + ch) * self.hw..][..self.hw]
    }
}

/// Per-channel mean and biased variance of `x`, accumulated in f64 around the channel's first
/// value (so a large common offset costs no precision).
pub fn channel_stats(p: Planes, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    assert_eq!(x.len(), p.n * p.c * p.hw, "batch_norm: x length mismatch");
    let count = (p.n * p.hw) as f64;
    let shift: Vec<f64> = (0..p.c)
        .map(|ch| p.plane(x, 0, ch).first().copied().unwrap_or(0.0) as f64)
        .collect();
    let (s, s2) = per_channel_sums(p, |b, ch| plane_stats(p.plane(x, b, ch), shift[ch]));
    (0..p.c)
        .map(|ch| {
            let m = s[ch] / count;
            (
                (shift[ch] + m) as f32,
                (s2[ch] / count - m * m).max(0.0) as f32,
            )
        })
        .unzip()
}

/// Groups of images the per-channel reductions split the batch into (a fixed number, so the
/// sums round the same on every machine).
const SUM_GROUPS: usize = 16;

/// Per-channel sums of `f(image, channel)` over the batch, in f64. Each task reads a group of
/// whole images in memory order, every channel in turn; a task per channel strided across
/// the batch instead, one plane at a time, and on small planes (8 x 8 for 256 channels)
/// waited on memory at every plane.
fn per_channel_sums(
    p: Planes,
    f: impl Fn(usize, usize) -> (f64, f64) + Sync,
) -> (Vec<f64>, Vec<f64>) {
    let per = p.n.div_ceil(SUM_GROUPS).max(1);
    let partial: Vec<Vec<(f64, f64)>> = (0..p.n.div_ceil(per))
        .into_par_iter()
        .map(|grp| {
            let mut acc = vec![(0f64, 0f64); p.c];
            for b in grp * per..((grp + 1) * per).min(p.n) {
                for (ch, a) in acc.iter_mut().enumerate() {
                    let (u, v) = f(b, ch);
                    a.0 += u;
                    a.1 += v;
                }
            }
            acc
        })
        .collect();
    (0..p.c)
        .map(|ch| {
            partial
                .iter()
                .fold((0f64, 0f64), |(u, v), q| (u + q[ch].0, v + q[ch].1))
        })
        .unzip()
}

/// The gradient of a LeakyReLU fused after the BatchNorm: the gradient with respect to the
/// BatchNorm's output is `g` where the activation's output `z > 0`, else `slope * g` (for
/// `slope >= 0`, `z > 0` exactly where the BatchNorm's output is).
#[derive(Clone, Copy)]
pub struct Mask<'a> {
    z: &'a [f32],
    slope: f32,
}

impl<'a> Mask<'a> {
    /// The mask of the activation output `z` with negative slope `slope`.
    pub fn leaky(z: &'a [f32], slope: f32) -> Self {
        Mask { z, slope }
    }
    /// No activation: `g` through itself with slope 1 (the identity; `g` is read from the
    /// same lines twice, so it costs no memory traffic).
    pub fn none(g: &'a [f32]) -> Self {
        Mask { z: g, slope: 1.0 }
    }
}

/// `g` where `z > 0`, else `slope * g` (used only in loops simple enough to vectorise, where
/// this is a blend; in a scalar loop it is a branch that mispredicts on half the signs).
#[inline(always)]
fn masked(g: f32, z: f32, slope: f32) -> f32 {
    if z > 0.0 {
        g
    } else {
        g * slope
    }
}

/// `y = x * scale[c] + shift[c]` over every plane, then `y` where `y > 0` else `slope * y`
/// (a fused LeakyReLU; `slope` 1 for none).
pub fn scale_shift(p: Planes, x: &[f32], scale: &[f32], shift: &[f32], slope: f32) -> Vec<f32> {
    assert_eq!(x.len(), p.n * p.c * p.hw, "batch_norm: x length mismatch");
    let mut y = buffers::for_overwrite(x.len());
    y.par_chunks_mut(p.hw.max(1))
        .zip(x.par_chunks(p.hw.max(1)))
        .enumerate()
        .for_each(|(i, (yp, xp))| {
            plane_scale_shift(yp, xp, scale[i % p.c], shift[i % p.c], slope);
        });
    y
}

/// Per-channel `sum(g)` and `sum(g * xhat)` with `xhat = (x - mean) * inv_std`, in f64, of
/// the gradient `g` through `mask`.
pub fn grad_sums(
    p: Planes,
    x: &[f32],
    g: &[f32],
    mask: Mask,
    mean: &[f32],
    inv_std: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    assert_eq!(x.len(), g.len(), "batch_norm: x and g lengths differ");
    assert_eq!(
        mask.z.len(),
        g.len(),
        "batch_norm: mask and g lengths differ"
    );
    let slope = mask.slope;
    let (sg, sgx) = per_channel_sums(p, |b, ch| {
        let (xp, gp, zp) = (p.plane(x, b, ch), p.plane(g, b, ch), p.plane(mask.z, b, ch));
        plane_grad_sums(xp, gp, zp, mean[ch], slope)
    });
    (0..p.c)
        .map(|ch| (sg[ch] as f32, (sgx[ch] * inv_std[ch] as f64) as f32))
        .unzip()
}

/// `dx = weight / std * (g - sum_g / count - xhat * sum_gx / count)` over every plane, of
/// the gradient `g` through `mask`.
#[allow(clippy::too_many_arguments)]
pub fn input_grad(
    p: Planes,
    x: &[f32],
    g: &[f32],
    mask: Mask,
    mean: &[f32],
    inv_std: &[f32],
    weight: &[f32],
    (sum_g, sum_gx): (&[f32], &[f32]),
) -> Vec<f32> {
    let count = (p.n * p.hw) as f32;
    let slope = mask.slope;
    let mut dx = buffers::for_overwrite(x.len());
    let hw = p.hw.max(1);
    dx.par_chunks_mut(hw)
        .zip(
            x.par_chunks(hw)
                .zip(g.par_chunks(hw).zip(mask.z.par_chunks(hw))),
        )
        .enumerate()
        .for_each(|(i, (dp, (xp, (gp, zp))))| {
            let ch = i % p.c;
            let (m, is) = (mean[ch], inv_std[ch]);
            let scale = is * weight[ch];
            let (mg, mgx) = (sum_g[ch] / count, sum_gx[ch] / count * is);
            plane_input_grad(dp, (xp, gp, zp), m, scale, (mg, mgx), slope);
        });
    dx
}

/// Each plane kernel below as a plain function (the portable path) and, on x86-64 machines
/// with AVX2 + FMA, the same body compiled for them: the crate is built for baseline x86-64,
/// where these loops ran as 2-wide SSE2 f64 (and the f32 mask as scalar code). The sums keep
/// their eight explicit lanes, so both builds round alike.
macro_rules! plane_kernels {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    )*) => {$(
        $(#[$doc])*
        #[inline]
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            if super::isa::active() >= super::isa::Isa::Avx2 {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn wide($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                // SAFETY: the active path has AVX2 and FMA.
                return unsafe { wide($($arg),*) };
            }
            body($($arg),*)
        }
    )*};
}

plane_kernels! {
    /// Sum and sum of squares of `plane - shift`, in f64 (eight lanes of partial sums).
    fn plane_stats(plane: &[f32], shift: f64) -> (f64, f64) {
        let (mut s, mut s2) = (0f64, 0f64);
        let (mut a, mut a2) = ([0f64; 8], [0f64; 8]);
        let chunks = plane.chunks_exact(8);
        for &v in chunks.remainder() {
            let d = v as f64 - shift;
            s += d;
            s2 += d * d;
        }
        for c8 in chunks {
            for i in 0..8 {
                let d = c8[i] as f64 - shift;
                a[i] += d;
                a2[i] += d * d;
            }
        }
        (s + a.iter().sum::<f64>(), s2 + a2.iter().sum::<f64>())
    }

    /// `yp = leaky(xp * a + s)` (slope 1: no activation).
    fn plane_scale_shift(yp: &mut [f32], xp: &[f32], a: f32, s: f32, slope: f32) {
        for (o, &v) in yp.iter_mut().zip(xp) {
            let y = v * a + s;
            *o = masked(y, y, slope);
        }
    }

    /// Sums of `g'` and `g' * (x - m)` with `g' = masked(g, z, slope)`, in f64. `g'` is
    /// formed a block at a time in a buffer that stays in L1: with the mask inside the f64
    /// loop, LLVM kept that loop scalar and branched on every sign of `z` (this kernel alone
    /// took 13% of a texture VAE step).
    fn plane_grad_sums(xp: &[f32], gp: &[f32], zp: &[f32], m: f32, slope: f32) -> (f64, f64) {
        const BLOCK: usize = 256;
        let (mut sg, mut sgx) = (0f64, 0f64);
        let (mut a, mut ax) = ([0f64; 8], [0f64; 8]);
        let mut buf = [0f32; BLOCK];
        for ((xb, gb), zb) in xp.chunks(BLOCK).zip(gp.chunks(BLOCK)).zip(zp.chunks(BLOCK)) {
            let gm = &mut buf[..gb.len()];
            for ((o, &gv), &zv) in gm.iter_mut().zip(gb).zip(zb) {
                *o = masked(gv, zv, slope);
            }
            // Every block but the last is a whole number of 8-lane rows.
            let (xc, gc) = (xb.chunks_exact(8), gm.chunks_exact(8));
            for (&v, &gv) in xc.remainder().iter().zip(gc.remainder()) {
                sg += gv as f64;
                sgx += (gv * (v - m)) as f64;
            }
            for (x8, g8) in xc.zip(gc) {
                for i in 0..8 {
                    a[i] += g8[i] as f64;
                    ax[i] += (g8[i] * (x8[i] - m)) as f64;
                }
            }
        }
        (sg + a.iter().sum::<f64>(), sgx + ax.iter().sum::<f64>())
    }

    /// `dp = scale * (g' - mg - (x - m) * mgx)` with `g' = masked(g, z, slope)`.
    fn plane_input_grad(
        dp: &mut [f32],
        planes: (&[f32], &[f32], &[f32]),
        m: f32,
        scale: f32,
        means: (f32, f32),
        slope: f32,
    ) {
        let ((xp, gp, zp), (mg, mgx)) = (planes, means);
        for (((o, &v), &gv), &zv) in dp.iter_mut().zip(xp).zip(gp).zip(zp) {
            *o = scale * (masked(gv, zv, slope) - mg - (v - m) * mgx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(len: usize, seed: u64, offset: f32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                offset + (s % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    fn close(what: &str, got: &[f32], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g as f64 - w).abs() <= tol * (1.0 + w.abs()),
                "{what}[{i}]: {g} vs {w}"
            );
        }
    }

    /// Every kernel against the textbook formulas in f64, on planes that are not multiples of
    /// the 8-lane loops, one-value planes, and an activation offset far from zero (where
    /// E[x^2] - E[x]^2 without the shift would lose the variance).
    #[test]
    fn kernels_match_f64_formulas() {
        // On every ISA path this CPU has (the plane kernels take the AVX2 build above it).
        for isa in crate::cpu::isa::available() {
            crate::cpu::isa::with_isa(isa, kernels_match_f64_formulas_on_active_path).unwrap();
        }
    }

    fn kernels_match_f64_formulas_on_active_path() {
        for (n, c, hw, offset) in [
            (3, 5, 21, 0.0),
            (4, 3, 1, 2.0),
            (2, 7, 64, 300.0),
            (1, 2, 9, -5.0),
        ] {
            let p = Planes { n, c, hw };
            let len = n * c * hw;
            let (x, g) = (
                fill(len, 1 + n as u64, offset),
                fill(len, 7 + c as u64, 0.0),
            );
            let weight = fill(c, 3, 1.0);
            let at = |b: usize, ch: usize, i: usize| (b * c + ch) * hw + i;
            let count = (n * hw) as f64;
            let (mut mean, mut var) = (vec![0f64; c], vec![0f64; c]);
            for ch in 0..c {
                for b in 0..n {
                    for i in 0..hw {
                        mean[ch] += x[at(b, ch, i)] as f64 / count;
                    }
                }
                for b in 0..n {
                    for i in 0..hw {
                        var[ch] += (x[at(b, ch, i)] as f64 - mean[ch]).powi(2) / count;
                    }
                }
            }
            let (m32, v32) = channel_stats(p, &x);
            close("mean", &m32, &mean, 1e-6);
            close("var", &v32, &var, 1e-4);
            let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + 1e-5).sqrt()).collect();
            let is32: Vec<f32> = inv_std.iter().map(|&v| v as f32).collect();
            let (sg, sgx) = grad_sums(p, &x, &g, Mask::none(&g), &m32, &is32);
            let (mut want_g, mut want_gx) = (vec![0f64; c], vec![0f64; c]);
            for ch in 0..c {
                for b in 0..n {
                    for i in 0..hw {
                        let xhat = (x[at(b, ch, i)] as f64 - mean[ch]) * inv_std[ch];
                        want_g[ch] += g[at(b, ch, i)] as f64;
                        want_gx[ch] += g[at(b, ch, i)] as f64 * xhat;
                    }
                }
            }
            close("sum g", &sg, &want_g, 1e-5);
            close("sum g xhat", &sgx, &want_gx, 1e-4);
            let dx = input_grad(p, &x, &g, Mask::none(&g), &m32, &is32, &weight, (&sg, &sgx));
            let mut want_dx = vec![0f64; len];
            for ch in 0..c {
                for b in 0..n {
                    for i in 0..hw {
                        let xhat = (x[at(b, ch, i)] as f64 - mean[ch]) * inv_std[ch];
                        want_dx[at(b, ch, i)] = weight[ch] as f64
                            * inv_std[ch]
                            * (g[at(b, ch, i)] as f64
                                - want_g[ch] / count
                                - xhat * want_gx[ch] / count);
                    }
                }
            }
            close("dx", &dx, &want_dx, 2e-3);
            let shift: Vec<f32> = vec![0.5; c];
            let y = scale_shift(p, &x, &is32, &shift, 1.0);
            let want_y: Vec<f64> = (0..len)
                .map(|j| x[j] as f64 * inv_std[(j / hw) % c] + 0.5)
                .collect();
            close("y", &y, &want_y, 1e-5);
            // The fused LeakyReLU: z = leaky(y), and the backward kernels read g * mask(z)
            // exactly as the unfused kernels read that product written out.
            // (Centred, so that both signs occur.)
            let slope = 0.2;
            let centre: Vec<f32> = (0..c).map(|ch| -m32[ch] * is32[ch]).collect();
            let z = scale_shift(p, &x, &is32, &centre, slope);
            let leaky = |v: f64| if v > 0.0 { v } else { slope as f64 * v };
            let want_z: Vec<f64> = (0..len)
                .map(|j| leaky((x[j] as f64 - mean[(j / hw) % c]) * inv_std[(j / hw) % c]))
                .collect();
            close("leaky z", &z, &want_z, 1e-4);
            assert!(z.iter().any(|&v| v < 0.0) && z.iter().any(|&v| v > 0.0));
            let gm: Vec<f32> = g
                .iter()
                .zip(&z)
                .map(|(&gv, &zv)| if zv > 0.0 { gv } else { slope * gv })
                .collect();
            let mask = Mask::leaky(&z, slope);
            let fused = grad_sums(p, &x, &g, mask, &m32, &is32);
            assert_eq!(fused, grad_sums(p, &x, &gm, Mask::none(&gm), &m32, &is32));
            let sums = (&fused.0[..], &fused.1[..]);
            assert_eq!(
                input_grad(p, &x, &g, mask, &m32, &is32, &weight, sums),
                input_grad(p, &x, &gm, Mask::none(&gm), &m32, &is32, &weight, sums)
            );
            assert_ne!(fused, (sg.clone(), sgx.clone()), "the mask changed nothing");
        }
    }
}
