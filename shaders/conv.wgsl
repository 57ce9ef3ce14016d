// conv2d as implicit GEMM, barrier-free: every invocation owns an 8 x 8 register tile
// (8 channels x 8 pixels, pixels interleaved with the 8 neighbouring invocations so that SIMD
// lanes read neighbouring addresses). No im2col matrix is ever written.
// params (all entries): n, c_in, h, w, c_out, kh, kw, sh, sw, ph, pw, oh, ow, [13] extra
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(8) var<storage, read_write> out0: array<f32>;

// y[n, o, p, q] = sum_{c,i,j} w[o, c, i, j] x[n, c, p*sh + i - ph, q*sw + j - pw]
// in0 = x, in1 = w; grid (pixel tiles of 64, channel tiles of 64, n)
@compute @workgroup_size(8, 8, 1)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
    let c_in = pu(1u); let h = pu(2u); let w = pu(3u); let c_out = pu(4u);
    let kh = pu(5u); let kw = pu(6u); let sh = pu(7u); let sw = pu(8u);
    let ph = i32(pu(9u)); let pw = i32(pu(10u)); let oh = pu(11u); let ow = pu(12u);
    let npix = oh * ow;
    let o0 = (wg.y * 8u + li.y) * 8u;
    if (o0 >= c_out) { return; }
    let nb = wg.z;
    var ih0: array<i32, 8>;
    var iw0: array<i32, 8>;
    var pix: array<u32, 8>;
    for (var t = 0u; t < 8u; t++) {
        pix[t] = wg.x * 64u + t * 8u + li.x;
        let pc = min(pix[t], npix - 1u);
        ih0[t] = i32((pc / ow) * sh) - ph;
        iw0[t] = i32((pc % ow) * sw) - pw;
    }
    var wrow: array<u32, 8>;
    let kk = c_in * kh * kw;
    for (var r = 0u; r < 8u; r++) { wrow[r] = min(o0 + r, c_out - 1u) * kk; }
    var acc: array<array<f32, 8>, 8>;
    for (var c = 0u; c < c_in; c++) {
        let xplane = (nb * c_in + c) * h * w;
        for (var i = 0u; i < kh; i++) {
            for (var j = 0u; j < kw; j++) {
                var xv: array<f32, 8>;
                for (var t = 0u; t < 8u; t++) {
                    let y = ih0[t] + i32(i);
                    let x = iw0[t] + i32(j);
                    let ok = y >= 0 && y < i32(h) && x >= 0 && x < i32(w);
                    let idx = select(0u, xplane + u32(y) * w + u32(x), ok);
                    xv[t] = select(0.0, in0[idx], ok);
                }
                let wi = (c * kh + i) * kw + j;
                for (var r = 0u; r < 8u; r++) {
                    let wv = in1[wrow[r] + wi];
                    for (var t = 0u; t < 8u; t++) { acc[r][t] = fma(wv, xv[t], acc[r][t]); }
                }
            }
        }
    }
    for (var r = 0u; r < 8u; r++) {
        if (o0 + r < c_out) {
            let ybase = (nb * c_out + o0 + r) * npix;
            for (var t = 0u; t < 8u; t++) {
                if (pix[t] < npix) { out0[ybase + pix[t]] = acc[r][t]; }
            }
        }
    }
}

