// Data movement: strided gather (broadcast_to, permute), slice, pad, concat, gather by index
// and its adjoint, fill. One invocation per output element.
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;

fn gid(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return flat_id(wg, nwg) * 256u + li; }

// P: LayoutParams (each entry point names the fields it reads)
fn dim_at(d: u32) -> u32 { return P.dims[d >> 2u][d & 3u]; }
fn stride_at(d: u32) -> u32 { return P.strides[d >> 2u][d & 3u]; }

// reads n, rank, dims, strides
@compute @workgroup_size(256)
fn strided(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let e = gid(wg, nwg, li);
    if (e >= P.n) { return; }
    var rem = e;
    var off = 0u;
    for (var d = P.rank; d > 0u; d--) {
        let dim = dim_at(d - 1u);
        off += (rem % dim) * stride_at(d - 1u);
        rem = rem / dim;
    }
    out0[e] = in0[off];
}

// out[o, t, i] (out axis length len_out) from in[o, t + shift, i] (in axis length len_in),
// zero where t + shift falls outside [0, len_in): slice (shift = start), pad (shift = -start).
// reads n, len_out, inner, len_in, shift
@compute @workgroup_size(256)
fn window(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let e = gid(wg, nwg, li);
    if (e >= P.n) { return; }
    let len_out = P.len_out; let inner = P.inner; let len_in = P.len_in;
    let shift = P.shift;
    let i = e % inner;
    let t = (e / inner) % len_out;
    let o = e / (inner * len_out);
    let s = i32(t) + shift;
    var v = 0.0;
    if (s >= 0 && s < i32(len_in)) { v = in0[(o * len_in + u32(s)) * inner + i]; }
    out0[e] = v;
}

// Writes in[o, t, i] (axis length len) to out[o, at + t, i] (axis length total).
// reads n (of the part), len_out (the part's axis length), inner, len_in (the total), at
@compute @workgroup_size(256)
fn place(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let e = gid(wg, nwg, li);
    if (e >= P.n) { return; }
    let len = P.len_out; let inner = P.inner; let total = P.len_in; let at = P.at;
    let i = e % inner;
    let t = (e / inner) % len;
    let o = e / (inner * len);
    out0[(o * total + at + t) * inner + i] = in0[e];
}

// out[o, j, i] = in[o, idx[j], i]. reads n, k, inner, len_in (the full axis)
@compute @workgroup_size(256)
fn select_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let e = gid(wg, nwg, li);
    if (e >= P.n) { return; }
    let k = P.k; let inner = P.inner; let full = P.len_in;
    let i = e % inner;
    let j = (e / inner) % k;
    let o = e / (inner * k);
    out0[e] = in0[(o * full + idx[j]) * inner + i];
}

// out[o, r, i] = sum over j with idx[j] == r of in[o, j, i] (gathered: no atomics).
// reads n, k, inner, len_in (the full axis)
@compute @workgroup_size(256)
fn add_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let e = gid(wg, nwg, li);
    if (e >= P.n) { return; }
    let k = P.k; let inner = P.inner; let full = P.len_in;
    let i = e % inner;
    let r = (e / inner) % full;
    let o = e / (inner * full);
    var acc = 0.0;
    for (var j = 0u; j < k; j++) {
        if (idx[j] == r) { acc += in0[(o * k + j) * inner + i]; }
    }
    out0[e] = acc;
}

// reads n, value
@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let e = gid(wg, nwg, li);
    if (e >= P.n) { return; }
    out0[e] = P.value;
}
