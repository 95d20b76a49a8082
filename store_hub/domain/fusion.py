"""Presence fusion for one store: agents' per-device readings -> visit and zone events (pure).

Per device the latest calibrated reading from each agent is kept; a zone's strength is the
strongest fresh reading among that zone's agents (a large zone has several agents, and the
nearest one is the one that knows), each less its agent's measured receiver offset
(receiver_calibration.py; 0 until the position tracker has measured it). The zone changes
only when another zone beats the incumbent by `margin_db` continuously for `hold_s`, or at
once by `clear_margin_db` (hysteresis: noise and multipath make two zones trade places near a
wall many times a minute). Readings older than `stale_after_s` stop counting, so a zone whose
agents no longer hear the device loses and an incumbent nobody hears has no claim to defend.
When no agent has heard the device for `away_timeout_s`, or every agent that heard it says it
departed, the device departs.

In a store whose agents IT placed on the floor (a FloorPlan) and which send per-advertisement
levels, the zone comes from the position tracker (position_tracker.py) instead: each zone has
a probability, and the same hysteresis applies in probability (`position_margin` for
`position_hold_s`, or `position_clear` at once). A device nobody's levels reached yet, and
every device in a store without a plan, is judged by the loudest-zone rule above. Where every
zone is drawn, the tracker also knows the street from the store: a phone heard from outside
does not arrive, and one that walked out departs without waiting for the away timeout.

When no agent has heard a present device for `stale_after_s` (a locked phone goes quiet for
tens of seconds), its zone is only where it was last heard: WentQuiet says so, so that the
tablet stops naming it as where the shopper is (on the harness, such a zone was wrong a third
of the time). The visit and its zone stay go on (dwell keeps counting: a locked phone in the
fitting room is still someone trying things on); HeardAgain confirms the zone once the device
is heard and no other zone challenges it, or a ZoneChanged moves it.

Confidence of a zone call is the tracker's probability of the zone, or under the rule a
logistic in its lead over the best other zone (see `confidence`); events come out per device in
order: Arrived, ZoneChanged, WentQuiet or HeardAgain, Dwell, Departed last.

Time comes only from the arguments: readings carry `seen_at`, `tick` carries `now`. Each device
keeps its own monotonic clock (the latest of those) so a reading that arrives late cannot move
its decisions backwards. bench/accuracy.py and bench/README.md hold the numbers behind the
defaults.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from store_hub.domain.position_tracker import FloorPlan, PositionTracker, TrackerSettings
from store_hub.domain.receiver_calibration import ReceiverCalibration
from store_hub.domain.settings_checks import reject_invalid

ANY_ZONE = "*"
# Stand-in strength for "no other zone hears it": a little below what BLE receivers report.
NO_SIGNAL_DBM = -100.0
# Confidence is a logistic in the separation (dB) between the chosen zone and the best other
# zone; these two numbers are fitted to the accuracy harness (bench/README.md): at 0 dB the
# chosen zone was right about half the time, at +6 dB about 95 % of the time.
_CONFIDENCE_MID_DB = 0.0
_CONFIDENCE_SCALE_DB = 2.0
# Stands for "some agent, before the hub restarted" in a restored device's heard-by map.
_RESTORED = ""
# Time outside counts towards a departure only while the phone is being placed: a position
# older than this is a phone gone quiet (locked, or out of range), whose last estimate might
# be a noisy dip in a corner of the store; the away timeout decides about it instead.
_PLACED_WITHIN_S = 2.0


@dataclass(frozen=True)
class FusionSettings:
    """Hysteresis, ageing and dwell thresholds for one store's fusion."""

    # Defaults from the accuracy harness: 2 dB for 2 s, or 5 dB at once, scored the same as the
    # best plain rule (3 dB for 0.5 s) there, and keeps a 2 s hold against slow body shadowing,
    # which the harness does not model.
    margin_db: float = 2.0  # a challenger zone must beat the incumbent by this much...
    hold_s: float = 2.0  # ...continuously for this long before the zone changes
    # Agents report every second: six missed reports in a row mean the agent no longer hears it.
    stale_after_s: float = 6.0
    # Locked phones go quiet for tens of seconds (DESIGN.md section 5): 60-180 s, not 30 s.
    away_timeout_s: float = 90.0
    # Dwell thresholds per zone name; ANY_ZONE is the default for zones not listed.
    dwell_thresholds_s: Mapping[str, tuple[float, ...]] = field(
        default_factory=lambda: {ANY_ZONE: (60.0, 300.0, 900.0)}, hash=False
    )
    # A new device's zone is chosen once it has been heard this long, so that the reports of all
    # agents of one interval are in (the first report to arrive is often a far agent's). The
    # same short wait, instead of hold_s, applies when the incumbent zone has no fresh reading.
    settle_s: float = 1.0
    # A lead this large is not noise: the challenger takes over at once, without the hold.
    clear_margin_db: float = 5.0
    # The same rule in probabilities, for stores whose agents have floor positions (the
    # position tracker gives each zone a probability): a challenger zone must be this much more
    # likely than the incumbent for position_hold_s, or position_clear more likely at once.
    position_margin: float = 0.1
    position_hold_s: float = 1.5
    position_clear: float = 0.7
    # Where IT drew every zone, the tracker also tells the store from the street: agents by
    # the door and along the front hear passers-by through the glass. A phone arrives only
    # once it is at least arrive_inside likely in the store, and a present one departs when it
    # has been under leave_inside, and heard outside_drop_db quieter by the loudest agent than
    # when last placed inside, for outside_depart_s (walked out), not after the away timeout.
    # The drop is the evidence the tracker cannot fake: with few agents, a phone standing still
    # sounds the same from a spot well outside if it is louder than it says, and the tracker
    # can drift there (a sparse plan departed 7 of 8 phones standing still within minutes);
    # someone who walked out has moved away from every agent (8 m on from a door agent 5 m
    # inside is 10 dB at exponent 2.2), while a still phone's smoothed level wanders 1-2 dB.
    # And people leave through the door: when last placed inside, the agent hearing the phone
    # loudest must have been in an entrance zone (FloorPlan.entrances). A phone slipped into a
    # bag is suddenly quieter at every agent, which the tracker can only read as far away, out
    # of the store; but the agent loudest for it stays the one beside it (an 8 dB bag on the
    # harness's floor: 26 of 40 shoppers departed without this, 2-3 with it, mostly bagged in
    # the entrance zone). No agent in an entrance zone: walking out is left to the away timeout.
    arrive_inside: float = 0.5
    leave_inside: float = 0.1
    outside_drop_db: float = 6.0
    outside_depart_s: float = 6.0

    def __post_init__(self) -> None:
        """Reject settings that would make the fusion meaningless."""
        reject_invalid(
            "fusion",
            {
                "margin_db": self.margin_db >= 0,
                "hold_s": self.hold_s >= 0,
                "stale_after_s": self.stale_after_s > 0,
                "away_timeout_s": self.away_timeout_s >= self.stale_after_s,
                "settle_s": 0 <= self.settle_s < self.stale_after_s,
                "clear_margin_db": self.clear_margin_db >= self.margin_db,
                "position_margin": 0 <= self.position_margin <= 1,
                "position_hold_s": self.position_hold_s >= 0,
                "position_clear": self.position_margin <= self.position_clear <= 1,
                "arrive_inside": 0 <= self.arrive_inside <= 1,
                "leave_inside": 0 <= self.leave_inside <= self.arrive_inside,
                "outside_depart_s": self.outside_depart_s >= 0,
                "outside_drop_db": self.outside_drop_db >= 0,
                "dwell_thresholds_s": all(
                    t > 0 for ts in self.dwell_thresholds_s.values() for t in ts
                ),
            },
        )

    def dwell_for(self, zone: str) -> tuple[float, ...]:
        """Dwell thresholds (seconds, ascending) for `zone`."""
        thresholds = self.dwell_thresholds_s.get(zone, self.dwell_thresholds_s.get(ANY_ZONE, ()))
        return tuple(sorted(thresholds))


