// conv2d as implicit GEMM for CPU adapters (llvmpipe), barrier-free: every invocation owns an
// 8 x 8 register tile (8 channels x 8 pixels); no im2col matrix is ever written. Workgroups
// are 1-D (64 invocations) over (channel block, column block) pairs so that small layers
// (few channels, 4x4 outputs) waste no invocations. Integer division stays out of the inner
// loops: llvmpipe scalarises it.
// P: ConvParams (the geometry n, c_in, h, w, c_out, kh, kw, sh, sw, ph, pw, oh, ow, plus the
// work split of each entry point)
override KW4: bool = false;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(3) var<storage, read> in1v: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;

// y[n, o, p, q] = sum_{c,i,j} w[o, c, i, j] x[n, c, p*sh + i - ph, q*sw + j - pw]
// in0 = x, in1 = w (in1v = w again, as vec4s, when KW4: kw % 4 == 0).
// Columns are (image, output pixel) flattened; an invocation's 8 columns are interleaved with
// its 7 neighbours' (column = group*64 + t*8 + lane) so that SIMD lanes read nearby pixels.
// P.col_groups = number of 64-column groups
@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let nimg = P.n; let c_in = P.c_in; let h = P.h; let w = P.w; let c_out = P.c_out;
    let kh = P.kh; let kw = P.kw; let sh = P.sh; let sw = P.sw;
    let ph = i32(P.ph); let pw = i32(P.pw); let oh = P.oh; let ow = P.ow;
    let groups = P.col_groups;
    let id = flat_id(wg, nwg) * 64u + li;
    let lane = id % 8u;
    let pair = id / 8u;
    let o0 = (pair / groups) * 8u;
    if (o0 >= c_out) { return; }
    let npix = oh * ow;
    let ncols = nimg * npix;
    let hw = h * w;
    var ih0: array<i32, 8>;
    var iw0: array<i32, 8>;
    var xb: array<u32, 8>;
    var col: array<u32, 8>;
    for (var t = 0u; t < 8u; t++) {
        col[t] = (pair % groups) * 64u + t * 8u + lane;
        let cc = min(col[t], ncols - 1u);
        let nb = cc / npix;
        let pix = cc % npix;
        ih0[t] = i32((pix / ow) * sh) - ph;
        iw0[t] = i32((pix % ow) * sw) - pw;
        xb[t] = nb * c_in * hw;
    }
    let kk = c_in * kh * kw;
    var wrow: array<u32, 8>;
    for (var r = 0u; r < 8u; r++) { wrow[r] = min(o0 + r, c_out - 1u) * kk; }
    var acc: array<array<f32, 8>, 8>;
    for (var c = 0u; c < c_in; c++) {
        for (var i = 0u; i < kh; i++) {
            var rv: array<bool, 8>;
            var ro: array<u32, 8>;
            for (var t = 0u; t < 8u; t++) {
                let y = ih0[t] + i32(i);
                rv[t] = y >= 0 && y < i32(h);
                ro[t] = xb[t] + c * hw + select(0u, u32(y) * w, rv[t]);
            }
            let wi = (c * kh + i) * kw;
            if (KW4) {
                for (var j4 = 0u; j4 < kw; j4 += 4u) {
                    var wv: array<vec4<f32>, 8>;
                    for (var r = 0u; r < 8u; r++) { wv[r] = in1v[(wrow[r] + wi + j4) / 4u]; }
                    for (var jj = 0u; jj < 4u; jj++) {
                        var xv: array<f32, 8>;
                        for (var t = 0u; t < 8u; t++) {
                            let x = iw0[t] + i32(j4 + jj);
                            let ok = rv[t] && x >= 0 && x < i32(w);
                            xv[t] = select(0.0, in0[select(0u, ro[t] + u32(x), ok)], ok);
                        }
                        for (var r = 0u; r < 8u; r++) {
                            let wr = wv[r][jj];
                            for (var t = 0u; t < 8u; t++) { acc[r][t] = fma(wr, xv[t], acc[r][t]); }
                        }
                    }
                }
            } else {
                for (var j = 0u; j < kw; j++) {
                    var xv: array<f32, 8>;
                    for (var t = 0u; t < 8u; t++) {
                        let x = iw0[t] + i32(j);
                        let ok = rv[t] && x >= 0 && x < i32(w);
                        xv[t] = select(0.0, in0[select(0u, ro[t] + u32(x), ok)], ok);
                    }
                    for (var r = 0u; r < 8u; r++) {
                        let wr = in1[wrow[r] + wi + j];
                        for (var t = 0u; t < 8u; t++) { acc[r][t] = fma(wr, xv[t], acc[r][t]); }
                    }
                }
            }
        }
    }
    for (var t = 0u; t < 8u; t++) {
        if (col[t] < ncols) {
            let ybase = (col[t] / npix) * c_out * npix + col[t] % npix;
            for (var r = 0u; r < 8u; r++) {
                if (o0 + r < c_out) { out0[ybase + (o0 + r) * npix] = acc[r][t]; }
            }
        }
    }
}

