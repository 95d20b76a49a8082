"""Simulated opted-in phones walking through the demo store, as BLE advertisements.

Each phone advertises its real, current Eddystone-EID (computed from its identity key, as the
retailer's app would) with a signal that rises as the shopper walks in and fades as they leave.
The output is the advertisement-trace record format that `beacon-agent replay` reads.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from store_hub.domain.eid import compute_eid

EDDYSTONE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"
EID_FRAME = 0x30
# Eddystone's tx_power is the signal at 0 m; phones in apps typically calibrate around -20 dBm.
TX_POWER_0M = -20
ADVERTISING_INTERVAL_S = 0.5
NOISE_DB = 2.5


@dataclass(frozen=True)
class Visit:
    """One simulated shopper's walk: when they come in and how long they stay."""

    identity_key: bytes
    rotation_exponent: int
    enter_s: float
    stay_s: float
    closest_rssi: float = -58.0


def eid_service_data(identity_key: bytes, rotation_exponent: int, moment: datetime) -> bytes:
    """Eddystone-EID service data a phone advertises at `moment` (contract section 1)."""
    eid = compute_eid(identity_key, rotation_exponent, int(moment.timestamp()))
    return bytes([EID_FRAME, TX_POWER_0M & 0xFF]) + eid


def _rssi_at(visit: Visit, offset_s: float, rng: random.Random) -> float:
    # Walk in over ~15 s, browse near the agent, walk out over ~15 s: a smooth bump plus noise.
    inside = offset_s - visit.enter_s
    edge = min(inside, visit.stay_s - inside)
    approach = min(1.0, max(0.0, edge / 15.0))
    base = -92.0 + (visit.closest_rssi + 92.0) * math.sin(approach * math.pi / 2)
    return round(base + rng.gauss(0.0, NOISE_DB))


def _random_address(rng: random.Random) -> str:
    # Phones use resolvable private addresses: the top two bits of the first octet are 01.
    first = (rng.randrange(256) & 0x3F) | 0x40
    rest = [rng.randrange(256) for _ in range(5)]
    return ":".join(f"{octet:02X}" for octet in [first, *rest])


def advertisements(
    visits: list[Visit], recorded_at: datetime, duration_s: float, seed: int = 7
) -> Iterator[dict[str, Any]]:
    """Trace records, in time order, of every phone heard during `duration_s`."""
    rng = random.Random(seed)
    addresses = [_random_address(rng) for _ in visits]
    phases = [rng.uniform(0, ADVERTISING_INTERVAL_S) for _ in visits]
    steps = int(duration_s / ADVERTISING_INTERVAL_S)
    for step in range(steps):
        heard: list[dict[str, Any]] = []
        for index, visit in enumerate(visits):
            offset = step * ADVERTISING_INTERVAL_S + phases[index]
            if not visit.enter_s <= offset <= visit.enter_s + visit.stay_s:
                continue
            rssi = _rssi_at(visit, offset, rng)
            if rssi < -95 or rng.random() < 0.1:
                continue  # too faint to hear, or a lost packet
            moment = recorded_at + timedelta(seconds=offset)
            data = eid_service_data(visit.identity_key, visit.rotation_exponent, moment)
            heard.append(
                {
                    "t": round(offset, 3),
                    "address": addresses[index],
                    "rssi": rssi,
                    "local_name": None,
                    "tx_power": None,
                    "service_data": {EDDYSTONE_UUID: data.hex()},
                    "manufacturer_data": {},
                    "service_uuids": [EDDYSTONE_UUID],
                }
            )
        yield from sorted(heard, key=lambda record: float(record["t"]))
