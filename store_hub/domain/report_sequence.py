"""Per-agent report sequence numbers: gaps (lost reports) and repeats, per boot (pure).

An agent numbers its reports 0, 1, 2 ... within one `boot_id`. The hub keeps, per boot, the
highest seq seen and how many numbers below it are still missing. Counting starts at the first
seq the hub sees of a boot (reports made before the hub first subscribed were never its to get).
A seq below the highest fills a gap if one is open; the highest again, or any lower seq with no
gap open, can only be a repeat, which catches QoS 1 redeliveries older than the exact duplicate
window or from before a hub restart. A new boot becomes the current one; a few earlier boots
are remembered so the rest of a previous boot, flushed from the agent's spool after it
restarted, still counts right.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# Boots remembered per agent besides the current one.
_EARLIER_BOOTS = 3


class SeqOutcome(Enum):
    """What one report's seq says."""

    NEXT = "next"
    GAP = "gap"
    FILLED = "filled"
    REPEAT = "repeat"


@dataclass
class BootSeq:
    """The sequence state of one boot."""

    boot_id: str
    last_seq: int
    gaps: int = 0


class ReportSequence:
    """One agent's sequence numbers across its boots."""

    def __init__(self, current: BootSeq | None = None) -> None:
        self._boots: dict[str, BootSeq] = {}
        self._current: BootSeq | None = current
        if current is not None:
            self._boots[current.boot_id] = current

    @property
    def current(self) -> BootSeq | None:
        """The most recent boot, if any report was seen."""
        return self._current

    def observe(self, boot_id: str, seq: int) -> SeqOutcome:
        """Take one report's (boot_id, seq); say whether it is next, opens a gap, fills one."""
        boot = self._boots.get(boot_id)
        if boot is None:
            boot = self._boots[boot_id] = BootSeq(boot_id, seq)
            self._current = boot
            while len(self._boots) > _EARLIER_BOOTS + 1:
                del self._boots[next(iter(self._boots))]
            return SeqOutcome.NEXT
        if seq > boot.last_seq:
            missing = seq - boot.last_seq - 1
            boot.last_seq = seq
            boot.gaps += missing
            return SeqOutcome.GAP if missing else SeqOutcome.NEXT
        if seq < boot.last_seq and boot.gaps > 0:
            boot.gaps -= 1
            return SeqOutcome.FILLED
        return SeqOutcome.REPEAT
