"""Frame parsing on advertisement bytes as they arrive over the air and as bleak hands them over.

Advertisements are written as raw AD structures (length, type, value; company ids and 16-bit
UUIDs little-endian, as on the air), decoded into bleak's own `AdvertisementData` the way bleak's
backends do, and only its `service_data` / `manufacturer_data` reach the parser.
"""

from __future__ import annotations

import inspect
import random
import uuid

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.uuids import normalize_uuid_16

from beacon_agent.frames import (
    APPLE_COMPANY_ID,
    EDDYSTONE_UUID,
    FrameParser,
    TokenFrame,
)
from beacon_agent.protocol import TOKEN_PATTERN
from store_hub.domain.eid import compute_eid, eid_token, ibeacon_token

RETAILER_UUID = uuid.UUID("7c3f0a52-9d1e-4b8a-a6f4-2e5b9c0d1f83")
IDENTITY_KEY = bytes.fromhex("e2f1b3a9c4d5e6f708192a3b4c5d6e7f")
EID = compute_eid(IDENTITY_KEY, 10, 1_764_000_000)
ADDRESS = "5A:3C:11:9E:42:07"  # a random resolvable address, as a phone would use

FLAGS = "020106"
EDDYSTONE_UUID_LIST = "0303aafe"  # complete list of 16-bit service UUIDs: 0xFEAA


def ad(ad_type: int, value: bytes) -> str:
    """One AD structure as hex."""
    return (bytes([len(value) + 1, ad_type]) + value).hex()


def eddystone(service_data: bytes) -> str:
    """An Eddystone advertisement: flags, the 0xFEAA UUID list and its service data."""
    return FLAGS + EDDYSTONE_UUID_LIST + ad(0x16, b"\xaa\xfe" + service_data)


def manufacturer(company_id: int, data: bytes) -> str:
    """An advertisement with flags and one manufacturer-specific data structure."""
    return FLAGS + ad(0xFF, company_id.to_bytes(2, "little") + data)


def decode(raw_hex: str, rssi: int = -60) -> tuple[BLEDevice, AdvertisementData]:
    """Decode raw AD structures into what bleak's detection callback receives."""
    raw = bytes.fromhex(raw_hex)
    manufacturer_data: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    service_uuids: list[str] = []
    offset = 0
    while offset < len(raw) and raw[offset]:
        length, ad_type = raw[offset], raw[offset + 1]
        value = raw[offset + 2 : offset + 1 + length]
        offset += 1 + length
        if ad_type == 0xFF:
            manufacturer_data[int.from_bytes(value[:2], "little")] = value[2:]
        elif ad_type == 0x16:
            service_data[normalize_uuid_16(int.from_bytes(value[:2], "little"))] = value[2:]
        elif ad_type == 0x03:
            service_uuids += [
                normalize_uuid_16(int.from_bytes(value[i : i + 2], "little"))
                for i in range(0, len(value), 2)
            ]
    advertisement = AdvertisementData(
        local_name=None,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=None,
        rssi=rssi,
        platform_data=(),
    )
    return BLEDevice(ADDRESS, None, details=None), advertisement


def parse(parser: FrameParser, raw_hex: str) -> TokenFrame | None:
    """Feed one advertisement to the parser as the scanner callback does: payloads only."""
    _device, advertisement = decode(raw_hex)
    return parser.parse(advertisement.service_data, advertisement.manufacturer_data)


def ibeacon(proximity: uuid.UUID, major_minor: bytes, measured_power: int) -> str:
    """An iBeacon advertisement (Apple manufacturer data)."""
    body = (
        b"\x02\x15" + proximity.bytes + major_minor + measured_power.to_bytes(1, "big", signed=True)
    )
    return manufacturer(APPLE_COMPANY_ID, body)


def test_decoder_produces_bleak_keys() -> None:
    _device, advertisement = decode(eddystone(b"\x30\xec" + EID))
    assert set(advertisement.service_data) == {EDDYSTONE_UUID}
    assert advertisement.service_uuids == [EDDYSTONE_UUID]


