// The page's glue: loads the wasm engine (embedded as base64 so the page also works when
// opened from disk), opens WebGPU or the CPU backend, and shows or reports the maps.
"use strict";
const $ = (id) => document.getElementById(id);
const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const params = new URLSearchParams(location.search);
let deviceInfo = null;

// Files named in the query string are read with XHR: fetch() refuses file:// URLs, XHR is
// allowed there with --allow-file-access-from-files (and always over http).
function readUrl(url, type) {
  return new Promise((ok, fail) => {
    const r = new XMLHttpRequest();
    r.open("GET", url);
    r.responseType = type;
    r.onload = () => (r.status === 0 || r.status === 200) && r.response !== null
      ? ok(r.response) : fail(new Error(`${url}: HTTP ${r.status}`));
    r.onerror = () => fail(new Error(`${url}: cannot be read (opened from disk? start Chromium with --allow-file-access-from-files, or serve the folder over http)`));
    r.send();
  });
}
const readFile = (f, how) => new Promise((ok, fail) => {
  const r = new FileReader();
  r.onload = () => ok(r.result);
  r.onerror = () => fail(new Error(`${f.name}: cannot be read`));
  how === "text" ? r.readAsText(f) : r.readAsArrayBuffer(f);
});

function jet(v) {
  const c = (x) => Math.round(255 * Math.min(1, Math.max(0, x)));
  return [c(1.5 - Math.abs(4 * v - 3)), c(1.5 - Math.abs(4 * v - 2)), c(1.5 - Math.abs(4 * v - 1))];
}
function canvas(w, h, fill) {
  const cv = document.createElement("canvas");
  cv.width = w; cv.height = h;
  const ctx = cv.getContext("2d");
  const im = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const [r, g, b] = fill(i);
    im.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(im, 0, 0);
  return cv;
}
function panel(title, cv) {
  const d = document.createElement("div");
  d.className = "panel";
  d.append(cv, title);
  return d;
}
function render(res) {
  const [C, H, W] = res.input_shape;
  const views = $("views");
  views.textContent = "";
  for (const im of res.images) {
    const row = document.createElement("div");
    row.className = "image-row";
    const gray = (data, i) => {
      const v = C === 3 ? (data[i] + data[H * W + i] + data[2 * H * W + i]) / 3 : data[i];
      const g = Math.round(255 * Math.min(1, Math.max(0, v)));
      return [g, g, g];
    };
    const overlay = (m, lo, hi) => (i) => {
      const t = hi > lo ? (m[i] - lo) / (hi - lo) : 0;
      const [r, g, b] = jet(t), [p] = gray(im.input, i);
      return [0.6 * r + 0.4 * p, 0.6 * g + 0.4 * p, 0.6 * b + 0.4 * p];
    };
    const min = (a) => a.reduce((x, y) => Math.min(x, y), Infinity);
    const max = (a) => a.reduce((x, y) => Math.max(x, y), -Infinity);
    row.append(panel(im.name, canvas(W, H, (i) => gray(im.input, i))));
    row.append(panel("reconstruction", canvas(W, H, (i) => gray(im.reconstruction, i))));
    row.append(panel(`aggregate (${res.variant})`, canvas(W, H, overlay(im.aggregate, min(im.aggregate), max(im.aggregate)))));
    if (im.maps_upsampled.length) {
      // One scale for every dimension of the image, so that weak dimensions look weak.
      const hi = max(im.maps_upsampled.map(max)), lo = 0;
      const grid = document.createElement("div");
      grid.className = "grid";
      im.maps_upsampled.forEach((m, d) => grid.append(panel(`z${d} μ=${im.mu[d].toFixed(2)}`, canvas(W, H, overlay(m, lo, hi)))));
      row.append(panel(`per-dimension maps at ${res.layer} (shared scale, max ${hi.toExponential(2)})`, grid));
    }
    views.append(row);
  }
}