// dx[n, c, y, x] = sum over taps (i, j) with (y + ph - i) % sh == 0 (and likewise in x) of
// dy[n, o, (y + ph - i) / sh, (x + pw - j) / sw] w[o, c, i, j]. Pixels are grouped by phase
// (y % sh, x % sw): all pixels of one invocation share their valid taps, and no tap is spent
// on a stride hole. An invocation owns 8 consecutive pixels of one (image, phase) group.
// in0 = dy, in1 = w. P.blocks_per_group, P.n_blocks = blocks in all groups
@compute @workgroup_size(64)
fn backward_data(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let c_in = P.c_in; let h = P.h; let w = P.w; let c_out = P.c_out;
    let kh = P.kh; let kw = P.kw; let sh = P.sh; let sw = P.sw;
    let ph = P.ph; let pw = P.pw; let oh = P.oh; let ow = P.ow;
    let bpg = P.blocks_per_group;
    let nblocks = P.n_blocks;
    let id = flat_id(wg, nwg) * 64u + li;
    let c0 = (id / nblocks) * 8u;
    if (c0 >= c_in) { return; }
    let rem = id % nblocks;
    let grp = rem / bpg;
    let blk = rem % bpg;
    let nb = grp / (sh * sw);
    let phase = grp % (sh * sw);
    let fy = phase / sw;
    let fx = phase % sw;
    let wp = (w + sw - 1u) / sw;
    let hp = (h + sh - 1u) / sh;
    let i_first = (fy + ph) % sh;
    let j_first = (fx + pw) % sw;
    var yy: array<u32, 8>;
    var xx: array<u32, 8>;
    var valid: array<bool, 8>;
    var p0: array<i32, 8>;
    var q0: array<i32, 8>;
    for (var t = 0u; t < 8u; t++) {
        let pix = blk * 8u + t;
        yy[t] = (pix / wp) * sh + fy;
        xx[t] = (pix % wp) * sw + fx;
        valid[t] = pix < hp * wp && yy[t] < h && xx[t] < w;
        // Exact: y + ph - i_first is a non-negative multiple of sh.
        p0[t] = i32((yy[t] + ph - i_first) / sh);
        q0[t] = i32((xx[t] + pw - j_first) / sw);
    }
    let kk = kh * kw;
    var wcol: array<u32, 8>;
    for (var r = 0u; r < 8u; r++) { wcol[r] = min(c0 + r, c_in - 1u) * kk; }
    let opix = oh * ow;
    var acc: array<array<f32, 8>, 8>;
    var a = 0;
    for (var i = i_first; i < kh; i += sh) {
        var b = 0;
        for (var j = j_first; j < kw; j += sw) {
            var off: array<u32, 8>;
            var ok: array<bool, 8>;
            for (var t = 0u; t < 8u; t++) {
                let p = p0[t] - a;
                let q = q0[t] - b;
                ok[t] = valid[t] && p >= 0 && q >= 0 && p < i32(oh) && q < i32(ow);
                off[t] = select(0u, u32(p) * ow + u32(q), ok[t]);
            }
            let tap = i * kw + j;
            for (var o = 0u; o < c_out; o++) {
                let dbase = (nb * c_out + o) * opix;
                var dv: array<f32, 8>;
                for (var t = 0u; t < 8u; t++) { dv[t] = select(0.0, in0[dbase + off[t]], ok[t]); }
                let wb = o * c_in * kk + tap;
                for (var r = 0u; r < 8u; r++) {
                    let wv = in1[wb + wcol[r]];
                    for (var t = 0u; t < 8u; t++) { acc[r][t] = fma(wv, dv[t], acc[r][t]); }
                }
            }
            b += 1;
        }
        a += 1;
    }
    for (var r = 0u; r < 8u; r++) {
        if (c0 + r < c_in) {
            let xbase = (nb * c_in + c0 + r) * h * w;
            for (var t = 0u; t < 8u; t++) {
                if (valid[t]) { out0[xbase + yy[t] * w + xx[t]] = acc[r][t]; }
            }
        }
    }
}

