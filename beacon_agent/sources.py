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
from typing import IO, TYPE_CHECKING, Any, NamedTuple, Protocol

from beacon_agent.protocol import format_timestamp

if TYPE_CHECKING:
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

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
        moment = datetime.fromtimestamp(time.time() if recorded_at is None else recorded_at, UTC)
        # The header carries milliseconds: start from exactly that instant, so that replayed
        # times (recorded_at + t) are the recorded ones.
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        self.start = moment.timestamp()
        self.count = 0
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[str] = path.open("w")
        header = {"trace": TRACE_VERSION, "recorded_at": format_timestamp(moment), "note": note}
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


class Scanner(Protocol):
    """What BleakSource needs of a scanner: BleakScanner's start and stop."""

    async def start(self) -> None:
        """Start delivering advertisements to the detection callback."""

    async def stop(self) -> None:
        """Stop scanning."""


DetectionCallback = Callable[["BLEDevice", "AdvertisementData"], None]
# Builds a scanner that calls the given detection callback; the default is bleak_scanner.
ScannerFactory = Callable[[DetectionCallback], Scanner]

# Watchdog steps, in escalation order, as passed to BleakSource's on_watchdog.
RESTART_SCAN = "restart_scan"
RESET_ADAPTER = "reset_adapter"
GIVE_UP = "give_up"


class ScannerStalled(RuntimeError):
    """The scan stayed silent through a restart and an adapter reset: exit for systemd."""


def bleak_scanner(callback: DetectionCallback, adapter: str, scan_mode: str) -> Scanner:
    """A BleakScanner on this BlueZ adapter and scan mode (raises AdapterUnavailable)."""
    check_adapter(adapter)
    try:
        from bleak import BleakScanner
    except ImportError as exc:  # pragma: no cover - bleak is in the agent extra
        raise AdapterUnavailable(f"bleak is not installed ({exc}); install '.[agent]'") from exc
    return BleakScanner(callback, **scanner_kwargs(adapter, scan_mode))


async def _power_cycle(adapter: str) -> None:
    """Switch the adapter off and on over BlueZ's D-Bus API, the watchdog's second step."""
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
    except Exception as exc:  # a failed reset is logged; if the scan stays silent, we exit
        log.error("could not power-cycle %s over D-Bus: %s", adapter, exc)


def _has_payload(data: AdvertisementData) -> bool:
    """Whether an advertisement carries anything (BlueZ may report bare RSSI updates)."""
    return bool(
        data.service_data or data.manufacturer_data or data.service_uuids or data.local_name
    )


class BleakSource:
    """Live advertisements from a BleakScanner, with a watchdog for silent BlueZ stalls.

    Watchdog: no non-empty advertisement for `watchdog_silence_s` -> stop and restart the scan;
    still silent for as long again -> power-cycle the adapter and restart the scan; still silent
    -> raise ScannerStalled, which the CLI turns into a non-zero exit for systemd to restart.
    An advertisement heard at any point starts the escalation over.
    """

    def __init__(
        self,
        sink: AdvertisementSink,
        adapter: str = "hci0",
        scan_mode: str = "active",
        watchdog_silence_s: float = 60.0,
        recorder: TraceRecorder | None = None,
        reset_adapter: Callable[[str], Awaitable[None]] = _power_cycle,
        on_watchdog: Callable[[str], None] | None = None,
        scanner_factory: ScannerFactory | None = None,
    ) -> None:
        """Prepare a scanner; nothing touches the radio before `run`."""
        self._sink = sink
        self.adapter = adapter
        self.scan_mode = scan_mode
        self.watchdog_silence_s = watchdog_silence_s
        self._recorder = recorder
        self._reset_adapter = reset_adapter
        self._on_watchdog = on_watchdog
        self._make_scanner: ScannerFactory = scanner_factory or (
            lambda callback: bleak_scanner(callback, adapter, scan_mode)
        )
        self._scan_started = time.monotonic()
        self._last_heard = float("-inf")
        self.restarts = 0
        self.adapter_resets = 0
        self.advertisements = 0

    def on_detect(self, device: BLEDevice, data: AdvertisementData) -> None:
        """BleakScanner's detection callback: hand the payloads on (O(1), never blocks)."""
        # bleak calls this for every advertisement, thousands of times a minute.
        now = time.time()
        if _has_payload(data):
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

    async def _start(self) -> Scanner:
        try:
            from bleak.exc import BleakError
        except ImportError as exc:  # pragma: no cover - bleak is in the agent extra
            raise AdapterUnavailable(f"bleak is not installed ({exc}); install '.[agent]'") from exc
        try:
            scanner = self._make_scanner(self.on_detect)
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
        self._scan_started = time.monotonic()
        return scanner

    async def _stop(self, scanner: Scanner) -> None:
        try:
            await scanner.stop()
        except Exception as exc:  # a wedged BlueZ may fail to stop; starting again may still work
            log.warning("could not stop the scan on %s cleanly: %s", self.adapter, exc)

    def _step(self, step: str) -> None:
        if self._on_watchdog is not None:
            self._on_watchdog(step)

    async def run(self, stop: asyncio.Event) -> None:
        """Scan until `stop` is set; raise ScannerStalled if the watchdog's remedies fail."""
        scanner = await self._start()
        scanning = True
        # Check a few times per silence period, at least once a second.
        check_every = min(1.0, self.watchdog_silence_s / 5)
        steps = 0  # watchdog steps taken since the last advertisement
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=check_every)
                if stop.is_set():
                    break
                if self._last_heard >= self._scan_started:
                    steps = 0  # heard something since the last (re)start: healthy again
                quiet_since = max(self._last_heard, self._scan_started)
                if time.monotonic() - quiet_since < self.watchdog_silence_s:
                    continue
                # BlueZ can stop delivering advertisements without an error (DESIGN.md 5).
                steps += 1
                await self._stop(scanner)
                scanning = False
                if steps >= 3:
                    log.error(
                        "no advertisement on %s through a scan restart and an adapter reset: "
                        "exiting so that systemd restarts the agent",
                        self.adapter,
                    )
                    self._step(GIVE_UP)
                    raise ScannerStalled(
                        f"the scan on {self.adapter} stayed silent for "
                        f"{3 * self.watchdog_silence_s:.0f} s through a restart and an adapter "
                        "reset"
                    )
                if steps == 2:
                    self.adapter_resets += 1
                    log.warning(
                        "still no advertisement on %s after restarting the scan: power-cycling "
                        "the adapter (reset %d)",
                        self.adapter,
                        self.adapter_resets,
                    )
                    self._step(RESET_ADAPTER)
                    await self._reset_adapter(self.adapter)
                self.restarts += 1
                log.warning(
                    "no advertisement for %g s on %s: restarting the scan (restart %d)",
                    self.watchdog_silence_s,
                    self.adapter,
                    self.restarts,
                )
                self._step(RESTART_SCAN)
                scanner = await self._start()
                scanning = True
        finally:
            if scanning:
                await self._stop(scanner)
