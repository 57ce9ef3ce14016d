// Philox4x32-10 fill, the same generator as the CPU's rng.rs: block b of 4 outputs is
// philox(counter = [b, 0, 0, 0], key = seed). Uniforms are bit-identical; normals use the
// same Box-Muller formula (equal up to the last bits of log/cos/sin).
override NORMAL: bool = false;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;

// High and low 32 bits of a 32x32-bit product, from 16-bit halves (WGSL has no u64).
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let al = a & 0xffffu; let ah = a >> 16u;
    let bl = b & 0xffffu; let bh = b >> 16u;
    let ll = al * bl;
    let lh = al * bh;
    let hl = ah * bl;
    let hh = ah * bh;
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2(hi, a * b);
}

fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var r = 0u; r < 10u; r++) {
        let p0 = mul_wide(0xD2511F53u, c.x);
        let p1 = mul_wide(0xCD9E8D57u, c.z);
        c = vec4(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
        k = k + vec2(0x9E3779B9u, 0xBB67AE85u);
    }
    return c;
}

fn uniform_open(bits: u32) -> f32 { return f32((bits >> 8u) + 1u) * (1.0 / 16777216.0); }

fn box_muller(a: u32, b: u32) -> vec2<f32> {
    let r = sqrt(-2.0 * log(uniform_open(a)));
    let t = 6.283185307179586 * uniform_open(b);
    return vec2(r * cos(t), r * sin(t));
}

// P: RngParams (n, key_lo, key_hi)
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let blk = flat_id(wg, nwg) * 256u + li;
    let n = P.n;
    if (blk * 4u >= n) { return; }
    let r = philox(vec4(blk, 0u, 0u, 0u), vec2(P.key_lo, P.key_hi));
    var v: vec4<f32>;
    if (NORMAL) {
        v = vec4(box_muller(r.x, r.y), box_muller(r.z, r.w));
    } else {
        v = vec4<f32>(vec4(r.x >> 8u, r.y >> 8u, r.z >> 8u, r.w >> 8u)) * (1.0 / 16777216.0);
    }
    for (var t = 0u; t < 4u; t++) {
        if (blk * 4u + t < n) { out0[blk * 4u + t] = v[t]; }
    }
}
