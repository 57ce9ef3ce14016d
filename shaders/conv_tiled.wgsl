// conv2d as implicit GEMM for GPUs: the matmul_tiled scheme (64x64 output tile per 16x16
// workgroup, 16-deep k slices staged in workgroup memory, 4x4 per invocation) with operands
// gathered on the fly from the convolution's tensors. MODE picks the product:
//   0 forward:         y[o, (n,p,q)]      = sum_{(c,i,j)} w[o,(c,i,j)] * x[n, c, p*sh+i-ph, q*sw+j-pw]
//   1 backward data:   dx[c, (n,y,x)]     = sum_{(o,i,j)} w[o,c,i,j] * dy[n, o, (y+ph-i)/sh, (x+pw-j)/sw]
//   2 backward weight: dw[o, (c,i,j)] part z = sum_{(n,p,q) in split z} dy[n,o,p,q] * x[n, c, p*sh+i-ph, q*sw+j-pw]
// P: ConvParams (the geometry; rows_per_split = reduction elements per split in MODE 2)
override MODE: u32 = 0u;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;

var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;

fn dims() -> vec3<u32> {
    let nimg = P.n; let c_in = P.c_in; let h = P.h; let w = P.w; let c_out = P.c_out;
    let kk = P.kh * P.kw;
    let opix = P.oh * P.ow;
    if (MODE == 0u) { return vec3(c_out, nimg * opix, c_in * kk); }
    if (MODE == 1u) { return vec3(c_in, nimg * h * w, c_out * kk); }
    return vec3(c_out, c_in * kk, nimg * opix);
}

// x[n, c, y, x] with zero padding.
fn xat(nb: u32, c: u32, y: i32, x: i32) -> f32 {
    let h = P.h; let w = P.w;
    if (y < 0 || x < 0 || y >= i32(h) || x >= i32(w)) { return 0.0; }
    return in0[((nb * P.c_in + c) * h + u32(y)) * w + u32(x)];
}

// Operand A (rows x k) and B (k x cols); callers guarantee the indices are in range.
fn load_a(r: u32, k: u32) -> f32 {
    let kk = P.kh * P.kw;
    if (MODE == 0u) { return in1[r * P.c_in * kk + k]; }
    if (MODE == 1u) {
        // w[o, c = r, i, j] with k = (o, i, j)
        let o = k / kk;
        return in1[(o * P.c_in + r) * kk + k % kk];
    }
    // dy[n, o = r, p, q] with k = (n, p, q) (in0 is x, in1 is dy)
    let opix = P.oh * P.ow;
    return in1[((k / opix) * P.c_out + r) * opix + k % opix];
}

fn load_b(k: u32, col: u32) -> f32 {
    let kh = P.kh; let kw = P.kw; let sh = P.sh; let sw = P.sw;
    let ph = i32(P.ph); let pw = i32(P.pw); let oh = P.oh; let ow = P.ow;
    if (MODE == 0u) {
        let nb = col / (oh * ow); let pix = col % (oh * ow);
        let c = k / (kh * kw); let i = (k / kw) % kh; let j = k % kw;
        return xat(nb, c, i32((pix / ow) * sh + i) - ph, i32((pix % ow) * sw + j) - pw);
    }
    if (MODE == 1u) {
        // in0 is dy here.
        let h = P.h; let w = P.w;
        let nb = col / (h * w); let y = (col / w) % h; let x = col % w;
        let o = k / (kh * kw); let i = (k / kw) % kh; let j = k % kw;
        let py = i32(y) + ph - i32(i);
        let px = i32(x) + pw - i32(j);
        if (py < 0 || px < 0 || py % i32(sh) != 0 || px % i32(sw) != 0) { return 0.0; }
        let p = u32(py) / sh; let q = u32(px) / sw;
        if (p >= oh || q >= ow) { return 0.0; }
        return in0[((nb * P.c_out + o) * oh + p) * ow + q];
    }
    let nb = k / (oh * ow); let pix = k % (oh * ow);
    let c = col / (kh * kw); let i = (col / kw) % kh; let j = col % kw;
    return xat(nb, c, i32((pix / ow) * sh + i) - ph, i32((pix % ow) * sw + j) - pw);
}

fn store(r: u32, col: u32, z: u32, v: f32) {
    let d = dims();
    if (MODE == 0u) {
        let opix = P.oh * P.ow;
        out0[((col / opix) * d.x + r) * opix + col % opix] = v;
    } else if (MODE == 1u) {
        let hw = P.h * P.w;
        out0[((col / hw) * d.x + r) * hw + col % hw] = v;
    } else {
        out0[(z * d.x + r) * d.y + col] = v;
    }
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
    let d = dims();
    let m = d.x; let n = d.y;
    var k_lo = 0u;
    var k_hi = d.z;
    if (MODE == 2u) {
        k_lo = wg.z * P.rows_per_split;
        k_hi = min(k_lo + P.rows_per_split, d.z);
    }
    let ib = wg.y * 64u;
    let jb = wg.x * 64u;
    let tid = li.y * 16u + li.x;
    var acc: array<array<f32, 4>, 4>;
    for (var t = k_lo; t < k_hi; t += 16u) {
        for (var l = 0u; l < 4u; l++) {
            let e = tid + l * 256u;
            let kk = e / 64u;
            let x = e % 64u;
            let gk = t + kk;
            var av = 0.0;
            if (ib + x < m && gk < k_hi) { av = load_a(ib + x, gk); }
            As[e] = av;
            var bv = 0.0;
            if (jb + x < n && gk < k_hi) { bv = load_b(gk, jb + x); }
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
                for (var c = 0u; c < 4u; c++) { acc[r][c] = fma(a[r], b[c], acc[r][c]); }
            }
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let i = ib + li.y + r * 16u;
        for (var c = 0u; c < 4u; c++) {
            let j = jb + li.x + c * 16u;
            if (i < m && j < n) { store(i, j, wg.z, acc[r][c]); }
        }
    }
}
