//! Trains a small conv VAE for a few dozen steps on synthetic bright squares and prints the
//! loss parts: the trainer with its atomic checkpoints, in ~30 lines.
//!
//! `cargo run --release -p vaecam-vae --example train_tiny`

use vaecam_tensor::Device;
use vaecam_vae::{BatchSource, RunConfig, RunMode, TrainOptions, Trainer, VaeConfig, VaeError};

/// A bright square at a position that depends on the step and the image.
struct Squares;
impl BatchSource for Squares {
    fn batch(&mut self, step: u64) -> Result<(Vec<f32>, [usize; 4]), VaeError> {
        let mut x = vec![0.0f32; 16 * 32 * 32];
        for i in 0..16 {
            let (r0, c0) = ((step as usize + 3 * i) % 24, (7 * i + step as usize) % 24);
            for r in r0..r0 + 8 {
                for c in c0..c0 + 8 {
                    x[i * 1024 + r * 32 + c] = 1.0;
                }
            }
        }
        Ok((x, [16, 1, 32, 32]))
    }
}

fn main() -> Result<(), VaeError> {
    let dir = std::env::temp_dir().join("vaecam-example-train-tiny");
    let config = RunConfig {
        model: VaeConfig::conv(1, 32, vec![16, 32], 4),
        train: TrainOptions {
            steps: 60,
            batch_size: 16,
            lr: 2e-3,
            log_every: 20,
            ..Default::default()
        },
        data: "squares".into(),
        extra: serde_json::Value::Null,
    };
    let mut trainer = Trainer::create(&dir, config, RunMode::Force, &Device::cpu())?;
    trainer.train(&mut Squares, &mut |r| {
        if r.step % 20 == 0 {
            let parts: Vec<String> = r.parts.iter().map(|(k, v)| format!("{k} {v:.2}")).collect();
            println!("step {:3}: {}", r.step, parts.join(", "));
        }
    })?;
    println!(
        "run folder: {} (config.json, log.jsonl, checkpoint.safetensors)",
        dir.display()
    );
    Ok(())
}
