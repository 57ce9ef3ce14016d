//! Placeholder GEMM (naive); replaced by the packed, multi-threaded kernel.

/// C[m x n] (= or +=) op(A) * op(B).
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    trans_a: bool,
    b: &[f32],
    trans_b: bool,
    c: &mut [f32],
    accumulate: bool,
) {
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f32;
            for p in 0..k {
                let av = if trans_a { a[p * m + i] } else { a[i * k + p] };
                let bv = if trans_b { b[j * k + p] } else { b[p * n + j] };
                s += av * bv;
            }
            if accumulate {
                c[i * n + j] += s;
            } else {
                c[i * n + j] = s;
            }
        }
    }
}

/// Batched sgemm; `broadcast_a`/`broadcast_b` share one matrix across the batch.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_batched(
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    trans_a: bool,
    broadcast_a: bool,
    b: &[f32],
    trans_b: bool,
    broadcast_b: bool,
    c: &mut [f32],
    accumulate: bool,
) {
    for i in 0..batch {
        let ai = if broadcast_a { 0 } else { i * m * k };
        let bi = if broadcast_b { 0 } else { i * k * n };
        sgemm(
            m,
            n,
            k,
            &a[ai..ai + m * k],
            trans_a,
            &b[bi..bi + k * n],
            trans_b,
            &mut c[i * m * n..(i + 1) * m * n],
            accumulate,
        );
    }
}
