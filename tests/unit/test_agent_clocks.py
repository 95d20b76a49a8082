from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store_hub.domain.agent_clocks import AgentClocks

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def test_offset_is_the_smallest_delay_so_a_slow_agent_clock_is_corrected() -> None:
    clocks = AgentClocks()
    # The agent's clock is 42 s behind; network delays vary between 20 and 300 ms.
    for n, delay in enumerate([0.3, 0.02, 0.1]):
        sent = T0 + s(n) - s(42)
        timing = clocks.observe("door-1", sent, T0 + s(n) + s(delay))
    assert clocks.offset("door-1") == s(42.02)
    assert timing.to_hub(T0 - s(42)) == T0 + s(0.02)
    assert timing.lateness == s(0.08)


def test_a_report_flushed_late_from_the_spool_is_late_and_does_not_move_the_offset() -> None:
    clocks = AgentClocks()
    clocks.observe("door-1", T0, T0 + s(0.05))
    late = clocks.observe("door-1", T0 - s(600), T0 + s(1))
    assert late.offset == s(0.05)
    assert late.lateness == s(600.95)
    assert clocks.offsets() == {"door-1": 0.05}


def test_agents_are_estimated_apart_and_old_reports_leave_the_window() -> None:
    clocks = AgentClocks(recent_reports=3)
    clocks.observe("fit-1", T0, T0 + s(5))
    clocks.observe("door-1", T0, T0)
    for n in range(1, 4):
        clocks.observe("fit-1", T0 + s(n), T0 + s(n) + s(9))
    # The 5 s sample fell out of fit-1's window of three: its clock moved.
    assert clocks.offsets() == {"fit-1": 9.0, "door-1": 0.0}
    assert clocks.offset("till-1") is None
