//! CPU kernel benchmarks: `cargo bench --bench cpu_kernels`. Prints op, shape,
//! median milliseconds and GFLOP/s; compare with benches/torch_reference.py.

use std::time::Instant;
use vaecam_tensor::cpu::conv::{conv2d_backward_data, conv2d_backward_weight, conv2d_forward};
use vaecam_tensor::cpu::gemm::sgemm;
use vaecam_tensor::geometry::{Conv2dGeometry, MatmulSpec};

/// CPU seconds used so far by all threads of this process (Linux
/// schedstat, nanosecond resolution).
fn cpu_secs() -> f64 {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(s) = std::fs::read_to_string(task.path().join("schedstat")) {
            ns += s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        }
    }
    ns as f64 * 1e-9
}

/// Median seconds of `reps` timed runs after a warm-up; the best run goes to
/// stderr. With BENCH_CPU_TIME=1 (and RAYON_NUM_THREADS=1) it times CPU
/// rather than wall seconds, which other jobs on a shared machine disturb
/// far less: use that for A/B comparisons, wall time for reporting.
fn median_secs(mut f: impl FnMut(), reps: usize) -> f64 {
    let cpu = std::env::var_os("BENCH_CPU_TIME").is_some();
    let now = || if cpu { cpu_secs() } else { 0.0 };
    for _ in 0..3 {
        f();
    }
    let mut ts: Vec<f64> = (0..reps)
        .map(|_| {
            let (t, c) = (Instant::now(), now());
            f();
            if cpu {
                now() - c
            } else {
                t.elapsed().as_secs_f64()
            }
        })
        .collect();
    ts.sort_by(|a, b| a.partial_cmp(b).unwrap());
    eprint!("[best {:.3} ms] ", ts[0] * 1e3);
    ts[reps / 2]
}

/// BENCH_FILTER=substring runs only the rows whose "op shape" contains it.
fn wanted(op: &str, shape: &str) -> bool {
    std::env::var("BENCH_FILTER").map_or(true, |f| format!("{op} {shape}").contains(&f))
}

fn row(op: &str, shape: &str, flops: f64, secs: f64) {
    println!(
        "{op:<22} {shape:<28} {:9.3} ms {:8.1} GFLOP/s",
        secs * 1e3,
        flops / secs / 1e9
    );
}

fn data(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7 + seed * 13) % 17) as f32 * 0.1 - 0.8)
        .collect()
}

fn main() {
    println!("rayon threads: {}", rayon::current_num_threads());
    let n = 1024;
    let (a, b) = (data(n * n, 1), data(n * n, 2));
    let mut c = vec![0.0; n * n];
    for (ta, tb, name) in [
        (false, false, "NN"),
        (true, false, "TN"),
        (false, true, "NT"),
        (true, true, "TT"),
    ] {
        let shape = format!("1024x1024x1024 {name}");
        if wanted("matmul", &shape) {
            let s = median_secs(
                || sgemm(MatmulSpec::single(n, n, n, ta, tb), &a, &b, &mut c, false),
                15,
            );
            row("matmul", &shape, 2.0 * (n * n * n) as f64, s);
        }
    }

    // dSprites VAE encoder: (c_in, c_out, input size), batch 64, k4 s2 p1.
    let batch = 64;
    for (ci, co, h) in [(1, 32, 64), (32, 32, 32), (32, 64, 16), (64, 64, 8)] {
        let g = Conv2dGeometry::new([batch, ci, h, h], co, (4, 4), (2, 2), (1, 1)).unwrap();
        let (x, w, dy) = conv_data(&g);
        let (mut y, mut dx, mut dw) = (vec![0.0; dy.len()], vec![0.0; x.len()], vec![0.0; w.len()]);
        let fl = conv_flops(&g);
        let shape = format!("{ci}->{co} {h}x{h} b{batch}");
        if wanted("conv fwd", &shape) {
            let s = median_secs(|| conv2d_forward(&g, &x, &w, &mut y), 21);
            row("conv fwd", &shape, fl, s);
        }
        if wanted("conv bwd-data", &shape) {
            let s = median_secs(|| conv2d_backward_data(&g, &dy, &w, &mut dx), 21);
            row("conv bwd-data", &shape, fl, s);
        }
        if wanted("conv bwd-weight", &shape) {
            let s = median_secs(|| conv2d_backward_weight(&g, &x, &dy, &mut dw), 21);
            row("conv bwd-weight", &shape, fl, s);
        }
    }
    // Other shapes the engine will meet: 3x3 stride-1 and batch 1.
    for (nb, ci, co, h, k, st, p) in [(16, 64, 64, 32, 3, 1, 1), (1, 32, 32, 32, 4, 2, 1)] {
        let g = Conv2dGeometry::new([nb, ci, h, h], co, (k, k), (st, st), (p, p)).unwrap();
        let (x, w, dy) = conv_data(&g);
        let (mut y, mut dx, mut dw) = (vec![0.0; dy.len()], vec![0.0; x.len()], vec![0.0; w.len()]);
        let fl = conv_flops(&g);
        let shape = format!("{ci}->{co} {h}x{h} k{k}s{st} b{nb}");
        if wanted("conv fwd", &shape) {
            let s = median_secs(|| conv2d_forward(&g, &x, &w, &mut y), 21);
            row("conv fwd", &shape, fl, s);
        }
        if wanted("conv bwd-data", &shape) {
            let s = median_secs(|| conv2d_backward_data(&g, &dy, &w, &mut dx), 21);
            row("conv bwd-data", &shape, fl, s);
        }
        if wanted("conv bwd-weight", &shape) {
            let s = median_secs(|| conv2d_backward_weight(&g, &x, &dy, &mut dw), 21);
            row("conv bwd-weight", &shape, fl, s);
        }
    }
    // Decoder conv_transpose (c_in_t, c_out_t, input size): the backward-data
    // of the conv c_out_t -> c_in_t at twice the size.
    for (ci, co, h) in [(64, 64, 4), (64, 32, 8), (32, 32, 16), (32, 1, 32)] {
        let g = Conv2dGeometry::with_output_size(
            [batch, co, 2 * h, 2 * h],
            ci,
            (4, 4),
            (2, 2),
            (1, 1),
            (h, h),
        )
        .unwrap();
        let (x, w, dy) = conv_data(&g);
        let mut dx = vec![0.0; x.len()];
        let shape = format!("{ci}->{co} {h}->{} b{batch}", 2 * h);
        if wanted("conv_transpose fwd", &shape) {
            let s = median_secs(|| conv2d_backward_data(&g, &dy, &w, &mut dx), 21);
            row("conv_transpose fwd", &shape, conv_flops(&g), s);
        }
    }
}

fn conv_flops(g: &Conv2dGeometry) -> f64 {
    2.0 * (g.n * g.c_out * g.oh * g.ow * g.c_in * g.kh * g.kw) as f64
}

fn conv_data(g: &Conv2dGeometry) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    (
        data(g.n * g.c_in * g.h * g.w, 3),
        data(g.c_out * g.c_in * g.kh * g.kw, 4),
        data(g.n * g.c_out * g.oh * g.ow, 5),
    )
}
