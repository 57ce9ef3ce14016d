//! The page in headless Chromium against the native CPU backend, for two models: the bundled
//! demo (a vaecam-trained dSprites VAE) and a user-supplied one (the PyTorch-trained fixture
//! of tests/fixtures/import, architecture file + state_dict). Their mu, alpha and
//! per-dimension maps at the layer's resolution must agree with the native engine's to 1e-4
//! relative, on WebGPU and on the wasm CPU fallback (`&backend=cpu`), through the query
//! parameters and through the page's file pickers.
//!
//! Skips, saying why, when Chromium or the wasm build (`scripts/build_web.sh` -> web/dist/)
//! is missing; with `VAECAM_REQUIRE_BROWSER=1` (set by `.ci/run` once it has installed
//! them) a missing prerequisite fails instead.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vaecam_tensor::Device;
use vaecam_web::headless::{find_chromium, Browser};

/// Relative tolerance against the native engine.
const TOL: f64 = 1e-4;
/// Real time one page may take (SwiftShader runs the WGSL kernels on the CPU).
const PAGE_TIMEOUT: Duration = Duration::from_secs(300);
const DEMO_IMAGES: [&str; 3] = ["heart.png", "ellipse.png", "square.png"];
const IMPORT_IMAGES: [&str; 3] = ["000.png", "001.png", "002.png"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn import_fixture() -> PathBuf {
    root().join("tests/fixtures/import")
}

/// Chromium and a page folder (a copy of web/dist with the fixture model next to index.html,
/// as a user would put their files), or the reason the test cannot run.
fn setup() -> Result<(String, PathBuf), String> {
    let chrome = find_chromium().ok_or("no chromium on PATH (apt-get install chromium)")?;
    let dist = root().join("web/dist");
    if !dist.join("vaecam_web_bg.wasm").is_file() {
        return Err("web/dist/ is not built (run scripts/build_web.sh)".into());
    }
    let page = std::env::temp_dir().join(format!("vaecam-browser-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&page);
    copy_dir(&dist, &page).map_err(|e| format!("copying web/dist: {e}"))?;
    copy_dir(&import_fixture(), &page.join("import")).map_err(|e| format!("fixture: {e}"))?;
    Ok((chrome, page))
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()))?;
        } else {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// A model as the test names it: architecture, weights and images, relative to `dir`.
struct Case {
    dir: PathBuf,
    prefix: &'static str,
    arch: &'static str,
    weights: &'static str,
    images: Vec<String>,
}

impl Case {
    fn demo() -> Case {
        Case {
            dir: root().join("web/demo"),
            prefix: "demo",
            arch: "dsprites.arch.json",
            weights: "dsprites.safetensors",
            images: DEMO_IMAGES.map(String::from).to_vec(),
        }
    }
    fn import() -> Case {
        Case {
            dir: import_fixture(),
            prefix: "import",
            arch: "arch.json",
            weights: "weights.safetensors",
            images: IMPORT_IMAGES.map(|i| format!("images/{i}")).to_vec(),
        }
    }
    fn query(&self, backend: &str) -> String {
        let p = |f: &str| format!("{}/{f}", self.prefix);
        let images: Vec<String> = self.images.iter().map(|i| p(i)).collect();
        format!(
            "arch={}&weights={}&images={}&layer=relu2&backend={backend}",
            p(self.arch),
            p(self.weights),
            images.join(",")
        )
    }
    /// The same explanation on the native CPU backend, image names as the page reports them.
    fn native(&self, name: impl Fn(&str) -> String) -> vaecam_web::Explanation {
        let arch = std::fs::read_to_string(self.dir.join(self.arch)).unwrap();
        let weights = std::fs::read(self.dir.join(self.weights)).unwrap();
        let dev = Device::cpu();
        let model = vaecam_web::load_model(&arch, self.arch, &weights, self.weights, &dev)
            .unwrap_or_else(|e| panic!("native load: {e}"));
        let cfg = &model.vae.config;
        let images: Vec<(String, Vec<f32>)> = self
            .images
            .iter()
            .map(|n| {
                let b = std::fs::read(self.dir.join(n)).unwrap();
                let x = vaecam_web::decode_image(&b, n, cfg.in_channels, cfg.image_size);
                (name(n), x.unwrap())
            })
            .collect();
        pollster::block_on(vaecam_web::explain(&model, &images, "relu2", "paper", &dev)).unwrap()
    }
}

fn url(page: &Path, query: &str) -> String {
    format!("file://{}/index.html?{query}", page.display())
}

/// Parses the page's result JSON; a page error or a missing result fails with the page's log.
fn parse(text: &str, browser: &Browser) -> Value {
    let v: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("result is not JSON ({e}): {text:.200}"));
    if let Some(e) = v.get("error") {
        panic!("the page failed: {e}; page log: {}", browser.log_text());
    }
    v
}

/// The result of the page opened with `query`.
fn page_result(chrome: &str, page: &Path, query: &str) -> Value {
    let mut b = Browser::open(chrome, &url(page, query), (1400, 1000), &[]).unwrap();
    let text = b.wait_for_text("result", PAGE_TIMEOUT).unwrap();
    parse(&text, &b)
}

/// `[D][h][w]` nested lists as `[D][h*w]`.
fn per_dim_flat(v: &Value) -> Value {
    fn flat(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
            x => out.push(x.clone()),
        }
    }
    let dims = v.as_array().expect("maps per dimension");
    Value::Array(
        dims.iter()
            .map(|d| {
                let mut out = Vec::new();
                flat(d, &mut out);
                Value::Array(out)
            })
            .collect(),
    )
}

