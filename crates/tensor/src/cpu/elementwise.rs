//! Elementwise unary and broadcasting binary kernels.

use super::PAR_MIN;
use crate::backend::{BinaryOp, UnaryOp};
use crate::shape::Shape;
use rayon::prelude::*;

#[inline(always)]
fn unary_scalar(x: f32, op: UnaryOp) -> f32 {
    match op {
        UnaryOp::Neg => -x,
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Abs => x.abs(),
        UnaryOp::Sign => {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        UnaryOp::Relu => x.max(0.0),
        UnaryOp::Step => (x > 0.0) as u8 as f32,
        UnaryOp::LeakyRelu(a) => {
            if x > 0.0 {
                x
            } else {
                a * x
            }
        }
        UnaryOp::LeakyReluGrad(a) => {
            if x > 0.0 {
                1.0
            } else {
                a
            }
        }
        UnaryOp::Sigmoid => {
            // Two branches keep exp() from overflowing for large |x|.
            if x >= 0.0 {
                1.0 / (1.0 + (-x).exp())
            } else {
                let e = x.exp();
                e / (1.0 + e)
            }
        }
        UnaryOp::Tanh => x.tanh(),
        UnaryOp::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
        UnaryOp::Clamp(lo, hi) => x.max(lo).min(hi),
        UnaryOp::ClampMask(lo, hi) => (x >= lo && x <= hi) as u8 as f32,
        UnaryOp::Powf(p) => x.powf(p),
        UnaryOp::Affine(a, b) => a * x + b,
        UnaryOp::Recip => 1.0 / x,
    }
}

/// Applies `op` to every element.
pub fn unary(a: &[f32], op: UnaryOp) -> Vec<f32> {
    let mut out = vec![0.0f32; a.len()];
    let f = |(o, x): (&mut [f32], &[f32])| {
        for (o, &x) in o.iter_mut().zip(x) {
            *o = unary_scalar(x, op);
        }
    };
    if a.len() >= PAR_MIN {
        out.par_chunks_mut(PAR_MIN / 4)
            .zip(a.par_chunks(PAR_MIN / 4))
            .for_each(f);
    } else {
        f((&mut out, a));
    }
    out
}

#[inline(always)]
fn binary_scalar(a: f32, b: f32, op: BinaryOp) -> f32 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Maximum => a.max(b),
        BinaryOp::Minimum => a.min(b),
        BinaryOp::Ge => (a >= b) as u8 as f32,
        BinaryOp::Le => (a <= b) as u8 as f32,
        BinaryOp::Eq => (a == b) as u8 as f32,
    }
}

/// Merges adjacent dimensions that every stride list walks contiguously, so that the
/// innermost loop is as long as possible. Returns the merged dims and stride lists.
pub(crate) fn collapse(dims: &[usize], strides: &[Vec<usize>]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut d: Vec<usize> = Vec::new();
    let mut s: Vec<Vec<usize>> = vec![Vec::new(); strides.len()];
    for i in 0..dims.len() {
        if dims[i] == 1 {
            continue;
        }
        let mergeable = !d.is_empty()
            && strides
                .iter()
                .zip(&s)
                .all(|(st, cur)| *cur.last().unwrap() == st[i] * dims[i]);
        if mergeable {
            *d.last_mut().unwrap() *= dims[i];
            for (cur, st) in s.iter_mut().zip(strides) {
                *cur.last_mut().unwrap() = st[i];
            }
        } else {
            d.push(dims[i]);
            for (cur, st) in s.iter_mut().zip(strides) {
                cur.push(st[i]);
            }
        }
    }
    if d.is_empty() {
        d.push(1);
        for cur in s.iter_mut() {
            cur.push(0);
        }
    }
    (d, s)
}

/// Offsets of row `row` (a multi-index over all but the last dim) in each operand.
#[inline]
pub(crate) fn row_offsets(mut row: usize, dims: &[usize], strides: &[&[usize]], out: &mut [usize]) {
    out.iter_mut().for_each(|o| *o = 0);
    for ax in (0..dims.len() - 1).rev() {
        let i = row % dims[ax];
        row /= dims[ax];
        for (o, s) in out.iter_mut().zip(strides) {
            *o += i * s[ax];
        }
    }
}

/// `op(a, b)` with NumPy broadcasting of `a_shape` and `b_shape` to `out_shape`.
pub fn binary(
    a: &[f32],
    a_shape: &Shape,
    b: &[f32],
    b_shape: &Shape,
    out_shape: &Shape,
    op: BinaryOp,
) -> Vec<f32> {
    let n = out_shape.numel();
    let mut out = vec![0.0f32; n];
    if n == 0 {
        return out;
    }
    let (dims, st) = collapse(
        out_shape.dims(),
        &[
            a_shape.broadcast_strides(out_shape),
            b_shape.broadcast_strides(out_shape),
        ],
    );
    let (sa, sb) = (&st[0], &st[1]);
    let inner = *dims.last().unwrap();
    let (ia, ib) = (*sa.last().unwrap(), *sb.last().unwrap());
    let rows_per_chunk = (PAR_MIN / inner).max(1);
    let work = |(chunk_idx, chunk): (usize, &mut [f32])| {
        let mut offs = [0usize; 2];
        for (r, orow) in chunk.chunks_mut(inner).enumerate() {
            let row = chunk_idx * rows_per_chunk + r;
            row_offsets(row, &dims, &[sa, sb], &mut offs);
            let (oa, ob) = (offs[0], offs[1]);
            match (ia, ib) {
                (1, 1) => {
                    for ((o, &x), &y) in orow
                        .iter_mut()
                        .zip(&a[oa..oa + inner])
                        .zip(&b[ob..ob + inner])
                    {
                        *o = binary_scalar(x, y, op);
                    }
                }
                (1, 0) => {
                    let y = b[ob];
                    for (o, &x) in orow.iter_mut().zip(&a[oa..oa + inner]) {
                        *o = binary_scalar(x, y, op);
                    }
                }
                (0, 1) => {
                    let x = a[oa];
                    for (o, &y) in orow.iter_mut().zip(&b[ob..ob + inner]) {
                        *o = binary_scalar(x, y, op);
                    }
                }
                _ => {
                    for (j, o) in orow.iter_mut().enumerate() {
                        *o = binary_scalar(a[oa + j * ia], b[ob + j * ib], op);
                    }
                }
            }
        }
    };
    let chunk_len = rows_per_chunk * inner;
    if n >= PAR_MIN {
        out.par_chunks_mut(chunk_len).enumerate().for_each(work);
    } else {
        out.chunks_mut(chunk_len).enumerate().for_each(work);
    }
    out
}
