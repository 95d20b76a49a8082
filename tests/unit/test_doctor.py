"""`beacon-agent doctor`: verdicts on what the probes found, and the probes that need no radio."""

from __future__ import annotations

from pathlib import Path

import pytest

from beacon_agent import cli
from beacon_agent.config import AgentConfig
from beacon_agent.doctor import (
    Check,
    bluez_verdict,
    broker_verdict,
    check_broker,
    check_spool,
    check_state,
    clock_verdict,
    permissions_verdict,
    summary,
)
from tests.fixtures.mosquitto import Broker, free_port


def test_bluez_verdicts() -> None:
    assert bluez_verdict(None, "active").ok is False
    assert "apt-get install bluez" in bluez_verdict(None, "active").detail
    assert bluez_verdict("bluetoothctl: 5.66\n", "active") == Check("BlueZ", True, "BlueZ 5.66")
    passive = bluez_verdict("bluetoothctl: 5.55", "passive")
    assert passive.ok is True and "--experimental" in passive.detail


def test_permission_verdicts() -> None:
    assert permissions_verdict(False, True, 112, []).name == "D-Bus"
    assert permissions_verdict(False, True, 112, []).ok is False
    assert permissions_verdict(True, True, None, []).ok is True
    assert permissions_verdict(True, False, None, [1000]).ok is None
    assert permissions_verdict(True, False, 112, [1000, 112]).ok is True
    refused = permissions_verdict(True, False, 112, [1000])
    assert refused.ok is False and "usermod -aG bluetooth" in refused.detail


def test_broker_and_clock_verdicts() -> None:
    assert broker_verdict("Broker h:1", None, 5).detail == "no answer within 5 s"
    refused = broker_verdict("Broker h:1", "Not authorized", 5)
    assert refused.ok is False and "check username/password" in refused.detail
    assert broker_verdict("Broker h:1", "Success", 5).ok is True
    assert clock_verdict(None, 0).ok is None
    assert clock_verdict("yes\n", 0).ok is True
    assert clock_verdict("no\n", 0) == Check(
        "Clock", False, "not synchronised: sudo timedatectl set-ntp true"
    )
    assert clock_verdict("", 1).ok is None


def test_summary_fails_on_a_failure_but_not_on_an_unknown() -> None:
    lines, passed = summary([Check("A", True, "fine"), Check("B", None, "cannot tell")])
    assert passed
    assert lines == ["[ OK ] A: fine", "[ ?? ] B: cannot tell", "All checks passed."]
    lines, passed = summary([Check("A", False, "broken"), Check("B", False, "also")])
    assert not passed
    assert lines[-1] == "2 check(s) failed: fix them (see above) and run doctor again."


def config(tmp_path: Path, **values: object) -> AgentConfig:
    paths = {"spool_path": str(tmp_path / "spool.db"), "state_path": str(tmp_path / "state.json")}
    return AgentConfig().with_overrides(**{**paths, **values})


def test_broker_probe_against_a_real_broker_and_a_closed_port(
    mosquitto: Broker, tmp_path: Path
) -> None:
    assert check_broker(config(tmp_path, broker_url=mosquitto.url), 5).ok is True
    closed = check_broker(config(tmp_path, broker_url=f"mqtt://127.0.0.1:{free_port()}"), 2)
    assert closed.ok is False and "cannot connect" in closed.detail


def test_spool_and_state_probes(tmp_path: Path) -> None:
    assert check_spool(config(tmp_path)).ok is True
    assert check_state(config(tmp_path)).ok is True
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert check_spool(config(tmp_path, spool_path=str(blocked / "spool.db"))).ok is False


def test_doctor_command_prints_verdicts_and_fails_without_an_adapter(
    mosquitto: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(
        f'broker_url = "{mosquitto.url}"\nadapter = "hci7"\n'
        f'spool_path = "{tmp_path / "spool.db"}"\nstate_path = "{tmp_path / "state.json"}"\n'
    )
    assert cli.main(["doctor", "--config", str(path), "--timeout", "3"]) == cli.EXIT_FAILED
    out = capsys.readouterr().out
    assert "[FAIL] Bluetooth adapter: no Bluetooth adapter hci7 found" in out
    assert f"[ OK ] Broker 127.0.0.1:{mosquitto.port}: connected with these credentials" in out
    assert "[ OK ] Spool:" in out
    assert "check(s) failed" in out
