from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from beacon_agent.spool import Spool, SpoolError

TOPIC = "stores/s042/agents/door-1/sightings"


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    opened = Spool(tmp_path / "spool.db", max_bytes=1000)
    try:
        yield opened
    finally:
        opened.close()


def payload(seq: int, size: int = 100) -> bytes:
    head = b'{"seq":%d,"pad":"' % seq
    return head + b"x" * (size - len(head) - 2) + b'"}'


def test_pending_is_in_insertion_order_and_pages_after_a_cursor(spool: Spool) -> None:
    ids = [spool.append(TOPIC, payload(n)) for n in range(5)]
    assert ids == sorted(ids)
    assert [r.payload for r in spool.pending()] == [payload(n) for n in range(5)]
    page = spool.pending(after=ids[1], limit=2)
    assert [r.row_id for r in page] == ids[2:4]
    assert all(r.topic == TOPIC for r in page)


def test_ack_deletes_only_that_row_and_is_idempotent(spool: Spool) -> None:
    ids = [spool.append(TOPIC, payload(n)) for n in range(3)]
    spool.ack(ids[1])
    spool.ack(ids[1])
    assert [r.row_id for r in spool.pending()] == [ids[0], ids[2]]
    assert spool.depth() == 2
    assert spool.size_bytes() == 200


def test_bound_drops_the_oldest_and_counts_them(spool: Spool) -> None:
    for n in range(12):  # 1200 bytes into a 1000-byte spool
        spool.append(TOPIC, payload(n))
    assert [r.payload for r in spool.pending()] == [payload(n) for n in range(2, 12)]
    assert spool.dropped() == 2
    assert spool.size_bytes() <= spool.max_bytes


def test_an_oversized_report_is_still_kept_as_the_newest(spool: Spool) -> None:
    spool.append(TOPIC, payload(0))
    spool.append(TOPIC, payload(1, size=1500))
    assert [r.payload for r in spool.pending()] == [payload(1, size=1500)]
    assert spool.dropped() == 1


def test_survives_reopen_with_exact_bytes_order_and_counters(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "spool.db"
    first = Spool(path, max_bytes=1000)
    ids = [first.append(TOPIC, payload(n)) for n in range(12)]
    first.ack(ids[2])
    first.close()  # or a kill -9: every append was committed before it returned

    again = Spool(path, max_bytes=1000)
    try:
        assert [r.payload for r in again.pending()] == [payload(n) for n in range(3, 12)]
        assert (again.depth(), again.dropped(), again.size_bytes()) == (9, 2, 900)
        # Row ids keep growing after a restart, so new reports queue behind the old ones.
        assert again.append(TOPIC, payload(99)) > ids[-1]
        assert again.pending()[-1].payload == payload(99)
    finally:
        again.close()


def test_committed_appends_are_visible_to_another_connection(tmp_path: Path) -> None:
    # WAL with synchronous=FULL: what append() returned is on disk, not in a buffer.
    path = tmp_path / "spool.db"
    spool = Spool(path)
    spool.append(TOPIC, payload(7))
    reader = sqlite3.connect(path)
    try:
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert reader.execute("SELECT payload FROM reports").fetchall() == [(payload(7),)]
    finally:
        reader.close()
        spool.close()


def test_an_unwritable_location_raises_spool_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SpoolError, match="cannot open the spool"):
        Spool(blocker / "spool.db")