@dataclass(frozen=True)
class Reading:
    """One agent's smoothed, calibrated RSSI of one device, as of `seen_at`.

    `levels` are the advertisements behind it when the agent sends them: (seconds relative to
    `seen_at`, at most 0; calibrated dBm), oldest first. `reference_dbm` is the phone's
    expected calibrated RSSI at 1 m, if it says.
    """

    device_id: str
    agent_id: str
    zone: str
    rssi: float
    seen_at: datetime
    levels: tuple[tuple[float, float], ...] = ()
    reference_dbm: float | None = None


@dataclass(frozen=True)
class Arrived:
    """A device not present before is now in the store, in `zone`."""

    device_id: str
    at: datetime
    zone: str
    confidence: float


@dataclass(frozen=True)
class ZoneChanged:
    """A present device moved to another zone (`from_zone` is None only after a bare restore).

    `at` is when the hub was sure; `entered_at` when the new zone began to lead (the best
    estimate of when the shopper crossed over), which the recorded zone stays use.
    """

    device_id: str
    at: datetime
    from_zone: str | None
    to_zone: str
    confidence: float
    entered_at: datetime | None = None


@dataclass(frozen=True)
class WentQuiet:
    """No agent has heard a present device since `last_seen`: `zone` is where it was then."""

    device_id: str
    at: datetime
    zone: str | None
    last_seen: datetime


