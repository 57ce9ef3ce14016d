//! Explaining a VAE trained in PyTorch (issue 11): `vaecam explain --arch --weights` on the
//! committed fixture made by examples/import/dsprites_torch.py (`--width 0.25 --z 4`), checked
//! against PyTorch's own mu, logvar, alpha and per-dimension maps; and the errors of bad
//! architecture files and weights, each one line naming the layer or tensor. No torch needed.

mod common;
use common::{arch_model, explain, import_fixture as fixture, tmp, vaecam};
use std::path::Path;
use vaecam::report::npy;

/// The model flags of the fixture's own architecture file and weights.
fn fixture_model() -> [String; 4] {
    arch_model(
        &fixture().join("arch.json"),
        &fixture().join("weights.safetensors"),
    )
}

/// `&[String]` as the `&[&str]` that [`explain`] takes.
fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn flat(v: &serde_json::Value) -> Vec<f32> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(flat).collect(),
        x => vec![x.as_f64().unwrap() as f32],
    }
}

/// max |a - b| <= 1e-5 * max |b|: relative to the tensor's scale (near-zero elements of a
/// ReLU map have no meaningful elementwise relative error).
fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let err = got
        .iter()
        .zip(want)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        err <= 1e-5 * scale,
        "{what}: max abs difference {err} > 1e-5 x {scale}"
    );
}

#[test]
fn pytorch_dsprites_vae_is_explained_like_pytorch() {
    let fx = fixture();
    let out = tmp("import-explain");
    let (ok, _, err) = explain(
        &strs(&fixture_model()),
        &[&fx.join("images")],
        &out,
        &["--layer", "relu2"],
    );
    assert!(ok, "{err}");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fx.join("reference.json")).unwrap()).unwrap();
    let scores: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("scores.json")).unwrap()).unwrap();
    let names = reference["images"].as_array().unwrap();
    assert_eq!(names.len(), 3);
    for (i, name) in names.iter().enumerate() {
        let stem = format!("images_{}", name.as_str().unwrap().trim_end_matches(".png"));
        let (mdims, maps) = npy::read_f32(&out.join(format!("{stem}.maps.npy"))).unwrap();
        let (adims, alpha) = npy::read_f32(&out.join(format!("{stem}.alpha.npy"))).unwrap();
        let (gdims, _) = npy::read_f32(&out.join(format!("{stem}.aggregate.npy"))).unwrap();
        assert_eq!(mdims, vec![4, 16, 16], "{stem}: maps [D, h, w] at relu2");
        assert_eq!(adims, vec![4, 8], "{stem}: alpha [D, K]");
        assert_eq!(gdims, vec![64, 64], "{stem}: aggregate at input size");
        assert_close(&format!("{stem} maps"), &maps, &flat(&reference["maps"][i]));
        assert_close(
            &format!("{stem} alpha"),
            &alpha,
            &flat(&reference["alpha"][i]),
        );
        let img = &scores["images"][i];
        assert_eq!(img["name"], stem);
        assert_close(
            &format!("{stem} mu"),
            &flat(&img["mu"]),
            &flat(&reference["mu"][i]),
        );
        assert_close(
            &format!("{stem} logvar"),
            &flat(&img["logvar"]),
            &flat(&reference["logvar"][i]),
        );
    }
}

/// Runs explain on the fixture images with a modified architecture file or weights.
fn explain_with(arch: &Path, weights: &Path) -> (bool, String) {
    let (ok, _, err) = explain(
        &strs(&arch_model(arch, weights)),
        &[&fixture().join("images/000.png")],
        &tmp("import-bad-out"),
        &[],
    );
    (ok, err)
}

fn arch_text() -> String {
    std::fs::read_to_string(fixture().join("arch.json")).unwrap()
}

