// Data movement: strided gather (broadcast_to, permute), slice, pad, concat, gather by index
// and its adjoint, fill. One invocation per output element.
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;

fn gid(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return flat_id(wg, nwg) * 256u + li; }

// params: n, rank, dims[8] @2, input strides[8] @10
@compute @workgroup_size(256)
fn strided(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let e = gid(wg, nwg, li);
    if (e >= pu(0u)) { return; }
    var rem = e;
    var off = 0u;
    for (var d = pu(1u); d > 0u; d--) {
        let dim = pu(2u + d - 1u);
        off += (rem % dim) * pu(10u + d - 1u);
        rem = rem / dim;
    }
    out0[e] = in0[off];
}

// out[o, t, i] (out axis length len_out) from in[o, t + shift, i] (in axis length len_in),
// zero where t + shift falls outside [0, len_in): slice (shift = start), pad (shift = -start).
// params: n, len_out, inner, len_in, shift (i32)
@compute @workgroup_size(256)
fn window(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let e = gid(wg, nwg, li);
    if (e >= pu(0u)) { return; }
    let len_out = pu(1u); let inner = pu(2u); let len_in = pu(3u);
    let shift = bitcast<i32>(pu(4u));
    let i = e % inner;
    let t = (e / inner) % len_out;
    let o = e / (inner * len_out);
    let s = i32(t) + shift;
    var v = 0.0;
    if (s >= 0 && s < i32(len_in)) { v = in0[(o * len_in + u32(s)) * inner + i]; }
    out0[e] = v;
}

// Writes in[o, t, i] (axis length len) to out[o, at + t, i] (axis length total).
// params: n (of the part), len, inner, total, at
@compute @workgroup_size(256)
fn place(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let e = gid(wg, nwg, li);
    if (e >= pu(0u)) { return; }
    let len = pu(1u); let inner = pu(2u); let total = pu(3u); let at = pu(4u);
    let i = e % inner;
    let t = (e / inner) % len;
    let o = e / (inner * len);
    out0[(o * total + at + t) * inner + i] = in0[e];
}

// out[o, j, i] = in[o, idx[j], i]. params: n, k, inner, full
@compute @workgroup_size(256)
fn select_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let e = gid(wg, nwg, li);
    if (e >= pu(0u)) { return; }
    let k = pu(1u); let inner = pu(2u); let full = pu(3u);
    let i = e % inner;
    let j = (e / inner) % k;
    let o = e / (inner * k);
    out0[e] = in0[(o * full + idx[j]) * inner + i];
}

// out[o, r, i] = sum over j with idx[j] == r of in[o, j, i] (gathered: no atomics).
// params: n, k, inner, full
@compute @workgroup_size(256)
fn add_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let e = gid(wg, nwg, li);
    if (e >= pu(0u)) { return; }
    let k = pu(1u); let inner = pu(2u); let full = pu(3u);
    let i = e % inner;
    let r = (e / inner) % full;
    let o = e / (inner * full);
    var acc = 0.0;
    for (var j = 0u; j < k; j++) {
        if (idx[j] == r) { acc += in0[(o * k + j) * inner + i]; }
    }
    out0[e] = acc;
}

// params: n, value
@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let e = gid(wg, nwg, li);
    if (e >= pu(0u)) { return; }
    out0[e] = pf(1u);
}
