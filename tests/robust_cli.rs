//! Nothing lost, nothing silent (issue 13), end to end: every bad flag is refused before a
//! file is touched, with a one-line message that names it, and no command panics.

mod common;
use common::{tmp, vaecam};
use std::path::Path;

/// The tiny run's settings; `set` replaces one (an empty value drops the flag).
const TINY: [(&str, &str); 5] = [
    ("--data", "synthetic:carpet"),
    ("--size", "32"),
    ("--z", "4"),
    ("--batch", "8"),
    ("--channels", "8,16"),
];

/// `vaecam train` on the tiny settings with `set` replacing some, plus `extra` flags.
fn train_with(run: &Path, set: &[(&str, &str)], extra: &[&str]) -> (bool, String, String) {
    let mut args = vec!["train", "--quiet", "--out", run.to_str().unwrap()];
    for (flag, default) in TINY {
        let v = set
            .iter()
            .find(|(f, _)| *f == flag)
            .map_or(default, |(_, v)| *v);
        if !v.is_empty() {
            args.extend([flag, v]);
        }
    }
    for (flag, v) in set {
        if !TINY.iter().any(|(f, _)| f == flag) {
            args.extend([*flag, *v]);
        }
    }
    args.extend(extra);
    vaecam(&args)
}

fn train(run: &Path, extra: &[&str]) -> (bool, String, String) {
    train_with(run, &[], extra)
}

fn run_files(run: &Path) -> Vec<Vec<u8>> {
    ["config.json", "checkpoint.safetensors", "log.jsonl"]
        .iter()
        .map(|f| std::fs::read(run.join(f)).unwrap())
        .collect()
}

fn no_panic(err: &str) {
    assert!(!err.contains("panicked"), "panic: {err}");
}

#[test]
fn force_with_bad_settings_keeps_the_trained_run() {
    let run = tmp("force-bad");
    let (ok, _, err) = train(&run, &["--steps", "2"]);
    assert!(ok, "{err}");
    let before = run_files(&run);
    for bad in [
        ("--beta", "NaN"),
        ("--channels", "0,0"),
        ("--batch", "0"),
        ("--lr", "-1"),
        ("--size", "18"),
    ] {
        let (ok, _, err) = train_with(&run, &[bad], &["--force", "--steps", "3"]);
        assert!(!ok, "{bad:?} must be refused");
        no_panic(&err);
        assert_eq!(run_files(&run), before, "{bad:?} touched the trained run");
    }
}

#[test]
fn numeric_flags_are_checked_at_parse_time() {
    let run = tmp("ranges");
    for bad in [
        ("--batch", "0"),
        ("--channels", "0,0"),
        ("--steps", "0"),
        ("--epochs", "0"),
        ("--epochs", "18446744073709551615"),
        ("--z", "0"),
        ("--in-channels", "2"),
        ("--factor-gamma", "inf"),
    ] {
        let (ok, _, err) = train_with(&run, &[bad], &[]);
        assert!(!ok && err.contains(bad.0), "{bad:?}: {err}");
        no_panic(&err);
        assert!(!run.exists(), "{bad:?} created the run folder");
    }
}

#[test]
fn too_small_or_odd_sizes_say_what_the_model_needs() {
    let run = tmp("size");
    for size in ["7", "1", "8"] {
        let (ok, _, err) = train_with(&run, &[("--size", size), ("--channels", "")], &[]);
        assert!(!ok && err.contains("16 px"), "--size {size}: {err}");
        no_panic(&err);
    }
    let (ok, _, err) = train_with(&run, &[("--size", "18")], &[]);
    assert!(!ok && err.contains("multiple of 4"), "{err}");
    assert!(!run.exists());
}

#[test]
fn resume_refuses_changed_settings_and_records_lr_and_steps() {
    let run = tmp("resume");
    let (ok, _, err) = train(&run, &["--steps", "2", "--checkpoint-every", "1"]);
    assert!(ok, "{err}");
    let before = run_files(&run);
    for (changed, values) in [
        (("--batch", "4"), ["8", "4"]),
        (("--seed", "9"), ["0", "9"]),
        (("--z", "5"), ["4", "5"]),
        (("--data", "synthetic:wood"), ["carpet", "wood"]),
    ] {
        let (ok, _, err) = train_with(&run, &[changed], &["--resume", "--steps", "3"]);
        assert!(
            !ok && err.contains(changed.0) && values.iter().all(|v| err.contains(v)),
            "{changed:?}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert_eq!(run_files(&run), before);
    }
    let (ok, _, err) = train(&run, &["--resume", "--steps", "4", "--lr", "5e-5"]);
    assert!(ok, "{err}");
    let rec = std::fs::read_to_string(run.join("overrides.jsonl")).unwrap();
    assert!(
        rec.contains("train.lr") && rec.contains("train.steps") && rec.contains("\"at_step\":2"),
        "{rec}"
    );
    let cfg = std::fs::read_to_string(run.join("config.json")).unwrap();
    assert!(cfg.contains("5e-5") || cfg.contains("0.00005"), "{cfg}");
}

#[test]
fn a_killed_writes_temp_file_is_removed_on_the_next_start() {
    let run = tmp("stale");
    let (ok, _, err) = train(&run, &["--steps", "1"]);
    assert!(ok, "{err}");
    // What `kill -9` during a checkpoint write leaves (PID 4294967 cannot exist on Linux).
    let stale = run.join(".checkpoint.safetensors.tmp-4294967");
    std::fs::write(&stale, b"half a checkpoint").unwrap();
    let (ok, _, err) = train(&run, &["--steps", "2", "--resume"]);
    assert!(ok, "{err}");
    assert!(!stale.exists(), "the stale temp file is still there");
}

#[test]
fn make_benchmark_refuses_a_non_empty_folder() {
    let out = tmp("bench");
    let args = |seed: &'static str| {
        vec![
            "make-benchmark",
            "--categories",
            "carpet",
            "--train",
            "1",
            "--test-good",
            "1",
            "--test-per-defect",
            "1",
            "--seed",
            seed,
        ]
    };
    let o = out.to_str().unwrap();
    let (ok, _, err) = vaecam(&[&args("0")[..], &["--out", o, "--size", "32"]].concat());
    assert!(ok, "{err}");
    let png = out.join("carpet/train/good/000.png");
    let first = std::fs::read(&png).unwrap();
    let (ok, _, err) = vaecam(&[&args("1")[..], &["--out", o, "--size", "32"]].concat());
    assert!(
        !ok && err.contains("not empty") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(&png).unwrap(), first);
    let (ok, _, err) = vaecam(&[&args("1")[..], &["--out", o, "--size", "32", "--force"]].concat());
    assert!(ok, "{err}");
    let (ok, _, err) = vaecam(&[&args("0")[..], &["--out", o, "--size", "0"]].concat());
    assert!(!ok && err.contains("--size"), "{err}");
    no_panic(&err);
}

