"""Associates' accounts: create one, check a password. Passwords are kept as Argon2id hashes."""

from __future__ import annotations

import uuid
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Associate
from store_hub.api.session import ROLES, Role, SignedInAssociate

MIN_PASSWORD_LENGTH = 8
# argon2-cffi's defaults are Argon2id with RFC 9106's low-memory profile.
_hasher = PasswordHasher()
# Checked against when the email is unknown, so both answers take as long.
_DUMMY_HASH = _hasher.hash("not-a-password-anyone-has")


class AccountProblem(ValueError):
    """An account cannot be created as asked; the message says why."""


def normalise_email(email: str) -> str:
    """An email address as stored and looked up: trimmed, lower case."""
    return email.strip().lower()


def add_associate(
    db: Database, store_id: str, email: str, name: str, role: str, password: str, now: datetime
) -> SignedInAssociate:
    """Create an active associate of `store_id`; AccountProblem if the input cannot be used."""
    address = normalise_email(email)
    if "@" not in address or len(address) > 254:
        raise AccountProblem(f"not an email address: {email!r}")
    if role not in ROLES:
        raise AccountProblem(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not name.strip() or len(name.strip()) > 100:
        raise AccountProblem("the display name must be 1 to 100 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountProblem(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    with db.transaction() as session:
        taken = session.scalar(
            select(Associate.id).where(Associate.store_id == store_id, Associate.email == address)
        )
        if taken is not None:
            raise AccountProblem(f"store {store_id} already has an associate {address}")
        row = Associate(
            id=uuid.uuid4().hex,
            store_id=store_id,
            email=address,
            display_name=name.strip(),
            role=role,
            password_hash=_hasher.hash(password),
            active=True,
            created_at=now,
        )
        session.add(row)
    return _signed_in(row)


def authenticate(
    db: Database, store_id: str, email: str, password: str
) -> SignedInAssociate | None:
    """The active associate of `store_id` with this email and password, else None."""
    with db.transaction() as session:
        row = session.scalar(
            select(Associate).where(
                Associate.store_id == store_id, Associate.email == normalise_email(email)
            )
        )
        stored = row.password_hash if row is not None and row.active else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or not row.active:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        return _signed_in(row)


def check_password(db: Database, associate_id: str, password: str) -> bool:
    """Whether `password` is the active associate's password (to unlock an idle tablet)."""
    with db.transaction() as session:
        row = session.get(Associate, associate_id)
        if row is None or not row.active:
            return False
        try:
            return _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def is_active(db: Database, associate_id: str, store_id: str) -> bool:
    """Whether the associate still exists, is active and belongs to `store_id`."""
    with db.transaction() as session:
        row = session.get(Associate, associate_id)
        return row is not None and row.active and row.store_id == store_id


def _signed_in(row: Associate) -> SignedInAssociate:
    role: Role = row.role  # type: ignore[assignment]
    return SignedInAssociate(row.id, row.store_id, row.display_name, role)
