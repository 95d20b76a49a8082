"""Resolve advertised tokens to enrolled devices through a table of their current EIDs.

Only the hub holds identity keys. For every device with presence consent the table holds the EIDs
of the rotation windows around now (contract: +/- 2 rotation periods), so resolving a token is a
constant number of hash probes. It is built for a million devices on one hub (bench/README.md):

- Devices sharing a rotation exponent K roll windows at the same instant (the counter is Unix
  time), so each (K, window) is one generation: an open-addressing table in flat arrays keyed by
  the EID's 32-bit prefix (which is also the iBeacon token, and AES output, so already uniform).
  Rolling over drops the oldest generation whole and adds one new one: only new EIDs are computed.
- Future generations are computed ahead, a slice per `refresh` call, paced to be ready well before
  they are needed, so the hub's once-a-second tick never stalls for long. They are computed
  `_BATCH` windows at a time: AES over several blocks under one key costs what one block does
  (the key schedule dominates), so this divides the AES work per window by `_BATCH`.
- Per-device state lives in flat arrays indexed by a dense device number: ids, identity keys,
  temporary keys (cached: they change only every 65,536 s) and each generation's EIDs.
- Enrollment and revocation change every live generation at once.
"""

from __future__ import annotations

import secrets
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from store_hub.domain.eid import (
    COUNTER_MODULUS,
    EID_BYTES,
    EPOCH_BITS,
    KEY_BYTES,
    MAX_ROTATION_EXPONENT,
    aes_ecb,
    eid_input,
    temporary_key_input,
)
from store_hub.domain.eid_storage import (
    BLOCK,
    DELETED,
    EMPTY,
    MASK32,
    DeviceGroup,
    Generation,
)

WINDOW_MARGIN = 2
_BATCH = 4  # windows computed ahead per key schedule; 4 cuts AES per window to about a quarter


@dataclass(frozen=True)
class EnrolledDevice:
    """What identity needs to know about one enrolled device."""

    device_id: str
    identity_key: bytes
    rotation_exponent: int
    presence_consent: bool


class _Ambiguous:
    """Marker for a token more than one device could be advertising."""


_AMBIGUOUS = _Ambiguous()
# A live generation as look-ups need it: slots, EIDs, mask, shift and its group.
_Live: TypeAlias = "tuple[array[int], array[int], int, int, DeviceGroup]"


