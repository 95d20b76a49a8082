"""The wire contract: topics, and validation of sightings reports and status messages."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from marshmallow import ValidationError

from beacon_agent.protocol import (
    CONFIG,
    SIGHTINGS,
    STATUS,
    Sighting,
    SightingsReport,
    TopicError,
    agent_topic,
    dump_report,
    format_timestamp,
    load_report,
    load_status,
    parse_topic,
    subscription_filter,
)

T0 = datetime(2026, 11, 24, 10, 0, 0, 100000, tzinfo=UTC)
T1 = datetime(2026, 11, 24, 10, 0, 1, 200000, tzinfo=UTC)

# The contract's own example (contract.md section 2).
EXAMPLE: dict[str, Any] = {
    "v": 1,
    "store_id": "s042",
    "agent_id": "door-1",
    "boot_id": "5f0c",
    "seq": 118,
    "sent_at": "2026-11-24T10:00:01.250Z",
    "sightings": [
        {
            "token": "eid:0123456789abcdef",
            "rssi": -67.4,
            "tx_power": -59,
            "distance_m": 2.1,
            "samples": 9,
            "first_seen": "2026-11-24T10:00:00.100Z",
            "last_seen": "2026-11-24T10:00:01.200Z",
        }
    ],
    "departed": ["eid:fedcba9876543210"],
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    """The example with one field (dotted path; list indexes as numbers) replaced or removed."""
    body = copy.deepcopy(EXAMPLE)
    *parents, last = path.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is REMOVE:
        del node[last]
    else:
        node[last] = value
    return body


REMOVE = object()


def test_the_contract_example_loads_into_values() -> None:
    report = load_report(EXAMPLE)
    assert report.seq == 118
    assert report.sent_at == datetime(2026, 11, 24, 10, 0, 1, 250000, tzinfo=UTC)
    assert report.sightings[0] == Sighting(
        token="eid:0123456789abcdef",
        rssi=-67.4,
        samples=9,
        first_seen=T0,
        last_seen=T1,
        tx_power=-59,
        distance_m=2.1,
    )
    assert report.departed == ("eid:fedcba9876543210",)


def test_dump_then_load_is_the_same_report() -> None:
    report = SightingsReport(
        "s042",
        "door-1",
        "b",
        0,
        T1,
        (Sighting("ib:01234567", -70.0, 1, T0, T1),),
        ("eid:fedcba9876543210",),
    )
    wire = json.loads(json.dumps(dump_report(report)))
    assert wire["sent_at"] == "2026-11-24T10:00:01.200Z"
    assert load_report(wire) == report


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("v", 2, "v"),
        ("v", "1", "v"),
        ("seq", -1, "seq"),
        ("seq", 1.5, "seq"),
        ("seq", REMOVE, "seq"),
        ("store_id", "s/042", "store_id"),
        ("agent_id", "door+", "agent_id"),
        ("boot_id", "", "boot_id"),
        ("sent_at", "2026-11-24T10:00:01", "sent_at"),
        ("sent_at", "yesterday", "sent_at"),
        ("sightings", REMOVE, "sightings"),
        ("sightings", "eid:0123456789abcdef", "sightings"),
        ("sightings.0.token", "EID:0123456789ABCDEF", "token"),
        ("sightings.0.token", "eid:0123", "token"),
        ("sightings.0.token", "mac:aa:bb:cc:dd:ee:ff", "token"),
        ("sightings.0.rssi", "loud", "rssi"),
        ("sightings.0.rssi", -300, "rssi"),
        ("sightings.0.samples", 0, "samples"),
        ("sightings.0.distance_m", -1, "distance_m"),
        ("sightings.0.last_seen", "2026-11-24T09:59:59.000Z", "last_seen"),
        ("sightings.0.address", "AA:BB:CC:DD:EE:FF", "address"),
        ("departed", ["eid:xyz"], "departed"),
        ("extra", True, "extra"),
    ],
)
def test_a_malformed_report_is_refused_naming_the_field(path: str, value: Any, field: str) -> None:
    with pytest.raises(ValidationError) as error:
        load_report(with_change(path, value))
    assert field in json.dumps(error.value.messages)


@pytest.mark.parametrize("payload", [None, [], "report", 7])
def test_a_report_that_is_not_an_object_is_refused(payload: Any) -> None:
    with pytest.raises(ValidationError, match="JSON object"):
        load_report(payload)


def test_nan_rssi_is_refused() -> None:
    with pytest.raises(ValidationError):
        load_report(with_change("sightings.0.rssi", float("nan")))


def test_status_keeps_telemetry_apart_and_accepts_the_last_will() -> None:
    status = load_status(
        {"v": 1, "state": "online", "version": "0.1.0", "ads_per_s": 140.5, "spool_depth": 0}
    )
    assert status["state"] == "online"
    assert status["telemetry"] == {"ads_per_s": 140.5, "spool_depth": 0}
    assert load_status({"v": 1, "state": "offline"})["state"] == "offline"
    with pytest.raises(ValidationError):
        load_status({"v": 1, "state": "asleep"})
    with pytest.raises(ValidationError):
        load_status(["online"])


def test_topics_follow_the_contract_and_parse_back() -> None:
    assert agent_topic("", "s042", "door-1", SIGHTINGS) == "stores/s042/agents/door-1/sightings"
    assert (
        agent_topic("/retail/", "s042", "fit-2", CONFIG) == "retail/stores/s042/agents/fit-2/config"
    )
    assert subscription_filter("", STATUS) == "stores/+/agents/+/status"
    address = parse_topic("retail", "retail/stores/s042/agents/door-1/status")
    assert (address.store_id, address.agent_id, address.kind) == ("s042", "door-1", STATUS)


@pytest.mark.parametrize(
    ("root", "topic"),
    [
        ("", "stores/s042/agents/door-1/telemetry"),
        ("", "stores/s042/door-1/sightings"),
        ("", "shops/s042/agents/door-1/sightings"),
        ("retail", "other/stores/s042/agents/door-1/sightings"),
    ],
)
def test_foreign_topics_are_refused(root: str, topic: str) -> None:
    with pytest.raises(TopicError):
        parse_topic(root, topic)


@pytest.mark.parametrize("bad", ["", "a/b", "+", "#", "x" * 65, "-lead"])
def test_ids_that_cannot_be_topic_levels_are_refused(bad: str) -> None:
    with pytest.raises(TopicError, match="store_id"):
        agent_topic("", bad, "door-1", SIGHTINGS)


def test_wire_timestamps_are_utc_milliseconds_and_must_be_aware() -> None:
    assert format_timestamp(T0) == "2026-11-24T10:00:00.100Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2026, 11, 24, 10, 0))


# --- optional per-advertisement levels --------------------------------------------------------

WITH_LEVELS = with_change(
    "sightings.0.levels", [[0, -66.0], [120, -67.5], [120, -80], [1100, -66.2]]
)


def test_dump_without_levels_has_no_levels_key_and_is_unchanged() -> None:
    sighting = Sighting("eid:0123456789abcdef", -67.4, 9, T0, T1, -59, 2.1)
    report = SightingsReport("s042", "door-1", "5f0c", 118, T1, (sighting,))
    wire = dump_report(report)
    assert "levels" not in wire["sightings"][0]
    assert json.dumps(wire) == json.dumps(
        {**EXAMPLE, "sent_at": "2026-11-24T10:00:01.200Z", "departed": []}
    )
    assert load_report(json.loads(json.dumps(wire))).sightings[0].levels == ()


def test_levels_round_trip_and_load_as_tuples() -> None:
    levels = ((0, -66.0), (120, -67.5), (120, -80.0), (1100, -66.2))
    sighting = Sighting("eid:0123456789abcdef", -67.4, 4, T0, T1, -59, 2.1, levels)
    report = SightingsReport("s042", "door-1", "5f0c", 118, T1, (sighting,))
    wire = json.loads(json.dumps(dump_report(report)))
    assert wire["sightings"][0]["levels"] == [[0, -66.0], [120, -67.5], [120, -80.0], [1100, -66.2]]
    assert list(wire["sightings"][0]) == [*EXAMPLE["sightings"][0], "levels"]
    loaded = load_report(wire)
    assert loaded == report
    assert load_report(WITH_LEVELS).sightings[0].levels == levels
    assert load_report(with_change("sightings.0.levels", [])).sightings[0].levels == ()


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ("loud", "levels must be a list of [offset_ms, dbm] pairs"),
        (None, "may not be null"),
        ([[0, -60.0]] * 65, "levels has 65 entries; at most 64"),
        ([[0, -60.0, 1]], "levels[0] must be a pair [offset_ms, dbm]"),
        ([{"offset_ms": 0, "dbm": -60.0}], "levels[0] must be a pair [offset_ms, dbm]"),
        ([[0, -60.0], [1.5, -60.0]], "levels[1] offset_ms must be a whole number of ms"),
        ([["0", -60.0]], "levels[0] offset_ms must be a whole number of ms"),
        ([[True, -60.0]], "levels[0] offset_ms must be a whole number of ms"),
        ([[-1, -60.0]], "levels[0] offset_ms must be a whole number of ms in 0..3600000"),
        ([[3_600_001, -60.0]], "levels[0] offset_ms must be a whole number of ms in 0..3600000"),
        ([[500, -60.0], [499, -60.0]], "levels[1] offset_ms 499 is before the previous one (500)"),
        ([[0, "-60"]], "levels[0] dbm must be a number in -127..20"),
        ([[0, None]], "levels[0] dbm must be a number in -127..20"),
        ([[0, False]], "levels[0] dbm must be a number in -127..20"),
        ([[0, -128]], "levels[0] dbm must be a number in -127..20, got -128"),
        ([[0, 20.5]], "levels[0] dbm must be a number in -127..20"),
        ([[0, float("nan")]], "levels[0] dbm must be a number in -127..20"),
        ([[0, float("inf")]], "levels[0] dbm must be a number in -127..20"),
    ],
)
def test_malformed_levels_are_refused_saying_what_is_wrong(levels: Any, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        load_report(with_change("sightings.0.levels", levels))
    messages = error.value.messages
    assert isinstance(messages, dict)
    assert any(message in text for text in messages["sightings"][0]["levels"])
