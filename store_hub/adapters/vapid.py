"""The hub's VAPID key pair (RFC 8292): created once, kept on disk, never rotated silently.

Every Web Push subscription a phone makes is bound to the public key it was given, so losing or
replacing this file means every phone has to subscribe again.
"""

from __future__ import annotations

import base64
import logging
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

log = logging.getLogger(__name__)


class VapidKeyError(RuntimeError):
    """The VAPID key file exists but cannot be used as the hub's key."""


@dataclass(frozen=True)
class VapidKeys:
    """The hub's VAPID key pair and the public key in the form browsers take."""

    private_key_path: Path
    # base64url, no padding, of the uncompressed P-256 point: pushManager.subscribe()'s
    # applicationServerKey.
    application_server_key: str
    private_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)


def load_or_create_vapid(path: Path) -> VapidKeys:
    """Load the VAPID private key from `path` (PEM), generating it there on first run."""
    path = Path(path)
    if not path.exists():
        _create(path)
    return _keys(path, _load(path))


def application_server_key(public_key: ec.EllipticCurvePublicKey) -> str:
    """The base64url (unpadded) uncompressed point of a P-256 public key."""
    point = public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode("ascii")


def _keys(path: Path, key: ec.EllipticCurvePrivateKey) -> VapidKeys:
    return VapidKeys(path, application_server_key(key.public_key()), key)


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Written whole to a 0600 temporary file, then linked into place: a second hub process
    # starting at the same moment never reads half a key, and never replaces the first one's.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return
        log.info("generated a new VAPID key at %s", path)
    finally:
        os.unlink(tmp)


def _load(path: Path) -> ec.EllipticCurvePrivateKey:
    fix = (
        "restore the file from a backup, or delete it to let the hub generate a new key "
        "(phones then have to subscribe to push again)"
    )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VapidKeyError(f"cannot read the VAPID key file {path}: {exc}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise VapidKeyError(
            f"the VAPID key file {path} is not an unencrypted PEM private key ({exc}); {fix}"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise VapidKeyError(
            f"the VAPID key file {path} holds a {type(key).__name__}, not a P-256 EC key; {fix}"
        )
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the VAPID key file %s is readable by other users: chmod 600 it", path)
    return key
