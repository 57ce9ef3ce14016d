//! The page in headless Chromium against the native CPU backend: the bundled demo's mu, alpha
//! and per-dimension maps (at the layer's resolution) must agree to 1e-4 relative, on WebGPU
//! and on the wasm CPU fallback (`&backend=cpu`). Skips, saying why, when Chromium or the
//! wasm build (`scripts/build_web.sh` -> web/dist/) is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use vaecam_tensor::Device;

const IMAGES: [&str; 3] = ["heart.png", "ellipse.png", "square.png"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(String::from)
}

/// The page's `<pre id="result">` JSON for `query`.
fn browser_result(chrome: &str, dist: &Path, query: &str) -> serde_json::Value {
    let url = format!(
        "file://{}/index.html?{query}",
        dist.canonicalize().unwrap().display()
    );
    let out = Command::new("timeout")
        .args([
            "180",
            chrome,
            "--headless=new",
            "--no-sandbox",
            "--enable-unsafe-webgpu",
        ])
        .args([
            "--enable-features=Vulkan",
            "--use-angle=vulkan",
            "--allow-file-access-from-files",
        ])
        .args(["--virtual-time-budget=120000", "--dump-dom", &url])
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom
        .find("<pre id=\"result\">")
        .expect("the page has <pre id=result>")
        + 17;
    let end = start + dom[start..].find("</pre>").unwrap();
    let text = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    assert!(
        !text.is_empty(),
        "the page wrote no result; chromium stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&text).expect("result is JSON");
    assert!(v.get("error").is_none(), "the page failed: {}", v["error"]);
    v
}

fn native() -> vaecam_web::Explanation {
    let demo = root().join("web/demo");
    let arch = std::fs::read_to_string(demo.join("dsprites.arch.json")).unwrap();
    let weights = std::fs::read(demo.join("dsprites.safetensors")).unwrap();
    let dev = Device::cpu();
    let model = vaecam_web::load_model(&arch, "arch", &weights, "weights", &dev).unwrap();
    let images: Vec<(String, Vec<f32>)> = IMAGES
        .iter()
        .map(|n| {
            let b = std::fs::read(demo.join(n)).unwrap();
            (
                n.to_string(),
                vaecam_web::decode_image(&b, n, 1, 64).unwrap(),
            )
        })
        .collect();
    pollster::block_on(vaecam_web::explain(&model, &images, "relu2", "paper", &dev)).unwrap()
}

/// Largest |a - b| / max(|b|, scale * 1e-3) (values near zero are compared to the field's scale).
fn max_rel(a: &serde_json::Value, b: &[f32], what: &str) -> f64 {
    let a: Vec<f64> = a
        .as_array()
        .unwrap_or_else(|| panic!("{what} is an array"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(a.len(), b.len(), "{what}: length");
    let scale = b.iter().fold(0f64, |m, &x| m.max(x.abs() as f64));
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x - y as f64).abs() / (y.abs() as f64).max(scale * 1e-3).max(1e-12))
        .fold(0.0, f64::max)
}

fn compare(page: &serde_json::Value, want: &vaecam_web::Explanation) -> f64 {
    let imgs = page["images"].as_array().unwrap();
    assert_eq!(imgs.len(), want.images.len());
    let mut worst = 0f64;
    for (p, w) in imgs.iter().zip(&want.images) {
        assert_eq!(p["name"], w.name.as_str());
        worst = worst.max(max_rel(&p["mu"], &w.mu, "mu"));
        for (pa, wa) in p["alpha"].as_array().unwrap().iter().zip(&w.alpha) {
            worst = worst.max(max_rel(pa, wa, "alpha"));
        }
        for (pm, wm) in p["maps"].as_array().unwrap().iter().zip(&w.maps) {
            worst = worst.max(max_rel(pm, wm, "maps"));
        }
    }
    worst
}

#[test]
fn page_matches_native_cpu_on_webgpu_and_wasm_cpu() {
    let Some(chrome) = chromium() else {
        eprintln!("SKIP browser test: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let dist = root().join("web/dist");
    if !dist.join("vaecam_web_bg.wasm").is_file() {
        eprintln!("SKIP browser test: web/dist/ is not built (run scripts/build_web.sh)");
        return;
    }
    let want = native();
    let query = format!(
        "arch=demo/dsprites.arch.json&weights=demo/dsprites.safetensors&images={}&layer=relu2",
        IMAGES.map(|i| format!("demo/{i}")).join(",")
    );
    let want = vaecam_web::Explanation {
        images: want
            .images
            .into_iter()
            .map(|mut i| {
                i.name = format!("demo/{}", i.name);
                i
            })
            .collect(),
        ..want
    };
    let cpu = browser_result(&chrome, &dist, &format!("{query}&backend=cpu"));
    assert!(
        cpu["backend"].as_str().unwrap().starts_with("cpu"),
        "backend: {}",
        cpu["backend"]
    );
    assert_eq!(cpu["map_size"], serde_json::json!([16, 16]));
    let err = compare(&cpu, &want);
    eprintln!("wasm CPU fallback: max relative difference {err:.2e}");
    assert!(err < 1e-4, "wasm CPU differs from native by {err}");
    let gpu = browser_result(&chrome, &dist, &format!("{query}&backend=gpu"));
    assert!(
        gpu["backend"].as_str().unwrap().starts_with("gpu"),
        "backend: {}",
        gpu["backend"]
    );
    let err = compare(&gpu, &want);
    eprintln!(
        "WebGPU ({}): max relative difference {err:.2e}",
        gpu["backend"]
    );
    assert!(err < 1e-4, "WebGPU differs from native by {err}");
}
