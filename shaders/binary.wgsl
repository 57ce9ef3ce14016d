// Elementwise binary ops with broadcasting: each operand is read through its own strides
// (0 along broadcast axes) over the output's dims.
override OP: u32 = 0u;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;

// fn op(a, b) is appended from the op table (crates/tensor/src/op_table.rs).

// params: n, rank, dims[8] @2, a strides[8] @10, b strides[8] @18
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = flat_id(wg, nwg) * 256u + li;
    if (i >= pu(0u)) { return; }
    let rank = pu(1u);
    if (rank == 1u) {
        // Same shapes or a scalar operand: no div/mod (scalarised on CPU adapters).
        out0[i] = op(in0[i * pu(10u)], in1[i * pu(18u)]);
        return;
    }
    var rem = i;
    var oa = 0u;
    var ob = 0u;
    for (var d = rank; d > 0u; d--) {
        let ax = d - 1u;
        let dim = pu(2u + ax);
        let c = rem % dim;
        rem = rem / dim;
        oa += c * pu(10u + ax);
        ob += c * pu(18u + ax);
    }
    out0[i] = op(in0[oa], in1[ob]);
}
