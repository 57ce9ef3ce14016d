//! `vaecam localize` with a model trained elsewhere (`--arch/--weights`), its one resume policy
//! (the run folder's), and the MNIST path's `--code-norm`.

mod common;
use common::{tiny_benchmark, tmp, vaecam};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn metrics(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap()
}

#[test]
fn localize_explains_an_imported_pytorch_model() {
    // The import fixture: a dSprites VAE trained in PyTorch (64 px, gray).
    let root = tiny_benchmark("imported-bench", "tiles", 64, 4, 2, 1);
    let out = tmp("imported-out");
    let (arch, weights) = (fixture("arch.json"), fixture("weights.safetensors"));
    let (ok, stdout, err) = vaecam(&[
        "localize",
        "--data",
        &format!("mvtec:{}/tiles", root.display()),
        "--arch",
        arch.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--pictures",
        "2",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(stdout.contains("| tiles |"), "{stdout}");
    let m = metrics(&out);
    let auroc = m["categories"][0]["attention"]["pixel_auroc"].as_f64();
    assert!(auroc.is_some_and(|v| (0.0..=1.0).contains(&v)), "{m}");
    // Nothing was trained: the given model was used as it is.
    assert!(!out.join("tiles/run").exists());
    // Two pictures, from two different defect types (good first, then the next type).
    let pics: Vec<String> = std::fs::read_dir(out.join("tiles/pictures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(pics.len(), 2, "{pics:?}");
    let kinds: std::collections::BTreeSet<&str> =
        pics.iter().map(|p| p.split('_').next().unwrap()).collect();
    assert_eq!(kinds.len(), 2, "{pics:?}");
    // --arch needs --weights, and excludes --train.
    let (ok, _, err) = vaecam(&[
        "localize",
        "--data",
        "synthetic:tiles",
        "--arch",
        arch.to_str().unwrap(),
        "--train",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("--weights"), "{err}");
}

#[test]
fn a_rerun_resumes_same_settings_and_refuses_changed_ones_before_training() {
    let root = tiny_benchmark("resume-bench", "tiles", 32, 4, 2, 1);
    let out = tmp("resume-out");
    let run = |beta: &str, steps: &str| {
        vaecam(&[
            "localize",
            "--data",
            &format!("mvtec:{}/tiles", root.display()),
            "--train",
            "--size",
            "32",
            "--steps",
            steps,
            "--batch",
            "2",
            "--z",
            "4",
            "--beta",
            beta,
            "--pictures",
            "0",
            "--save-maps",
            "false",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let (ok, _, err) = run("0.1", "3");
    assert!(ok, "{err}");
    let ckpt = out.join("tiles/run/checkpoint.safetensors");
    let before = std::fs::read(&ckpt).unwrap();
    // Another KL weight: refused, naming the flag and both values; the run is untouched.
    let (ok, _, err) = run("0.5", "3");
    assert!(!ok, "a changed --beta was resumed");
    assert!(
        err.contains("--beta") && err.contains("0.1") && err.contains("0.5"),
        "{err}"
    );
    assert_eq!(std::fs::read(&ckpt).unwrap(), before);
    // More steps: allowed, recorded, and training continues from the stored run.
    let (ok, _, err) = run("0.1", "5");
    assert!(ok, "{err}");
    assert_ne!(std::fs::read(&ckpt).unwrap(), before);
    let overrides = std::fs::read_to_string(out.join("tiles/run/overrides.jsonl")).unwrap();
    assert!(overrides.contains("steps"), "{overrides}");
}

/// MNIST idx files (`train-*`, `t10k-*`) with `per_digit` images of every digit: each digit a
/// different bright rectangle, so the data are valid but trivial.
fn tiny_mnist(name: &str, per_digit: usize) -> PathBuf {
    let dir = tmp(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (stem, n) in [("train", per_digit), ("t10k", per_digit)] {
        let count = 10 * n;
        let mut images = vec![0, 0, 8, 3];
        images.extend((count as u32).to_be_bytes());
        images.extend(28u32.to_be_bytes());
        images.extend(28u32.to_be_bytes());
        let mut labels = vec![0, 0, 8, 1];
        labels.extend((count as u32).to_be_bytes());
        for i in 0..count {
            let d = (i % 10) as u8;
            labels.push(d);
            for y in 0..28 {
                for x in 0..28 {
                    let on = y >= 4 + d as usize && y < 14 + d as usize && (8..20).contains(&x);
                    images.push(if on { 200 + (i % 7) as u8 * 5 } else { 0 });
                }
            }
        }
        std::fs::write(dir.join(format!("{stem}-images-idx3-ubyte")), images).unwrap();
        std::fs::write(dir.join(format!("{stem}-labels-idx1-ubyte")), labels).unwrap();
    }
    dir
}

#[test]
fn the_mnist_path_honours_code_norm_and_says_which() {
    let data = tiny_mnist("mnist-codenorm", 4);
    for norm in ["image", "batch"] {
        let out = tmp(&format!("mnist-codenorm-{norm}"));
        let (ok, _, err) = vaecam(&[
            "localize",
            "--data",
            &format!("mnist:{}:3", data.display()),
            "--train",
            "--steps",
            "2",
            "--batch",
            "4",
            "--z",
            "4",
            "--variant",
            "code",
            "--code-norm",
            norm,
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        let m = metrics(&out);
        assert_eq!(m["code_norm"], norm, "{m}");
        let table = std::fs::read_to_string(out.join("table.md")).unwrap();
        assert!(
            table.contains(&format!("gradient RMS per {norm}")),
            "{table}"
        );
    }
}
