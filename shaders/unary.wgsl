// Elementwise unary ops; OP (a row of the op table) selects the op at pipeline creation, p0/p1 are its constants.
// Four elements per invocation through vec4 views: pooled buffers are whole multiples of
// 16 bytes, so the last vec4 never leaves the buffer (its tail lanes are scratch).
override OP: u32 = 0u;
@group(0) @binding(1) var<storage, read> in0: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> out0: array<vec4<f32>>;

fn stable_tanh(x: f32) -> f32 {
    // exp(-2|x|) never overflows, unlike the textbook (e^2x - 1) / (e^2x + 1).
    let e = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - e) / (1.0 + e);
}

fn powf(x: f32, p: f32) -> f32 {
    if (p == 0.0) { return 1.0; }
    if (x < 0.0 && floor(p) == p) {
        // pow() is undefined for negative bases; integer exponents are well defined.
        let r = pow(-x, p);
        return select(r, -r, (abs(p) % 2.0) == 1.0);
    }
    return pow(x, p);
}

fn stable_sigmoid(x: f32) -> f32 {
    if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
    let e = exp(x);
    return e / (1.0 + e);
}

// fn op(x, p0, p1) is appended from the op table (crates/tensor/src/op_table.rs).

// P: UnaryParams (n4: invocations, p0, p1)
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = flat_id(wg, nwg) * 256u + li;
    if (i >= P.n4) { return; }
    let v = in0[i];
    let p0 = P.p0;
    let p1 = P.p1;
    out0[i] = vec4(op(v.x, p0, p1), op(v.y, p0, p1), op(v.z, p0, p1), op(v.w, p0, p1));
}
