//! Per-dimension latent attention maps of an (untrained) encoder on an image with a bright
//! square, printed as coarse ASCII heat maps: the API in a few lines.
//!
//! `cargo run --release -p vaecam-attention --example attention_maps`

use vaecam_attention::{latent_attention_maps, MapOptions, SequentialEncoder};
use vaecam_tensor::nn::{Conv2dConfig, Flatten, LeakyReLU, LinearConfig, Sequential};
use vaecam_tensor::{Device, Result, Tensor};

fn main() -> Result<()> {
    let dev = Device::cpu();
    let net = Sequential::new()
        .push(
            "conv1",
            Conv2dConfig::new(1, 8, 4)
                .stride(2)
                .padding(1)
                .init(1, &dev)?,
        )
        .push("act1", LeakyReLU(0.2))
        .push(
            "conv2",
            Conv2dConfig::new(8, 16, 4)
                .stride(2)
                .padding(1)
                .init(2, &dev)?,
        )
        .push("act2", LeakyReLU(0.2))
        .push("flatten", Flatten)
        .push("fc", LinearConfig::new(16 * 4 * 4, 2 * 3).init(3, &dev)?);
    let mut img = vec![0.0f32; 16 * 16];
    for r in 2..7 {
        for c in 9..14 {
            img[r * 16 + c] = 1.0;
        }
    }
    let x = Tensor::from_vec(img, [1, 1, 16, 16], &dev)?;
    let maps = latent_attention_maps(
        &SequentialEncoder::new(&net, 3),
        &x,
        "act2",
        &MapOptions::default(),
    )?;
    let per_dim = maps
        .per_dim
        .expect("paper variant computes per-dimension maps")
        .to_vec()?;
    let shades = [' ', '.', ':', '*', '#'];
    for d in 0..3 {
        let m = &per_dim[d * 256..(d + 1) * 256];
        let hi = m.iter().cloned().fold(1e-12f32, f32::max);
        println!("latent dimension {d}:");
        for r in (0..16).step_by(2) {
            let row: String = (0..16)
                .map(|c| shades[((m[r * 16 + c] / hi) * 4.0).round() as usize])
                .collect();
            println!("  |{row}|");
        }
    }
    Ok(())
}
