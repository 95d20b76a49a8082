"""`beacon-agent doctor`: probe the device's set-up and give plain-language verdicts.

Each check is a probe (run a tool, look at a file, connect to the broker) followed by a pure
verdict function that turns what was found into a `Check`; the verdicts are unit-tested alone.
"""

from __future__ import annotations

import grp
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from beacon_agent.config import AgentConfig
from beacon_agent.sources import AdapterUnavailable, check_adapter
from beacon_agent.spool import Spool, SpoolError


@dataclass(frozen=True)
class Check:
    """One doctor verdict: ok True (pass), False (fail) or None (cannot tell)."""

    name: str
    ok: bool | None
    detail: str


# --- verdicts (pure) ---------------------------------------------------------------------


def bluez_verdict(version_output: str | None, scan_mode: str) -> Check:
    """Verdict on `bluetoothctl --version` output (None: the tool is not installed)."""
    if version_output is None:
        return Check(
            "BlueZ", False, "bluetoothctl not found: install bluez (apt-get install bluez)"
        )
    version = version_output.strip().split()[-1] if version_output.strip() else "unknown"
    detail = f"BlueZ {version}"
    if scan_mode == "passive":
        detail += "; passive scanning needs BlueZ >= 5.56 started with --experimental"
    return Check("BlueZ", True, detail)


def permissions_verdict(
    bus_exists: bool, is_root: bool, bluetooth_gid: int | None, groups: Iterable[int]
) -> Check:
    """Verdict on D-Bus presence and whether this user may talk to BlueZ."""
    if not bus_exists:
        return Check(
            "D-Bus",
            False,
            "/run/dbus/system_bus_socket is missing: the system D-Bus (and BlueZ) is not running",
        )
    if is_root:
        return Check("Permissions", True, "running as root (the service runs as beacon-agent)")
    if bluetooth_gid is None:
        return Check("Permissions", None, "no 'bluetooth' group here; BlueZ's D-Bus policy decides")
    if bluetooth_gid in set(groups):
        return Check("Permissions", True, "this user is in the 'bluetooth' group")
    return Check(
        "Permissions",
        False,
        "this user is not in the 'bluetooth' group: sudo usermod -aG bluetooth $USER "
        "(or run as the beacon-agent service user)",
    )


def broker_verdict(name: str, reason: str | None, timeout: float) -> Check:
    """Verdict on the broker's CONNACK reason (None: no answer within `timeout`)."""
    if reason is None:
        return Check(name, False, f"no answer within {timeout:.0f} s")
    if reason != "Success":
        return Check(name, False, f"refused: {reason} (check username/password/certificates)")
    return Check(name, True, "connected with these credentials")


def clock_verdict(synchronised: str | None, returncode: int) -> Check:
    """Verdict on `timedatectl show -p NTPSynchronized --value` (None: no timedatectl)."""
    if synchronised is None:
        return Check(
            "Clock",
            None,
            "cannot tell (no timedatectl); MQTT carries no time, so run NTP (chrony or "
            "systemd-timesyncd); the hub also reports each agent's clock offset",
        )
    if synchronised.strip() == "yes":
        return Check("Clock", True, "synchronised by NTP")
    if returncode != 0:
        return Check("Clock", None, "timedatectl cannot tell (no systemd here?); run NTP")
    return Check("Clock", False, "not synchronised: sudo timedatectl set-ntp true")


def summary(checks: Iterable[Check]) -> tuple[list[str], bool]:
    """The lines doctor prints, and whether every check passed (a '??' is not a failure)."""
    lines: list[str] = []
    failures = 0
    for check in checks:
        mark = {True: " OK ", False: "FAIL", None: " ?? "}[check.ok]
        lines.append(f"[{mark}] {check.name}: {check.detail}")
        failures += check.ok is False
    lines.append(
        "All checks passed."
        if not failures
        else f"{failures} check(s) failed: fix them (see above) and run doctor again."
    )
    return lines, not failures


# --- probes ------------------------------------------------------------------------------


