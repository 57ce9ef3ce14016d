//! Grad-CAM for two outputs of a tiny conv net: the gradient of each output with respect to an
//! intermediate activation A gives channel weights alpha (global average pooling), and
//! ReLU(sum_k alpha_k A_k) is that output's attention map. Because the gradient is recorded
//! (create_graph), a loss on the maps can itself be differentiated.
//!
//! `cargo run --release -p vaecam-tensor --example grad_cam`

use vaecam_tensor::nn::{Conv2dConfig, LinearConfig, Module};
use vaecam_tensor::{grad, Device, Result, Tensor};

fn main() -> Result<()> {
    let dev = Device::cpu();
    let conv1 = Conv2dConfig::new(1, 4, 3).padding(1).init(1, &dev)?;
    let conv2 = Conv2dConfig::new(4, 6, 4)
        .stride(2)
        .padding(1)
        .init(2, &dev)?;
    let fc = LinearConfig::new(6 * 4 * 4, 2).init(3, &dev)?;
    // A bright square in the top-left corner of an 8x8 image.
    let mut img = vec![0.0f32; 64];
    for r in 0..3 {
        for c in 0..3 {
            img[r * 8 + c] = 1.0;
        }
    }
    let x = Tensor::from_vec(img, [1, 1, 8, 8], &dev)?;
    let a = conv2.forward(&conv1.forward(&x)?.relu()?)?; // the tapped activation A
    let z = fc.forward(&a.relu()?.flatten(1)?)?;
    let mut maps = Vec::new();
    for i in 0..2 {
        let zi = z.slice(1, i, 1)?.sum_all()?;
        let da = grad(&[zi], std::slice::from_ref(&a), None, true)?.remove(0);
        let alpha = da.global_avg_pool()?;
        let map = a.mul(&alpha)?.sum(&[1], true)?.relu()?;
        let vals: Vec<String> = map.to_vec()?.iter().map(|v| format!("{v:.4}")).collect();
        println!("map of z_{i} (4x4, row-major): {}", vals.join(" "));
        maps.push(map);
    }
    // Soft IoU of the two maps, differentiated through alpha down to conv1's weights.
    let iou = maps[0]
        .minimum(&maps[1])?
        .sum_all()?
        .div(&maps[0].maximum(&maps[1])?.sum_all()?.add_scalar(1e-6)?)?;
    let g = grad(
        std::slice::from_ref(&iou),
        std::slice::from_ref(&conv1.weight),
        None,
        false,
    )?
    .remove(0);
    println!(
        "soft IoU {:.4}; |d IoU / d conv1.weight| = {:.5}",
        iou.item()?,
        g.square()?.sum_all()?.sqrt()?.item()?
    );
    Ok(())
}
