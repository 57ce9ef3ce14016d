//! Multi-threaded f32 matrix multiplication on row-major slices.
//!
//! The single-threaded inner kernel is our packed GEMM on the active ISA
//! path (`gemm_avx512`, `gemm_avx2`), and `matrixmultiply` on the portable
//! path. Parallelism is ours and runs
//! on rayon's pool, so the engine has one thread pool and kernels called
//! from inside rayon tasks (conv) never oversubscribe.

use crate::geometry::MatmulSpec;
use rayon::prelude::*;

/// Below this many flops a product runs on the calling thread: splitting it
/// costs more than it gains.
const PAR_MIN_FLOPS: usize = 1 << 21;

/// A raw mutable pointer that may cross into rayon tasks; every task writes a
/// disjoint block of C, which is what makes sharing it sound.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr(pub(crate) *mut f32);
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
impl SendPtr {
    // A method call makes closures capture the whole (Send) wrapper rather
    // than its raw-pointer field.
    pub(crate) fn get(self) -> *mut f32 {
        self.0
    }
}

/// Strided view of a matrix operand: element (i, j) is at `ptr + i*rs + j*cs`.
#[derive(Clone, Copy)]
pub(crate) struct Strided {
    pub ptr: *const f32,
    pub rs: isize,
    pub cs: isize,
}
unsafe impl Send for Strided {}
unsafe impl Sync for Strided {}

/// Sizes of one product `C[m x n] = A[m x k] B[k x n]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dims {
    pub m: usize,
    pub n: usize,
    pub k: usize,
}

/// Strided view of the output matrix: element (i, j) is at `ptr + i*rs + j*cs`.
#[derive(Clone, Copy)]
pub(crate) struct StridedMut {
    pub ptr: *mut f32,
    pub rs: isize,
    pub cs: isize,
}

impl StridedMut {
    /// A contiguous row-major matrix with `cols` columns.
    pub(crate) fn rows(ptr: *mut f32, cols: usize) -> Self {
        StridedMut {
            ptr,
            rs: cols as isize,
            cs: 1,
        }
    }
}

/// One register tile of C as a SIMD micro-kernel writes it: `mr x nr` (at most the kernel's
/// full tile) at `ptr`, rows `rs` floats apart, added to the old values when `accumulate`.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct CTile {
    pub ptr: *mut f32,
    pub rs: isize,
    pub mr: usize,
    pub nr: usize,
    pub accumulate: bool,
}

/// The operands of `C[m x n] += A * B^T` as [`dot_nt`] reads them: A's m rows and B's n rows
/// are each `len` contiguous floats, `lda` and `ldb` apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DotShape {
    pub m: usize,
    pub n: usize,
    pub len: usize,
    pub lda: usize,
    pub ldb: usize,
}

impl Strided {
    /// Row-major storage with `cols_stored` columns, seen through an optional transpose.
    fn of(ptr: *const f32, cols_stored: usize, trans: bool) -> Self {
        if trans {
            Strided {
                ptr,
                rs: 1,
                cs: cols_stored as isize,
            }
        } else {
            Strided {
                ptr,
                rs: cols_stored as isize,
                cs: 1,
            }
        }
    }
}

