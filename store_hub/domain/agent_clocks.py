"""Agents' clocks as the hub sees them: measured offsets, and agent time turned into hub time.

A store device's clock may be minutes off (no NTP on a shop's VLAN, a Pi without an RTC after a
power cut), and a replayed trace runs on the trace's clock. The hub therefore never compares an
agent's timestamps with its own directly: it estimates each agent's offset as the smallest
`received_at - sent_at` over its recent reports. A fresh report's delay is network latency
(milliseconds), while a report flushed from the agent's spool after an outage has a large one,
so the minimum follows the clock offset and ignores late reports.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

RECENT_REPORTS = 32


@dataclass(frozen=True)
class AgentTime:
    """How one report's time relates to the hub's."""

    offset: timedelta
    lateness: timedelta

    def to_hub(self, agent_moment: datetime) -> datetime:
        """An agent timestamp on the hub's clock."""
        return agent_moment + self.offset


class AgentClocks:
    """Per-agent clock offsets, from the reports' `sent_at` and when the hub received them."""

    def __init__(self, recent_reports: int = RECENT_REPORTS) -> None:
        self._recent = recent_reports
        self._delays: dict[str, deque[timedelta]] = {}

    def observe(self, agent_id: str, sent_at: datetime, received_at: datetime) -> AgentTime:
        """Take one report into the agent's estimate; say its offset and how late it came."""
        delays = self._delays.get(agent_id)
        if delays is None:
            delays = self._delays[agent_id] = deque(maxlen=self._recent)
        delay = received_at - sent_at
        delays.append(delay)
        offset = min(delays)
        return AgentTime(offset=offset, lateness=delay - offset)

    def offset(self, agent_id: str) -> timedelta | None:
        """The agent's current offset (hub minus agent), if it has reported."""
        delays = self._delays.get(agent_id)
        return min(delays) if delays else None

    def offsets(self) -> dict[str, float]:
        """Every agent's offset in seconds, for the health view."""
        return {agent: round(min(d).total_seconds(), 3) for agent, d in self._delays.items() if d}
