//! Nothing lost, nothing silent: a checkpoint on disk is always finite, a failure says what is
//! true about the checkpoint, `Force` replaces a run only once the new one has a checkpoint;
//! plus the loss and FactorVAE fixes (Gaussian 1/2, one BatchNorm update per step, the
//! discriminator's labels).

mod common;
use common::{config, source, tmp, NanLossAt};
use vaecam_tensor::nn::Module;
use vaecam_tensor::optim::{Adam, AdamConfig};
use vaecam_tensor::{Device, Reduction, Tensor};
use vaecam_vae::factor::{discriminator, discriminator_loss, permute_dims, total_correlation};
use vaecam_vae::{
    reconstruction_loss, BatchSource, ExtraLoss, Likelihood, LossContext, RunMode, Trainer,
    VaeConfig, VaeError,
};

/// A term whose value is 0 but whose gradient is NaN at one step (sqrt at 0 times 0): the
/// loss stays finite while Adam's moments and the weights turn NaN.
struct NanGradientAt(u64);
impl ExtraLoss for NanGradientAt {
    fn name(&self) -> &str {
        "probe"
    }
    fn loss(&mut self, ctx: &LossContext) -> vaecam_tensor::Result<Tensor> {
        let zero = ctx.out.mu.sum_all()?.mul_scalar(0.0)?;
        if ctx.step == self.0 {
            zero.sqrt()
        } else {
            Ok(zero)
        }
    }
}

#[test]
fn a_nan_gradient_with_a_finite_loss_never_reaches_the_checkpoint() {
    let dev = Device::cpu();
    let dir = tmp("nan-grad");
    let mut tr = Trainer::create(&dir, config(4, false, 1), RunMode::New, &dev).unwrap();
    tr.add_loss(Box::new(NanGradientAt(1)));
    let e = tr.train(&mut source(false), &mut |_| {}).err().unwrap();
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            VaeError::NonFiniteState {
                step: 2,
                last_checkpoint: Some(1),
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("step 1") && msg.contains("left in place"),
        "{msg}"
    );
    // The checkpoint on disk is step 1's, every tensor finite (Adam moments included) ...
    let ck = vaecam_tensor::io::load(dir.join("checkpoint.safetensors"), &dev).unwrap();
    assert_eq!(ck.metadata["step"], "1");
    for (name, t) in &ck.tensors {
        assert!(
            t.to_vec().unwrap().iter().all(|v| v.is_finite()),
            "{name} is not finite"
        );
    }
    // ... and resuming from it trains on.
    let mut tr = Trainer::create(&dir, config(4, false, 1), RunMode::Resume, &dev).unwrap();
    assert_eq!(tr.step(), 1);
    tr.train(&mut source(false), &mut |_| {}).unwrap();
    assert_eq!(tr.step(), 4);
}

#[test]
fn a_failure_before_any_checkpoint_says_there_is_none() {
    let dev = Device::cpu();
    let dir = tmp("no-ck");
    let mut tr = Trainer::create(&dir, config(4, false, 1), RunMode::New, &dev).unwrap();
    tr.add_loss(Box::new(NanLossAt(0)));
    let msg = tr
        .train(&mut source(false), &mut |_| {})
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("no checkpoint was written") && !msg.contains("step 0)"),
        "{msg}"
    );
    assert!(!dir.join("checkpoint.safetensors").exists());
}

#[test]
fn force_keeps_the_old_run_until_the_new_one_writes_a_checkpoint() {
    let dev = Device::cpu();
    let dir = tmp("force");
    let mut tr = Trainer::create(&dir, config(2, false, 1), RunMode::New, &dev).unwrap();
    tr.train(&mut source(false), &mut |_| {}).unwrap();
    let files = ["config.json", "checkpoint.safetensors", "log.jsonl"];
    let read = || -> Vec<Vec<u8>> {
        files
            .iter()
            .map(|f| std::fs::read(dir.join(f)).unwrap())
            .collect()
    };
    let before = read();
    // Invalid settings: refused before anything is touched.
    let mut bad = config(3, false, 1);
    bad.train.beta = f32::NAN;
    let e = Trainer::create(&dir, bad, RunMode::Force, &dev)
        .err()
        .unwrap();
    assert!(e.to_string().contains("beta"), "{e}");
    assert_eq!(read(), before);
    // A replacement that fails before its first checkpoint leaves the old run as it was.
    let mut tr = Trainer::create(&dir, config(3, false, 1), RunMode::Force, &dev).unwrap();
    tr.add_loss(Box::new(NanLossAt(0)));
    assert!(tr.train(&mut source(false), &mut |_| {}).is_err());
    assert_eq!(read(), before, "the old run must survive a failed --force");
    // One that checkpoints replaces config, checkpoint and log together.
    let mut tr = Trainer::create(&dir, config(3, false, 1), RunMode::Force, &dev).unwrap();
    tr.train(&mut source(false), &mut |_| {}).unwrap();
    let after = read();
    assert!(String::from_utf8_lossy(&after[0]).contains("\"steps\": 3"));
    let log = String::from_utf8_lossy(&after[2]).to_string();
    assert_eq!(log.lines().count(), 3, "{log}");
    let ck = vaecam_tensor::io::load(dir.join("checkpoint.safetensors"), &dev).unwrap();
    assert_eq!(ck.metadata["step"], "3");
}

