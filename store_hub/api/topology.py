"""Store topology for IT: zones, agents, approving quarantined agents, the agent health view."""

from __future__ import annotations

from typing import Any, NoReturn

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from beacon_agent.protocol import TopicError, _check_id
from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.models import Zone
from store_hub.api.auth import require_scope
from store_hub.api.context import check_store, hub
from store_hub.operations.agent_health import health_view
from store_hub.operations.topology import (
    APPROVED,
    QUARANTINED,
    ZONE_KINDS,
    Bounds,
    UnknownAgent,
    UnknownZone,
    bounds_of,
    check_bounds,
)

blp = Blueprint(
    "topology",
    __name__,
    url_prefix="/api/v1/stores/<string:store_id>",
    description="Store topology and agent health (scope it)",
)

_ID = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    error="must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
)
_POSITION = validate.Range(-10_000, 10_000)


def _optional_metres(description: str | None = None) -> fields.Float:
    """A floor coordinate in metres that a body may leave out (null: not measured)."""
    metadata = {} if description is None else {"description": description}
    return fields.Float(
        load_default=None,
        allow_none=True,
        allow_nan=False,
        validate=_POSITION,
        metadata=metadata,
    )


class ZoneBodySchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(ZONE_KINDS))
    x_m = _optional_metres()
    y_m = _optional_metres()
    bounds_m = fields.List(
        fields.Float(allow_nan=False, validate=_POSITION),
        load_default=None,
        allow_none=True,
        validate=validate.Length(
            equal=4, error="must be four numbers [x0, y0, x1, y1], got {input}"
        ),
        metadata={
            "description": "the zone's rectangle on the floor, metres in the agents' frame: "
            "[x0, y0, x1, y1] with x0 < x1 and y0 < y1; left out or null clears it"
        },
    )

    @validates_schema
    def _corners_in_order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        # Runs only once each number passed on its own (marshmallow skips it on field errors).
        bounds = data.get("bounds_m")
        if bounds is None:
            return
        try:
            check_bounds(_bounds(bounds))
        except ValueError as exc:
            raise ValidationError(str(exc), field_name="bounds_m") from exc


def _bounds(values: list[float]) -> Bounds:
    x0, y0, x1, y1 = values
    return (x0, y0, x1, y1)


class ZoneSchema(Schema):
    store_id = fields.String()
    zone_id = fields.String()
    name = fields.String()
    kind = fields.String()
    x_m = fields.Float(allow_none=True, metadata={"description": "floor position, metres"})
    y_m = fields.Float(allow_none=True, metadata={"description": "floor position, metres"})
    bounds_m = fields.Method(
        "_bounds_m",
        metadata={
            "type": "array",
            "items": {"type": "number"},
            "minItems": 4,
            "maxItems": 4,
            "nullable": True,
            "description": "[x0, y0, x1, y1]: the zone's rectangle in metres, null until drawn",
        },
    )
    updated_at = fields.DateTime()

    def _bounds_m(self, zone: Zone) -> list[float] | None:
        bounds = bounds_of(zone)
        return None if bounds is None else list(bounds)


class _FloorPositionMixin(Schema):
    """An agent's optional floor position: metres in the zones' frame, both or neither."""

    x_m = _optional_metres("floor position, metres, in the zones' frame; with y_m")
    y_m = _optional_metres("floor position, metres, in the zones' frame; with x_m")

    @validates_schema
    def _both_or_neither(self, data: dict[str, Any], **_kwargs: Any) -> None:
        # Half a position would place the device on a line, not a point: refuse it.
        x_m, y_m = data.get("x_m"), data.get("y_m")
        if (x_m is None) != (y_m is None):
            missing, given = ("y_m", "x_m") if y_m is None else ("x_m", "y_m")
            raise ValidationError(
                f"{missing} is missing: a floor position needs both x_m and y_m ({given} was "
                "given), or neither",
                field_name=missing,
            )


