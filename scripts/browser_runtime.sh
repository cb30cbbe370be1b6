#!/usr/bin/env bash
# Fetch the pinned onnxruntime-web into static/ort/, which Streamlit serves at /app/static/ort/:
# the browser decodes slider codes with it, offline. Fetched, not committed: its 14 MB
# WebAssembly binary would sit in every clone's history once per version. npm is reachable
# wherever setup runs (here and in CI); the tarball's SHA-512 must equal the pinned integrity.
# Without npm, or on a mismatch, the app still works: the pages decode on the server instead.
set -euo pipefail
cd "$(dirname "$0")/.."
version="1.30.0"
integrity="sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
target="static/ort"
files=(ort.wasm.bundle.min.mjs ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm)
stamp="$version ${files[*]}"  # a changed file list installs again
# The WebAssembly binary also stored gzipped: Streamlit would gzip the plain file again for every
# visitor (0.43 CPU-s each); static/latent_lab/decoder.mjs fetches this copy and unpacks it.
pack_wasm() {
    local wasm="$target/ort-wasm-simd-threaded.wasm"
    if [ -f "$wasm" ] && [ ! -f "$wasm.gz" ]; then
        gzip -9 -c "$wasm" > "$wasm.gz.tmp" && mv "$wasm.gz.tmp" "$wasm.gz"
    fi
}
if [ "$(cat "$target/VERSION" 2>/dev/null)" = "$stamp" ]; then
    pack_wasm
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: the browser decoder's runtime is not installed; pages decode on the server" >&2
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if ! npm pack --silent --pack-destination "$work" "onnxruntime-web@$version" >/dev/null 2>"$work/npm.log"; then
    echo "npm pack onnxruntime-web@$version failed: pages decode on the server" >&2
    tail -3 "$work/npm.log" >&2
    exit 0
fi
tarball="$work/onnxruntime-web-$version.tgz"
actual="sha512-$(python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tarball")"
if [ "$actual" != "$integrity" ]; then
    echo "onnxruntime-web@$version does not match its pinned integrity hash: not installed" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$work" package/package.json "${files[@]/#/package/dist/}"
rm -rf "$target.new"
mkdir -p "$target.new"
cp "$work/package/package.json" "${files[@]/#/$work/package/dist/}" "$target.new/"
echo "onnxruntime-web $version, MIT licence (package.json), from the npm registry" > "$target.new/NOTICE"
echo "$stamp" > "$target.new/VERSION"
rm -rf "$target"
mv "$target.new" "$target"
pack_wasm
echo "installed onnxruntime-web $version in $target"
