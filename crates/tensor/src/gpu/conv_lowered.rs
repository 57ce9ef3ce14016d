//! conv2d lowered to the vec4 matmul for CPU adapters (register kernels): im2col + GEMM for
//! the forward pass, GEMM + col2im for backward-data, im2col + split-K GEMM for
//! backward-weight. On llvmpipe every per-invocation load is a gather, so gathering each input
//! value once (im2col) and then running the vec4 matmul beats the implicit-GEMM kernels of
//! `conv.wgsl` several times over; those remain for shapes the vec4 matmul cannot take.

use super::params::ConvParams;
use super::{dispatch, kernel, GpuStorage, Kernels};
use crate::backend::ReduceOp;
use crate::error::Result;
use crate::geometry::{Conv2dGeometry, MatmulSpec};
use crate::shape::Shape;

/// Writes im2col of images `first..first + count` in groups of `gc` images into `cols`.
fn im2col(
    x: &GpuStorage,
    cols: &GpuStorage,
    g: &Conv2dGeometry,
    first: usize,
    count: usize,
    gc: usize,
) {
    let dev = x.device();
    let p = ConvParams {
        first_image: first as u32,
        images: count as u32,
        images_per_group: gc as u32,
        ..ConvParams::of(g)
    };
    let rows = count * g.c_in * g.kh * g.kw;
    let k = if g.ow.is_multiple_of(4) {
        kernel!("im2col.wgsl", "main", ConvParams, &[])
    } else {
        kernel!("conv.wgsl", "im2col", ConvParams, &[])
    };
    dispatch(
        dev,
        &k,
        &p,
        &[x],
        &[cols],
        dev.ctx.grid(rows.div_ceil(64) as u64),
    );
}

/// Most floats of one im2col matrix (64 MiB): larger batches run in groups of images.
const COLS_MAX: usize = 1 << 24;

/// Forward pass lowered to im2col + the vec4 batched matmul, in groups of images.
pub(crate) fn forward(x: &GpuStorage, w: &GpuStorage, g: &Conv2dGeometry) -> Result<GpuStorage> {
    let dev = x.device();
    let npix = g.oh * g.ow;
    let kk = g.c_in * g.kh * g.kw;
    let per_image = kk * npix;
    if npix < 64 && g.n * per_image <= COLS_MAX {
        // Small images: one product over all images' pixels (W * cols[K, n*npix]) fills the
        // matmul's 64-column tiles; the result [c_out, n, npix] is then permuted to NCHW.
        let cols = GpuStorage::empty(dev, g.n * per_image)?;
        im2col(x, &cols, g, 0, g.n, g.n);
        let spec = MatmulSpec {
            batch: 1,
            m: g.c_out,
            n: g.n * npix,
            k: kk,
            trans_a: false,
            trans_b: false,
            broadcast_a: false,
            broadcast_b: false,
        };
        let y = super::matmul::matmul(w, &cols, spec)?;
        return super::layout::permute(&y, &Shape::from(vec![g.c_out, g.n, npix]), &[1, 0, 2]);
    }
    let group = (COLS_MAX / per_image).clamp(1, g.n);
    let cols = GpuStorage::empty(dev, group * per_image)?;
    let mut parts = Vec::new();
    for first in (0..g.n).step_by(group) {
        let count = group.min(g.n - first);
        im2col(x, &cols, g, first, count, 1);
        let spec = MatmulSpec {
            batch: count,
            m: g.c_out,
            n: npix,
            k: kk,
            trans_a: false,
            trans_b: false,
            broadcast_a: true,
            broadcast_b: false,
        };
        parts.push(super::matmul::matmul(w, &cols, spec)?);
    }
    if parts.len() == 1 {
        return Ok(parts.pop().expect("one part"));
    }
    let shapes: Vec<Shape> = parts
        .iter()
        .map(|s| Shape::from(vec![s.len() / (g.c_out * npix), g.c_out * npix]))
        .collect();
    let refs: Vec<(&GpuStorage, &Shape)> = parts.iter().zip(&shapes).collect();
    super::layout::concat(&refs, 0)
}