#[test]
fn disentangle_checks_everything_before_creating_a_seed_folder() {
    let out = tmp("dis");
    let o = out.to_str().unwrap();
    let base = [
        "disentangle",
        "--model",
        "beta-vae",
        "--steps",
        "1",
        "--quiet",
        "--out",
        o,
    ];
    let (ok, _, err) = vaecam(&[&base[..], &["--ad-lambda", "1", "--ad-layer", "foo"]].concat());
    assert!(!ok && err.contains("foo") && err.contains("relu2"), "{err}");
    assert!(!out.join("seed-1").exists(), "a seed folder was created");
    for bad in [
        &["--eval-train-votes", "0"][..],
        &["--recon-images", "0"],
        &["--batch", "0"],
        &["--z", "0"],
        &["--lr", "nan"],
        // Typed choices are refused by clap even without --ad-lambda.
        &["--ad-grad", "half"],
        &["--ad-pairs", "top-k:1"],
        &["--ad-overlap", "l2"],
        &["--ad-strategy", "fused"],
        &["--device", "tpu"],
    ] {
        let (ok, _, err) = vaecam(&[&base[..], bad].concat());
        assert!(!ok && err.contains(bad[0]), "{bad:?}: {err}");
        no_panic(&err);
        assert!(
            !out.join("seed-1").exists(),
            "{bad:?} created a seed folder"
        );
    }
}

/// A 32x32 MVTec-layout category of JPEG files (seeded noise, so training has something to
/// fit) at `root/jpegs`, with one defective test image and a PNG mask.
fn jpeg_category(root: &Path) -> std::path::PathBuf {
    let cat = root.join("jpegs");
    let mut state = 7u32;
    let mut noise = |path: std::path::PathBuf| {
        let img = image::GrayImage::from_fn(32, 32, |_, _| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            image::Luma([(state >> 24) as u8])
        });
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        img.save(&path).unwrap();
    };
    for i in 0..8 {
        noise(cat.join(format!("train/good/{i:03}.jpg")));
    }
    noise(cat.join("test/good/000.jpg"));
    noise(cat.join("test/crack/000.jpeg"));
    let mask = cat.join("ground_truth/crack/000_mask.png");
    std::fs::create_dir_all(mask.parent().unwrap()).unwrap();
    image::GrayImage::from_pixel(32, 32, image::Luma([255]))
        .save(&mask)
        .unwrap();
    cat
}

#[test]
fn jpeg_folders_train_and_jpegs_explain_and_rgba_is_called_rgba() {
    let root = tmp("jpeg");
    let cat = jpeg_category(&root);
    let run = root.join("run");
    let data = format!("mvtec:{}", cat.display());
    let (ok, _, err) = train_with(&run, &[("--data", &data)], &["--steps", "2"]);
    assert!(ok, "a JPEG train/good folder must train: {err}");
    let r = run.to_str().unwrap();
    let out = root.join("explained");
    let jpeg = cat.join("test/crack/000.jpeg");
    let args = [
        "explain",
        "--run",
        r,
        "--out",
        out.to_str().unwrap(),
        "--images",
    ];
    let (ok, _, err) = vaecam(&[&args[..], &[jpeg.to_str().unwrap()]].concat());
    assert!(ok, "a valid JPEG must explain: {err}");
    assert!(out.join("crack_000.png").is_file());

    // The model is grayscale: an RGBA picture is refused as what it is, not as "RGB".
    let rgba = root.join("rgba.png");
    image::RgbaImage::from_pixel(32, 32, image::Rgba([200, 10, 10, 128]))
        .save(&rgba)
        .unwrap();
    let (ok, _, err) = vaecam(&[&args[..], &[rgba.to_str().unwrap()]].concat());
    assert!(
        !ok && err.contains("image is RGBA") && err.contains("alpha"),
        "{err}"
    );
    no_panic(&err);
    // With --resize it is converted (luma, alpha dropped) and explained.
    let (ok, _, err) = vaecam(&[&args[..], &[rgba.to_str().unwrap(), "--resize"]].concat());
    assert!(ok, "{err}");
}
