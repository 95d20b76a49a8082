from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from store_hub.domain.eid import compute_eid, eid_token, ibeacon_token
from store_hub.domain.identity import EidTable, EnrolledDevice

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
KEY = bytes(range(16))
OTHER_KEY = bytes(reversed(range(16)))
PERIOD = timedelta(seconds=1024)
SECOND = timedelta(seconds=1)


def device(
    device_id: str = "d1", consent: bool = True, key: bytes = KEY, k: int = 10
) -> EnrolledDevice:
    return EnrolledDevice(device_id, key, k, consent)


def eid_at(moment: datetime, key: bytes = KEY, k: int = 10) -> bytes:
    return compute_eid(key, k, int(moment.timestamp()))


def token_at(moment: datetime, key: bytes = KEY, k: int = 10) -> str:
    return eid_token(eid_at(moment, key, k))


def tick(table: EidTable, start: datetime, end: datetime, step: timedelta = SECOND) -> None:
    """Call refresh the way the hub does, once per `step`, from start up to and including end."""
    moment = start
    while moment <= end:
        table.refresh(moment)
        moment += step


def test_resolves_current_eid_and_ibeacon_prefix() -> None:
    table = EidTable()
    table.add(device(), T0)
    eid = eid_at(T0)
    assert table.resolve(eid_token(eid)) == "d1"
    assert table.resolve(ibeacon_token(eid)) == "d1"
    assert len(table) == 1


def test_resolves_within_two_rotation_periods_either_side_only() -> None:
    table = EidTable()
    table.add(device(), T0)
    for periods in (-2, -1, 0, 1, 2):
        eid = eid_at(T0 + periods * PERIOD)
        assert table.resolve(eid_token(eid)) == "d1"
        assert table.resolve(ibeacon_token(eid)) == "d1"
    for periods in (-3, 3):
        eid = eid_at(T0 + periods * PERIOD)
        assert table.resolve(eid_token(eid)) is None
        assert table.resolve(ibeacon_token(eid)) is None


def test_window_rollover_adds_the_new_window_and_drops_the_old_one() -> None:
    table = EidTable()
    table.add(device(), T0)
    old = token_at(T0 - 2 * PERIOD)
    later = T0 + PERIOD
    tick(table, T0, later)
    assert table.resolve(token_at(later + 2 * PERIOD)) == "d1"
    assert table.resolve(old) is None
    assert table.resolve(token_at(later - 2 * PERIOD)) == "d1"


def test_rolling_computes_each_window_once_and_one_temporary_key_per_epoch() -> None:
    # 2026-11-24 10:00 UTC sits well inside a 65,536 s temporary-key epoch, and 20 windows later
    # is still inside it: rolling must never recompute an EID or a temporary key.
    table = EidTable()
    table.add_many([device("d1"), device("d2", key=OTHER_KEY)], T0)
    assert table.eids_computed == 2 * 5
    assert table.temporary_keys_computed == 2
    end = T0 + 20 * PERIOD
    tick(table, T0, end, step=4 * SECOND)
    windows = table.eids_computed // 2
    # Every window that became live was computed exactly once; at most two batches of four
    # beyond the live windows are computed ahead.
    assert table.eids_computed % 2 == 0
    assert 5 + 20 <= windows <= 5 + 20 + 8
    assert table.temporary_keys_computed == 2
    for periods in range(-2, 3):
        assert table.resolve(token_at(end + periods * PERIOD, OTHER_KEY)) == "d2"


def test_next_windows_are_ready_before_they_are_needed() -> None:
    # After a window of ordinary ticks, rolling into the next one computes nothing new.
    table = EidTable()
    table.add(device(), T0)
    start = T0 + PERIOD
    tick(table, start, start + PERIOD)
    before = table.eids_computed
    table.refresh(start + 2 * PERIOD)
    assert table.eids_computed == before
    assert table.resolve(token_at(start + 4 * PERIOD)) == "d1"


