"""Where on the floor each shopper's phone is, from every agent's per-advertisement RSSI (pure).

A particle filter per device over the store's floor plan: each particle is a position and a
walking velocity, and carries a Kalman estimate of the phone's transmit bias (phones advertise
a 1 m power that is off by a few dB; Rao-Blackwellised: the bias is integrated out rather than
sampled, so resampling cannot wear its spread down to a few values that stick). Between
measurements particles walk (velocity decays towards a random walking speed, so a shopper can
stop, turn or keep going); each advertisement an agent heard weights them by how well
log-distance path loss from that agent explains the level, with a one-sided fade component
(multipath or a body takes 6 dB off about one advertisement in ten). A step most agents hear
at once (a phone put in a bag, or taken out) goes to the phone's bias, not its position: no
walk moves a phone away from every agent at once. A zone's probability is
the weight of the particles in its rectangle, or nearest one of its agents where IT drew none,
so undrawn zone boundaries lie halfway between agents of different zones. Each agent's levels
are first corrected by its receiver offset, which the tracker measures from the phones it has
placed confidently (receiver_calibration.py).

Why a tracker rather than "the zone of the loudest agent": it uses every agent at once and the
fact that people walk, not jump, so the same advertisements place a shopper sooner and with
less flapping (bench/README.md, "Position tracker"). It needs the agents' floor positions;
stores without them keep the per-zone rule in fusion.py.

No I/O and no clock: times are the measurements' own (seconds), randomness comes from a seeded
generator, so a run is reproducible.
"""

from __future__ import annotations

import math
import statistics
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from store_hub.domain.receiver_calibration import CalibrationSettings, ReceiverCalibration
from store_hub.domain.settings_checks import reject_invalid

# Eddystone's tx_power is at 0 m; the spec's 41 dB takes it to 1 m.
EDDYSTONE_0M_TO_1M_DB = 41.0
# A 1 m power outside this band is not a calibration (iOS advertises 0 for "unset").
_REFERENCE_BAND = (-100.0, -20.0)

Floats = npt.NDArray[np.float64]
# A phone put in a bag: within _STEP_WINDOW_S two thirds of the agents that heard it, and at
# least _STEP_AGENTS, heard it `bias_step_db` off their usual, and all of them half that, the
# same way. The window is a placed agent's report interval and its delivery: an agent silent on
# the phone for longer has lost it (a bagged phone drops below far agents' floor first) or is
# slow, and its last level predates the step; at 1.5 s such agents outvoted the step, and bagged
# phones pushed outside were departed (bench/README.md, "A phone put in a bag"). "Usual"
# follows over _USUAL_TAU_S, slower than a step; a phone not heard for _STEP_GAP_S starts
# afresh. Only for a phone placed in the store for _STEP_SETTLED_S (_follow_bias_step).
_STEP_AGENTS = 3
_STEP_WINDOW_S = 0.75
_USUAL_TAU_S = 4.0
_STEP_GAP_S = 2.0
_STEP_SETTLED_S = 5.0
# How far agents must spread across their best-fitting line (standard deviation, metres) for
# the tracker to judge inside from outside.
_ACROSS_THE_LINE_M = 1.0


def reference_dbm(tx_power: int | None, eddystone: bool) -> float | None:
    """A phone's expected RSSI at 1 m from its advertised power (Eddystone's is at 0 m)."""
    if tx_power is None:
        return None
    reference = tx_power - (EDDYSTONE_0M_TO_1M_DB if eddystone else 0.0)
    low, high = _REFERENCE_BAND
    return reference if low <= reference <= high else None