// dx[n, c, y, x] = sum over taps (i, j) with (y + ph - i) % sh == 0 (and likewise in x) of
// dy[n, o, (y + ph - i) / sh, (x + pw - j) / sw] w[o, c, i, j]. Pixels are grouped by phase
// (y % sh, x % sw) so that every pixel of one invocation has the same valid taps and no tap
// is wasted on a stride hole. in0 = dy, in1 = w; grid (pixel tiles, channel tiles, n * sh * sw)
@compute @workgroup_size(8, 8, 1)
fn backward_data(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
    let c_in = pu(1u); let h = pu(2u); let w = pu(3u); let c_out = pu(4u);
    let kh = pu(5u); let kw = pu(6u); let sh = pu(7u); let sw = pu(8u);
    let ph = pu(9u); let pw = pu(10u); let oh = pu(11u); let ow = pu(12u);
    let hp = (h + sh - 1u) / sh;
    let wp = (w + sw - 1u) / sw;
    let c0 = (wg.y * 8u + li.y) * 8u;
    if (c0 >= c_in) { return; }
    let nb = wg.z / (sh * sw);
    let phase = wg.z % (sh * sw);
    let fy = phase / sw;
    let fx = phase % sw;
    var yy: array<u32, 8>;
    var xx: array<u32, 8>;
    var valid: array<bool, 8>;
    for (var t = 0u; t < 8u; t++) {
        let pix = wg.x * 64u + t * 8u + li.x;
        yy[t] = (pix / wp) * sh + fy;
        xx[t] = (pix % wp) * sw + fx;
        valid[t] = pix < hp * wp && yy[t] < h && xx[t] < w;
    }
    let i_first = (fy + ph) % sh;
    let j_first = (fx + pw) % sw;
    var acc: array<array<f32, 8>, 8>;
    for (var i = i_first; i < kh; i += sh) {
        for (var j = j_first; j < kw; j += sw) {
            var off: array<u32, 8>;
            var ok: array<bool, 8>;
            for (var t = 0u; t < 8u; t++) {
                let py = i32(yy[t] + ph) - i32(i);
                let px = i32(xx[t] + pw) - i32(j);
                let p = py / i32(sh);
                let q = px / i32(sw);
                ok[t] = valid[t] && py >= 0 && px >= 0 && p < i32(oh) && q < i32(ow);
                off[t] = select(0u, u32(p) * ow + u32(q), ok[t]);
            }
            for (var o = 0u; o < c_out; o++) {
                let dbase = (nb * c_out + o) * oh * ow;
                var dv: array<f32, 8>;
                for (var t = 0u; t < 8u; t++) { dv[t] = select(0.0, in0[dbase + off[t]], ok[t]); }
                let wb = (o * c_in) * kh * kw + i * kw + j;
                for (var r = 0u; r < 8u; r++) {
                    let wv = in1[wb + min(c0 + r, c_in - 1u) * kh * kw];
                    for (var t = 0u; t < 8u; t++) { acc[r][t] = fma(wv, dv[t], acc[r][t]); }
                }
            }
        }
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

// Partial dw over a range of (image, output row) pairs (split-K: grid z = split index):
// out[z, o, (c, i, j)] = sum_{(n, p) in split z} sum_q dy[n, o, p, q] x[n, c, p*sh+i-ph, q*sw+j-pw]
// in0 = x, in1 = dy; params[13] = rows per split; grid (column tiles, channel tiles, splits)
@compute @workgroup_size(8, 8, 1)
fn backward_weight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
    let nimg = pu(0u); let c_in = pu(1u); let h = pu(2u); let w = pu(3u); let c_out = pu(4u);
    let kh = pu(5u); let kw = pu(6u); let sh = pu(7u); let sw = pu(8u);
    let ph = i32(pu(9u)); let pw = i32(pu(10u)); let oh = pu(11u); let ow = pu(12u);
    let rows_per = pu(13u);
    let kk = c_in * kh * kw;
    let o0 = (wg.y * 8u + li.y) * 8u;
    if (o0 >= c_out) { return; }
    var col: array<u32, 8>;
    var xc: array<u32, 8>;
    var ki: array<i32, 8>;
    var kj: array<i32, 8>;
    for (var t = 0u; t < 8u; t++) {
        col[t] = wg.x * 64u + t * 8u + li.x;
        let cc = min(col[t], kk - 1u);
        xc[t] = cc / (kh * kw);
        ki[t] = i32((cc / kw) % kh) - ph;
        kj[t] = i32(cc % kw) - pw;
    }
    var orow: array<u32, 8>;
    for (var r = 0u; r < 8u; r++) { orow[r] = min(o0 + r, c_out - 1u); }
    var acc: array<array<f32, 8>, 8>;
    let row_end = min((wg.z + 1u) * rows_per, nimg * oh);
    for (var row = wg.z * rows_per; row < row_end; row++) {
        let nb = row / oh;
        let p = row % oh;
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
    }
    for (var r = 0u; r < 8u; r++) {
        if (o0 + r < c_out) {
            let base = (wg.z * c_out + o0 + r) * kk;
            for (var t = 0u; t < 8u; t++) {
                if (col[t] < kk) { out0[base + col[t]] = acc[r][t]; }
            }
        }
    }
}
