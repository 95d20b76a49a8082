#!/usr/bin/env bash
# Build the tablet's browser assets: install the pinned npm packages and vendor the
# socket.io client (the floor) and qrcode-generator (the demo wallet's offer QR codes) into
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
echo "build_ui: vendored qrcode-generator $(node -p "require('$ui/node_modules/qrcode-generator/package.json').version") into ${vendor#"$root"/}"
echo "build_ui: vendored socket.io-client $(node -p "require('$ui/node_modules/socket.io-client/package.json').version") into ${vendor#"$root"/}"