def _position(body: dict[str, Any]) -> tuple[float, float] | None:
    """Take x_m/y_m out of a loaded body as one position (the schema made them both or neither)."""
    x_m, y_m = body.pop("x_m", None), body.pop("y_m", None)
    return None if x_m is None or y_m is None else (x_m, y_m)


class AgentBodySchema(_FloorPositionMixin):
    zone_id = fields.String(required=True, validate=_ID)
    # The same bounds beacon_agent.config.parse_remote enforces, so a pushed config always applies.
    calibration_offset_db = fields.Float(
        load_default=0.0, allow_nan=False, validate=validate.Range(-40, 40)
    )
    report_interval_s = fields.Float(
        load_default=None, allow_none=True, allow_nan=False, validate=validate.Range(0.1, 60)
    )


class ApproveBodySchema(_FloorPositionMixin):
    zone_id = fields.String(required=True, validate=_ID)


class AgentQuerySchema(Schema):
    approval = fields.String(load_default=None, validate=validate.OneOf([APPROVED, QUARANTINED]))


class TelemetrySchema(Schema):
    version = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    advertisements_per_s = fields.Float(allow_none=True)
    tokens_present = fields.Integer(allow_none=True)
    last_advertisement_age_s = fields.Float(allow_none=True)
    scanner_restarts = fields.Integer(allow_none=True)
    spool_depth = fields.Integer(allow_none=True)
    spool_dropped = fields.Integer(allow_none=True)


class AgentHealthSchema(Schema):
    store_id = fields.String()
    agent_id = fields.String()
    approval = fields.String(metadata={"description": "approved or quarantined"})
    state = fields.String(metadata={"description": "online, offline (last will) or unknown"})
    zone_id = fields.String(allow_none=True)
    zone_name = fields.String(allow_none=True)
    calibration_offset_db = fields.Float()
    report_interval_s = fields.Float(allow_none=True)
    x_m = fields.Float(allow_none=True, metadata={"description": "floor position, metres"})
    y_m = fields.Float(allow_none=True, metadata={"description": "floor position, metres"})
    registered_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    first_seen_at = fields.DateTime(allow_none=True)
    last_seen_at = fields.DateTime(allow_none=True)
    last_report_at = fields.DateTime(allow_none=True)
    report_count = fields.Integer()
    duplicates = fields.Integer()
    boot_id = fields.String(allow_none=True)
    gaps = fields.Integer(metadata={"description": "missing seq numbers in the current boot"})
    clock_offset_s = fields.Float(allow_none=True, metadata={"description": "hub minus agent"})
    measured_offset_db = fields.Float(
        allow_none=True,
        metadata={
            "description": "dB louder than the other placed agents it hears phones, measured "
            "by the hub from the traffic and taken off its levels; null until measured"
        },
    )
    status_at = fields.DateTime(allow_none=True)
    telemetry = fields.Nested(TelemetrySchema)


def _not_found(message: str) -> NoReturn:
    abort(404, message=message)
    raise AssertionError("abort raises")


def _check_path_id(kind: str, value: str) -> None:
    try:
        _check_id(kind, value)
    except TopicError as exc:
        abort(422, message=str(exc), errors={"path": {kind: [str(exc)]}})


def _unknown_zone(store_id: str, zone_id: str) -> NoReturn:
    problem = (
        f"no zone {zone_id!r} in store {store_id}; create it first with PUT .../zones/{zone_id}"
    )
    abort(422, message=problem, errors={"json": {"zone_id": [problem]}})
    raise AssertionError("abort raises")


def _agent_view(agent_id: str) -> dict[str, Any]:
    h = hub()
    for agent in health_view(h.db, h.topology, h.presence.agent_clock_offsets()):
        if agent["agent_id"] == agent_id:
            return agent
    _not_found(f"no agent {agent_id} in store {h.config.store_id}")


@blp.route("/zones")
class Zones(MethodView):
    @require_scope("it")
    @blp.response(200, ZoneSchema(many=True))
    def get(self, store_id: str) -> list[Any]:
        """The store's zones."""
        check_store(store_id)
        with hub().db.transaction() as session:
            return list(repo.zones(session, store_id))


