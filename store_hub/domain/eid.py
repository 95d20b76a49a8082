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
COUNTER_MODULUS = 2**32
EPOCH_BITS = 16  # the temporary key changes every 2**16 seconds


# One mode object for every call: ECB carries no state, and building it each time costs ~0.3 us.
_ECB = modes.ECB()


def aes_ecb(key: bytes | bytearray, data: bytes) -> bytes:
    """AES-128-ECB of whole 16-byte blocks under `key`: the one primitive both EID steps use."""
    # ECB over whole blocks needs no finalize(); skipping it saves ~10% of a key's cost.
    return Cipher(algorithms.AES(key), _ECB).encryptor().update(data)


def _check(identity_key: bytes, rotation_exponent: int) -> None:
    if len(identity_key) != KEY_BYTES:
        raise ValueError(f"identity key must be {KEY_BYTES} bytes, got {len(identity_key)}")
    if not 0 <= rotation_exponent <= MAX_ROTATION_EXPONENT:
        raise ValueError(f"rotation exponent must be 0..{MAX_ROTATION_EXPONENT}")


def temporary_key_input(counter: int) -> bytes:
    """The block the identity key encrypts into the temporary key of `counter`'s epoch."""
    top16 = (counter % COUNTER_MODULUS) >> EPOCH_BITS
    return bytes(11) + b"\xff" + bytes(2) + top16.to_bytes(2, "big")


def eid_input(rotation_exponent: int, counter: int) -> bytes:
    """The block the temporary key encrypts into the EID: K and the window's first counter."""
    counter %= COUNTER_MODULUS
    window_start = (counter >> rotation_exponent) << rotation_exponent
    return bytes(11) + bytes([rotation_exponent]) + window_start.to_bytes(4, "big")


def temporary_key(identity_key: bytes, counter: int) -> bytes:
    """The temporary key for the 65,536-second epoch that holds `counter`."""
    return aes_ecb(identity_key, temporary_key_input(counter))


def compute_eid(identity_key: bytes, rotation_exponent: int, counter: int) -> bytes:
    """The 8-byte EID a device with this key advertises when its time counter reads `counter`."""
    _check(identity_key, rotation_exponent)
    block = eid_input(rotation_exponent, counter)
    return aes_ecb(temporary_key(identity_key, counter), block)[:EID_BYTES]


def window_index(counter: int, rotation_exponent: int) -> int:
    """Which rotation window a counter value falls in."""
    return (counter % COUNTER_MODULUS) >> rotation_exponent


def eid_token(eid: bytes) -> str:
    """Wire token for an EID (contract section 2)."""
    return "eid:" + eid.hex()


def ibeacon_token(eid: bytes) -> str:
    """Wire token for iBeacon token mode: major and minor carry EID bytes 0-3."""
    return "ib:" + eid[:4].hex()