def test_temporary_key_epoch_rollover() -> None:
    # Start five windows before the counter crosses a multiple of 65,536 and tick across it.
    boundary = datetime.fromtimestamp(26_917 << 16, UTC)
    start = boundary - 5 * PERIOD
    table = EidTable()
    table.add(device(), start)
    tick(table, start, boundary + 4 * PERIOD, step=8 * SECOND)
    assert table.temporary_keys_computed == 2  # one per epoch, not one per window
    for periods in (-2, -1, 0, 1, 2):
        moment = boundary + 4 * PERIOD + periods * PERIOD
        assert table.resolve(token_at(moment)) == "d1"
    straddling = EidTable()
    straddling.add(device(), boundary)  # live windows on both sides of the boundary
    for periods in (-2, -1, 0, 1, 2):
        assert straddling.resolve(token_at(boundary + periods * PERIOD)) == "d1"
    assert straddling.temporary_keys_computed == 2


def test_counter_wrap_at_2_32() -> None:
    wrap = datetime.fromtimestamp(2**32, UTC)
    table = EidTable()
    table.add(device(), wrap)
    for periods in (-2, -1, 0, 1, 2):
        counter = (int(wrap.timestamp()) + periods * 1024) % 2**32
        assert table.resolve(eid_token(compute_eid(KEY, 10, counter))) == "d1"


def test_without_presence_consent_a_device_never_resolves() -> None:
    table = EidTable()
    table.add(device(consent=False), T0)
    assert table.resolve(token_at(T0)) is None
    assert len(table) == 0


def test_consent_withdrawn_by_update_takes_effect_at_once() -> None:
    table = EidTable()
    table.add(device(), T0)
    table.add(device(consent=False), T0)
    assert table.resolve(token_at(T0)) is None
    assert len(table) == 0


def test_removal_takes_effect_at_once_and_counts_unknown() -> None:
    table = EidTable()
    table.add(device(), T0)
    table.remove("d1")
    assert table.resolve(token_at(T0)) is None
    assert table.unknown_tokens == 1
    table.remove("d1")  # removing twice is harmless
    table.remove("never-enrolled")


def test_revoked_device_stays_gone_through_windows_computed_ahead() -> None:
    # Tick until the look-ahead batch is half done (one of two devices), then revoke: neither
    # the live, the ready nor the half-computed future windows may bring the device back.
    table = EidTable()
    table.add_many([device("d1"), device("d2", key=OTHER_KEY)], T0)
    tick(table, T0, T0 + 2 * SECOND)
    table.remove("d1")
    end = T0 + 12 * PERIOD
    tick(table, T0 + 3 * SECOND, end, step=16 * SECOND)
    moment = T0
    while moment <= end + 2 * PERIOD:
        assert table.resolve(token_at(moment)) is None
        moment += PERIOD
    for periods in range(-2, 3):
        assert table.resolve(token_at(end + periods * PERIOD, OTHER_KEY)) == "d2"


def test_removing_one_device_keeps_the_others() -> None:
    table = EidTable()
    table.add(device(), T0)
    table.add(device("d2", key=OTHER_KEY), T0)
    table.remove("d1")
    assert table.resolve(token_at(T0, OTHER_KEY)) == "d2"
    assert len(table) == 1


def test_re_enrolment_with_a_new_key_replaces_the_old_one() -> None:
    table = EidTable()
    table.add(device(), T0)
    table.add(device(key=OTHER_KEY), T0)
    assert table.resolve(token_at(T0)) is None
    assert table.resolve(token_at(T0, OTHER_KEY)) == "d1"
    assert len(table) == 1


@pytest.mark.parametrize(
    "token",
    ["", "eid:", "eid:0123", "eid:0x23456789abcdef", "eid:01 3456789abcdef", "ib:zzzzzzzz", "x:1"],
)
def test_malformed_tokens_are_unknown(token: str) -> None:
    table = EidTable()
    table.add(device(), T0)
    assert table.resolve(token) is None
    assert table.unknown_tokens == 1


# Two identity keys whose EIDs share their first four bytes in the window holding this counter
# (found by a birthday search): their iBeacon tokens are identical, their EID tokens are not.
COLLIDING_AT = datetime.fromtimestamp(1_795_000_000, UTC)
KEY_A = (138).to_bytes(16, "big")
KEY_B = (89_760).to_bytes(16, "big")


def test_ibeacon_prefix_shared_by_two_devices_resolves_to_nobody() -> None:
    eid_a, eid_b = eid_at(COLLIDING_AT, KEY_A), eid_at(COLLIDING_AT, KEY_B)
    assert eid_a[:4] == eid_b[:4] and eid_a != eid_b
    table = EidTable()
    table.add_many([device("a", key=KEY_A), device("b", key=KEY_B)], COLLIDING_AT)
    assert table.resolve(eid_token(eid_a)) == "a"
    assert table.resolve(eid_token(eid_b)) == "b"
    assert table.resolve(ibeacon_token(eid_a)) is None
    assert table.ambiguous_tokens == 1
    assert table.unknown_tokens == 0
    table.remove("b")
    assert table.resolve(ibeacon_token(eid_a)) == "a"


