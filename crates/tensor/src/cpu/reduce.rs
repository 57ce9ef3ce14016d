//! Sum and max over any set of axes.

use super::PAR_MIN;
use crate::backend::ReduceOp;
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

fn run_sum(x: &[f32]) -> f64 {
    // Eight independent accumulators let the compiler vectorise; f64 keeps large sums exact enough.
    let mut acc = [0f64; 8];
    let chunks = x.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i] as f64;
        }
    }
    acc.iter().sum::<f64>() + rem.iter().map(|&v| v as f64).sum::<f64>()
}

fn run_max(x: &[f32]) -> f64 {
    x.iter().fold(
        f32::NEG_INFINITY,
        |m, &v| if v > m || v.is_nan() { v } else { m },
    ) as f64
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
    let mut out = super::buffers::zeroed(n_out);
    if x.is_empty() {
        if op == ReduceOp::Max {
            out.iter_mut().for_each(|o| *o = f32::NEG_INFINITY);
        }
        return out;
    }
    let mut strides = vec![1usize; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * dims[i + 1];
    }
    let run = |s: &[f32]| match op {
        ReduceOp::Sum => run_sum(s),
        ReduceOp::Max => run_max(s),
    };
    let combine = |a: f64, b: f64| match op {
        ReduceOp::Sum => a + b,
        ReduceOp::Max => {
            if b > a || b.is_nan() {
                b
            } else {
                a
            }
        }
    };
    let init = match op {
        ReduceOp::Sum => 0.0,
        ReduceOp::Max => f64::NEG_INFINITY,
    };
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
    let one = |o: usize| -> f32 {
        let mut base = 0;
        let mut rem = o;
        for &(d, s) in kept.iter().rev() {
            base += (rem % d) * s;
            rem /= d;
        }
        let mut acc = init;
        for t in 0..n_outer {
            let mut off = base;
            let mut rem = t;
            for &(d, s) in outer_red.iter().rev() {
                off += (rem % d) * s;
                rem /= d;
            }
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
