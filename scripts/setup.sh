#!/usr/bin/env bash
# Set up a checkout: system packages (when root), the virtualenv, and the tablet's npm assets.
# Usage: scripts/setup.sh [demo|test]   (test also installs the test tools and services)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-demo}"

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
if [ "$mode" = test ]; then
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_apt+=(postgresql)
  command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    # The Debian package starts a system mosquitto on :1883; the tests start their own.
    if [[ " ${need_apt[*]} " == *" mosquitto "* ]]; then
      (service mosquitto stop || true) >/dev/null 2>&1
    fi
  else
    echo "setup: please install these Debian packages (as root): ${need_apt[*]}" >&2
    exit 1
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "$mode" = test ]; then
  .venv/bin/python -m pip install -q -e '.[dev]'
else
  .venv/bin/python -m pip install -q -e '.[hub,agent]'
fi
bash scripts/build_ui.sh
