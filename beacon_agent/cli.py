"""`beacon-agent`: run a store device's agent, replay or record traces, and check the set-up.

Subcommands: run, replay, record, scan, calibrate, doctor. Errors an IT technician can fix are
printed as one plain sentence (never a traceback) with a distinct exit status:
2 bad config or trace, 3 Bluetooth unavailable, 4 spool not writable, 1 anything else failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import grp
import logging
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from beacon_agent.config import AgentConfig, ConfigError, load_config
from beacon_agent.sources import AdapterUnavailable, BleakSource, TraceError, TraceRecorder
from beacon_agent.spool import SpoolError

log = logging.getLogger("beacon_agent")

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_ADAPTER = 3
EXIT_SPOOL = 4


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn SIGTERM (systemd) and SIGINT (Ctrl-C) into a graceful stop."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _replay(args: argparse.Namespace) -> int:
    from beacon_agent.pipeline import Agent, replay
    from beacon_agent.sources import TraceReplaySource

    config = load_config(args.config)
    stop = threading.Event()
    source = TraceReplaySource(args.trace, speed=args.speed, stop=stop)
    agent = Agent(config)
    with _stop_on_signals(stop):
        agent.start()
        if agent.publisher.wait_ready(args.connect_timeout):
            # The broker sends our retained config right after the SUBACK: let it land first.
            time.sleep(0.2)
        else:
            log.warning("broker %s not reachable yet: reports are spooled", config.broker_url)
        finished = replay(agent.pipeline, source)
    reports = agent.pipeline.seq
    drained = agent.stop(drain_timeout=args.drain_timeout)
    print(
        f"replayed {source.path.name}: {reports} report(s), boot_id {agent.pipeline.boot_id}"
        + ("" if finished else " (stopped early)")
        + ("; all acknowledged by the broker" if drained else "; some are still in the spool"),
        flush=True,
    )
    return 0 if drained else EXIT_FAILED


async def _scan_until(source: BleakSource, stop: threading.Event, seconds: float | None) -> None:
    """Run a BleakSource until a signal, `stop`, or `seconds` elapse."""
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    deadline = None if seconds is None else time.monotonic() + seconds

    async def watch() -> None:
        while not done.is_set():
            if stop.is_set() or (deadline is not None and time.monotonic() >= deadline):
                done.set()
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch())
    try:
        await source.run(done)
    finally:
        done.set()
        await watcher


def _run(args: argparse.Namespace) -> int:
    from beacon_agent.pipeline import Agent, Ticker
    from beacon_agent.sources import check_adapter

    config = load_config(args.config)
    check_adapter(config.adapter)  # before the broker: the radio is what this device is for
    agent = Agent(config, clock=time.time)
    ticker = Ticker(agent.pipeline)

    def restarted() -> None:
        agent.pipeline.scanner_restarts += 1
        agent.publisher.publish_status()

    source = BleakSource(
        agent.pipeline.on_advertisement,
        adapter=config.adapter,
        scan_mode=config.scan_mode,
        watchdog_silence_s=config.watchdog_silence_s,
        on_restart=restarted,
    )
    agent.start()
    ticker.start()
    log.info(
        "agent %s/%s scanning on %s (%s), publishing to %s",
        config.store_id,
        config.agent_id,
        config.adapter,
        config.scan_mode,
        config.broker_url,
    )
    try:
        asyncio.run(_scan_until(source, threading.Event(), None))
    finally:
        ticker.stop()
        agent.stop(drain_timeout=10.0)
    return 0


def _record(args: argparse.Namespace) -> int:
    from beacon_agent.sources import check_adapter

    config = load_config(args.config)
    check_adapter(config.adapter)
    recorder = TraceRecorder(args.out, note=args.note)
    source = BleakSource(
        lambda *_: None,
        adapter=config.adapter,
        scan_mode=config.scan_mode,
        watchdog_silence_s=config.watchdog_silence_s,
        recorder=recorder,
    )
    try:
        asyncio.run(_scan_until(source, threading.Event(), args.seconds))
    finally:
        recorder.close()
    print(
        f"recorded {recorder.count} advertisement(s) to {args.out}; it contains Bluetooth "
        "addresses: keep it on this device or delete it after use"
    )
    return 0


class _TokenSamples:
    """Raw RSSI per token, as heard by a scan or calibration run (payloads only)."""

    def __init__(self, config: AgentConfig) -> None:
        from beacon_agent.frames import FrameParser

        self.parser = FrameParser(config.ibeacon_proximity_uuid)
        self.samples: dict[str, list[float]] = {}
        self.last: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(
        self,
        now: float,
        service_data: Mapping[str, bytes],
        manufacturer_data: Mapping[int, bytes],
        rssi: float,
    ) -> None:
        frame = self.parser.parse(service_data, manufacturer_data)
        if frame is None:
            return
        with self._lock:
            window = self.samples.setdefault(frame.token, [])
            window.append(float(rssi))
            del window[:-500]  # bounded: a calibration needs a few hundred samples at most
            self.last[frame.token] = now


def strongest_median(samples: Mapping[str, list[float]]) -> tuple[str, float, int] | None:
    """The token with the highest median RSSI: (token, median, samples), or None if none."""
    best: tuple[str, float, int] | None = None
    for token, values in samples.items():
        if not values:
            continue
        median = statistics.median(values)
        if best is None or median > best[1]:
            best = (token, median, len(values))
    return best


def _scan_table(heard: _TokenSamples, now: float) -> str:
    lines = [f"{'token':<22} {'rssi':>6} {'median':>7} {'n':>5} {'age':>5}"]
    with heard._lock:
        for token, values in sorted(heard.samples.items(), key=lambda kv: -kv[1][-1]):
            recent = values[-20:]
            age = now - heard.last[token]
            lines.append(
                f"{token:<22} {values[-1]:>6.0f} {statistics.median(recent):>7.1f} "
                f"{len(values):>5} {age:>4.0f}s"
            )
    counts = ", ".join(f"{kind} {n}" for kind, n in heard.parser.counts.most_common())
    lines.append(f"frames: {counts or 'none yet'}")
    return "\n".join(lines)


def _scan(args: argparse.Namespace) -> int:
    from beacon_agent.sources import check_adapter

    config = load_config(args.config)
    check_adapter(config.adapter)
    heard = _TokenSamples(config)
    source = BleakSource(heard, adapter=config.adapter, scan_mode=config.scan_mode)
    stop = threading.Event()

    def show() -> None:
        while not stop.wait(1.0):
            print("\033[2J\033[H" + _scan_table(heard, time.time()), flush=True)

    printer = threading.Thread(target=show, daemon=True)
    printer.start()
    try:
        asyncio.run(_scan_until(source, stop, args.seconds))
    finally:
        stop.set()
    print(_scan_table(heard, time.time()))
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from beacon_agent.sources import check_adapter

    config = load_config(args.config)
    check_adapter(config.adapter)
    heard = _TokenSamples(config)
    source = BleakSource(heard, adapter=config.adapter, scan_mode=config.scan_mode)
    print(
        f"Hold the phone (app open, advertising) 1 m from this device for {args.seconds:.0f} s..."
    )
    asyncio.run(_scan_until(source, threading.Event(), args.seconds))
    best = strongest_median(heard.samples)
    if best is None:
        print("No shopper token was heard. Is the app advertising and Bluetooth on?")
        return EXIT_FAILED
    token, median, count = best
    # The tracker compares calibrated RSSI (raw + offset) with the reference.
    reference = round(median + config.calibration_offset_db)
    print(f"Strongest token {token}: median RSSI {median:.1f} dBm over {count} advertisements.")
    print("Put this in the agent's config file:")
    print(f"reference_rssi_1m = {reference}")
    return 0


@dataclass(frozen=True)
class Check:
    """One doctor verdict: ok True (pass), False (fail) or None (cannot tell)."""

    name: str
    ok: bool | None
    detail: str


def _check_adapter(config: AgentConfig) -> Check:
    from beacon_agent.sources import check_adapter

    try:
        check_adapter(config.adapter)
    except AdapterUnavailable as exc:
        return Check("Bluetooth adapter", False, str(exc))
    return Check("Bluetooth adapter", True, f"{config.adapter} is present")


def _check_bluez(config: AgentConfig) -> Check:
    tool = shutil.which("bluetoothctl")
    if tool is None:
        return Check(
            "BlueZ", False, "bluetoothctl not found: install bluez (apt-get install bluez)"
        )
    try:
        result = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("BlueZ", None, f"could not run bluetoothctl --version: {exc}")
    version = result.stdout.strip().split()[-1] if result.stdout.strip() else "unknown"
    detail = f"BlueZ {version}"
    if config.scan_mode == "passive":
        detail += "; passive scanning needs BlueZ >= 5.56 started with --experimental"
    return Check("BlueZ", True, detail)


def _check_permissions(config: AgentConfig) -> Check:
    bus = Path("/run/dbus/system_bus_socket")
    if not bus.exists():
        return Check(
            "D-Bus", False, f"{bus} is missing: the system D-Bus (and BlueZ) is not running"
        )
    if os.geteuid() == 0:
        return Check("Permissions", True, "running as root (the service runs as beacon-agent)")
    try:
        group = grp.getgrnam("bluetooth")
    except KeyError:
        return Check("Permissions", None, "no 'bluetooth' group here; BlueZ's D-Bus policy decides")
    if group.gr_gid in os.getgroups():
        return Check("Permissions", True, "this user is in the 'bluetooth' group")
    return Check(
        "Permissions",
        False,
        "this user is not in the 'bluetooth' group: sudo usermod -aG bluetooth $USER "
        "(or run as the beacon-agent service user)",
    )


def _check_broker(config: AgentConfig, timeout: float) -> Check:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from beacon_agent.mqtt_session import BrokerAddress

    address = BrokerAddress.parse(config.broker_url)
    name = f"Broker {address.host}:{address.port}"
    # A throwaway clean session under its own id: never disturbs the running agent's session.
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"beacon-agent-doctor-{config.agent_id}-{os.getpid()}",
        protocol=mqtt.MQTTv5 if config.mqtt_protocol == "5" else mqtt.MQTTv311,
    )
    if config.username:
        client.username_pw_set(config.username, config.password)
    outcome: list[str] = []
    done = threading.Event()

    def on_connect(*callback_args: object) -> None:
        reason = callback_args[3]
        outcome.append(str(reason))
        done.set()

    client.on_connect = on_connect
    try:
        if address.tls:
            client.tls_set(ca_certs=config.tls_ca, certfile=config.tls_cert, keyfile=config.tls_key)
        client.connect_timeout = timeout
        client.connect(address.host, address.port, keepalive=int(max(5, timeout)))
    except (OSError, ValueError) as exc:
        return Check(name, False, f"cannot connect: {exc} (is the broker running and reachable?)")
    client.loop_start()
    try:
        if not done.wait(timeout):
            return Check(name, False, f"no answer within {timeout:.0f} s")
    finally:
        client.disconnect()
        client.loop_stop()
    if outcome[0] != "Success":
        return Check(name, False, f"refused: {outcome[0]} (check username/password/certificates)")
    return Check(name, True, "connected with these credentials")


def _check_clock() -> Check:
    tool = shutil.which("timedatectl")
    if tool is None:
        return Check(
            "Clock",
            None,
            "cannot tell (no timedatectl); MQTT carries no time, so run NTP (chrony or "
            "systemd-timesyncd); the hub also reports each agent's clock offset",
        )
    try:
        result = subprocess.run(
            [tool, "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("Clock", None, f"could not ask timedatectl: {exc}")
    if result.stdout.strip() == "yes":
        return Check("Clock", True, "synchronised by NTP")
    if result.returncode != 0:
        return Check("Clock", None, "timedatectl cannot tell (no systemd here?); run NTP")
    return Check("Clock", False, "not synchronised: sudo timedatectl set-ntp true")


def _check_spool(config: AgentConfig) -> Check:
    from beacon_agent.spool import Spool

    try:
        spool = Spool(Path(config.spool_path), config.spool_max_bytes)
        try:
            spool.check_writable()
            depth, dropped = spool.depth(), spool.dropped()
        finally:
            spool.close()
    except SpoolError as exc:
        return Check("Spool", False, f"{exc}; make its directory writable by the agent's user")
    return Check(
        "Spool", True, f"{config.spool_path} is writable; {depth} waiting, {dropped} ever dropped"
    )


def _check_state(config: AgentConfig) -> Check:
    folder = Path(config.state_path).resolve().parent
    while not folder.exists():
        folder = folder.parent
    if os.access(folder, os.W_OK):
        return Check("State file", True, f"{config.state_path} can be written")
    return Check("State file", False, f"{folder} is not writable: the hub's config cannot be kept")


def run_checks(config: AgentConfig, broker_timeout: float = 5.0) -> list[Check]:
    """Every doctor check, in the order a technician would fix them."""
    return [
        _check_adapter(config),
        _check_bluez(config),
        _check_permissions(config),
        _check_broker(config, broker_timeout),
        _check_clock(),
        _check_spool(config),
        _check_state(config),
    ]


def _doctor(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    failures = 0
    for check in run_checks(config, broker_timeout=args.timeout):
        mark = {True: " OK ", False: "FAIL", None: " ?? "}[check.ok]
        print(f"[{mark}] {check.name}: {check.detail}", flush=True)
        failures += check.ok is False
    print(
        "All checks passed."
        if not failures
        else f"{failures} check(s) failed: fix them (see above) and run doctor again."
    )
    return EXIT_FAILED if failures else 0


def build_parser() -> argparse.ArgumentParser:
    """The command line of beacon-agent."""
    parser = argparse.ArgumentParser(prog="beacon-agent", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace], int], text: str) -> Any:
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument(
            "--config", type=Path, help="TOML config file (BEACON_AGENT_* env overrides it)"
        )
        sub.set_defaults(handler=handler)
        return sub

    command("run", _run, "scan with the Bluetooth adapter and publish presence reports")

    replay = command("replay", _replay, "feed a recorded trace through the agent's pipeline")
    replay.add_argument("trace", type=Path, help="JSONL trace (from `beacon-agent record`)")
    replay.add_argument(
        "--speed", type=float, default=1.0, help="1 = real time (default), 0 = as fast as possible"
    )
    replay.add_argument(
        "--connect-timeout", type=float, default=5.0, help="seconds to wait for the broker first"
    )
    replay.add_argument(
        "--drain-timeout", type=float, default=30.0, help="seconds to wait for the broker's acks"
    )

    record = command("record", _record, "record advertisements to a trace file (stays local)")
    record.add_argument("out", type=Path, help="trace file to write")
    record.add_argument("--seconds", type=float, required=True, help="how long to record")
    record.add_argument("--note", default="", help="a note stored in the trace header")

    scan = command("scan", _scan, "show the shopper tokens this device hears, live")
    scan.add_argument("--seconds", type=float, default=None, help="stop after this long")

    calibrate = command("calibrate", _calibrate, "measure reference_rssi_1m with a phone at 1 m")
    calibrate.add_argument("--seconds", type=float, default=30.0, help="how long to measure")

    doctor = command("doctor", _doctor, "check adapter, BlueZ, broker, clock and spool")
    doctor.add_argument("--timeout", type=float, default=5.0, help="broker connect timeout (s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the beacon-agent console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        result: int = args.handler(args)
    except (ConfigError, TraceError) as exc:
        print(f"beacon-agent: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except AdapterUnavailable as exc:
        print(f"beacon-agent: Bluetooth is not available: {exc}", file=sys.stderr)
        return EXIT_ADAPTER
    except SpoolError as exc:
        print(
            f"beacon-agent: {exc}; check that spool_path is on a writable disk owned by the "
            "agent's user",
            file=sys.stderr,
        )
        return EXIT_SPOOL
    except KeyboardInterrupt:
        return 130
    return result
