//! `cargo bench --bench engine`: the engine's throughput on the shapes that matter to vaecam.
//!
//! Prints a table (GFLOP/s; images/s for the training step) for each device and writes it to
//! `target/bench/engine-<device>.json`, which `benches/torch_reference.py` reads to print the
//! PyTorch figures and the vaecam/PyTorch ratio side by side. GPU timings include the wait
//! for the device (`Device::synchronize`). `VAECAM_BENCH_DEVICE=cpu|gpu` runs one backend;
//! `VAECAM_BENCH_ROWS=matmul,maps` runs only the rows whose name contains one of the words;
//! `VAECAM_BENCH_MAP_REPS` (default 1) sets the timed runs of the maps rows (tens of seconds
//! each on a CPU). `scripts/bench_cpu.sh` runs this and PyTorch's side in one command.

#[path = "common/model_rows.rs"]
mod model_rows;

use model_rows::{AD_FACTOR_STEP, FACTOR_STEP, MAPS, MAP_BATCH, TEXTURE_STEP};
use std::time::Instant;
use vaecam_attention::Strategy;
use vaecam_tensor::{Device, Tensor};
use vaecam_vae::{Vae, VaeConfig};

/// True when `VAECAM_BENCH_ROWS` is unset or `name` contains one of its comma-separated words.
fn wanted(name: &str) -> bool {
    match std::env::var("VAECAM_BENCH_ROWS") {
        Ok(f) if !f.trim().is_empty() => f
            .split(',')
            .map(str::trim)
            .any(|w| !w.is_empty() && name.contains(w)),
        _ => true,
    }
}