def test_mixed_rotation_exponents_each_keep_their_own_windows() -> None:
    rng = random.Random(4)
    exponents = [0, 3, 10, 15]
    keys = {k: rng.randbytes(16) for k in exponents}
    table = EidTable()
    table.add_many([device(f"k{k}", key=keys[k], k=k) for k in exponents], T0)
    end = T0 + 40 * SECOND
    tick(table, T0, end)
    for k in exponents:
        period = timedelta(seconds=1 << k)
        for periods in (-2, 0, 2):
            assert table.resolve(token_at(end + periods * period, keys[k], k)) == f"k{k}"
        assert table.resolve(token_at(end + 3 * period, keys[k], k)) is None
        assert table.resolve(token_at(end - 3 * period, keys[k], k)) is None


def test_table_eids_equal_the_reference_computation() -> None:
    # The table's batched, key-caching path against compute_eid (which test_eid checks against
    # OpenSSL), for random keys and exponents, on both sides of a temporary-key epoch change.
    rng = random.Random(11)
    boundary = datetime.fromtimestamp(26_917 << 16, UTC)
    devices = [device(f"r{i}", key=rng.randbytes(16), k=rng.randrange(16)) for i in range(60)]
    table = EidTable()
    start = boundary - 3 * PERIOD
    table.add_many(devices, start)
    end = boundary + 3 * PERIOD
    tick(table, start, end, step=32 * SECOND)
    for d in devices:
        period = timedelta(seconds=1 << d.rotation_exponent)
        for periods in range(-2, 3):
            eid = eid_at(end + periods * period, d.identity_key, d.rotation_exponent)
            assert table.resolve(eid_token(eid)) == d.device_id


def test_add_many_equals_adding_one_by_one() -> None:
    rng = random.Random(5)
    devices = [device(f"d{i}", key=rng.randbytes(16), k=rng.choice([8, 10])) for i in range(40)]
    devices += [device("d3", key=KEY), device("no-consent", consent=False)]  # d3 updated
    one_by_one, at_once = EidTable(hash_seed=1), EidTable(hash_seed=1)
    for d in devices:
        one_by_one.add(d, T0)
    at_once.add_many(devices, T0)
    assert len(one_by_one) == len(at_once) == 40
    for table in (one_by_one, at_once):
        tick(table, T0, T0 + 3 * PERIOD, step=64 * SECOND)
    moment = T0 + 3 * PERIOD
    for d in devices:
        period = timedelta(seconds=1 << d.rotation_exponent)
        for periods in range(-3, 4):
            eid = eid_at(moment + periods * period, d.identity_key, d.rotation_exponent)
            for token in (eid_token(eid), ibeacon_token(eid)):
                assert one_by_one.resolve(token) == at_once.resolve(token)
    assert one_by_one.resolve(token_at(moment)) == "d3"


def test_growth_and_reuse_of_freed_slots() -> None:
    rng = random.Random(9)
    keys = [rng.randbytes(16) for _ in range(300)]
    table = EidTable()
    for i, key in enumerate(keys):
        table.add(device(f"d{i}", key=key), T0)
    for i in range(0, 300, 2):
        table.remove(f"d{i}")
    for i in range(0, 300, 4):
        table.add(device(f"d{i}", key=keys[i]), T0)
    tick(table, T0, T0 + PERIOD, step=16 * SECOND)
    moment = T0 + PERIOD
    for i, key in enumerate(keys):
        expected = f"d{i}" if i % 2 or i % 4 == 0 else None
        assert table.resolve(token_at(moment, key)) == expected
    assert len(table) == 150 + 75


def test_a_jump_in_time_rebuilds_only_the_windows_that_are_needed() -> None:
    table = EidTable()
    table.add(device(), T0)
    later = T0 + timedelta(hours=10)
    table.refresh(later)
    assert table.resolve(token_at(later)) == "d1"
    assert table.resolve(token_at(T0)) is None
    assert table.resolve(token_at(later + 2 * PERIOD)) == "d1"
