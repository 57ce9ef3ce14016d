// Elementwise binary ops on contiguous operands, four elements per invocation through vec4
// views (pooled buffers are whole multiples of 16 bytes): same shapes, or one operand a
// single value (SA / SB: that operand is a scalar).
override OP: u32 = 0u;
override SA: bool = false;
override SB: bool = false;
@group(0) @binding(1) var<storage, read> in0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> in1: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> out0: array<vec4<f32>>;

fn op(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    switch OP {
        case 0u: { return a + b; }
        case 1u: { return a - b; }
        case 2u: { return a * b; }
        case 3u: { return a / b; }
        case 4u: { return max(a, b); }
        case 5u: { return min(a, b); }
        case 6u: { return select(vec4(0.0), vec4(1.0), a >= b); }
        case 7u: { return select(vec4(0.0), vec4(1.0), a <= b); }
        default: { return select(vec4(0.0), vec4(1.0), a == b); }
    }
}

// params: n (in vec4s)
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = flat_id(wg, nwg) * 256u + li;
    if (i >= pu(0u)) { return; }
    var a: vec4<f32>;
    var b: vec4<f32>;
    if (SA) { a = vec4(in0[0].x); } else { a = in0[i]; }
    if (SB) { b = vec4(in1[0].x); } else { b = in1[i]; }
    out0[i] = op(a, b);
}
