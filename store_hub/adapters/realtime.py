"""Socket.IO adapter: the live floor feed that associates' tablets subscribe to.

Namespace ``/floor``. A tablet connects with the signed-in associate's session cookie (and
optionally ``auth={"store_id": ...}``, which must then be the associate's store), joins the room
``store:<store_id>`` and receives ``floor`` (a full snapshot) at once and again whenever it
emits ``resync``. The hub then pushes ``arrived``, ``card_updated`` and ``departed`` to the room.
Cards are JSON-ready dicts (visit_id, customer_id, device_id, arrived_at, last_seen, zone,
profile_status, profile, wishlist, cart, orders, offer); this module passes them through as is.
Once the shopper changes zone (or reaches a dwell threshold) the card also carries zone_id,
zone_since (when they entered the zone) and dwell_s (seconds in it at the last threshold
reached, 0 on entering), sent as ``card_updated``; tablets count the live dwell from zone_since.
``quiet_since`` is set (when the phone was last heard) while no agent hears the phone, and back
to null when one does: the zone is then only where the shopper was last heard.
``floor`` may also carry ``zones`` (the store's zones in floor order, for grouping by zone), and
``vip_arrived`` tells the tablets once per visit that a VIP walked in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import request
from flask_socketio import SocketIO, join_room

# Aliased: the builtin of the same name is an OSError, which python-socketio would not catch.
from socketio.exceptions import ConnectionRefusedError as ConnectionRefused

from store_hub.api.session import Role, SignedInAssociate, current_associate

FLOOR_NAMESPACE = "/floor"
DEPARTURE_FIELDS = ("visit_id", "customer_id", "departed_at")
VIP_ALERT_FIELDS = ("visit_id", "name", "tier", "zone", "zone_id", "arrived_at")
MAX_STORE_ID_LENGTH = 64

Card = Mapping[str, Any]
SnapshotProvider = Callable[[str], list[dict[str, Any]]]
# The store's zones in floor order ({zone_id, name, kind}), sent with each snapshot.
ZonesProvider = Callable[[str], list[dict[str, Any]]]
StoreCheck = Callable[[str], bool]
# Whether a signed-in associate may still use the floor (exists, active, of that store).
AssociateCheck = Callable[[SignedInAssociate], bool]
Clock = Callable[[], datetime]

log = logging.getLogger(__name__)

# create_app calls socketio.init_app(app, async_mode="threading"): Flask-SocketIO would pick
# eventlet or gevent if either were installed, and the hub relies on real threads.
socketio = SocketIO()


def store_room(store_id: str) -> str:
    """The Socket.IO room that every tablet of one store joins."""
    return f"store:{store_id}"


def rfc3339(moment: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC with milliseconds, e.g. 2026-11-24T10:00:01.250Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def floor_payload(
    store_id: str,
    shoppers: list[dict[str, Any]],
    now: datetime,
    zones: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The `floor` event body: everything a tablet needs to draw the floor from scratch."""
    # server_time lets the tablet correct its own clock when it shows time in store.
    payload: dict[str, Any] = {
        "store_id": store_id,
        "server_time": rfc3339(now),
        "shoppers": shoppers,
    }
    if zones is not None:
        payload["zones"] = zones
    return payload


class FloorBroadcaster:
    """Pushes floor changes to the tablets of one store; safe to call from any thread."""

    def __init__(self, socketio: SocketIO, namespace: str = FLOOR_NAMESPACE) -> None:
        """Emit through `socketio` (or its message queue) on `namespace`."""
        self._socketio = socketio
        self._namespace = namespace

    def arrived(self, store_id: str, card: Card) -> None:
        """A shopper walked in: tablets put the card at the top of the list."""
        self._emit("arrived", store_id, dict(card))

    def card_updated(self, store_id: str, card: Card) -> None:
        """A card changed (profile arrived, zone changed, offer sent): tablets replace it."""
        self._emit("card_updated", store_id, dict(card))

    def departed(self, store_id: str, departure: Mapping[str, Any]) -> None:
        """A shopper left: tablets remove the card of that visit."""
        # Only the contract's fields go out, and a missing one fails here rather than in a tablet.
        self._emit("departed", store_id, {key: departure[key] for key in DEPARTURE_FIELDS})

    def vip_arrived(self, store_id: str, alert: Mapping[str, Any]) -> None:
        """A VIP is in the store (sent once per visit): every tablet on shift shows an alert."""
        self._emit("vip_arrived", store_id, {key: alert.get(key) for key in VIP_ALERT_FIELDS})

    def _emit(self, event: str, store_id: str, payload: dict[str, Any]) -> None:
        """Send one event to every tablet of the store."""
        # socketio.emit (not flask_socketio.emit) needs no request context, so the ingest worker
        # and connector threads can call it; with a message queue it reaches other hub workers.
        self._socketio.emit(event, payload, to=store_room(store_id), namespace=self._namespace)


