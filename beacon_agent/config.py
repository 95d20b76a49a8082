"""Agent configuration: embedded defaults, a TOML file, then BEACON_AGENT_* environment overrides.

Every error names the key, what was wrong and how to fix it, because the person reading it is
an IT technician at a store, not the author of this file. The hub may push a few keys at run
time over MQTT (`REMOTE_KEYS`); those are validated by the same parsers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from beacon_agent.mqtt_session import BrokerAddress
from beacon_agent.protocol import TopicError, _check_id

# ConfigError is re-exported: callers catch it as this module's.
from beacon_agent.settings import ConfigError as ConfigError
from beacon_agent.settings import (
    choice,
    load_layers,
    number,
    optional_number,
    optional_text,
    parse_values,
    spec,
    text,
)
from beacon_agent.settings import example as settings_example

ENV_PREFIX = "BEACON_AGENT_"
# What the hub may change at run time through the retained config topic.
REMOTE_KEYS = ("zone", "calibration_offset_db", "report_interval_s", "send_levels")


_number = number
_optional_number = optional_number
_text = text
_optional_text = optional_text
_choice = choice
_spec = spec  # the field declarations below read better with these short names


def _topic_id(kind: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        try:
            return _check_id(kind, _text(value))
        except TopicError:
            raise ValueError(
                "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
            ) from None

    return check


def _broker_url(value: Any) -> str:
    text = _text(value)
    try:
        BrokerAddress.parse(text)
    except ValueError:
        raise ValueError("must be a URL like mqtt://host:1883 or mqtts://host:8883") from None
    return text


def _uuid(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return str(uuid.UUID(_text(value)))
    except ValueError:
        raise ValueError("must be a UUID like 'f7826da6-4fa2-4e98-8024-bc5b71e0893e'") from None


def _flag(value: Any) -> bool:
    # TOML and JSON carry real booleans; an environment variable can only carry text.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError("must be true or false")


def _adapter(value: Any) -> str:
    text = _text(value)
    if not (text.startswith("hci") and text[3:].isdigit()):
        raise ValueError(
            "must be a BlueZ adapter name like 'hci0' (see `hciconfig` or `btmgmt info`)"
        )
    return text


@dataclass(frozen=True)
class AgentConfig:
    """Everything one store device needs; the defaults match the demo store's door agent."""

    store_id: str = _spec("s042", _topic_id("store_id"), 'store_id = "s042"')
    agent_id: str = _spec("door-1", _topic_id("agent_id"), 'agent_id = "door-1"')
    broker_url: str = _spec(
        "mqtt://127.0.0.1:1883", _broker_url, 'broker_url = "mqtts://hub.store.local:8883"'
    )
    mqtt_protocol: str = _spec("3.1.1", _choice("3.1.1", "5"), 'mqtt_protocol = "3.1.1"')
    username: str | None = _spec(None, _optional_text, 'username = "door-1"')
    password: str | None = _spec(None, _optional_text, 'password = "..."', secret=True)
    tls_ca: str | None = _spec(None, _optional_text, 'tls_ca = "/etc/beacon-agent/ca.pem"')
    tls_cert: str | None = _spec(None, _optional_text, 'tls_cert = "/etc/beacon-agent/agent.pem"')
    tls_key: str | None = _spec(None, _optional_text, 'tls_key = "/etc/beacon-agent/agent.key"')
    topic_root: str = _spec("", _text, 'topic_root = "retail"')
    zone: str | None = _spec(None, _optional_text, 'zone = "entrance"')
    report_interval_s: float = _spec(1.0, _number(float, 0.1, 60), "report_interval_s = 1.0")
    status_interval_s: float = _spec(30.0, _number(float, 1, 3600), "status_interval_s = 30")
    away_timeout_s: float = _spec(90.0, _number(float, 1, 3600), "away_timeout_s = 90")
    debounce_s: float = _spec(2.0, _number(float, 0, 60), "debounce_s = 2.0")
    min_samples: int = _spec(3, _number(int, 1, 100), "min_samples = 3")
    calibration_offset_db: float = _spec(
        0.0, _number(float, -40, 40), "calibration_offset_db = -3.5"
    )
    send_levels: bool = _spec(False, _flag, "send_levels = true")
    reference_rssi_1m: float | None = _spec(
        None,
        _optional_number(-100, -20),
        "reference_rssi_1m = -61  # from `beacon-agent calibrate`",
    )
    path_loss_exponent: float = _spec(2.0, _number(float, 1, 6), "path_loss_exponent = 2.0")
    ibeacon_uuid: str | None = _spec(
        None, _uuid, 'ibeacon_uuid = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"'
    )
    scan_mode: str = _spec("active", _choice("active", "passive"), 'scan_mode = "active"')
    adapter: str = _spec("hci0", _adapter, 'adapter = "hci0"')
    watchdog_silence_s: float = _spec(60.0, _number(float, 5, 3600), "watchdog_silence_s = 60")
    spool_path: str = _spec(
        "var/agent/spool.db", _text, 'spool_path = "/var/lib/beacon-agent/spool.db"'
    )
    spool_max_bytes: int = _spec(
        64 * 1024 * 1024, _number(int, 64 * 1024, 16 * 1024**3), "spool_max_bytes = 67108864"
    )
    state_path: str = _spec(
        "var/agent/state.json", _text, 'state_path = "/var/lib/beacon-agent/state.json"'
    )

    def __post_init__(self) -> None:
        """Check the combinations no single value can."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError(
                "config error: tls_cert and tls_key go together (a client certificate needs its "
                'key); set both, e.g. tls_cert = "/etc/beacon-agent/agent.pem" and '
                'tls_key = "/etc/beacon-agent/agent.key", or neither'
            )
        if (self.tls_ca or self.tls_cert) and not self.broker_url.startswith("mqtts://"):
            raise ConfigError(
                "config error: tls_ca/tls_cert are set but broker_url does not use TLS; "
                'set it like: broker_url = "mqtts://hub.store.local:8883"'
            )

    def with_overrides(self, **values: Any) -> AgentConfig:
        """A copy with some values replaced, each validated like a file value."""
        return replace(self, **_parse_all(values, "overrides"))

    @property
    def ibeacon_proximity_uuid(self) -> uuid.UUID | None:
        """The retailer's iBeacon proximity UUID, if configured."""
        return None if self.ibeacon_uuid is None else uuid.UUID(self.ibeacon_uuid)