def test_eddystone_eid_frame_yields_the_token_the_hub_computes() -> None:
    parser = FrameParser(RETAILER_UUID)
    frame = parse(parser, eddystone(b"\x30\xec" + EID))
    assert frame == TokenFrame(eid_token(EID), -20, "eddystone-eid")
    assert TOKEN_PATTERN.match(frame.token)
    assert parser.counts == {"eddystone-eid": 1}


@pytest.mark.parametrize(("byte", "dbm"), [(0x00, 0), (0x04, 4), (0x7F, 127), (0x80, -128)])
def test_eddystone_ranging_data_is_signed(byte: int, dbm: int) -> None:
    frame = FrameParser().parse({EDDYSTONE_UUID: bytes([0x30, byte]) + EID}, {})
    assert frame is not None
    assert frame.tx_power == dbm


def test_ibeacon_token_mode_under_the_retailer_uuid() -> None:
    parser = FrameParser(RETAILER_UUID)
    frame = parse(parser, ibeacon(RETAILER_UUID, EID[:4], -59))
    # Major = EID bytes 0-1, minor = bytes 2-3: the hub's iBeacon token for the same EID.
    assert frame == TokenFrame(ibeacon_token(EID), -59, "ibeacon")
    assert TOKEN_PATTERN.match(frame.token)
    assert parser.counts == {"ibeacon": 1}


def test_published_ibeacon_packet_under_a_foreign_uuid_is_dropped() -> None:
    # A vendor's published sample iBeacon advertisement (proximity UUID b5b182c7-...).
    raw = "0201061aff4c000215b5b182c7eab14988aa99b5c1517008d90001cf64c5"
    parser = FrameParser(RETAILER_UUID)
    assert parse(parser, raw) is None
    assert parser.counts == {"ibeacon-foreign": 1}


def test_without_a_retailer_uuid_no_ibeacon_is_a_token() -> None:
    parser = FrameParser()
    assert parse(parser, ibeacon(RETAILER_UUID, EID[:4], -59)) is None
    assert parser.counts == {"ibeacon-foreign": 1}


UID_20 = (
    b"\x00\xec" + bytes.fromhex("8b0ca750e7a74e14bd99") + bytes.fromhex("000000000001") + bytes(2)
)
NON_TOKEN_FRAMES = [
    ("eddystone-uid", eddystone(UID_20)),
    ("eddystone-uid", eddystone(UID_20[:18])),  # RFU bytes omitted, as many beacons do
    ("eddystone-tlm", eddystone(bytes.fromhex("20000bb81a80000001f40000a5c8"))),
    ("eddystone-tlm", eddystone(b"\x20\x01" + bytes(range(16)))),  # encrypted TLM
    ("eddystone-url", eddystone(bytes.fromhex("10ec03676f6f676c6507"))),  # https://google.com
    ("altbeacon", manufacturer(0x0118, b"\xbe\xac" + bytes(range(20)) + b"\xc5\x00")),
    ("other", manufacturer(APPLE_COMPANY_ID, bytes.fromhex("100519182f7cd3"))),  # Apple Nearby
    ("other", FLAGS + ad(0x16, bytes.fromhex("2cfe") + bytes.fromhex("00c8af"))),  # Fast Pair
    ("other", eddystone(b"\x40\x00" + bytes(8))),  # reserved Eddystone frame type
    ("other", eddystone(b"\x31\xec" + EID)),  # low nibble is reserved, not an EID
    ("other", FLAGS + ad(0x09, b"Kitchen speaker")),
    ("other", ""),
]


@pytest.mark.parametrize(("kind", "raw"), NON_TOKEN_FRAMES)
def test_frames_without_a_shopper_token_are_counted_and_dropped(kind: str, raw: str) -> None:
    parser = FrameParser(RETAILER_UUID)
    assert parse(parser, raw) is None
    assert parser.counts == {kind: 1}