def register_floor_namespace(
    socketio: SocketIO,
    snapshot: SnapshotProvider,
    known_store: StoreCheck,
    *,
    clock: Clock = utc_now,
    namespace: str = FLOOR_NAMESPACE,
    associate_ok: AssociateCheck = lambda _associate: True,
    zones: ZonesProvider | None = None,
) -> None:
    """Wire the connect and resync handlers of the floor namespace to the hub's callables."""

    def send_floor(sid: str, store_id: str) -> None:
        """Send the whole floor of the store to one client."""
        try:
            shoppers = snapshot(store_id)
        except Exception:
            # Refusing would stop the tablet from reconnecting; it asks again with `resync`
            # when no floor arrives, so log and let it retry.
            log.exception("floor snapshot failed for store %s", store_id)
            return
        payload = floor_payload(store_id, shoppers, clock(), _zones_of(zones, store_id))
        socketio.emit("floor", payload, to=sid, namespace=namespace)

    def on_connect(auth: object = None) -> None:
        """Admit a signed-in associate's tablet, join it to the store's room, send the floor."""
        associate = admit_associate(auth, known_store, associate_ok)
        store_id = associate.store_id
        sid: str = request.sid  # type: ignore[attr-defined]
        socketio.server.save_session(
            sid,
            {
                "store_id": store_id,
                "associate_id": associate.associate_id,
                "name": associate.name,
                "role": associate.role,
            },
            namespace=namespace,
        )
        # Join before the snapshot: an arrival between the two then reaches the tablet as an
        # event (which it replays over the snapshot) instead of falling through the gap.
        join_room(store_room(store_id))
        send_floor(sid, store_id)

    def on_resync(*_args: object) -> None:
        """Send the floor again to a tablet that thinks it may have missed events."""
        sid: str = request.sid  # type: ignore[attr-defined]
        store_id = socket_session(socketio, sid, namespace).get("store_id")
        if isinstance(store_id, str):
            send_floor(sid, store_id)

    socketio.on_event("connect", on_connect, namespace=namespace)
    socketio.on_event("resync", on_resync, namespace=namespace)


def _zones_of(zones: ZonesProvider | None, store_id: str) -> list[dict[str, Any]] | None:
    """The store's zones for the snapshot; without them the tablet still groups, by name."""
    if zones is None:
        return None
    try:
        return zones(store_id)
    except Exception:
        log.exception("zone list failed for store %s", store_id)
        return None


def admit_associate(
    auth: object,
    known_store: StoreCheck,
    associate_ok: AssociateCheck,
    roles: Collection[Role] | None = None,
    wrong_role: str = "this view is not for this account's role",
) -> SignedInAssociate:
    """The signed-in associate a connecting socket belongs to, or ConnectionRefused saying why.

    The session cookie says who and which store; `auth.store_id` is only a cross-check.
    """
    associate = current_associate()
    if associate is None:
        raise ConnectionRefused("not signed in: sign in on the tablet first")
    store_id = associate.store_id
    asked = _store_id_from(auth)
    if asked is not None and asked != store_id:
        raise ConnectionRefused(f"signed in for store {store_id}, not {asked}")
    if not known_store(store_id):
        raise ConnectionRefused(f"unknown store: {store_id}")
    if roles is not None and associate.role not in roles:
        raise ConnectionRefused(wrong_role)
    if not associate_ok(associate):
        raise ConnectionRefused("this account is no longer active: sign in again")
    return associate


def _store_id_from(auth: object) -> str | None:
    """The store id a client sent in its auth payload, if it is a plausible one."""
    if not isinstance(auth, Mapping):
        return None
    store_id = auth.get("store_id")
    if not isinstance(store_id, str) or not store_id or len(store_id) > MAX_STORE_ID_LENGTH:
        return None
    return store_id


# A tablet action: the associate on the socket and the event's body in, the acknowledgement out.
TabletAction = Callable[[SignedInAssociate, Mapping[str, Any]], dict[str, Any]]


def register_tablet_actions(
    socketio: SocketIO,
    actions: Mapping[str, TabletAction],
    *,
    namespace: str = FLOOR_NAMESPACE,
) -> None:
    """Route tablet events (claim, release, ...) to `actions`; each acknowledges with a dict."""

    def handler(name: str, action: TabletAction) -> Callable[..., dict[str, Any]]:
        def on_action(body: object = None, *_rest: object) -> dict[str, Any]:
            sid: str = request.sid  # type: ignore[attr-defined]
            associate = SignedInAssociate.from_session(socket_session(socketio, sid, namespace))
            if associate is None:
                return refusal("not_signed_in", "sign in on the tablet first")
            if not isinstance(body, Mapping):
                return refusal("invalid_request", f"{name} takes an object")
            try:
                return action(associate, body)
            except Exception:
                log.exception("tablet action %s failed", name)
                return refusal("server_error", "the hub could not do that; try again")

        return on_action

    for name, action in actions.items():
        socketio.on_event(name, handler(name, action), namespace=namespace)


def socket_session(socketio: SocketIO, sid: str, namespace: str) -> dict[str, Any]:
    """What on_connect saved for a socket; empty once it has gone.

    An event can still be handled after its socket closed (a tablet leaving the page as it
    records a card view): treat it as not signed in rather than raise in a server thread.
    """
    try:
        session: dict[str, Any] = socketio.server.get_session(sid, namespace=namespace)
    except KeyError:
        return {}
    return session


def refusal(code: str, message: str) -> dict[str, Any]:
    """A tablet action's acknowledgement when it was not done."""
    return {"ok": False, "error": {"code": code, "message": message}}