/// Packs rows `[p0, p0+kc)` x columns `[j0, j0+nc)` of B as `panel_cols`-wide panels,
/// k-major inside a panel: element (p, j) lands at `dst[(j/w)*kc*w + p*w + j%w]` (w is
/// `panel_cols`), and the last panel's columns past `nc` are zero. Both SIMD paths pack an
/// untransposed B with this (a transposed one they transpose in registers).
///
/// With unit column stride it walks eight rows at a time across every panel. Panel by panel,
/// each read was one panel's width a whole row of B away (4 KiB at n = 1024): a new page per
/// read, which no prefetcher follows, and packing B was 4.7% of a 1024^3 product on the avx2
/// path's two threads (1.0% this way). Inlined so that, with the caller's constant panel
/// width, the copies become its vectors.
///
/// # Safety
/// B covers `[p0, p0+kc) x [j0, j0+nc)` (strided); `dst` holds
/// `nc.next_multiple_of(panel_cols) * kc` floats.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) unsafe fn pack_b_panels(
    panel_cols: usize,
    kc: usize,
    nc: usize,
    b: Strided,
    p0: usize,
    j0: usize,
    dst: *mut f32,
) {
    let at = |p: usize, j: usize| {
        b.ptr
            .offset((p0 + p) as isize * b.rs + (j0 + j) as isize * b.cs)
    };
    // Panels copied whole from contiguous rows: all but a ragged last one (none if strided).
    let full = if b.cs == 1 {
        nc / panel_cols * panel_cols
    } else {
        0
    };
    for pb in (0..kc).step_by(8) {
        for jr in (0..full).step_by(panel_cols) {
            let panel = dst.add(jr * kc);
            for p in pb..(pb + 8).min(kc) {
                std::ptr::copy_nonoverlapping(at(p, jr), panel.add(p * panel_cols), panel_cols);
            }
        }
    }
    for jr in (full..nc).step_by(panel_cols) {
        let nr = panel_cols.min(nc - jr);
        let panel = dst.add(jr * kc);
        for p in 0..kc {
            for j in 0..panel_cols {
                *panel.add(p * panel_cols + j) = if j < nr { *at(p, jr + j) } else { 0.0 };
            }
        }
    }
}

/// While packing the A panel whose first row is at `panel` (rows `rs` floats apart, `mr` rows
/// a panel, `rows_left` rows from this panel to the block's end), asks for column `p`'s line
/// in each row of the next panel, so those lines arrive a panel ahead of their loads. Rows a
/// whole row of A apart are short separate streams that the hardware prefetchers start late:
/// without this, four fifths of packing A sat on its loads (4.2% of a 1024^3 product on the
/// avx2 path's two threads, 3.0% with it). Call it once per 16 floats of k. Safe for any
/// address: the addresses are formed with wrapping arithmetic, and a prefetch never faults.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn prefetch_next_panel(
    panel: *const f32,
    rs: isize,
    mr: usize,
    rows_left: usize,
    p: usize,
) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    let next = panel.wrapping_offset(mr as isize * rs);
    for i in 0..rows_left.saturating_sub(mr).min(mr) {
        let line = next.wrapping_offset(i as isize * rs).wrapping_add(p);
        // SAFETY: a prefetch reads nothing and cannot fault.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line as *const i8) };
    }
}

