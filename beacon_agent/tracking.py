"""Per-token RSSI smoothing, presence debounce and away timeout; pure, the clock is injected.

`observe` is on the detection-callback path and does O(1) work (a dict look-up, bounded list
appends, amortised O(1) trimming of samples older than the window, a few attribute updates); the
RSSI filter runs only in `collect`, once per token per report interval, so its cost does not
scale with the advertising rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from beacon_agent.frames import EDDYSTONE_EID, TokenFrame
from beacon_agent.protocol import MAX_LEVEL_OFFSET_MS, MAX_LEVELS, Sighting

# HCI reports RSSI in -127..+20 dBm (127 means "not available"); the wire schema uses the same
# range, so raw values outside it are not measurements and calibrated ones are clamped into it.
RSSI_MIN = -127.0
RSSI_MAX = 20.0
# Eddystone ranging data is the power at 0 m; the spec's rule of thumb is 41 dB of loss to 1 m.
EDDYSTONE_0M_TO_1M_DB = 41.0
# A 1 m reference outside this band is not a calibration (iOS treats measured power 0 as "unset").
_REFERENCE_MIN = -100.0
_REFERENCE_MAX = -20.0
MIN_DISTANCE_M = 0.1


@dataclass(frozen=True)
class TrackingSettings:
    """How raw advertisements become per-interval sightings and departures."""

    # Locked phones go quiet for tens of seconds (DESIGN.md section 5), so 60-180 s, not 30 s.
    away_timeout_s: float = 90.0
    # Presence needs min_samples advertisements spread over at least debounce_s. The time span
    # matters as much as the count: with duplicate filtering off, BlueZ reports one advertising
    # event once per primary channel (37/38/39), i.e. three samples within ~10 ms from a phone
    # that was in range for an instant. A phone in the slowest Android mode (1 Hz) that is really
    # here meets 3 samples over 2 s within a few seconds, even with scan losses.
    debounce_s: float = 2.0
    min_samples: int = 3
    calibration_offset_db: float = 0.0
    # In calibrated dBm. None: derive from the frame's tx_power (Eddystone 0 m -> 1 m is -41 dB;
    # iBeacon measured power is already at 1 m).
    reference_rssi_1m: float | None = None
    path_loss_exponent: float = 2.0
    max_distance_m: float = 50.0
    # RSSI filter over the raw samples of the last window_s seconds (at least
    # window_min_samples of them, at most window_size): with `trend`, the level at the newest
    # sample of a line fitted to them (no lag on a walking shopper's ramp); without, their mean
    # (no lag only when standing). Either way samples more than outlier_db off the median (or off
    # the line) are ignored: see _robust_mean for why this and not a Kalman filter. The span is
    # set in time, not in samples: a count of 10 was 1 s of a 10 Hz phone but 3.3 s of a 3 Hz
    # one. window_size only bounds memory. Defaults from bench/accuracy.py (bench/README.md).
    window_size: int = 40
    outlier_db: float = 5.0
    window_s: float = 4.0
    window_min_samples: int = 3
    trend: bool = True
    # A silence longer than this restarts the RSSI window (the old samples describe a place the
    # phone may have left) and, for a token not yet present, restarts its debounce.
    gap_reset_s: float = 10.0
    # Hard ceiling on tracked tokens so a flood of one-off tokens cannot grow memory without
    # bound; new tokens beyond it are dropped (and counted) until collect() forgets stale ones.
    max_tokens: int = 4096
    # Opt-in (the hub asks through its config): each sighting also carries the calibrated level
    # of every advertisement since the previous collect, for a hub that tracks position itself.
    # They are read from the RSSI window at collect time, so observe() does no extra work and a
    # report interval longer than window_s (or more than window_size samples) sends the newest.
    send_levels: bool = False

    def __post_init__(self) -> None:
        """Reject settings that would make the tracker meaningless."""
        checks = {
            "away_timeout_s": self.away_timeout_s > 0,
            "debounce_s": self.debounce_s >= 0,
            "min_samples": self.min_samples >= 1,
            "path_loss_exponent": self.path_loss_exponent > 0,
            "max_distance_m": self.max_distance_m >= MIN_DISTANCE_M,
            "window_size": self.window_size >= 1,
            "window_s": self.window_s > 0,
            "window_min_samples": 1 <= self.window_min_samples <= self.window_size,
            "outlier_db": self.outlier_db > 0,
            "gap_reset_s": self.gap_reset_s > 0,
            "max_tokens": self.max_tokens >= 1,
            "calibration_offset_db": math.isfinite(self.calibration_offset_db),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid tracking settings: {', '.join(bad)}")


class _Track:
    """What the tracker remembers about one token: a few numbers and a bounded window."""

    __slots__ = (
        "first_heard",
        "heard",
        "kind",
        "last_heard",
        "present",
        "samples",
        "since",
        "times",
        "tx_power",
        "window",
    )

    def __init__(self, now: float, kind: str) -> None:
        self.first_heard = now  # start of the current uninterrupted run (for the debounce)
        self.heard = 0  # samples in the current run while not yet present
        self.last_heard = now
        self.present = False
        # A short list, not deque(maxlen=...): a deque costs 760 bytes even when nearly empty.
        self.window: list[float] = []
        self.times: list[float] = []  # when each sample in `window` was heard
        self.samples = 0  # since the last collect
        self.since = now  # first sample since the last collect
        self.tx_power: int | None = None
        self.kind = kind


def _robust_mean(window: list[float], outlier_db: float) -> float:
    """Mean of the samples within outlier_db of the window's median (the median if none are)."""
    # Why not a Kalman filter: multipath fades and body shadowing are one-sided, heavy-tailed
    # drops of 5-20 dB, not Gaussian noise; a Kalman filter follows each one part of the way,
    # while the median anchor ignores them outright until they become the majority (when the
    # signal really has changed). The window is a few dozen floats, so sorting it is cheap.
    median = _median(window)
    kept = [value for value in window if abs(value - median) <= outlier_db]
    return sum(kept) / len(kept) if kept else median