MALFORMED = [
    {EDDYSTONE_UUID: b""},
    {EDDYSTONE_UUID: b"\x30"},
    {EDDYSTONE_UUID: b"\x30\xec" + EID[:7]},  # EID cut short
    {EDDYSTONE_UUID: b"\x30\xec" + EID + b"\x00"},  # the spec says EID frames end after the EID
    {EDDYSTONE_UUID: UID_20[:12]},
    {EDDYSTONE_UUID: b"\x20"},
    {EDDYSTONE_UUID: bytes.fromhex("20000bb81a80")},
    {EDDYSTONE_UUID: bytes.fromhex("20070bb81a80000001f40000a5c8")},  # unknown TLM version
    {EDDYSTONE_UUID: b"\x10\xec"},
]


@pytest.mark.parametrize("service_data", MALFORMED)
def test_truncated_eddystone_frames_are_malformed(service_data: dict[str, bytes]) -> None:
    parser = FrameParser(RETAILER_UUID)
    assert parser.parse(service_data, {}) is None
    assert parser.counts == {"malformed": 1}


def test_every_truncation_of_an_ibeacon_is_malformed_not_a_token() -> None:
    full = b"\x02\x15" + RETAILER_UUID.bytes + EID[:4] + b"\xc5"
    parser = FrameParser(RETAILER_UUID)
    for cut in range(2, len(full)):
        assert parser.parse({}, {APPLE_COMPANY_ID: full[:cut]}) is None
    assert parser.counts == {"malformed": len(full) - 2}
    assert parser.parse({}, {APPLE_COMPANY_ID: full}) is not None


def test_truncated_altbeacon_is_malformed() -> None:
    parser = FrameParser()
    assert parser.parse({}, {0x0118: b"\xbe\xac" + bytes(10)}) is None
    assert parser.counts == {"malformed": 1}


def test_random_garbage_never_raises_and_only_yields_valid_tokens() -> None:
    rng = random.Random(20261124)
    parser = FrameParser(RETAILER_UUID)
    prefixes = [b"", b"\x30", b"\x00", b"\x10", b"\x20", b"\x20\x00", b"\x20\x01", b"\x02\x15"]
    tokens = 0
    for _ in range(5000):
        body = rng.choice(prefixes) + rng.randbytes(rng.randrange(0, 30))
        if rng.random() < 0.5:
            frame = parser.parse({EDDYSTONE_UUID: body}, {})
        else:
            company = rng.choice([APPLE_COMPANY_ID, 0x0118, 0x0006])
            frame = parser.parse({}, {company: body})
        if frame is not None:
            tokens += 1
            assert TOKEN_PATTERN.match(frame.token)
    assert parser.counts.total() == 5000
    assert tokens == parser.counts["eddystone-eid"] + parser.counts["ibeacon"] > 0


def test_a_token_wins_when_advertisement_and_scan_response_are_merged() -> None:
    # bleak merges the scan response into the advertisement data, so an EID frame and another
    # beacon's iBeacon payload can reach the parser in one call.
    parser = FrameParser(RETAILER_UUID)
    foreign = b"\x02\x15" + uuid.uuid4().bytes + b"\x00\x01\x00\x02\xc5"
    frame = parser.parse({EDDYSTONE_UUID: b"\x30\xec" + EID}, {APPLE_COMPANY_ID: foreign})
    assert frame is not None and frame.kind == "eddystone-eid"
    assert parser.counts == {"eddystone-eid": 1}


def test_no_bluetooth_address_reaches_the_parser_or_its_frames() -> None:
    assert list(inspect.signature(FrameParser.parse).parameters) == [
        "self",
        "service_data",
        "manufacturer_data",
    ]
    frame = parse(FrameParser(RETAILER_UUID), eddystone(b"\x30\xec" + EID))
    assert frame is not None
    assert ADDRESS.lower().replace(":", "") not in repr(frame).lower().replace(":", "")


def test_counts_accumulate_across_calls() -> None:
    parser = FrameParser(RETAILER_UUID)
    for raw in [eddystone(b"\x30\xec" + EID)] * 3 + [eddystone(UID_20), ""]:
        parse(parser, raw)
    assert parser.counts == {"eddystone-eid": 3, "eddystone-uid": 1, "other": 1}
