#!/usr/bin/env bash
# The demo store on embedded defaults: set up, then run `store-hub demo` (Ctrl-C to stop).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
exec .venv/bin/store-hub demo "$@"
