// Batched matmul, the fast register-tile kernel for CPU adapters: A (m x k) and B (k x n)
// not transposed, k and n multiples of 4. Each invocation owns 8 rows x 8 consecutive
// columns; k advances by 4 with one vec4 load per A row and two per B row.
@group(0) @binding(1) var<storage, read> in0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> in1: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> out0: array<vec4<f32>>;

// The tile owned by one workgroup is (8 * WY) rows x (8 * WX) columns; three shapes let small
// m (few output channels) or small n use whole workgroups. P: MatmulParams (m, n, k,
// a_stride, b_stride: floats between batch entries)
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
    tile(wg, li, 8u, 8u);
}
@compute @workgroup_size(16, 4, 1)
fn wide(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
    tile(wg, li, 16u, 4u);
}
@compute @workgroup_size(64, 1, 1)
fn row(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
    tile(wg, li, 64u, 1u);
}

fn tile(wg: vec3<u32>, li: vec3<u32>, wx: u32, wy: u32) {
    let m = P.m;
    let n4 = P.n / 4u;
    let k4 = P.k / 4u;
    let abase = wg.z * P.a_stride / 4u;
    let bbase = wg.z * P.b_stride / 4u;
    let cbase = wg.z * m * n4;
    let i0 = (wg.y * wy + li.y) * 8u;
    let j4 = (wg.x * wx + li.x) * 2u;
    if (i0 >= m || j4 >= n4) { return; }
    let has1 = j4 + 1u < n4;
    let j4b = select(j4, j4 + 1u, has1);
    var ra: array<u32, 8>;
    for (var t = 0u; t < 8u; t++) { ra[t] = abase + min(i0 + t, m - 1u) * k4; }
    var c0: array<vec4<f32>, 8>;
    var c1: array<vec4<f32>, 8>;
    for (var p4 = 0u; p4 < k4; p4++) {
        let br = bbase + p4 * 4u * n4;
        let b00 = in1[br + j4];
        let b01 = in1[br + j4b];
        let b10 = in1[br + n4 + j4];
        let b11 = in1[br + n4 + j4b];
        let b20 = in1[br + 2u * n4 + j4];
        let b21 = in1[br + 2u * n4 + j4b];
        let b30 = in1[br + 3u * n4 + j4];
        let b31 = in1[br + 3u * n4 + j4b];
        for (var r = 0u; r < 8u; r++) {
            let a = in0[ra[r] + p4];
            c0[r] = fma(vec4(a.x), b00, c0[r]);
            c1[r] = fma(vec4(a.x), b01, c1[r]);
            c0[r] = fma(vec4(a.y), b10, c0[r]);
            c1[r] = fma(vec4(a.y), b11, c1[r]);
            c0[r] = fma(vec4(a.z), b20, c0[r]);
            c1[r] = fma(vec4(a.z), b21, c1[r]);
            c0[r] = fma(vec4(a.w), b30, c0[r]);
            c1[r] = fma(vec4(a.w), b31, c1[r]);
        }
    }
    for (var r = 0u; r < 8u; r++) {
        if (i0 + r < m) {
            out0[cbase + (i0 + r) * n4 + j4] = c0[r];
            if (has1) { out0[cbase + (i0 + r) * n4 + j4 + 1u] = c1[r]; }
        }
    }
}
