"""Signed QR payloads a till can verify offline with the hub's Ed25519 public key (pure).

Token = base64url, unpadded, of `payload || signature`, where the signature (64 bytes) covers a
domain label and the payload, and the payload is, big-endian:

    version   1 byte   (1)
    key id    4 bytes  first bytes of SHA-256 of the raw public key (lets tills hold several
                       keys while the hub's key is rotated)
    expires   4 bytes  Unix seconds (whole seconds, rounded down: never later than the offer)
    code     10 bytes  the human code without its dash, ASCII
    binding  16 bytes  SHA-256(label, offer id, customer id), truncated
    offer id  1 + n    length-prefixed UTF-8
    stores    1 + ...  count, then each store id length-prefixed UTF-8

About 180 characters for one store: a QR code of version 8 or so, easy for any till scanner.

The binding is a hash salted with the offer id, so the QR does not carry the customer id and
two offers of one customer cannot be linked by it; a till that knows the customer (loyalty card)
can check it. It is not a secret: customer ids that can be enumerated could be recovered by
trying them, which is why it is a binding and not a place for private data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from store_hub.domain.codes import is_code

VERSION = 1
_SIGNED_LABEL = b"store-hub offer qr v1\x00"
_BINDING_LABEL = b"store-hub offer binding v1"
_HEADER = struct.Struct(">B4sI10s16s")
_SIGNATURE_BYTES = 64
_MAX_FIELD = 255
_MAX_EXPIRY = 2**32 - 1

RejectReason = Literal[
    "malformed", "unknown_key", "bad_signature", "expired", "wrong_store", "wrong_customer"
]


class QrRejected(ValueError):
    """A QR payload the till must refuse; `reason` is machine-readable."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        """Keep the reason for the till and the message for people."""
        super().__init__(message)
        self.reason: RejectReason = reason


@dataclass(frozen=True)
class OfferClaims:
    """What a verified QR payload says."""

    code: str
    offer_id: str
    binding: bytes
    store_ids: tuple[str, ...]
    expires_at: datetime
    key_id: bytes

    def bound_to(self, customer_id: str) -> bool:
        """Whether the offer was issued to `customer_id`."""
        return self.binding == customer_binding(self.offer_id, customer_id)


def _field(value: bytes) -> bytes:
    return len(value).to_bytes(1, "big") + value


def customer_binding(offer_id: str, customer_id: str) -> bytes:
    """The 16-byte binding of an offer to its customer, as carried in the QR payload."""
    data = _BINDING_LABEL + _field(offer_id.encode()) + _field(customer_id.encode())
    return hashlib.sha256(data).digest()[:16]


def key_id(public_key: Ed25519PublicKey) -> bytes:
    """4 bytes naming a public key in payloads."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:4]