@dataclass(frozen=True)
class FloorPlan:
    """Agents' floor positions (metres) and zones, plus the store's radio model."""

    positions: Mapping[str, tuple[float, float]]  # agent_id -> (x, y)
    zones: Mapping[str, str]  # agent_id -> zone_id
    # zone_id -> (x0, y0, x1, y1), where IT drew them. A position inside none of them (or in a
    # store without them) belongs to the zone of the nearest agent.
    bounds: Mapping[str, tuple[float, float, float, float]] = field(default_factory=dict)
    # The store's floor: every zone's rectangle, zones without a placed agent too, once IT drew
    # them all; empty otherwise. A position in none of them is outside (the street, the mall).
    outline: tuple[tuple[float, float, float, float], ...] = ()
    # The zones people come in and go out through (zones of kind entrance).
    entrances: frozenset[str] = frozenset()
    # Open-plan retail floors measure 2-2.5; walls and shelving push it up.
    path_loss_exponent: float = 2.2
    # Agents on the ceiling, phones in hands or pockets: the distance is never below this.
    height_m: float = 1.5
    # Agents hear phones well outside the area they span (the street by the door).
    reach_m: float = 15.0
    # Calibrated RSSI at 1 m when the phone does not say (a typical phone at its default power).
    default_reference_dbm: float = -61.0

    def __post_init__(self) -> None:
        """Reject a plan the tracker cannot use."""
        missing = sorted(set(self.positions) - set(self.zones))
        if missing:
            raise ValueError(f"agents without a zone in the floor plan: {', '.join(missing)}")
        unknown = sorted(set(self.bounds) - set(self.zones.values()))
        if unknown:
            raise ValueError(f"bounds for zones no agent is in: {', '.join(unknown)}")
        boxes = [*self.bounds.values(), *self.outline]
        if any(not (x0 < x1 and y0 < y1) for x0, y0, x1, y1 in boxes):
            raise ValueError("zone bounds must be (x0, y0, x1, y1) with x0 < x1 and y0 < y1")
        if len(self.positions) < 2:
            raise ValueError("a floor plan needs at least two positioned agents")
        if not (self.path_loss_exponent > 0 and self.height_m >= 0 and self.reach_m >= 0):
            raise ValueError("path_loss_exponent must be > 0, height_m and reach_m >= 0")

    @property
    def outlined(self) -> bool:
        """Whether the tracker can tell the street from the store.

        It needs the floor (`outline`) and agents that do not stand in a line: seen from agents
        in a line, a phone louder than it says far off sounds like a quiet one nearby, and the
        tracker drifts to the far side, out of the store.
        """
        if not self.outline or len(self.positions) < 3:
            return False
        xy = np.array(list(self.positions.values()), dtype=np.float64)
        spread = float(np.linalg.eigvalsh(np.cov(xy.T)).min())
        return spread >= _ACROSS_THE_LINE_M**2


@dataclass(frozen=True)
class TrackerSettings:
    """Motion and measurement model of the tracker; defaults from bench/accuracy.py."""

    particles: int = 800
    # Per-advertisement spread around the path-loss line, wider than the radio's own 2.5 dB
    # because the model is not the room (walls, shelves, the shopper's own body).
    level_sigma_db: float = 3.0
    fade_share: float = 0.1
    fade_db: float = 6.0
    # Walking speed spread and how long a velocity persists.
    speed_sigma_mps: float = 1.2
    velocity_tau_s: float = 1.5
    # Where a new phone is first placed: around the agent that heard it first, but so wide
    # that it is nearly anywhere: the first agent to hear a phone is often not the nearest, and
    # a cloud that starts there clings to the wrong side of a boundary (4 m scored worse).
    spawn_sigma_m: float = 20.0
    # Phones' real 1 m power differs from what they advertise by a few dB. 1.5 dB kept phones
    # that stand still from drifting to "louder than it says, far away" in sparse plans (see
    # FloorPlan.outlined) but, on the harness's seven agents, placed phones 3 dB quieter than
    # they say outside the store (two false departures in a run, none at 3 dB).
    bias_sigma_db: float = 3.0
    # How fast a phone's bias may wander (the Kalman filters' process noise). Faster (0.3)
    # follows a phone put in a bag sooner but lets passers-by at the window be taken for
    # quiet phones inside (15-21 of 100 shown against 2-6).
    bias_drift_db_per_s: float = 0.05
    # Measure each agent's receiver offset from confidently placed phones and take it off its
    # levels (receiver_calibration.py); off only to show what it is worth.
    calibrate_receivers: bool = True
    # A phone put in a bag or taken out of one is heard this much quieter or louder by most
    # agents at once, which no walk can do (walking away from some agents brings it nearer
    # others): the phone's bias takes the step instead of its position. 0 turns it off.
    bias_step_db: float = 5.0

    def __post_init__(self) -> None:
        """Reject settings that make the filter meaningless."""
        reject_invalid(
            "tracker",
            {
                "particles": self.particles >= 50,
                "level_sigma_db": self.level_sigma_db > 0,
                "fade_share": 0 <= self.fade_share < 1,
                "fade_db": self.fade_db >= 0,
                "speed_sigma_mps": self.speed_sigma_mps > 0,
                "velocity_tau_s": self.velocity_tau_s > 0,
                "spawn_sigma_m": self.spawn_sigma_m > 0,
                "bias_sigma_db": self.bias_sigma_db >= 0,
                "bias_drift_db_per_s": self.bias_drift_db_per_s >= 0,
                "bias_step_db": self.bias_step_db >= 0,
            },
        )


