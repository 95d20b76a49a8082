from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from store_hub.domain.codes import is_code, new_code
from store_hub.domain.offer_qr import (
    QrRejected,
    customer_binding,
    generate_signing_key,
    load_signing_key,
    load_verify_key,
    read_offer_qr,
    sign_offer_qr,
    signing_key_pem,
    verify_key_pem,
    verify_offer_qr,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(hours=2)
KEY = generate_signing_key()
PUBLIC = [KEY.public_key()]
OFFER_ID = "3f2a9c0d4e5b6a7f8e9d0c1b2a3f4e5d"


def token(**changes: object) -> str:
    args: dict[str, object] = {
        "code": "7K2QX-M9D4T",
        "offer_id": OFFER_ID,
        "customer_id": "c0001",
        "store_ids": ["s042"],
        "expires_at": EXPIRES,
    }
    args.update(changes)
    return sign_offer_qr(KEY, **args)  # type: ignore[arg-type]


def rejected(tok: str, keys: list = PUBLIC, **kwargs: object) -> str:  # type: ignore[type-arg]
    args: dict[str, object] = {"store_id": "s042", "now": NOW}
    args.update(kwargs)
    with pytest.raises(QrRejected) as caught:
        verify_offer_qr(tok, keys, **args)  # type: ignore[arg-type]
    return caught.value.reason


def test_round_trip_and_compact() -> None:
    tok = token()
    assert len(tok) <= 200
    assert set(tok) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    claims = verify_offer_qr(tok, PUBLIC, store_id="s042", now=NOW, customer_id="c0001")
    assert claims.code == "7K2QX-M9D4T"
    assert claims.offer_id == OFFER_ID
    assert claims.store_ids == ("s042",)
    assert claims.expires_at == EXPIRES
    assert claims.bound_to("c0001") and not claims.bound_to("c0002")
    # The customer id itself is not in the payload.
    assert b"c0001" not in base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))


def test_every_flipped_bit_is_rejected() -> None:
    raw = bytearray(base64.urlsafe_b64decode(token() + "=="))
    for index in range(len(raw)):
        for bit in (0, 7):
            tampered = bytearray(raw)
            tampered[index] ^= 1 << bit
            tok = base64.urlsafe_b64encode(bytes(tampered)).rstrip(b"=").decode()
            assert rejected(tok) in {"bad_signature", "unknown_key", "malformed"}, index


def test_a_forged_payload_with_another_key_is_rejected() -> None:
    forger = Ed25519PrivateKey.generate()
    forged = sign_offer_qr(
        forger, code="7K2QX-M9D4T", offer_id=OFFER_ID, customer_id="c0001",
        store_ids=["s042"], expires_at=EXPIRES,
    )  # fmt: skip
    assert rejected(forged) == "unknown_key"
    # Splicing the forger's signature onto a payload carrying our key id does not help.
    ours = base64.urlsafe_b64decode(token() + "==")
    theirs = base64.urlsafe_b64decode(forged + "==")
    spliced = ours[:-64] + theirs[-64:]
    assert rejected(base64.urlsafe_b64encode(spliced).decode()) == "bad_signature"


def test_expiry_is_checked_against_the_injected_time() -> None:
    tok = token()
    assert verify_offer_qr(tok, PUBLIC, store_id="s042", now=EXPIRES - timedelta(seconds=1))
    assert rejected(tok, now=EXPIRES) == "expired"
    assert rejected(tok, now=EXPIRES + timedelta(days=1)) == "expired"


def test_sub_second_expiry_rounds_down_never_later() -> None:
    tok = token(expires_at=EXPIRES + timedelta(milliseconds=900))
    assert read_offer_qr(tok, PUBLIC).expires_at == EXPIRES


def test_wrong_store_and_wrong_customer() -> None:
    assert rejected(token(), store_id="s001") == "wrong_store"
    two = token(store_ids=["s042", "s043"])
    assert verify_offer_qr(two, PUBLIC, store_id="s043", now=NOW).store_ids == ("s042", "s043")
    assert rejected(token(), customer_id="c0002") == "wrong_customer"


def test_malformed_tokens() -> None:
    assert rejected("not base64!") == "malformed"
    assert rejected("") == "malformed"
    assert rejected(token()[:40]) == "malformed"
    assert rejected(token() + "AAAA") in {"bad_signature", "malformed"}


def test_rotated_keys_verify_with_the_right_one() -> None:
    new_key = Ed25519PrivateKey.generate()
    old = token()
    keys = [new_key.public_key(), KEY.public_key()]
    assert verify_offer_qr(old, keys, store_id="s042", now=NOW).code == "7K2QX-M9D4T"
    assert rejected(old, keys=[new_key.public_key()]) == "unknown_key"


def test_binding_is_per_offer() -> None:
    assert customer_binding("o1", "c0001") != customer_binding("o2", "c0001")
    assert customer_binding("o1", "c0001") != customer_binding("o1", "c0002")
    assert len(customer_binding("o1", "c0001")) == 16


def test_signing_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="canonical offer code"):
        token(code="7k2qx-m9d4t")
    with pytest.raises(ValueError, match="timezone-aware"):
        token(expires_at=datetime(2026, 11, 24, 12, 0))
    with pytest.raises(ValueError, match="1 to 255 stores"):
        token(store_ids=[])
    with pytest.raises(ValueError, match="1 to 255 bytes"):
        token(offer_id="x" * 256)


def test_keys_round_trip_through_pem_and_other_key_types_are_refused() -> None:
    loaded = load_signing_key(signing_key_pem(KEY))
    public = load_verify_key(verify_key_pem(loaded.public_key()))
    assert verify_offer_qr(token(), [public], store_id="s042", now=NOW).offer_id == OFFER_ID
    other = X25519PrivateKey.generate()
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    with pytest.raises(ValueError, match="Ed25519"):
        load_signing_key(pem)
    with pytest.raises(ValueError, match="Ed25519"):
        load_verify_key(
            other.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def test_is_code_accepts_only_canonical_codes() -> None:
    assert all(is_code(new_code()) for _ in range(100))
    for bad in (
        "7K2QXM9D4T",
        "7k2qx-m9d4t",
        "7K2QX-M9D4",
        "7K2QX-M9D4TT",
        "7K2QU-M9D4T",
        "7K2Q-XM9D4T",
    ):
        assert not is_code(bad), bad