#[test]
fn malformed_architecture_files_name_the_layer_in_one_line() {
    let dir = tmp("import-bad-arch");
    std::fs::create_dir_all(&dir).unwrap();
    let weights = fixture().join("weights.safetensors");
    let cases = [
        // A typo in a field.
        (
            arch_text().replacen("\"stride\": 2", "\"strid\": 2", 1),
            vec!["conv1", "strid"],
        ),
        // A wrong channel count: the layer receiving it is named, with both numbers.
        (
            arch_text().replacen("\"in_channels\": 8", "\"in_channels\": 9", 1),
            vec!["conv2", "9", "8"],
        ),
        // An unknown layer type.
        (
            arch_text().replacen("\"type\": \"relu\"", "\"type\": \"gelu\"", 1),
            vec!["relu1", "gelu"],
        ),
        // Not JSON at all.
        ("{\"format\": ".to_string(), vec!["not valid JSON"]),
    ];
    for (i, (text, wants)) in cases.iter().enumerate() {
        let p = dir.join(format!("bad{i}.arch.json"));
        std::fs::write(&p, text).unwrap();
        let (ok, err) = explain_with(&p, &weights);
        assert!(!ok, "case {i} accepted");
        assert_eq!(err.trim().lines().count(), 1, "case {i}: {err}");
        assert!(
            err.contains(&format!("bad{i}.arch.json")),
            "case {i}: {err}"
        );
        for w in wants {
            assert!(err.contains(w), "case {i}: {w:?} not in {err}");
        }
    }
}

#[test]
fn wrong_and_missing_tensors_are_named_in_one_line() {
    let dir = tmp("import-bad-weights");
    std::fs::create_dir_all(&dir).unwrap();
    let weights = fixture().join("weights.safetensors");
    // The architecture claims 16 channels after conv1 where the weights have 8: a consistent
    // file whose tensors no longer match; the first mismatch is named with both shapes.
    let wide = arch_text()
        .replacen("\"out_channels\": 8,", "\"out_channels\": 16,", 1)
        .replacen("\"in_channels\": 8,", "\"in_channels\": 16,", 1);
    let p = dir.join("wide.arch.json");
    std::fs::write(&p, wide).unwrap();
    let (ok, err) = explain_with(&p, &weights);
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("enc.c1.weight")
            && err.contains("[8, 1, 4, 4]")
            && err.contains("[16, 1, 4, 4]")
            && err.contains("conv1"),
        "{err}"
    );
    // A tensor prefix the file does not have.
    let p = dir.join("missing.arch.json");
    std::fs::write(&p, arch_text().replacen("\"enc.c3\"", "\"enc.conv3\"", 1)).unwrap();
    let (ok, err) = explain_with(&p, &weights);
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("enc.conv3.weight") && err.contains("missing") && err.contains("conv3"),
        "{err}"
    );
}

#[test]
fn outputs_of_same_named_images_in_two_folders_do_not_collide() {
    let dir = tmp("import-collide");
    for sub in ["hole", "crack"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        std::fs::copy(
            fixture().join("images/000.png"),
            dir.join(sub).join("000.png"),
        )
        .unwrap();
    }
    let out = tmp("import-collide-out");
    let (ok, _, err) = explain(
        &strs(&fixture_model()),
        &[&dir.join("hole"), &dir.join("crack")],
        &out,
        &[],
    );
    assert!(ok, "{err}");
    for stem in ["hole_000", "crack_000"] {
        for ext in [
            ".png",
            "_dims.png",
            ".maps.npy",
            ".aggregate.npy",
            ".alpha.npy",
        ] {
            assert!(out.join(format!("{stem}{ext}")).is_file(), "{stem}{ext}");
        }
    }
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("scores.json")).unwrap()).unwrap();
    assert_eq!(s["images"].as_array().unwrap().len(), 2);
}

