// Elementwise binary ops on contiguous operands, four elements per invocation through vec4
// views (pooled buffers are whole multiples of 16 bytes): same shapes, or one operand a
// single value (SA / SB: that operand is a scalar).
override OP: u32 = 0u;
override SA: bool = false;
override SB: bool = false;
@group(0) @binding(1) var<storage, read> in0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> in1: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> out0: array<vec4<f32>>;

// fn op(a, b) is appended from the op table (crates/tensor/src/op_table.rs).

// P: Binary4Params (n4: invocations)
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = flat_id(wg, nwg) * 256u + li;
    if (i >= P.n4) { return; }
    var a: vec4<f32>;
    var b: vec4<f32>;
    if (SA) { a = vec4(in0[0].x); } else { a = in0[i]; }
    if (SB) { b = vec4(in1[0].x); } else { b = in1[i]; }
    out0[i] = op(a, b);
}
