//! The `vaecam` command line, end to end.

mod common;
use common::{tiny_benchmark, tmp, vaecam};

#[test]
fn every_command_has_help() {
    for cmd in ["train", "reconstruct", "make-benchmark", "devices"] {
        let (ok, out, _) = vaecam(&[cmd, "--help"]);
        assert!(ok && out.contains("Usage"), "{cmd} --help: {out}");
    }
}

#[test]
fn bad_specs_and_models_are_one_line_errors() {
    let out = tmp("bad");
    let o = out.to_str().unwrap();
    let (ok, _, err) = vaecam(&["train", "--data", "imagenet", "--out", o]);
    assert!(
        !ok && err.contains("imagenet") && err.contains("synthetic:<category>"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let (ok, _, err) = vaecam(&[
        "train",
        "--data",
        "synthetic:wood",
        "--model",
        "vgg",
        "--out",
        o,
    ]);
    assert!(
        !ok && err.contains("vgg") && err.contains("--model"),
        "{err}"
    );
    let (ok, _, err) = vaecam(&[
        "train",
        "--data",
        "mvtec:/nonexistent/root/carpet",
        "--out",
        o,
    ]);
    assert!(!ok && err.contains("/nonexistent/root"), "{err}");
    let (ok, _, err) = vaecam(&["train", "--data", "synthetic:marble", "--out", o]);
    assert!(!ok && err.contains("marble"), "{err}");
}

#[test]
fn train_then_refuse_then_resume_then_reconstruct() {
    let run = tmp("run");
    let r = run.to_str().unwrap();
    let base = [
        "train",
        "--data",
        "synthetic:carpet",
        "--size",
        "32",
        "--channels",
        "8,16",
        "--z",
        "4",
        "--batch",
        "8",
        "--quiet",
        "--out",
        r,
    ];
    let (ok, _, err) = vaecam(&[&base[..], &["--steps", "3"]].concat());
    assert!(ok, "{err}");
    for f in [
        "config.json",
        "log.jsonl",
        "checkpoint.safetensors",
        "samples/reconstructions.png",
        "samples/traversals.png",
    ] {
        assert!(run.join(f).is_file(), "missing {f}");
    }
    let ck = std::fs::read(run.join("checkpoint.safetensors")).unwrap();
    let (ok, _, err) = vaecam(&[&base[..], &["--steps", "5"]].concat());
    assert!(!ok && err.contains("already holds a run"), "{err}");
    assert_eq!(
        ck,
        std::fs::read(run.join("checkpoint.safetensors")).unwrap(),
        "refused run must not touch the checkpoint"
    );
    let (ok, _, err) = vaecam(&[&base[..], &["--steps", "5", "--resume"]].concat());
    assert!(ok, "{err}");
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    assert!(
        log.lines()
            .last()
            .unwrap()
            .starts_with("{\"images_per_sec\"")
            || log.contains("\"step\":5"),
        "{log}"
    );
    assert!(
        log.contains("\"step\":5") && log.contains("\"step\":3"),
        "{log}"
    );
    let imgs = tiny_benchmark("imgs", "carpet", 32, 2, 1, 1);
    let train_good = imgs.join("carpet/train/good");
    let (ok, _, err) = vaecam(&[
        "reconstruct",
        "--run",
        r,
        "--images",
        train_good.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(run.join("samples/reconstruct.png").is_file());
    let (ok, _, err) = vaecam(&[
        "reconstruct",
        "--run",
        tmp("none").to_str().unwrap(),
        "--images",
        train_good.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("config.json"), "{err}");
}
