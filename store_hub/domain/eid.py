"""Eddystone-EID computation, exactly as the published specification (eid-computation.md) says.

An EID is two AES-128 encryptions: the identity key encrypts a salted block carrying the top 16
bits of the time counter into a temporary key, which encrypts a block carrying the rotation
exponent and the counter (low K bits cleared); the EID is the first 8 bytes of that.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_BYTES = 16
EID_BYTES = 8
DEFAULT_ROTATION_EXPONENT = 10
MAX_ROTATION_EXPONENT = 15
_COUNTER_MODULUS = 2**32


def _aes_block(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def _check(identity_key: bytes, rotation_exponent: int) -> None:
    if len(identity_key) != KEY_BYTES:
        raise ValueError(f"identity key must be {KEY_BYTES} bytes, got {len(identity_key)}")
    if not 0 <= rotation_exponent <= MAX_ROTATION_EXPONENT:
        raise ValueError(f"rotation exponent must be 0..{MAX_ROTATION_EXPONENT}")


def temporary_key(identity_key: bytes, counter: int) -> bytes:
    """The temporary key for the 65,536-second epoch that holds `counter`."""
    top16 = (counter % _COUNTER_MODULUS) >> 16
    block = bytes(11) + b"\xff" + bytes(2) + top16.to_bytes(2, "big")
    return _aes_block(identity_key, block)


def compute_eid(identity_key: bytes, rotation_exponent: int, counter: int) -> bytes:
    """The 8-byte EID a device with this key advertises when its time counter reads `counter`."""
    _check(identity_key, rotation_exponent)
    counter %= _COUNTER_MODULUS
    window_start = (counter >> rotation_exponent) << rotation_exponent
    block = bytes(11) + bytes([rotation_exponent]) + window_start.to_bytes(4, "big")
    return _aes_block(temporary_key(identity_key, counter), block)[:EID_BYTES]


def window_index(counter: int, rotation_exponent: int) -> int:
    """Which rotation window a counter value falls in."""
    return (counter % _COUNTER_MODULUS) >> rotation_exponent


def eid_token(eid: bytes) -> str:
    """Wire token for an EID (contract section 2)."""
    return "eid:" + eid.hex()


def ibeacon_token(eid: bytes) -> str:
    """Wire token for iBeacon token mode: major and minor carry EID bytes 0-3."""
    return "ib:" + eid[:4].hex()
