from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from store_hub.config import ConfigError, HubConfig, fusion_settings, load_config
from store_hub.domain.fusion import FusionSettings


def test_defaults_run_the_demo_store() -> None:
    config = load_config(environ={})
    assert config == HubConfig()
    assert config.database_url.startswith("sqlite:///")
    assert config.mqtt_protocol == "3.1.1"


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text('store_id = "s001"\nhttp_port = 9000\nclock_start = 2026-11-24T10:00:00Z\n')
    config = load_config(path, environ={"STORE_HUB_HTTP_PORT": "9100", "OTHER": "x"})
    assert (config.store_id, config.http_port) == ("s001", 9100)
    assert config.clock_start == datetime(2026, 11, 24, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http_port = 70000", "http_port must be a whole number between 1 and 65535"),
        ('http_port = "x"', "set it like: http_port = 8000"),
        ("away_timeout_s = true", "away_timeout_s must be a number"),
        ('broker_url = "tcp://x"', "broker_url must be a URL starting with mqtt:// or mqtts://"),
        ('mqtt_protocol = "3"', "mqtt_protocol must be one of '3.1.1', '5'"),
        ("reentry_window_s = -1", "reentry_window_s must be a number between 0 and 3600"),
        ("zone_margin_db = -1", "zone_margin_db must be a number between 0 and 30"),
        ("zone_hold_s = 61", "zone_hold_s must be a number between 0 and 60"),
        ("arrive_inside = 1.5", "arrive_inside must be a number between 0.1 and 1"),
        ("reading_stale_after_s = 1", "reading_stale_after_s must be a number between 2 and 600"),
        ("dwell_thresholds_s = [60, 0]", "dwell_thresholds_s must be a list of seconds"),
        ('dwell_thresholds_s = "soon"', "set it like: dwell_thresholds_s = [60, 300, 900]"),
        ("it_api_key = 42", "it_api_key must be a string"),
        ('push_subject = "ops@shop"', "push_subject must be mailto:someone@example.com or"),
        ('clock_start = "2026-11-24T10:00:00"', "clock_start must include a time zone"),
        ('stor_id = "s1"', "unknown key 'stor_id'"),
        ("store_id = [", "is not valid TOML"),
    ],
)
def test_errors_name_the_key_and_the_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_environment_errors_say_where(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"environment \(STORE_HUB_\*\): commerce_timeout_s"):
        load_config(environ={"STORE_HUB_COMMERCE_TIMEOUT_S": "0"})


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_it_key_and_reentry_window(tmp_path: Path) -> None:
    assert (HubConfig().it_api_key, HubConfig().reentry_window_s) == (None, 120.0)
    path = tmp_path / "hub.toml"
    path.write_text('it_api_key = "it-secret"\nreentry_window_s = 0\n')
    config = load_config(path, environ={"STORE_HUB_REENTRY_WINDOW_S": "300"})
    assert (config.it_api_key, config.reentry_window_s) == ("it-secret", 300.0)


def test_the_sample_config_is_valid() -> None:
    sample = Path(__file__).resolve().parents[2] / "deploy" / "hub" / "hub.sample.toml"
    config = load_config(sample, environ={})
    assert config.it_api_key == "CHANGE-ME"
    assert config.reentry_window_s == 120
    assert config.dwell_thresholds_s == (60.0, 300.0, 900.0)
    assert fusion_settings(config) == FusionSettings()


def test_fusion_keys_default_to_the_fusion_defaults_and_can_be_set(tmp_path: Path) -> None:
    assert fusion_settings(HubConfig()) == FusionSettings()
    path = tmp_path / "hub.toml"
    path.write_text(
        "zone_margin_db = 8\nzone_hold_s = 3\nreading_stale_after_s = 10\n"
        "away_timeout_s = 120\ndwell_thresholds_s = [300, 60]\narrive_inside = 0.6\n"
    )
    config = load_config(path, environ={"STORE_HUB_DWELL_THRESHOLDS_S": "30, 120"})
    settings = fusion_settings(config)
    assert (settings.margin_db, settings.hold_s, settings.stale_after_s) == (8.0, 3.0, 10.0)
    assert settings.away_timeout_s == 120.0
    assert settings.arrive_inside == 0.6
    assert settings.dwell_for("any-zone") == (30.0, 120.0)
    # A margin above the default clear lead raises the clear lead with it.
    assert settings.clear_margin_db == 8.0
    assert load_config(path, environ={}).dwell_thresholds_s == (60.0, 300.0)


def test_readings_never_outlive_the_away_timeout() -> None:
    config = load_config(environ={"STORE_HUB_AWAY_TIMEOUT_S": "5"})
    assert config.reading_stale_after_s == 6.0
    assert fusion_settings(config).stale_after_s == 5.0


def test_secrets_stay_out_of_the_config_repr() -> None:
    config = HubConfig().with_overrides(
        mqtt_password="mqtt-pw-123",
        enroll_api_key="enroll-key-456",
        it_api_key="it-key-789",
        pos_api_key="pos-key-012",
    )
    shown = repr(config)
    for secret in ("mqtt-pw-123", "enroll-key-456", "it-key-789", "pos-key-012"):
        assert secret not in shown
    assert "store_id='s042'" in shown
