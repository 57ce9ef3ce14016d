//! After warm-up, training steps on the GPU create no new wgpu buffers (the pool serves every
//! allocation) and submit in batches rather than once per op. Its own test binary, so that
//! no other test allocates while the counters are read.

use vaecam_tensor::gpu::stats;
use vaecam_tensor::optim::{Adam, AdamConfig};
use vaecam_tensor::{Device, Tensor};
use vaecam_vae::{kl_divergence, reconstruction_loss, Vae, VaeConfig};

#[test]
fn training_steps_after_warm_up_create_no_buffers() {
    let dev = match Device::gpu() {
        Ok(d) => d,
        Err(e) if std::env::var("VAECAM_SKIP_GPU").as_deref() == Ok("1") => {
            eprintln!("skipped (VAECAM_SKIP_GPU=1): {e}");
            return;
        }
        Err(e) => panic!("{e}\n(set VAECAM_SKIP_GPU=1 to skip the GPU tests)"),
    };
    let n = 2;
    let vae = Vae::new(&VaeConfig::dsprites(10), 0, &dev).unwrap();
    let mut opt = Adam::new(vae.parameters(), AdamConfig::default()).unwrap();
    let data: Vec<f32> = (0..n * 4096)
        .map(|i| ((i / 7) % 3 == 0) as u8 as f32)
        .collect();
    let mut step = |s: u64| {
        // A fresh upload every step, as a data loader would do.
        let x = Tensor::from_vec(data.clone(), [n, 1, 64, 64], &dev).unwrap();
        let o = vae.forward(&x, Some(s)).unwrap();
        let loss = reconstruction_loss(&o.logits, &x, vae.config.likelihood)
            .unwrap()
            .add(&kl_divergence(&o.mu, &o.logvar).unwrap())
            .unwrap();
        let g = loss.backward().unwrap();
        opt.step(&g).unwrap();
        loss.item().unwrap()
    };
    for s in 0..3 {
        step(s);
    }
    let before = stats();
    for s in 3..8 {
        step(s);
    }
    let after = stats();
    assert_eq!(
        after.buffers_created, before.buffers_created,
        "buffers created during 5 warm training steps ({before:?} -> {after:?})"
    );
    let dispatches = after.dispatches - before.dispatches;
    let submits = after.submits - before.submits;
    eprintln!("5 steps: {dispatches} dispatches, {submits} submits, 0 buffers created");
    assert!(dispatches > 100, "{dispatches} dispatches in 5 steps");
    assert!(
        submits * 4 < dispatches,
        "{submits} submits for {dispatches} dispatches: not batched"
    );
    assert_eq!(
        after.pipelines, before.pipelines,
        "pipelines compiled after warm-up"
    );
}