def example(key: str) -> str:
    """How a key is written in the TOML file (used by docs and error messages)."""
    return settings_example(AgentConfig, key)


def _parse_all(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    return parse_values(AgentConfig, values, source)


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> AgentConfig:
    """Defaults, then the TOML file if given, then BEACON_AGENT_* environment variables."""
    hint = "; copy deploy/agent/agent.sample.toml there and set store_id, agent_id and broker_url"
    return AgentConfig(**load_layers(AgentConfig, path, environ, ENV_PREFIX, hint))


def parse_remote(payload: object) -> dict[str, Any]:
    """Validate a hub-pushed config object; raise ConfigError naming the bad key."""
    if not isinstance(payload, dict):
        raise ConfigError("config message must be a JSON object")
    version = payload.get("v", 1)
    if version != 1:
        raise ConfigError(f"config message has unsupported version v={version!r}; expected 1")
    # Unknown keys are ignored, not fatal: a newer hub may push keys this agent does not know.
    wanted = {key: payload[key] for key in REMOTE_KEYS if key in payload}
    # The config message is retained, so it is the hub's whole wish. A hub that does not know
    # send_levels refuses reports that carry levels; absent must therefore mean off, or a hub
    # downgraded after asking (the agent saves pushed keys) would lose every report.
    wanted.setdefault("send_levels", False)
    return _parse_all(wanted, "config message")
