//! Tests of the convolution kernels against the direct references.
use super::*;

fn fill(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn close(what: &str, g: &Conv2dGeometry, got: &[f32], want: &[f32]) {
    let isa = crate::cpu::isa::active();
    let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * scale,
            "{what} {g:?} on {isa} index {i}: got {a}, want {b}"
        );
    }
}

/// Checks `g` on every ISA path this CPU supports.
fn check(g: &Conv2dGeometry) {
    for isa in crate::cpu::isa::available() {
        crate::cpu::isa::with_isa(isa, || check_on_active_path(g)).unwrap();
    }
}

fn check_on_active_path(g: &Conv2dGeometry) {
    let isa = crate::cpu::isa::active();
    let g_and_isa = format!("{g:?} on {isa}");
    let x = fill(g.x_len(), 1);
    let w = fill(g.w_len(), 2);
    let dy = fill(g.y_len(), 3);
    let (mut y, mut y_ref) = (vec![f32::NAN; g.y_len()], vec![0.0; g.y_len()]);
    conv2d_forward(g, &x, &w, &mut y);
    conv2d_forward_reference(g, &x, &w, &mut y_ref);
    close("forward", g, &y, &y_ref);
    let (mut dx, mut dx_ref) = (vec![f32::NAN; g.x_len()], vec![0.0; g.x_len()]);
    conv2d_backward_data(g, &dy, &w, &mut dx);
    conv2d_backward_data_reference(g, &dy, &w, &mut dx_ref);
    close("backward_data", g, &dx, &dx_ref);
    let (mut dw, mut dw_ref) = (vec![f32::NAN; g.w_len()], vec![0.0; g.w_len()]);
    conv2d_backward_weight(g, &x, &dy, &mut dw);
    conv2d_backward_weight_reference(g, &x, &dy, &mut dw_ref);
    close("backward_weight", g, &dw, &dw_ref);
    // Adjointness: <conv(x, w), dy> = <x, dconv_x(dy)> = <w, dconv_w(dy)>.
    let dot = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(p, q)| *p as f64 * *q as f64)
            .sum::<f64>()
    };
    let (d1, d2, d3) = (dot(&y, &dy), dot(&x, &dx), dot(&w, &dw));
    let tol = 1e-4 * (1.0 + d1.abs() + (g.y_len() as f64).sqrt());
    assert!(
        (d1 - d2).abs() <= tol && (d1 - d3).abs() <= tol,
        "{g_and_isa}: {d1} {d2} {d3}"
    );
}

