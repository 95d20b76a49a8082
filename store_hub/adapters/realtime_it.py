"""Socket.IO adapter: the live IT view (agents' health, quarantined agents, zones).

Namespace ``/it``. Admits a signed-in associate of the store whose role is ``it`` or
``manager`` (the same session cookie and account check as ``/floor``), joins the room
``it:<store_id>`` and sends ``agents`` (a full snapshot: store_id, server_time, agents, zones)
at once and again on ``resync``. Then the hub pushes ``agents_changed`` (store_id, server_time,
agents: the changed rows only) when an agent's status, telemetry or last will arrives, its
reports are counted, it is quarantined, registered or approved; at most once per agent per
`interval_s`, coalesced. A zone change sends the whole ``agents`` snapshot to the room.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

from flask import request
from flask_socketio import SocketIO, join_room

from store_hub.adapters.realtime import AssociateCheck, StoreCheck, admit_associate
from store_hub.api.session import Role
from store_hub.domain.coalesce import Coalescer

IT_NAMESPACE = "/it"
IT_ROLES: tuple[Role, ...] = ("it", "manager")
# A busy store's agents report every second; tablets need a row at most this often.
AGENT_UPDATE_INTERVAL_S = 2.0
# Changes of several agents that land together (one ingest flush) go out in one event.
GATHER_S = 0.1

Snapshot = Callable[[], dict[str, Any]]
ChangedRows = Callable[[Collection[str]], dict[str, Any]]

log = logging.getLogger(__name__)


def it_room(store_id: str) -> str:
    """The Socket.IO room of one store's IT views."""
    return f"it:{store_id}"


def register_it_namespace(
    socketio: SocketIO,
    snapshot: Snapshot,
    known_store: StoreCheck,
    *,
    associate_ok: AssociateCheck = lambda _associate: True,
    namespace: str = IT_NAMESPACE,
) -> None:
    """Wire the connect and resync handlers of the IT namespace."""

    def send_snapshot(sid: str) -> None:
        try:
            payload = snapshot()
        except Exception:
            # The page asks again with `resync` when no snapshot came; refusing would not help.
            log.exception("IT view snapshot failed")
            return
        socketio.emit("agents", payload, to=sid, namespace=namespace)

    def on_connect(auth: object = None) -> None:
        """Admit IT or a manager of this store, join the store's IT room, send the agents."""
        associate = admit_associate(
            auth,
            known_store,
            associate_ok,
            IT_ROLES,
            wrong_role="the store devices view is for IT and managers",
        )
        store_id = associate.store_id
        sid: str = request.sid  # type: ignore[attr-defined]
        socketio.server.save_session(
            sid, {"store_id": store_id, "associate_id": associate.associate_id}, namespace=namespace
        )
        # Join first: a change between join and snapshot then arrives as an event after it.
        join_room(it_room(store_id))
        send_snapshot(sid)

    def on_resync(*_args: object) -> None:
        """Send the snapshot again to a view that may have missed changes."""
        sid: str = request.sid  # type: ignore[attr-defined]
        send_snapshot(sid)

    socketio.on_event("connect", on_connect, namespace=namespace)
    socketio.on_event("resync", on_resync, namespace=namespace)


class ItFeed:
    """Pushes agent changes to a store's IT views, coalesced per agent; call from any thread.

    `agents_changed` only marks and arms a timer, so the ingest worker never waits for the
    database read or the emit; a timer thread sends what is due in one event.
    """

    def __init__(
        self,
        socketio: SocketIO,
        store_id: str,
        changed_rows: ChangedRows,
        snapshot: Snapshot,
        *,
        interval_s: float = AGENT_UPDATE_INTERVAL_S,
        gather_s: float = GATHER_S,
        namespace: str = IT_NAMESPACE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Emit on `namespace` to the store's IT room; `changed_rows` reads the agents' rows."""
        self._socketio = socketio
        self._room = it_room(store_id)
        self._changed_rows = changed_rows
        self._snapshot = snapshot
        self._gather = gather_s
        self._namespace = namespace
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._pending: Coalescer[str] = Coalescer(interval_s)
        self._timer: threading.Timer | None = None
        self._closed = False

    def agents_changed(self, agent_ids: Iterable[str]) -> None:
        """These agents' rows changed; their new rows go out when each is due."""
        with self._lock:
            self._pending.mark(agent_ids)
            self._arm()

    def zones_changed(self) -> None:
        """A zone was added or renamed: every view redraws from a new snapshot."""
        if self._socketio.server is None:
            return
        try:
            self._socketio.emit(
                "agents", self._snapshot(), to=self._room, namespace=self._namespace
            )
        except Exception:
            log.exception("could not send the IT views a new snapshot")

    def close(self) -> None:
        """Stop sending (hub stop)."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _arm(self) -> None:
        """Start the timer for the next due agent unless one is running (lock held)."""
        due = self._pending.next_due()
        if self._closed or self._timer is not None or due is None:
            return
        delay = max(self._gather, due - self._monotonic())
        self._timer = threading.Timer(delay, self._send_due)
        self._timer.daemon = True
        self._timer.start()

    def _send_due(self) -> None:
        with self._lock:
            self._timer = None
            agent_ids = [] if self._closed else self._pending.take_due(self._monotonic())
        try:
            # A hub without a web app (tools, some tests) has no Socket.IO server to emit on.
            if agent_ids and self._socketio.server is not None:
                payload = self._changed_rows(agent_ids)
                if payload.get("agents"):
                    self._socketio.emit(
                        "agents_changed", payload, to=self._room, namespace=self._namespace
                    )
        except Exception:
            # Views catch up on their next resync (every reconnect); the feed goes on.
            log.exception("could not send agent changes to the IT views")
        finally:
            with self._lock:
                self._arm()
