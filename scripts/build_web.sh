#!/usr/bin/env bash
# Builds the browser page into web/dist/: the vaecam-web crate for wasm32-unknown-unknown,
# its JS glue (wasm-bindgen, "no-modules" so that the page also runs from file://), the wasm
# and the bundled demo embedded as base64 scripts, and the static files.
# Needs: rustup target add wasm32-unknown-unknown; cargo install wasm-bindgen-cli --version
# matching the wasm-bindgen crate in Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "build_web.sh: wasm-bindgen-cli $want is needed (found: ${have:-none}); run: cargo install wasm-bindgen-cli --version $want" >&2
  exit 1
fi
cargo build --release --target wasm32-unknown-unknown -p vaecam-web
dist=web/dist
rm -rf "$dist" && mkdir -p "$dist/demo"
wasm-bindgen --target no-modules --no-typescript --out-dir "$dist" \
  target/wasm32-unknown-unknown/release/vaecam_web.wasm
cp web/index.html web/app.js web/style.css "$dist/"
cp web/demo/* "$dist/demo/"
b64() { base64 -w0 "$1"; }
{ printf 'self.VAECAM_WASM_B64 = "'; b64 "$dist/vaecam_web_bg.wasm"; printf '";\n'; } > "$dist/wasm_inline.js"
{
  printf 'self.VAECAM_DEMO = {\n  arch: %s,\n' "$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' web/demo/dsprites.arch.json)"
  printf '  weights: "'; b64 web/demo/dsprites.safetensors; printf '",\n  images: [\n'
  for f in web/demo/*.png; do printf '    { name: "%s", png: "' "$(basename "$f")"; b64 "$f"; printf '" },\n'; done
  printf '  ],\n};\n'
} > "$dist/demo.js"
echo "built $dist/ ($(du -sh "$dist" | cut -f1)); open $dist/index.html"
