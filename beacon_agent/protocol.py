"""The agent <-> hub wire contract (contract.md section 2), shared by both sides.

Topics and payload schemas live here, and only here, so that the agent that writes a report and
the hub that reads it cannot drift apart.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

PROTOCOL_VERSION = 1
SIGHTINGS = "sightings"
STATUS = "status"
CONFIG = "config"
OFFLINE_WILL: dict[str, Any] = {"v": PROTOCOL_VERSION, "state": "offline"}

_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TOKEN_PATTERN = re.compile(r"^(eid:[0-9a-f]{16}|ib:[0-9a-f]{8})$")


class TopicError(ValueError):
    """A topic that is not one of ours, or an id that cannot be a topic level."""


def _check_id(kind: str, value: str) -> str:
    if not _ID_PATTERN.match(value):
        raise TopicError(
            f"{kind} {value!r} must be 1-64 letters, digits, '_', '.' or '-', starting with a "
            "letter or digit (MQTT wildcards and '/' are not allowed)"
        )
    return value


def _join(root: str, *levels: str) -> str:
    root = root.strip("/")
    return "/".join([root, *levels]) if root else "/".join(levels)


def agent_topic(root: str, store_id: str, agent_id: str, kind: str) -> str:
    """Topic of one agent's `sightings`, `status` or `config` channel."""
    if kind not in (SIGHTINGS, STATUS, CONFIG):
        raise TopicError(f"unknown channel {kind!r}")
    return _join(
        root,
        "stores",
        _check_id("store_id", store_id),
        "agents",
        _check_id("agent_id", agent_id),
        kind,
    )


def subscription_filter(root: str, kind: str, store_id: str = "+") -> str:
    """Subscription filter for one channel of every agent (of one store, or all with '+')."""
    store_level = store_id if store_id == "+" else _check_id("store_id", store_id)
    return _join(root, "stores", store_level, "agents", "+", kind)


@dataclass(frozen=True)
class TopicAddress:
    """Who a topic belongs to."""

    store_id: str
    agent_id: str
    kind: str


def parse_topic(root: str, topic: str) -> TopicAddress:
    """Split an agent topic into store, agent and channel; raise TopicError if it is not one."""
    prefix = root.strip("/")
    rest = topic
    if prefix:
        if not topic.startswith(prefix + "/"):
            raise TopicError(f"topic {topic!r} is outside root {prefix!r}")
        rest = topic[len(prefix) + 1 :]
    parts = rest.split("/")
    if len(parts) != 5 or parts[0] != "stores" or parts[2] != "agents":
        raise TopicError(f"topic {topic!r} is not stores/{{store}}/agents/{{agent}}/{{channel}}")
    if parts[4] not in (SIGHTINGS, STATUS, CONFIG):
        raise TopicError(f"topic {topic!r} has unknown channel {parts[4]!r}")
    return TopicAddress(_check_id("store_id", parts[1]), _check_id("agent_id", parts[3]), parts[4])


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds and a 'Z', as the contract's examples show."""
    if moment.tzinfo is None:
        raise ValueError("timestamps on the wire must be timezone-aware")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class UtcDateTime(fields.DateTime):
    """An ISO 8601 timestamp that must carry a zone; loaded as an aware UTC datetime."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is None:
            raise ValidationError("timestamp must include a time zone (e.g. a trailing 'Z')")
        return moment.astimezone(UTC)

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else format_timestamp(value)


@dataclass(frozen=True)
class Sighting:
    """One token as one agent heard it during one report interval."""

    token: str
    rssi: float
    samples: int
    first_seen: datetime
    last_seen: datetime
    tx_power: int | None = None
    distance_m: float | None = None
    # Opt-in (the hub's config asks for it): each advertisement behind `rssi`, oldest first, as
    # (ms after first_seen, calibrated dBm), for a hub that tracks position from raw levels.
    levels: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class SightingsReport:
    """One agent's report for one interval."""

    store_id: str
    agent_id: str
    boot_id: str
    seq: int
    sent_at: datetime
    sightings: tuple[Sighting, ...]
    departed: tuple[str, ...] = ()
    v: int = PROTOCOL_VERSION


class _Strict(Schema):
    class Meta:
        unknown = RAISE


MAX_LEVELS = 64
MAX_LEVEL_OFFSET_MS = 3_600_000


