"""The live table `beacon-agent scan` draws, from the agent's own pipeline fed advertisements."""

from __future__ import annotations

import uuid

from beacon_agent.config import AgentConfig
from beacon_agent.pipeline import Pipeline
from beacon_agent.scan_view import ScanTable, TokenSamples, strongest_median, token_kind

EDDYSTONE = "0000feaa-0000-1000-8000-00805f9b34fb"
RETAILER = uuid.UUID("7c3f0a52-9d1e-4b8a-a6f4-2e5b9c0d1f83")
NEAR = bytes.fromhex("30eca0156ddac064192a")  # EID frame, tx -20 dBm at 0 m
FAR = bytes.fromhex("30ec0123456789abcdef")
T0 = 1_795_514_400.0


def ibeacon(major_minor: bytes) -> dict[int, bytes]:
    return {0x004C: b"\x02\x15" + RETAILER.bytes + major_minor + bytes([0xC5])}  # -59 dBm at 1 m


def feed(pipeline: Pipeline, start: float, seconds: int) -> None:
    """Two EID phones and one iBeacon phone, each heard twice a second; ticks every second."""
    for step in range(seconds * 2):
        now = start + step / 2
        pipeline.on_advertisement(now, {EDDYSTONE: NEAR}, {}, -55.0)
        pipeline.on_advertisement(now, {EDDYSTONE: FAR}, {}, -80.0)
        pipeline.on_advertisement(now, {}, ibeacon(b"\xa0\x15\x6d\xda"), -70.0)
        pipeline.on_advertisement(now, {}, {0x0059: b"\x01"}, -90.0)  # someone else's gadget
        if step % 2:
            pipeline.tick(now + 0.25)


def table_after(seconds: int) -> tuple[ScanTable, Pipeline]:
    config = AgentConfig(ibeacon_uuid=str(RETAILER), away_timeout_s=5, reference_rssi_1m=-60)
    table = ScanTable()
    pipeline = Pipeline(config, table.update)
    feed(pipeline, T0, seconds)
    return table, pipeline


def test_table_lists_present_tokens_strongest_first_with_kind_rssi_distance_and_age() -> None:
    table, pipeline = table_after(4)
    lines = table.render(T0 + 5.5, pipeline.telemetry()["frames"]).splitlines()
    assert lines[0].split() == ["token", "kind", "rssi", "dist_m", "samples", "seen"]
    rows = [line.split() for line in lines[1:4]]
    assert [row[0] for row in rows] == [
        "eid:a0156ddac064192a",
        "ib:a0156dda",
        "eid:0123456789abcdef",
    ]
    assert [row[1] for row in rows] == ["eddystone-eid", "ibeacon", "eddystone-eid"]
    assert [row[2] for row in rows] == ["-55.0", "-70.0", "-80.0"]
    # Log-distance with reference -60 dBm at 1 m and exponent 2: -55 -> 0.56 m, -80 -> 10 m.
    assert [row[3] for row in rows] == ["0.6", "3.2", "10.0"]
    assert all(row[4] == "2" for row in rows)  # samples in the last report interval
    assert all(row[5] == "2s" for row in rows)  # last heard at T0 + 3.5, now T0 + 5.5
    assert lines[4] == "frames heard: eddystone-eid 16, ibeacon 8, other 8"


def test_departed_tokens_leave_the_table() -> None:
    table, pipeline = table_after(3)
    assert "eid:a0156ddac064192a" in table.render(T0 + 3)
    pipeline.tick(T0 + 20)  # silent past the away timeout: everyone departs
    text = table.render(T0 + 20)
    assert "eid:" not in text and "ib:" not in text
    assert "(no shopper token present yet)" in text
    assert text.endswith("frames heard: none yet")


def test_token_kind_by_prefix() -> None:
    assert token_kind("eid:0123456789abcdef") == "eddystone-eid"
    assert token_kind("ib:01234567") == "ibeacon"
    assert token_kind("x") == "?"


def test_calibration_picks_the_token_with_the_strongest_median() -> None:
    heard = TokenSamples(RETAILER)
    for rssi in (-50, -61, -62, -60, -90):  # one lucky spike and one fade: the median ignores them
        heard(T0, {EDDYSTONE: NEAR}, {}, rssi)
    for rssi in (-58, -59, -75):
        heard(T0, {}, ibeacon(b"\x00\x01\x00\x02"), rssi)
    heard(T0, {}, {0x0059: b"\x01"}, -30)  # not a shopper token: never a candidate
    assert strongest_median(heard.samples) == ("ib:00010002", -59.0, 3)
    assert strongest_median({}) is None
