"""The README's demo command: `store-hub demo` on embedded defaults, as a user starts it."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
import requests
import socketio
from paho.mqtt.enums import CallbackAPIVersion

from tests.fixtures.mosquitto import free_port, wait_for_port

pytestmark = pytest.mark.e2e
STORE = "s042"
WALLET_CUSTOMER = "c0020"  # a reference-store customer the demo did not enroll


def log_text(log: IO[str]) -> str:
    log.seek(0)
    return log.read()


def demo_credentials(log: IO[str], timeout: float = 30) -> tuple[str, str]:
    """The demo manager's email and password from the banner, once it is printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log.seek(0)
        found = re.search(r"Sign in as:\s+(\S+) / (\S+)\s+\(manager\)", log.read())
        if found:
            return found.group(1), found.group(2)
        time.sleep(0.1)
    pytest.fail("the demo banner never named the sign-in")


def retained_agent_configs(broker_url: str, agents: int, timeout: float = 10) -> dict[str, Any]:
    """Each agent's retained config on the demo's broker, as an agent starting now gets it."""
    configs: dict[str, Any] = {}
    complete = threading.Event()

    def on_message(_client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.retain:
            configs[message.topic.split("/")[3]] = json.loads(message.payload)
        if len(configs) >= agents:
            complete.set()

    address = urlsplit(broker_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="demo-test-reader")
    client.on_connect = lambda c, *_: c.subscribe(f"stores/{STORE}/agents/+/config", qos=1)
    client.on_message = on_message
    client.connect(address.hostname or "127.0.0.1", address.port or 1883)
    client.loop_start()
    try:
        complete.wait(timeout)
    finally:
        client.loop_stop()
        client.disconnect()
    return configs


def test_demo_store_opens_and_shoppers_arrive_with_their_online_profile(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "demo.log").open("w+")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "store_hub",
            "demo",
            "--port",
            str(port),
            "--workdir",
            str(tmp_path / "demo"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    client = socketio.Client()
    try:
        wait_for_port(port, timeout=60)
        base = f"http://127.0.0.1:{port}"
        # The banner prints the demo manager's password; sign in with it like a visitor would.
        credentials = demo_credentials(log)
        browser = requests.Session()
        signed_in = browser.post(
            f"{base}/tablet/session",
            data={"email": credentials[0], "password": credentials[1]},
            timeout=5,
        )
        assert signed_in.status_code == 200, signed_in.text
        page = browser.get(f"{base}/tablet/?store={STORE}", timeout=5)
        assert page.status_code == 200, page.text
        assert "Demo Manager" in page.text
        for name in ("floor", "arrived", "card_updated", "departed"):
            client.on(name, lambda data, name=name: events.put((name, data)), namespace="/floor")
        client.connect(
            base,
            headers={"Cookie": f"session={browser.cookies['session']}"},
            namespaces=["/floor"],
            auth={"store_id": STORE},
            transports=["websocket"],
        )
        # A phone of one's own, from the wallet, walks in through the door to womenswear.
        phone = requests.Session()
        consents = {"presence": True, "offers": True, "associate_view": True}
        enrolled = phone.post(
            f"{base}/wallet/api/enroll",
            json={"customer_id": WALLET_CUSTOMER, "consents": consents},
            timeout=5,
        )
        assert enrolled.status_code == 201, enrolled.text
        walking = phone.post(f"{base}/wallet/api/walk-in", timeout=5)
        assert walking.status_code == 202, walking.text
        # A shopper walks in, and their card fills in with their online profile; shoppers walk
        # on from the entrance into the store, and the tablet sees them change zone.
        arrived: dict[str, Any] | None = None
        filled: dict[str, Any] | None = None
        moved: dict[str, Any] | None = None
        snapshot: dict[str, Any] | None = None
        wallet_zones: list[str] = []
        deadline = time.monotonic() + 90
        while filled is None or moved is None or "Womenswear" not in wallet_zones:
            name, data = events.get(timeout=max(0.1, deadline - time.monotonic()))
            if name == "floor" and snapshot is None:
                snapshot = data
            if name in ("arrived", "card_updated") and data["customer_id"] == WALLET_CUSTOMER:
                if not wallet_zones or wallet_zones[-1] != data["zone"]:
                    wallet_zones.append(data["zone"])
                continue
            if name == "arrived" and arrived is None:
                arrived = data
            elif name == "card_updated" and arrived and data["visit_id"] == arrived["visit_id"]:
                filled = filled or data
            if name == "card_updated" and data.get("zone_id") not in (None, "entrance"):
                moved = data
        assert wallet_zones[0] == "Entrance", wallet_zones
        assert snapshot is not None
        assert [z["name"] for z in snapshot["zones"]] == [
            "Entrance",
            "Menswear",
            "Womenswear",
            "Fitting rooms",
            "Tills",
        ]
        assert moved["zone"] in ("Tills", "Fitting rooms", "Womenswear", "Menswear"), moved
        assert moved["zone_since"]
        # The zones come from positions: the hub tells every placed agent to send levels.
        broker = re.search(r"MQTT broker:\s+(\S+)", log_text(log))
        assert broker is not None
        configs = retained_agent_configs(broker.group(1), agents=7)
        assert sorted(configs) == sorted(
            ["door-1", "till-1", "fit-1", "womens-1", "womens-2", "mens-1", "mens-2"]
        )
        for agent_id, config in configs.items():
            assert config["send_levels"] is True, (agent_id, config)
            assert config["report_interval_s"] == 0.5, (agent_id, config)
        assert arrived is not None
        assert arrived["customer_id"].startswith("c00")
        assert filled["profile_status"] == "ok"
        assert filled["profile"]["first_name"]
        # The demo's product images come from its plain-http reference store: the page's CSP
        # must let the tablet load them (it allows https images only, besides that origin).
        images = [
            item["image_url"]
            for item in [*filled["wishlist"], *((filled.get("cart") or {}).get("items") or [])]
            if item.get("image_url")
        ]
        img_src = next(
            directive.split()[1:]
            for directive in page.headers["Content-Security-Policy"].split("; ")
            if directive.startswith("img-src ")
        )
        for image in images:
            origin = "/".join(image.split("/", 3)[:3])
            assert origin.startswith("https:") or origin in img_src, (image, img_src)
        log.seek(0)
        banner = log.read()
        assert f"http://127.0.0.1:{port}/tablet/?store={STORE}" in banner
    finally:
        if client.connected:
            client.disconnect()
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        log.seek(0)
        output = log.read()
    assert code == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
