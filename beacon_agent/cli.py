"""`beacon-agent`: run a store device's agent, replay or record traces, and check the set-up.

Subcommands: run, replay, record, scan, calibrate, doctor. Errors an IT technician can fix are
printed as one plain sentence (never a traceback) with a distinct exit status:
2 bad config or trace, 3 Bluetooth unavailable, 4 spool not writable, 5 the scan went silent
and the watchdog gave up (systemd restarts the agent), 1 anything else failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from beacon_agent.config import ConfigError, load_config
from beacon_agent.sources import (
    AdapterUnavailable,
    BleakSource,
    ScannerStalled,
    TraceError,
    TraceRecorder,
)
from beacon_agent.spool import SpoolError

log = logging.getLogger("beacon_agent")

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_ADAPTER = 3
EXIT_SPOOL = 4
EXIT_STALLED = 5


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

    def watchdog_step(_step: str) -> None:
        # Counted in the retained status, so the hub sees a flaky adapter before it fails.
        agent.pipeline.scanner_restarts = source.restarts
        agent.pipeline.adapter_resets = source.adapter_resets
        agent.publisher.publish_status()

    source = BleakSource(
        agent.pipeline.on_advertisement,
        adapter=config.adapter,
        scan_mode=config.scan_mode,
        watchdog_silence_s=config.watchdog_silence_s,
        on_watchdog=watchdog_step,
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


def _scan(args: argparse.Namespace) -> int:
    from beacon_agent.pipeline import Pipeline, Ticker
    from beacon_agent.scan_view import ScanTable
    from beacon_agent.sources import check_adapter

    config = load_config(args.config)
    check_adapter(config.adapter)
    # The agent's own pipeline, minus the publisher: the table shows what `run` would report.
    table = ScanTable()
    pipeline = Pipeline(config, table.update, clock=time.time)
    ticker = Ticker(pipeline)
    source = BleakSource(
        pipeline.on_advertisement,
        adapter=config.adapter,
        scan_mode=config.scan_mode,
        watchdog_silence_s=config.watchdog_silence_s,
    )
    stop = threading.Event()

    def show() -> None:
        while not stop.wait(1.0):
            screen = table.render(time.time(), pipeline.telemetry()["frames"])
            print("\033[2J\033[H" + screen, flush=True)

    printer = threading.Thread(target=show, daemon=True)
    ticker.start()
    printer.start()
    try:
        asyncio.run(_scan_until(source, stop, args.seconds))
    finally:
        stop.set()
        ticker.stop()
    print(table.render(time.time(), pipeline.telemetry()["frames"]))
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from beacon_agent.scan_view import TokenSamples, strongest_median
    from beacon_agent.sources import check_adapter

    config = load_config(args.config)
    check_adapter(config.adapter)
    heard = TokenSamples(config.ibeacon_proximity_uuid)
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


def _doctor(args: argparse.Namespace) -> int:
    from beacon_agent.doctor import run_checks, summary

    config = load_config(args.config)
    lines, passed = summary(run_checks(config, broker_timeout=args.timeout))
    print("\n".join(lines), flush=True)
    return 0 if passed else EXIT_FAILED


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
    except ScannerStalled as exc:
        print(
            f"beacon-agent: {exc}; exiting so that systemd restarts the agent (if this repeats, "
            "check the adapter with `beacon-agent doctor` and `journalctl -u bluetooth`)",
            file=sys.stderr,
        )
        return EXIT_STALLED
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