// Partial dw over a range of (image, output row) pairs (split-K: grid y = split index):
// out[z, o, (c, i, j)] = sum_{(n, p) in split z} sum_q dy[n, o, p, q] x[n, c, p*sh+i-ph, q*sw+j-pw]
// in0 = x, in1 = dy. P.rows_per_split, P.col_groups = 64-column groups
@compute @workgroup_size(64)
fn backward_weight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let nimg = P.n; let c_in = P.c_in; let h = P.h; let w = P.w; let c_out = P.c_out;
    let kh = P.kh; let kw = P.kw; let sh = P.sh; let sw = P.sw;
    let ph = i32(P.ph); let pw = i32(P.pw); let oh = P.oh; let ow = P.ow;
    let rows_per = P.rows_per_split;
    let groups = P.col_groups;
    let id = wg.x * 64u + li;
    let lane = id % 8u;
    let pair = id / 8u;
    let o0 = (pair / groups) * 8u;
    if (o0 >= c_out) { return; }
    let kk = c_in * kh * kw;
    var col: array<u32, 8>;
    var xc: array<u32, 8>;
    var ki: array<i32, 8>;
    var kj: array<i32, 8>;
    for (var t = 0u; t < 8u; t++) {
        col[t] = (pair % groups) * 64u + t * 8u + lane;
        let cc = min(col[t], kk - 1u);
        xc[t] = cc / (kh * kw);
        ki[t] = i32((cc / kw) % kh) - ph;
        kj[t] = i32(cc % kw) - pw;
    }
    var orow: array<u32, 8>;
    for (var r = 0u; r < 8u; r++) { orow[r] = min(o0 + r, c_out - 1u); }
    var acc: array<array<f32, 8>, 8>;
    let row_start = wg.y * rows_per;
    let row_end = min(row_start + rows_per, nimg * oh);
    var nb = row_start / oh;
    var p = row_start % oh;
    for (var row = row_start; row < row_end; row++) {
        var xrow: array<u32, 8>;
        var rok: array<bool, 8>;
        for (var t = 0u; t < 8u; t++) {
            let y = i32(p * sh) + ki[t];
            rok[t] = y >= 0 && y < i32(h);
            xrow[t] = select(0u, ((nb * c_in + xc[t]) * h + u32(y)) * w, rok[t]);
        }
        var drow: array<u32, 8>;
        for (var r = 0u; r < 8u; r++) { drow[r] = ((nb * c_out + orow[r]) * oh + p) * ow; }
        for (var q = 0u; q < ow; q++) {
            var xv: array<f32, 8>;
            for (var t = 0u; t < 8u; t++) {
                let x = i32(q * sw) + kj[t];
                let ok = rok[t] && x >= 0 && x < i32(w);
                xv[t] = select(0.0, in0[select(0u, xrow[t] + u32(x), ok)], ok);
            }
            for (var r = 0u; r < 8u; r++) {
                let dv = in1[drow[r] + q];
                for (var t = 0u; t < 8u; t++) { acc[r][t] = fma(dv, xv[t], acc[r][t]); }
            }
        }
        p += 1u;
        if (p == oh) { p = 0u; nb += 1u; }
    }
    for (var r = 0u; r < 8u; r++) {
        if (o0 + r < c_out) {
            let base = (wg.y * c_out + o0 + r) * kk;
            for (var t = 0u; t < 8u; t++) {
                if (col[t] < kk) { out0[base + col[t]] = acc[r][t]; }
            }
        }
    }
}

