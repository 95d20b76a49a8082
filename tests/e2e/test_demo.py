"""The README's demo command: `store-hub demo` on embedded defaults, as a user starts it."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest
import requests
import socketio

from tests.fixtures.mosquitto import free_port, wait_for_port

pytestmark = pytest.mark.e2e
STORE = "s042"


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
        # A shopper walks in, and their card fills in with their online profile.
        arrived: dict[str, Any] | None = None
        filled: dict[str, Any] | None = None
        deadline = time.monotonic() + 60
        while filled is None:
            name, data = events.get(timeout=max(0.1, deadline - time.monotonic()))
            if name == "arrived" and arrived is None:
                arrived = data
            elif name == "card_updated" and arrived and data["visit_id"] == arrived["visit_id"]:
                filled = data
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
