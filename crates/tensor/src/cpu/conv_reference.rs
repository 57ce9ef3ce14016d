//! Direct-loop convolution with f64 accumulation: the CPU twins every convolution kernel
//! (CPU GEMM paths and WGSL) is tested against. Slow by design; never used for training.

use crate::geometry::Conv2dGeometry;

/// Visits every (image, c_out, c_in, oy, ox, ki, kj) term of the direct
/// convolution with its flat x, w and y indices.
fn for_each_term(g: &Conv2dGeometry, mut f: impl FnMut(usize, usize, usize)) {
    let ((sh, sw), (ph, pw)) = (g.stride, g.padding);
    for b in 0..g.n {
        for co in 0..g.c_out {
            for ci in 0..g.c_in {
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let yi = ((b * g.c_out + co) * g.oh + oy) * g.ow + ox;
                        for ki in 0..g.kh {
                            let iy = (oy * sh + ki) as isize - ph as isize;
                            if iy < 0 || iy >= g.h as isize {
                                continue;
                            }
                            for kj in 0..g.kw {
                                let ix = (ox * sw + kj) as isize - pw as isize;
                                if ix < 0 || ix >= g.w as isize {
                                    continue;
                                }
                                let xi =
                                    ((b * g.c_in + ci) * g.h + iy as usize) * g.w + ix as usize;
                                let wi = ((co * g.c_in + ci) * g.kh + ki) * g.kw + kj;
                                f(xi, wi, yi);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Direct-loop [`conv2d_forward`](super::conv::conv2d_forward) with f64 accumulation, for tests.
pub fn conv2d_forward_reference(g: &Conv2dGeometry, x: &[f32], w: &[f32], y: &mut [f32]) {
    assert_eq!(
        (x.len(), w.len(), y.len()),
        (g.x_len(), g.w_len(), g.y_len())
    );
    let mut acc = vec![0f64; y.len()];
    for_each_term(g, |xi, wi, yi| acc[yi] += x[xi] as f64 * w[wi] as f64);
    y.iter_mut().zip(acc).for_each(|(o, a)| *o = a as f32);
}

/// Direct-loop [`conv2d_backward_data`](super::conv::conv2d_backward_data) with f64 accumulation, for tests.
pub fn conv2d_backward_data_reference(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    assert_eq!(
        (dx.len(), w.len(), dy.len()),
        (g.x_len(), g.w_len(), g.y_len())
    );
    let mut acc = vec![0f64; dx.len()];
    for_each_term(g, |xi, wi, yi| acc[xi] += dy[yi] as f64 * w[wi] as f64);
    dx.iter_mut().zip(acc).for_each(|(o, a)| *o = a as f32);
}

/// Direct-loop [`conv2d_backward_weight`](super::conv::conv2d_backward_weight) with f64 accumulation, for tests.
pub fn conv2d_backward_weight_reference(g: &Conv2dGeometry, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    assert_eq!(
        (x.len(), dw.len(), dy.len()),
        (g.x_len(), g.w_len(), g.y_len())
    );
    let mut acc = vec![0f64; dw.len()];
    for_each_term(g, |xi, wi, yi| acc[wi] += dy[yi] as f64 * x[xi] as f64);
    dw.iter_mut().zip(acc).for_each(|(o, a)| *o = a as f32);
}
