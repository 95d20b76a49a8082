"""EID computation against an independent implementation of the published spec.

The expected values are computed here from the spec's two tables with OpenSSL's own AES
(the `openssl` command), not with the `cryptography` package the hub uses.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from store_hub.domain.eid import compute_eid, eid_token, ibeacon_token, temporary_key

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def openssl_aes128_block(key: bytes, block: bytes) -> bytes:
    result = subprocess.run(
        ["openssl", "enc", "-aes-128-ecb", "-nopad", "-K", key.hex()],
        input=block,
        capture_output=True,
        check=True,
    )
    return result.stdout


def spec_eid(identity_key: bytes, k: int, counter: int) -> bytes:
    # Temporary key: 11 x 0x00, salt 0xFF, 2 x 0x00, top 16 bits of the counter big-endian.
    tk_block = bytes(11) + b"\xff" + bytes(2) + (counter >> 16).to_bytes(2, "big")
    tk = openssl_aes128_block(identity_key, tk_block)
    # EID: 11 x 0x00, K, the counter with its K lowest bits cleared, big-endian; first 8 bytes.
    eid_block = bytes(11) + bytes([k]) + (counter & ~((1 << k) - 1)).to_bytes(4, "big")
    return openssl_aes128_block(tk, eid_block)[:8]


CASES = [
    (bytes(16), 10, 0),
    (bytes(range(16)), 10, 65280),  # the spec's suggested counter near temporary-key roll-over
    (bytes(range(16)), 10, 65536 + 1023),
    (bytes.fromhex("e2f1b3a9c4d5e6f708192a3b4c5d6e7f"), 0, 1_764_000_000),
    (bytes.fromhex("e2f1b3a9c4d5e6f708192a3b4c5d6e7f"), 15, 1_764_000_000),
    (b"\xff" * 16, 10, 2**32 - 1),
]


@pytest.mark.parametrize(("key", "k", "counter"), CASES)
def test_eid_matches_spec_computed_with_openssl(key: bytes, k: int, counter: int) -> None:
    assert compute_eid(key, k, counter) == spec_eid(key, k, counter)


def test_temporary_key_matches_spec() -> None:
    key = bytes(range(16))
    block = bytes(11) + b"\xff" + bytes(2) + (0x0001).to_bytes(2, "big")
    assert temporary_key(key, 0x0001_2345) == openssl_aes128_block(key, block)


def test_eid_is_stable_within_a_window_and_changes_across() -> None:
    key = bytes(range(16))
    start = 1_764_000_000 & ~1023
    assert compute_eid(key, 10, start) == compute_eid(key, 10, start + 1023)
    assert compute_eid(key, 10, start) != compute_eid(key, 10, start + 1024)


def test_counter_wraps_modulo_2_32() -> None:
    key = bytes(range(16))
    assert compute_eid(key, 10, 2**32 + 5) == compute_eid(key, 10, 5)


def test_bad_key_or_exponent_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        compute_eid(bytes(15), 10, 0)
    with pytest.raises(ValueError, match="rotation exponent"):
        compute_eid(bytes(16), 16, 0)


def test_tokens_follow_the_wire_format() -> None:
    eid = bytes.fromhex("0123456789abcdef")
    assert eid_token(eid) == "eid:0123456789abcdef"
    assert ibeacon_token(eid) == "ib:01234567"
