"""create_app: the Flask application for one hub, one blueprint per audience."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, redirect
from werkzeug.wrappers import Response

from clienteling_ui import bp as tablet_bp
from store_hub.adapters.realtime import (
    register_floor_namespace,
    register_tablet_actions,
    socketio,
)
from store_hub.adapters.realtime_it import register_it_namespace
from store_hub.api import (
    customers,
    enrollment,
    health,
    inventory,
    offer_rules,
    offers,
    reports,
    sales,
    topology,
)
from store_hub.api.errors import ContractApi
from store_hub.api.session import SignedInAssociate
from store_hub.config import HubConfig
from store_hub.hub import Hub
from store_hub.operations.associate_offers import AssociateOffers
from store_hub.operations.associates import is_active
from store_hub.operations.claims import Claims
from store_hub.operations.customer_search import CustomerLookup
from store_hub.operations.floor_zones import floor_zones
from store_hub.operations.it_view import it_snapshot
from store_hub.operations.notes import Notes
from store_hub.operations.tablet_actions import (
    claim_actions,
    lookup_actions,
    note_actions,
    offer_send_actions,
    redeem_action,
)


def create_app(hub: Hub) -> Flask:
    """The hub's web app: the API under /api/v1, the tablet under /tablet, Socket.IO."""
    app = Flask("store_hub")
    app.config.update(
        STORE_ID=hub.config.store_id,
        API_KEYS={
            "enroll": hub.config.enroll_api_key,
            "it": hub.config.it_api_key,
            "pos": hub.config.pos_api_key,
        },
        API_TITLE="Store hub",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
        SECRET_KEY=hub.session_secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=hub.config.tablet_scheme == "https",
        TABLET_IDLE_LOCK_MINUTES=hub.config.tablet_idle_lock_minutes,
        TABLET_IMAGE_ORIGINS=plain_http_image_origins(hub.config),
    )
    app.extensions["store_hub"] = hub
    api = ContractApi(app)
    api.register_blueprint(enrollment.blp)
    api.register_blueprint(topology.blp)
    api.register_blueprint(inventory.blp)
    api.register_blueprint(sales.blp)
    api.register_blueprint(customers.blp)
    api.register_blueprint(offers.blp)
    api.register_blueprint(offer_rules.blp)
    api.register_blueprint(reports.blp)
    app.register_blueprint(health.bp)
    app.register_blueprint(tablet_bp, url_prefix="/tablet")
    # Threads, not monkey-patching (DESIGN.md): Flask-SocketIO would prefer eventlet if present.
    socketio.init_app(app, async_mode="threading")
    register_floor_namespace(
        socketio,
        snapshot=hub.floor_snapshot,
        known_store=lambda store_id: store_id == hub.config.store_id,
        clock=hub.clock.now,
        associate_ok=lambda associate: _still_active(hub, associate),
        zones=lambda store_id: floor_zones(hub.db, store_id),
    )
    register_it_namespace(
        socketio,
        snapshot=lambda: it_snapshot(
            hub.db, hub.topology, hub.presence.agent_clock_offsets(), hub.clock.now()
        ),
        known_store=lambda store_id: store_id == hub.config.store_id,
        associate_ok=lambda associate: _still_active(hub, associate),
    )
    claims = Claims(hub.db, hub.broadcaster, hub.clock.now)
    notes = Notes(hub.db, hub.broadcaster, hub.clock.now)
    register_tablet_actions(
        socketio, {**claim_actions(claims), **redeem_action(claims), **note_actions(notes)}
    )
    sending = AssociateOffers(
        hub.db, hub.offers, hub.broadcaster, hub.delivery.submit, hub.clock.now
    )
    register_tablet_actions(socketio, offer_send_actions(sending))
    lookup = CustomerLookup(hub.db, hub.commerce, hub.clock.now)
    register_tablet_actions(socketio, lookup_actions(lookup))

    @app.get("/")
    def index() -> Response:
        return redirect(f"/tablet/?store={hub.config.store_id}")

    return app


def plain_http_image_origins(config: HubConfig) -> tuple[str, ...]:
    """The reference online store's origin when it is plain http (the demo's, or one on the
    shop's own network): the tablet's CSP allows images from any https origin only."""
    url = urlsplit(config.commerce_url)
    if config.commerce_connector != "reference" or url.scheme != "http" or not url.netloc:
        return ()
    return (f"http://{url.netloc}",)


def _still_active(hub: Hub, associate: SignedInAssociate) -> bool:
    """A deactivated account's cookie stops opening the floor at its next connection."""
    return is_active(hub.db, associate.associate_id, associate.store_id)
