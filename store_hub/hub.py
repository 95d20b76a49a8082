"""The hub's object graph: adapters wired to the operations, built once per process."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from store_hub.adapters.agent_config_publisher import MqttAgentConfigPublisher
from store_hub.adapters.commerce import (
    CommerceConnector,
    FetchPolicy,
    PolicyConnector,
    ReferenceStoreConnector,
    ShopifyConnector,
    ShopifySettings,
)
from store_hub.adapters.db import repositories as repo
from store_hub.adapters.db.engine import Database
from store_hub.adapters.fcm import FcmSender, ServiceAccount
from store_hub.adapters.mqtt_ingest import MqttIngest
from store_hub.adapters.offer_keys import (
    OfferKeyError,
    load_or_create_holdout_secret,
    load_or_create_signing_key,
)
from store_hub.adapters.offer_rules_file import load_rules_file, rules_path
from store_hub.adapters.push import PushSender, WebPushSender
from store_hub.adapters.realtime import FloorBroadcaster, socketio
from store_hub.adapters.realtime_it import ItFeed
from store_hub.adapters.session_secret import load_or_create_session_secret
from store_hub.adapters.vapid import VapidKeys, load_or_create_vapid
from store_hub.clock import Clock, ShiftedClock, SystemClock
from store_hub.config import ConfigError, HubConfig, fusion_settings
from store_hub.domain.offer_rules_load import RulesError
from store_hub.operations.agent_health import AgentLedger
from store_hub.operations.arrivals import ArrivalService
from store_hub.operations.events import DwellReached, FloorEvent
from store_hub.operations.floor import FloorUpdates, route_presence_events
from store_hub.operations.it_view import agents_changed, it_snapshot
from store_hub.operations.offer_decisions import OfferEngine
from store_hub.operations.offer_delivery import FcmPushSender, OfferDelivery
from store_hub.operations.offers import card_status_publisher, show_offer_on_card
from store_hub.operations.presence import PresenceService
from store_hub.operations.topology import Topology
from store_hub.operations.vip_alerts import VipAlerts

log = logging.getLogger(__name__)


@dataclass
class Hub:
    """Everything one hub process runs; `start` begins ingesting, `stop` ends it."""

    config: HubConfig
    clock: Clock
    db: Database
    vapid: VapidKeys
    topology: Topology
    presence: PresenceService
    arrivals: ArrivalService
    ingest: MqttIngest
    broadcaster: FloorBroadcaster
    commerce: CommerceConnector
    offers: OfferEngine
    delivery: OfferDelivery
    rules_path: Path
    # Signs the tablet's session cookies (store_hub.adapters.session_secret).
    session_secret: bytes = field(default=b"", repr=False)
    # Pushes agent changes to the live IT view (store_hub.adapters.realtime_it).
    it_feed: ItFeed | None = field(default=None, repr=False)
    _started: bool = field(default=False, repr=False)

    def start(self) -> None:
        """Load topology, identity and open visits, then start consuming reports."""
        if self._started:
            return
        self.presence.load(self.clock.now())
        # Every (re)connect republishes each approved agent's retained config: a broker that
        # lost its retained messages, or a hub that was down while IT changed one, heals itself.
        self.ingest.on_connected(self.topology.publish_all)
        self.ingest.start()
        self._started = True

    def stop(self) -> None:
        """Stop consuming, finish arrivals in hand, close the database."""
        if self._started:
            self.ingest.stop()
            self.arrivals.shutdown()
            self._started = False
        self.delivery.shutdown()
        if self.it_feed is not None:
            self.it_feed.close()
        if isinstance(self.commerce, PolicyConnector):
            self.commerce.close()
        self.db.dispose()

    def show_offer(self, offer_id: str) -> None:
        """Put an offer's current state on its shopper's card, live, if they are on the floor."""
        show_offer_on_card(self.db, self.broadcaster, offer_id, self.clock.now)

    def floor_snapshot(self, store_id: str) -> list[dict[str, Any]]:
        """Cards of everyone present in the store, newest first, from the database."""
        with self.db.transaction() as session:
            return [v.card for v in repo.open_visits(session, store_id) if v.card is not None]


def build_hub(
    config: HubConfig,
    commerce: CommerceConnector | None = None,
    push: PushSender | None = None,
    fcm: FcmPushSender | None = None,
) -> Hub:
    """Wire a hub from its configuration; adapters can be swapped by passing them in."""
    clock: Clock = ShiftedClock(config.clock_start) if config.clock_start else SystemClock()
    offers_rules = rules_path(config.offer_rules_path)
    try:
        policy = load_rules_file(offers_rules)
    except RulesError as exc:
        raise ConfigError("config error: the offer rules are not valid:\n" + str(exc)) from None
    db = Database.connect(config.database_url)
    vapid = load_or_create_vapid(Path(config.vapid_key_path))
    keys_dir = Path(config.vapid_key_path).parent
    try:
        offers = OfferEngine(
            db,
            policy,
            load_or_create_holdout_secret(
                Path(config.holdout_secret_path or keys_dir / "holdout_secret")
            ),
            load_or_create_signing_key(
                Path(config.offer_signing_key_path or keys_dir / "offer_signing_key.pem")
            ),
            ZoneInfo(config.store_time_zone),
        )
        session_secret = load_or_create_session_secret(
            Path(config.session_secret_path or keys_dir / "session_secret")
        )
    except OfferKeyError as exc:
        raise ConfigError(f"config error: {exc}") from None
    broadcaster = FloorBroadcaster(socketio)
    commerce = commerce or online_store(config, clock)
    delivery = OfferDelivery(
        db,
        push or WebPushSender(vapid, subject=config.push_subject),
        fcm or fcm_sender(config),
        clock.now,
        config.store_name,
        # A delivered (or undeliverable) offer shows so on the shopper's card at once.
        on_status=card_status_publisher(db, broadcaster, clock.now),
        max_attempts=config.delivery_max_attempts,
        retry_base_s=config.delivery_retry_base_s,
    )
    arrivals = ArrivalService(
        db=db,
        commerce=commerce,
        broadcaster=broadcaster,
        offers=offers,
        deliver=delivery.submit,
        clock=clock.now,
        vip_alerts=VipAlerts(db, broadcaster, config.vip_tiers, clock.now),
    )
    if isinstance(commerce, PolicyConnector):
        # A profile refreshed in the background fills in the card of a shopper on the floor.
        commerce.cache.on_refresh = arrivals.on_profile_refreshed
    config_publisher = MqttAgentConfigPublisher(topic_root=config.topic_root)
    topology = Topology(db, config.store_id, config_publisher)
    it_feed = ItFeed(
        socketio,
        config.store_id,
        changed_rows=lambda agent_ids: agents_changed(db, topology, agent_ids, clock.now()),
        snapshot=lambda: it_snapshot(db, topology, {}, clock.now()),
    )
    topology.watch(it_feed)
    presence = PresenceService(
        db,
        config.store_id,
        timedelta(seconds=config.away_timeout_s),
        # Arrivals and departures go to the arrival pipeline; zone changes and dwell to the card.
        route_presence_events(
            arrivals.on_visit_event, floor_handler(FloorUpdates(db, broadcaster), arrivals)
        ),
        topology=topology,
        agents=AgentLedger(db, topology, on_change=it_feed.agents_changed),
        reentry_window=timedelta(seconds=config.reentry_window_s),
        fusion_settings=fusion_settings(config),
        path_loss_exponent=config.path_loss_exponent,
        agent_height_m=config.agent_height_m,
    )
    ingest = MqttIngest(
        broker_url=config.broker_url,
        client_id=f"hub-{config.store_id}",
        store_id=config.store_id,
        handler=presence,
        clock=clock.now,
        topic_root=config.topic_root,
        protocol=config.mqtt_protocol,
        username=config.mqtt_username,
        password=config.mqtt_password,
    )
    config_publisher.bind(ingest)
    return Hub(
        config,
        clock,
        db,
        vapid,
        topology,
        presence,
        arrivals,
        ingest,
        broadcaster,
        commerce=commerce,
        offers=offers,
        delivery=delivery,
        rules_path=offers_rules,
        session_secret=session_secret,
        it_feed=it_feed,
    )


def floor_handler(floor: FloorUpdates, arrivals: ArrivalService) -> Callable[[FloorEvent], None]:
    """Floor events to the card; dwell also to the offers (decided on the arrival pool)."""

    def on_floor_event(event: FloorEvent) -> None:
        floor.on_floor_event(event)
        if isinstance(event, DwellReached):
            arrivals.on_dwell(event)

    return on_floor_event


def fcm_sender(config: HubConfig) -> FcmSender | None:
    """The FCM provider when the config names a project and service account, else None."""
    if config.fcm_project_id is None or config.fcm_service_account_path is None:
        return None
    try:
        account = ServiceAccount.from_file(Path(config.fcm_service_account_path))
    except ValueError as exc:
        raise ConfigError(f"config error: fcm_service_account_path: {exc}") from None
    return FcmSender(config.fcm_project_id, account, base_url=config.fcm_base_url)


def online_store(config: HubConfig, clock: Clock) -> PolicyConnector:
    """The configured online store connector behind the cache, breaker and retry policy."""
    store: CommerceConnector
    if config.commerce_connector == "shopify":
        assert config.shopify_shop and config.shopify_access_token  # HubConfig checked both
        store = ShopifyConnector(
            ShopifySettings(
                shop=config.shopify_shop,
                access_token=config.shopify_access_token,
                api_version=config.shopify_api_version,
                wishlist_metafield=config.shopify_wishlist_metafield,
                sizes_metafield=config.shopify_sizes_metafield,
                timeout_s=config.commerce_timeout_s,
            )
        )
    else:
        store = ReferenceStoreConnector(
            config.commerce_url, config.commerce_api_key, timeout_s=config.commerce_timeout_s
        )
    policy = FetchPolicy(
        ttl_s=config.commerce_cache_ttl_s,
        max_stale_s=config.commerce_max_stale_s,
        max_entries=config.commerce_cache_size,
        failure_threshold=config.commerce_breaker_failures,
        cooldown_s=config.commerce_breaker_cooldown_s,
        attempt_timeout_s=config.commerce_timeout_s,
        retry_deadline_s=config.commerce_timeout_s + 0.5,
    )
    return PolicyConnector(store, policy, name=config.commerce_connector, clock=clock.now)