#[test]
fn the_gaussian_loss_carries_its_half() {
    let dev = Device::cpu();
    // sigmoid(0) = 0.5 against 0: 0.25 per pixel, 4 pixels per image -> 1/2 * 1 = 0.5.
    let logits = Tensor::zeros([2, 1, 2, 2], &dev).unwrap();
    let x = Tensor::zeros([2, 1, 2, 2], &dev).unwrap();
    let l = reconstruction_loss(&logits, &x, Likelihood::Gaussian)
        .unwrap()
        .item()
        .unwrap();
    assert!((l - 0.5).abs() < 1e-6, "{l}");
    let mse = logits
        .sigmoid()
        .unwrap()
        .mse(&x, Reduction::BatchMean)
        .unwrap()
        .item()
        .unwrap();
    assert!((mse - 1.0).abs() < 1e-6, "{mse}");
}

/// The buffers of the model that are not parameters (BatchNorm running statistics).
fn running_stats(tr: &Trainer) -> Vec<(String, Vec<f32>)> {
    let params: Vec<String> = tr.vae.parameters().into_iter().map(|(n, _)| n).collect();
    tr.vae
        .state()
        .into_iter()
        .filter(|(n, _)| !params.contains(n))
        .map(|(n, t)| (n, t.to_vec().unwrap()))
        .collect()
}

#[test]
fn the_discriminator_batch_neither_decodes_nor_moves_batchnorm() {
    let dev = Device::cpu();
    let mut bn = config(1, true, 1);
    bn.model = VaeConfig::conv(1, 32, vec![8, 16], 4);
    let mut plain = bn.clone();
    plain.train.factor = None;
    let mut f = Trainer::create(&tmp("bn-f"), bn, RunMode::New, &dev).unwrap();
    let mut p = Trainer::create(&tmp("bn-p"), plain, RunMode::New, &dev).unwrap();
    let (x, _) = source(true).batch(0).unwrap();
    let x16 = Tensor::from_vec(x.clone(), [16, 1, 32, 32], &dev).unwrap();
    let x8 = Tensor::from_vec(x[..8 * 1024].to_vec(), [8, 1, 32, 32], &dev).unwrap();
    let before = running_stats(&p);
    f.train_step(&x16).unwrap();
    p.train_step(&x8).unwrap();
    let (sf, sp) = (running_stats(&f), running_stats(&p));
    assert!(
        !sp.is_empty() && sp != before,
        "the model has BatchNorm statistics"
    );
    // The FactorVAE step saw the first half once, like the plain step: the second half
    // must not have moved the statistics again.
    assert_eq!(sf, sp);
}

#[test]
fn discriminator_loss_labels_joint_and_permuted_samples() {
    let dev = Device::cpu();
    // z of one dimension, width 1: every layer the identity (positive inputs pass LeakyReLU
    // unchanged) and the last layer gives logits [z, 0].
    let d = discriminator(1, 1, 0, &dev).unwrap();
    for (name, p) in vaecam_tensor::nn::parameters(&d) {
        let n = p.dims().iter().product::<usize>();
        let v = if name.ends_with("bias") {
            vec![0.0; n]
        } else if name.starts_with("fc6") {
            vec![1.0, 0.0]
        } else {
            vec![1.0; n]
        };
        p.assign(&Tensor::from_vec(v, p.dims().to_vec(), &dev).unwrap())
            .unwrap();
    }
    let joint = Tensor::from_vec(vec![2.0], [1, 1], &dev).unwrap();
    let perm = Tensor::from_vec(vec![1.0], [1, 1], &dev).unwrap();
    assert_eq!(d.forward(&joint).unwrap().to_vec().unwrap(), vec![2.0, 0.0]);
    let sp = |v: f32| (1.0 + v.exp()).ln();
    // Joint labelled 0: CE = softplus(l1 - l0); permuted labelled 1: softplus(l0 - l1).
    let want = 0.5 * (sp(0.0 - 2.0) + sp(1.0 - 0.0));
    let got = discriminator_loss(&d, &joint, &perm)
        .unwrap()
        .item()
        .unwrap();
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
}

#[test]
fn the_discriminator_learns_that_correlated_codes_have_total_correlation() {
    let dev = Device::cpu();
    let d = discriminator(2, 32, 5, &dev).unwrap();
    let mut opt = Adam::new(
        vaecam_tensor::nn::parameters(&d),
        AdamConfig {
            lr: 1e-3,
            betas: (0.5, 0.9),
            eps: 1e-8,
            weight_decay: 0.0,
        },
    )
    .unwrap();
    // z = (u, u + small noise): strongly dependent dimensions, so TC > 0.
    let codes = |step: u64| -> Tensor {
        let u = Tensor::randn([128, 1], 1000 + step, &dev).unwrap();
        let e = Tensor::randn([128, 1], 5000 + step, &dev)
            .unwrap()
            .mul_scalar(0.1)
            .unwrap();
        Tensor::concat(&[u.clone(), u.add(&e).unwrap()], 1).unwrap()
    };
    let mut last = f32::NAN;
    for step in 0..300 {
        let z = codes(step);
        let zp = permute_dims(&codes(10_000 + step), step).unwrap();
        let loss = discriminator_loss(&d, &z, &zp).unwrap();
        last = loss.item().unwrap();
        let g = loss.backward().unwrap();
        opt.step(&g).unwrap();
    }
    let tc = total_correlation(&d, &codes(99_999))
        .unwrap()
        .item()
        .unwrap();
    assert!(
        last < 0.6,
        "the discriminator should beat chance (ln 2 = 0.69): {last}"
    );
    assert!(
        tc > 0.5,
        "correlated codes must show a positive TC estimate: {tc}"
    );
}