/// Median seconds per call over enough repetitions to fill ~`budget` seconds.
fn time(budget: f64, mut f: impl FnMut()) -> f64 {
    f();
    f();
    let t0 = Instant::now();
    f();
    let once = t0.elapsed().as_secs_f64().max(1e-6);
    let reps = ((budget / once) as usize).clamp(3, 200);
    let mut v: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

struct Row {
    name: String,
    ms: f64,
    value: f64,
    unit: &'static str,
}

fn conv_flops(n: usize, cin: usize, cout: usize, oh: usize, ow: usize, k: usize) -> f64 {
    2.0 * (n * cout * oh * ow * cin * k * k) as f64
}

fn main() {
    let budget: f64 = std::env::var("VAECAM_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    // VAECAM_BENCH_DEVICE=cpu|gpu benchmarks one backend only (default: both).
    let only = std::env::var("VAECAM_BENCH_DEVICE").ok();
    let mut devices = Vec::new();
    if only.as_deref() != Some("gpu") {
        devices.push(Device::cpu());
    }
    if only.as_deref() != Some("cpu") {
        match Device::gpu() {
            Ok(g) => devices.push(g),
            Err(e) => eprintln!("(no GPU device benchmarked: {e})"),
        }
    }
    for dev in devices {
        // The CPU's kernel family (VAECAM_CPU_ISA caps it) belongs with its figures.
        let label = if dev.is_cpu() {
            format!("{}, {} path", dev.name(), vaecam_tensor::cpu::isa::active())
        } else {
            dev.name()
        };
        println!("\n## vaecam engine on {label}\n");
        let mut rows: Vec<Row> = Vec::new();
        // A GPU op returns once it is recorded: each timed call waits for the device to finish.
        let sync_dev = dev.clone();
        let gflops = |rows: &mut Vec<Row>, name: String, flops: f64, f: &mut dyn FnMut()| {
            if !wanted(&name) {
                return;
            }
            let s = time(budget, || {
                f();
                sync_dev.synchronize().unwrap();
            });
            rows.push(Row {
                name,
                ms: s * 1e3,
                value: flops / s / 1e9,
                unit: "GFLOP/s",
            });
        };
        let a = Tensor::randn([1024, 1024], 1, &dev).unwrap();
        let b = Tensor::randn([1024, 1024], 2, &dev).unwrap();
        gflops(
            &mut rows,
            "matmul 1024x1024x1024".into(),
            2.0 * 1024f64.powi(3),
            &mut || {
                a.matmul(&b).unwrap();
            },
        );
        // Sum of 16M floats (memory bound: GB/s of input read).
        if wanted("sum of 16M floats") {
            let big = Tensor::randn([1 << 24], 9, &dev).unwrap();
            let s = time(budget, || {
                big.sum_all().unwrap();
                dev.synchronize().unwrap();
            });
            rows.push(Row {
                name: "sum of 16M floats".into(),
                ms: s * 1e3,
                value: (4usize << 24) as f64 / s / 1e9,
                unit: "GB/s",
            });
        }
        let n = 64;
        for &(cin, cout, hw) in &[
            (1usize, 32usize, 64usize),
            (32, 32, 32),
            (32, 64, 16),
            (64, 64, 8),
        ] {
            let x = Tensor::randn([n, cin, hw, hw], 3, &dev).unwrap();
            let w = Tensor::randn([cout, cin, 4, 4], 4, &dev).unwrap();
            let o = hw / 2;
            let dy = Tensor::randn([n, cout, o, o], 5, &dev).unwrap();
            let fl = conv_flops(n, cin, cout, o, o, 4);
            let tag = format!("{cin}->{cout} @{hw}x{hw}");
            gflops(&mut rows, format!("conv2d fwd {tag}"), fl, &mut || {
                x.conv2d(&w, None, 2, 1).unwrap();
            });
            gflops(&mut rows, format!("conv2d bwd-data {tag}"), fl, &mut || {
                dy.conv2d_backward_data(&w, (hw, hw), 2, 1).unwrap();
            });
            gflops(
                &mut rows,
                format!("conv2d bwd-weight {tag}"),
                fl,
                &mut || {
                    x.conv2d_backward_weight(&dy, (4, 4), 2, 1).unwrap();
                },
            );
            if (cin, cout) == (32, 64) {
                gflops(
                    &mut rows,
                    format!("conv2d fwd+bwd {tag}"),
                    3.0 * fl,
                    &mut || {
                        x.conv2d(&w, None, 2, 1).unwrap();
                        dy.conv2d_backward_data(&w, (hw, hw), 2, 1).unwrap();
                        x.conv2d_backward_weight(&dy, (4, 4), 2, 1).unwrap();
                    },
                );
            }
        }
        for &(cin, cout, hw) in &[
            (64usize, 64usize, 4usize),
            (64, 32, 8),
            (32, 32, 16),
            (32, 1, 32),
        ] {
            let x = Tensor::randn([n, cin, hw, hw], 6, &dev).unwrap();
            let w = Tensor::randn([cin, cout, 4, 4], 7, &dev).unwrap();
            let fl = conv_flops(n, cin, cout, hw, hw, 4);
            gflops(
                &mut rows,
                format!("conv_transpose2d {cin}->{cout} @{hw}->{}", 2 * hw),
                fl,
                &mut || {
                    x.conv_transpose2d(&w, None, 2, 1, 0).unwrap();
                },
            );
        }
        // One full dSprites VAE training step: forward, loss, backward, Adam.
        if wanted("dSprites VAE train step, batch 64") {
            let vae = Vae::new(&VaeConfig::dsprites(10), 0, &dev).unwrap();
            let x = model_rows::binary_images(n, &dev);
            let s = time(budget.max(2.0), model_rows::vae_step(vae, x));
            rows.push(Row {
                name: "dSprites VAE train step, batch 64".into(),
                ms: s * 1e3,
                value: n as f64 / s,
                unit: "images/s",
            });
        }
        // FactorVAE steps: the VAE half (64 images) plus the discriminator's half; the AD
        // variant adds the attention-disentanglement loss (45 pairs, second order).
        for (name, ad, tag) in [(FACTOR_STEP, false, "factor"), (AD_FACTOR_STEP, true, "ad")] {
            if !wanted(name) {
                continue;
            }
            let (mut tr, dir) = model_rows::factor_trainer(&dev, n, ad, tag);
            let x = model_rows::binary_images(n, &dev);
            let x2 = Tensor::concat(&[x.clone(), x.clone()], 0).unwrap();
            let s = time(budget.max(2.0), || {
                tr.train_step(&x2).unwrap();
                dev.synchronize().unwrap();
            });
            rows.push(Row {
                name: name.into(),
                ms: s * 1e3,
                value: n as f64 / s,
                unit: "images/s",
            });
            let _ = std::fs::remove_dir_all(&dir);
        }
        if wanted(TEXTURE_STEP) {
            let batch = 32;
            let s = time(budget.max(2.0), model_rows::texture_step(&dev, batch));
            rows.push(Row {
                name: TEXTURE_STEP.into(),
                ms: s * 1e3,
                value: batch as f64 / s,
                unit: "images/s",
            });
        }
        let map_reps: usize = std::env::var("VAECAM_BENCH_MAP_REPS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        for (label, strategy) in [
            ("stacked backward", Strategy::Stacked),
            ("one VJP per dim", Strategy::PerDim),
        ] {
            let name = format!("{MAPS} ({label})");
            if !wanted(&name) {
                continue;
            }
            let (vae, x) = model_rows::maps_model(&dev);
            // Warm up on one batch, not the whole set (a full run takes tens of seconds).
            model_rows::map_all(&vae, &x.slice(0, 0, MAP_BATCH).unwrap(), strategy);
            let s = model_rows::time_heavy(map_reps, || {
                model_rows::map_all(&vae, &x, strategy);
                dev.synchronize().unwrap();
            });
            rows.push(Row {
                name,
                ms: s * 1e3,
                value: model_rows::MAP_IMAGES as f64 / s,
                unit: "images/s",
            });
        }

        println!("| op | ms | throughput |");
        println!("|---|---:|---:|");
        for r in &rows {
            println!("| {} | {:.3} | {:.1} {} |", r.name, r.ms, r.value, r.unit);
        }
        let json: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{{\"name\": \"{}\", \"ms\": {:.5}, \"value\": {:.3}, \"unit\": \"{}\"}}",
                    r.name, r.ms, r.value, r.unit
                )
            })
            .collect();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
        let _ = std::fs::create_dir_all(&dir);
        let tag = if dev.is_cpu() { "cpu" } else { "gpu" };
        let path = dir.join(format!("engine-{tag}.json"));
        if std::fs::write(
            &path,
            format!(
                "{{\"device\": \"{}\", \"rows\": [\n{}\n]}}\n",
                label,
                json.join(",\n")
            ),
        )
        .is_ok()
        {
            println!("\n(written to {})", path.display());
        }
    }
}
