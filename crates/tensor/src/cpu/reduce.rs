//! Sum and max over any set of axes.

use super::PAR_MIN;
use crate::backend::ReduceOp;
use crate::op_table::reduce_row;
use crate::shape::Shape;
use rayon::prelude::*;

/// Groups consecutive axes that are all reduced or all kept (size-1 axes vanish), so the
/// loops below see at most alternating kept/reduced dimensions.
fn group(shape: &Shape, axes: &[usize]) -> (Vec<usize>, Vec<bool>) {
    let mut dims: Vec<usize> = Vec::new();
    let mut red: Vec<bool> = Vec::new();
    for (i, &d) in shape.dims().iter().enumerate() {
        if d == 1 {
            continue;
        }
        let r = axes.contains(&i);
        if red.last() == Some(&r) {
            *dims.last_mut().unwrap() *= d;
        } else {
            dims.push(d);
            red.push(r);
        }
    }
    (dims, red)
}

/// Offset in x of the `i`-th element (row-major) of the `(extent, stride)` dimensions `dims`.
fn offset(i: usize, dims: &[(usize, usize)]) -> usize {
    let (mut off, mut rem) = (0, i);
    for &(d, s) in dims.iter().rev() {
        off += (rem % d) * s;
        rem /= d;
    }
    off
}

/// Reduces the sorted, distinct `axes` of `shape`; the output is laid out in the keepdim shape.
pub fn reduce(x: &[f32], shape: &Shape, axes: &[usize], op: ReduceOp) -> Vec<f32> {
    let (dims, red) = group(shape, axes);
    let n_out: usize = dims
        .iter()
        .zip(&red)
        .filter(|(_, &r)| !r)
        .map(|(d, _)| d)
        .product();
    let (_, row) = reduce_row(op);
    let mut out = super::buffers::zeroed(n_out);
    if x.is_empty() {
        if row.identity != 0.0 {
            out.iter_mut().for_each(|o| *o = row.identity as f32);
        }
        return out;
    }
    let mut strides = vec![1usize; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * dims[i + 1];
    }
    let (run, combine, init) = (row.cpu_run, row.cpu_combine, row.identity);
    // A full reduction has one output: split the input itself across threads.
    if n_out == 1 {
        let v = if x.len() >= PAR_MIN {
            x.par_chunks(PAR_MIN).map(run).reduce(|| init, combine)
        } else {
            run(x)
        };
        out[0] = v as f32;
        return out;
    }
    let kept: Vec<(usize, usize)> = (0..dims.len())
        .filter(|&i| !red[i])
        .map(|i| (dims[i], strides[i]))
        .collect();
    let last_reduced = *red.last().unwrap();
    let (run_len, outer_red): (usize, Vec<(usize, usize)>) = {
        let mut r: Vec<(usize, usize)> = (0..dims.len())
            .filter(|&i| red[i])
            .map(|i| (dims[i], strides[i]))
            .collect();
        if last_reduced {
            let l = r.pop().unwrap().0;
            (l, r)
        } else {
            (1, r)
        }
    };
    let n_outer: usize = outer_red.iter().map(|d| d.0).product();
    if !last_reduced {
        // The innermost kept axis is contiguous in x and in out: accumulate whole rows into a
        // block of outputs instead of one strided walk per output (a bias gradient, the sum
        // over the batch of [64, 1000], was 64 000 one-element runs).
        let inner = *dims.last().unwrap();
        let outer_kept = &kept[..kept.len() - 1];
        let block = |b: usize, dst: &mut [f32], add: &dyn Fn(&mut [f64], &[f32])| {
            let base = offset(b, outer_kept);
            let mut acc = vec![init; inner];
            for t in 0..n_outer {
                let off = base + offset(t, &outer_red);
                add(&mut acc, &x[off..off + inner]);
            }
            for (o, a) in dst.iter_mut().zip(acc) {
                *o = a as f32;
            }
        };
        let add_row: &(dyn Fn(&mut [f64], &[f32]) + Sync) = match op {
            ReduceOp::Sum => &|acc, row| acc.iter_mut().zip(row).for_each(|(a, &v)| *a += v as f64),
            ReduceOp::Max => &move |acc, row| {
                acc.iter_mut()
                    .zip(row)
                    .for_each(|(a, &v)| *a = combine(*a, v as f64))
            },
        };
        if x.len() >= PAR_MIN {
            out.par_chunks_mut(inner)
                .enumerate()
                .for_each(|(b, dst)| block(b, dst, add_row));
        } else {
            out.chunks_mut(inner)
                .enumerate()
                .for_each(|(b, dst)| block(b, dst, add_row));
        }
        return out;
    }
    let one = |o: usize| -> f32 {
        let base = offset(o, &kept);
        let mut acc = init;
        for t in 0..n_outer {
            let off = base + offset(t, &outer_red);
            acc = combine(acc, run(&x[off..off + run_len]));
        }
        acc as f32
    };
    if x.len() >= PAR_MIN {
        out.par_iter_mut()
            .enumerate()
            .for_each(|(o, v)| *v = one(o));
    } else {
        out.iter_mut().enumerate().for_each(|(o, v)| *v = one(o));
    }
    out
}
