"""`store-hub demo`: a whole simulated store on embedded defaults, in one process.

An embedded MQTT broker (unless --broker), the reference online store, a hub on SQLite, a
dozen enrolled shoppers, and a door agent, running the real beacon_agent pipeline, that hears
simulated phones walking in and out. Everything talks over real sockets.
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
from store_hub.demo.embedded_broker import EmbeddedBroker
from store_hub.demo.walks import Visit, advertisements
from store_hub.operations.enrollment import Consents, enroll_device

if TYPE_CHECKING:
    from collections.abc import Iterator

    from store_hub.demo.wallet_api import WalkIn

log = logging.getLogger(__name__)

STORE_ID = "s042"
DEMO_CUSTOMERS = [f"c{n:04d}" for n in range(1, 13)]
ENROLL_KEY = "demo-enroll-key"
IT_KEY = "demo-it-key"
POS_KEY = "demo-pos-key"
DOOR_AGENT = "door-1"


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


def _register_door_agent(config: HubConfig) -> None:
    """IT's part, done for the demo: the entrance zone and the door agent in it."""
    from store_hub.adapters.db.engine import Database
    from store_hub.operations.topology import Topology

    db = Database.connect(config.database_url)
    try:
        topology = Topology(db, config.store_id, _PublishedAtHubStart())
        now = datetime.now(UTC)
        topology.put_zone("entrance", "Entrance", "entrance", 0.0, 0.0, now)
        topology.register_agent(DOOR_AGENT, "entrance", 0.0, None, now)
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


class WalkingShoppers:
    """Schedules shoppers in and out and feeds their phones' advertisements to an agent."""

    def __init__(
        self, keys: list[tuple[str, bytes]], rotation_exponent: int, feed: object, seed: int = 1
    ) -> None:
        self._keys = keys
        self._k = rotation_exponent
        self._feed = feed
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

    def _schedule(self, horizon_s: float) -> list[Visit]:
        # A new shopper every 8-20 s; each stays 40-120 s. The pool is large enough that the
        # same phone never walks in twice within one horizon.
        visits, at = [], 2.0
        pool = list(self._keys)
        self._rng.shuffle(pool)
        for _customer, key in pool:
            if at > horizon_s - 30:
                break
            stay = self._rng.uniform(40, 120)
            visits.append(Visit(key, self._k, at, min(stay, horizon_s - at - 5)))
            at += self._rng.uniform(8, 20)
        return visits

    def _run(self) -> None:
        horizon = 240.0
        while not self._stop.is_set():
            start = datetime.now(UTC)
            records = advertisements(
                self._schedule(horizon), start, horizon, self._rng.randrange(1 << 30)
            )
            for record in records:
                due = start + timedelta(seconds=float(record["t"]))
                while (wait := (due - datetime.now(UTC)).total_seconds()) > 0:
                    if self._stop.wait(min(wait, 0.5)):
                        return
                self._feed(record)  # type: ignore[operator]
            # A quiet gap between rounds, so everyone is seen to leave.
            if self._stop.wait(20):
                return


class DoorWalkIns:
    """The wallet page's "walk into the store": one phone heard by the door agent for a while."""

    def __init__(self, feed: object, stay_s: float = 90.0) -> None:
        self._feed = feed
        self._stay_s = stay_s

    def walk_in(self, identity_key: bytes, rotation_exponent: int) -> None:
        """Start feeding this phone's advertisements to the door agent; returns at once."""
        visit = Visit(identity_key, rotation_exponent, 1.0, self._stay_s)
        records = advertisements(
            [visit], datetime.now(UTC), self._stay_s + 2, random.randrange(1 << 30)
        )
        threading.Thread(
            target=self._play, args=(records,), name="demo-walk-in", daemon=True
        ).start()

    def _play(self, records: Iterator[dict[str, Any]]) -> None:
        start = datetime.now(UTC)
        for record in records:
            wait = (
                start + timedelta(seconds=float(record["t"])) - datetime.now(UTC)
            ).total_seconds()
            if wait > 0:
                time.sleep(wait)
            self._feed(record)  # type: ignore[operator]


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
    from beacon_agent.demo_feed import start_demo_agent
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
    _register_door_agent(config)
    seed_demo_stock(config)
    demo_password = _add_demo_manager(config)
    agent = start_demo_agent(STORE_ID, DOOR_AGENT, broker_url, away_timeout_s=15)
    walks = WalkingShoppers(keys, config.rotation_exponent, agent.feed)
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
        f"  Shoppers walk in every 8-20 s and stay 40-120 s. Ctrl-C to stop.\n",
        flush=True,
    )
    try:
        _serve_demo(config, DoorWalkIns(agent.feed).walk_in)
    finally:
        walks.stop()
        agent.stop()
        commerce.shutdown()
        if broker is not None:
            broker.stop()
        time.sleep(0.1)
    return 0
