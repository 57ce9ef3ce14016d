//! The `code` variant's gradient normalisation: per image, or over the whole batch as in the
//! authors' released code, each checked against a direct computation of alpha.

use vaecam_attention::{
    latent_attention_maps, CodeNorm, MapOptions, SequentialEncoder, TappedEncoder, Variant,
};
use vaecam_tensor::nn::{LeakyReLU, Sequential};
use vaecam_tensor::{grad, Device, Tensor};

mod common;
use common::{tiny_encoder, Z};

fn net(dev: &Device) -> Sequential {
    tiny_encoder(|| LeakyReLU(0.2), 21, dev)
}

/// alpha of the code variant computed directly: GAP of grad(sum mu) / (RMS + 1e-5), the RMS
/// taken per image (`per_image`) or over the batch.
fn direct_alpha(enc: &SequentialEncoder, x: &Tensor, per_image: bool) -> Vec<f32> {
    let (mu, _, acts) = enc.encode_tapped(x, &["conv2"]).unwrap();
    let g = grad(&[mu.sum_all().unwrap()], &acts, None, false)
        .unwrap()
        .remove(0);
    let (n, k, h, w) = (g.dims()[0], g.dims()[1], g.dims()[2], g.dims()[3]);
    let gv = g.to_vec().unwrap();
    let per = k * h * w;
    let rms = |vals: &[f32]| {
        (vals.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / vals.len() as f64).sqrt() as f32
            + 1e-5
    };
    let batch_rms = rms(&gv);
    let mut alpha = Vec::new();
    for i in 0..n {
        let img = &gv[i * per..(i + 1) * per];
        let r = if per_image { rms(img) } else { batch_rms };
        for ch in 0..k {
            let s: f32 = img[ch * h * w..(ch + 1) * h * w].iter().sum();
            alpha.push(s / (h * w) as f32 / r);
        }
    }
    alpha
}

#[test]
fn code_variant_normalises_per_image_or_over_the_batch() {
    let dev = Device::cpu();
    let n = net(&dev);
    let enc = SequentialEncoder::new(&n, Z);
    // Two images of very different contrast, so that their gradients' RMS differ.
    let a = Tensor::rand([1, 1, 16, 16], 5, &dev).unwrap();
    let b = Tensor::rand([1, 1, 16, 16], 6, &dev)
        .unwrap()
        .mul_scalar(8.0)
        .unwrap();
    let x = Tensor::concat(&[a, b], 0).unwrap();
    let run = |norm: CodeNorm| {
        latent_attention_maps(
            &enc,
            &x,
            "conv2",
            &MapOptions {
                variant: Variant::Code,
                code_norm: norm,
                ..Default::default()
            },
        )
        .unwrap()
        .alpha
        .to_vec()
        .unwrap()
    };
    let image = run(CodeNorm::Image);
    let batch = run(CodeNorm::Batch);
    let close = |got: &[f32], want: &[f32]| {
        got.len() == want.len()
            && got
                .iter()
                .zip(want)
                .all(|(g, w)| (g - w).abs() <= 1e-4 * (1.0 + w.abs()))
    };
    assert!(close(&image, &direct_alpha(&enc, &x, true)), "{image:?}");
    assert!(close(&batch, &direct_alpha(&enc, &x, false)), "{batch:?}");
    // The two normalisations must really differ on this batch (else the test shows nothing).
    assert!(!close(&image, &batch), "{image:?} vs {batch:?}");
}
