//! `cargo bench --bench attention`: what latent attention maps cost.
//!
//! Per-image time of the D = 32 per-dimension maps (each strategy) and of the aggregate-only
//! variants, against one encoder forward pass, on the 128x128 texture VAE at batch 16.

use std::time::Instant;
use vaecam_attention::{latent_attention_maps, MapOptions, SequentialEncoder, Strategy, Variant};
use vaecam_tensor::{no_grad, Device, Tensor};
use vaecam_vae::{Vae, VaeConfig};

fn median(mut f: impl FnMut(), reps: usize) -> f64 {
    f();
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

fn main() {
    let reps: usize = std::env::var("VAECAM_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let mut devices = vec![Device::cpu()];
    if let Ok(g) = Device::gpu() {
        devices.push(g);
    }
    for dev in devices {
        let vae = Vae::new(
            &VaeConfig::conv(1, 128, vec![32, 64, 128, 256], 32),
            0,
            &dev,
        )
        .unwrap();
        vae.set_training(false);
        let n = 16;
        let x = Tensor::rand([n, 1, 128, 128], 1, &dev).unwrap();
        let enc = SequentialEncoder::new(&vae.encoder, 32);
        println!(
            "\n## latent attention maps on {} (128x128 conv VAE, z = 32, layer act2, batch {n})\n",
            dev.name()
        );
        println!("| what | ms per image | x one forward |");
        println!("|---|---:|---:|");
        let fwd = median(
            || {
                no_grad(|| vae.encode(&x).unwrap().0.to_vec().unwrap());
            },
            reps,
        ) / n as f64;
        println!("| encoder forward | {:.3} | 1.0 |", fwd * 1e3);
        let cases: [(&str, MapOptions); 5] = [
            (
                "per-dim maps, D=32, one stacked backward (Stacked)",
                MapOptions {
                    strategy: Strategy::Stacked,
                    ..Default::default()
                },
            ),
            (
                "per-dim maps, D=32, 32 VJPs (PerDim)",
                MapOptions {
                    strategy: Strategy::PerDim,
                    ..Default::default()
                },
            ),
            (
                "per-dim maps, D=32, one batched VJP (Batched)",
                MapOptions {
                    strategy: Strategy::Batched,
                    ..Default::default()
                },
            ),
            (
                "aggregate, code variant (1 VJP)",
                MapOptions {
                    variant: Variant::Code,
                    per_dim: false,
                    ..Default::default()
                },
            ),
            (
                "aggregate, normal-difference (1 VJP)",
                MapOptions {
                    variant: Variant::NormalDifference {
                        mean_mu: vec![0.0; 32],
                        mean_var: vec![1.0; 32],
                    },
                    per_dim: false,
                    ..Default::default()
                },
            ),
        ];
        for (name, opts) in cases {
            let t = median(
                || {
                    latent_attention_maps(&enc, &x, "act2", &opts)
                        .unwrap()
                        .aggregate
                        .to_vec()
                        .unwrap();
                },
                reps,
            ) / n as f64;
            println!("| {name} | {:.3} | {:.1} |", t * 1e3, t / fwd);
        }
    }
}
