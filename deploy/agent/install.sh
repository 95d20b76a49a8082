#!/bin/sh
# Install beacon-agent on a store device (Debian/Ubuntu/Raspberry Pi OS), as root:
#   sudo deploy/agent/install.sh [WHEEL_OR_PATH]
# WHEEL_OR_PATH is a built wheel (instore_proximity-*.whl) or a source checkout (default: this
# repository). Re-running it upgrades the agent and keeps an existing config.
set -eu

SOURCE="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
PREFIX=/opt/beacon-agent
CONFIG_DIR=/etc/beacon-agent
STATE_DIR=/var/lib/beacon-agent
HERE="$(cd "$(dirname "$0")" && pwd)"

if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (sudo)" >&2
    exit 1
fi

# BlueZ and a Python with venv; the agent talks to BlueZ over the system D-Bus.
if command -v apt-get >/dev/null 2>&1; then
    apt-get install -y --no-install-recommends bluez python3-venv
fi

# A dedicated system user, in the bluetooth group (BlueZ's D-Bus policy allows that group).
getent group bluetooth >/dev/null || groupadd --system bluetooth
if ! id beacon-agent >/dev/null 2>&1; then
    useradd --system --home-dir "$STATE_DIR" --shell /usr/sbin/nologin \
        --groups bluetooth beacon-agent
fi

python3 -m venv "$PREFIX/venv"
"$PREFIX/venv/bin/pip" install --upgrade pip
"$PREFIX/venv/bin/pip" install --upgrade "${SOURCE}[agent]"

install -d -m 0750 -o root -g beacon-agent "$CONFIG_DIR"
if [ ! -e "$CONFIG_DIR/agent.toml" ]; then
    # The config holds the broker password: readable by the agent, not by everyone.
    install -m 0640 -o root -g beacon-agent "$HERE/agent.sample.toml" "$CONFIG_DIR/agent.toml"
    echo "Edit $CONFIG_DIR/agent.toml (store_id, agent_id, broker_url, credentials)."
fi
install -d -m 0700 -o beacon-agent -g beacon-agent "$STATE_DIR"
install -m 0644 "$HERE/beacon-agent.service" /etc/systemd/system/beacon-agent.service

systemctl daemon-reload
systemctl enable beacon-agent.service
echo "Check the set-up with:"
echo "  sudo -u beacon-agent $PREFIX/venv/bin/beacon-agent doctor --config $CONFIG_DIR/agent.toml"
echo "then start it:  systemctl start beacon-agent"
