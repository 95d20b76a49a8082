#!/usr/bin/env bash
# Build the tablet's browser assets: install the pinned npm packages and vendor the
# socket.io client (the floor), qrcode-generator (the demo wallet's offer QR codes) and jsQR
# (the tablet reads a shopper's QR offer through the camera) into
# clienteling_ui/static/vendor/ (git-ignored), so the hub serves them itself: no CDN.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ui="$root/clienteling_ui"
vendor="$ui/static/vendor"

if ! command -v npm >/dev/null 2>&1; then
    echo "build_ui: npm not found; install Node.js 18+ first" >&2
    exit 1
fi

# npm ci installs exactly what package-lock.json says and fails if it disagrees with package.json.
(cd "$ui" && npm ci --no-audit --no-fund --ignore-scripts)

dist="$ui/node_modules/socket.io-client/dist"
mkdir -p "$vendor"
for file in socket.io.esm.min.js socket.io.esm.min.js.map; do
    if [[ -f "$dist/$file" ]]; then
        cp "$dist/$file" "$vendor/$file"
    fi
done
if [[ ! -s "$vendor/socket.io.esm.min.js" ]]; then
    echo "build_ui: $dist/socket.io.esm.min.js is missing; is socket.io-client 4.x installed?" >&2
    exit 1
fi
qr="$ui/node_modules/qrcode-generator/dist/qrcode.mjs"
if [[ ! -s "$qr" ]]; then
    echo "build_ui: $qr is missing; is qrcode-generator 2.x installed?" >&2
    exit 1
fi
cp "$qr" "$vendor/qrcode-generator.mjs"
jsqr="$ui/node_modules/jsqr/dist/jsQR.js"
if [[ ! -s "$jsqr" ]]; then
    echo "build_ui: $jsqr is missing; is jsqr 1.x installed?" >&2
    exit 1
fi
cp "$jsqr" "$vendor/jsQR.js"
echo "build_ui: vendored jsqr $(node -p "require('$ui/node_modules/jsqr/package.json').version") into ${vendor#"$root"/}"
echo "build_ui: vendored qrcode-generator $(node -p "require('$ui/node_modules/qrcode-generator/package.json').version") into ${vendor#"$root"/}"
echo "build_ui: vendored socket.io-client $(node -p "require('$ui/node_modules/socket.io-client/package.json').version") into ${vendor#"$root"/}"