fn floats(v: &Value, what: &str) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what} is not an array"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Largest |a - b| / max(|b|, 1e-3 * max|b|): elementwise relative, with the values near zero
/// (a ReLU map's background) compared to the field's scale instead.
fn max_rel(a: &[f64], b: &[f32], what: &str) -> f64 {
    assert_eq!(a.len(), b.len(), "{what}: length");
    let scale = b.iter().fold(0f64, |m, &x| m.max(x.abs() as f64));
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x - y as f64).abs() / (y.abs() as f64).max(scale * 1e-3).max(1e-12))
        .fold(0.0, f64::max)
}

/// The largest relative difference of mu, alpha and the maps between page and native.
fn compare(page: &Value, want: &vaecam_web::Explanation) -> f64 {
    let imgs = page["images"].as_array().expect("images");
    assert_eq!(imgs.len(), want.images.len());
    assert_eq!(page["z_dim"], want.z_dim);
    assert_eq!(page["map_size"], serde_json::json!(want.map_size));
    let mut worst = 0f64;
    for (p, w) in imgs.iter().zip(&want.images) {
        assert_eq!(p["name"], w.name.as_str());
        worst = worst.max(max_rel(&floats(&p["mu"], "mu"), &w.mu, "mu"));
        let (pa, pm) = (
            p["alpha"].as_array().unwrap(),
            p["maps"].as_array().unwrap(),
        );
        assert_eq!((pa.len(), pm.len()), (w.alpha.len(), w.maps.len()));
        for (pa, wa) in pa.iter().zip(&w.alpha) {
            worst = worst.max(max_rel(&floats(pa, "alpha"), wa, "alpha"));
        }
        for (pm, wm) in pm.iter().zip(&w.maps) {
            worst = worst.max(max_rel(&floats(pm, "maps"), wm, "maps"));
        }
    }
    worst
}

fn check(what: &str, page: &Value, want: &vaecam_web::Explanation, backend: &str) {
    let ran = page["backend"].as_str().unwrap_or("?");
    assert!(
        ran.starts_with(backend),
        "{what}: ran on {ran}, not {backend}"
    );
    let err = compare(page, want);
    eprintln!(
        "{what}: {:.0} ms on {ran}; max relative difference to native {err:.2e}",
        page["millis"].as_f64().unwrap_or(f64::NAN)
    );
    assert!(err < TOL, "{what}: differs from native by {err:.2e}");
}

