//! The model-level rows of `cargo bench --bench engine` (issue 14 item 5): the 128 px texture
//! VAE training step, the dSprites FactorVAE and AD-FactorVAE steps, and the per-dimension
//! attention maps of 90 test images, each under the name `benches/torch_reference.py` prints
//! PyTorch's figure for.

use std::time::Instant;
use vaecam::pipelines::ad::AdLoss;
use vaecam_attention::{latent_attention_maps, AdOptions, MapOptions, SequentialEncoder, Strategy};
use vaecam_tensor::optim::{Adam, AdamConfig};
use vaecam_tensor::{Device, Tensor};
use vaecam_vae::{
    kl_divergence, reconstruction_loss, FactorOptions, RunConfig, RunMode, TrainOptions, Trainer,
    Vae, VaeConfig,
};

/// Texture model of `vaecam localize` at 128 px: k4 s2 p1 convs 32-64-128-256 with BatchNorm
/// and LeakyReLU(0.2), z = 64, colour images.
pub fn texture_config() -> VaeConfig {
    VaeConfig::conv(3, 128, vec![32, 64, 128, 256], 64)
}

/// Test images of the maps row and the batch `vaecam localize` maps them in.
pub const MAP_IMAGES: usize = 90;
/// Batch of the maps row (`pipelines::maps::evaluate` maps 16 test images at a time).
pub const MAP_BATCH: usize = 16;

/// Row names (the same strings as in torch_reference.py).
pub const TEXTURE_STEP: &str = "texture VAE train step 128px z64, batch 32";
/// FactorVAE step.
pub const FACTOR_STEP: &str = "dSprites FactorVAE train step, batch 64";
/// AD-FactorVAE step.
pub const AD_FACTOR_STEP: &str =
    "dSprites AD-FactorVAE train step, batch 64 (45 pairs, through alpha)";
/// Per-dimension maps (the strategy is appended in parentheses).
pub const MAPS: &str = "per-dim maps, 90 images 128px z64 @act2";

/// Seconds per call of a heavy `f`: the median of `reps` calls (warm up before, on less work).
pub fn time_heavy(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut v: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// One VAE training step (forward, reconstruction loss + KL, backward, Adam at lr 1e-4) of
/// `vae` on the batch `x`; returns the step closure.
pub fn vae_step(vae: Vae, x: Tensor) -> impl FnMut() {
    let mut opt = Adam::new(
        vae.parameters(),
        AdamConfig {
            lr: 1e-4,
            ..Default::default()
        },
    )
    .unwrap();
    let dev = x.device().clone();
    let mut step = 0u64;
    move || {
        step += 1;
        let out = vae.forward(&x, Some(step)).unwrap();
        let loss = reconstruction_loss(&out.logits, &x, vae.config.likelihood)
            .unwrap()
            .add(&kl_divergence(&out.mu, &out.logvar).unwrap())
            .unwrap();
        let g = loss.backward().unwrap();
        opt.step(&g).unwrap();
        dev.synchronize().unwrap();
    }
}

/// One 128 px texture VAE training step on `batch` images; returns the step closure.
pub fn texture_step(dev: &Device, batch: usize) -> impl FnMut() {
    let vae = Vae::new(&texture_config(), 0, dev).unwrap();
    vae_step(vae, Tensor::rand([batch, 3, 128, 128], 8, dev).unwrap())
}

/// A dSprites FactorVAE trainer (gamma 40, batch `n` + the discriminator's `n`), with the AD
/// loss on all 45 pairs of the 10 dimensions at relu2 through alpha when `ad`.
pub fn factor_trainer(
    dev: &Device,
    n: usize,
    ad: bool,
    tag: &str,
) -> (Trainer, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("vaecam-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = RunConfig {
        model: VaeConfig::dsprites(10),
        train: TrainOptions {
            steps: u64::MAX,
            batch_size: n,
            factor: Some(FactorOptions::with_gamma(40.0)),
            ..Default::default()
        },
        data: "bench".into(),
        extra: serde_json::Value::Null,
    };
    let mut tr = Trainer::create(&dir, cfg, RunMode::New, dev).unwrap();
    if ad {
        let opts = AdOptions {
            lambda: 10.0,
            overlap: vaecam_attention::Overlap::SoftIoU,
            pairs: vaecam_attention::PairChoice::All,
            through_alpha: true,
            layer: vaecam::pipelines::ad::DEFAULT_LAYER.into(),
        };
        tr.add_loss(Box::new(AdLoss::new(opts, 0)));
    }
    (tr, dir)
}

/// Binary 64x64 images (about half the pixels on).
pub fn binary_images(n: usize, dev: &Device) -> Tensor {
    Tensor::rand([n, 1, 64, 64], 8, dev)
        .unwrap()
        .affine(1.0, -0.5)
        .unwrap()
        .sign()
        .unwrap()
        .relu()
        .unwrap()
}

/// The texture model in evaluation mode (running statistics from a few training batches) and
/// the 90 test images.
pub fn maps_model(dev: &Device) -> (Vae, Tensor) {
    let vae = Vae::new(&texture_config(), 0, dev).unwrap();
    for s in 0..2 {
        vae.encode(&Tensor::rand([8, 3, 128, 128], 30 + s, dev).unwrap())
            .unwrap();
    }
    vae.set_training(false);
    let x = Tensor::rand([MAP_IMAGES, 3, 128, 128], 9, dev).unwrap();
    (vae, x)
}

/// Per-dimension (paper) maps of every image at act2, upsampled to 128 px, in batches of
/// [`MAP_BATCH`], with `strategy`.
pub fn map_all(vae: &Vae, x: &Tensor, strategy: Strategy) {
    let enc = SequentialEncoder::new(&vae.encoder, vae.config.z_dim);
    let opts = MapOptions {
        strategy,
        ..Default::default()
    };
    let n = x.dims()[0];
    let mut start = 0;
    while start < n {
        let len = MAP_BATCH.min(n - start);
        let m =
            latent_attention_maps(&enc, &x.slice(0, start, len).unwrap(), "act2", &opts).unwrap();
        m.per_dim.unwrap().to_vec().unwrap();
        start += len;
    }
}
