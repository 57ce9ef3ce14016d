//! Placeholder direct convolution; replaced by the im2col + GEMM kernels.

/// Geometry of one conv2d (PyTorch semantics, weight [c_out, c_in, kh, kw]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// Batch.
    pub n: usize,
    /// Input channels.
    pub c_in: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride (rows, cols).
    pub stride: (usize, usize),
    /// Zero padding (rows, cols).
    pub padding: (usize, usize),
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

impl Conv2dGeometry {
    /// The geometry of a conv; None when the kernel does not fit the padded input.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        n: usize,
        c_in: usize,
        h: usize,
        w: usize,
        c_out: usize,
        kh: usize,
        kw: usize,
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Option<Self> {
        if stride.0 == 0 || stride.1 == 0 || h + 2 * padding.0 < kh || w + 2 * padding.1 < kw {
            return None;
        }
        let oh = (h + 2 * padding.0 - kh) / stride.0 + 1;
        let ow = (w + 2 * padding.1 - kw) / stride.1 + 1;
        Some(Self {
            n,
            c_in,
            h,
            w,
            c_out,
            kh,
            kw,
            stride,
            padding,
            oh,
            ow,
        })
    }
    /// The geometry with explicit output size (for conv_transpose, whose output is this conv's input).
    #[allow(clippy::too_many_arguments)]
    pub fn with_input_size(
        n: usize,
        c_in: usize,
        h: usize,
        w: usize,
        c_out: usize,
        kh: usize,
        kw: usize,
        stride: (usize, usize),
        padding: (usize, usize),
        oh: usize,
        ow: usize,
    ) -> Option<Self> {
        let g = Self::new(n, c_in, h, w, c_out, kh, kw, stride, padding)?;
        (g.oh == oh && g.ow == ow).then_some(g)
    }
}

/// y = conv2d(x, w).
pub fn conv2d_forward(g: &Conv2dGeometry, x: &[f32], w: &[f32], y: &mut [f32]) {
    for v in y.iter_mut() {
        *v = 0.0;
    }
    each_tap(g, |xi, wi, yi| y[yi] += x[xi] * w[wi]);
}
/// dx from dy.
pub fn conv2d_backward_data(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    for v in dx.iter_mut() {
        *v = 0.0;
    }
    each_tap(g, |xi, wi, yi| dx[xi] += dy[yi] * w[wi]);
}
/// dw from x and dy.
pub fn conv2d_backward_weight(g: &Conv2dGeometry, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    for v in dw.iter_mut() {
        *v = 0.0;
    }
    each_tap(g, |xi, wi, yi| dw[wi] += dy[yi] * x[xi]);
}

fn each_tap(g: &Conv2dGeometry, mut f: impl FnMut(usize, usize, usize)) {
    for n in 0..g.n {
        for o in 0..g.c_out {
            for c in 0..g.c_in {
                for i in 0..g.kh {
                    for j in 0..g.kw {
                        for p in 0..g.oh {
                            let ih = (p * g.stride.0 + i) as isize - g.padding.0 as isize;
                            if ih < 0 || ih >= g.h as isize {
                                continue;
                            }
                            for q in 0..g.ow {
                                let iw = (q * g.stride.1 + j) as isize - g.padding.1 as isize;
                                if iw < 0 || iw >= g.w as isize {
                                    continue;
                                }
                                f(
                                    ((n * g.c_in + c) * g.h + ih as usize) * g.w + iw as usize,
                                    ((o * g.c_in + c) * g.kh + i) * g.kw + j,
                                    ((n * g.c_out + o) * g.oh + p) * g.ow + q,
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