@dataclass(frozen=True)
class HeardAgain:
    """A quiet device is heard again, in the zone it was quiet in (a move is a ZoneChanged)."""

    device_id: str
    at: datetime
    zone: str | None
    confidence: float


@dataclass(frozen=True)
class Dwell:
    """A device has stayed in `zone` for `threshold_s` (`seconds` when it was noticed)."""

    device_id: str
    at: datetime
    zone: str
    seconds: float
    threshold_s: float
    confidence: float


@dataclass(frozen=True)
class Departed:
    """A present device is no longer heard by any agent; `zone` is where it was last."""

    device_id: str
    at: datetime
    last_seen: datetime
    zone: str | None
    confidence: float = 1.0


FusionEvent = Arrived | ZoneChanged | WentQuiet | HeardAgain | Dwell | Departed


def confidence(separation_db: float) -> float:
    """Probability-like confidence that the chosen zone is right, from its lead in dB."""
    z = (separation_db - _CONFIDENCE_MID_DB) / _CONFIDENCE_SCALE_DB
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass
class _Device:
    first_heard: datetime
    last_seen: datetime
    clock: datetime
    readings: dict[str, Reading] = field(default_factory=dict)  # fresh ones only
    heard_by: dict[str, datetime] = field(default_factory=dict)  # within the away timeout
    arrived: bool = False
    zone: str | None = None
    zone_since: datetime | None = None
    pending: str | None = None  # the challenger zone, while it leads by the margin
    pending_since: datetime | None = None
    leader: str | None = None  # the rival zone heard loudest, while it beats the incumbent
    leader_since: datetime | None = None
    dwell_done: set[float] = field(default_factory=set)
    zone_confidence: float = 1.0
    quiet: bool = False  # nobody has heard it for stale_after_s, and no zone confirmed since
    heard_again_at: datetime | None = None  # while quiet, heard again since
    outside_since: datetime | None = None  # present, but the tracker places it outside
    loudest_inside: float | None = None  # loudest agent's level when last placed inside
    loudest_zone_inside: str | None = None  # the zone of that agent