#[test]
fn kernels_match_reference_on_awkward_shapes() {
    let mut count = 0;
    for n in [1, 3] {
        for (h, w) in [(5, 7), (8, 8)] {
            for (c_in, c_out) in [(1, 4), (3, 1), (2, 5)] {
                for (kh, kw) in [(1, 1), (3, 3), (4, 4), (2, 3)] {
                    for s in [(1, 1), (2, 2), (1, 2)] {
                        for p in [(0, 0), (1, 1), (2, 2), (0, 1)] {
                            if let Some(g) =
                                Conv2dGeometry::new([n, c_in, h, w], c_out, (kh, kw), s, p)
                            {
                                check(&g);
                                count += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(count > 500);
}

#[test]
fn larger_layers_exercise_chunking_and_threading() {
    // k4 s2 p1 like the VAE; batches that give one, several and ragged chunks.
    for (n, c_in, c_out, h) in [
        (1, 8, 16, 32),
        (5, 16, 8, 8),
        (64, 4, 6, 8),
        (2, 33, 40, 12),
        (4, 3, 5, 32),
        (3, 5, 7, 16),
        // One image but enough work for the threaded-GEMM path.
        (1, 24, 64, 64),
    ] {
        check(&Conv2dGeometry::new([n, c_in, h, h], c_out, (4, 4), (2, 2), (1, 1)).unwrap());
    }
    // Stride 1 with rows of 24 and 12 outputs (im2col into packed panels).
    for (n, h) in [(3, 24), (4, 12)] {
        check(&Conv2dGeometry::new([n, 2, h, h], 3, (3, 3), (1, 1), (1, 1)).unwrap());
    }
}

#[test]
fn every_isa_path_matches_reference() {
    for (n, c_in, c_out, h, k, s, p) in [
        (3, 2, 5, 7, 3, 1, 1),
        (2, 1, 3, 8, 4, 2, 1),
        (2, 33, 40, 12, 4, 2, 1),
    ] {
        check(&Conv2dGeometry::new([n, c_in, h, h], c_out, (k, k), (s, s), (p, p)).unwrap());
    }
    assert!(crate::cpu::isa::available().contains(&crate::cpu::isa::Isa::Portable));
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[test]
fn direct_kernel_matches_reference_on_awkward_shapes() {
    // The direct forward kernel on every SIMD path, whatever `suits` would choose: short and
    // ragged pixel tiles (ohw not a multiple of 6 or 8), channel counts off the 16/32 tiles,
    // asymmetric stride and padding, one image and several.
    use super::super::conv_direct::has_direct;
    use crate::cpu::isa::{available, with_isa};
    let mut count = 0;
    for isa in available().into_iter().filter(|&i| has_direct(i)) {
        for (n, c_in, c_out, (h, w), (kh, kw), s, p) in [
            (1, 1, 1, (1, 1), (1, 1), (1, 1), (0, 0)),
            (2, 3, 5, (5, 7), (3, 3), (1, 2), (0, 1)),
            (3, 8, 33, (9, 6), (2, 3), (2, 1), (1, 0)),
            (2, 33, 40, (12, 12), (4, 4), (2, 2), (1, 1)),
            (1, 5, 70, (13, 11), (5, 3), (3, 2), (2, 1)),
            // A kernel smaller than the stride: pixels no tap reaches.
            (2, 9, 17, (7, 8), (1, 2), (2, 3), (0, 0)),
            // Rows and columns the forward pass never reads ((h + 2p - k) % s != 0).
            (2, 6, 20, (9, 10), (4, 3), (2, 3), (1, 1)),
            // More pixels than one task span, and (for the weight gradient) than one reduction
            // block, across several images.
            (5, 4, 24, (30, 29), (3, 3), (1, 1), (1, 1)),
            // Task spans that start mid-row (ohw 264, rows of 11), so the padded windows of
            // the tasks differ in height; backward-data phases of unequal sizes (71 x 23 at
            // stride 3 x 2), some with one span and some with two.
            (2, 3, 16, (71, 23), (5, 4), (3, 2), (2, 1)),
            // Small planes (4x4 and 5x3 outputs) over many images: the forward pass packs
            // several images into one task, and 37 is no multiple of that group.
            (37, 7, 18, (8, 8), (4, 4), (2, 2), (1, 1)),
            (37, 5, 9, (5, 3), (3, 3), (1, 1), (1, 1)),
        ] {
            let g = Conv2dGeometry::new([n, c_in, h, w], c_out, (kh, kw), s, p).unwrap();
            let x = fill(g.x_len(), 4);
            let wt = fill(g.w_len(), 5);
            let (mut y, mut y_ref) = (vec![f32::NAN; g.y_len()], vec![0.0; g.y_len()]);
            with_isa(isa, || {
                super::super::conv_direct::conv2d_forward(&g, &x, &wt, &mut y)
            });
            conv2d_forward_reference(&g, &x, &wt, &mut y_ref);
            close(&format!("direct forward on {isa}"), &g, &y, &y_ref);
            let dy = fill(g.y_len(), 6);
            let (mut dx, mut dx_ref) = (vec![f32::NAN; g.x_len()], vec![0.0; g.x_len()]);
            with_isa(isa, || {
                super::super::conv_direct::conv2d_backward_data(&g, &dy, &wt, &mut dx)
            });
            conv2d_backward_data_reference(&g, &dy, &wt, &mut dx_ref);
            close(&format!("direct backward data on {isa}"), &g, &dx, &dx_ref);
            let (mut dw, mut dw_ref) = (vec![f32::NAN; g.w_len()], vec![0.0; g.w_len()]);
            with_isa(isa, || {
                super::super::conv_direct::conv2d_backward_weight(&g, &x, &dy, &mut dw)
            });
            conv2d_backward_weight_reference(&g, &x, &dy, &mut dw_ref);
            close(
                &format!("direct backward weight on {isa}"),
                &g,
                &dw,
                &dw_ref,
            );
            count += 1;
        }
    }
    if available().into_iter().any(has_direct) {
        assert!(count >= 5);
    }
}

#[test]
fn geometry_validation() {
    assert!(Conv2dGeometry::new([1, 1, 2, 2], 1, (3, 3), (1, 1), (0, 0)).is_none());
    assert!(Conv2dGeometry::new([1, 1, 2, 2], 1, (3, 3), (0, 1), (1, 1)).is_none());
    let g = Conv2dGeometry::new([2, 3, 64, 64], 32, (4, 4), (2, 2), (1, 1)).unwrap();
    assert_eq!((g.oh, g.ow), (32, 32));
    // conv_transpose 4x4 -> 8x8 (k4 s2 p1) and output_padding=1 variants.
    assert!(
        Conv2dGeometry::with_output_size([1, 2, 8, 8], 3, (4, 4), (2, 2), (1, 1), (4, 4)).is_some()
    );
    assert!(
        Conv2dGeometry::with_output_size([1, 2, 9, 9], 3, (4, 4), (2, 2), (1, 1), (4, 4)).is_some()
    );
    assert!(
        Conv2dGeometry::with_output_size([1, 2, 10, 10], 3, (4, 4), (2, 2), (1, 1), (4, 4))
            .is_none()
    );
}

#[test]
fn transpose_cases_with_output_padding() {
    // (h + 2p - kh) % s != 0: the conv ignores the last input rows/cols,
    // which conv_transpose must leave at zero.
    for &(h, w, kh, s, p, oh, ow) in &[
        (9, 9, 4, 2, 1, 4, 4),
        (8, 7, 3, 2, 1, 4, 4),
        (10, 11, 3, 3, 0, 3, 3),
        (6, 8, 1, 2, 0, 3, 4),
    ] {
        for (n, c_in, c_out) in [(1, 1, 3), (3, 2, 1)] {
            let g = Conv2dGeometry::with_output_size(
                [n, c_in, h, w],
                c_out,
                (kh, kh),
                (s, s),
                (p, p),
                (oh, ow),
            )
            .unwrap_or_else(|| panic!("{h}x{w} k{kh} s{s} p{p} -> {oh}x{ow}"));
            check(&g);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn winograd_passes_match_reference() {
    // All three Winograd passes (forward, data and weight gradients): odd phase sides (a
    // ragged last tile row and column), one pixel per phase, tasks of one and of several
    // images, weight-gradient tasks that sum several chunks of images, channel counts that are
    // not whole 48-wide GEMM panels.
    use super::super::conv_winograd::suits;
    use crate::cpu::isa::{available, with_isa, Isa};
    // Batches of at least 256 tiles (below that the direct kernel runs).
    let shapes = [
        (256, 64, 64, (2, 2)),
        (43, 64, 72, (6, 10)),
        (29, 64, 128, (10, 10)),
        (64, 64, 128, (8, 8)),
        (32, 128, 64, (14, 6)),
        // 32 channels on one large plane.
        (1, 32, 40, (64, 66)),
        // 256 tiles an image: one image a weight-gradient chunk, several chunks a task.
        (12, 32, 32, (64, 64)),
        // F(4x4) tiles (planes of 16 outputs or more), ragged in both directions; with planes
        // of 32 or more, in the weight gradient too (8-tile runs of dy and a ragged rest).
        (3, 32, 48, (38, 34)),
        (1, 32, 32, (70, 68)),
    ];
    let mut ran = 0;
    for (n, c_in, c_out, (h, w)) in shapes {
        let g = Conv2dGeometry::new([n, c_in, h, w], c_out, (4, 4), (2, 2), (1, 1)).unwrap();
        check(&g);
        for isa in available() {
            let suits = with_isa(isa, || suits(&g)).unwrap();
            assert_eq!(suits, isa == Isa::Avx2, "{g:?} on {isa}");
            ran += suits as usize;
        }
    }
    // Channels off the 8-lane vectors, odd sides, 16-channel layers and batches of fewer than
    // 256 tiles take the other kernels.
    let off = Conv2dGeometry::new([1, 72, 8, 8], 68, (4, 4), (2, 2), (1, 1)).unwrap();
    let odd = Conv2dGeometry::new([1, 64, 9, 9], 64, (4, 4), (2, 2), (1, 1)).unwrap();
    let narrow = Conv2dGeometry::new([2, 16, 32, 32], 64, (4, 4), (2, 2), (1, 1)).unwrap();
    let few = Conv2dGeometry::new([15, 128, 16, 16], 256, (4, 4), (2, 2), (1, 1)).unwrap();
    for isa in available() {
        for g in [&off, &odd, &narrow, &few] {
            assert!(!with_isa(isa, || suits(g)).unwrap(), "{g:?} on {isa}");
        }
    }
    check(&off);
    check(&odd);
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        assert!(ran >= shapes.len(), "the Winograd path never ran");
    }
}
