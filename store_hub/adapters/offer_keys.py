"""The hub's offer secrets on disk: the QR signing key and the holdout secret.

Both are created once, on first run, mode 0600, and never replaced silently: a new signing key
makes every QR code already in shoppers' hands unverifiable at tills that have only the old
public key, and a new holdout secret reshuffles every holdout group mid-experiment.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from store_hub.domain.holdout import MIN_SECRET_BYTES
from store_hub.domain.offer_qr import generate_signing_key, load_signing_key, signing_key_pem

log = logging.getLogger(__name__)
HOLDOUT_SECRET_BYTES = 32


class OfferKeyError(RuntimeError):
    """A key or secret file exists but cannot be used."""


def write_new_file(path: Path, data: bytes) -> bool:
    """Create `path` holding `data`, mode 0600, atomically; False if it already existed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole to a 0600 temporary file, then linked into place: a second hub process
    # starting at the same moment never reads half a key, and never replaces the first one's.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


def _read(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OfferKeyError(f"cannot read the {what} file {path}: {exc}") from exc
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the %s file %s is readable by other users: chmod 600 it", what, path)
    return data


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key that signs offer QR codes, generated at `path` on first run."""
    if not path.exists() and write_new_file(path, signing_key_pem(generate_signing_key())):
        log.info("generated a new offer signing key at %s", path)
    data = _read(path, "offer signing key")
    try:
        return load_signing_key(data)
    except (ValueError, TypeError) as exc:
        raise OfferKeyError(
            f"the offer signing key file {path} is not an unencrypted Ed25519 PEM key ({exc}); "
            "restore it from a backup, or delete it to generate a new one (tills must then "
            "fetch the new verify key)"
        ) from exc


def load_or_create_holdout_secret(path: Path) -> bytes:
    """The holdout secret (32 random bytes), generated at `path` on first run."""
    if not path.exists() and write_new_file(path, secrets.token_bytes(HOLDOUT_SECRET_BYTES)):
        log.info("generated a new holdout secret at %s", path)
    data = _read(path, "holdout secret")
    if len(data) < MIN_SECRET_BYTES:
        raise OfferKeyError(
            f"the holdout secret file {path} holds {len(data)} bytes, fewer than "
            f"{MIN_SECRET_BYTES}; restore it from a backup, or delete it to generate a new one "
            "(every holdout group is then drawn afresh)"
        )
    return data
