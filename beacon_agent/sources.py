"""Where advertisements come from: a recorded trace or the radio (bleak), one shape for both.

Every source delivers `Advertisement(time, service_data, manufacturer_data, rssi)`: payloads and
signal only. The Bluetooth address never leaves this module, except into a `TraceRecorder` file,
which an IT technician makes on purpose and which stays on the device.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

from beacon_agent.protocol import format_timestamp

log = logging.getLogger(__name__)

TRACE_VERSION = 1
EDDYSTONE_SERVICE_DATA = b"\xaa\xfe"  # 16-bit UUID 0xFEAA, little-endian as in the AD structure
APPLE_IBEACON_PREFIX = b"\x4c\x00\x02\x15"  # company 0x004C (LE), then the iBeacon type and length


class Advertisement(NamedTuple):
    """One advertisement as the pipeline sees it: no address, no name."""

    time: float
    service_data: dict[str, bytes]
    manufacturer_data: dict[int, bytes]
    rssi: float


AdvertisementSink = Callable[[float, Mapping[str, bytes], Mapping[int, bytes], float], None]


class TraceError(ValueError):
    """A trace file that cannot be replayed, naming the line."""


class AdapterUnavailable(RuntimeError):
    """The Bluetooth adapter is missing, off, or not ours to use; the message says which."""


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp with a zone ('Z' allowed) as an aware datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return moment


def payloads(record: Mapping[str, Any]) -> tuple[dict[str, bytes], dict[int, bytes], float]:
    """Service data, manufacturer data and RSSI of one trace record (hex -> bytes)."""
    service_data = {str(k).lower(): bytes.fromhex(v) for k, v in record["service_data"].items()}
    manufacturer_data = {int(k): bytes.fromhex(v) for k, v in record["manufacturer_data"].items()}
    return service_data, manufacturer_data, float(record["rssi"])


class TraceReplaySource:
    """Reads a JSONL advertisement trace and replays it at `speed` (1 = real time, 0 = flat out).

    Times are the trace's own clock: `recorded_at` + `t`, as POSIX seconds.
    """

    def __init__(
        self,
        path: Path,
        speed: float = 1.0,
        stop: threading.Event | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Open the trace and read its header; raise TraceError if it is not a trace."""
        if speed < 0:
            raise ValueError("speed must be 0 (as fast as possible) or positive")
        self.path = path
        self.speed = speed
        self._stop = stop or threading.Event()
        self._monotonic = monotonic
        self._wall_start: float | None = None
        try:
            with path.open() as handle:
                first = handle.readline()
        except OSError as exc:
            raise TraceError(f"cannot read trace {path}: {exc}") from None
        try:
            header = json.loads(first)
            if not isinstance(header, dict) or header.get("trace") != TRACE_VERSION:
                raise ValueError(f'the first line must be a header with "trace": {TRACE_VERSION}')
            self.recorded_at = parse_timestamp(str(header["recorded_at"]))
        except (ValueError, KeyError) as exc:
            raise TraceError(f"{path}:1 is not a trace header: {exc}") from None
        self.start = self.recorded_at.timestamp()
        self.note = str(header.get("note", ""))

    def records(self) -> Iterator[Advertisement]:
        """Every advertisement in file order, unpaced."""
        with self.path.open() as handle:
            handle.readline()
            for number, line in enumerate(handle, start=2):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    service_data, manufacturer_data, rssi = payloads(record)
                    at = self.start + float(record["t"])
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise TraceError(f"{self.path}:{number} is not a trace record: {exc}") from None
                yield Advertisement(at, service_data, manufacturer_data, rssi)

    def wait_until(self, trace_time: float) -> bool:
        """Sleep until the replay clock reaches `trace_time`; False if stopped meanwhile."""
        if self._wall_start is None:
            self._wall_start = self._monotonic()
        if self.speed > 0:
            due = self._wall_start + (trace_time - self.start) / self.speed
            remaining = due - self._monotonic()
            if remaining > 0 and self._stop.wait(remaining):
                return False
        return not self._stop.is_set()

    def __iter__(self) -> Iterator[Advertisement]:
        """Advertisements paced to `speed`."""
        for advertisement in self.records():
            if not self.wait_until(advertisement.time):
                return
            yield advertisement