def check_adapter_present(config: AgentConfig) -> Check:
    """Is the configured Bluetooth adapter there?"""
    try:
        check_adapter(config.adapter)
    except AdapterUnavailable as exc:
        return Check("Bluetooth adapter", False, str(exc))
    return Check("Bluetooth adapter", True, f"{config.adapter} is present")


def check_bluez(config: AgentConfig) -> Check:
    """Is BlueZ installed, and which version?"""
    tool = shutil.which("bluetoothctl")
    if tool is None:
        return bluez_verdict(None, config.scan_mode)
    try:
        result = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("BlueZ", None, f"could not run bluetoothctl --version: {exc}")
    return bluez_verdict(result.stdout, config.scan_mode)


def check_permissions(config: AgentConfig) -> Check:
    """Is the system D-Bus there, and may this user use BlueZ?"""
    try:
        gid: int | None = grp.getgrnam("bluetooth").gr_gid
    except KeyError:
        gid = None
    return permissions_verdict(
        Path("/run/dbus/system_bus_socket").exists(), os.geteuid() == 0, gid, os.getgroups()
    )


def check_broker(config: AgentConfig, timeout: float) -> Check:
    """Does the broker accept a connection with these credentials?"""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from beacon_agent.mqtt_session import BrokerAddress

    address = BrokerAddress.parse(config.broker_url)
    name = f"Broker {address.host}:{address.port}"
    # A throwaway clean session under its own id: never disturbs the running agent's session.
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"beacon-agent-doctor-{config.agent_id}-{os.getpid()}",
        protocol=mqtt.MQTTv5 if config.mqtt_protocol == "5" else mqtt.MQTTv311,
    )
    if config.username:
        client.username_pw_set(config.username, config.password)
    outcome: list[str] = []
    done = threading.Event()

    def on_connect(*callback_args: object) -> None:
        outcome.append(str(callback_args[3]))
        done.set()

    client.on_connect = on_connect
    try:
        if address.tls:
            client.tls_set(ca_certs=config.tls_ca, certfile=config.tls_cert, keyfile=config.tls_key)
        client.connect_timeout = timeout
        client.connect(address.host, address.port, keepalive=int(max(5, timeout)))
    except (OSError, ValueError) as exc:
        return Check(name, False, f"cannot connect: {exc} (is the broker running and reachable?)")
    client.loop_start()
    try:
        done.wait(timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    return broker_verdict(name, outcome[0] if outcome else None, timeout)


def check_clock() -> Check:
    """Is the clock synchronised by NTP?"""
    tool = shutil.which("timedatectl")
    if tool is None:
        return clock_verdict(None, 0)
    try:
        result = subprocess.run(
            [tool, "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("Clock", None, f"could not ask timedatectl: {exc}")
    return clock_verdict(result.stdout, result.returncode)


def check_spool(config: AgentConfig) -> Check:
    """Can the spool be opened and written?"""
    try:
        spool = Spool(Path(config.spool_path), config.spool_max_bytes)
        try:
            spool.check_writable()
            depth, dropped = spool.depth(), spool.dropped()
        finally:
            spool.close()
    except SpoolError as exc:
        return Check("Spool", False, f"{exc}; make its directory writable by the agent's user")
    return Check(
        "Spool", True, f"{config.spool_path} is writable; {depth} waiting, {dropped} ever dropped"
    )


def check_state(config: AgentConfig) -> Check:
    """Can the hub's pushed config be saved?"""
    folder = Path(config.state_path).resolve().parent
    while not folder.exists():
        folder = folder.parent
    if os.access(folder, os.W_OK):
        return Check("State file", True, f"{config.state_path} can be written")
    return Check("State file", False, f"{folder} is not writable: the hub's config cannot be kept")


def run_checks(config: AgentConfig, broker_timeout: float = 5.0) -> list[Check]:
    """Every doctor check, in the order a technician would fix them."""
    return [
        check_adapter_present(config),
        check_bluez(config),
        check_permissions(config),
        check_broker(config, broker_timeout),
        check_clock(),
        check_spool(config),
        check_state(config),
    ]
