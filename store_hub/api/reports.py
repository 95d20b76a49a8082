"""Reports for operators' tooling: today's store numbers (scope it)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from store_hub.api.auth import require_scope
from store_hub.api.context import check_store, hub
from store_hub.operations.store_stats import stats_today

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api/v1/stores/<string:store_id>/stats",
    description="Store statistics (scope it)",
)


class HourSchema(Schema):
    hour = fields.Integer(metadata={"description": "local hour of the day, 0-23"})
    arrivals = fields.Integer()


class ZoneDwellSchema(Schema):
    zone_id = fields.String()
    zone_name = fields.String()
    stays = fields.Integer()
    median_s = fields.Float()
    total_s = fields.Float()


class FunnelSchema(Schema):
    eligible = fields.Integer(metadata={"description": "sent plus held out"})
    sent = fields.Integer()
    delivered = fields.Integer()
    redeemed = fields.Integer()
    held_out = fields.Integer()


class StatsTodaySchema(Schema):
    store_id = fields.String()
    date = fields.String(metadata={"description": "the store's local date"})
    time_zone = fields.String()
    generated_at = fields.DateTime()
    footfall = fields.Nested(HourSchema, many=True)
    dwell_by_zone = fields.Nested(ZoneDwellSchema, many=True)
    offer_funnel = fields.Nested(FunnelSchema)


def today_for(store_id: str) -> dict[str, Any]:
    """Today's numbers for this hub's store, or a 404 for another store."""
    check_store(store_id)
    h = hub()
    with h.db.transaction() as session:
        return stats_today(session, store_id, h.clock.now(), ZoneInfo(h.config.store_time_zone))


@blp.route("/today")
class StatsToday(MethodView):
    @require_scope("it")
    @blp.response(200, StatsTodaySchema)
    def get(self, store_id: str) -> dict[str, Any]:
        """Footfall per local hour, dwell by zone and the offer funnel, for the store's today."""
        return today_for(store_id)
