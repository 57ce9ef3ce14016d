// In-place optimizer updates (PyTorch formulations; bias corrections precomputed on the host
// exactly as the CPU backend does). in0 = gradient; out0 = parameter, out1/out2 = state.
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;
@group(0) @binding(9) var<storage, read_write> out1: array<f32>;
@group(0) @binding(10) var<storage, read_write> out2: array<f32>;

// params: n, beta1, beta2, eps, weight_decay, step_size, inv_sqrt_bc2
@compute @workgroup_size(256)
fn adam(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = flat_id(wg, nwg) * 256u + li;
    if (i >= pu(0u)) { return; }
    let b1 = pf(1u); let b2 = pf(2u); let eps = pf(3u); let wd = pf(4u);
    let p = out0[i];
    let g = in0[i] + wd * p;
    let m = b1 * out1[i] + (1.0 - b1) * g;
    let v = b2 * out2[i] + (1.0 - b2) * g * g;
    out1[i] = m;
    out2[i] = v;
    out0[i] = p - pf(5u) * m / (sqrt(v) * pf(6u) + eps);
}

// params: n, lr, momentum, weight_decay
@compute @workgroup_size(256)
fn sgd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) li: u32) {
    let i = flat_id(wg, nwg) * 256u + li;
    if (i >= pu(0u)) { return; }
    let p = out0[i];
    out0[i] = p - pf(1u) * (in0[i] + pf(3u) * p);
}

@compute @workgroup_size(256)
fn sgd_momentum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let i = flat_id(wg, nwg) * 256u + li;
    if (i >= pu(0u)) { return; }
    let p = out0[i];
    let b = pf(2u) * out1[i] + in0[i] + pf(3u) * p;
    out1[i] = b;
    out0[i] = p - pf(1u) * b;
}