#[test]
fn reconstruct_to_a_non_png_keeps_the_existing_file() {
    let dir = tmp("import-recon");
    std::fs::create_dir_all(&dir).unwrap();
    let jpg = dir.join("existing.jpg");
    std::fs::write(&jpg, b"the user's photo").unwrap();
    let model = fixture_model();
    let images = fixture().join("images");
    let args = |out: &Path| {
        let mut a = vec!["reconstruct"];
        a.extend(strs(&model));
        a.extend([
            "--images",
            images.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        vaecam(&a)
    };
    let (ok, _, err) = args(&jpg);
    assert!(!ok && err.contains("PNG"), "{err}");
    assert_eq!(std::fs::read(&jpg).unwrap(), b"the user's photo");
    let png = dir.join("recon.png");
    let (ok, _, err) = args(&png);
    assert!(ok, "{err}");
    assert!(std::fs::metadata(&png).unwrap().len() > 100);
}

#[test]
fn the_example_architecture_file_matches_the_pytorch_module() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/import/dsprites_torch.arch.json");
    let file = vaecam_vae::archfile::read(&p).unwrap();
    let vae = vaecam_vae::Vae::from_arch_file(&file, 0, &vaecam_tensor::Device::cpu()).unwrap();
    let mut names: Vec<String> = vae.state().into_iter().map(|(n, _)| n).collect();
    names.sort();
    // The state_dict keys of examples/import/dsprites_torch.py's module.
    let mut want = Vec::new();
    for l in [
        "enc.c1", "enc.c2", "enc.c3", "enc.c4", "enc.f1", "enc.f2", "dec.f1", "dec.f2", "dec.d1",
        "dec.d2", "dec.d3", "dec.d4",
    ] {
        want.push(format!("{l}.bias"));
        want.push(format!("{l}.weight"));
    }
    want.sort();
    assert_eq!(names, want);
    assert!(vae.encoder_layer_names().contains(&"relu2".to_string()));
    // The second example of docs/architecture-files.md parses and builds too.
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture-files.md"),
    )
    .unwrap();
    let blocks: Vec<&str> = doc
        .split("```json")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert_eq!(blocks.len(), 2);
    for b in blocks {
        let f = vaecam_vae::archfile::parse(b, None).unwrap();
        let v = vaecam_vae::Vae::from_arch_file(&f, 1, &vaecam_tensor::Device::cpu()).unwrap();
        let x = vaecam_tensor::Tensor::rand(
            [2, f.input.channels, f.input.size, f.input.size],
            3,
            &vaecam_tensor::Device::cpu(),
        )
        .unwrap();
        let o = v.forward(&x, None).unwrap();
        assert_eq!(o.logits.dims(), x.dims());
        assert_eq!(o.mu.dims(), &[2, f.z_dim]);
    }
}

#[test]
fn an_exported_run_explains_exactly_like_the_run() {
    let run = tmp("import-export-run");
    let (ok, _, err) = vaecam(&[
        "train",
        "--data",
        "dsprites",
        "--model",
        "dsprites",
        "--z",
        "3",
        "--steps",
        "2",
        "--batch",
        "4",
        "--quiet",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = vaecam(&["export-arch", "--run", run.to_str().unwrap()]);
    assert!(ok, "{err}");
    // A second export refuses to replace the files without --force.
    let (ok, _, err) = vaecam(&["export-arch", "--run", run.to_str().unwrap()]);
    assert!(!ok && err.contains("--force"), "{err}");
    let images = fixture().join("images/000.png");
    let via_run = tmp("import-export-a");
    let via_files = tmp("import-export-b");
    let (ok, _, err) = explain(&["--run", run.to_str().unwrap()], &[&images], &via_run, &[]);
    assert!(ok, "{err}");
    let exported = arch_model(&run.join("arch.json"), &run.join("weights.safetensors"));
    let (ok, _, err) = explain(&strs(&exported), &[&images], &via_files, &[]);
    assert!(ok, "{err}");
    for f in [
        "images_000.maps.npy",
        "images_000.alpha.npy",
        "images_000.aggregate.npy",
    ] {
        let a = npy::read_f32(&via_run.join(f)).unwrap();
        let b = npy::read_f32(&via_files.join(f)).unwrap();
        assert_eq!(a, b, "{f}");
    }
}

#[test]
fn weights_holding_nan_are_refused_naming_the_tensor() {
    let dev = vaecam_tensor::Device::cpu();
    let ck = vaecam_tensor::io::load(fixture().join("weights.safetensors"), &dev).unwrap();
    let tensors: Vec<(String, vaecam_tensor::Tensor)> = ck
        .tensors
        .iter()
        .map(|(n, t)| {
            if n == "enc.f1.bias" {
                let mut v = t.to_vec().unwrap();
                v[3] = f32::NAN;
                (
                    n.clone(),
                    vaecam_tensor::Tensor::from_vec(v, t.dims().to_vec(), &dev).unwrap(),
                )
            } else {
                (n.clone(), t.clone())
            }
        })
        .collect();
    let dir = tmp("import-nan");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("nan.safetensors");
    vaecam_tensor::io::save(&p, &tensors, None).unwrap();
    let (ok, err) = explain_with(&fixture().join("arch.json"), &p);
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("enc.f1.bias") && err.contains("non-finite"),
        "{err}"
    );
}
