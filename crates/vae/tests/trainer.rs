//! The trainer: learning, exact resume, FactorVAE pieces, and bad input that loses nothing.

mod common;
use common::{config, source, tmp, NanLossAt, Rects};
use std::path::Path;
use vaecam_tensor::nn::Module;
use vaecam_tensor::{Device, Tensor};
use vaecam_vae::factor::{discriminator, permute_dims, total_correlation};
use vaecam_vae::{RunMode, Trainer, VaeConfig, VaeError};

fn checkpoint_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("checkpoint.safetensors")).unwrap()
}

#[test]
fn training_lowers_the_loss_clearly() {
    let dir = tmp("learn");
    let dev = Device::cpu();
    let mut tr = Trainer::create(&dir, config(250, false, 0), RunMode::New, &dev).unwrap();
    let mut losses = Vec::new();
    tr.train(&mut source(false), &mut |r| losses.push(r.parts[0].1))
        .unwrap();
    let first: f32 = losses[..5].iter().sum::<f32>() / 5.0;
    let last: f32 = losses[losses.len() - 20..].iter().sum::<f32>() / 20.0;
    assert!(last < 0.5 * first, "loss {first} -> {last}");
    // Every step logged with every loss part.
    let log = std::fs::read_to_string(dir.join("log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 250);
    assert!(log.lines().last().unwrap().contains("\"recon\"") && log.contains("\"kl\""));
}

#[test]
fn resume_gives_the_same_checkpoint_as_an_uninterrupted_run() {
    for factor in [false, true] {
        let dev = Device::cpu();
        let full = tmp(&format!("full-{factor}"));
        let mut tr = Trainer::create(&full, config(12, factor, 0), RunMode::New, &dev).unwrap();
        tr.train(&mut source(factor), &mut |_| {}).unwrap();
        let split = tmp(&format!("split-{factor}"));
        let mut tr = Trainer::create(&split, config(6, factor, 0), RunMode::New, &dev).unwrap();
        tr.train(&mut source(factor), &mut |_| {}).unwrap();
        drop(tr);
        let mut tr = Trainer::create(&split, config(12, factor, 0), RunMode::Resume, &dev).unwrap();
        assert_eq!(tr.step(), 6);
        tr.train(&mut source(factor), &mut |_| {}).unwrap();
        assert!(
            checkpoint_bytes(&full) == checkpoint_bytes(&split),
            "factor={factor}: resumed checkpoint differs"
        );
        let a = std::fs::read_to_string(full.join("log.jsonl")).unwrap();
        let b = std::fs::read_to_string(split.join("log.jsonl")).unwrap();
        let losses = |s: &str| -> Vec<serde_json::Value> {
            s.lines()
                .map(|l| {
                    let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v.as_object_mut().unwrap().remove("images_per_sec");
                    v
                })
                .collect()
        };
        assert_eq!(losses(&a).len(), 12);
        assert_eq!(
            losses(&a),
            losses(&b),
            "factor={factor}: logged losses differ"
        );
    }
}

#[test]
fn permuting_dims_keeps_marginals_and_breaks_the_joint() {
    let dev = Device::cpu();
    let n = 512;
    // Two perfectly correlated columns.
    let col: Vec<f32> = (0..n).map(|i| ((i * 37) % n) as f32 / n as f32).collect();
    let data: Vec<f32> = col.iter().flat_map(|&v| [v, v]).collect();
    let z = Tensor::from_vec(data, [n, 2], &dev).unwrap();
    let p = permute_dims(&z, 9).unwrap().to_vec().unwrap();
    let (a, b): (Vec<f32>, Vec<f32>) = p.chunks(2).map(|c| (c[0], c[1])).unzip();
    let mut sa = a.clone();
    sa.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let mut sc = col.clone();
    sc.sort_by(|x, y| x.partial_cmp(y).unwrap());
    assert_eq!(sa, sc, "marginal of dim 0 kept");
    let corr = |x: &[f32], y: &[f32]| {
        let mx = x.iter().sum::<f32>() / x.len() as f32;
        let my = y.iter().sum::<f32>() / y.len() as f32;
        let cov: f32 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let vx: f32 = x.iter().map(|a| (a - mx).powi(2)).sum();
        let vy: f32 = y.iter().map(|b| (b - my).powi(2)).sum();
        cov / (vx * vy).sqrt()
    };
    assert!(
        corr(&a, &b).abs() < 0.15,
        "joint not broken: corr {}",
        corr(&a, &b)
    );
}

#[test]
fn tc_of_a_discriminator_that_always_says_joint() {
    let dev = Device::cpu();
    let d = discriminator(4, 8, 1, &dev).unwrap();
    // Zero the last layer's weights and set its bias: logits are (3, -1.5) for every input.
    let params = vaecam_tensor::nn::parameters(&d);
    let w = &params.iter().find(|(n, _)| n == "fc6.weight").unwrap().1;
    let b = &params.iter().find(|(n, _)| n == "fc6.bias").unwrap().1;
    w.assign(&w.zeros_like().unwrap()).unwrap();
    b.assign(&Tensor::from_vec(vec![3.0, -1.5], [2], &dev).unwrap())
        .unwrap();
    let z = Tensor::randn([10, 4], 2, &dev).unwrap();
    let tc = total_correlation(&d, &z).unwrap().item().unwrap();
    assert!(
        (tc - 4.5).abs() < 1e-6,
        "TC {tc}, formula gives mean(3 - (-1.5)) = 4.5"
    );
    assert_eq!(d.forward(&z).unwrap().dims(), &[10, 2]);
}

#[test]
fn a_folder_with_another_run_is_refused_and_untouched() {
    let dev = Device::cpu();
    let dir = tmp("refuse");
    let mut tr = Trainer::create(&dir, config(2, false, 0), RunMode::New, &dev).unwrap();
    tr.train(&mut source(false), &mut |_| {}).unwrap();
    let before = (
        std::fs::read(dir.join("config.json")).unwrap(),
        checkpoint_bytes(&dir),
    );
    let e = Trainer::create(&dir, config(5, false, 0), RunMode::New, &dev)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("already holds a run") && e.contains("--resume") && e.contains("--force"),
        "{e}"
    );
    assert_eq!(
        before,
        (
            std::fs::read(dir.join("config.json")).unwrap(),
            checkpoint_bytes(&dir)
        )
    );
    let e = Trainer::create(&tmp("nothing"), config(5, false, 0), RunMode::Resume, &dev)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no run to resume"), "{e}");
}

#[test]
fn a_checkpoint_of_another_architecture_is_refused() {
    let dev = Device::cpu();
    let dir = tmp("arch");
    let mut tr = Trainer::create(&dir, config(1, false, 0), RunMode::New, &dev).unwrap();
    tr.train(&mut source(false), &mut |_| {}).unwrap();
    // Claim another architecture in config.json: loading must name a mismatched tensor.
    let mut cfg = config(1, false, 0);
    cfg.model = VaeConfig::conv(1, 32, vec![8, 24], 4);
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string(&cfg).unwrap(),
    )
    .unwrap();
    let e = vaecam_vae::load_model(&dir, &dev)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("checkpoint.safetensors") && e.contains("model.encoder.conv2.weight"),
        "{e}"
    );
    let e = vaecam_vae::load_model(&tmp("empty"), &dev)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("config.json"), "{e}");
}

