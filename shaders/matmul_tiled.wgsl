// Batched matmul for GPUs: a 64x64 output tile per 16x16 workgroup, staged through workgroup
// memory 16 deep in k; each invocation accumulates a 4x4 block. TA/TB as in matmul_register.
override TA: bool = false;
override TB: bool = false;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;

var<workgroup> As: array<f32, 1024>; // [16 k][64 rows]
var<workgroup> Bs: array<f32, 1024>; // [16 k][64 cols]

// P: MatmulParams (m, n, k, a_stride, b_stride: elements between batch entries, 0 = shared)
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
    let m = P.m;
    let n = P.n;
    let k = P.k;
    let abase = wg.z * P.a_stride;
    let bbase = wg.z * P.b_stride;
    let cbase = wg.z * m * n;
    let ib = wg.y * 64u;
    let jb = wg.x * 64u;
    let tid = li.y * 16u + li.x;
    var acc: array<array<f32, 4>, 4>;
    for (var t = 0u; t < k; t += 16u) {
        for (var l = 0u; l < 4u; l++) {
            let e = tid + l * 256u;
            let kk = e / 64u;
            let x = e % 64u;
            let gk = t + kk;
            var av = 0.0;
            let gi = ib + x;
            if (gi < m && gk < k) {
                if (TA) { av = in0[abase + gk * m + gi]; } else { av = in0[abase + gi * k + gk]; }
            }
            As[e] = av;
            var bv = 0.0;
            let gj = jb + x;
            if (gj < n && gk < k) {
                if (TB) { bv = in1[bbase + gj * k + gk]; } else { bv = in1[bbase + gk * n + gj]; }
            }
            Bs[e] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < 16u; kk++) {
            var a: array<f32, 4>;
            var b: array<f32, 4>;
            for (var r = 0u; r < 4u; r++) {
                a[r] = As[kk * 64u + li.y + r * 16u];
                b[r] = Bs[kk * 64u + li.x + r * 16u];
            }
            for (var r = 0u; r < 4u; r++) {
                for (var c = 0u; c < 4u; c++) {
                    acc[r][c] = fma(a[r], b[c], acc[r][c]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let i = ib + li.y + r * 16u;
        for (var c = 0u; c < 4u; c++) {
            let j = jb + li.x + c * 16u;
            if (i < m && j < n) { out0[cbase + i * n + j] = acc[r][c]; }
        }
    }
}
