"""The hub's object graph: adapters wired to the operations, built once per process."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

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
from store_hub.adapters.mqtt_ingest import MqttIngest
from store_hub.adapters.push import PushSender, WebPushSender
from store_hub.adapters.realtime import FloorBroadcaster, socketio
from store_hub.adapters.vapid import VapidKeys, load_or_create_vapid
from store_hub.clock import Clock, ShiftedClock, SystemClock
from store_hub.config import HubConfig, fusion_settings
from store_hub.domain.offers import ArrivalRule
from store_hub.operations.agent_health import AgentLedger
from store_hub.operations.arrivals import ArrivalService
from store_hub.operations.floor import FloorUpdates, route_presence_events
from store_hub.operations.presence import PresenceService
from store_hub.operations.topology import Topology

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
        if isinstance(self.commerce, PolicyConnector):
            self.commerce.close()
        self.db.dispose()

    def floor_snapshot(self, store_id: str) -> list[dict[str, Any]]:
        """Cards of everyone present in the store, newest first, from the database."""
        with self.db.transaction() as session:
            return [v.card for v in repo.open_visits(session, store_id) if v.card is not None]


def build_hub(
    config: HubConfig,
    commerce: CommerceConnector | None = None,
    push: PushSender | None = None,
) -> Hub:
    """Wire a hub from its configuration; adapters can be swapped by passing them in."""
    clock: Clock = ShiftedClock(config.clock_start) if config.clock_start else SystemClock()
    db = Database.connect(config.database_url)
    vapid = load_or_create_vapid(Path(config.vapid_key_path))
    broadcaster = FloorBroadcaster(socketio)
    commerce = commerce or online_store(config, clock)
    arrivals = ArrivalService(
        db=db,
        commerce=commerce,
        push=push or WebPushSender(vapid, subject=config.push_subject),
        broadcaster=broadcaster,
        rule=ArrivalRule(
            percent_off=config.offer_percent_off,
            validity=timedelta(minutes=config.offer_validity_minutes),
        ),
        clock=clock.now,
        store_name=config.store_name,
    )
    if isinstance(commerce, PolicyConnector):
        # A profile refreshed in the background fills in the card of a shopper on the floor.
        commerce.cache.on_refresh = arrivals.on_profile_refreshed
    config_publisher = MqttAgentConfigPublisher(topic_root=config.topic_root)
    topology = Topology(db, config.store_id, config_publisher)
    presence = PresenceService(
        db,
        config.store_id,
        timedelta(seconds=config.away_timeout_s),
        # Arrivals and departures go to the arrival pipeline; zone changes and dwell to the card.
        route_presence_events(
            arrivals.on_visit_event, FloorUpdates(db, broadcaster).on_floor_event
        ),
        topology=topology,
        agents=AgentLedger(db, topology),
        reentry_window=timedelta(seconds=config.reentry_window_s),
        fusion_settings=fusion_settings(config),
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
    )


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
