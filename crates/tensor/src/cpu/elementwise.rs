//! Elementwise unary and broadcasting binary kernels.

use super::PAR_MIN;
use crate::backend::{BinaryOp, UnaryOp};
use crate::op_table::{binary_row, UnaryMap};
use crate::shape::Shape;
use rayon::prelude::*;

/// A pooled output of `n` floats, filled by `fill(start, chunk)` writing
/// `out[start..start + chunk.len()]`, in parallel chunks when `n` is large.
fn fill_chunks(n: usize, fill: impl Fn(usize, &mut [f32]) + Sync) -> Vec<f32> {
    let mut out = super::buffers::for_overwrite(n);
    if n >= PAR_MIN {
        out.par_chunks_mut(PAR_MIN / 4)
            .enumerate()
            .for_each(|(i, o)| fill(i * (PAR_MIN / 4), o));
    } else {
        fill(0, &mut out);
    }
    out
}

/// Applies `f` to every element, in parallel chunks for large inputs. Generic over `f` so
/// that each op gets its own loop the compiler can vectorise (no per-element op dispatch).
fn map_unary(a: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    fill_chunks(a.len(), |s, o| {
        for (o, &x) in o.iter_mut().zip(&a[s..]) {
            *o = f(x);
        }
    })
}

/// The op table's CPU loop: `map_unary` with one op's scalar function.
struct MapSlice<'a>(&'a [f32]);

impl UnaryMap for MapSlice<'_> {
    type Output = Vec<f32>;
    fn map<F: Fn(f32) -> f32 + Send + Sync + Copy>(self, f: F) -> Vec<f32> {
        map_unary(self.0, f)
    }
}

/// Applies `op` to every element.
pub fn unary(a: &[f32], op: UnaryOp) -> Vec<f32> {
    match op {
        // Common powers without powf (checked against the row by the op-table test).
        UnaryOp::Powf(2.0) => map_unary(a, |x| x * x),
        UnaryOp::Powf(1.0) => map_unary(a, |x| x),
        UnaryOp::Powf(0.5) => map_unary(a, f32::sqrt),
        other => other.map_cpu(MapSlice(a)),
    }
}

/// The op table's CPU loop for a derivative mask applied to a gradient: `g[i] * f(x[i])`.
struct MulMapped<'a> {
    g: &'a [f32],
    x: &'a [f32],
}

impl UnaryMap for MulMapped<'_> {
    type Output = Vec<f32>;
    fn map<F: Fn(f32) -> f32 + Send + Sync + Copy>(self, f: F) -> Vec<f32> {
        let (g, x) = (self.g, self.x);
        fill_chunks(x.len(), |s, o| {
            for ((o, &g), &x) in o.iter_mut().zip(&g[s..]).zip(&x[s..]) {
                *o = g * f(x);
            }
        })
    }
}

/// `g * mask(x)` elementwise in one pass (the backward rule of ReLU-like ops, whose mask
/// is otherwise written out and read back by a separate product).
///
/// # Panics
/// If `g` and `x` differ in length.
pub fn mul_by_unary(g: &[f32], x: &[f32], mask: UnaryOp) -> Vec<f32> {
    assert_eq!(g.len(), x.len(), "mul_by_unary: g and x lengths differ");
    mask.map_cpu(MulMapped { g, x })
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
    let mut out = super::buffers::for_overwrite(n);
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
    let geo = Rows {
        dims: &dims,
        sa,
        sb,
        inner,
        ia,
        ib,
        rows_per_chunk,
    };
    match op {
        BinaryOp::Add => geo.run(&mut out, a, b, |x, y| x + y),
        BinaryOp::Sub => geo.run(&mut out, a, b, |x, y| x - y),
        BinaryOp::Mul => geo.run(&mut out, a, b, |x, y| x * y),
        BinaryOp::Div => geo.run(&mut out, a, b, |x, y| x / y),
        // The table's functions again, named so that they inline and vectorise (through the
        // row's fn pointer, one call per element was half the time of the AD loss's pairs).
        BinaryOp::Maximum => geo.run(&mut out, a, b, f32::max),
        BinaryOp::Minimum => geo.run(&mut out, a, b, f32::min),
        BinaryOp::Ge => geo.run(&mut out, a, b, |x, y| (x >= y) as u8 as f32),
        BinaryOp::Le => geo.run(&mut out, a, b, |x, y| (x <= y) as u8 as f32),
        other => geo.run(&mut out, a, b, binary_row(other).1.cpu),
    }
    out
}

/// The row geometry of a broadcast binary op after dimension collapsing.
struct Rows<'a> {
    dims: &'a [usize],
    sa: &'a [usize],
    sb: &'a [usize],
    inner: usize,
    ia: usize,
    ib: usize,
    rows_per_chunk: usize,
}

impl Rows<'_> {
    /// Fills `out` row by row; generic over `f` so each op's inner loop is specialised.
    fn run(&self, out: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) {
        let (inner, ia, ib) = (self.inner, self.ia, self.ib);
        let work = |(chunk_idx, chunk): (usize, &mut [f32])| {
            let mut offs = [0usize; 2];
            for (r, orow) in chunk.chunks_mut(inner).enumerate() {
                let row = chunk_idx * self.rows_per_chunk + r;
                row_offsets(row, self.dims, &[self.sa, self.sb], &mut offs);
                let (oa, ob) = (offs[0], offs[1]);
                match (ia, ib) {
                    (1, 1) => {
                        for ((o, &x), &y) in orow
                            .iter_mut()
                            .zip(&a[oa..oa + inner])
                            .zip(&b[ob..ob + inner])
                        {
                            *o = f(x, y);
                        }
                    }
                    (1, 0) => {
                        let y = b[ob];
                        for (o, &x) in orow.iter_mut().zip(&a[oa..oa + inner]) {
                            *o = f(x, y);
                        }
                    }
                    (0, 1) => {
                        let x = a[oa];
                        for (o, &y) in orow.iter_mut().zip(&b[ob..ob + inner]) {
                            *o = f(x, y);
                        }
                    }
                    _ => {
                        for (j, o) in orow.iter_mut().enumerate() {
                            *o = f(a[oa + j * ia], b[ob + j * ib]);
                        }
                    }
                }
            }
        };
        let chunk_len = self.rows_per_chunk * inner;
        if out.len() >= PAR_MIN {
            out.par_chunks_mut(chunk_len).enumerate().for_each(work);
        } else {
            out.chunks_mut(chunk_len).enumerate().for_each(work);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass masked product equals the mask written out and multiplied, for every
    /// derivative mask, on a threaded length (not a multiple of the chunk) and a short one.
    #[test]
    fn mul_by_unary_matches_mask_then_product() {
        for n in [5, 3 * PAR_MIN + 7] {
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 37) % 101) as f32 / 25.0 - 2.0)
                .collect();
            let g: Vec<f32> = (0..n).map(|i| ((i * 11) % 23) as f32 - 11.0).collect();
            for mask in [
                UnaryOp::Step,
                UnaryOp::Sign,
                UnaryOp::LeakyReluGrad(0.2),
                UnaryOp::ClampMask(-1.0, 0.5),
            ] {
                let m = unary(&x, mask);
                let want: Vec<f32> = g.iter().zip(&m).map(|(g, m)| g * m).collect();
                assert_eq!(mul_by_unary(&g, &x, mask), want, "{mask:?}, n = {n}");
            }
        }
    }
}
