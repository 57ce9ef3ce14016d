//! CPU kernel benchmarks: `cargo bench --bench cpu_kernels`. Prints op, shape,
//! median milliseconds and GFLOP/s; compare with benches/torch_reference.py.

use std::time::Instant;
use vaecam_tensor::cpu::gemm::sgemm;

fn median_secs(mut f: impl FnMut(), reps: usize) -> f64 {
    for _ in 0..3 {
        f();
    }
    let mut ts: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    ts.sort_by(|a, b| a.partial_cmp(b).unwrap());
    ts[reps / 2]
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
    let s = median_secs(|| sgemm(n, n, n, &a, false, &b, false, &mut c, false), 15);
    row("matmul", "1024x1024x1024", 2.0 * (n * n * n) as f64, s);
}
