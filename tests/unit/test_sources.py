"""Advertisement sources without a radio: trace replay and record, and BleakSource's watchdog."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from beacon_agent import cli
from beacon_agent.sources import (
    GIVE_UP,
    RESET_ADAPTER,
    RESTART_SCAN,
    Advertisement,
    BleakSource,
    ScannerStalled,
    TraceError,
    TraceRecorder,
    TraceReplaySource,
)

EDDYSTONE = "0000feaa-0000-1000-8000-00805f9b34fb"
EID_FRAME = bytes.fromhex("30eca0156ddac064192a")
HEADER = {"trace": 1, "recorded_at": "2026-11-24T10:00:00.000Z", "note": "test"}
START = 1_795_514_400.0  # 2026-11-24T10:00:00Z


def record(t: float, rssi: float = -60, address: str = "65:4D:CA:18:25:30") -> dict[str, Any]:
    """One trace line as `beacon-agent record` writes it."""
    return {
        "t": t,
        "address": address,
        "rssi": rssi,
        "local_name": None,
        "tx_power": None,
        "service_data": {EDDYSTONE: EID_FRAME.hex()},
        "manufacturer_data": {"76": "0215" + "00" * 21},
        "service_uuids": [EDDYSTONE],
    }


def write_trace(path: Path, lines: list[Any], header: Any = HEADER) -> Path:
    text = [json.dumps(header)] + [
        line if isinstance(line, str) else json.dumps(line) for line in lines
    ]
    path.write_text("\n".join(text) + "\n")
    return path


# --- TraceReplaySource ---------------------------------------------------------------------


def test_replay_reads_the_header_and_yields_payloads_on_the_trace_clock(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.jsonl", [record(0.5, -61), "", record(1.25, -70)])
    source = TraceReplaySource(trace, speed=0)
    assert source.start == START
    assert source.note == "test"
    assert list(source) == [
        Advertisement(
            START + 0.5, {EDDYSTONE: EID_FRAME}, {76: bytes.fromhex("0215" + "00" * 21)}, -61.0
        ),
        Advertisement(
            START + 1.25, {EDDYSTONE: EID_FRAME}, {76: bytes.fromhex("0215" + "00" * 21)}, -70.0
        ),
    ]


def test_replay_keeps_file_order(tmp_path: Path) -> None:
    times = [0.1, 0.2, 0.2, 0.9, 3.0]
    trace = write_trace(
        tmp_path / "t.jsonl", [record(t, rssi=-50 - i) for i, t in enumerate(times)]
    )
    replayed = list(TraceReplaySource(trace, speed=0))
    assert [a.time - START for a in replayed] == pytest.approx(times)
    assert [a.rssi for a in replayed] == [-50, -51, -52, -53, -54]


def timed(source: TraceReplaySource) -> tuple[float, int]:
    began = time.monotonic()
    count = sum(1 for _ in source)
    return time.monotonic() - began, count


def test_speed_zero_is_flat_out_and_speed_one_is_real_time(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.jsonl", [record(0.0), record(0.2), record(0.4)])
    flat_out, n0 = timed(TraceReplaySource(trace, speed=0))
    real_time, n1 = timed(TraceReplaySource(trace, speed=1))
    double, n2 = timed(TraceReplaySource(trace, speed=2))
    assert n0 == n1 == n2 == 3
    assert flat_out < 0.1
    assert 0.38 <= real_time < 0.8
    assert 0.18 <= double < 0.38


def test_a_stopped_replay_ends_early(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.jsonl", [record(0.0), record(5.0), record(10.0)])
    stop = threading.Event()
    source = TraceReplaySource(trace, speed=1, stop=stop)
    threading.Timer(0.1, stop.set).start()
    elapsed, count = timed(source)
    assert count == 1
    assert elapsed < 1.0


def test_negative_speed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="speed"):
        TraceReplaySource(write_trace(tmp_path / "t.jsonl", []), speed=-1)


@pytest.mark.parametrize(
    "header",
    [
        {"trace": 2, "recorded_at": "2026-11-24T10:00:00Z"},
        {"trace": 1},
        ["trace"],
        {"trace": 1, "recorded_at": "2026-11-24T10:00:00"},
    ],
)
def test_a_bad_header_is_a_trace_error_on_line_1(tmp_path: Path, header: Any) -> None:
    trace = write_trace(tmp_path / "t.jsonl", [record(0.0)], header=header)
    with pytest.raises(TraceError, match=r"t\.jsonl:1 is not a trace header"):
        TraceReplaySource(trace)


def test_a_missing_file_is_a_trace_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot read trace"):
        TraceReplaySource(tmp_path / "nope.jsonl")


@pytest.mark.parametrize(
    "bad",
    [
        "{not json",
        json.dumps({k: v for k, v in record(1.0).items() if k != "rssi"}),
        json.dumps({**record(1.0), "service_data": {EDDYSTONE: "zz"}}),
        json.dumps({**record(1.0), "manufacturer_data": {"apple": "00"}}),
        json.dumps({**record(1.0), "t": "soon"}),
        json.dumps([1, 2]),
    ],
)
def test_a_malformed_record_names_its_line_number(tmp_path: Path, bad: str) -> None:
    # Line 1 is the header, 2-3 good records, 4 blank, 5 the bad one.
    trace = write_trace(tmp_path / "t.jsonl", [record(0.1), record(0.2), "", bad, record(0.3)])
    source = TraceReplaySource(trace, speed=0)
    replayed: list[Advertisement] = []
    with pytest.raises(TraceError, match=r"t\.jsonl:5 is not a trace record"):
        replayed.extend(source)
    assert len(replayed) == 2  # everything before the bad line was delivered


# --- TraceRecorder -------------------------------------------------------------------------


def test_recorded_advertisements_replay_identically(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "rec.jsonl"
    began = START + 0.1234567  # sub-millisecond: the header keeps only milliseconds
    recorder = TraceRecorder(path, note="door test", recorded_at=began)
    heard = [
        (began + 0.5, -61.0, {EDDYSTONE: EID_FRAME}, {}),
        (began + 0.75, -58.0, {}, {76: bytes.fromhex("0215" + "11" * 21)}),
        (began + 2.0, -90.0, {EDDYSTONE: b"\x20\x00" + bytes(12)}, {89: b"\x01\x02"}),
    ]
    for at, rssi, service_data, manufacturer_data in heard:
        recorder.write(
            at, "5A:3C:11:9E:42:07", rssi, "Pixel", -7, service_data, manufacturer_data, [EDDYSTONE]
        )
    recorder.close()
    assert recorder.count == 3

    source = TraceReplaySource(path, speed=0)
    assert source.note == "door test"
    replayed = list(source)
    assert [(a.service_data, a.manufacturer_data, a.rssi) for a in replayed] == [
        (sd, md, rssi) for _, rssi, sd, md in heard
    ]
    # Times survive to the millisecond the file keeps.
    assert [a.time for a in replayed] == pytest.approx([at for at, *_ in heard], abs=0.0011)


def test_the_address_stays_in_the_on_device_trace_and_never_reaches_the_pipeline(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rec.jsonl"
    recorder = TraceRecorder(path, recorded_at=START)
    recorder.write(START + 1, "5A:3C:11:9E:42:07", -60, None, None, {EDDYSTONE: EID_FRAME}, {}, [])
    recorder.close()
    # The file is for the technician who made it: it has the address...
    assert "5A:3C:11:9E:42:07" in path.read_text()
    # ...but a replayed advertisement carries payloads and signal only.
    (advertisement,) = TraceReplaySource(path, speed=0)
    assert "5A:3C" not in repr(advertisement)
    assert Advertisement._fields == ("time", "service_data", "manufacturer_data", "rssi")


# --- BleakSource and its watchdog, with a fake scanner -------------------------------------


class FakeScanner:
    """Stands in for BleakScanner: records start/stop; the test decides what it hears."""

    def __init__(self, log: list[str], callback: Any) -> None:
        self.log = log
        self.callback = callback

    async def start(self) -> None:
        self.log.append("start")

    async def stop(self) -> None:
        self.log.append("stop")


def advertisement(
    service_data: Mapping[str, bytes] | None = None, rssi: int = -60
) -> AdvertisementData:
    return AdvertisementData(
        local_name=None,
        manufacturer_data={},
        service_data=dict(service_data or {}),
        service_uuids=[],
        tx_power=None,
        rssi=rssi,
        platform_data=(),
    )


class Harness:
    """A BleakSource on fake scanners, with a recorded adapter reset and watchdog steps."""

    def __init__(self, silence_s: float = 0.3) -> None:
        self.events: list[str] = []
        self.scanners: list[FakeScanner] = []
        self.heard: list[tuple[float, dict[str, bytes], dict[int, bytes], float]] = []
        self.steps: list[str] = []

        def factory(callback: Any) -> FakeScanner:
            scanner = FakeScanner(self.events, callback)
            self.scanners.append(scanner)
            return scanner

        async def reset(adapter: str) -> None:
            self.events.append(f"reset {adapter}")

        self.source = BleakSource(
            lambda now, sd, md, rssi: self.heard.append((now, dict(sd), dict(md), rssi)),
            adapter="hci1",
            watchdog_silence_s=silence_s,
            reset_adapter=reset,
            on_watchdog=self.steps.append,
            scanner_factory=factory,
        )


async def run_for(source: BleakSource, seconds: float, during: Any = None) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(source.run(stop))
    if during is not None:
        await during()
    await asyncio.sleep(seconds)
    stop.set()
    await task


def test_silent_scanner_is_restarted_then_reset_then_the_source_gives_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    harness = Harness(silence_s=0.3)
    caplog.set_level(logging.WARNING, logger="beacon_agent.sources")
    began = time.monotonic()
    with pytest.raises(ScannerStalled, match="hci1 stayed silent"):
        asyncio.run(harness.source.run(asyncio.Event()))
    elapsed = time.monotonic() - began
    assert harness.events == [
        "start",
        "stop",  # silent 0.3 s: restart the scan
        "start",
        "stop",  # silent again: power-cycle the adapter and restart
        "reset hci1",
        "start",
        "stop",  # still silent: give up
    ]
    assert harness.steps == [RESTART_SCAN, RESET_ADAPTER, RESTART_SCAN, GIVE_UP]
    assert (harness.source.restarts, harness.source.adapter_resets) == (2, 1)
    assert 0.9 <= elapsed < 2.0  # three silence periods, each checked within a fraction
    messages = [r.getMessage() for r in caplog.records]
    assert any("restarting the scan (restart 1)" in m for m in messages)
    assert any("power-cycling the adapter (reset 1)" in m for m in messages)
    assert any("exiting so that systemd restarts the agent" in m for m in messages)


def test_a_scanner_that_keeps_hearing_advertisements_is_left_alone() -> None:
    harness = Harness(silence_s=0.3)

    async def chatter() -> None:
        async def loop() -> None:
            while True:
                for scanner in harness.scanners:
                    scanner.callback(
                        BLEDevice("AA:BB:CC:DD:EE:FF", None, None),
                        advertisement({EDDYSTONE: EID_FRAME}),
                    )
                await asyncio.sleep(0.05)

        asyncio.get_running_loop().create_task(loop())

    asyncio.run(run_for(harness.source, 1.0, chatter))
    assert harness.events == ["start", "stop"]
    assert harness.steps == []
    assert len(harness.heard) >= 15
    assert all(sd == {EDDYSTONE: EID_FRAME} and md == {} for _, sd, md, _ in harness.heard)


def test_empty_advertisements_do_not_keep_the_watchdog_quiet() -> None:
    # BlueZ can keep reporting RSSI updates for cached devices while no advertising data flows.
    harness = Harness(silence_s=0.3)

    async def empty_chatter() -> None:
        async def loop() -> None:
            while True:
                for scanner in harness.scanners:
                    scanner.callback(BLEDevice("AA:BB:CC:DD:EE:FF", None, None), advertisement())
                await asyncio.sleep(0.05)

        asyncio.get_running_loop().create_task(loop())

    asyncio.run(run_for(harness.source, 0.5, empty_chatter))
    assert harness.steps[:1] == [RESTART_SCAN]
    assert harness.heard, "empty advertisements are still handed on (and counted as frames)"


def test_an_advertisement_after_a_restart_starts_the_escalation_over() -> None:
    harness = Harness(silence_s=0.3)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(harness.source.run(stop))
        # Silent until the first restart, then one advertisement on the new scanner.
        while len(harness.scanners) < 2:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        device = BLEDevice("AA:BB:CC:DD:EE:FF", None, None)
        harness.scanners[-1].callback(device, advertisement({EDDYSTONE: EID_FRAME}))
        # Then silent again until the watchdog acts a second time.
        while len(harness.steps) < 2:
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(scenario())
    # Healthy in between, so the second step is a plain restart again, not an adapter reset.
    assert harness.steps == [RESTART_SCAN, RESTART_SCAN]
    assert harness.events == ["start", "stop", "start", "stop", "start", "stop"]
    assert (harness.source.restarts, harness.source.adapter_resets) == (2, 0)


def test_the_cli_turns_a_stalled_scan_into_exit_5(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    harness = Harness(silence_s=0.2)

    def run_with_fake_scanner(_args: Any) -> int:
        # What `run` does with its source: drive it with the CLI's own loop until it ends.
        asyncio.run(cli._scan_until(harness.source, threading.Event(), None))
        return 0

    monkeypatch.setattr(cli, "_run", run_with_fake_scanner)
    assert cli.main(["run"]) == cli.EXIT_STALLED
    err = capsys.readouterr().err
    assert "stayed silent" in err
    assert "systemd restarts the agent" in err
    assert "Traceback" not in err