class PresenceFusion:
    """Who is in one store and in which zone, from many agents' readings."""

    def __init__(
        self,
        settings: FusionSettings,
        floor: FloorPlan | None = None,
        tracker_settings: TrackerSettings | None = None,
        seed: int = 0,
    ) -> None:
        """Start with nobody present; with a floor plan, zones come from the position tracker."""
        self._settings = settings
        self._devices: dict[str, _Device] = {}
        self._tracker_settings = tracker_settings or TrackerSettings()
        self._seed = seed
        self._tracker: PositionTracker | None = None
        # The agents' receiver offsets outlive a floor plan: moving an agent moves its receiver.
        self._calibration = ReceiverCalibration()
        self.set_floor(floor)

    @property
    def floor(self) -> FloorPlan | None:
        """The floor plan the position tracker uses; None when zones come from the rule."""
        return None if self._tracker is None else self._tracker.plan

    def set_floor(self, floor: FloorPlan | None) -> None:
        """Use a new floor plan (IT moved or placed agents); None goes back to the zone rule.

        Devices keep their zones; their positions are found again from the next levels.
        """
        if floor is None:
            self._tracker = None
        elif self._tracker is None or self._tracker.plan != floor:
            self._tracker = PositionTracker(
                floor, self._tracker_settings, self._seed, self._calibration
            )

    @property
    def calibration(self) -> ReceiverCalibration:
        """The agents' measured receiver offsets (the position tracker's; see its module)."""
        return self._calibration

    def forget_position(self, device_id: str) -> None:
        """Drop what the tracker holds about a device (its shopper withdrew consent)."""
        if self._tracker is not None:
            self._tracker.forget(device_id)

    @property
    def settings(self) -> FusionSettings:
        """The settings in force."""
        return self._settings

    def observe(self, reading: Reading) -> list[FusionEvent]:
        """Take one agent's reading of one device; events it settles (arrival, zone change)."""
        state = self._devices.get(reading.device_id)
        if state is None:
            state = _Device(reading.seen_at, reading.seen_at, reading.seen_at)
            self._devices[reading.device_id] = state
        state.heard_by.pop(_RESTORED, None)
        previous = state.readings.get(reading.agent_id)
        if previous is None or reading.seen_at >= previous.seen_at:
            state.readings[reading.agent_id] = reading
        heard = state.heard_by.get(reading.agent_id)
        if heard is None or reading.seen_at > heard:
            state.heard_by[reading.agent_id] = reading.seen_at
        state.last_seen = max(state.last_seen, reading.seen_at)
        tracker = self._tracker
        if tracker is not None and reading.levels:
            at = reading.seen_at.timestamp()
            tracker.update(
                reading.device_id,
                reading.agent_id,
                [(at + offset, dbm) for offset, dbm in reading.levels],
                reading.reference_dbm,
            )
        return self._evaluate(reading.device_id, state, reading.seen_at)

    def agent_lost(self, device_id: str, agent_id: str, at: datetime) -> list[FusionEvent]:
        """An agent reported the device departed; depart it if no agent hears it any more."""
        state = self._devices.get(device_id)
        if state is None:
            return []
        heard = state.heard_by.get(agent_id)
        if heard is not None and (at - heard).total_seconds() < self._settings.away_timeout_s / 2:
            # An agent departs a token it has not heard for its own away timeout (60 s or more),
            # so having heard this device more recently means it heard the next token of a
            # rotated EID: the departed token is the old one, not the device.
            return []
        state.heard_by.pop(agent_id, None)
        state.heard_by.pop(_RESTORED, None)
        state.readings.pop(agent_id, None)
        if not state.heard_by:
            return self._depart(device_id, state, at)
        return self._evaluate(device_id, state, at)

    def tick(self, now: datetime) -> list[FusionEvent]:
        """Age readings out, settle pending zone changes and dwell, depart the long unheard."""
        away = self._settings.away_timeout_s
        events: list[FusionEvent] = []
        for device_id, state in list(self._devices.items()):
            for agent_id, heard in list(state.heard_by.items()):
                if (now - heard).total_seconds() >= away:
                    del state.heard_by[agent_id]
            if state.heard_by:
                events += self._evaluate(device_id, state, now)
            else:
                events += self._depart(device_id, state, now)
        return events

    def restore(
        self,
        device_id: str,
        zone: str | None,
        zone_since: datetime,
        last_seen: datetime,
        quiet: bool = False,
        dwell_reached_s: float = 0.0,
    ) -> None:
        """Take back a device present before a hub restart, without a new arrival.

        `quiet`: it had gone quiet (WentQuiet), so hearing it again is news (HeardAgain).
        `dwell_reached_s`: the last dwell threshold announced, if known (a quiet device goes on
        reaching thresholds after it was last seen).
        """
        state = _Device(last_seen, last_seen, last_seen, arrived=True, zone=zone, quiet=quiet)
        state.zone_since = zone_since
        state.heard_by[_RESTORED] = last_seen
        if zone is not None:
            # Thresholds crossed while the hub was still running were announced then.
            reached = max((last_seen - zone_since).total_seconds(), dwell_reached_s)
            state.dwell_done = {t for t in self._settings.dwell_for(zone) if t <= reached}
        self._devices[device_id] = state

    def present(self) -> dict[str, str | None]:
        """Each present device and its current zone."""
        return {d: s.zone for d, s in self._devices.items() if s.arrived}

    def _depart(self, device_id: str, state: _Device, at: datetime) -> list[FusionEvent]:
        del self._devices[device_id]
        if self._tracker is not None:
            self._tracker.forget(device_id)
        if not state.arrived:
            return []  # heard too briefly to have arrived: nothing to announce
        return [Departed(device_id, at, state.last_seen, state.zone)]

    def _evaluate(self, device_id: str, state: _Device, at: datetime) -> list[FusionEvent]:
        settings = self._settings
        now = state.clock = max(state.clock, at)
        strengths: dict[str, float] = {}
        # Levels as the receivers would give them if they agreed (measured by the tracker; all
        # 0 until it has), so "the loudest agent" is the nearest, not the loudest receiver.
        receiver = self._calibration.offset
        for agent_id, reading in list(state.readings.items()):
            if (now - reading.seen_at).total_seconds() > settings.stale_after_s:
                del state.readings[agent_id]
                continue
            level = reading.rssi - receiver(agent_id)
            if level > strengths.get(reading.zone, -math.inf):
                strengths[reading.zone] = level
        tracker = self._tracker
        rule = _Rule.by_level(settings)
        scores: dict[str, float] = strengths
        if strengths and tracker is not None and tracker.tracking(device_id):
            rule = _Rule.by_position(settings)
            scores = tracker.zone_probabilities(device_id)
        inside = tracker.inside_probability(device_id) if tracker is not None else None
        events: list[FusionEvent] = []
        if not state.arrived:
            if not strengths or (now - state.first_heard).total_seconds() < settings.settle_s:
                return events
            if inside is not None and inside < settings.arrive_inside:
                return events  # heard from the street, not (yet) in the store
            zone = max(scores, key=scores.__getitem__)
            state.arrived, state.zone, state.zone_since = True, zone, now
            events.append(Arrived(device_id, now, zone, rule.confidence(scores, zone)))
        elif self._walked_out(device_id, state, inside, strengths, now):
            return self._depart(device_id, state, now)
        else:
            # While nobody hears the device (a locked phone) there are no scores: the last
            # judgement stands, as where it was last heard.
            moves = self._challenge(device_id, state, scores, rule, now)
            events += moves
            events += self._quiet_or_heard(device_id, state, scores, rule, bool(moves), now)
        if state.zone in scores and strengths:
            state.zone_confidence = rule.confidence(scores, state.zone)
        events += self._dwell(device_id, state, now)
        return events

    def _walked_out(
        self,
        device_id: str,
        state: _Device,
        inside: float | None,
        strengths: Mapping[str, float],
        now: datetime,
    ) -> bool:
        """Whether a present device has been placed outside, and heard quieter, long enough."""
        settings = self._settings
        tracker = self._tracker
        placed = tracker.placed_at(device_id) if tracker is not None else None
        if inside is not None and strengths and inside >= settings.arrive_inside:
            state.loudest_zone_inside = max(strengths, key=strengths.__getitem__)
            state.loudest_inside = strengths[state.loudest_zone_inside]
        if (
            tracker is None
            or inside is None
            or placed is None
            or inside >= settings.leave_inside
            or now.timestamp() - placed > _PLACED_WITHIN_S
            # Not placed inside since the hub started (a visit restored after a restart): the
            # away timeout decides about it.
            or state.loudest_inside is None
            or state.loudest_zone_inside not in tracker.plan.entrances
            # Last, as it is the only test that scans the readings.
            or max(strengths.values(), default=NO_SIGNAL_DBM)
            > state.loudest_inside - settings.outside_drop_db
        ):
            state.outside_since = None
            return False
        if state.outside_since is None:
            state.outside_since = now
        return (now - state.outside_since).total_seconds() >= settings.outside_depart_s

    def _challenge(
        self,
        device_id: str,
        state: _Device,
        scores: dict[str, float],
        rule: _Rule,
        now: datetime,
    ) -> list[FusionEvent]:
        incumbent = state.zone
        rivals = [zone for zone in scores if zone != incumbent]
        if not rivals:
            state.pending = None
            return []
        challenger = max(rivals, key=scores.__getitem__)
        held = scores.get(incumbent) if incumbent is not None else None
        if held is None and rule.unheard_is_zero:
            held = 0.0
        if held is not None and scores[challenger] <= held:
            state.leader = None
        elif state.leader != challenger or state.leader_since is None:
            state.leader, state.leader_since = challenger, now
        if held is None:
            # An incumbent nobody hears any more has no claim to defend: wait only to settle.
            wait = self._settings.settle_s
        else:
            lead = scores[challenger] - held
            if lead < rule.margin:
                state.pending = None
                return []
            wait = 0.0 if lead >= rule.clear else rule.hold_s
        if state.pending != challenger or state.pending_since is None:
            state.pending, state.pending_since = challenger, now
        if (now - state.pending_since).total_seconds() < wait:
            return []
        entered = state.leader_since if state.leader == challenger else None
        if entered is None or (state.zone_since is not None and entered < state.zone_since):
            entered = state.pending_since
        # Dwell counts from the crossing too, so it agrees with the stays the hub records.
        state.zone, state.zone_since = challenger, entered
        state.pending = state.leader = None
        state.dwell_done = set()
        conf = rule.confidence(scores, challenger)
        return [ZoneChanged(device_id, now, incumbent, challenger, conf, entered)]

    def _quiet_or_heard(
        self,
        device_id: str,
        state: _Device,
        scores: Mapping[str, float],
        rule: _Rule,
        moved: bool,
        now: datetime,
    ) -> list[FusionEvent]:
        if not state.quiet:
            if scores or (now - state.last_seen).total_seconds() < self._settings.stale_after_s:
                return []
            state.quiet = True
            return [WentQuiet(device_id, now, state.zone, state.last_seen)]
        if moved:
            state.quiet, state.heard_again_at = False, None
            return []  # the ZoneChanged just emitted says where it is
        if not scores:
            state.heard_again_at = None
            return []
        if state.heard_again_at is None:
            state.heard_again_at = now
        # As on arrival, the first report in is often a far agent's alone: wait for the rest,
        # and for any other zone that takes it over (a device without a zone waits for one).
        settled = (now - state.heard_again_at).total_seconds() >= self._settings.settle_s
        if not settled or state.pending is not None or state.zone is None:
            return []
        state.quiet, state.heard_again_at = False, None
        conf = rule.confidence(scores, state.zone) if state.zone in scores else 0.0
        return [HeardAgain(device_id, now, state.zone, conf)]

    def _dwell(self, device_id: str, state: _Device, now: datetime) -> list[FusionEvent]:
        if state.zone is None or state.zone_since is None:
            return []
        stayed = (now - state.zone_since).total_seconds()
        events: list[FusionEvent] = []
        for threshold in self._settings.dwell_for(state.zone):
            if threshold > stayed:
                break
            if threshold not in state.dwell_done:
                state.dwell_done.add(threshold)
                events.append(
                    Dwell(device_id, now, state.zone, stayed, threshold, state.zone_confidence)
                )
        return events