class TraceRecorder:
    """Writes advertisements to a JSONL trace that `replay` reads.

    This is the one place a Bluetooth address is written anywhere: the file is for debugging on
    the device (or handed over deliberately), never published.
    """

    def __init__(self, path: Path, note: str = "", recorded_at: float | None = None) -> None:
        """Create the file and write the header."""
        self.path = path
        self.start = time.time() if recorded_at is None else recorded_at
        self.count = 0
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[str] = path.open("w")
        header = {
            "trace": TRACE_VERSION,
            "recorded_at": format_timestamp(datetime.fromtimestamp(self.start, UTC)),
            "note": note,
        }
        self._handle.write(json.dumps(header) + "\n")

    def write(
        self,
        at: float,
        address: str,
        rssi: float,
        local_name: str | None,
        tx_power: int | None,
        service_data: Mapping[str, bytes],
        manufacturer_data: Mapping[int, bytes],
        service_uuids: list[str],
    ) -> None:
        """Append one advertisement heard at POSIX time `at`."""
        record = {
            "t": round(at - self.start, 3),
            "address": address,
            "rssi": rssi,
            "local_name": local_name,
            "tx_power": tx_power,
            "service_data": {k: v.hex() for k, v in service_data.items()},
            "manufacturer_data": {str(k): v.hex() for k, v in manufacturer_data.items()},
            "service_uuids": list(service_uuids),
        }
        with self._lock:
            self._handle.write(json.dumps(record) + "\n")
            self.count += 1

    def close(self) -> None:
        """Flush and close the file."""
        with self._lock:
            self._handle.close()


def check_adapter(adapter: str) -> None:
    """Raise AdapterUnavailable if Linux has no such Bluetooth adapter (fast, no D-Bus)."""
    if not sys.platform.startswith("linux"):
        return
    root = Path("/sys/class/bluetooth")
    if (root / adapter).exists():
        return
    found = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    detail = (
        f"this machine has {', '.join(found)}; set adapter to one of them"
        if found
        else "this machine has no Bluetooth adapter at all (plug in a USB dongle, or check "
        "`rfkill list` and that the bluetooth kernel module is loaded)"
    )
    raise AdapterUnavailable(f"no Bluetooth adapter {adapter} found: {detail}")


def passive_or_patterns() -> list[Any]:
    """BlueZ advertisement-monitor patterns for Eddystone service data and Apple iBeacons."""
    from bleak.args.bluez import OrPattern
    from bleak.assigned_numbers import AdvertisementDataType

    return [
        OrPattern(0, AdvertisementDataType.SERVICE_DATA_UUID16, EDDYSTONE_SERVICE_DATA),
        OrPattern(0, AdvertisementDataType.MANUFACTURER_SPECIFIC_DATA, APPLE_IBEACON_PREFIX),
    ]


def scanner_kwargs(adapter: str, scan_mode: str) -> dict[str, Any]:
    """BleakScanner keyword arguments for this adapter and mode (bleak 3.x, BlueZ)."""
    bluez: dict[str, Any] = {"adapter": adapter}
    if scan_mode == "passive":
        # Passive scanning on BlueZ goes through an advertisement monitor, which needs patterns
        # (and bluetoothd started with --experimental on BlueZ < 5.65).
        bluez["or_patterns"] = passive_or_patterns()
    return {"scanning_mode": scan_mode, "bluez": bluez}


