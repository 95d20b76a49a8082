from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store_hub.domain.eid import compute_eid, eid_token, ibeacon_token
from store_hub.domain.identity import EidTable, EnrolledDevice

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
KEY = bytes(range(16))


def device(device_id: str = "d1", consent: bool = True, key: bytes = KEY) -> EnrolledDevice:
    return EnrolledDevice(device_id, key, 10, consent)


def token_at(moment: datetime, key: bytes = KEY) -> str:
    return eid_token(compute_eid(key, 10, int(moment.timestamp())))


def test_resolves_current_eid_and_ibeacon_prefix() -> None:
    table = EidTable()
    table.add(device(), T0)
    eid = compute_eid(KEY, 10, int(T0.timestamp()))
    assert table.resolve(eid_token(eid)) == "d1"
    assert table.resolve(ibeacon_token(eid)) == "d1"


def test_resolves_within_two_rotation_periods_either_side_only() -> None:
    table = EidTable()
    table.add(device(), T0)
    period = timedelta(seconds=1024)
    assert table.resolve(token_at(T0 - 2 * period)) == "d1"
    assert table.resolve(token_at(T0 + 2 * period)) == "d1"
    assert table.resolve(token_at(T0 + 3 * period)) is None
    assert table.resolve(token_at(T0 - 3 * period)) is None


def test_window_rollover_adds_new_and_drops_old_windows() -> None:
    table = EidTable()
    table.add(device(), T0)
    old = token_at(T0 - 2 * timedelta(seconds=1024))
    later = T0 + timedelta(seconds=1024)
    table.refresh(later)
    assert table.resolve(token_at(later + 2 * timedelta(seconds=1024))) == "d1"
    assert table.resolve(old) is None


def test_without_presence_consent_a_device_never_resolves() -> None:
    table = EidTable()
    table.add(device(consent=False), T0)
    assert table.resolve(token_at(T0)) is None
    assert len(table) == 0


def test_removal_takes_effect_at_once_and_counts_unknown() -> None:
    table = EidTable()
    table.add(device(), T0)
    table.remove("d1")
    assert table.resolve(token_at(T0)) is None
    assert table.unknown_tokens == 1


def test_removing_one_device_keeps_the_others() -> None:
    table = EidTable()
    other_key = bytes(reversed(range(16)))
    table.add(device(), T0)
    table.add(device("d2", key=other_key), T0)
    table.remove("d1")
    assert table.resolve(token_at(T0, other_key)) == "d2"
