//! The JavaScript API (wasm-bindgen), used by `web/app.js`:
//! `open_device(backend, adapter, kernels)` (async), `load_model(...)`, `explain_images(...)` (async).
//! Errors reach JavaScript as exceptions holding one line of text.

use crate::{decode_image, explain, load_model as load, Model};
use std::cell::RefCell;
use std::rc::Rc;
use vaecam_tensor::gpu::Kernels;
use vaecam_tensor::Device;
use wasm_bindgen::prelude::*;

thread_local! {
    static DEVICE: RefCell<Option<Device>> = const { RefCell::new(None) };
    static BACKEND: RefCell<String> = const { RefCell::new(String::new()) };
    static MODEL: RefCell<Option<Rc<Model>>> = const { RefCell::new(None) };
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(msg: &str);
}

/// Panics (wgpu panics on an uncaptured WebGPU validation error) go to the console before the
/// wasm trap, so that the page and a headless run can say what failed.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!("vaecam panicked: {info}"))
    }));
}

fn device() -> Result<Device, JsValue> {
    DEVICE
        .with(|d| d.borrow().clone())
        .ok_or_else(|| JsValue::from_str("open_device must be called first"))
}

/// Software WebGPU adapters (a CPU rasteriser behind the API) run the barrier-free register
/// kernels faster, as llvmpipe does natively.
const SOFTWARE_ADAPTERS: [&str; 4] = ["swiftshader", "llvmpipe", "lavapipe", "warp"];

/// The GPU device with the kernel family for the adapter. wgpu cannot tell the adapter's
/// type through WebGPU (it reports `Other` and `GPUAdapterInfo.description`, which Chromium
/// leaves empty), so the page passes `GPUAdapterInfo`'s vendor and architecture in `adapter`;
/// `kernels` (`tiled`, `register` or empty for the adapter's choice) overrides it.
async fn open_gpu(adapter: &str, kernels: &str) -> Result<(Device, String), JsValue> {
    let dev = Device::gpu_async()
        .await
        .map_err(|e| JsValue::from_str(&e.to_string()))?;
    let Device::Gpu(gpu) = dev else {
        return Err(JsValue::from_str("Device::gpu_async gave a CPU device"));
    };
    let lower = adapter.to_lowercase();
    let software = SOFTWARE_ADAPTERS.iter().any(|s| lower.contains(s));
    let family = match kernels {
        "tiled" => Kernels::Tiled,
        "register" => Kernels::Register,
        "" if software => Kernels::Register,
        "" => gpu.kernels,
        other => {
            return Err(JsValue::from_str(&format!(
                "kernels={other:?}: expected tiled or register"
            )))
        }
    };
    let gpu = gpu.with_kernels(family);
    let label = if adapter.is_empty() {
        "unnamed adapter"
    } else {
        adapter
    };
    let name = format!("gpu: {label} (WebGPU, {family:?} kernels)");
    Ok((Device::Gpu(gpu), name))
}

/// Opens the backend: `gpu` (WebGPU, an error without it), `cpu` (the wasm CPU backend), or
/// `auto` (WebGPU when the browser has an adapter, else the CPU). `adapter` names the WebGPU
/// adapter (vendor and architecture from `GPUAdapterInfo`, for the kernel choice and the
/// label); `kernels` is `tiled`, `register` or empty. Returns JSON
/// `{"backend": name, "gpu_error": why WebGPU was not used, or null}`.
#[wasm_bindgen]
pub async fn open_device(
    backend: String,
    adapter: String,
    kernels: String,
) -> Result<String, JsValue> {
    let (dev, name, gpu_error) = match backend.as_str() {
        "cpu" => (
            Device::cpu(),
            "cpu (wasm, 1 thread)".to_string(),
            Some("the CPU backend was asked for".to_string()),
        ),
        "gpu" => {
            let (d, n) = open_gpu(&adapter, &kernels).await?;
            (d, n, None)
        }
        "auto" | "" => match open_gpu(&adapter, &kernels).await {
            Ok((d, n)) => (d, n, None),
            Err(e) => (
                Device::cpu(),
                "cpu (wasm, 1 thread)".to_string(),
                Some(e.as_string().unwrap_or_else(|| "WebGPU failed".into())),
            ),
        },
        other => {
            return Err(JsValue::from_str(&format!(
                "backend={other:?}: expected gpu, cpu or auto"
            )))
        }
    };
    let out = serde_json::json!({ "backend": name, "gpu_error": gpu_error });
    DEVICE.with(|d| *d.borrow_mut() = Some(dev));
    BACKEND.with(|b| *b.borrow_mut() = name);
    MODEL.with(|m| *m.borrow_mut() = None);
    Ok(out.to_string())
}

/// Loads a model (architecture JSON text + safetensors bytes) on the open device. Returns JSON
/// `{"feature_layers": [...], "default_layer": name, "z_dim": D, "input_shape": [C, H, W]}`.
#[wasm_bindgen]
pub fn load_model(
    arch_json: String,
    arch_name: String,
    weights: Vec<u8>,
    weights_name: String,
) -> Result<String, JsValue> {
    let dev = device()?;
    let model = load(&arch_json, &arch_name, &weights, &weights_name, &dev)
        .map_err(|e| JsValue::from_str(&e))?;
    let cfg = &model.vae.config;
    let out = serde_json::json!({
        "feature_layers": model.feature_layers,
        "default_layer": model.default_layer(),
        "z_dim": cfg.z_dim,
        "input_shape": [cfg.in_channels, cfg.image_size, cfg.image_size],
    });
    MODEL.with(|m| *m.borrow_mut() = Some(Rc::new(model)));
    Ok(out.to_string())
}

/// Explains images (PNG bytes, `names[i]` for `images[i]`) at `layer` with `variant`
/// (`paper` or `code`) on the loaded model. Returns the [`crate::Explanation`] as JSON.
#[wasm_bindgen]
pub async fn explain_images(
    names: Vec<String>,
    images: js_sys::Array,
    layer: String,
    variant: String,
) -> Result<String, JsValue> {
    let dev = device()?;
    let model = MODEL
        .with(|m| m.borrow().clone())
        .ok_or_else(|| JsValue::from_str("load_model must be called first"))?;
    if names.len() != images.length() as usize {
        return Err(JsValue::from_str("one name per image is needed"));
    }
    let cfg = &model.vae.config;
    let mut decoded = Vec::with_capacity(names.len());
    for (name, bytes) in names.iter().zip(images.iter()) {
        let bytes = js_sys::Uint8Array::new(&bytes).to_vec();
        let img = decode_image(&bytes, name, cfg.in_channels, cfg.image_size)
            .map_err(|e| JsValue::from_str(&e))?;
        decoded.push((name.clone(), img));
    }
    let mut result = explain(&model, &decoded, &layer, &variant, &dev)
        .await
        .map_err(|e| JsValue::from_str(&e))?;
    result.backend = BACKEND.with(|b| b.borrow().clone());
    serde_json::to_string(&result).map_err(|e| JsValue::from_str(&e.to_string()))
}
