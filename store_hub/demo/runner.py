"""`store-hub demo`: a whole simulated store on embedded defaults, in one process.

An embedded MQTT broker (unless --broker), the reference online store, a hub on SQLite, a
dozen enrolled shoppers, and a five-zone floor with seven placed agents (store_hub.demo.floor),
each running the real beacon_agent pipeline, that hear simulated phones walking in, from zone to
zone and out. The agents are placed, so the hub places shoppers with its position tracker.
Everything talks over real sockets.
"""

from __future__ import annotations

import logging
import random
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store_hub.config import HubConfig
from store_hub.demo import floor
from store_hub.demo.embedded_broker import EmbeddedBroker
from store_hub.demo.walks import (
    FloorWalk,
    Pace,
    fitting_room_locks,
    floor_advertisements,
    shopper_route,
    walk_in_route,
)
from store_hub.operations.enrollment import Consents, enroll_device

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from beacon_agent.demo_feed import DemoAgent
    from store_hub.demo.wallet_api import WalkIn

    # Each demo agent's feed, by agent id: hands it one trace record, heard now.
    Feeds = Mapping[str, Callable[[dict[str, Any]], None]]

log = logging.getLogger(__name__)

STORE_ID = "s042"
DEMO_CUSTOMERS = [f"c{n:04d}" for n in range(1, 13)]
ENROLL_KEY = "demo-enroll-key"
IT_KEY = "demo-it-key"
POS_KEY = "demo-pos-key"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _PublishedAtHubStart:
    """A config publisher for set-up before the hub runs: the hub publishes on connect."""

    def publish(self, store_id: str, agent_id: str, payload: dict[str, Any]) -> None:
        """Nothing to do yet."""


def _register_floor(config: HubConfig) -> None:
    """IT's part, done for the demo: the zones with their rectangles and the agents placed."""
    from store_hub.adapters.db.engine import Database
    from store_hub.operations.topology import Topology

    db = Database.connect(config.database_url)
    try:
        topology = Topology(db, config.store_id, _PublishedAtHubStart())
        now = datetime.now(UTC)
        for zone in floor.ZONES:
            x, y = zone.centre
            topology.put_zone(zone.zone_id, zone.name, zone.kind, x, y, now, bounds=zone.bounds)
        for agent in floor.AGENTS:
            # No report interval of our own: placed agents get the tracker's from the hub.
            topology.register_agent(
                agent.agent_id, agent.zone_id, 0.0, None, now, position=agent.position
            )
    finally:
        db.dispose()


DEMO_EMAIL = "demo@store.example"


def _add_demo_manager(config: HubConfig) -> str:
    """Create the demo's manager account with a fresh password, and return the password."""
    import secrets

    from store_hub.adapters.db.engine import Database
    from store_hub.clock import SystemClock
    from store_hub.operations.associates import add_associate

    password = secrets.token_urlsafe(9)
    db = Database.connect(config.database_url)
    try:
        add_associate(
            db,
            config.store_id,
            DEMO_EMAIL,
            "Demo Manager",
            "manager",
            password,
            SystemClock().now(),
        )
    finally:
        db.dispose()
    return password


def _enroll_demo_shoppers(config: HubConfig, seed: int) -> list[tuple[str, bytes]]:
    from store_hub.adapters.db.engine import Database

    rng = random.Random(seed)
    db = Database.connect(config.database_url)
    shoppers = []
    try:
        with db.transaction() as session:
            for index, customer_id in enumerate(DEMO_CUSTOMERS):
                key = rng.randbytes(16)
                # Every fourth shopper declined offers: the tablet still shows them, no push.
                consents = Consents(presence=True, offers=index % 4 != 3, associate_view=True)
                enroll_device(
                    session,
                    customer_id,
                    consents,
                    config.rotation_exponent,
                    datetime.now(UTC),
                    identity_key=key,
                )
                shoppers.append((customer_id, key))
    finally:
        db.dispose()
    return shoppers


def _play(
    feeds: Feeds, records: Iterator[tuple[str, dict[str, Any]]], stop: threading.Event
) -> bool:
    """Hand each agent its records on the wall clock; False if stopped first."""
    start = datetime.now(UTC)
    for agent_id, record in records:
        due = start + timedelta(seconds=float(record["t"]))
        while (wait := (due - datetime.now(UTC)).total_seconds()) > 0:
            if stop.wait(min(wait, 0.5)):
                return False
        feeds[agent_id](record)
    return True


