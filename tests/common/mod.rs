//! Helpers shared by the CLI tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// Runs the vaecam binary on the CPU backend: (success, stdout, stderr).
pub fn vaecam(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vaecam"))
        .args(args)
        .env("VAECAM_DEVICE", "cpu")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A fresh temporary folder for test `name`.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vaecam-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A small synthetic MVTec-format benchmark in a fresh temporary folder `name`: `categories`
/// (comma-separated) at `size` px with `train` training images, `good` normal test images and
/// `per_defect` test images of each defect type.
pub fn tiny_benchmark(
    name: &str,
    categories: &str,
    size: u32,
    train: u32,
    good: u32,
    per_defect: u32,
) -> PathBuf {
    let root = tmp(name);
    let (size, train, good, per_defect) = (
        size.to_string(),
        train.to_string(),
        good.to_string(),
        per_defect.to_string(),
    );
    let (ok, _, err) = vaecam(&[
        "make-benchmark",
        "--out",
        root.to_str().unwrap(),
        "--categories",
        categories,
        "--size",
        &size,
        "--train",
        &train,
        "--test-good",
        &good,
        "--test-per-defect",
        &per_defect,
    ]);
    assert!(ok, "make-benchmark: {err}");
    root
}

/// The committed PyTorch import fixture: arch.json, weights.safetensors, images/.
pub fn import_fixture() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

/// `vaecam explain` with the model given by `model` (`["--run", DIR]` or
/// `["--arch", FILE, "--weights", FILE]`), on `images`, into `out`, plus `extra` flags.
pub fn explain(
    model: &[&str],
    images: &[&std::path::Path],
    out: &std::path::Path,
    extra: &[&str],
) -> (bool, String, String) {
    let mut args = vec!["explain"];
    args.extend(model);
    args.push("--images");
    args.extend(images.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(extra);
    vaecam(&args)
}

/// The model flags of an architecture file and its weights.
pub fn arch_model(arch: &std::path::Path, weights: &std::path::Path) -> [String; 4] {
    [
        "--arch".into(),
        arch.to_str().unwrap().into(),
        "--weights".into(),
        weights.to_str().unwrap().into(),
    ]
}
