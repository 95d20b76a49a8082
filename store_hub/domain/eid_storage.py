"""Storage of the EID table: flat-array hash tables for windows, and dense device numbering.

Kept apart from identity.py, which decides which windows exist and when to compute them; this
module only stores EIDs and device ids compactly (about 320 bytes a device at a million).
"""

from __future__ import annotations

from array import array

EMPTY = 0
DELETED = 0xFFFF_FFFF  # a removed entry: look-ups probe past it, inserts may reuse it
NO_EPOCH = -1
MIN_SLOT_BITS = 4
MASK32 = 0xFFFF_FFFF
BLOCK = 16
ID_WIDTH = 32  # bytes per stored device id; the devices table's id column is String(32)


def slot_bits(entries: int) -> int:
    # At most half full: about 1.5 probes per hit and 2.5 per miss under linear probing.
    return max(MIN_SLOT_BITS, (2 * entries).bit_length())


class Generation:
    """One rotation window's EIDs for the devices of one rotation exponent.

    `slots` is a linear-probing hash table holding device number + 1 (0 empty, `DELETED` removed)
    at the hashed EID prefix; `eids` holds each device's EID by device number.
    """

    __slots__ = ("count", "eids", "mask", "number", "shift", "slots", "used")

    def __init__(self, number: int, devices: int) -> None:
        self.number = number
        self.eids: array[int] = array("Q", bytes(8 * devices))
        self.count = 0
        self._allocate(devices)

    def _allocate(self, entries: int) -> None:
        bits = slot_bits(entries)
        self.slots: array[int] = array("I", bytes(4 << bits))
        self.mask = (1 << bits) - 1
        self.shift = 32 - bits
        self.used = 0

    def reserve(self, more: int, numbers: int, mult: int) -> bool:
        """Make room for `more` entries and device numbers below `numbers`; True if rehashed."""
        if len(self.eids) < numbers:
            grown = max(numbers, 2 * len(self.eids))
            self.eids.frombytes(bytes(8 * (grown - len(self.eids))))
        if 2 * (self.used + more) <= len(self.slots):
            return False
        old = self.slots
        self._allocate(self.count + more)
        self.count = 0
        for value in old:
            if value != EMPTY and value != DELETED:
                self.insert(value - 1, self.eids[value - 1], mult)
        return True

    def insert(self, number: int, eid: int, mult: int) -> None:
        """Add a device's EID; the caller has reserved room."""
        self.eids[number] = eid
        slots, mask = self.slots, self.mask
        i = (((eid >> 32) * mult) & MASK32) >> self.shift
        while (value := slots[i]) != EMPTY and value != DELETED:
            i = (i + 1) & mask
        if value == EMPTY:
            self.used += 1
        slots[i] = number + 1
        self.count += 1

    def delete(self, number: int, mult: int) -> None:
        """Remove a device's entry, if it has one."""
        if number >= len(self.eids):
            return  # allocated by add_many but not computed yet
        slots, mask, wanted = self.slots, self.mask, number + 1
        i = (((self.eids[number] >> 32) * mult) & MASK32) >> self.shift
        while (value := slots[i]) != EMPTY:
            if value == wanted:
                slots[i] = DELETED
                self.count -= 1
                return
            i = (i + 1) & mask


