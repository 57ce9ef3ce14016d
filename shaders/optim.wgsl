// In-place optimizer updates (PyTorch formulations; bias corrections precomputed on the host
// exactly as the CPU backend does). in0 = gradient; out0 = parameter, out1/out2 = state.
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;
@group(0) @binding(9) var<storage, read_write> out1: array<f32>;
@group(0) @binding(10) var<storage, read_write> out2: array<f32>;

// P: OptimParams (Adam reads n, beta1, beta2, eps, weight_decay, step_size, inv_sqrt_bc2)
@compute @workgroup_size(256)
fn adam(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = flat_id(wg, nwg) * 256u + li;
    if (i >= P.n) { return; }
    let b1 = P.beta1; let b2 = P.beta2; let eps = P.eps; let wd = P.weight_decay;
    let p = out0[i];
    let g = in0[i] + wd * p;
    let m = b1 * out1[i] + (1.0 - b1) * g;
    let v = b2 * out2[i] + (1.0 - b2) * g * g;
    out1[i] = m;
    out2[i] = v;
    out0[i] = p - P.step_size * m / (sqrt(v) * P.inv_sqrt_bc2 + eps);
}

// SGD reads n, lr, momentum, weight_decay.
@compute @workgroup_size(256)
fn sgd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) li: u32) {
    let i = flat_id(wg, nwg) * 256u + li;
    if (i >= P.n) { return; }
    let p = out0[i];
    out0[i] = p - P.lr * (in0[i] + P.weight_decay * p);
}

@compute @workgroup_size(256)
fn sgd_momentum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let i = flat_id(wg, nwg) * 256u + li;
    if (i >= P.n) { return; }
    let p = out0[i];
    let b = P.momentum * out1[i] + in0[i] + P.weight_decay * p;
    out1[i] = b;
    out0[i] = p - P.lr * b;
}
