"""Web Push from the hub through a real local push service that decrypts and checks VAPID."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import http_ece
import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from store_hub.adapters.push import (
    PushMessage,
    WebPushSender,
    WebPushSubscription,
    parse_retry_after,
)
from store_hub.adapters.vapid import VapidKeys, application_server_key, load_or_create_vapid
from tests.fixtures.mosquitto import free_port
from tests.fixtures.push_service import PushService, b64url, unb64url

pytestmark = pytest.mark.integration
SUBJECT = "mailto:ops@example.com"
OFFER = {"type": "offer", "code": "K7QX-2M9P", "title": "10% off the Trail Runner 3"}


@pytest.fixture
def vapid(tmp_path: Path) -> VapidKeys:
    return load_or_create_vapid(tmp_path / "vapid.pem")


@pytest.fixture
def sender(vapid: VapidKeys) -> WebPushSender:
    return WebPushSender(vapid, subject=SUBJECT, timeout_s=5)


def target(subscription: dict[str, Any]) -> WebPushSubscription:
    keys = subscription["keys"]
    return WebPushSubscription(subscription["endpoint"], keys["p256dh"], keys["auth"])


def message(ttl_seconds: int = 1800) -> PushMessage:
    return PushMessage(OFFER, ttl_seconds=ttl_seconds, topic="arrival-offer", urgency="high")


def test_message_arrives_decrypted_with_its_headers_and_the_hubs_vapid_signature(
    push_service: PushService, vapid: VapidKeys, sender: WebPushSender
) -> None:
    subscription = push_service.new_subscription(vapid.application_server_key)

    outcome = sender.send(target(subscription), message(ttl_seconds=1800))

    assert (outcome.kind, outcome.status_code) == ("delivered", 201)
    [pushed] = push_service.wait_for(1, timeout=5)
    assert pushed.endpoint == subscription["endpoint"]
    assert pushed.payload == OFFER
    assert pushed.headers["TTL"] == "1800"
    assert pushed.headers["Topic"] == "arrival-offer"
    assert pushed.headers["Urgency"] == "high"
    assert pushed.headers["Content-Encoding"] == "aes128gcm"
    assert pushed.vapid_public_key == vapid.application_server_key
    now = time.time()
    assert pushed.vapid_claims["sub"] == SUBJECT
    assert pushed.vapid_claims["aud"] == push_service.origin
    assert now + 3600 < pushed.vapid_claims["exp"] <= now + 24 * 3600


def test_several_messages_to_one_phone_all_arrive(
    push_service: PushService, vapid: VapidKeys, sender: WebPushSender
) -> None:
    subscription = push_service.new_subscription(vapid.application_server_key)

    outcomes = [sender.send(target(subscription), message()) for _ in range(3)]

    assert [o.kind for o in outcomes] == ["delivered"] * 3
    assert [p.payload for p in push_service.wait_for(3, timeout=5)] == [OFFER] * 3


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (404, "gone"),
        (410, "gone"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
        (400, "failed"),
        (403, "failed"),
        (413, "failed"),
    ],
)
def test_push_service_answers_map_to_outcomes(
    push_service: PushService, sender: WebPushSender, status: int, kind: str
) -> None:
    subscription = push_service.new_subscription()
    push_service.respond_with(subscription["endpoint"], status)

    outcome = sender.send(target(subscription), message())

    assert (outcome.kind, outcome.status_code, outcome.retry_after_s) == (kind, status, None)
    assert str(status) in outcome.reason
    assert push_service.answered == [(subscription["endpoint"], status)]


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_is_passed_on(
    push_service: PushService, sender: WebPushSender, status: int
) -> None:
    subscription = push_service.new_subscription()
    push_service.respond_with(subscription["endpoint"], status, retry_after="37")

    outcome = sender.send(target(subscription), message())

    assert (outcome.kind, outcome.retry_after_s) == ("retry", 37.0)


def test_retry_after_as_an_http_date_becomes_seconds(
    push_service: PushService, sender: WebPushSender
) -> None:
    subscription = push_service.new_subscription()
    when = datetime.now(UTC) + timedelta(seconds=120)
    push_service.respond_with(subscription["endpoint"], 429, format_datetime(when, usegmt=True))

    outcome = sender.send(target(subscription), message())

    assert outcome.kind == "retry"
    assert outcome.retry_after_s is not None and 110 <= outcome.retry_after_s <= 121


def test_an_endpoint_that_recovers_delivers_again(
    push_service: PushService, sender: WebPushSender
) -> None:
    subscription = push_service.new_subscription()
    push_service.respond_with(subscription["endpoint"], 500)
    assert sender.send(target(subscription), message()).kind == "retry"

    push_service.respond_with(subscription["endpoint"], None)

    assert sender.send(target(subscription), message()).kind == "delivered"
    assert [p.payload for p in push_service.wait_for(1, timeout=5)] == [OFFER]


def test_connection_refused_is_retry_not_an_exception(sender: WebPushSender) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/push/secret-token"
    subscription = {"endpoint": endpoint, "keys": PushService(port).new_subscription()["keys"]}

    outcome = sender.send(target(subscription), message())

    assert (outcome.kind, outcome.status_code) == ("retry", None)
    assert "refused" in outcome.reason.lower()
    assert "secret-token" not in outcome.reason, "the endpoint is a secret; keep it out of logs"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_push_service_that_never_answers_is_retry(vapid: VapidKeys, silent_server: int) -> None:
    sender = WebPushSender(vapid, subject=SUBJECT, timeout_s=0.5)
    keys = PushService(silent_server).new_subscription()["keys"]
    subscription = {"endpoint": f"http://127.0.0.1:{silent_server}/push/x", "keys": keys}

    started = time.monotonic()
    outcome = sender.send(target(subscription), message())

    assert (outcome.kind, outcome.status_code) == ("retry", None)
    assert "Timeout" in outcome.reason
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    "change",
    [
        {"p256dh": "not-a-key"},
        {"p256dh": "AAAA"},
        {"auth": "%%%"},
        {"endpoint": "ftp://push.example/x"},
        {"endpoint": "not a url"},
    ],
)
def test_a_malformed_subscription_fails_without_sending(
    push_service: PushService, sender: WebPushSender, change: dict[str, str]
) -> None:
    subscription = target(push_service.new_subscription())
    broken = WebPushSubscription(**{**subscription.__dict__, **change})

    outcome = sender.send(broken, message())

    assert (outcome.kind, outcome.status_code) == ("failed", None)
    assert push_service.answered == []


def test_a_subscription_made_for_another_server_key_is_refused(
    push_service: PushService, sender: WebPushSender, tmp_path: Path
) -> None:
    other = load_or_create_vapid(tmp_path / "other.pem")
    subscription = push_service.new_subscription(other.application_server_key)

    outcome = sender.send(target(subscription), message())

    assert (outcome.kind, outcome.status_code) == ("failed", 403)
    assert push_service.answered == [(subscription["endpoint"], 403)]


def test_a_subject_vapid_refuses_is_caught_at_start_up(vapid: VapidKeys) -> None:
    with pytest.raises(ValueError, match="mailto:ops@shop"):
        WebPushSender(vapid, subject="mailto:ops@shop")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ttl_seconds", 0),
        ("ttl_seconds", -5),
        ("topic", "x" * 33),
        ("topic", "arrival.offer"),
        ("topic", ""),
        ("urgency", "urgent"),
    ],
)
def test_a_message_push_services_would_refuse_cannot_be_built(field: str, value: Any) -> None:
    fields: dict[str, Any] = {"payload": OFFER, "ttl_seconds": 60, "topic": "t", **{field: value}}
    with pytest.raises(ValueError, match=field):
        PushMessage(**fields)


def test_retry_after_parsing() -> None:
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Tue, 24 Nov 2026 10:01:30 GMT", now) == 90.0
    assert parse_retry_after("Tue, 24 Nov 2026 09:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-3", now) is None
    assert parse_retry_after(None, now) is None


# The local service must refuse what a real one refuses, or "delivered" above would prove little.


def vapid_authorization(claims: dict[str, Any]) -> str:
    """An RFC 8292 Authorization header for any claims, signed with a fresh key."""
    key = ec.generate_private_key(ec.SECP256R1())
    signed = ".".join(
        b64url(json.dumps(part).encode()) for part in ({"typ": "JWT", "alg": "ES256"}, claims)
    )
    r, s = decode_dss_signature(key.sign(signed.encode(), ec.ECDSA(hashes.SHA256())))
    signature = b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    return f"vapid t={signed}.{signature}, k={application_server_key(key.public_key())}"


def valid_request(service: PushService, subscription: dict[str, Any]) -> dict[str, Any]:
    """A correctly encrypted, correctly signed push request, built without pywebpush."""
    body = http_ece.encrypt(
        b'{"hello": "phone"}',
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=unb64url(subscription["keys"]["p256dh"]),
        auth_secret=unb64url(subscription["keys"]["auth"]),
        version="aes128gcm",
    )
    claims = {"sub": SUBJECT, "aud": service.origin, "exp": int(time.time()) + 600}
    headers = {
        "Authorization": vapid_authorization(claims),
        "TTL": "60",
        "Content-Encoding": "aes128gcm",
    }
    return {"url": subscription["endpoint"], "headers": headers, "data": body}


def _resign(claims: dict[str, Any]) -> Callable[[PushService, dict[str, Any]], None]:
    def change(service: PushService, request: dict[str, Any]) -> None:
        full = {"sub": SUBJECT, "aud": service.origin, "exp": int(time.time()) + 600, **claims}
        request["headers"]["Authorization"] = vapid_authorization(full)

    return change


def _tamper_signature(service: PushService, request: dict[str, Any]) -> None:
    auth = request["headers"]["Authorization"]
    token = auth.split("t=")[1].split(",")[0]
    flipped = "A" if token[-5] != "A" else "B"
    request["headers"]["Authorization"] = auth.replace(token, token[:-5] + flipped + token[-4:])


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (lambda s, r: None, 201),
        (lambda s, r: r["headers"].pop("Authorization"), 401),
        (_tamper_signature, 401),
        (_resign({"aud": "https://push.example"}), 401),
        (_resign({"exp": int(time.time()) - 10}), 401),
        (_resign({"exp": int(time.time()) + 3 * 24 * 3600}), 401),
        (_resign({"sub": ""}), 401),
        (lambda s, r: r["headers"].pop("TTL"), 400),
        (lambda s, r: r["headers"].update(Topic="a.b"), 400),
        (lambda s, r: r.update(data=r["data"][:-1] + bytes([r["data"][-1] ^ 1])), 400),
        (lambda s, r: r["headers"].update({"Content-Encoding": "aesgcm"}), 400),
        (lambda s, r: r.update(url=r["url"] + "x"), 404),
    ],
    ids=[
        "valid",
        "no-auth",
        "bad-signature",
        "wrong-aud",
        "expired",
        "exp-too-far",
        "no-sub",
        "no-ttl",
        "bad-topic",
        "tampered-body",
        "old-encoding",
        "unknown-endpoint",
    ],
)
def test_the_local_push_service_refuses_what_a_real_one_would(
    push_service: PushService,
    change: Callable[[PushService, dict[str, Any]], None],
    status: int,
) -> None:
    subscription = push_service.new_subscription()
    request = valid_request(push_service, subscription)
    change(push_service, request)

    response = requests.post(
        request["url"], headers=request["headers"], data=request["data"], timeout=5
    )

    assert response.status_code == status, response.text
    if status == 201:
        assert push_service.wait_for(1, timeout=1)[0].payload == {"hello": "phone"}
