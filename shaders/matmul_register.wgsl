// Batched matmul C[b] = op(A[b]) op(B[b]) without workgroup memory, for CPU adapters
// (llvmpipe): each invocation owns an 8x8 register tile. Its 8 columns are interleaved with
// the 8 neighbouring invocations' (column = tile base + c*8 + lane), so that lanes of one SIMD
// vector load consecutive addresses. TA/TB: A stored k x m / B stored n x k.
override TA: bool = false;
override TB: bool = false;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;

// P: MatmulParams (m, n, k, a_stride, b_stride: elements between batch entries, 0 = shared)
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
    let m = P.m;
    let n = P.n;
    let k = P.k;
    let abase = wg.z * P.a_stride;
    let bbase = wg.z * P.b_stride;
    let cbase = wg.z * m * n;
    let i0 = (wg.y * 8u + li.y) * 8u;
    let jb = wg.x * 64u + li.x;
    if (i0 >= m) { return; }
    // Clamped indices keep every load in bounds; the extra results are not stored.
    var ri: array<u32, 8>;
    var cj: array<u32, 8>;
    for (var t = 0u; t < 8u; t++) {
        ri[t] = min(i0 + t, m - 1u);
        cj[t] = min(jb + t * 8u, n - 1u);
    }
    var acc: array<array<f32, 8>, 8>;
    for (var p = 0u; p < k; p++) {
        var av: array<f32, 8>;
        var bv: array<f32, 8>;
        for (var t = 0u; t < 8u; t++) {
            if (TA) { av[t] = in0[abase + p * m + ri[t]]; } else { av[t] = in0[abase + ri[t] * k + p]; }
            if (TB) { bv[t] = in1[bbase + cj[t] * k + p]; } else { bv[t] = in1[bbase + p * n + cj[t]]; }
        }
        for (var r = 0u; r < 8u; r++) {
            for (var c = 0u; c < 8u; c++) {
                acc[r][c] = fma(av[r], bv[c], acc[r][c]);
            }
        }
    }
    for (var r = 0u; r < 8u; r++) {
        if (i0 + r < m) {
            for (var c = 0u; c < 8u; c++) {
                let j = jb + c * 8u;
                if (j < n) { out0[cbase + (i0 + r) * n + j] = acc[r][c]; }
            }
        }
    }
}