/// dx = col2im(w^T dy) when the shapes suit the vec4 matmul; None otherwise.
pub(crate) fn backward_data(
    dy: &GpuStorage,
    w: &GpuStorage,
    g: &Conv2dGeometry,
) -> Result<Option<GpuStorage>> {
    let dev = dy.device();
    let npix = g.oh * g.ow;
    let kk = g.c_in * g.kh * g.kw;
    if dev.kernels != Kernels::Register
        || !npix.is_multiple_of(4)
        || !g.c_out.is_multiple_of(4)
        || g.n * kk * npix > COLS_MAX
    {
        return Ok(None);
    }
    let wt = super::layout::permute(w, &Shape::from(vec![g.c_out, kk]), &[1, 0])?;
    // Small images: one product over all images (dy permuted to [c_out, n, npix]), as in
    // the forward pass; otherwise one product per image.
    let all = npix < 64;
    let dyp;
    let (b, batch, n) = if all {
        dyp = super::layout::permute(dy, &Shape::from(vec![g.n, g.c_out, npix]), &[1, 0, 2])?;
        (&dyp, 1, g.n * npix)
    } else {
        (dy, g.n, npix)
    };
    let spec = MatmulSpec {
        batch,
        m: kk,
        n,
        k: g.c_out,
        trans_a: false,
        trans_b: false,
        broadcast_a: true,
        broadcast_b: false,
    };
    let dcols = super::matmul::matmul(&wt, b, spec)?;
    let dx = GpuStorage::empty(dev, g.n * g.c_in * g.h * g.w)?;
    let k = kernel!("conv.wgsl", "col2im", ConvParams, &[]);
    let rows = g.n * g.c_in * g.h;
    let p = ConvParams {
        images_per_group: if all { g.n as u32 } else { 1 },
        ..ConvParams::of(g)
    };
    dispatch(
        dev,
        &k,
        &p,
        &[&dcols],
        &[&dx],
        dev.ctx.grid(rows.div_ceil(64) as u64),
    );
    Ok(Some(dx))
}

/// dw = sum over image groups of dy_group cols_group^T (split-K as a batched vec4 matmul)
/// when the shapes suit it; None otherwise.
pub(crate) fn backward_weight(
    x: &GpuStorage,
    dy: &GpuStorage,
    g: &Conv2dGeometry,
) -> Result<Option<GpuStorage>> {
    let dev = x.device();
    let npix = g.oh * g.ow;
    let kk = g.c_in * g.kh * g.kw;
    if dev.kernels != Kernels::Register
        || !npix.is_multiple_of(4)
        || !g.c_out.is_multiple_of(4)
        || g.n * kk * npix > COLS_MAX
    {
        return Ok(None);
    }
    // Image groups: about 16 products to keep both llvmpipe threads busy; gc divides n so
    // that every product has the same size.
    let mut gc = g.n.div_ceil(16);
    while !g.n.is_multiple_of(gc) {
        gc -= 1;
    }
    let groups = g.n / gc;
    let cols = GpuStorage::empty(dev, g.n * kk * npix)?;
    im2col(x, &cols, g, 0, g.n, gc);
    let dyt = super::layout::permute(dy, &Shape::from(vec![g.n, g.c_out, npix]), &[0, 2, 1])?;
    let spec = MatmulSpec {
        batch: groups,
        m: kk,
        n: g.c_out,
        k: gc * npix,
        trans_a: false,
        trans_b: false,
        broadcast_a: false,
        broadcast_b: false,
    };
    let partial = super::matmul::matmul(&cols, &dyt, spec)?;
    let dwt = if groups > 1 {
        super::reduce::reduce(
            &partial,
            &Shape::from(vec![groups, kk * g.c_out]),
            &[0],
            ReduceOp::Sum,
        )?
    } else {
        partial
    };
    Ok(Some(super::layout::permute(
        &dwt,
        &Shape::from(vec![kk, g.c_out]),
        &[1, 0],
    )?))
}
