"""Parser + tracker + publisher, driven by an injected clock (the scanner's, or a trace's).

`on_advertisement` is on the detection-callback path and stays O(1); `tick` runs once per report
interval, collects sightings and departures and hands a `SightingsReport` to the sink (the
publisher, which spools it before anything else).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from beacon_agent.config import REMOTE_KEYS, AgentConfig, ConfigError, parse_remote
from beacon_agent.frames import FrameParser
from beacon_agent.protocol import SightingsReport
from beacon_agent.publisher import Publisher
from beacon_agent.sources import TraceReplaySource
from beacon_agent.spool import Spool
from beacon_agent.tracking import TokenTracker, TrackingSettings

log = logging.getLogger(__name__)

ReportSink = Callable[[SightingsReport], object]


def tracking_settings(config: AgentConfig) -> TrackingSettings:
    """The tracker's settings from the agent's configuration."""
    return TrackingSettings(
        away_timeout_s=config.away_timeout_s,
        debounce_s=config.debounce_s,
        min_samples=config.min_samples,
        calibration_offset_db=config.calibration_offset_db,
        send_levels=config.send_levels,
        reference_rssi_1m=config.reference_rssi_1m,
        path_loss_exponent=config.path_loss_exponent,
    )


class _Rate:
    """Advertisements per second over the last completed ten-second window."""

    def __init__(self, window_s: float = 10.0) -> None:
        self._window_s = window_s
        self._start: float | None = None
        self._count = 0
        self.per_second = 0.0

    def add(self, now: float) -> None:
        if self._start is None:
            self._start = now
        elif now - self._start >= self._window_s:
            self.per_second = self._count / (now - self._start)
            self._start, self._count = now, 0
        self._count += 1


class Pipeline:
    """One agent's processing: advertisements in, numbered reports out."""

    def __init__(
        self,
        config: AgentConfig,
        sink: ReportSink,
        boot_id: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """`clock` gives "now" for telemetry; replay passes the trace's clock."""
        self.config = config
        self.boot_id = boot_id or secrets.token_hex(8)
        self.seq = 0
        self._sink = sink
        self._clock = clock
        self._parser = FrameParser(config.ibeacon_proximity_uuid)
        self._tracker = TokenTracker(tracking_settings(config))
        self._rate = _Rate()
        # The scanner's thread and the ticking thread share the tracker.
        self._lock = threading.Lock()
        self._last_now: float | None = None
        # Set by the scanner's watchdog (BleakSource), reported in the status.
        self.scanner_restarts = 0
        self.adapter_resets = 0

    @property
    def report_interval_s(self) -> float:
        """Seconds between ticks (the hub may change it)."""
        return self.config.report_interval_s

    def on_advertisement(
        self,
        now: float,
        service_data: Mapping[str, bytes],
        manufacturer_data: Mapping[int, bytes],
        rssi: float,
    ) -> None:
        """Take one advertisement heard at POSIX time `now` (O(1); never sees an address)."""
        with self._lock:
            self._last_now = now
            self._rate.add(now)
            frame = self._parser.parse(service_data, manufacturer_data)
            if frame is None:
                self._tracker.note_advertisement(now)
            else:
                self._tracker.observe(frame, rssi, now)

    def tick(self, now: float) -> SightingsReport | None:
        """Collect at `now`; hand a report to the sink if anything was seen or departed."""
        with self._lock:
            self._last_now = now
            sightings, departed = self._tracker.collect(now)
            if not sightings and not departed:
                return None
            report = SightingsReport(
                store_id=self.config.store_id,
                agent_id=self.config.agent_id,
                boot_id=self.boot_id,
                seq=self.seq,
                sent_at=datetime.fromtimestamp(now, UTC),
                sightings=sightings,
                departed=departed,
            )
            self.seq += 1
        # Outside the lock: the sink writes to disk, and the scanner must not wait for that.
        self._sink(report)
        return report

    def present_count(self) -> int:
        """Tokens present right now."""
        with self._lock:
            return self._tracker.present_count()

    def apply_remote(self, values: Mapping[str, Any]) -> None:
        """Apply hub-pushed keys (REMOTE_KEYS) from now on: the next tick uses them."""
        with self._lock:
            self.config = self.config.with_overrides(**values)
            self._tracker.update_settings(
                replace(
                    self._tracker.settings,
                    calibration_offset_db=self.config.calibration_offset_db,
                    send_levels=self.config.send_levels,
                )
            )
        log.info("applied the hub's config: %s", dict(values))

    def telemetry(self) -> dict[str, Any]:
        """Numbers for the status message."""
        with self._lock:
            last = self._tracker.last_advertisement_at()
            now = self._clock() if self._clock is not None else self._last_now
            age = None if last is None or now is None else round(max(0.0, now - last), 1)
            return {
                "boot_id": self.boot_id,
                "seq": self.seq,
                "zone": self.config.zone,
                "calibration_offset_db": self.config.calibration_offset_db,
                "report_interval_s": self.config.report_interval_s,
                "send_levels": self.config.send_levels,
                "advertisements_per_s": round(self._rate.per_second, 1),
                "tokens_present": self._tracker.present_count(),
                "last_advertisement_age_s": age,
                "scanner_restarts": self.scanner_restarts,
                "adapter_resets": self.adapter_resets,
                "frames": dict(self._parser.counts),
            }


def load_state(config: AgentConfig) -> AgentConfig:
    """The config with the hub's last pushed values (from state_path) applied, if any."""
    path = Path(config.state_path)
    try:
        state = json.loads(path.read_text())
        values = parse_remote(state.get("config", {}) if isinstance(state, dict) else state)
    except FileNotFoundError:
        return config
    except (OSError, ValueError, ConfigError) as exc:
        log.warning("ignoring the saved hub config in %s: %s", path, exc)
        return config
    return config.with_overrides(**values) if values else config


def save_state(config: AgentConfig, values: Mapping[str, Any]) -> None:
    """Persist the hub-pushed values atomically, so a restart without the broker keeps them."""
    path = Path(config.state_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    current: dict[str, Any] = {}
    try:
        saved = json.loads(path.read_text())
        if isinstance(saved, dict) and isinstance(saved.get("config"), dict):
            current = {k: v for k, v in saved["config"].items() if k in REMOTE_KEYS}
    except (OSError, ValueError):
        pass
    current.update(values)
    state = {"v": 1, "config": current, "saved_at": datetime.now(UTC).isoformat()}
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w") as handle:
        json.dump(state, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class Agent:
    """One running agent: the spool, the MQTT publisher and the pipeline, wired together."""

    def __init__(
        self,
        config: AgentConfig,
        clock: Callable[[], float] | None = None,
        boot_id: str | None = None,
    ) -> None:
        """Open the spool and prepare the session; `start` connects."""
        self.config = load_state(config)
        self.spool = Spool(Path(self.config.spool_path), self.config.spool_max_bytes)
        self.publisher = Publisher(
            self.config, self.spool, telemetry=self._telemetry, on_config=self._apply_remote
        )
        self.pipeline = Pipeline(self.config, self.publisher.submit, boot_id=boot_id, clock=clock)

    def _telemetry(self) -> dict[str, Any]:
        return self.pipeline.telemetry()

    def _apply_remote(self, values: dict[str, Any]) -> None:
        self.pipeline.apply_remote(values)
        save_state(self.config, values)
        self.publisher.publish_status()

    def start(self) -> None:
        """Connect (in the background) and start flushing the spool, oldest first."""
        if self.spool.depth():
            log.info("%d report(s) from a previous run wait in the spool", self.spool.depth())
        self.publisher.start()

    def stop(self, drain_timeout: float = 10.0) -> bool:
        """Drain (bounded), go offline, close the spool; True if every report was acked."""
        try:
            return self.publisher.stop(drain_timeout)
        finally:
            self.spool.close()


class Ticker:
    """Ticks a pipeline on the wall clock, once per (current) report interval, in a thread."""

    def __init__(self, pipeline: Pipeline, clock: Callable[[], float] = time.time) -> None:
        """Prepare; `start` begins ticking."""
        self._pipeline = pipeline
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="agent-ticker", daemon=True)

    def start(self) -> None:
        """Start ticking."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after a last tick, so nothing heard is left uncollected."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._pipeline.tick(self._clock())

    def _run(self) -> None:
        due = time.monotonic()
        while True:
            due += self._pipeline.report_interval_s
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            try:
                self._pipeline.tick(self._clock())
            except Exception:
                # A failed tick (say, a full disk) must not stop the next one.
                log.exception("report tick failed")


def replay(pipeline: Pipeline, source: TraceReplaySource) -> bool:
    """Feed a trace on its own clock, ticking every report interval, until everyone departed.

    Returns False if the replay was stopped early.
    """
    next_tick = source.start + pipeline.report_interval_s
    for advertisement in source.records():
        while next_tick <= advertisement.time:
            if not source.wait_until(next_tick):
                return False
            pipeline.tick(next_tick)
            next_tick += pipeline.report_interval_s
        if not source.wait_until(advertisement.time):
            return False
        pipeline.on_advertisement(*advertisement)
    # After the last record the trace goes quiet: keep the clock running until every present
    # token has hit the away timeout, so its departure is reported too.
    give_up = next_tick + pipeline.config.away_timeout_s + 3 * pipeline.report_interval_s
    while True:
        if not source.wait_until(next_tick):
            return False
        pipeline.tick(next_tick)
        next_tick += pipeline.report_interval_s
        if pipeline.present_count() == 0 or next_tick > give_up:
            return True