// Runs one explanation; returns the result object with the display-only fields removed.
async function run(model, images, layer, variant) {
  const info = JSON.parse(wasm_bindgen.load_model(model.arch, model.archName, model.weights, model.weightsName));
  const sel = $("layer");
  if (sel.options.length === 0 || [...sel.options].map((o) => o.value).join() !== info.feature_layers.join()) {
    sel.textContent = "";
    for (const l of info.feature_layers) sel.append(new Option(l, l));
    sel.value = info.default_layer;
  }
  // null: the selector's layer (the new model's default when the model changed).
  layer = layer || sel.value || info.default_layer;
  sel.value = layer;
  const t0 = performance.now();
  const res = JSON.parse(await wasm_bindgen.explain_images(images.map((i) => i.name), images.map((i) => i.bytes), layer, variant));
  const millis = performance.now() - t0;
  // The decoded input, for display: the engine returns the reconstruction only.
  const [C, H, W] = res.input_shape;
  for (let k = 0; k < res.images.length; k++) res.images[k].input = await decodeForDisplay(images[k].bytes, C, H, W);
  render(res);
  $("status").textContent = `${res.images.length} image(s), layer ${res.layer}, variant ${res.variant}: ${millis.toFixed(0)} ms on ${res.backend}` +
    (deviceInfo.gpu_error ? ` (no WebGPU: ${deviceInfo.gpu_error})` : "");
  return {
    backend: res.backend, gpu_error: deviceInfo.gpu_error, layer: res.layer, variant: res.variant,
    z_dim: res.z_dim, map_size: res.map_size, millis,
    images: res.images.map((i) => ({ name: i.name, mu: i.mu, logvar: i.logvar, alpha: i.alpha, maps: i.maps })),
  };
}
async function decodeForDisplay(bytes, C, H, W) {
  const bmp = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
  const cv = new OffscreenCanvas(W, H), ctx = cv.getContext("2d");
  ctx.drawImage(bmp, 0, 0, W, H);
  const d = ctx.getImageData(0, 0, W, H).data, out = new Float32Array(C * H * W);
  for (let i = 0; i < H * W; i++) for (let c = 0; c < C; c++) out[c * H * W + i] = (C === 1 ? (d[4 * i] + d[4 * i + 1] + d[4 * i + 2]) / 3 : d[4 * i + c]) / 255;
  return out;
}

const demoModel = () => ({ arch: VAECAM_DEMO.arch, archName: "dsprites.arch.json", weights: fromB64(VAECAM_DEMO.weights), weightsName: "dsprites.safetensors" });
const demoImages = () => VAECAM_DEMO.images.map((i) => ({ name: i.name, bytes: fromB64(i.png) }));

// GPUAdapterInfo's vendor and architecture ("google swiftshader"): wgpu cannot see them, and
// the engine picks its kernel family by them. Empty without WebGPU.
async function adapterName() {
  try {
    const a = navigator.gpu && await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
    const i = a && a.info;
    return i ? [i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(" ") : "";
  } catch (e) {
    return "";
  }
}
async function openDevice(backend) {
  const adapter = backend === "cpu" ? "" : await adapterName();
  deviceInfo = JSON.parse(await wasm_bindgen.open_device(backend, adapter, params.get("kernels") || ""));
  deviceInfo.asked = backend;
}

async function interactive() {
  let model = demoModel();
  if (document.querySelector("input[name=model]:checked").value === "files") {
    const a = $("arch-file").files[0], w = $("weights-file").files[0];
    if (!a || !w) throw new Error("pick an architecture file and a weights file");
    model = { arch: await readFile(a, "text"), archName: a.name, weights: new Uint8Array(await readFile(w)), weightsName: w.name };
  }
  let images = $("demo-images").checked ? demoImages() : [];
  for (const f of $("image-files").files) images.push({ name: f.name, bytes: new Uint8Array(await readFile(f)) });
  if (images.length === 0) throw new Error("pick one or more images");
  const backend = $("backend").value;
  if (backend !== deviceInfo.asked) await openDevice(backend);
  // The result JSON also after an interactive run (hidden), so a headless test of the file
  // pickers reads it like the query-parameter one.
  $("result").textContent = JSON.stringify(await run(model, images, null, $("variant").value));
}

async function main() {
  await wasm_bindgen({ module_or_path: fromB64(VAECAM_WASM_B64) });
  const backend = params.get("backend") || "auto";
  $("backend").value = backend === "cpu" ? "cpu" : "auto";
  await openDevice(backend);
  $("run").onclick = () => interactive().catch(fail);
  if (!params.has("arch")) return interactive();
  // Headless mode: files named in the query, next to index.html; the result goes into <pre>.
  const model = {
    arch: await readUrl(params.get("arch"), "text"), archName: params.get("arch"),
    weights: new Uint8Array(await readUrl(params.get("weights"), "arraybuffer")), weightsName: params.get("weights"),
  };
  const images = [];
  for (const name of (params.get("images") || "").split(",").filter((s) => s)) images.push({ name, bytes: new Uint8Array(await readUrl(name, "arraybuffer")) });
  $("variant").value = params.get("variant") || "paper";
  const out = await run(model, images, params.get("layer"), $("variant").value);
  $("result").textContent = JSON.stringify(out);
}
// A failure anywhere (an exception, a rejected promise, a panic in the engine, which wgpu
// raises on a WebGPU validation error) ends the run with the error on the page, so that a
// headless run reports it instead of waiting for a result that never comes.
function fail(e) {
  const msg = `${e && e.message ? e.message : e}`;
  console.error(`vaecam: ${msg}`);
  $("status").textContent = `error: ${msg}`;
  if (!$("result").textContent) $("result").textContent = JSON.stringify({ error: msg });
}
addEventListener("error", (ev) => fail(ev.error || ev.message));
addEventListener("unhandledrejection", (ev) => fail(ev.reason));
main().catch(fail);
