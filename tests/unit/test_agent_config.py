from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from beacon_agent.config import AgentConfig, ConfigError, load_config, parse_remote


def test_defaults_are_the_demo_door_agent() -> None:
    config = load_config(environ={})
    assert config == AgentConfig()
    assert (config.store_id, config.agent_id) == ("s042", "door-1")
    assert config.mqtt_protocol == "3.1.1"
    assert config.report_interval_s == 1.0
    assert config.away_timeout_s == 90.0
    assert config.scan_mode == "active"
    assert config.spool_path == "var/agent/spool.db"
    assert config.ibeacon_proximity_uuid is None


def test_the_shipped_sample_config_is_valid_and_hides_the_password() -> None:
    sample = Path(__file__).resolve().parents[2] / "deploy" / "agent" / "agent.sample.toml"
    config = load_config(sample, environ={})
    assert config.broker_url.startswith("mqtts://")
    assert config.password == "change-me"
    assert "change-me" not in repr(config)


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(
        'store_id = "s001"\nagent_id = "fit-2"\naway_timeout_s = 120\n'
        'ibeacon_uuid = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E"\n'
    )
    config = load_config(
        path,
        environ={"BEACON_AGENT_AWAY_TIMEOUT_S": "60", "BEACON_AGENT_ZONE": "fitting", "X": "1"},
    )
    assert (config.store_id, config.agent_id, config.zone) == ("s001", "fit-2", "fitting")
    assert config.away_timeout_s == 60.0
    assert config.ibeacon_proximity_uuid == uuid.UUID("f7826da6-4fa2-4e98-8024-bc5b71e0893e")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('store_id = "s/42"', "store_id must be 1-64 letters, digits"),
        ('agent_id = "door+1"', 'set it like: agent_id = "door-1"'),
        ('broker_url = "tcp://hub:1883"', "broker_url must be a URL like mqtt://host:1883"),
        ('mqtt_protocol = "3"', "mqtt_protocol must be one of '3.1.1', '5'"),
        ("report_interval_s = 0", "report_interval_s must be a number between 0.1 and 60"),
        ("away_timeout_s = true", "away_timeout_s must be a number"),
        ("min_samples = 2.5", "min_samples must be a whole number"),
        ('scan_mode = "loud"', "scan_mode must be one of 'active', 'passive'"),
        ('adapter = "bt0"', "adapter must be a BlueZ adapter name like 'hci0'"),
        ('ibeacon_uuid = "retail"', "ibeacon_uuid must be a UUID"),
        ("reference_rssi_1m = 5", "reference_rssi_1m must be a number between -100 and -20"),
        (
            'send_levels = "yes"',
            "send_levels must be true or false (got 'yes'); set it like: send_levels = true",
        ),
        ("send_levels = 1", "send_levels must be true or false"),
        ('stor_id = "s1"', "unknown key 'stor_id'"),
        ("store_id = [", "is not valid TOML"),
    ],
)
def test_errors_name_the_key_and_the_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_environment_errors_say_where() -> None:
    with pytest.raises(ConfigError, match=r"environment \(BEACON_AGENT_\*\): spool_max_bytes"):
        load_config(environ={"BEACON_AGENT_SPOOL_MAX_BYTES": "ten"})


def test_missing_file_is_named_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist; copy deploy/agent/agent.sample.toml"):
        load_config(tmp_path / "nope.toml", environ={})


def test_tls_client_certificate_needs_its_key_and_a_tls_broker(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('broker_url = "mqtts://hub:8883"\ntls_cert = "/etc/a.pem"\n')
    with pytest.raises(ConfigError, match="tls_cert and tls_key go together"):
        load_config(path, environ={})
    path.write_text('tls_ca = "/etc/ca.pem"\n')
    with pytest.raises(ConfigError, match='broker_url = "mqtts://'):
        load_config(path, environ={})


def test_hub_pushed_config_takes_only_its_keys_and_validates_them() -> None:
    values = parse_remote(
        {"v": 1, "zone": "till", "calibration_offset_db": -3, "future_key": 1, "store_id": "x"}
    )
    assert values == {"zone": "till", "calibration_offset_db": -3.0, "send_levels": False}
    with pytest.raises(ConfigError, match="config message: report_interval_s must be a number"):
        parse_remote({"report_interval_s": "fast"})
    with pytest.raises(ConfigError, match="must be a JSON object"):
        parse_remote(["zone"])
    with pytest.raises(ConfigError, match="unsupported version"):
        parse_remote({"v": 2, "zone": "till"})


def test_send_levels_is_off_by_default_and_set_by_file_or_environment(tmp_path: Path) -> None:
    assert AgentConfig().send_levels is False
    path = tmp_path / "agent.toml"
    path.write_text("send_levels = true\n")
    assert load_config(path, environ={}).send_levels is True
    off = load_config(path, environ={"BEACON_AGENT_SEND_LEVELS": "False"})
    assert off.send_levels is False
    with pytest.raises(ConfigError, match=r"environment .*send_levels must be true or false"):
        load_config(environ={"BEACON_AGENT_SEND_LEVELS": "1"})


def test_the_hub_turns_levels_on_and_a_config_without_the_key_turns_them_off() -> None:
    assert parse_remote({"v": 1, "send_levels": True})["send_levels"] is True
    # A hub that does not know the key cannot read levels: its config means "off".
    assert parse_remote({"v": 1, "zone": "till"})["send_levels"] is False
    with pytest.raises(ConfigError) as error:
        parse_remote({"v": 1, "send_levels": "on"})
    assert str(error.value) == (
        "config error in config message: send_levels must be true or false (got 'on'); "
        "set it like: send_levels = true"
    )
    with pytest.raises(ConfigError, match="send_levels must be true or false"):
        parse_remote({"v": 1, "send_levels": None})