class EidTable:
    """EID -> device table for the windows around the injected `now`."""

    def __init__(self, hash_seed: int | None = None) -> None:
        # A secret odd multiplier on the prefix: an enrollee who chooses identity keys cannot aim
        # many EIDs at one stretch of a table and make its probe sequences long.
        seed = secrets.randbits(32) if hash_seed is None else hash_seed
        self._mult = (seed & MASK32) | 1
        self._groups: dict[int, DeviceGroup] = {}
        self._clock: int | None = None  # seconds; moved by refresh (or the first add)
        self._live: list[_Live] | None = None
        self.unknown_tokens = 0
        self.ambiguous_tokens = 0
        self.eids_computed = 0
        self.temporary_keys_computed = 0

    def __len__(self) -> int:
        return sum(group.count for group in self._groups.values())

    def add(self, device: EnrolledDevice, now: datetime) -> None:
        """Start resolving a device (or update it); without presence consent it never resolves."""
        self.add_many([device], now)

    def add_many(self, devices: Iterable[EnrolledDevice], now: datetime) -> None:
        """Add or update many devices at once (the hub's start-up load).

        `now` places the windows only until the first `refresh`; after that the table's clock,
        which `refresh` moves, decides which windows a new device gets.
        """
        if self._clock is None:
            self._clock = int(now.timestamp())
        # Devices are taken one at a time (a generator from the database works) and their EIDs
        # computed afterwards, a rotation exponent at a time; a later update of the same device
        # in `devices` wins.
        fresh: dict[int, list[int]] = {}
        for device in devices:
            self._forget(device.device_id)
            if not device.presence_consent:
                continue
            _validate(device)
            k = device.rotation_exponent
            group = self._groups.get(k)
            if group is None:
                group = self._groups[k] = DeviceGroup(k)
                self._roll(group, self._clock)
            fresh.setdefault(k, []).append(group.allocate(device.device_id, device.identity_key))
        for k, numbers in fresh.items():
            group = self._groups[k]
            self._insert_numbers(group, sorted({n for n in numbers if group.id_lengths[n]}))
        self._drop_empty_groups()

    def remove(self, device_id: str) -> None:
        """Stop resolving a device at once (revocation, consent withdrawn, erasure)."""
        self._forget(device_id)
        self._drop_empty_groups()

    def _drop_empty_groups(self) -> None:
        for k in [k for k, group in self._groups.items() if not group.count]:
            del self._groups[k]
            self._live = None

    def _forget(self, device_id: str) -> None:
        for group in self._groups.values():
            number = group.find(device_id)
            if number is None:
                continue
            for generation in [*group.generations.values(), *group.ready.values()]:
                generation.delete(number, self._mult)
            if number < group.cursor:
                for generation in group.pending:
                    generation.delete(number, self._mult)
            group.release(number)
            return

    def refresh(self, now: datetime) -> None:
        """Roll windows to `now`, computing only new EIDs, and compute a slice of future ones."""
        self._clock = int(now.timestamp())
        for group in self._groups.values():
            self._roll(group, self._clock)
            self._advance(group, self._clock)

    def resolve(self, token: str) -> str | None:
        """The device advertising `token` in the current windows, if exactly one does."""
        kind, _, digits = token.partition(":")
        if (kind == "eid" and len(digits) == 2 * EID_BYTES) or (kind == "ib" and len(digits) == 8):
            try:
                raw = bytes.fromhex(digits)
            except ValueError:
                raw = b""
            # fromhex skips whitespace; a short result means the token was not pure hex.
            if 2 * len(raw) == len(digits):
                value = int.from_bytes(raw, "big")
                found = self._find(value >> 32, value) if kind == "eid" else self._find(value)
                if isinstance(found, _Ambiguous):
                    self.ambiguous_tokens += 1
                    return None
                if found is None:
                    self.unknown_tokens += 1
                return found
        self.unknown_tokens += 1
        return None

    def _find(self, prefix: int, eid: int | None = None) -> str | _Ambiguous | None:
        # Every live generation is probed; an iBeacon prefix (or, astronomically rarely, a full
        # EID) shared by two devices resolves to nobody rather than possibly the wrong person.
        live = self._live if self._live is not None else self._collect_live()
        start = (prefix * self._mult) & MASK32
        found: DeviceGroup | None = None
        found_number = -1
        for slots, eids, mask, shift, group in live:
            i = start >> shift
            while (value := slots[i]) != EMPTY:
                if value != DELETED:
                    stored = eids[value - 1]
                    if (stored == eid) if eid is not None else (stored >> 32 == prefix):
                        if found is None:
                            found, found_number = group, value - 1
                        elif found is not group or found_number != value - 1:
                            return _AMBIGUOUS
                i = (i + 1) & mask
        return None if found is None else found.device_id(found_number)

    def _collect_live(self) -> list[_Live]:
        self._live = [
            (gen.slots, gen.eids, gen.mask, gen.shift, group)
            for group in self._groups.values()
            for gen in group.generations.values()
        ]
        return self._live

    def _roll(self, group: DeviceGroup, clock: int) -> None:
        """Keep exactly the generations within the margin of `clock`, computing missing ones."""
        current = clock >> group.k
        wanted = range(current - WINDOW_MARGIN, current + WINDOW_MARGIN + 1)
        for number in [n for n in group.generations if n not in wanted]:
            del group.generations[number]
            self._live = None
        # Computed ahead: at most two batches beyond the live windows (see _advance).
        ahead = range(wanted.start, wanted.stop + 2 * _BATCH)
        for number in [n for n in group.ready if n not in ahead]:
            del group.ready[number]
        if group.pending and group.pending[0].number not in ahead:
            group.pending, group.cursor = [], 0
        for number in wanted:
            if number in group.generations:
                continue
            if any(g.number == number for g in group.pending):
                self._compute(group, group.pending, group.cursor, group.numbers)
                group.ready.update((g.number, g) for g in group.pending)
                group.pending, group.cursor = [], 0
            generation = group.ready.pop(number, None)
            if generation is None:
                generation = Generation(number, group.count)
                self._compute(group, [generation], 0, group.numbers)
            group.generations[number] = generation
            self._live = None

    def _advance(self, group: DeviceGroup, clock: int) -> None:
        """Compute a slice of the next batch of future generations, paced by its deadline."""
        k = group.k
        current = clock >> k
        if not group.pending:
            first = max([current + WINDOW_MARGIN, *group.generations, *group.ready]) + 1
            # A batch is due when its first window becomes live. Starting it _BATCH windows
            # before spreads it evenly: one batch is computed while the previous one goes live.
            if first - WINDOW_MARGIN - current > _BATCH:
                return
            # A batch never spans two temporary-key epochs, so it needs one key per device.
            epoch_windows = 1 << (EPOCH_BITS - k)
            last = min(first + _BATCH, (first // epoch_windows + 1) * epoch_windows)
            group.pending = [Generation(n, group.count) for n in range(first, last)]
            group.cursor = 0
        remaining = group.numbers - group.cursor
        if remaining > 0:
            # Seconds (refresh calls) left until the batch is due, less half a window of slack
            # for late ticks; whatever is still left when it is due is computed then.
            due = (group.pending[0].number - WINDOW_MARGIN) << k
            spare = due - clock - (1 << k) // 2
            step = remaining if spare <= 1 else -(-remaining // spare)
            self._compute(group, group.pending, group.cursor, group.cursor + step)
            group.cursor += step
        if group.cursor >= group.numbers:
            group.ready.update((g.number, g) for g in group.pending)
            group.pending, group.cursor = [], 0

    def _compute(
        self, group: DeviceGroup, targets: list[Generation], start: int, stop: int
    ) -> None:
        """Fill same-epoch generations for device numbers start..stop-1: one key schedule each."""
        stop = min(stop, group.numbers)
        if stop <= start:
            return
        for generation in targets:
            if generation.reserve(stop - start, group.numbers, self._mult):
                self._live = None
        k, mult = group.k, self._mult
        counters = [(g.number << k) % COUNTER_MODULUS for g in targets]
        epoch = counters[0] >> EPOCH_BITS
        key_block = temporary_key_input(counters[0])
        blocks = b"".join(eid_input(k, counter) for counter in counters)
        lengths, keys, epochs = group.id_lengths, group.keys, group.epochs
        inserts = [(g.insert, BLOCK * i) for i, g in enumerate(targets)]
        computed = keys_computed = 0
        for number in range(start, stop):
            if not lengths[number]:
                continue
            at = 2 * BLOCK * number
            if epochs[number] != epoch:
                keys[at + BLOCK : at + 2 * BLOCK] = aes_ecb(keys[at : at + BLOCK], key_block)
                epochs[number] = epoch
                keys_computed += 1
            out = aes_ecb(keys[at + BLOCK : at + 2 * BLOCK], blocks)
            for insert, offset in inserts:
                insert(number, int.from_bytes(out[offset : offset + EID_BYTES], "big"), mult)
            computed += 1
        self.eids_computed += computed * len(targets)
        self.temporary_keys_computed += keys_computed

    def _insert_numbers(self, group: DeviceGroup, numbers: list[int]) -> None:
        # Live and ready generations get every new device now; the pending batch only those
        # below its cursor, since its slices will reach the others.
        computed = [*group.generations.values(), *group.ready.values()]
        behind = [n for n in numbers if n < group.cursor]
        for members, wanted in ((computed, numbers), (group.pending, behind)):
            for same_epoch in _epoch_runs(group.k, members):
                for start, stop in _runs(wanted):
                    self._compute(group, same_epoch, start, stop)


def _epoch_runs(k: int, generations: list[Generation]) -> list[list[Generation]]:
    """Generations grouped by temporary-key epoch, in window order."""
    runs: dict[int, list[Generation]] = {}
    for generation in sorted(generations, key=lambda g: g.number):
        epoch = ((generation.number << k) % COUNTER_MODULUS) >> EPOCH_BITS
        runs.setdefault(epoch, []).append(generation)
    return list(runs.values())


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted numbers as half-open ranges of consecutive ones."""
    ranges: list[tuple[int, int]] = []
    for number in numbers:
        if ranges and ranges[-1][1] == number:
            ranges[-1] = (ranges[-1][0], number + 1)
        else:
            ranges.append((number, number + 1))
    return ranges


def _validate(device: EnrolledDevice) -> None:
    if len(device.identity_key) != KEY_BYTES:
        raise ValueError(f"identity key must be {KEY_BYTES} bytes")
    if not 0 <= device.rotation_exponent <= MAX_ROTATION_EXPONENT:
        raise ValueError(f"rotation exponent must be 0..{MAX_ROTATION_EXPONENT}")
