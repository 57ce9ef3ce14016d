//! Every architecture builds, maps images to (mu, logvar) and back, and names tap-able layers.

use vaecam_tensor::{Device, Tensor};
use vaecam_vae::{Vae, VaeConfig};

#[test]
fn every_architecture_round_trips_shapes_and_taps_its_layers() {
    let dev = Device::cpu();
    let cases = [
        (VaeConfig::dsprites(10), "conv2", vec![2, 32, 16, 16]),
        (VaeConfig::mnist(32), "conv2", vec![2, 128, 7, 7]),
        (
            VaeConfig::conv(3, 64, vec![8, 16, 32], 16),
            "act2",
            vec![2, 16, 16, 16],
        ),
        (
            VaeConfig::resnet18(1, 32, 4, 8),
            "layer2.1",
            vec![2, 8, 8, 8],
        ),
    ];
    for (cfg, tap, tap_shape) in cases {
        let vae = Vae::new(&cfg, 1, &dev).unwrap();
        let (c, s, z) = (cfg.in_channels, cfg.image_size, cfg.z_dim);
        let x = Tensor::rand([2, c, s, s], 3, &dev).unwrap();
        let out = vae.forward(&x, Some(4)).unwrap();
        assert_eq!(out.mu.dims(), &[2, z], "{cfg:?}");
        assert_eq!(out.logits.dims(), &[2, c, s, s], "{cfg:?}");
        let (_, _, acts) = vae.encode_tapped(&x, &[tap]).unwrap();
        assert_eq!(acts[0].dims(), &tap_shape[..], "{cfg:?} tap {tap}");
        // Every parameter gets a gradient from the VAE loss.
        let loss = vaecam_vae::reconstruction_loss(&out.logits, &x, cfg.likelihood)
            .unwrap()
            .add(&vaecam_vae::kl_divergence(&out.mu, &out.logvar).unwrap())
            .unwrap();
        let g = loss.backward().unwrap();
        for (name, p) in vae.parameters() {
            assert!(g.get(&p).is_some(), "{cfg:?}: no gradient for {name}");
        }
        let wrong = Tensor::rand([1, c, s + 2, s], 3, &dev).unwrap();
        assert!(vae
            .encode(&wrong)
            .err()
            .unwrap()
            .to_string()
            .contains("does not match the model's images"));
    }
    assert!(Vae::new(&VaeConfig::resnet18(1, 40, 4, 8), 0, &dev).is_err());
    assert!(Vae::new(&VaeConfig::conv(2, 64, vec![8], 4), 0, &dev).is_err());
}