async def _power_cycle(adapter: str) -> None:
    """Switch the adapter off and on over BlueZ's D-Bus API, the watchdog's last resort."""
    # D-Bus rather than btmgmt: the 'bluetooth' group may set Adapter1.Powered under BlueZ's
    # policy, while the management socket needs CAP_NET_ADMIN, which the hardened unit drops.
    try:
        from dbus_fast import BusType, Variant
        from dbus_fast.aio import MessageBus

        bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        try:
            path = f"/org/bluez/{adapter}"
            introspection = await bus.introspect("org.bluez", path)
            properties = bus.get_proxy_object("org.bluez", path, introspection).get_interface(
                "org.freedesktop.DBus.Properties"
            )
            for powered in (False, True):
                await properties.call_set(  # type: ignore[attr-defined]
                    "org.bluez.Adapter1", "Powered", Variant("b", powered)
                )
                await asyncio.sleep(1.0)
        finally:
            bus.disconnect()
    except Exception as exc:  # a failed reset is logged; the next watchdog round tries again
        log.error("could not power-cycle %s over D-Bus: %s", adapter, exc)


class BleakSource:
    """Live advertisements from bleak's BleakScanner, with a watchdog for silent BlueZ stalls."""

    def __init__(
        self,
        sink: AdvertisementSink,
        adapter: str = "hci0",
        scan_mode: str = "active",
        watchdog_silence_s: float = 60.0,
        recorder: TraceRecorder | None = None,
        reset_adapter: Callable[[str], Awaitable[None]] = _power_cycle,
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        """Prepare a scanner; nothing touches the radio before `run`."""
        self._sink = sink
        self.adapter = adapter
        self.scan_mode = scan_mode
        self.watchdog_silence_s = watchdog_silence_s
        self._recorder = recorder
        self._reset_adapter = reset_adapter
        self._on_restart = on_restart
        self._last_heard = time.monotonic()
        self.restarts = 0
        self.advertisements = 0

    def _on_detect(self, device: Any, data: Any) -> None:
        # bleak calls this for every advertisement, thousands of times a minute: O(1) only.
        now = time.time()
        self._last_heard = time.monotonic()
        self.advertisements += 1
        self._sink(now, data.service_data, data.manufacturer_data, data.rssi)
        if self._recorder is not None:
            self._recorder.write(
                now,
                device.address,
                data.rssi,
                data.local_name,
                data.tx_power,
                data.service_data,
                data.manufacturer_data,
                data.service_uuids,
            )

    async def _start(self) -> Any:
        check_adapter(self.adapter)
        try:
            from bleak import BleakScanner
            from bleak.exc import BleakError
        except ImportError as exc:  # pragma: no cover - bleak is in the agent extra
            raise AdapterUnavailable(f"bleak is not installed ({exc}); install '.[agent]'") from exc
        try:
            scanner = BleakScanner(self._on_detect, **scanner_kwargs(self.adapter, self.scan_mode))
            await scanner.start()
        except FileNotFoundError as exc:
            raise AdapterUnavailable(
                f"cannot reach BlueZ on {self.adapter}: the system D-Bus is not running ({exc}); "
                "install and start bluez (bluetooth.service)"
            ) from exc
        except PermissionError as exc:
            raise AdapterUnavailable(
                f"not allowed to use {self.adapter} ({exc}); add this user to the 'bluetooth' "
                "group or run the agent as the beacon-agent service user"
            ) from exc
        except (BleakError, OSError) as exc:
            raise AdapterUnavailable(f"cannot start scanning on {self.adapter}: {exc}") from exc
        self._last_heard = time.monotonic()
        return scanner

    async def run(self, stop: asyncio.Event) -> None:
        """Scan until `stop` is set; restart a silent scan, then reset a still-silent adapter."""
        scanner = await self._start()
        silent_restarts = 0
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
                if time.monotonic() - self._last_heard < self.watchdog_silence_s:
                    silent_restarts = 0
                    continue
                # BlueZ can stop delivering advertisements without an error (DESIGN.md 5).
                self.restarts += 1
                silent_restarts += 1
                if self._on_restart is not None:
                    self._on_restart()
                log.warning(
                    "no advertisement for %.0f s on %s: restarting the scan (restart %d)",
                    self.watchdog_silence_s,
                    self.adapter,
                    self.restarts,
                )
                await scanner.stop()
                if silent_restarts >= 2:
                    log.warning("the scan is still silent: power-cycling %s", self.adapter)
                    await self._reset_adapter(self.adapter)
                scanner = await self._start()
        finally:
            await scanner.stop()
