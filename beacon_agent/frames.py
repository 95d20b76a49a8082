"""BLE advertisement payloads -> token frames (contract section 1); pure and I/O-free.

The parser sees payloads only (service data and manufacturer data as bleak hands them over), never
a Bluetooth address, so nothing that identifies a phone's radio can leave this module. It runs in
the scanner's detection callback thousands of times a minute, so every check is a length test or a
`startswith` against precomputed bytes: no regex and no allocation except the frame it returns.

Layouts (public specifications):
- Eddystone (service data under 0xFEAA; multi-byte values big-endian), frame type in byte 0:
  UID `0x00 | tx@0m | 10-byte namespace | 6-byte instance [| 2 RFU]` (18 or 20 bytes),
  URL `0x10 | tx@0m | scheme | 0-17 encoded bytes` (3-20 bytes),
  TLM `0x20 | 0x00 | vbatt(2) | temp(2) | adv_cnt(4) | sec_cnt(4)` (14 bytes) or the encrypted
  `0x20 | 0x01 | etlm(12) | salt(2) | mic(2)` (18 bytes),
  EID `0x30 | tx@0m | 8-byte EID` (10 bytes; the spec says the frame is truncated after the EID).
- iBeacon (Apple manufacturer data, after the company id): `0x02 0x15 | 16-byte proximity UUID |
  major(2) | minor(2) | measured power@1m (int8)` (23 bytes; Apple may append further TLVs).
- AltBeacon (any company id): `0xBE 0xAC | 20-byte beacon id | ref RSSI@1m | mfg reserved`.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

EDDYSTONE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"
APPLE_COMPANY_ID = 0x004C

EDDYSTONE_EID = "eddystone-eid"
EDDYSTONE_UID = "eddystone-uid"
EDDYSTONE_URL = "eddystone-url"
EDDYSTONE_TLM = "eddystone-tlm"
IBEACON = "ibeacon"
IBEACON_FOREIGN = "ibeacon-foreign"
ALTBEACON = "altbeacon"
OTHER = "other"
MALFORMED = "malformed"

# Index with an unsigned byte to get its int8 value: no branch, no allocation (small ints).
_INT8: tuple[int, ...] = tuple(range(128)) + tuple(range(-128, 0))

_EID_LEN = 10
_UID_LENS = (18, 20)  # many beacons omit the two RFU bytes
_URL_MIN, _URL_MAX = 3, 20
_TLM_PLAIN, _TLM_ENCRYPTED = 0x00, 0x01
_TLM_PLAIN_LEN, _TLM_ENCRYPTED_LEN = 14, 18

_IBEACON_HEADER = b"\x02\x15"
_IBEACON_LEN = 23
_ALTBEACON_CODE = b"\xbe\xac"
_ALTBEACON_LEN = 24


@dataclass(frozen=True, slots=True)
class TokenFrame:
    """A frame that carries a shopper token."""

    token: str
    tx_power: int | None
    kind: str


def _eddystone(payload: bytes) -> TokenFrame | str:
    """Classify Eddystone service data; the EID frame becomes a token frame."""
    if not payload:
        return MALFORMED
    frame_type = payload[0]
    size = len(payload)
    if frame_type == 0x30:
        if size != _EID_LEN:
            return MALFORMED
        return TokenFrame("eid:" + payload[2:].hex(), _INT8[payload[1]], EDDYSTONE_EID)
    if frame_type == 0x00:
        return EDDYSTONE_UID if size in _UID_LENS else MALFORMED
    if frame_type == 0x20:
        version = payload[1] if size > 1 else -1
        if (version == _TLM_PLAIN and size == _TLM_PLAIN_LEN) or (
            version == _TLM_ENCRYPTED and size == _TLM_ENCRYPTED_LEN
        ):
            return EDDYSTONE_TLM
        return MALFORMED
    if frame_type == 0x10:
        return EDDYSTONE_URL if _URL_MIN <= size <= _URL_MAX else MALFORMED
    # Reserved frame types (and non-zero low nibbles, which the spec reserves) are not ours.
    return OTHER


class FrameParser:
    """Turns one advertisement's payloads into a TokenFrame (or None), counting every kind seen."""

    def __init__(self, ibeacon_uuid: uuid.UUID | None = None) -> None:
        """Accept iBeacon tokens only under `ibeacon_uuid` (the retailer's); None accepts none."""
        self.counts: collections.Counter[str] = collections.Counter()
        self._ibeacon_prefix: bytes | None = (
            None if ibeacon_uuid is None else _IBEACON_HEADER + ibeacon_uuid.bytes
        )

    def parse(
        self, service_data: Mapping[str, bytes], manufacturer_data: Mapping[int, bytes]
    ) -> TokenFrame | None:
        """The token frame in this advertisement, if any; never raises on bad bytes."""
        # bleak merges advertisement and scan response, so one call may hold several frames:
        # a token wins; otherwise the first non-token kind found is what gets counted.
        kind = OTHER
        payload = service_data.get(EDDYSTONE_UUID)
        if payload is not None:
            found = _eddystone(payload)
            if isinstance(found, TokenFrame):
                self.counts[EDDYSTONE_EID] += 1
                return found
            kind = found
        if manufacturer_data:
            apple = manufacturer_data.get(APPLE_COMPANY_ID)
            if apple is not None and apple.startswith(_IBEACON_HEADER):
                found = self._ibeacon(apple)
                if isinstance(found, TokenFrame):
                    self.counts[IBEACON] += 1
                    return found
                if kind == OTHER:
                    kind = found
            if kind == OTHER:
                kind = _altbeacon(manufacturer_data)
        self.counts[kind] += 1
        return None

    def _ibeacon(self, payload: bytes) -> TokenFrame | str:
        """Classify Apple manufacturer data that starts with the iBeacon header."""
        if len(payload) < _IBEACON_LEN:
            return MALFORMED
        prefix = self._ibeacon_prefix
        if prefix is None or not payload.startswith(prefix):
            return IBEACON_FOREIGN
        # Token mode puts EID bytes 0-3 in major+minor (big-endian), so hex of bytes 18..21.
        return TokenFrame("ib:" + payload[18:22].hex(), _INT8[payload[22]], IBEACON)


def _altbeacon(manufacturer_data: Mapping[int, bytes]) -> str:
    """ALTBEACON, MALFORMED (a truncated one) or OTHER for non-iBeacon manufacturer data."""
    for data in manufacturer_data.values():
        if data.startswith(_ALTBEACON_CODE):
            return ALTBEACON if len(data) >= _ALTBEACON_LEN else MALFORMED
    return OTHER