#[test]
fn page_matches_native_cpu_on_webgpu_and_wasm_cpu() {
    let (chrome, page) = match setup() {
        Ok(s) => s,
        Err(why) if std::env::var("VAECAM_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!("browser test cannot run (VAECAM_REQUIRE_BROWSER=1): {why}")
        }
        Err(why) => {
            eprintln!("SKIP browser test: {why}");
            return;
        }
    };
    let (demo, import) = (Case::demo(), Case::import());
    let want_demo = demo.native(|n| format!("demo/{n}"));
    let want_import = import.native(|n| format!("import/{n}"));

    // The web crate's native result for the imported model is PyTorch's (reference.json).
    let reference: Value =
        serde_json::from_slice(&std::fs::read(import_fixture().join("reference.json")).unwrap())
            .unwrap();
    let mut torch = reference.clone();
    for (i, img) in torch["images"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        *img = serde_json::json!({
            "name": want_import.images[i].name, "mu": reference["mu"][i],
            "alpha": reference["alpha"][i],
            "maps": per_dim_flat(&reference["maps"][i]),
        });
    }
    torch["z_dim"] = reference["mu"][0].as_array().unwrap().len().into();
    torch["map_size"] = serde_json::json!([16, 16]);
    let err = compare(&torch, &want_import);
    eprintln!("imported model: native vaecam vs PyTorch, max relative difference {err:.2e}");
    assert!(err < TOL, "native vaecam differs from PyTorch by {err:.2e}");

    for backend in ["cpu", "gpu"] {
        let r = page_result(&chrome, &page, &demo.query(backend));
        check(&format!("demo, query, {backend}"), &r, &want_demo, backend);
        let r = page_result(&chrome, &page, &import.query(backend));
        check(
            &format!("import, query, {backend}"),
            &r,
            &want_import,
            backend,
        );
    }

    // The file pickers, as a user would: the page opens on the demo (default backend), then
    // the architecture file, weights and images are picked and Explain is pressed.
    let mut b = Browser::open(&chrome, &url(&page, "backend=gpu"), (1400, 1000), &[]).unwrap();
    let first = b.wait_for_text("result", PAGE_TIMEOUT).unwrap();
    let first = parse(&first, &b);
    let plain = |n: &str| n.rsplit('/').next().unwrap().to_string();
    // The bundled demo images come in file-name order (scripts/build_web.sh's glob).
    let mut bundled = Case::demo();
    bundled.images.sort();
    check("demo, page opened", &first, &bundled.native(plain), "gpu");
    // Chromium reads picked files by canonical path only.
    let fx = import_fixture().canonicalize().unwrap();
    b.set_files("arch-file", &[&fx.join("arch.json")]).unwrap();
    b.set_files("weights-file", &[&fx.join("weights.safetensors")])
        .unwrap();
    let images: Vec<PathBuf> = IMPORT_IMAGES
        .iter()
        .map(|i| fx.join("images").join(i))
        .collect();
    let refs: Vec<&Path> = images.iter().map(PathBuf::as_path).collect();
    b.set_files("image-files", &refs).unwrap();
    b.eval(
        "document.querySelector('input[name=model][value=files]').checked = true; \
         document.getElementById('demo-images').checked = false; \
         document.getElementById('result').textContent = ''; \
         document.getElementById('run').click(); true",
    )
    .unwrap();
    let picked = b.wait_for_text("result", PAGE_TIMEOUT).unwrap();
    let picked = parse(&picked, &b);
    check(
        "import, file pickers",
        &picked,
        &import.native(plain),
        "gpu",
    );
    let _ = std::fs::remove_dir_all(&page);
}
