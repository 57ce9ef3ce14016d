//! Plain-data descriptions of the structured ops (conv, pooling, resize, matmul), shared by
//! the ops that build them (`ops/`), the backend boundary (`backend.rs`) and both backends'
//! kernels (`cpu/`, `gpu/`). Nothing here computes anything.

/// Shape of a convolution: input `[n, c_in, h, w]`, weight
/// `[c_out, c_in, kh, kw]`, output `[n, c_out, oh, ow]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// Batch size.
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
    /// Stride (rows, columns).
    pub stride: (usize, usize),
    /// Zero padding (rows, columns).
    pub padding: (usize, usize),
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

impl Conv2dGeometry {
    /// Geometry of a convolution of an input `[n, c_in, h, w]` (`input_nchw`) with `c_out`
    /// filters of `kernel = (kh, kw)`: `oh = (h + 2*ph - kh) / sh + 1` (likewise `ow`).
    /// `None` if the kernel does not fit the padded input, or a stride or kernel size is zero.
    pub fn new(
        input_nchw: [usize; 4],
        c_out: usize,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Option<Self> {
        let [n, c_in, h, w] = input_nchw;
        let (kh, kw) = kernel;
        if stride.0 == 0 || stride.1 == 0 || kh == 0 || kw == 0 {
            return None;
        }
        let (hp, wp) = (h + 2 * padding.0, w + 2 * padding.1);
        if hp < kh || wp < kw {
            return None;
        }
        let (oh, ow) = ((hp - kh) / stride.0 + 1, (wp - kw) / stride.1 + 1);
        Some(Conv2dGeometry {
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

    /// Geometry of the convolution whose backward-data is a conv_transpose2d producing
    /// `h x w` (in `input_nchw`) from `output_hw`. The caller picks `h, w` (which absorbs
    /// output_padding); `None` unless this conv maps `h x w` back to exactly `output_hw`.
    pub fn with_output_size(
        input_nchw: [usize; 4],
        c_out: usize,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        output_hw: (usize, usize),
    ) -> Option<Self> {
        let g = Self::new(input_nchw, c_out, kernel, stride, padding)?;
        ((g.oh, g.ow) == output_hw).then_some(g)
    }

    /// Elements of the input.
    pub fn x_len(&self) -> usize {
        self.n * self.c_in * self.h * self.w
    }
    /// Elements of the output.
    pub fn y_len(&self) -> usize {
        self.n * self.c_out * self.oh * self.ow
    }
    /// Elements of the weight.
    pub fn w_len(&self) -> usize {
        self.c_out * self.krows()
    }
    /// Rows of the im2col matrix (the GEMM inner dimension of forward).
    pub fn krows(&self) -> usize {
        self.c_in * self.kh * self.kw
    }
    /// Multiply-adds times two of one pass (forward, backward-data or
    /// backward-weight all cost the same).
    pub fn flops(&self) -> usize {
        2 * self.n * self.c_out * self.ohw() * self.krows()
    }
    /// Output pixels per image and channel.
    pub fn ohw(&self) -> usize {
        self.oh * self.ow
    }
}

/// Average pooling with a square window, no padding, on NCHW.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dSpec {
    /// Batch size times channels.
    pub nc: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Window size.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

/// Bilinear resize of NCHW planes (PyTorch `align_corners=False`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpsampleSpec {
    /// Batch size times channels.
    pub nc: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

/// A (batched) matrix product `C[b] = op(A[b]) op(B[b])`, row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulSpec {
    /// Number of products.
    pub batch: usize,
    /// Rows of op(A) and C.
    pub m: usize,
    /// Columns of op(B) and C.
    pub n: usize,
    /// Inner dimension.
    pub k: usize,
    /// A is stored k x m.
    pub trans_a: bool,
    /// B is stored n x k.
    pub trans_b: bool,
    /// One A shared by every product.
    pub broadcast_a: bool,
    /// One B shared by every product.
    pub broadcast_b: bool,
}

impl MatmulSpec {
    /// One plain product `C[m x n] = op(A) op(B)` with inner dimension `k`.
    pub fn single(m: usize, n: usize, k: usize, trans_a: bool, trans_b: bool) -> MatmulSpec {
        MatmulSpec {
            batch: 1,
            m,
            n,
            k,
            trans_a,
            trans_b,
            broadcast_a: false,
            broadcast_b: false,
        }
    }
}
