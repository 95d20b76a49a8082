"""The IT and manager views of the tablet: pages, their JSON, and the approve action."""

from __future__ import annotations

import math
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from clienteling_ui import CONTENT_SECURITY_POLICY, bp
from store_hub.api.session import Role, current_associate, require_associate

IT_ROLES: tuple[Role, ...] = ("it", "manager")
MANAGER_ROLES: tuple[Role, ...] = ("manager",)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def _own_store() -> None:
    # A session is for one store; a hub serves one store: refuse any other store's associate.
    associate = current_associate()
    if associate is None or associate.store_id != current_app.config.get("STORE_ID"):
        abort(403, description="signed in for another store")


def _hub() -> Any:
    from store_hub.api.context import hub

    return hub()


def _page(template: str) -> ResponseReturnValue:
    _own_store()
    store_id = current_app.config.get("STORE_ID") or ""
    return render_template(template, store_id=store_id), 200, _HEADERS


def _json(data: Any, status: int = 200) -> ResponseReturnValue:
    _own_store()
    return jsonify(data), status, {"Cache-Control": "no-store"}


def _same_origin_json() -> dict[str, Any]:
    # A cross-site form cannot send application/json without a CORS preflight the hub refuses,
    # and a browser names its origin on every POST: together they stand in for a CSRF token.
    origin = request.headers.get("Origin")
    if origin is not None and origin != request.host_url.rstrip("/"):
        abort(403, description="cross-origin request refused")
    body = request.get_json(silent=True)
    if not request.is_json or not isinstance(body, dict):
        abort(415, description="send a JSON object")
    return body


@bp.get("/it")
@require_associate(roles=IT_ROLES)
def it_view() -> ResponseReturnValue:
    """Agents with their health, agents awaiting approval, and zones."""
    return _page("it.html")


@bp.get("/it/data")
@require_associate(roles=IT_ROLES)
def it_data() -> ResponseReturnValue:
    """What the IT view shows, as JSON; the page polls it."""
    from store_hub.adapters.db import repositories as repo
    from store_hub.operations.agent_health import health_view

    h = _hub()
    agents = health_view(h.db, h.topology, h.presence.agent_clock_offsets())
    with h.db.transaction() as session:
        zones = [
            {"zone_id": z.zone_id, "name": z.name, "kind": z.kind}
            for z in repo.zones(session, h.config.store_id)
        ]
    return _json(
        {
            "store_id": h.config.store_id,
            "generated_at": h.clock.now(),
            "agents": agents,
            "zones": zones,
        }
    )


@bp.post("/it/agents/<string:agent_id>/approve")
@require_associate(roles=IT_ROLES)
def it_approve(agent_id: str) -> ResponseReturnValue:
    """Approve a quarantined agent into a zone, from the IT view."""
    from store_hub.operations.topology import UnknownAgent, UnknownZone

    _own_store()
    body = _same_origin_json()
    zone_id = body.get("zone_id")
    if not isinstance(zone_id, str) or not zone_id:
        return _json({"error": {"code": "bad_request", "message": "choose a zone"}}, 422)
    position, problem = _floor_position(body)
    if problem:
        return _json({"error": {"code": "bad_request", "message": problem}}, 422)
    h = _hub()
    try:
        h.topology.approve_agent(agent_id, zone_id, h.clock.now(), position=position)
    except UnknownZone:
        return _json({"error": {"code": "unknown_zone", "message": f"no zone {zone_id}"}}, 422)
    except UnknownAgent:
        return _json({"error": {"code": "not_found", "message": f"no agent {agent_id}"}}, 404)
    return _json({"agent_id": agent_id, "zone_id": zone_id, "approval": "approved"})


def _floor_position(body: dict[str, Any]) -> tuple[tuple[float, float] | None, str | None]:
    """The optional x_m/y_m of an approval: both or neither, metres within the API's bounds."""
    x, y = body.get("x_m"), body.get("y_m")
    if x is None and y is None:
        return None, None
    numbers = [v for v in (x, y) if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != 2:
        return None, "give the position as two numbers, x and y in metres, or leave both empty"
    if not all(math.isfinite(v) and -10_000 <= v <= 10_000 for v in numbers):
        return None, "x and y must be metres between -10000 and 10000"
    return (float(numbers[0]), float(numbers[1])), None


@bp.get("/manager")
@require_associate(roles=MANAGER_ROLES)
def manager_view() -> ResponseReturnValue:
    """Today's footfall, dwell by zone and the offer funnel, with charts."""
    return _page("manager.html")


@bp.get("/manager/data")
@require_associate(roles=MANAGER_ROLES)
def manager_data() -> ResponseReturnValue:
    """What the manager view shows, as JSON (the same as GET .../stats/today)."""
    from store_hub.operations.store_stats import stats_today

    h = _hub()
    with h.db.transaction() as session:
        stats = stats_today(
            session, h.config.store_id, h.clock.now(), ZoneInfo(h.config.store_time_zone)
        )
    return _json(stats)
