"""Liveness and ingest counters, for operators and the tests."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from store_hub.adapters.commerce import PolicyConnector
from store_hub.api.context import hub

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, Any]:
    """Whether the hub is connected to its broker, with ingest and presence counters."""
    h = hub()
    return {
        "store_id": h.config.store_id,
        "broker_connected": h.ingest.connected.is_set(),
        "ingest": dict(h.ingest.counters),
        "presence": dict(h.presence.counters),
        "agents": {agent: status.get("state") for agent, status in h.ingest.agent_status.items()},
        "agent_clock_offsets_s": h.presence.agent_clock_offsets(),
        "commerce": h.commerce.health() if isinstance(h.commerce, PolicyConnector) else None,
    }