/// Single-threaded `C = beta*C + A*B` on strided operands. `beta` is 0 or 1;
/// with 0, C is written without being read (so stale NaNs do not leak).
///
/// # Safety
/// All pointers must cover the strided extents of an m x k, k x n and m x n
/// matrix, and C must not alias A or B.
pub(crate) unsafe fn gemm_seq(d: Dims, a: Strided, b: Strided, c: StridedMut, beta: f32) {
    let Dims { m, n, k } = d;
    let StridedMut {
        ptr: c,
        rs: rsc,
        cs: csc,
    } = c;
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if beta == 0.0 {
            for i in 0..m as isize {
                for j in 0..n as isize {
                    *c.offset(i * rsc + j * csc) = 0.0;
                }
            }
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if csc == 1 {
        match super::isa::active() {
            super::isa::Isa::Avx512 => {
                return super::gemm_avx512::gemm(d, a, b, c, rsc, beta != 0.0)
            }
            super::isa::Isa::Avx2 => return super::gemm_avx2::gemm(d, a, b, c, rsc, beta != 0.0),
            super::isa::Isa::Portable | super::isa::Isa::Neon => {}
        }
    }
    matrixmultiply::sgemm(
        m, k, n, 1.0, a.ptr, a.rs, a.cs, b.ptr, b.rs, b.cs, beta, c, rsc, csc,
    );
}

/// `C[m x n] += A * B^T` where A's m rows and B's n rows are each `len`
/// contiguous floats (row strides `lda`, `ldb`): every entry is a dot
/// product. Meant for tiny m*n with a long `len` (the weight gradient of a
/// conv with one input or output channel), where GEMM packing would copy far
/// more than it computes.
pub(crate) fn dot_nt(s: DotShape, a: &[f32], b: &[f32], c: &mut [f32]) {
    let DotShape {
        m,
        n,
        len,
        lda,
        ldb,
    } = s;
    assert!(c.len() >= m * n);
    if m == 0 || n == 0 || len == 0 {
        return;
    }
    assert!(a.len() >= (m - 1) * lda + len && b.len() >= (n - 1) * ldb + len);
    #[cfg(target_arch = "x86_64")]
    match super::isa::active() {
        // SAFETY: feature detected (the active path never exceeds it);
        // extents asserted above.
        super::isa::Isa::Avx512 => {
            return unsafe { super::gemm_avx512::dot_nt(s, a.as_ptr(), b.as_ptr(), c) };
        }
        super::isa::Isa::Avx2 => {
            return unsafe { super::gemm_avx2::dot_nt(s, a.as_ptr(), b.as_ptr(), c) };
        }
        super::isa::Isa::Portable | super::isa::Isa::Neon => {}
    }
    for i in 0..m {
        for j in 0..n {
            let (ai, bj) = (&a[i * lda..][..len], &b[j * ldb..][..len]);
            c[i * n + j] += ai.iter().zip(bj).map(|(x, y)| x * y).sum::<f32>();
        }
    }
}

/// Multi-threaded `gemm_seq`: C is cut into as many row or column panels as
/// there are rayon threads, along its longer side (columns when square).
///
/// # Safety
/// As for [`gemm_seq`].
pub(crate) unsafe fn gemm_par(d: Dims, a: Strided, b: Strided, c: StridedMut, beta: f32) {
    let Dims { m, n, k } = d;
    let threads = rayon::current_num_threads();
    if threads <= 1 || 2 * m * n * k < PAR_MIN_FLOPS {
        return gemm_seq(d, a, b, c, beta);
    }
    let StridedMut {
        ptr: c,
        rs: rsc,
        cs: csc,
    } = c;
    // Square products split by columns: each thread then packs only its half of B, where a
    // row split had both threads pack all of it (1024^3 on two threads: 6 of 6 interleaved
    // runs faster by columns, 2-10%, on both SIMD paths).
    let split_rows = m > n;
    let len = if split_rows { m } else { n };
    // Multiples of 16 so a column split never cuts a 16-lane vector of C.
    let align = 16;
    let per = len.div_ceil(threads).div_ceil(align) * align;
    let tasks = len.div_ceil(per);
    let cp = SendPtr(c);
    (0..tasks).into_par_iter().for_each(|t| {
        let lo = t * per;
        let sz = per.min(len - lo);
        let lo_i = lo as isize;
        if split_rows {
            let a2 = Strided {
                ptr: a.ptr.offset(lo_i * a.rs),
                ..a
            };
            let c2 = StridedMut {
                ptr: cp.get().offset(lo_i * rsc),
                rs: rsc,
                cs: csc,
            };
            gemm_seq(Dims { m: sz, ..d }, a2, b, c2, beta);
        } else {
            let b2 = Strided {
                ptr: b.ptr.offset(lo_i * b.cs),
                ..b
            };
            let c2 = StridedMut {
                ptr: cp.get().offset(lo_i * csc),
                rs: rsc,
                cs: csc,
            };
            gemm_seq(Dims { n: sz, ..d }, a, b2, c2, beta);
        }
    });
}

/// One product `C[m x n] (= or +=) op(A) * op(B)` (`s.batch` is ignored): see [`sgemm`].
fn sgemm_single(s: MatmulSpec, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    let MatmulSpec { m, n, k, .. } = s;
    assert_eq!(
        a.len(),
        m * k,
        "sgemm: A has {} elements, expected {}",
        a.len(),
        m * k
    );
    assert_eq!(
        b.len(),
        k * n,
        "sgemm: B has {} elements, expected {}",
        b.len(),
        k * n
    );
    assert_eq!(
        c.len(),
        m * n,
        "sgemm: C has {} elements, expected {}",
        c.len(),
        m * n
    );
    let (sa, sb) = operands(s, a.as_ptr(), b.as_ptr());
    let beta = if accumulate { 1.0 } else { 0.0 };
    let c = StridedMut::rows(c.as_mut_ptr(), n);
    // SAFETY: lengths were checked above and C is a distinct &mut slice.
    unsafe { gemm_par(Dims { m, n, k }, sa, sb, c, beta) }
}

/// Strided views of `s`'s operands (one product of the batch).
fn operands(s: MatmulSpec, a: *const f32, b: *const f32) -> (Strided, Strided) {
    let MatmulSpec {
        m,
        n,
        k,
        trans_a,
        trans_b,
        ..
    } = s;
    let sa = if trans_a {
        Strided::of(a, m, true)
    } else {
        Strided::of(a, k, false)
    };
    let sb = if trans_b {
        Strided::of(b, k, true)
    } else {
        Strided::of(b, n, false)
    };
    (sa, sb)
}

/// `s.batch` independent products `C_i (= or +=) op(A_i) * op(B_i)`, row-major.
///
/// `op(A)` is A stored `m x k`, or with `trans_a` the transpose of A stored `k x m`; likewise
/// `op(B)` is `k x n` or the transpose of `n x k` storage. Matrices are stored back to back
/// with strides `m*k`, `k*n` and `m*n`; `broadcast_a` (or `broadcast_b`) means A (or B) is
/// one matrix shared by every batch entry. With `accumulate` the products are added to C,
/// otherwise C is overwritten (its previous contents are never read). Runs on rayon's pool.
///
/// # Panics
/// If a slice length differs from what the shape requires.
pub fn sgemm(s: MatmulSpec, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    let MatmulSpec {
        batch,
        m,
        n,
        k,
        trans_a,
        broadcast_a,
        broadcast_b,
        ..
    } = s;
    let na = if broadcast_a { 1 } else { batch };
    let nb = if broadcast_b { 1 } else { batch };
    assert_eq!(a.len(), na * m * k, "sgemm_batched: A length mismatch");
    assert_eq!(b.len(), nb * k * n, "sgemm_batched: B length mismatch");
    assert_eq!(c.len(), batch * m * n, "sgemm_batched: C length mismatch");
    if batch == 0 {
        return;
    }
    // A stack of untransposed A's against one shared B is a single tall
    // product, which blocks and threads far better than `batch` small ones.
    if broadcast_b && !broadcast_a && !trans_a {
        let tall = MatmulSpec {
            batch: 1,
            m: batch * m,
            ..s
        };
        return sgemm_single(tall, a, b, c, accumulate);
    }
    let beta = if accumulate { 1.0 } else { 0.0 };
    let (sa, sb) = operands(s, a.as_ptr(), b.as_ptr());
    let (stride_a, stride_b) = (
        if broadcast_a { 0 } else { (m * k) as isize },
        if broadcast_b { 0 } else { (k * n) as isize },
    );
    let threads = rayon::current_num_threads();
    let run = |i: usize, ci: &mut [f32], par: bool| {
        // Whole-struct use, so the closure captures the Sync wrappers rather
        // than their raw-pointer fields.
        let (sa, sb) = (sa, sb);
        let i = i as isize;
        let ai = Strided {
            ptr: sa.ptr.wrapping_offset(i * stride_a),
            ..sa
        };
        let bi = Strided {
            ptr: sb.ptr.wrapping_offset(i * stride_b),
            ..sb
        };
        let ci = StridedMut::rows(ci.as_mut_ptr(), n);
        // SAFETY: lengths were checked above; entry i stays inside a and b.
        unsafe {
            if par {
                gemm_par(Dims { m, n, k }, ai, bi, ci, beta)
            } else {
                gemm_seq(Dims { m, n, k }, ai, bi, ci, beta)
            }
        }
    };
    if m * n == 0 {
        return;
    }
    if batch >= threads && 2 * m * n * k * batch >= PAR_MIN_FLOPS {
        // Enough entries to keep every thread busy: one whole product each.
        c.par_chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, ci)| run(i, ci, false));
    } else {
        for (i, ci) in c.chunks_mut(m * n).enumerate() {
            run(i, ci, true);
        }
    }
}

#[cfg(test)]
#[path = "gemm_tests.rs"]
mod tests;
