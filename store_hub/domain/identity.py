"""Resolve advertised tokens to enrolled devices through a table of their current EIDs.

Only the hub holds identity keys. For every device with presence consent it precomputes the EIDs
of the rotation windows around now (contract: +/- 2 rotation periods), so resolving a token is
one dictionary look-up. Windows are added and dropped incrementally as time moves on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from store_hub.domain.eid import compute_eid, eid_token, ibeacon_token, window_index

WINDOW_MARGIN = 2


@dataclass(frozen=True)
class EnrolledDevice:
    """What identity needs to know about one enrolled device."""

    device_id: str
    identity_key: bytes
    rotation_exponent: int
    presence_consent: bool


@dataclass
class _DeviceWindows:
    device: EnrolledDevice
    tokens_by_window: dict[int, tuple[str, str]] = field(default_factory=dict)


def _counter(now: datetime) -> int:
    return int(now.timestamp()) % 2**32


class EidTable:
    """EID -> device table for the windows around the injected `now`."""

    def __init__(self) -> None:
        self._devices: dict[str, _DeviceWindows] = {}
        self._by_token: dict[str, str] = {}
        self.unknown_tokens = 0

    def __len__(self) -> int:
        return len(self._devices)

    def add(self, device: EnrolledDevice, now: datetime) -> None:
        """Start resolving a device (or update it); without presence consent it never resolves."""
        self.remove(device.device_id)
        if not device.presence_consent:
            return
        entry = _DeviceWindows(device)
        self._devices[device.device_id] = entry
        self._fill(entry, now)

    def remove(self, device_id: str) -> None:
        """Stop resolving a device at once (revocation, consent withdrawn, erasure)."""
        entry = self._devices.pop(device_id, None)
        if entry is None:
            return
        for eid_tok, ib_tok in entry.tokens_by_window.values():
            self._drop_token(eid_tok, device_id)
            self._drop_token(ib_tok, device_id)

    def refresh(self, now: datetime) -> None:
        """Roll every device's windows forward: compute only new windows, drop expired ones."""
        for entry in self._devices.values():
            self._fill(entry, now)

    def resolve(self, token: str) -> str | None:
        """The device advertising `token` in the current windows, if any."""
        device_id = self._by_token.get(token)
        if device_id is None:
            self.unknown_tokens += 1
        return device_id

    def _fill(self, entry: _DeviceWindows, now: datetime) -> None:
        device = entry.device
        k = device.rotation_exponent
        current = window_index(_counter(now), k)
        wanted = range(current - WINDOW_MARGIN, current + WINDOW_MARGIN + 1)
        for stale in [w for w in entry.tokens_by_window if w not in wanted]:
            eid_tok, ib_tok = entry.tokens_by_window.pop(stale)
            self._drop_token(eid_tok, device.device_id)
            self._drop_token(ib_tok, device.device_id)
        for window in wanted:
            if window in entry.tokens_by_window or window < 0:
                continue
            eid = compute_eid(device.identity_key, k, window << k)
            tokens = (eid_token(eid), ibeacon_token(eid))
            entry.tokens_by_window[window] = tokens
            for token in tokens:
                self._by_token[token] = device.device_id

    def _drop_token(self, token: str, device_id: str) -> None:
        # A 32-bit iBeacon prefix can collide between devices; never drop another device's entry.
        if self._by_token.get(token) == device_id:
            del self._by_token[token]
