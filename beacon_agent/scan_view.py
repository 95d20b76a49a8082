"""What `scan` and `calibrate` show an IT technician: live token tables and raw RSSI samples."""

from __future__ import annotations

import statistics
import threading
import uuid
from collections.abc import Mapping

from beacon_agent.frames import EDDYSTONE_EID, IBEACON, FrameParser
from beacon_agent.protocol import Sighting, SightingsReport

_KINDS = {"eid:": EDDYSTONE_EID, "ib:": IBEACON}


def token_kind(token: str) -> str:
    """The frame kind a token came from, by its prefix (contract section 2)."""
    for prefix, kind in _KINDS.items():
        if token.startswith(prefix):
            return kind
    return "?"


class ScanTable:
    """The latest sighting of every present token, fed by a Pipeline's reports."""

    def __init__(self) -> None:
        """Start empty."""
        self._rows: dict[str, Sighting] = {}
        # Reports arrive on the ticker's thread; the screen is drawn from another.
        self._lock = threading.Lock()

    def update(self, report: SightingsReport) -> None:
        """Take one report: refresh its tokens' rows and remove the departed ones."""
        with self._lock:
            for sighting in report.sightings:
                self._rows[sighting.token] = sighting
            for token in report.departed:
                self._rows.pop(token, None)

    def render(self, now: float, frames: Mapping[str, int] | None = None) -> str:
        """The table at POSIX time `now`, strongest first, then a count of every frame kind."""
        lines = [f"{'token':<22} {'kind':<14} {'rssi':>6} {'dist_m':>7} {'samples':>7} {'seen':>6}"]
        with self._lock:
            rows = sorted(self._rows.values(), key=lambda s: (-s.rssi, s.token))
        for row in rows:
            distance = "?" if row.distance_m is None else f"{row.distance_m:.1f}"
            age = max(0.0, now - row.last_seen.timestamp())
            lines.append(
                f"{row.token:<22} {token_kind(row.token):<14} {row.rssi:>6.1f} {distance:>7} "
                f"{row.samples:>7} {age:>5.0f}s"
            )
        if not rows:
            lines.append("(no shopper token present yet)")
        counts = ", ".join(
            f"{kind} {count}" for kind, count in sorted((frames or {}).items()) if count
        )
        lines.append(f"frames heard: {counts or 'none yet'}")
        return "\n".join(lines)


class TokenSamples:
    """Raw RSSI per token, as heard by a calibration run (payloads only)."""

    def __init__(self, ibeacon_uuid: uuid.UUID | None = None) -> None:
        """Accept iBeacon tokens under the retailer's UUID (as the pipeline does)."""
        self.parser = FrameParser(ibeacon_uuid)
        self.samples: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def __call__(
        self,
        now: float,
        service_data: Mapping[str, bytes],
        manufacturer_data: Mapping[int, bytes],
        rssi: float,
    ) -> None:
        """Take one advertisement (an AdvertisementSink)."""
        frame = self.parser.parse(service_data, manufacturer_data)
        if frame is None:
            return
        with self._lock:
            window = self.samples.setdefault(frame.token, [])
            window.append(float(rssi))
            del window[:-500]  # bounded: a calibration needs a few hundred samples at most


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