def _line(values: list[float], times: list[float]) -> tuple[float, float, float]:
    """Least-squares line through (times, values): (mean time, level there, slope in dB/s)."""
    n = len(values)
    t_mean = sum(times) / n
    v_mean = sum(values) / n
    sxx = sum((t - t_mean) ** 2 for t in times)
    if n < 3 or sxx <= 0.0:
        return t_mean, v_mean, 0.0
    sxy = sum((t - t_mean) * (v - v_mean) for t, v in zip(times, values, strict=True))
    return t_mean, v_mean, sxy / sxx


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _robust_trend(window: list[float], times: list[float], outlier_db: float) -> float:
    """Level at the newest sample of a line through the window, fitted without outliers."""
    # A walking shopper's RSSI is a ramp over a few seconds: a mean (or median) of the window
    # reports where the phone was half a window ago, a line evaluated at its newest sample has no
    # lag on a ramp. A least-squares line would be dragged by a fade on the newest sample (the
    # point with the most leverage), so outliers are judged against a resistant line first
    # (slope between the medians of the two halves, level at the median residual), then the
    # least-squares line is fitted to what is left.
    n = len(window)
    if n < 4:
        return _robust_mean(window, outlier_db)
    half = n // 2
    dt = _median(times[half:]) - _median(times[:half])
    slope = (_median(window[half:]) - _median(window[:half])) / dt if dt > 0 else 0.0
    t_ref = times[-1]
    level = _median([v - slope * (t - t_ref) for t, v in zip(times, window, strict=True)])
    kept = [
        i
        for i, (t, v) in enumerate(zip(times, window, strict=True))
        if abs(v - level - slope * (t - t_ref)) <= outlier_db
    ]
    if len(kept) < 3:
        return level
    t_mean, v_mean, fitted = _line([window[i] for i in kept], [times[i] for i in kept])
    return v_mean + fitted * (t_ref - t_mean)


