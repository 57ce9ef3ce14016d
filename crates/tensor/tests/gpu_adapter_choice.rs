//! `VAECAM_ADAPTER` naming no adapter gives an error that lists the adapters (or, with none at
//! all, says what to install). Its own test binary: the GPU context is created once per
//! process, so the variable must be set before anything touches the GPU.

use vaecam_tensor::Device;

#[test]
fn unknown_adapter_name_is_an_error_naming_the_choices() {
    std::env::set_var("VAECAM_ADAPTER", "no-such-adapter-anywhere");
    std::env::remove_var("VAECAM_DEVICE");
    let err = Device::gpu().unwrap_err().to_string();
    assert!(
        err.contains("VAECAM_ADAPTER=\"no-such-adapter-anywhere\" matches no adapter")
            || err.contains("mesa-vulkan-drivers"),
        "{err}"
    );
    // Device::best() falls back to the CPU rather than failing.
    assert_eq!(Device::best().unwrap(), Device::cpu());
}
