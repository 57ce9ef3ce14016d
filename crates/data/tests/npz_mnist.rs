//! The .npy/.npz reader and the MNIST loader.

mod common;

use std::io::Write;
use vaecam_data::mnist::Mnist;
use vaecam_data::npz::{DspritesNpz, NpyData, Npz};
use vaecam_data::Dataset;

/// `.npy` version 1.0 bytes for a C-order array.
fn npy(descr: &str, shape: &[usize], body: &[u8]) -> Vec<u8> {
    let shape_s = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_s}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out
}

fn write_npz(path: &std::path::Path, members: &[(&str, Vec<u8>)]) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        z.start_file(format!("{name}.npy"), opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

fn dsprites_like(n: usize) -> Vec<(&'static str, Vec<u8>)> {
    let imgs: Vec<u8> = (0..n)
        .flat_map(|i| {
            vaecam_data::dsprites::render_u8(
                vaecam_data::dsprites::Factors::from_index(i * 1000).unwrap(),
            )
        })
        .collect();
    let values: Vec<u8> = (0..n * 6)
        .flat_map(|k| (k as f64 * 0.5).to_le_bytes())
        .collect();
    let classes: Vec<u8> = (0..n)
        .flat_map(|i| {
            let f = vaecam_data::dsprites::Factors::from_index(i * 1000).unwrap();
            let mut row = vec![0i64];
            row.extend(f.to_array().iter().map(|&v| v as i64));
            row.into_iter().flat_map(|v| v.to_le_bytes())
        })
        .collect();
    vec![
        ("imgs", npy("|u1", &[n, 64, 64], &imgs)),
        ("latents_values", npy("<f8", &[n, 6], &values)),
        ("latents_classes", npy("<i8", &[n, 6], &classes)),
    ]
}

#[test]
fn handwritten_npz_reads_back() {
    let dir = common::temp_dir("npz");
    let path = dir.join("dsprites_like.npz");
    let n = 5;
    let mut members = dsprites_like(n);
    let f32s: Vec<u8> = [1.5f32, -2.0, 3.25]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    members.push(("small", npy("<f4", &[3], &f32s)));
    write_npz(&path, &members);

    let mut npz = Npz::open(&path).unwrap();
    assert_eq!(
        npz.names(),
        ["imgs", "latents_classes", "latents_values", "small"]
    );
    let small = npz.array("small").unwrap();
    assert_eq!(small.shape, [3]);
    assert_eq!(small.data, NpyData::F32(vec![1.5, -2.0, 3.25]));
    let err = npz.array("nothing").unwrap_err().to_string();
    assert!(
        err.contains("nothing") && err.contains("dsprites_like.npz"),
        "{err}"
    );

    let ds = DspritesNpz::load(&path).unwrap();
    assert_eq!(ds.len, n);
    assert_eq!(ds.latents_values[7], 3.5);
    for i in 0..n {
        let f = ds.factors(i).unwrap();
        assert_eq!(f.index(), i * 1000);
        assert_eq!(ds.image(i), &vaecam_data::dsprites::render_u8(f)[..]);
    }
    let item = ds.get(2).unwrap();
    assert_eq!(item.data.len(), 4096);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn real_mnist_subset_and_one_class_split() {
    let Some(dir) = common::shared_data("mnist") else {
        return;
    };
    let m = Mnist::load(&dir).unwrap();
    assert_eq!(m.train.len(), 8000);
    assert_eq!(m.test.len(), 2000);
    assert_eq!((m.train.rows, m.train.cols), (28, 28));
    let mut seen = [false; 10];
    for &l in m.train.labels.iter().chain(&m.test.labels) {
        seen[l as usize] = true;
    }
    assert!(seen.iter().all(|&s| s), "labels 0-9 all present");
    // Count the 3s independently, straight from the label file bytes.
    let raw = std::fs::read(dir.join("train-labels-idx1-ubyte")).unwrap();
    let threes = raw[8..].iter().filter(|&&b| b == 3).count();
    let raw_test = std::fs::read(dir.join("t10k-labels-idx1-ubyte")).unwrap();
    let outliers = raw_test[8..].iter().filter(|&&b| b != 3).count();
    let oc = m.one_class(3).unwrap();
    assert_eq!(oc.train.len(), threes);
    assert!(threes > 500);
    assert!(oc.train.labels.iter().all(|&l| l == 3));
    assert_eq!(oc.test.len(), 2000);
    assert_eq!(
        oc.test_outlier_labels().iter().filter(|&&o| o == 1).count(),
        outliers
    );
    let item = oc.train.get(0).unwrap();
    assert_eq!(item.label, 3);
    assert_eq!(item.data.len(), 784);
    assert!(item.data.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(item.data.iter().any(|&v| v > 0.5));
    assert!(m.one_class(10).is_err());
}
