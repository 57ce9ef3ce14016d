//! The tiny encoder the attention tests share: conv(1->4) act conv(4->5) act flatten
//! linear(80 -> 2 Z), k4 s2 p1, on 16x16 inputs, with seeds `seed`, `seed + 1`, `seed + 2`.

use vaecam_tensor::nn::{Conv2dConfig, Flatten, LinearConfig, Module, Sequential};
use vaecam_tensor::Device;

/// Latent dimensions of the tiny encoder.
pub const Z: usize = 3;

/// The tiny encoder with `act()` after each conv (LeakyReLU for piecewise-linear tests, Tanh
/// where finite differences must not straddle kinks).
pub fn tiny_encoder<A: Module + 'static>(
    act: impl Fn() -> A,
    seed: u64,
    dev: &Device,
) -> Sequential {
    let conv = |c_in, c_out, s| {
        Conv2dConfig::new(c_in, c_out, 4)
            .stride(2)
            .padding(1)
            .init(s, dev)
            .unwrap()
    };
    Sequential::new()
        .push("conv1", conv(1, 4, seed))
        .push("act1", act())
        .push("conv2", conv(4, 5, seed + 1))
        .push("act2", act())
        .push("flatten", Flatten)
        .push(
            "fc",
            LinearConfig::new(5 * 4 * 4, 2 * Z)
                .init(seed + 2, dev)
                .unwrap(),
        )
}
