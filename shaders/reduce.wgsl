// Sum / max over any set of axes. The host groups the input's dims into kept and reduced
// lists (dims and strides). `serial` gives one output per invocation (short reductions);
// `tree` gives one (output, chunk) pair per workgroup and combines the 256 invocations'
// partials in workgroup memory (long reductions; chunks are combined by a second pass).
override OP: u32 = 0u;
// VEC: contiguous runs of whole vec4s (in0v is the input again, as vec4s).
override VEC: bool = false;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in0v: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;

// fn init(), combine(a, b), combine4(a, b) and compensated() are appended from the op table
// (REDUCE_OPS in crates/tensor/src/op_table.rs); OP is the row's position.
// -inf from a run-time value (the max row's identity): a constant expression that evaluates
// to an infinity is a WGSL error (Chromium's Tint refuses bitcast<f32>(0xff800000u); naga
// lets it through).
fn neg_inf() -> f32 {
    var bits = 0xff800000u;
    return bitcast<f32>(bits);
}
// Compensated (Kahan) accumulation for sums, plain combine otherwise: a long run of f32
// additions otherwise drifts (the CPU accumulates in f64). acc.x = value, acc.y = carry.
fn accumulate(acc: vec2<f32>, v: f32) -> vec2<f32> {
    if (!compensated()) { return vec2(combine(acc.x, v), 0.0); }
    let y = v - acc.y;
    let t = acc.x + y;
    // P.one is 1.0 at run time; multiplying by it hides the pattern (a + b) - a from the
    // driver's algebraic simplifier, which would otherwise fold the carry to 0.
    return vec2(t, (t * P.one - acc.x) - y);
}

// P: ReduceParams (n_out, n_kept, n_red_dims, n_red, chunk_len, n_chunks, one = 1.0,
//    kept_dims, kept_strides, red_dims, red_strides)
fn kept_dim(d: u32) -> u32 { return P.kept_dims[d >> 2u][d & 3u]; }
fn kept_stride(d: u32) -> u32 { return P.kept_strides[d >> 2u][d & 3u]; }
fn red_dim(d: u32) -> u32 { return P.red_dims[d >> 2u][d & 3u]; }
fn red_stride(d: u32) -> u32 { return P.red_strides[d >> 2u][d & 3u]; }
fn kept_offset(o: u32) -> u32 {
    var rem = o;
    var off = 0u;
    for (var d = P.n_kept; d > 0u; d--) {
        let dim = kept_dim(d - 1u);
        off += (rem % dim) * kept_stride(d - 1u);
        rem = rem / dim;
    }
    return off;
}
// Offset of reduction index r over the first `nd` reduced dims.
fn red_offset(r: u32, nd: u32) -> u32 {
    var rem = r;
    var off = 0u;
    for (var d = nd; d > 0u; d--) {
        let dim = red_dim(d - 1u);
        off += (rem % dim) * red_stride(d - 1u);
        rem = rem / dim;
    }
    return off;
}

@compute @workgroup_size(256)
fn serial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let o = flat_id(wg, nwg) * 256u + li;
    if (o >= P.n_out) { return; }
    let base = kept_offset(o);
    let nr = P.n_red_dims;
    var acc = vec2(init(), 0.0);
    if (nr == 0u) {
        out0[o] = in0[base];
        return;
    }
    // The innermost reduced dim is walked without div/mod.
    let inner = red_dim(nr - 1u);
    let istride = red_stride(nr - 1u);
    let outer = P.n_red / inner;
    for (var t = 0u; t < outer; t++) {
        let off = base + red_offset(t, nr - 1u);
        for (var u = 0u; u < inner; u++) {
            acc = accumulate(acc, in0[off + u * istride]);
        }
    }
    out0[o] = acc.x;
}

var<workgroup> sh: array<f32, 256>;

@compute @workgroup_size(256)
fn tree(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let w = flat_id(wg, nwg);
    let n_chunks = P.n_chunks;
    if (w >= P.n_out * n_chunks) { return; }
    let o = w / n_chunks;
    let c = w % n_chunks;
    let base = kept_offset(o);
    let nr = P.n_red_dims;
    let start = c * P.chunk_len;
    let end = min(start + P.chunk_len, P.n_red);
    var acc = vec2(init(), 0.0);
    if (VEC) {
        // Four independent compensated sums per invocation, one vec4 load per step.
        var v = vec4(init());
        var carry = vec4(0.0);
        for (var r = (base + start) / 4u + li; r < (base + end) / 4u; r += 256u) {
            let x = in0v[r];
            if (compensated()) {
                let y = x - carry;
                let t = v + y;
                carry = (t * P.one - v) - y;
                v = t;
            } else {
                v = combine4(v, x);
            }
        }
        acc = accumulate(acc, v.x);
        acc = accumulate(acc, v.y);
        acc = accumulate(acc, v.z);
        acc = accumulate(acc, v.w);
    } else if (nr == 1u) {
        // One reduced dim: no div/mod per element (llvmpipe scalarises integer division).
        let st = P.red_strides[0].x;
        for (var r = start + li; r < end; r += 256u) {
            acc = accumulate(acc, in0[base + r * st]);
        }
    } else {
        for (var r = start + li; r < end; r += 256u) {
            acc = accumulate(acc, in0[base + red_offset(r, nr)]);
        }
    }
    sh[li] = acc.x;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (li < s) { sh[li] = combine(sh[li], sh[li + s]); }
        workgroupBarrier();
    }
    if (li == 0u) { out0[w] = sh[0]; }
}
