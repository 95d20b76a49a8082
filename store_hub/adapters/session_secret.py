"""The key that signs tablet session cookies: created once on first run, mode 0600.

Replacing it signs every associate out, which is also how to do that on purpose.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from store_hub.adapters.offer_keys import OfferKeyError, write_new_file

log = logging.getLogger(__name__)
SESSION_SECRET_BYTES = 32
MIN_SESSION_SECRET_BYTES = 16


def load_or_create_session_secret(path: Path) -> bytes:
    """The session secret at `path`, generated there on first run."""
    if not path.exists() and write_new_file(path, secrets.token_bytes(SESSION_SECRET_BYTES)):
        log.info("generated a new session secret at %s", path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OfferKeyError(f"cannot read the session secret file {path}: {exc}") from exc
    if len(data) < MIN_SESSION_SECRET_BYTES:
        raise OfferKeyError(
            f"the session secret file {path} holds {len(data)} bytes, fewer than "
            f"{MIN_SESSION_SECRET_BYTES}; delete it to generate a new one (everyone signs in again)"
        )
    return data