def _monotonic_offsets(offsets: list[int]) -> list[int]:
    """Offsets made non-decreasing and clamped to the wire's 0..MAX_LEVEL_OFFSET_MS."""
    # A wall clock stepped back makes a later sample look earlier; the wire requires order, and
    # holding the previous offset keeps each sample's level without inventing a time for it.
    fixed: list[int] = []
    previous = 0
    for offset in offsets:
        previous = min(MAX_LEVEL_OFFSET_MS, max(previous, offset))
        fixed.append(previous)
    return fixed


def _utc(moment: float) -> datetime:
    """POSIX seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(moment, UTC)


class TokenTracker:
    """Turns token frames with RSSI into smoothed per-interval sightings and departures."""

    def __init__(self, settings: TrackingSettings) -> None:
        """Start with no tokens and no advertisement heard."""
        self._tracks: dict[str, _Track] = {}
        self._present = 0
        self._last_advertisement: float | None = None
        self.dropped = 0  # new tokens refused because max_tokens was reached
        self._apply(settings)

    def _apply(self, settings: TrackingSettings) -> None:
        # Hot-path settings as plain attributes: observe() runs thousands of times a minute.
        self._settings = settings
        self._min_samples = settings.min_samples
        self._debounce_s = settings.debounce_s
        self._gap_reset_s = settings.gap_reset_s
        self._window_size = settings.window_size
        self._window_s = settings.window_s
        self._window_min = settings.window_min_samples
        self._max_tokens = settings.max_tokens

    @property
    def settings(self) -> TrackingSettings:
        """The settings in force."""
        return self._settings

    def update_settings(self, settings: TrackingSettings) -> None:
        """Apply new settings (e.g. a calibration offset pushed by the hub) from now on."""
        if settings.window_size < self._window_size:
            for track in self._tracks.values():
                del track.window[: -settings.window_size]
                del track.times[: -settings.window_size]
        self._apply(settings)

    def note_advertisement(self, now: float) -> None:
        """Record that the radio delivered an advertisement, token or not (for a watchdog)."""
        self._last_advertisement = now

    def observe(self, frame: TokenFrame, rssi: float, now: float) -> None:
        """Take one advertisement of `frame` heard at `rssi` dBm (raw) at POSIX time `now`."""
        self._last_advertisement = now
        if not RSSI_MIN <= rssi <= RSSI_MAX:  # also false for NaN
            return
        token = frame.token
        track = self._tracks.get(token)
        if track is None:
            if len(self._tracks) >= self._max_tokens:
                self.dropped += 1
                return
            track = self._tracks[token] = _Track(now, frame.kind)
        elif now - track.last_heard > self._gap_reset_s:
            track.window.clear()
            track.times.clear()
            if not track.present:
                track.first_heard = now
                track.heard = 0
        window, times = track.window, track.times
        window.append(rssi)
        times.append(now)
        if len(window) > self._window_size:
            del window[0], times[0]
        # Each sample is dropped once, so this loop is O(1) amortised.
        cutoff = now - self._window_s
        while len(window) > self._window_min and times[0] < cutoff:
            del window[0], times[0]
        track.last_heard = now
        track.tx_power = frame.tx_power
        if not track.samples:
            track.since = now
        track.samples += 1
        if not track.present:
            track.heard += 1
            if track.heard >= self._min_samples and now - track.first_heard >= self._debounce_s:
                track.present = True
                self._present += 1

    def collect(self, now: float) -> tuple[tuple[Sighting, ...], tuple[str, ...]]:
        """Sightings of present tokens heard since the last call, and tokens that departed."""
        sightings: list[Sighting] = []
        departed: list[str] = []
        stale: list[str] = []
        away = self._settings.away_timeout_s
        for token, track in self._tracks.items():
            if track.samples and track.present:
                sightings.append(self._sighting(token, track))
            track.samples = 0
            if now - track.last_heard >= away:
                stale.append(token)
                if track.present:
                    departed.append(token)
        for token in stale:
            del self._tracks[token]
        self._present -= len(departed)
        return tuple(sightings), tuple(departed)

    def _sighting(self, token: str, track: _Track) -> Sighting:
        settings = self._settings
        if settings.trend:
            raw = _robust_trend(track.window, track.times, settings.outlier_db)
        else:
            raw = _robust_mean(track.window, settings.outlier_db)
        rssi = min(RSSI_MAX, max(RSSI_MIN, raw + settings.calibration_offset_db))
        return Sighting(
            token=token,
            rssi=rssi,
            samples=track.samples,
            first_seen=_utc(track.since),
            # max(): a wall clock stepped backwards must not yield last_seen < first_seen.
            last_seen=_utc(max(track.since, track.last_heard)),
            tx_power=track.tx_power,
            distance_m=self._distance(rssi, track),
            levels=self._levels(track) if settings.send_levels else (),
        )

    def _levels(self, track: _Track) -> tuple[tuple[int, float], ...]:
        """Calibrated levels of the samples since the last collect, oldest first, newest 64."""
        # The samples since the last collect are the newest `track.samples` of the window (fewer
        # if it was trimmed or restarted): counting them, rather than comparing their times with
        # `since`, stays right when the wall clock steps back.
        count = min(track.samples, len(track.window), MAX_LEVELS)
        if count <= 0:  # [-0:] would be the whole window
            return ()
        raw = track.window[-count:]
        since = track.since
        # This runs for every advertisement reported, so the clamps are hoisted out of the loops
        # and round(x * 10) / 10 (the same 0.1 dB value) stands in for round(x, 1), which is
        # twice as slow: together they took the pipeline with levels from 0.77 to 0.87 of its
        # rate without (bench/agent_throughput.py --send-levels).
        offsets = [round((moment - since) * 1000) for moment in track.times[-count:]]
        if offsets[0] < 0 or offsets[-1] > MAX_LEVEL_OFFSET_MS or offsets != sorted(offsets):
            offsets = _monotonic_offsets(offsets)  # only when the wall clock stepped
        offset_db = self._settings.calibration_offset_db
        if min(raw) + offset_db < RSSI_MIN or max(raw) + offset_db > RSSI_MAX:
            dbm = [round(min(RSSI_MAX, max(RSSI_MIN, v + offset_db)) * 10) / 10 for v in raw]
        else:
            dbm = [round((v + offset_db) * 10) / 10 for v in raw]
        return tuple(zip(offsets, dbm, strict=True))

    def _distance(self, rssi: float, track: _Track) -> float | None:
        """Log-distance path-loss estimate in metres, clamped; None without a reference."""
        reference = self._reference(track)
        if reference is None:
            return None
        metres: float = 10.0 ** ((reference - rssi) / (10.0 * self._settings.path_loss_exponent))
        return min(self._settings.max_distance_m, max(MIN_DISTANCE_M, metres))

    def _reference(self, track: _Track) -> float | None:
        """Expected calibrated RSSI at 1 m for this token, if known and plausible."""
        if self._settings.reference_rssi_1m is not None:
            return self._settings.reference_rssi_1m
        if track.tx_power is None:
            return None
        reference = float(track.tx_power)
        if track.kind == EDDYSTONE_EID:
            reference -= EDDYSTONE_0M_TO_1M_DB
        return reference if _REFERENCE_MIN <= reference <= _REFERENCE_MAX else None

    def present_count(self) -> int:
        """How many tokens are present (debounced and not yet departed)."""
        return self._present

    def tracked_count(self) -> int:
        """How many tokens are held in memory (present or still debouncing)."""
        return len(self._tracks)

    def last_advertisement_at(self) -> float | None:
        """POSIX time of the latest advertisement observed (or noted), None before the first."""
        return self._last_advertisement