def sign_offer_qr(
    private_key: Ed25519PrivateKey,
    *,
    code: str,
    offer_id: str,
    customer_id: str,
    store_ids: Sequence[str],
    expires_at: datetime,
) -> str:
    """The compact, signed QR token for one offer."""
    if not is_code(code):
        raise ValueError(f"not a canonical offer code: {code!r}")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    expiry = int(expires_at.timestamp() // 1)
    if not 0 < expiry <= _MAX_EXPIRY:
        raise ValueError("expires_at is outside what the payload can carry")
    if not store_ids or len(store_ids) > _MAX_FIELD:
        raise ValueError("an offer is valid in 1 to 255 stores")
    fields = [offer_id.encode(), *(s.encode() for s in store_ids)]
    if any(not f or len(f) > _MAX_FIELD for f in fields):
        raise ValueError("offer and store ids must be 1 to 255 bytes")
    payload = _HEADER.pack(
        VERSION,
        key_id(private_key.public_key()),
        expiry,
        code.replace("-", "").encode("ascii"),
        customer_binding(offer_id, customer_id),
    )
    payload += _field(fields[0]) + len(store_ids).to_bytes(1, "big")
    payload += b"".join(_field(f) for f in fields[1:])
    signature = private_key.sign(_SIGNED_LABEL + payload)
    return base64.urlsafe_b64encode(payload + signature).rstrip(b"=").decode("ascii")


def read_offer_qr(token: str, public_keys: Sequence[Ed25519PublicKey]) -> OfferClaims:
    """The claims of a token signed by one of `public_keys`; QrRejected otherwise.

    Checks the signature only; `verify_offer_qr` adds expiry, store and customer.
    """
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise QrRejected("malformed", "not an offer QR code") from None
    if len(raw) < _HEADER.size + 2 + _SIGNATURE_BYTES:
        raise QrRejected("malformed", "not an offer QR code (too short)")
    payload, signature = raw[:-_SIGNATURE_BYTES], raw[-_SIGNATURE_BYTES:]
    version, kid, expiry, code, binding = _HEADER.unpack_from(payload)
    if version != VERSION:
        raise QrRejected("malformed", f"unknown offer QR version {version}")
    key = next((k for k in public_keys if key_id(k) == kid), None)
    if key is None:
        raise QrRejected("unknown_key", "signed with a key this till does not know")
    try:
        key.verify(signature, _SIGNED_LABEL + payload)
    except InvalidSignature:
        raise QrRejected("bad_signature", "the offer QR code has been altered") from None
    try:
        offer_id, store_ids = _read_tail(payload[_HEADER.size :])
        text_code = code.decode("ascii")
    except (IndexError, UnicodeDecodeError, ValueError):
        raise QrRejected("malformed", "signed, but not a payload this till understands") from None
    return OfferClaims(
        code=f"{text_code[:5]}-{text_code[5:]}",
        offer_id=offer_id,
        binding=binding,
        store_ids=store_ids,
        expires_at=datetime.fromtimestamp(expiry, UTC),
        key_id=kid,
    )


def _read_tail(tail: bytes) -> tuple[str, tuple[str, ...]]:
    pos = 0

    def take() -> str:
        nonlocal pos
        size = tail[pos]
        value = tail[pos + 1 : pos + 1 + size]
        if len(value) != size:
            raise ValueError("truncated field")
        pos += 1 + size
        return value.decode("utf-8")

    offer_id = take()
    count = tail[pos]
    pos += 1
    store_ids = tuple(take() for _ in range(count))
    if pos != len(tail) or not store_ids:
        raise ValueError("trailing or missing fields")
    return offer_id, store_ids


def verify_offer_qr(
    token: str,
    public_keys: Sequence[Ed25519PublicKey],
    *,
    store_id: str,
    now: datetime,
    customer_id: str | None = None,
) -> OfferClaims:
    """The claims of a token valid at `store_id` at `now` (and for `customer_id` if given)."""
    claims = read_offer_qr(token, public_keys)
    if now >= claims.expires_at:
        raise QrRejected("expired", f"the offer expired at {claims.expires_at.isoformat()}")
    if store_id not in claims.store_ids:
        raise QrRejected("wrong_store", f"the offer is not valid in store {store_id}")
    if customer_id is not None and not claims.bound_to(customer_id):
        raise QrRejected("wrong_customer", "the offer was issued to someone else")
    return claims


def generate_signing_key() -> Ed25519PrivateKey:
    """A new Ed25519 key for signing offers (the hub keeps it; tills get the public half)."""
    return Ed25519PrivateKey.generate()


def signing_key_pem(private_key: Ed25519PrivateKey) -> bytes:
    """PKCS#8 PEM of the private key, for the hub's key file (mode 0600)."""
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def verify_key_pem(public_key: Ed25519PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM of the public key, for tills."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_signing_key(pem: bytes) -> Ed25519PrivateKey:
    """The Ed25519 private key in `pem`; ValueError for any other kind of key."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the offer signing key must be an Ed25519 key")
    return key


def load_verify_key(pem: bytes) -> Ed25519PublicKey:
    """The Ed25519 public key in `pem`; ValueError for any other kind of key."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the offer verify key must be an Ed25519 key")
    return key
