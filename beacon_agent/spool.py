"""The on-disk write-ahead spool: a report is stored before it is published, deleted when acked.

SQLite in WAL mode with `synchronous=FULL`: a committed append survives a broker outage, a
`kill -9` of the agent and a power cut. Rows keep the exact JSON bytes that go on the wire, so a
report flushed after a restart carries its original boot_id, seq and sent_at. Row ids only grow
(AUTOINCREMENT), so flushing in id order is flushing in the order reports were made.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


class SpoolError(RuntimeError):
    """The spool file cannot be opened or written (path, permissions, disk)."""


@dataclass(frozen=True, slots=True)
class SpooledReport:
    """One stored report: its row id (the order), topic and exact payload bytes."""

    row_id: int
    topic: str
    payload: bytes


class Spool:
    """A bounded, ordered, crash-safe queue of reports waiting for the broker's PUBACK."""

    def __init__(self, path: Path, max_bytes: int = 64 * 1024 * 1024) -> None:
        """Open (or create) the spool at `path`; pending rows from a previous run are kept."""
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One connection shared by the pipeline and the MQTT thread, serialised by _lock.
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM reports"
            ).fetchone()
        except (OSError, sqlite3.Error) as exc:
            raise SpoolError(f"cannot open the spool at {path}: {exc}") from exc
        self._depth, self._bytes = int(row[0]), int(row[1])

    def append(self, topic: str, payload: bytes) -> int:
        """Store one report durably and return its row id; drop the oldest beyond max_bytes."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                cursor = self._db.execute(
                    "INSERT INTO reports (topic, payload) VALUES (?, ?)", (topic, payload)
                )
                row_id = int(cursor.lastrowid or 0)
                self._depth += 1
                self._bytes += len(payload)
                dropped = self._trim(row_id)
                if dropped:
                    self._db.execute(
                        "INSERT INTO counters (name, value) VALUES ('dropped', ?) "
                        "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                        (dropped,),
                    )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise SpoolError(f"cannot write to the spool at {self.path}: {exc}") from exc
            return row_id

    def _trim(self, newest: int) -> int:
        """Delete the oldest rows until the spool fits; the newest report is always kept."""
        dropped = 0
        while self._bytes > self.max_bytes and self._depth > 1:
            row = self._db.execute(
                "SELECT id, LENGTH(payload) FROM reports WHERE id < ? ORDER BY id LIMIT 1",
                (newest,),
            ).fetchone()
            if row is None:
                break
            self._db.execute("DELETE FROM reports WHERE id = ?", (row[0],))
            self._depth -= 1
            self._bytes -= int(row[1])
            dropped += 1
        return dropped

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):  # no transaction may be open
            self._db.execute("ROLLBACK")
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM reports"
        ).fetchone()
        self._depth, self._bytes = int(row[0]), int(row[1])

    def pending(self, after: int = 0, limit: int = 100) -> list[SpooledReport]:
        """Up to `limit` stored reports with row id greater than `after`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload FROM reports WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            ).fetchall()
        return [SpooledReport(int(r[0]), str(r[1]), bytes(r[2])) for r in rows]

    def ack(self, row_id: int) -> None:
        """The broker has the report: forget it (a second ack of the same row is harmless)."""
        with self._lock:
            row = self._db.execute(
                "DELETE FROM reports WHERE id = ? RETURNING LENGTH(payload)", (row_id,)
            ).fetchone()
            if row is not None:
                self._depth -= 1
                self._bytes -= int(row[0])

    def depth(self) -> int:
        """How many reports wait for an ack."""
        with self._lock:
            return self._depth

    def size_bytes(self) -> int:
        """Payload bytes waiting for an ack."""
        with self._lock:
            return self._bytes

    def dropped(self) -> int:
        """How many reports were dropped, over the spool's lifetime, to stay within max_bytes."""
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
        return 0 if row is None else int(row[0])

    def check_writable(self) -> None:
        """Take the write lock and release it, raising SpoolError if the file is read-only."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                raise SpoolError(f"the spool at {self.path} is not writable: {exc}") from exc

    def close(self) -> None:
        """Close the file; pending rows stay for the next start."""
        with self._lock:
            self._db.close()
