//! The JavaScript API (wasm-bindgen), used by `web/app.js`:
//! `open_device(backend)` (async), `load_model(...)`, `explain_images(...)` (async).
//! Errors reach JavaScript as exceptions holding one line of text.

use crate::{decode_image, explain, load_model as load, Model};
use std::cell::RefCell;
use std::rc::Rc;
use vaecam_tensor::Device;
use wasm_bindgen::prelude::*;

thread_local! {
    static DEVICE: RefCell<Option<Device>> = const { RefCell::new(None) };
    static MODEL: RefCell<Option<Rc<Model>>> = const { RefCell::new(None) };
}

fn device() -> Result<Device, JsValue> {
    DEVICE
        .with(|d| d.borrow().clone())
        .ok_or_else(|| JsValue::from_str("open_device must be called first"))
}

/// Opens the backend: `gpu` (WebGPU, an error without it), `cpu` (the wasm CPU backend), or
/// `auto` (WebGPU when the browser has an adapter, else the CPU). Returns JSON
/// `{"backend": name, "gpu_error": why WebGPU was not used, or null}`.
#[wasm_bindgen]
pub async fn open_device(backend: String) -> Result<String, JsValue> {
    let (dev, gpu_error) = match backend.as_str() {
        "cpu" => (
            Device::cpu(),
            Some("the CPU backend was asked for".to_string()),
        ),
        "gpu" => (
            Device::gpu_async()
                .await
                .map_err(|e| JsValue::from_str(&e.to_string()))?,
            None,
        ),
        "auto" | "" => match Device::gpu_async().await {
            Ok(d) => (d, None),
            Err(e) => (Device::cpu(), Some(e.to_string())),
        },
        other => {
            return Err(JsValue::from_str(&format!(
                "backend={other:?}: expected gpu, cpu or auto"
            )))
        }
    };
    let out = serde_json::json!({ "backend": dev.name(), "gpu_error": gpu_error });
    DEVICE.with(|d| *d.borrow_mut() = Some(dev));
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
    let result = explain(&model, &decoded, &layer, &variant, &dev)
        .await
        .map_err(|e| JsValue::from_str(&e))?;
    serde_json::to_string(&result).map_err(|e| JsValue::from_str(&e.to_string()))
}
