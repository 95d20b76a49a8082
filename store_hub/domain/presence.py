"""Turn resolved sightings into arrivals and departures (pure, time injected).

A device is present while at least one agent hears it. It departs when every agent that heard it
has said it departed (the agent already waited its own away timeout), or when no agent has heard
it for the hub's away timeout (an agent that went offline cannot say anything).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Arrived:
    """A device was heard in the store and was not present before."""

    device_id: str
    at: datetime
    agent_id: str
    zone: str | None
    rssi: float


@dataclass(frozen=True)
class Departed:
    """A present device is no longer heard by any agent."""

    device_id: str
    at: datetime
    last_seen: datetime


PresenceEvent = Arrived | Departed


@dataclass
class _Presence:
    heard_by: dict[str, datetime] = field(default_factory=dict)
    last_seen: datetime | None = None


class PresenceTracker:
    """Who is in one store right now, by device."""

    def __init__(self, away_timeout: timedelta) -> None:
        self._away_timeout = away_timeout
        self._present: dict[str, _Presence] = {}

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._present

    def present(self) -> list[str]:
        """Devices present now."""
        return list(self._present)

    def restore(self, device_id: str, last_seen: datetime) -> None:
        """Take back a device that was present before a restart, without a new arrival."""
        state = self._present.setdefault(device_id, _Presence())
        state.heard_by.setdefault("", last_seen)
        state.last_seen = max(last_seen, state.last_seen or last_seen)

    def heard(
        self, device_id: str, agent_id: str, zone: str | None, rssi: float, seen_at: datetime
    ) -> list[PresenceEvent]:
        """An agent heard a device at `seen_at`; an arrival if it was not present."""
        state = self._present.get(device_id)
        events: list[PresenceEvent] = []
        if state is None:
            state = self._present[device_id] = _Presence()
            events.append(Arrived(device_id, seen_at, agent_id, zone, rssi))
        state.heard_by.pop("", None)
        previous = state.heard_by.get(agent_id)
        if previous is None or seen_at > previous:
            state.heard_by[agent_id] = seen_at
        if state.last_seen is None or seen_at > state.last_seen:
            state.last_seen = seen_at
        return events

    def lost(self, device_id: str, agent_id: str, now: datetime) -> list[PresenceEvent]:
        """An agent says it no longer hears a device; a departure if no agent does."""
        state = self._present.get(device_id)
        if state is None:
            return []
        state.heard_by.pop(agent_id, None)
        state.heard_by.pop("", None)
        if state.heard_by:
            return []
        del self._present[device_id]
        return [Departed(device_id, now, state.last_seen or now)]

    def expire(self, now: datetime) -> list[PresenceEvent]:
        """Depart every device no agent has heard for the away timeout."""
        events: list[PresenceEvent] = []
        horizon = now - self._away_timeout
        for device_id, state in list(self._present.items()):
            for agent_id, seen in list(state.heard_by.items()):
                if seen < horizon:
                    del state.heard_by[agent_id]
            if not state.heard_by:
                del self._present[device_id]
                events.append(Departed(device_id, now, state.last_seen or now))
        return events
