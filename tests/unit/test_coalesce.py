"""Coalescing per-agent updates for the live IT view: one send per key per interval."""

from __future__ import annotations

import pytest

from store_hub.domain.coalesce import Coalescer


def test_a_first_change_is_due_at_once_and_a_repeat_waits_for_the_interval() -> None:
    pending: Coalescer[str] = Coalescer(2.0)
    pending.mark(["door-1"])
    assert pending.take_due(10.0) == ["door-1"]
    pending.mark(["door-1"])
    assert pending.next_due() == 12.0
    assert pending.take_due(11.9) == []
    assert pending.take_due(12.0) == ["door-1"]
    assert pending.next_due() is None


def test_many_marks_within_the_interval_make_one_trailing_send() -> None:
    pending: Coalescer[str] = Coalescer(2.0)
    sends: list[tuple[float, str]] = []
    # An agent reporting ten times a second for five seconds.
    for tenth in range(50):
        now = tenth / 10
        pending.mark(["door-1"])
        sends += [(now, key) for key in pending.take_due(now)]
    sends += [(6.0, key) for key in pending.take_due(6.0)]
    assert [at for at, _ in sends] == [0.0, 2.0, 4.0, 6.0]


def test_agents_are_throttled_independently() -> None:
    pending: Coalescer[str] = Coalescer(2.0)
    pending.mark(["door-1"])
    assert pending.take_due(0.0) == ["door-1"]
    pending.mark(["door-1", "till-1"])
    assert pending.take_due(0.5) == ["till-1"]
    assert pending.next_due() == 2.0


def test_a_key_quiet_for_an_interval_is_forgotten_and_due_at_once_again() -> None:
    pending: Coalescer[str] = Coalescer(2.0)
    pending.mark(["door-1"])
    pending.take_due(0.0)
    pending.take_due(5.0)
    pending.mark(["door-1"])
    assert pending.take_due(5.1) == ["door-1"]


def test_a_negative_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        Coalescer(-1.0)
