//! 20 training steps of the dSprites VAE from the same seed and data on the CPU and on the
//! GPU give the same losses (1e-3 relative).

use vaecam_tensor::optim::{Adam, AdamConfig};
use vaecam_tensor::{Device, Tensor};
use vaecam_vae::{kl_divergence, reconstruction_loss, Vae, VaeConfig};

/// Binary 64x64 images: one axis-aligned rectangle each (dSprites-like, deterministic).
fn images(n: usize) -> Vec<f32> {
    let mut v = vec![0f32; n * 64 * 64];
    for b in 0..n {
        let (y0, x0) = (5 + 7 * b % 30, 9 + 11 * b % 30);
        let (hh, ww) = (8 + 3 * b % 15, 10 + 5 * b % 12);
        for y in y0..(y0 + hh).min(64) {
            for x in x0..(x0 + ww).min(64) {
                v[b * 4096 + y * 64 + x] = 1.0;
            }
        }
    }
    v
}

fn losses(dev: &Device, steps: u64) -> Vec<f32> {
    let n = 4;
    let vae = Vae::new(&VaeConfig::dsprites(10), 3, dev).unwrap();
    let mut opt = Adam::new(
        vae.parameters(),
        AdamConfig {
            lr: 1e-3,
            ..Default::default()
        },
    )
    .unwrap();
    let data = images(n);
    let mut out = Vec::new();
    for step in 1..=steps {
        let x = Tensor::from_vec(data.clone(), [n, 1, 64, 64], dev).unwrap();
        let o = vae.forward(&x, Some(step)).unwrap();
        let loss = reconstruction_loss(&o.logits, &x, vae.config.likelihood)
            .unwrap()
            .add(&kl_divergence(&o.mu, &o.logvar).unwrap())
            .unwrap();
        out.push(loss.item().unwrap());
        let g = loss.backward().unwrap();
        opt.step(&g).unwrap();
    }
    out
}

fn gpu() -> Option<Device> {
    match Device::gpu() {
        Ok(d) => Some(d),
        Err(e) if std::env::var("VAECAM_SKIP_GPU").as_deref() == Ok("1") => {
            eprintln!("skipped (VAECAM_SKIP_GPU=1): {e}");
            None
        }
        Err(e) => panic!("{e}\n(set VAECAM_SKIP_GPU=1 to skip the GPU tests)"),
    }
}

#[test]
fn twenty_training_steps_agree_on_cpu_and_gpu() {
    let Some(dev) = gpu() else { return };
    let cpu = losses(&Device::cpu(), 20);
    let gpu = losses(&dev, 20);
    let worst = cpu
        .iter()
        .zip(&gpu)
        .map(|(c, g)| ((c - g) / c.abs().max(1e-6)).abs())
        .fold(0f32, f32::max);
    eprintln!("losses cpu {cpu:?}\n       gpu {gpu:?}\nworst relative difference {worst:.2e}");
    for (i, (c, g)) in cpu.iter().zip(&gpu).enumerate() {
        let rel = ((c - g) / c.abs().max(1e-6)).abs();
        assert!(
            rel < 1e-3,
            "step {}: cpu loss {c}, gpu loss {g} (rel {rel:.2e})",
            i + 1
        );
    }
    // Training did something: the loss moved.
    assert!(cpu[19] < cpu[0], "losses {cpu:?}");
}
