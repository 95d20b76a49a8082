"""The enrollment API over real HTTP, against a hub on SQLite."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from store_hub.app import create_app
from store_hub.config import HubConfig
from store_hub.domain.eid import compute_eid, eid_token
from store_hub.hub import Hub, build_hub
from store_hub.server import HubServer
from tests.fixtures.mosquitto import free_port

pytestmark = pytest.mark.integration
KEY = "test-enroll-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
SUBSCRIPTION = {
    "endpoint": "https://push.example.net/send/abc123",
    "keys": {
        "p256dh": (
            "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
        ),
        "auth": "tBHItJI5svbpez7KI4CCXg",
    },
}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[Hub, str]]:
    config = HubConfig().with_overrides(
        database_url=f"sqlite:///{tmp_path}/hub.db",
        enroll_api_key=KEY,
        vapid_key_path=str(tmp_path / "vapid.pem"),
    )
    hub = build_hub(config)
    server = HubServer(create_app(hub), "127.0.0.1", free_port()).start()
    try:
        yield hub, f"{server.url}/api/v1"
    finally:
        server.stop()
        hub.stop()


def enroll(base: str, **overrides: Any) -> requests.Response:
    body = {
        "customer_id": "c0001",
        "consents": {"presence": True, "offers": True, "associate_view": False},
        **overrides,
    }
    return requests.post(f"{base}/devices", json=body, headers=AUTH, timeout=5)


def test_enroll_returns_a_key_the_hub_resolves(hub: tuple[Hub, str]) -> None:
    h, base = hub
    response = enroll(base)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["rotation_exponent"] == 10
    key = base64.b64decode(body["identity_key"])
    assert len(key) == 16
    token = eid_token(compute_eid(key, 10, int(datetime.now(UTC).timestamp())))
    assert h.presence._table.resolve(token) == body["device_id"]


def test_revoke_stops_resolution_and_second_revoke_is_404(hub: tuple[Hub, str]) -> None:
    h, base = hub
    body = enroll(base).json()
    key = base64.b64decode(body["identity_key"])
    assert requests.delete(f"{base}/devices/{body['device_id']}", headers=AUTH).status_code == 204
    token = eid_token(compute_eid(key, 10, int(datetime.now(UTC).timestamp())))
    assert h.presence._table.resolve(token) is None
    again = requests.delete(f"{base}/devices/{body['device_id']}", headers=AUTH)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "not_found"


def test_push_registration_web_push_and_fcm(hub: tuple[Hub, str]) -> None:
    _, base = hub
    device_id = enroll(base).json()["device_id"]
    url = f"{base}/devices/{device_id}/push"
    # Exactly what a browser's PushSubscription.toJSON() gives, expirationTime included.
    web = requests.put(url, json={**SUBSCRIPTION, "expirationTime": None}, headers=AUTH, timeout=5)
    assert (web.status_code, web.json()["kind"]) == (200, "webpush")
    fcm = requests.put(url, json={"fcm_token": "f" * 152}, headers=AUTH, timeout=5)
    assert (fcm.status_code, fcm.json()["kind"]) == (200, "fcm")
    missing = requests.put(f"{base}/devices/nope/push", json=SUBSCRIPTION, headers=AUTH)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"consents": {"presence": True, "offers": True, "associate_view": True}}, "customer_id"),
        ({"customer_id": "c1", "consents": {"presence": "maybe"}}, "consents"),
        ({"customer_id": "c1", "consents": {}, "rotation_exponent": 16}, "rotation_exponent"),
        ({"customer_id": "c1", "extra": 1}, "extra"),
    ],
)
def test_bad_enrollment_is_422_with_the_field(
    hub: tuple[Hub, str], body: dict[str, Any], where: str
) -> None:
    _, base = hub
    response = requests.post(f"{base}/devices", json=body, headers=AUTH, timeout=5)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert where in str(error["details"])


@pytest.mark.parametrize(
    "body",
    [
        {"endpoint": "https://push.example.net/x"},
        {"fcm_token": "t" * 20, **SUBSCRIPTION},
        {},
        {"endpoint": "not a url", "keys": SUBSCRIPTION["keys"]},
    ],
)
def test_bad_push_registration_is_422(hub: tuple[Hub, str], body: dict[str, Any]) -> None:
    _, base = hub
    device_id = enroll(base).json()["device_id"]
    response = requests.put(f"{base}/devices/{device_id}/push", json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "x"}])
def test_without_the_key_it_is_401(hub: tuple[Hub, str], headers: dict[str, str]) -> None:
    _, base = hub
    response = requests.post(f"{base}/devices", json={}, headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_openapi_document_describes_the_enrollment_paths(hub: tuple[Hub, str]) -> None:
    _, base = hub
    spec = requests.get(f"{base}/openapi.json", timeout=5).json()
    assert {"/api/v1/devices", "/api/v1/devices/{device_id}/push"} <= set(spec["paths"])


def test_the_vapid_public_key_is_served_for_the_app_to_subscribe_with(
    hub: tuple[Hub, str],
) -> None:
    h, base = hub
    response = requests.get(f"{base}/push/vapid-public-key", timeout=5)
    assert response.status_code == 200
    key = response.json()["application_server_key"]
    assert key == h.vapid.application_server_key
    # An uncompressed P-256 point: 65 bytes, first 0x04, base64url without padding.
    assert len(base64.urlsafe_b64decode(key + "=")) == 65