class DeviceGroup:
    """The devices that share one rotation exponent, and their generations.

    Device ids are kept as UTF-8 in fixed-width slots of one bytearray with an open-addressing
    index, not as a dict of str: about 45 bytes a device instead of about 170.
    """

    __slots__ = (
        "count",
        "cursor",
        "epochs",
        "free",
        "generations",
        "id_lengths",
        "id_mask",
        "id_slots",
        "id_used",
        "id_width",
        "ids",
        "k",
        "keys",
        "pending",
        "ready",
    )

    def __init__(self, k: int) -> None:
        self.k = k
        self.count = 0
        self.id_width = ID_WIDTH
        self.ids = bytearray()
        self.id_lengths: array[int] = array("H")  # encoded length + 1; 0 marks a free number
        self.id_slots: array[int] = array("I", bytes(4 << MIN_SLOT_BITS))
        self.id_mask = (1 << MIN_SLOT_BITS) - 1
        self.id_used = 0
        # Identity key, then the cached temporary key: 32 bytes per device number.
        self.keys = bytearray()
        # The temporary-key epoch each device's cached key belongs to (-1: none yet).
        self.epochs: array[int] = array("i")
        self.free: list[int] = []
        self.generations: dict[int, Generation] = {}  # live: within the margin of the clock
        self.ready: dict[int, Generation] = {}  # computed ahead, not live yet
        self.pending: list[Generation] = []  # being computed, for device numbers < cursor
        self.cursor = 0

    @property
    def numbers(self) -> int:
        """How many device numbers are allocated (live or free)."""
        return len(self.id_lengths)

    def device_id(self, number: int) -> str:
        """The id of the device with this number."""
        at = number * self.id_width
        return self.ids[at : at + self.id_lengths[number] - 1].decode()

    def find(self, device_id: str) -> int | None:
        """The number of a device, if it is here."""
        encoded = device_id.encode()
        slots, mask, width = self.id_slots, self.id_mask, self.id_width
        i = hash(encoded) & mask
        while (value := slots[i]) != EMPTY:
            if value != DELETED:
                at = (value - 1) * width
                if self.ids[at : at + self.id_lengths[value - 1] - 1] == encoded:
                    return value - 1
            i = (i + 1) & mask
        return None

    def allocate(self, device_id: str, identity_key: bytes) -> int:
        """A device number for a new device (not already here), reusing a freed one first."""
        encoded = device_id.encode()
        if len(encoded) > self.id_width:
            self._widen(len(encoded))
        if self.free:
            number = self.free.pop()
        else:
            number = self.numbers
            self.ids.extend(bytes(self.id_width))
            self.id_lengths.append(0)
            self.keys.extend(bytes(2 * BLOCK))
            self.epochs.append(NO_EPOCH)
        at = number * self.id_width
        self.ids[at : at + len(encoded)] = encoded
        self.id_lengths[number] = len(encoded) + 1
        self._index(encoded, number)
        self.keys[2 * BLOCK * number : 2 * BLOCK * number + BLOCK] = identity_key
        self.count += 1
        return number

    def release(self, number: int) -> None:
        """Forget a device: its id, its keys (revoked keys do not linger) and its number."""
        slots, mask, wanted = self.id_slots, self.id_mask, number + 1
        i = hash(self.device_id(number).encode()) & mask
        while (value := slots[i]) != EMPTY:
            if value == wanted:
                slots[i] = DELETED
                break
            i = (i + 1) & mask
        at = number * self.id_width
        self.ids[at : at + self.id_width] = bytes(self.id_width)
        self.id_lengths[number] = 0
        self.keys[2 * BLOCK * number : 2 * BLOCK * (number + 1)] = bytes(2 * BLOCK)
        self.epochs[number] = NO_EPOCH
        self.free.append(number)
        self.count -= 1

    def _index(self, encoded: bytes, number: int) -> None:
        if 2 * (self.id_used + 1) > len(self.id_slots):
            bits = slot_bits(self.count + 1)
            self.id_slots = array("I", bytes(4 << bits))
            self.id_mask = (1 << bits) - 1
            self.id_used = 0
            for other in range(self.numbers):
                if self.id_lengths[other] and other != number:
                    self._place(self.device_id(other).encode(), other)
        self._place(encoded, number)

    def _place(self, encoded: bytes, number: int) -> None:
        slots, mask = self.id_slots, self.id_mask
        i = hash(encoded) & mask
        while (value := slots[i]) != EMPTY and value != DELETED:
            i = (i + 1) & mask
        if value == EMPTY:
            self.id_used += 1
        slots[i] = number + 1

    def _widen(self, width: int) -> None:
        # Ids longer than the column allows are unexpected; re-lay the slots rather than refuse.
        wider = bytearray(width * self.numbers)
        for number in range(self.numbers):
            at = number * self.id_width
            wider[number * width : number * width + self.id_width] = self.ids[
                at : at + self.id_width
            ]
        self.ids, self.id_width = wider, width
