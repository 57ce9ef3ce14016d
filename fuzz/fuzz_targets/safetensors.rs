//! The safetensors reader: `load_bytes` (every tensor of a file) and `load_state_dict_bytes`
//! (into fixed targets) must return an error on any input, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vaecam_tensor::io::{load_bytes, load_state_dict_bytes};
use vaecam_tensor::{Device, Tensor};

fuzz_target!(|data: &[u8]| {
    let dev = Device::Cpu;
    let _ = load_bytes(data, "fuzz.safetensors", &dev);
    // Names and shapes of the seed corpus (see fuzz/make_corpus.rs), so that mutated seeds
    // reach the shape checks and the assignment.
    let targets: Vec<(String, Tensor)> = [("weight", vec![2, 3]), ("bias", vec![3])]
        .into_iter()
        .map(|(n, s)| (n.to_string(), Tensor::zeros(s, &dev).unwrap()))
        .collect();
    let _ = load_state_dict_bytes(data, "fuzz.safetensors", &targets);
});
