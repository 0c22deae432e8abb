#!/usr/bin/env bash
# Build serversim's web page into target/web/: index.html, serversim.js (the glue) and
# serversim_bg.wasm — a static folder any static host serves as it is (GitHub Pages, a USB
# stick). Installs what it needs: the wasm32 target (rustup) and wasm-bindgen's command line at
# the version Cargo.lock holds (crates.io).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi
# The command line must be the library's version exactly.
version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $version"; then
    echo "web-build: installing wasm-bindgen-cli $version" >&2
    cargo install wasm-bindgen-cli --version "$version"
fi

# WEB_PROFILE=web: with whole-program optimisation (smaller, slower: docs/performance.md).
profile=${WEB_PROFILE:-release}
cargo build --profile "$profile" --target wasm32-unknown-unknown -p serversim-web
out=target/web
rm -rf "$out"
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name serversim \
    "target/wasm32-unknown-unknown/$profile/serversim-web.wasm"
cp web/index.html "$out/"
raw=$(stat -c %s "$out/serversim_bg.wasm")
gz=$(gzip -9 -c "$out/serversim_bg.wasm" | wc -c)
echo "web-build: $out/ ready; serversim_bg.wasm is $raw bytes ($gz gzip-compressed)" >&2