class Levels(fields.Field[tuple[tuple[int, float], ...]]):
    """[[offset_ms, dbm], ...]: whole ms after first_seen, non-decreasing; dBm in -127..20."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[tuple[int, float], ...]:
        if not isinstance(value, list):
            raise ValidationError("levels must be a list of [offset_ms, dbm] pairs")
        if len(value) > MAX_LEVELS:
            raise ValidationError(f"levels has {len(value)} entries; at most {MAX_LEVELS}")
        levels: list[tuple[int, float]] = []
        previous = 0
        for index, entry in enumerate(value):
            where = f"levels[{index}]"
            if not isinstance(entry, list) or len(entry) != 2:
                raise ValidationError(f"{where} must be a pair [offset_ms, dbm], got {entry!r}")
            offset, dbm = entry
            # bool is an int in Python, not a number on the wire.
            if (
                isinstance(offset, bool)
                or not isinstance(offset, int)
                or not 0 <= offset <= MAX_LEVEL_OFFSET_MS
            ):
                raise ValidationError(
                    f"{where} offset_ms must be a whole number of ms in 0..{MAX_LEVEL_OFFSET_MS}"
                    f", got {offset!r}"
                )
            if offset < previous:
                raise ValidationError(
                    f"{where} offset_ms {offset} is before the previous one ({previous}); "
                    "levels must be oldest first"
                )
            if (
                isinstance(dbm, bool)
                or not isinstance(dbm, int | float)
                or not math.isfinite(dbm)
                or not -127 <= dbm <= 20
            ):
                raise ValidationError(f"{where} dbm must be a number in -127..20, got {dbm!r}")
            levels.append((offset, float(dbm)))
            previous = offset
        return tuple(levels)


class SightingSchema(_Strict):
    token = fields.String(
        required=True,
        validate=validate.Regexp(
            TOKEN_PATTERN, error="token must be 'eid:' + 16 or 'ib:' + 8 lowercase hex digits"
        ),
    )
    rssi = fields.Float(required=True, allow_nan=False, validate=validate.Range(-127, 20))
    tx_power = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(-128, 127)
    )
    distance_m = fields.Float(
        load_default=None, allow_none=True, allow_nan=False, validate=validate.Range(min=0)
    )
    samples = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    first_seen = UtcDateTime(required=True)
    last_seen = UtcDateTime(required=True)
    levels = Levels()

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data["last_seen"] < data["first_seen"]:
            raise ValidationError("last_seen is before first_seen", "last_seen")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Sighting:
        return Sighting(**data)


class SightingsReportSchema(_Strict):
    v = fields.Integer(required=True, strict=True, validate=validate.Equal(PROTOCOL_VERSION))
    store_id = fields.String(required=True, validate=validate.Regexp(_ID_PATTERN))
    agent_id = fields.String(required=True, validate=validate.Regexp(_ID_PATTERN))
    boot_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    sent_at = UtcDateTime(required=True)
    sightings = fields.List(fields.Nested(SightingSchema), required=True)
    departed = fields.List(
        fields.String(validate=validate.Regexp(TOKEN_PATTERN)), load_default=list
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> SightingsReport:
        data["sightings"] = tuple(data["sightings"])
        data["departed"] = tuple(data["departed"])
        return SightingsReport(**data)


class StatusSchema(Schema):
    """Agent status; telemetry beyond the named fields is the agent's to add."""

    class Meta:
        unknown = EXCLUDE

    v = fields.Integer(required=True, strict=True, validate=validate.Equal(PROTOCOL_VERSION))
    state = fields.String(required=True, validate=validate.OneOf(["online", "offline"]))
    version = fields.String(load_default=None)
    started_at = UtcDateTime(load_default=None)


_report_schema = SightingsReportSchema()
_status_schema = StatusSchema()


def dump_report(report: SightingsReport) -> dict[str, Any]:
    """Report as the JSON-ready dict the contract specifies."""
    return {
        "v": report.v,
        "store_id": report.store_id,
        "agent_id": report.agent_id,
        "boot_id": report.boot_id,
        "seq": report.seq,
        "sent_at": format_timestamp(report.sent_at),
        "sightings": [_dump_sighting(s) for s in report.sightings],
        "departed": list(report.departed),
    }


def _dump_sighting(s: Sighting) -> dict[str, Any]:
    body: dict[str, Any] = {
        "token": s.token,
        "rssi": round(s.rssi, 1),
        "tx_power": s.tx_power,
        "distance_m": None if s.distance_m is None else round(s.distance_m, 2),
        "samples": s.samples,
        "first_seen": format_timestamp(s.first_seen),
        "last_seen": format_timestamp(s.last_seen),
    }
    # Only when asked for: a hub that does not know the field refuses it (unknown = RAISE), and
    # reports of agents not asked stay byte for byte what they were.
    if s.levels:
        body["levels"] = [[offset, round(dbm, 1)] for offset, dbm in s.levels]
    return body


def load_report(payload: Any) -> SightingsReport:
    """Validate a decoded JSON payload; raise marshmallow.ValidationError naming the bad field."""
    if not isinstance(payload, dict):
        raise ValidationError("report must be a JSON object")
    report: SightingsReport = _report_schema.load(payload)
    return report


def load_status(payload: Any) -> dict[str, Any]:
    """Validate an agent status payload (online with telemetry, or the offline last will)."""
    if not isinstance(payload, dict):
        raise ValidationError("status must be a JSON object")
    status: dict[str, Any] = _status_schema.load(payload)
    telemetry = {k: v for k, v in payload.items() if k not in status}
    return {**status, "telemetry": telemetry}
