"""Associates' accounts in a real SQLite database: Argon2id hashes, sign-in checks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Associate
from store_hub.adapters.session_secret import load_or_create_session_secret
from store_hub.operations.associates import (
    AccountProblem,
    add_associate,
    authenticate,
    check_password,
    is_active,
)

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    """A migrated SQLite database."""
    return Database.connect(f"sqlite:///{tmp_path}/hub.db")


def test_sign_in_checks_store_email_password_and_active(db: Database) -> None:
    added = add_associate(db, "s042", " Priya@Shop.Example ", "Priya", "manager", PASSWORD, NOW)
    with db.transaction() as session:
        row = session.get(Associate, added.associate_id)
        assert row is not None and row.password_hash.startswith("$argon2id$")
        assert PASSWORD not in row.password_hash

    assert authenticate(db, "s042", "priya@shop.example", PASSWORD) == added
    assert authenticate(db, "s042", "priya@shop.example", "wrong password") is None
    assert authenticate(db, "s043", "priya@shop.example", PASSWORD) is None
    assert authenticate(db, "s042", "nobody@shop.example", PASSWORD) is None
    assert check_password(db, added.associate_id, PASSWORD)
    assert is_active(db, added.associate_id, "s042")

    with db.transaction() as session:
        session.execute(update(Associate).values(active=False))
    assert authenticate(db, "s042", "priya@shop.example", PASSWORD) is None
    assert not check_password(db, added.associate_id, PASSWORD)
    assert not is_active(db, added.associate_id, "s042")


@pytest.mark.parametrize(
    ("email", "role", "password", "problem"),
    [
        ("not-an-email", "associate", PASSWORD, "not an email address"),
        ("a@shop.example", "owner", PASSWORD, "role must be one of"),
        ("a@shop.example", "associate", "short", "at least 8 characters"),
        ("priya@shop.example", "associate", PASSWORD, "already has an associate"),
    ],
)
def test_bad_accounts_are_refused(
    db: Database, email: str, role: str, password: str, problem: str
) -> None:
    add_associate(db, "s042", "priya@shop.example", "Priya", "associate", PASSWORD, NOW)

    with pytest.raises(AccountProblem, match=problem):
        add_associate(db, "s042", email, "Someone", role, password, NOW)


def test_the_session_secret_is_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "session_secret"

    first = load_or_create_session_secret(path)

    assert len(first) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_session_secret(path) == first