@blp.route("/zones/<string:zone_id>")
class ZoneItem(MethodView):
    @require_scope("it")
    @blp.response(200, ZoneSchema)
    def get(self, store_id: str, zone_id: str) -> Any:
        """One zone."""
        check_store(store_id)
        with hub().db.transaction() as session:
            zone = session.get(Zone, (store_id, zone_id))
        if zone is None:
            _not_found(f"no zone {zone_id} in store {store_id}")
        return zone

    @require_scope("it")
    @blp.arguments(ZoneBodySchema)
    @blp.response(200, ZoneSchema)
    @blp.alt_response(201, schema=ZoneSchema, description="the zone was created")
    def put(self, body: dict[str, Any], store_id: str, zone_id: str) -> Any:
        """Create or change a zone (display name, kind, floor position and rectangle in metres).

        Every setting is replaced: one left out is cleared (no point, no rectangle).
        """
        check_store(store_id)
        _check_path_id("zone_id", zone_id)
        h = hub()
        bounds_m = body.pop("bounds_m")
        bounds = None if bounds_m is None else _bounds(bounds_m)
        zone, created = h.topology.put_zone(zone_id, **body, now=h.clock.now(), bounds=bounds)
        return zone, 201 if created else 200


@blp.route("/agents")
class Agents(MethodView):
    @require_scope("it")
    @blp.arguments(AgentQuerySchema, location="query")
    @blp.response(200, AgentHealthSchema(many=True))
    def get(self, query: dict[str, Any], store_id: str) -> list[dict[str, Any]]:
        """The agent health view; `?approval=quarantined` is the list awaiting approval."""
        check_store(store_id)
        h = hub()
        agents = health_view(h.db, h.topology, h.presence.agent_clock_offsets())
        wanted = query["approval"]
        return [a for a in agents if wanted is None or a["approval"] == wanted]


@blp.route("/agents/<string:agent_id>")
class AgentItem(MethodView):
    @require_scope("it")
    @blp.response(200, AgentHealthSchema)
    def get(self, store_id: str, agent_id: str) -> dict[str, Any]:
        """One agent's health."""
        check_store(store_id)
        return _agent_view(agent_id)

    @require_scope("it")
    @blp.arguments(AgentBodySchema)
    @blp.response(200, AgentHealthSchema)
    @blp.alt_response(201, schema=AgentHealthSchema, description="the agent was registered")
    def put(self, body: dict[str, Any], store_id: str, agent_id: str) -> Any:
        """Register an agent (approved at once) or change its zone and settings.

        Every setting is replaced: one left out goes back to its default (no floor position).
        The hub then publishes the agent's retained config (zone, calibration offset, report
        interval, whether to send levels) on its MQTT config topic.
        """
        check_store(store_id)
        _check_path_id("agent_id", agent_id)
        h = hub()
        position = _position(body)
        try:
            _, created = h.topology.register_agent(
                agent_id, **body, now=h.clock.now(), position=position
            )
        except UnknownZone:
            _unknown_zone(store_id, body["zone_id"])
        return _agent_view(agent_id), 201 if created else 200


@blp.route("/agents/<string:agent_id>/approve")
class AgentApproval(MethodView):
    @require_scope("it")
    @blp.arguments(ApproveBodySchema)
    @blp.response(200, AgentHealthSchema)
    def post(self, body: dict[str, Any], store_id: str, agent_id: str) -> dict[str, Any]:
        """Approve a quarantined agent into a zone: from now on its reports count.

        With `x_m` and `y_m` it is placed on the floor too; without them it keeps its position.
        """
        check_store(store_id)
        h = hub()
        try:
            h.topology.approve_agent(
                agent_id, body["zone_id"], h.clock.now(), position=_position(body)
            )
        except UnknownZone:
            _unknown_zone(store_id, body["zone_id"])
        except UnknownAgent:
            _not_found(
                f"no agent {agent_id} in store {store_id}: it has not connected yet; "
                f"register it with PUT .../agents/{agent_id}"
            )
        return _agent_view(agent_id)