@dataclass(frozen=True)
class _Rule:
    """Hysteresis in the units of the scores: dB of the loudest agent, or zone probability."""

    margin: float
    hold_s: float
    clear: float
    confidence: Callable[[Mapping[str, float], str], float]
    # A zone missing from probability scores has probability 0; one missing from levels is
    # a zone nobody hears, which cannot defend itself.
    unheard_is_zero: bool

    @staticmethod
    def by_level(settings: FusionSettings) -> _Rule:
        return _Rule(
            settings.margin_db, settings.hold_s, settings.clear_margin_db, _confidence, False
        )

    @staticmethod
    def by_position(settings: FusionSettings) -> _Rule:
        return _Rule(
            settings.position_margin,
            settings.position_hold_s,
            settings.position_clear,
            _probability,
            True,
        )


def _probability(probabilities: Mapping[str, float], zone: str) -> float:
    """Confidence in `zone` is the tracker's probability of it."""
    return max(0.0, min(1.0, probabilities[zone]))


def _confidence(strengths: Mapping[str, float], zone: str) -> float:
    """Confidence in `zone` from its lead over the best other zone (or over no signal)."""
    others = [value for name, value in strengths.items() if name != zone]
    runner_up = max(others) if others else NO_SIGNAL_DBM
    return confidence(strengths[zone] - runner_up)
