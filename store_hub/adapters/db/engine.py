"""Engine and session factory, with the per-backend settings we rely on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the tablet's reads run beside the ingest's writes; SQLite leaves FKs off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    # Python's sqlite3 begins a transaction only at the first write, so a read-modify-write
    # (a tablet card: a note, a claim, a zone) read outside any transaction and silently
    # overwrote a colleague's change committed in between; SELECT ... FOR UPDATE, which the
    # code relies on, means nothing to SQLite. _begin_immediate opens every transaction itself.
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Any) -> None:
    # Take the write lock up front, SQLite's stand-in for FOR UPDATE: every transaction, reads
    # too, takes its turn (waiting up to busy_timeout); the hub's are all short. PostgreSQL
    # keeps real row locks.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL and foreign keys, never a shared :memory:."""
    if url.startswith("sqlite"):
        if ":memory:" in url or url.rstrip("/") == "sqlite:":
            raise ValueError("use a SQLite file, not :memory:; the hub's threads each connect")
        path = url.split("///", 1)[-1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """The hub's database: one short transaction per unit of work, from any thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def connect(cls, url: str, migrate: bool = True) -> Database:
        """Open (and by default migrate) the database at `url`."""
        engine = make_engine(url)
        if migrate:
            upgrade(engine)
        return cls(engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction, committed on success and rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