class WalkingShoppers:
    """Schedules shoppers across the floor and feeds their phones' advertisements to the agents."""

    def __init__(
        self,
        keys: list[tuple[str, bytes]],
        rotation_exponent: int,
        feeds: Feeds,
        seed: int = 1,
        pace: Pace | None = None,
    ) -> None:
        self._keys = keys
        self._k = rotation_exponent
        self._feeds = feeds
        self._pace = pace or Pace()
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-walks", daemon=True)

    def start(self) -> None:
        """Start walking shoppers in."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the simulation."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _schedule(self) -> list[FloorWalk]:
        # A round: a new shopper every 8-20 s, each phone at most once, so no phone walks in
        # while it is still inside.
        walks, at = [], 2.0
        pool = list(self._keys)
        self._rng.shuffle(pool)
        for _customer, key in pool:
            if at > 180:
                break
            route = shopper_route(self._rng, at, self._pace)
            locked = fitting_room_locks(route, self._rng, self._pace)
            walks.append(FloorWalk(key, self._k, route, locked))
            at += self._rng.uniform(8, 20)
        return walks

    def _run(self) -> None:
        while not self._stop.is_set():
            records = floor_advertisements(
                self._schedule(), datetime.now(UTC), self._rng.randrange(1 << 30)
            )
            # Each round ends when its last shopper has left, then a quiet gap before the next.
            if not _play(self._feeds, records, self._stop) or self._stop.wait(20):
                return


class DoorWalkIns:
    """The wallet page's "walk into the store": one phone walks in and stays in a zone a while."""

    def __init__(
        self,
        feeds: Feeds,
        stay_s: float = 90.0,
        zone_id: str = floor.WOMENS,
        pace: Pace | None = None,
    ) -> None:
        self._feeds = feeds
        self._stay_s = stay_s
        self._zone_id = zone_id
        self._pace = pace
        self._stop = threading.Event()

    def walk_in(self, identity_key: bytes, rotation_exponent: int) -> None:
        """Start feeding this phone's advertisements to every agent; returns at once."""
        rng = random.Random()
        route = walk_in_route(rng, self._zone_id, self._stay_s, 1.0, self._pace)
        records = floor_advertisements(
            [FloorWalk(identity_key, rotation_exponent, route)],
            datetime.now(UTC),
            rng.randrange(1 << 30),
        )
        threading.Thread(
            target=_play, args=(self._feeds, records, self._stop), name="demo-walk-in", daemon=True
        ).start()

    def stop(self) -> None:
        """Stop walking phones in (they are left to time out)."""
        self._stop.set()


def start_floor_agents(store_id: str, broker_url: str) -> dict[str, DemoAgent]:
    """One running demo agent per agent on the floor, by agent id."""
    from beacon_agent.demo_feed import start_demo_agent

    return {
        agent.agent_id: start_demo_agent(store_id, agent.agent_id, broker_url, away_timeout_s=15)
        for agent in floor.AGENTS
    }


def stop_agents(agents: Mapping[str, DemoAgent]) -> None:
    """Stop every agent at once: each drains for up to a couple of seconds."""
    stoppers = [
        threading.Thread(target=agent.stop, name=f"stop-{agent_id}")
        for agent_id, agent in agents.items()
    ]
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join(timeout=10)


def _serve_demo(config: HubConfig, walk_in: WalkIn) -> None:
    """`store-hub serve`, plus the shopper wallet page that only the demo has."""
    import signal

    from store_hub.app import create_app
    from store_hub.demo.wallet_api import register_wallet
    from store_hub.hub import build_hub
    from store_hub.server import HubServer

    hub = build_hub(config)
    app = create_app(hub)
    register_wallet(app, walk_in)
    server = HubServer(app, config.http_host, config.http_port)
    hub.start()

    def _stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()


def run_demo(broker_url: str | None, host: str, port: int, workdir: Path) -> int:
    """Run the demo store until interrupted."""
    from store_hub.demo.online_store import serve_in_thread
    from store_hub.demo.stock import seed_demo_stock

    if workdir.exists():
        shutil.rmtree(workdir)  # a fresh store each run: the demo's keys and visits are throwaway
    workdir.mkdir(parents=True)
    broker = None
    if broker_url is None:
        broker = EmbeddedBroker(_free_port())
        broker.start()
        broker_url = broker.url
    commerce_port = _free_port()
    commerce = serve_in_thread(port=commerce_port)
    config = HubConfig().with_overrides(
        store_id=STORE_ID,
        store_name="Demo Store",
        database_url=f"sqlite:///{workdir.resolve()}/hub.db",
        broker_url=broker_url,
        commerce_url=f"http://127.0.0.1:{commerce_port}",
        enroll_api_key=ENROLL_KEY,
        it_api_key=IT_KEY,
        pos_api_key=POS_KEY,
        vapid_key_path=str(workdir / "vapid_private.pem"),
        http_host=host,
        http_port=port,
        away_timeout_s=60,
    )
    keys = _enroll_demo_shoppers(config, seed=42)
    _register_floor(config)
    seed_demo_stock(config)
    demo_password = _add_demo_manager(config)
    agents = start_floor_agents(STORE_ID, broker_url)
    feeds = {agent_id: agent.feed for agent_id, agent in agents.items()}
    walks = WalkingShoppers(keys, config.rotation_exponent, feeds)
    walk_ins = DoorWalkIns(feeds)
    walks.start()
    print(
        f"\n  Demo store {STORE_ID} is open.\n"
        f"  Tablet:        http://{host}:{port}/tablet/?store={STORE_ID}\n"
        f"  Wallet:        http://{host}:{port}/wallet/  (a shopper's phone)\n"
        f"  Sign in as:    {DEMO_EMAIL} / {demo_password}  (manager)\n"
        f"  API (OpenAPI): http://{host}:{port}/api/v1/openapi.json  (enroll key: {ENROLL_KEY})\n"
        f"  Agent health:  http://{host}:{port}/api/v1/stores/{STORE_ID}/agents"
        f"  (it key: {IT_KEY})\n"
        f"  MQTT broker:   {broker_url}\n"
        f"  Floor:         {len(floor.ZONES)} zones, {len(agents)} placed agents"
        f" ({', '.join(agents)})\n"
        f"  Shoppers walk in every 8-20 s, browse 2-4 zones and leave. Ctrl-C to stop.\n",
        flush=True,
    )
    try:
        _serve_demo(config, walk_ins.walk_in)
    finally:
        walks.stop()
        walk_ins.stop()
        stop_agents(agents)
        commerce.shutdown()
        if broker is not None:
            broker.stop()
        time.sleep(0.1)
    return 0