#[test]
fn nan_in_the_data_stops_training_and_keeps_the_checkpoint() {
    let dev = Device::cpu();
    let dir = tmp("nan-data");
    let mut cfg = config(6, false, 0);
    cfg.train.checkpoint_every = 2;
    let mut tr = Trainer::create(&dir, cfg, RunMode::New, &dev).unwrap();
    let mut src = Rects {
        batch: 8,
        nan_at: Some(3),
    };
    let e = tr.train(&mut src, &mut |_| {}).err().unwrap().to_string();
    assert!(e.contains("step 3") && e.contains("NaN"), "{e}");
    // The checkpoint of step 2 is intact and resumable.
    let mut tr = Trainer::create(&dir, config(6, false, 0), RunMode::Resume, &dev).unwrap();
    assert_eq!(tr.step(), 2);
    tr.train(&mut source(false), &mut |_| {}).unwrap();
}

#[test]
fn a_nan_loss_names_step_and_part_and_leaves_the_last_checkpoint() {
    let dev = Device::cpu();
    let dir = tmp("nan-loss");
    let mut cfg = config(8, false, 0);
    cfg.train.checkpoint_every = 3;
    let mut tr = Trainer::create(&dir, cfg, RunMode::New, &dev).unwrap();
    tr.add_loss(Box::new(NanLossAt(4)));
    let e = tr.train(&mut source(false), &mut |_| {}).err().unwrap();
    let msg = e.to_string();
    assert!(matches!(e, VaeError::NonFinite { step: 4, .. }), "{msg}");
    assert!(msg.contains("'probe'") && msg.contains("step 3"), "{msg}");
    let ck = vaecam_tensor::io::load(dir.join("checkpoint.safetensors"), &dev).unwrap();
    assert_eq!(ck.metadata["step"], "3");
}
