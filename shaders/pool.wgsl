// Average pooling (square window, no padding) and bilinear resize (align_corners=False) on
// NCHW planes, each with its adjoint. Adjoints gather (one invocation per input element)
// instead of scattering, so no atomics are needed.
// P: PoolParams (n = outputs of the entry point, nc, h, w, oh, ow, k, stride)
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;

@compute @workgroup_size(256)
fn avg_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let e = flat_id(wg, nwg) * 256u + li;
    if (e >= P.n) { return; }
    let h = P.h; let w = P.w; let oh = P.oh; let ow = P.ow;
    let k = P.k; let s = P.stride;
    let plane = e / (oh * ow);
    let i = (e / ow) % oh;
    let j = e % ow;
    var acc = 0.0;
    for (var di = 0u; di < k; di++) {
        let row = plane * h * w + (i * s + di) * w + j * s;
        for (var dj = 0u; dj < k; dj++) { acc += in0[row + dj]; }
    }
    out0[e] = acc * (1.0 / f32(k * k));
}

@compute @workgroup_size(256)
fn avg_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let e = flat_id(wg, nwg) * 256u + li;
    if (e >= P.n) { return; }
    let h = P.h; let w = P.w; let oh = P.oh; let ow = P.ow;
    let k = P.k; let s = P.stride;
    let plane = e / (h * w);
    let y = (e / w) % h;
    let x = e % w;
    // Windows i with i*s <= y < i*s + k.
    let ilo = select(0u, (y + 1u - k + s - 1u) / s, y + 1u > k);
    let ihi = min(y / s, oh - 1u);
    let jlo = select(0u, (x + 1u - k + s - 1u) / s, x + 1u > k);
    let jhi = min(x / s, ow - 1u);
    var acc = 0.0;
    for (var i = ilo; i <= ihi; i++) {
        for (var j = jlo; j <= jhi; j++) { acc += in0[(plane * oh + i) * ow + j]; }
    }
    out0[e] = acc * (1.0 / f32(k * k));
}

struct Src { i0: u32, i1: u32, l: f32 }
// The same f32 arithmetic as the CPU's bilinear_source.
fn source(dst: u32, in_len: u32, out_len: u32) -> Src {
    let scale = f32(in_len) / f32(out_len);
    let src = max((f32(dst) + 0.5) * scale - 0.5, 0.0);
    let i0 = min(u32(src), in_len - 1u);
    let i1 = select(i0, i0 + 1u, i0 + 1u < in_len);
    return Src(i0, i1, src - f32(i0));
}

@compute @workgroup_size(256)
fn up_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let e = flat_id(wg, nwg) * 256u + li;
    if (e >= P.n) { return; }
    let h = P.h; let w = P.w; let oh = P.oh; let ow = P.ow;
    let plane = (e / (oh * ow)) * h * w;
    let r = source((e / ow) % oh, h, oh);
    let c = source(e % ow, w, ow);
    let top = in0[plane + r.i0 * w + c.i0] * (1.0 - c.l) + in0[plane + r.i0 * w + c.i1] * c.l;
    let bot = in0[plane + r.i1 * w + c.i0] * (1.0 - c.l) + in0[plane + r.i1 * w + c.i1] * c.l;
    out0[e] = top * (1.0 - r.l) + bot * r.l;
}

// Weight of input coordinate `at` in output coordinate `dst` along one axis.
fn weight(dst: u32, at: u32, in_len: u32, out_len: u32) -> f32 {
    let s = source(dst, in_len, out_len);
    return select(0.0, 1.0 - s.l, s.i0 == at) + select(0.0, s.l, s.i1 == at);
}

// Output coordinates whose sources can reach input coordinate `at` (a superset).
fn reach(at: u32, in_len: u32, out_len: u32) -> vec2<u32> {
    let inv = f32(out_len) / f32(in_len);
    let lo = i32(floor((f32(at) - 0.5) * inv - 0.5)) - 1;
    let hi = i32(ceil((f32(at) + 1.5) * inv - 0.5)) + 1;
    return vec2(u32(max(lo, 0)), u32(clamp(hi, 0, i32(out_len) - 1)));
}

@compute @workgroup_size(256)
fn up_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let e = flat_id(wg, nwg) * 256u + li;
    if (e >= P.n) { return; }
    let h = P.h; let w = P.w; let oh = P.oh; let ow = P.ow;
    let plane = e / (h * w);
    let y = (e / w) % h;
    let x = e % w;
    let ry = reach(y, h, oh);
    let rx = reach(x, w, ow);
    var acc = 0.0;
    for (var i = ry.x; i <= ry.y; i++) {
        let wy = weight(i, y, h, oh);
        if (wy == 0.0) { continue; }
        for (var j = rx.x; j <= rx.y; j++) {
            let wx = weight(j, x, w, ow);
            acc += in0[(plane * oh + i) * ow + j] * wy * wx;
        }
    }
    out0[e] = acc;
}
