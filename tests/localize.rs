//! `vaecam localize` and `vaecam explain` end to end on a generated synthetic category.

mod common;
use common::{tmp, vaecam};

#[test]
fn attention_localizes_defects_better_than_chance_and_explain_writes_pictures() {
    let out = tmp("wood");
    let o = out.to_str().unwrap();
    let (ok, stdout, err) = vaecam(&[
        "localize",
        "--data",
        "synthetic:wood",
        "--train",
        "--size",
        "32",
        "--steps",
        "150",
        "--batch",
        "16",
        "--z",
        "8",
        "--lr",
        "1e-3",
        "--quiet",
        "--out",
        o,
    ]);
    assert!(ok, "{err}");
    assert!(stdout.contains("| wood |"), "{stdout}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let att = m["categories"][0]["attention"]["pixel_auroc"]
        .as_f64()
        .unwrap();
    let rec = m["categories"][0]["reconstruction_error"]["pixel_auroc"]
        .as_f64()
        .unwrap();
    assert!(
        att > 0.55,
        "attention pixel AUROC {att} should beat chance clearly (reconstruction error {rec})"
    );
    for f in [
        "table.md",
        "wood/roc.png",
        "wood/pictures.png",
        "wood/run/checkpoint.safetensors",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    // explain on some test images of the same category.
    let bench = tmp("bench");
    let (ok, _, err) = vaecam(&[
        "make-benchmark",
        "--out",
        bench.to_str().unwrap(),
        "--categories",
        "wood",
        "--size",
        "32",
        "--train",
        "2",
        "--test-good",
        "1",
        "--test-per-defect",
        "1",
    ]);
    assert!(ok, "{err}");
    let ex = tmp("explain");
    let run = out.join("wood/run");
    let (ok, _, err) = vaecam(&[
        "explain",
        "--run",
        run.to_str().unwrap(),
        "--images",
        bench.join("wood/test/hole").to_str().unwrap(),
        "--out",
        ex.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(ex.join("hole_000.png").is_file() && ex.join("hole_000_dims.png").is_file());
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ex.join("scores.json")).unwrap()).unwrap();
    assert_eq!(
        s["images"][0]["per_dim_attention_mean"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    for v in ["code", "normal-difference"] {
        let (ok, _, err) = vaecam(&[
            "explain",
            "--run",
            run.to_str().unwrap(),
            "--images",
            bench.join("wood/test/hole").to_str().unwrap(),
            "--variant",
            v,
            "--out",
            ex.to_str().unwrap(),
        ]);
        assert!(ok, "{v}: {err}");
    }
    // Bad input: an unknown layer lists the valid ones; a wrong-sized image; a run without a checkpoint.
    let (ok, _, err) = vaecam(&[
        "explain",
        "--run",
        run.to_str().unwrap(),
        "--images",
        bench.join("wood/test/hole").to_str().unwrap(),
        "--layer",
        "conv7",
        "--out",
        ex.to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("conv7") && err.contains("act2"),
        "{err}"
    );
    let big = "../shared/data/textures/brick.png";
    if std::path::Path::new(big).exists() {
        let (ok, _, err) = vaecam(&[
            "explain",
            "--run",
            run.to_str().unwrap(),
            "--images",
            big,
            "--out",
            ex.to_str().unwrap(),
        ]);
        assert!(
            !ok && err.contains("512x512") && err.contains("32x32"),
            "{err}"
        );
    }
    std::fs::remove_file(run.join("checkpoint.safetensors")).unwrap();
    let (ok, _, err) = vaecam(&[
        "explain",
        "--run",
        run.to_str().unwrap(),
        "--images",
        bench.join("wood/test/hole").to_str().unwrap(),
        "--out",
        ex.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("no checkpoint"), "{err}");
}

#[test]
fn localize_refuses_without_a_model_and_with_a_bad_variant() {
    let out = tmp("refuse");
    let (ok, _, err) = vaecam(&[
        "localize",
        "--data",
        "synthetic:wood",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("--train"), "{err}");
    let (ok, _, err) = vaecam(&[
        "localize",
        "--data",
        "synthetic:wood",
        "--train",
        "--variant",
        "magic",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("magic"), "{err}");
    let (ok, _, err) = vaecam(&[
        "localize",
        "--data",
        "dsprites",
        "--train",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("not an anomaly-localization"), "{err}");
}
