//! The native CPU backend: multi-threaded (rayon) kernels on host slices. It is the reference
//! for every WGSL kernel and a real backend for machines without a GPU.

pub mod conv;
pub mod elementwise;
pub mod gemm;
pub mod layout;
pub mod optim;
pub mod pool;
pub mod reduce;

use crate::backend::MatmulSpec;

/// Below this many elements a kernel runs on the calling thread: rayon's fork/join costs more.
pub(crate) const PAR_MIN: usize = 1 << 15;

/// Batched matrix product on host slices.
pub fn matmul(a: &[f32], b: &[f32], s: MatmulSpec) -> Vec<f32> {
    let mut c = vec![0.0; s.batch * s.m * s.n];
    gemm::sgemm_batched(
        s.batch,
        s.m,
        s.n,
        s.k,
        a,
        s.trans_a,
        s.broadcast_a,
        b,
        s.trans_b,
        s.broadcast_b,
        &mut c,
        false,
    );
    c
}
