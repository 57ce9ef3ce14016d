// im2col for output rows whose width is a multiple of 4: as conv.wgsl's im2col, but every
// store writes 4 pixels at once (one vec4), which llvmpipe executes as one store instead of
// four. P: ConvParams, as in conv.wgsl's im2col.
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(8) var<storage, read_write> out0: array<vec4<f32>>;

fn tap(rb: u32, yok: bool, x: i32, w: u32) -> f32 {
    let ok = yok && x >= 0 && x < i32(w);
    return select(0.0, in0[select(0u, rb + u32(x), ok)], ok);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let c_in = P.c_in; let h = P.h; let w = P.w;
    let kh = P.kh; let kw = P.kw; let sh = P.sh; let sw = i32(P.sw);
    let ph = i32(P.ph); let pw = i32(P.pw); let oh = P.oh; let ow = P.ow;
    let kk = c_in * kh * kw;
    let row = flat_id(wg, nwg) * 64u + li;
    if (row >= P.images * kk) { return; }
    let nb = P.first_image + row / kk;
    let k = row % kk;
    let c = k / (kh * kw);
    let i = i32((k / kw) % kh) - ph;
    let j = i32(k % kw) - pw;
    let plane = (nb * c_in + c) * h * w;
    let gc = P.images_per_group;
    let local = nb - P.first_image;
    var dst = (((local / gc) * kk + k) * gc * oh * ow + (local % gc) * oh * ow) / 4u;
    for (var p = 0u; p < oh; p++) {
        let y = i32(p * sh) + i;
        let yok = y >= 0 && y < i32(h);
        let rb = plane + select(0u, u32(y) * w, yok);
        for (var q = 0u; q < ow; q += 4u) {
            let x = i32(q) * sw + j;
            out0[dst] = vec4(tap(rb, yok, x, w), tap(rb, yok, x + sw, w),
                             tap(rb, yok, x + 2 * sw, w), tap(rb, yok, x + 3 * sw, w));
            dst += 1u;
        }
    }
}