// The lowering for llvmpipe's forward pass: cols[n, (c,i,j), (p,q)] = x[n, c, p*sh+i-ph, q*sw+j-pw]
// (zero outside), then y[n] = w * cols[n] by the vec4 matmul. Gathering each input value once
// per tap, instead of once per tap and 8-channel block, is what makes it faster there.
// One invocation per (image, tap row) writes that row's pixels, with no division in the loop.
// Images are laid out in groups of gc: cols[group, (c,i,j), (image in group, p, q)]; gc = 1 gives
// the per-image matrices of the forward pass, gc > 1 the split-K operands of backward-weight.
// P.first_image, P.images (in this call), P.images_per_group = gc
@compute @workgroup_size(64)
fn im2col(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let c_in = P.c_in; let h = P.h; let w = P.w;
    let kh = P.kh; let kw = P.kw; let sh = P.sh; let sw = P.sw;
    let ph = i32(P.ph); let pw = i32(P.pw); let oh = P.oh; let ow = P.ow;
    let kk = c_in * kh * kw;
    let row = flat_id(wg, nwg) * 64u + li;
    if (row >= P.images * kk) { return; }
    let nb = P.first_image + row / kk;
    let k = row % kk;
    let c = k / (kh * kw);
    let i = i32((k / kw) % kh) - ph;
    let j = i32(k % kw) - pw;
    let plane = (nb * c_in + c) * h * w;
    let gc = P.images_per_group;
    let local = nb - P.first_image;
    var dst = ((local / gc) * kk + k) * gc * oh * ow + (local % gc) * oh * ow;
    for (var p = 0u; p < oh; p++) {
        let y = i32(p * sh) + i;
        let yok = y >= 0 && y < i32(h);
        let rb = plane + select(0u, u32(y) * w, yok);
        for (var q = 0u; q < ow; q++) {
            let x = i32(q * sw) + j;
            let ok = yok && x >= 0 && x < i32(w);
            out0[dst] = select(0.0, in0[select(0u, rb + u32(x), ok)], ok);
            dst += 1u;
        }
    }
}

// The adjoint of im2col for backward-data: dx[n, c, y, x] = sum over the taps (i, j) that
// reach (y, x) of dcols[n, (c,i,j), (p,q)] (grouped like im2col's output). One invocation per (image, channel, row); the
// stride phase of x is tracked incrementally, so the loop has no division.
@compute @workgroup_size(64)
fn col2im(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let nimg = P.n; let c_in = P.c_in; let h = P.h; let w = P.w;
    let kh = P.kh; let kw = P.kw; let sh = P.sh; let sw = P.sw;
    let ph = P.ph; let pw = P.pw; let oh = P.oh; let ow = P.ow;
    let row = flat_id(wg, nwg) * 64u + li;
    if (row >= nimg * c_in * h) { return; }
    let y = row % h;
    let nc = row / h;
    let c = nc % c_in;
    let nb = nc / c_in;
    let npix = oh * ow;
    let kk = c_in * kh * kw;
    // dcols grouping as in im2col: P.images_per_group.
    let gc = P.images_per_group;
    let iy = (y + ph) % sh;
    let py = i32((y + ph) / sh);
    var rx = pw % sw;
    var qx = i32(pw / sw);
    let tap0 = ((nb / gc) * kk + c * kh * kw) * gc * npix + (nb % gc) * npix;
    let tap_stride = gc * npix;
    for (var x = 0u; x < w; x++) {
        var acc = 0.0;
        var a = 0;
        for (var i = iy; i < kh; i += sh) {
            let p = py - a;
            if (p >= 0 && p < i32(oh)) {
                var b = 0;
                for (var j = rx; j < kw; j += sw) {
                    let q = qx - b;
                    if (q >= 0 && q < i32(ow)) {
                        acc += in0[tap0 + (i * kw + j) * tap_stride + u32(p) * ow + u32(q)];
                    }
                    b += 1;
                }
            }
            a += 1;
        }
        out0[(nc * h + y) * w + x] = acc;
        rx += 1u;
        if (rx == sw) { rx = 0u; qx += 1; }
    }
}
