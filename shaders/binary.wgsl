// Elementwise binary ops with broadcasting: each operand is read through its own strides
// (0 along broadcast axes) over the output's dims.
override OP: u32 = 0u;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;

// fn op(a, b) is appended from the op table (crates/tensor/src/op_table.rs).

// P: BinaryParams (n, rank, dims, a_strides, b_strides)
fn dim_at(d: u32) -> u32 { return P.dims[d >> 2u][d & 3u]; }
fn a_stride_at(d: u32) -> u32 { return P.a_strides[d >> 2u][d & 3u]; }
fn b_stride_at(d: u32) -> u32 { return P.b_strides[d >> 2u][d & 3u]; }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = flat_id(wg, nwg) * 256u + li;
    if (i >= P.n) { return; }
    let rank = P.rank;
    if (rank == 1u) {
        // Same shapes or a scalar operand: no div/mod (scalarised on CPU adapters).
        out0[i] = op(in0[i * P.a_strides[0].x], in1[i * P.b_strides[0].x]);
        return;
    }
    var rem = i;
    var oa = 0u;
    var ob = 0u;
    for (var d = rank; d > 0u; d--) {
        let ax = d - 1u;
        let dim = dim_at(ax);
        let c = rem % dim;
        rem = rem / dim;
        oa += c * a_stride_at(ax);
        ob += c * b_stride_at(ax);
    }
    out0[i] = op(in0[oa], in1[ob]);
}
