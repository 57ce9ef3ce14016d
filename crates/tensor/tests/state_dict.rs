//! PyTorch `state_dict` loading: integer tensors skipped, unused tensors reported, missing,
//! mis-shaped and non-finite tensors refused with the tensor named.

use safetensors::tensor::{Dtype, TensorView};
use vaecam_tensor::io::{load, load_state_dict};
use vaecam_tensor::{Device, Tensor};

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("vaecam-state-dict-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Writes a safetensors file as PyTorch would: raw little-endian bytes per dtype.
fn write(path: &std::path::Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f16_bytes(v: &[f32]) -> Vec<u8> {
    // Exact halves only (these values have few mantissa bits).
    v.iter()
        .flat_map(|x| {
            let b = x.to_bits();
            let sign = ((b >> 16) & 0x8000) as u16;
            let exp = ((b >> 23) & 0xff) as i32 - 127 + 15;
            let man = ((b >> 13) & 0x3ff) as u16;
            let h = if *x == 0.0 {
                sign
            } else {
                sign | ((exp as u16) << 10) | man
            };
            h.to_le_bytes()
        })
        .collect()
}

fn targets(dev: &Device) -> Vec<(String, Tensor)> {
    vec![
        ("enc.c1.weight".into(), Tensor::zeros([2, 3], dev).unwrap()),
        ("enc.c1.bias".into(), Tensor::zeros([2], dev).unwrap()),
    ]
}

#[test]
fn pytorch_state_dict_with_integer_and_extra_tensors_loads() {
    let dev = Device::cpu();
    let p = tmp("ok.safetensors");
    write(
        &p,
        &[
            (
                "enc.c1.weight",
                Dtype::F32,
                vec![2, 3],
                f32_bytes(&[1., 2., 3., 4., 5., 6.]),
            ),
            ("enc.c1.bias", Dtype::F16, vec![2], f16_bytes(&[0.5, -2.0])),
            (
                "enc.bn.num_batches_tracked",
                Dtype::I64,
                vec![],
                7i64.to_le_bytes().to_vec(),
            ),
            ("head.extra", Dtype::F32, vec![1], f32_bytes(&[9.0])),
        ],
    );
    let t = targets(&dev);
    let report = load_state_dict(&p, &t).unwrap();
    assert_eq!(t[0].1.to_vec().unwrap(), vec![1., 2., 3., 4., 5., 6.]);
    assert_eq!(t[1].1.to_vec().unwrap(), vec![0.5, -2.0]);
    assert_eq!(report.unused, vec!["head.extra".to_string()]);
    assert_eq!(
        report.ignored,
        vec!["enc.bn.num_batches_tracked".to_string()]
    );
    let warning = report.unused_warning(&p).unwrap();
    assert!(
        warning.contains("head.extra") && !warning.contains('\n'),
        "{warning}"
    );
}

#[test]
fn missing_tensor_is_named_with_the_needed_shape() {
    let dev = Device::cpu();
    let p = tmp("missing.safetensors");
    write(
        &p,
        &[("enc.c1.weight", Dtype::F32, vec![2, 3], f32_bytes(&[0.; 6]))],
    );
    let t = targets(&dev);
    let e = load_state_dict(&p, &t).unwrap_err().to_string();
    assert!(
        e.contains("enc.c1.bias") && e.contains("missing") && e.contains("[2]"),
        "{e}"
    );
    assert_eq!(
        t[0].1.to_vec().unwrap(),
        vec![0.; 6],
        "nothing assigned on error"
    );
}

#[test]
fn misshaped_tensor_names_both_shapes() {
    let dev = Device::cpu();
    let p = tmp("shape.safetensors");
    write(
        &p,
        &[
            ("enc.c1.weight", Dtype::F32, vec![3, 2], f32_bytes(&[0.; 6])),
            ("enc.c1.bias", Dtype::F32, vec![2], f32_bytes(&[0.; 2])),
        ],
    );
    let e = load_state_dict(&p, &targets(&dev)).unwrap_err().to_string();
    assert!(
        e.contains("enc.c1.weight") && e.contains("[3, 2]") && e.contains("[2, 3]"),
        "{e}"
    );
    assert!(!e.contains('\n'));
}

#[test]
fn non_finite_tensor_is_refused_by_name() {
    let dev = Device::cpu();
    let p = tmp("nan.safetensors");
    write(
        &p,
        &[
            ("a", Dtype::F32, vec![2], f32_bytes(&[1.0, 2.0])),
            (
                "b",
                Dtype::F32,
                vec![3],
                f32_bytes(&[1.0, f32::NAN, f32::INFINITY]),
            ),
        ],
    );
    let e = load(&p, &dev).unwrap_err().to_string();
    assert!(
        e.contains("'b'") && e.contains("non-finite") && e.contains("nan.safetensors"),
        "{e}"
    );
}