@dataclass
class _Cloud:
    t: float
    x: Floats
    y: Floats
    vx: Floats
    vy: Floats
    bias: Floats  # each particle's estimate of the phone's transmit bias (dB)...
    # ...and its variance: a Kalman filter per particle. One number for the whole cloud: every
    # particle starts with the prior, drifts by the same amount and takes the same levels, and
    # the variance of a Kalman filter does not depend on the values it was given.
    bias_var: float
    w: Floats
    # Each cloud draws from a stream of its own (the tracker's seed and the device's id), so a
    # device's track does not depend on which other devices happen to be in the store.
    rng: np.random.Generator
    # Per agent, with their times: the level it usually hears the phone at (a slow average of
    # its reports' medians) and how far its latest report stepped from that (_follow_bias_step).
    usual: dict[str, tuple[float, float]] = field(default_factory=dict)
    steps: dict[str, tuple[float, float]] = field(default_factory=dict)
    # When its mean was last on the store's floor, and since when it had been without a break.
    inside_at: float = -math.inf
    inside_since: float = math.inf
    spawned_at: float = math.nan
    zone_index: npt.NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    inside: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    zone_index_t: float = math.nan  # when zone_index and inside were computed


class PositionTracker:
    """Particle clouds, one per device heard by positioned agents."""

    def __init__(
        self,
        plan: FloorPlan,
        settings: TrackerSettings,
        seed: int = 0,
        calibration: ReceiverCalibration | None = None,
    ) -> None:
        """Track nobody yet; `seed` makes runs reproducible.

        `calibration` holds the agents' measured receiver offsets; it outlives a tracker (IT
        moving an agent does not change its receiver), so the caller may share one.
        """
        self._plan = plan
        self._settings = settings
        self._seed = seed
        self._calibration = (
            (calibration or ReceiverCalibration()) if settings.calibrate_receivers else None
        )
        self._clouds: dict[str, _Cloud] = {}
        self._agent_ids = list(plan.positions)
        self._agent_index = {agent_id: i for i, agent_id in enumerate(self._agent_ids)}
        self._ax = np.array([plan.positions[a][0] for a in self._agent_ids])
        self._ay = np.array([plan.positions[a][1] for a in self._agent_ids])
        self._zone_names = sorted(set(plan.zones[a] for a in self._agent_ids))
        self._agent_zone = np.array(
            [self._zone_names.index(plan.zones[a]) for a in self._agent_ids], dtype=np.intp
        )
        self._bounds_by_index = [
            (self._zone_names.index(zone), box) for zone, box in sorted(plan.bounds.items())
        ]
        reach = plan.reach_m
        self._bounds = (
            float(self._ax.min()) - reach,
            float(self._ay.min()) - reach,
            float(self._ax.max()) + reach,
            float(self._ay.max()) + reach,
        )
        self._h2 = plan.height_m**2
        # Computed once: inside_probability() runs for every reading and tick.
        self._outline = plan.outline if plan.outlined else ()
        # 10 * n * log10(d) = 5 * n * log10(d^2): no square root per particle.
        self._slope = 5.0 * plan.path_loss_exponent

    @property
    def plan(self) -> FloorPlan:
        """The floor plan in use."""
        return self._plan

    @property
    def calibration(self) -> ReceiverCalibration | None:
        """The agents' measured receiver offsets; None when the settings switch it off."""
        return self._calibration

    def knows(self, agent_id: str) -> bool:
        """Whether `agent_id` has a position in the plan."""
        return agent_id in self._plan.positions

    def tracking(self, device_id: str) -> bool:
        """Whether the device has a cloud."""
        return device_id in self._clouds

    def forget(self, device_id: str) -> None:
        """Drop a device (departed, or erased)."""
        self._clouds.pop(device_id, None)

    def update(
        self,
        device_id: str,
        agent_id: str,
        levels: Sequence[tuple[float, float]],
        reference_dbm: float | None = None,
    ) -> None:
        """Weigh the device's particles by one agent's levels: (time s, calibrated dBm) pairs.

        The levels of one report are applied together at the newest one's time (they span one
        report interval, about a metre of walking). Levels older than the cloud (another agent's
        report arrived first) are applied at the cloud's time rather than dropped.
        """
        if not levels or agent_id not in self._plan.positions:
            return
        t = max(when for when, _ in levels)
        cloud = self._clouds.get(device_id)
        if cloud is None:
            cloud = self._spawn(device_id, agent_id, t)
            self._clouds[device_id] = cloud
        if t - cloud.t > _STEP_GAP_S:
            cloud.usual.clear()  # quiet for a while (locked): compare afresh
            cloud.steps.clear()
        self._predict(cloud, t)
        index = self._agent_index[agent_id]
        reference = self._plan.default_reference_dbm if reference_dbm is None else reference_dbm
        d2 = (cloud.x - self._ax[index]) ** 2 + (cloud.y - self._ay[index]) ** 2 + self._h2
        unbiased = reference - self._slope * np.log10(d2)
        calibration = self._calibration
        if calibration is not None:
            correction = calibration.offset(agent_id)
            if correction:
                levels = [(when, dbm - correction) for when, dbm in levels]
        # Both uses below see the cloud as predicted, before these levels weigh it: one mean.
        mean = self._mean(cloud)
        if self._settings.bias_step_db:
            self._follow_bias_step(cloud, agent_id, t, levels, self._inside(*mean))
        if calibration is not None:
            expected = self._expected_level(cloud, mean, unbiased, calibration.settings)
            if expected is not None:
                calibration.add(agent_id, (dbm - expected for _, dbm in levels))
        settings = self._settings
        level_var = settings.level_sigma_db**2
        fade, share = settings.fade_db, settings.fade_share
        log_w = np.log(cloud.w)
        for _, dbm in levels:
            # The bias is integrated out: each level is weighed against the particle's bias
            # estimate with that estimate's uncertainty added, then corrects the estimate. The
            # spread is the same for every particle, so its normalising term is left out.
            spread = cloud.bias_var + level_var
            residual = dbm - unbiased - cloud.bias
            direct = (1.0 - share) * np.exp(residual * residual * (-0.5 / spread))
            faded = share * np.exp((residual + fade) ** 2 * (-0.5 / spread))
            # The floor keeps a particle that every term rules out from a log of zero.
            mixture = direct + faded + 1e-300
            log_w += np.log(mixture)
            gain = cloud.bias_var / spread
            # A level that was probably faded corrects the bias with the fade added back, in
            # proportion to how likely the fade is.
            cloud.bias += gain * (residual + fade * (faded / mixture))
            cloud.bias_var *= 1.0 - gain
        log_w -= log_w.max()
        weights = np.exp(log_w)
        cloud.w = weights / weights.sum()
        if 1.0 / float(np.dot(cloud.w, cloud.w)) < len(cloud.w) / 2:
            self._resample(cloud)

    def _follow_bias_step(
        self,
        cloud: _Cloud,
        agent_id: str,
        t: float,
        levels: Sequence[tuple[float, float]],
        inside: bool,
    ) -> None:
        """Move the phone's bias, not its position, when most agents hear it step together.

        `inside`: whether the cloud's mean is on the store's floor before these levels.
        """
        # The median: one faded advertisement must not look like a step. The levels themselves,
        # not their difference from what the cloud expects: the first agents to report a step
        # move the cloud, and the others' differences shrink.
        heard = statistics.median(dbm for _, dbm in levels)
        if inside:
            if t - cloud.inside_at > _STEP_GAP_S:
                cloud.inside_since = t
            cloud.inside_at = t
        usual = cloud.usual.get(agent_id)
        if usual is None:
            cloud.usual[agent_id] = (t, heard)
            return
        since, value = usual
        cloud.steps[agent_id] = (t, heard - value)
        keep = math.exp(-(t - since) / _USUAL_TAU_S)
        cloud.usual[agent_id] = (t, value * keep + heard * (1.0 - keep))
        recent = [step for when, step in cloud.steps.values() if t - when <= _STEP_WINDOW_S]
        threshold = self._settings.bias_step_db
        sign = 1.0 if sum(recent) > 0 else -1.0
        stepped = sum(step * sign >= threshold for step in recent)
        # Every agent heard it go the same way, at least half as far: walking away from some
        # agents as fast brings the phone nearer others.
        if (
            stepped < _STEP_AGENTS
            or stepped * 3 < len(recent) * 2
            or min(step * sign for step in recent) < threshold / 2
        ):
            return
        # Someone walking out is heard quieter by every agent too, only more slowly, and so is
        # someone walking off down the street after looking in at the window; a phone there
        # taken for a bagged one nearer would be shown in the store. So only a phone placed in
        # the store for a while until just before (the step itself pushes the cloud out).
        if (
            t - cloud.inside_at > 2 * _STEP_WINDOW_S
            or cloud.inside_at - cloud.inside_since < _STEP_SETTLED_S
        ):
            return
        cloud.bias = cloud.bias + statistics.median(recent)
        # The step's size is known to a dB or so: let the levels to come finish the job.
        cloud.bias_var += 1.0
        cloud.usual.clear()
        cloud.steps.clear()

    def _expected_level(
        self,
        cloud: _Cloud,
        mean: tuple[float, float],
        unbiased: Floats,
        settings: CalibrationSettings,
    ) -> float | None:
        """What an agent should hear of a phone fit to measure receivers (see `settings`)."""
        if cloud.t - cloud.spawned_at < settings.heard_for_s:
            return None
        w = cloud.w
        mean_x, mean_y = mean
        spread2 = float(np.dot(w, (cloud.x - mean_x) ** 2 + (cloud.y - mean_y) ** 2))
        if spread2 > settings.confident_within_m**2:
            return None
        # A phone on the street is heard through the shop front, which the model leaves out.
        if not self._inside(mean_x, mean_y):
            return None
        bias = float(np.dot(w, cloud.bias))
        if abs(bias) > settings.phone_bias_within_db:
            return None
        return float(np.dot(w, unbiased)) + bias

    @staticmethod
    def _mean(cloud: _Cloud) -> tuple[float, float]:
        return float(np.dot(cloud.w, cloud.x)), float(np.dot(cloud.w, cloud.y))

    def _inside(self, x: float, y: float) -> bool:
        """Whether a point is on the store's floor; True where the plan has no outline."""
        if not self._outline:
            return True
        return any(x0 <= x < x1 and y0 <= y < y1 for x0, y0, x1, y1 in self._outline)

    def zone_probabilities(self, device_id: str) -> dict[str, float]:
        """Probability of each zone for the device (empty if it has no cloud)."""
        cloud = self._located(device_id)
        if cloud is None:
            return {}
        mass = np.bincount(cloud.zone_index, weights=cloud.w, minlength=len(self._zone_names))
        return {name: float(mass[i]) for i, name in enumerate(self._zone_names)}

    def inside_probability(self, device_id: str) -> float | None:
        """Probability the device is in the store; None without a cloud or an outlined plan."""
        if not self._outline:
            return None
        cloud = self._located(device_id)
        if cloud is None:
            return None
        return float(np.dot(cloud.w, cloud.inside))

    def placed_at(self, device_id: str) -> float | None:
        """Time (s) of the newest level behind the device's position, if tracked."""
        cloud = self._clouds.get(device_id)
        return None if cloud is None else cloud.t

    def _located(self, device_id: str) -> _Cloud | None:
        """The device's cloud with each particle's zone and inside flag as of its time."""
        cloud = self._clouds.get(device_id)
        if cloud is None:
            return None
        if cloud.zone_index_t != cloud.t or len(cloud.zone_index) != len(cloud.x):
            cloud.zone_index, cloud.inside = self._zones_at(cloud.x, cloud.y)
            cloud.zone_index_t = cloud.t
        return cloud

    def _zones_at(self, x: Floats, y: Floats) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
        """Each position's zone index, and whether it is on the store's floor (the outline)."""
        nearest = np.argmin((x[:, None] - self._ax) ** 2 + (y[:, None] - self._ay) ** 2, axis=1)
        zones: npt.NDArray[np.intp] = self._agent_zone[nearest]
        for index, (x0, y0, x1, y1) in self._bounds_by_index:
            zones[(x >= x0) & (x < x1) & (y >= y0) & (y < y1)] = index
        inside = np.zeros(len(x), dtype=np.bool_)
        for x0, y0, x1, y1 in self._outline:
            inside |= (x >= x0) & (x < x1) & (y >= y0) & (y < y1)
        return zones, inside

    def zone_at(self, x: float, y: float) -> str:
        """The zone a position belongs to: the rectangle holding it, else the nearest agent's."""
        index, _ = self._zones_at(np.array([x], dtype=np.float64), np.array([y], dtype=np.float64))
        return self._zone_names[int(index[0])]

    def position(self, device_id: str) -> tuple[float, float] | None:
        """The device's estimated position (weighted mean), if tracked."""
        cloud = self._clouds.get(device_id)
        return None if cloud is None else self._mean(cloud)

    def _spawn(self, device_id: str, agent_id: str, t: float) -> _Cloud:
        settings = self._settings
        n = settings.particles
        x, y = self._plan.positions[agent_id]
        spread = settings.spawn_sigma_m
        rng = np.random.default_rng((self._seed, zlib.crc32(device_id.encode())))
        cloud = _Cloud(
            t,
            x + spread * rng.standard_normal(n),
            y + spread * rng.standard_normal(n),
            np.zeros(n),
            np.zeros(n),
            np.zeros(n),
            settings.bias_sigma_db**2,
            np.full(n, 1.0 / n),
            rng,
            spawned_at=t,
        )
        self._clip(cloud)
        return cloud

    def _predict(self, cloud: _Cloud, t: float) -> None:
        dt = t - cloud.t
        if dt <= 0:
            return
        settings = self._settings
        n = len(cloud.x)
        rng = cloud.rng
        keep = math.exp(-dt / settings.velocity_tau_s)
        kick = settings.speed_sigma_mps * math.sqrt(1.0 - keep * keep)
        noise = rng.standard_normal((2, n))
        cloud.vx = cloud.vx * keep + kick * noise[0]
        cloud.vy = cloud.vy * keep + kick * noise[1]
        cloud.x = cloud.x + cloud.vx * dt
        cloud.y = cloud.y + cloud.vy * dt
        cloud.bias_var += settings.bias_drift_db_per_s**2 * dt
        self._clip(cloud)
        cloud.t = t

    def _clip(self, cloud: _Cloud) -> None:
        x0, y0, x1, y1 = self._bounds
        np.clip(cloud.x, x0, x1, out=cloud.x)
        np.clip(cloud.y, y0, y1, out=cloud.y)

    def _resample(self, cloud: _Cloud) -> None:
        # Systematic resampling, then a little jitter so copies of one position spread out. Not
        # the bias estimate: it belongs to the phone and only drifts (_predict); a sampled bias
        # jittered at every resample (several a second) once wandered by several dB over a
        # visit, and a phone taken to be 5 dB louder than it is was placed out of the store.
        n = len(cloud.w)
        rng = cloud.rng
        picks = (rng.random() + np.arange(n)) / n
        index = np.minimum(np.searchsorted(np.cumsum(cloud.w), picks), n - 1)
        cloud.x = cloud.x[index] + 0.1 * rng.standard_normal(n)
        cloud.y = cloud.y[index] + 0.1 * rng.standard_normal(n)
        cloud.vx = cloud.vx[index]
        cloud.vy = cloud.vy[index]
        cloud.bias = cloud.bias[index]
        cloud.w = np.full(n, 1.0 / n)
        self._clip(cloud)
