"""Delivery of offers to shoppers' phones: Web Push (RFC 8030) with VAPID (RFC 8292).

A thin adapter over pywebpush. It never raises for network or HTTP trouble: every attempt ends in
a `PushOutcome` the caller can act on (delete the subscription when gone, retry later, give up).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import requests
from http_ece import ECEException
from py_vapid import Vapid02, VapidException
from pywebpush import WebPusher, WebPushException

from store_hub.adapters.vapid import VapidKeys

URGENCIES = ("very-low", "low", "normal", "high")
# RFC 8030 section 5.4: at most 32 characters from the URL- and filename-safe base64 alphabet.
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# Push services refuse a VAPID exp more than 24 h ahead; 12 h leaves room for clock skew.
_VAPID_LIFETIME_S = 12 * 60 * 60
_MAX_REASON = 200


@dataclass(frozen=True)
class WebPushSubscription:
    """Where a browser said to push: its endpoint and its message encryption keys."""

    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class PushMessage:
    """One message for one phone; the payload is JSON-encoded and encrypted as the body."""

    payload: dict[str, Any]
    ttl_seconds: int
    topic: str | None = None
    urgency: str = "normal"

    def __post_init__(self) -> None:
        # TTL 0 means "drop it unless the phone is awake right now": never what an offer wants.
        if self.ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, not {self.ttl_seconds}")
        if self.topic is not None and not _TOPIC.match(self.topic):
            raise ValueError(f"topic must be 1-32 base64url characters, not {self.topic!r}")
        if self.urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {URGENCIES}, not {self.urgency!r}")


@dataclass(frozen=True)
class PushOutcome:
    """How one delivery attempt ended.

    `gone` (404/410): delete the subscription; `retry` (429, 5xx, network): try again later,
    not before `retry_after_s` when given; `failed` (other 4xx, bad subscription): do not retry.
    """

    kind: Literal["delivered", "gone", "retry", "failed"]
    reason: str
    status_code: int | None = None
    retry_after_s: float | None = None


class PushSender(Protocol):
    """Anything that can push a message to a subscription."""

    def send(self, target: WebPushSubscription, message: PushMessage) -> PushOutcome: ...


class WebPushSender:
    """Sends Web Push messages, aes128gcm-encrypted and VAPID-signed with the hub's key."""

    def __init__(self, vapid: VapidKeys, subject: str, timeout_s: float = 10.0) -> None:
        self._signer = Vapid02(private_key=vapid.private_key)
        self._subject = subject
        # py-vapid refuses some subjects (e.g. "mailto:ops@shop"): fail at start-up, not per push.
        try:
            self._sign("https://push.example")
        except VapidException as exc:
            raise ValueError(
                f"push subject {subject!r} is not accepted for VAPID: use mailto:<address "
                "with a domain> or an https:// URL"
            ) from exc
        self._timeout_s = timeout_s
        # requests.Session is not documented as thread-safe and arrivals send from a pool.
        self._local = threading.local()

    def send(self, target: WebPushSubscription, message: PushMessage) -> PushOutcome:
        """Encrypt, sign and POST one message; map whatever happens to a PushOutcome."""
        parts = urlsplit(target.endpoint)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            return PushOutcome("failed", "the subscription endpoint is not an http(s) URL")
        headers = {"Urgency": message.urgency}
        if message.topic is not None:
            headers["Topic"] = message.topic
        data = json.dumps(message.payload, separators=(",", ":")).encode("utf-8")
        try:
            headers.update(self._sign(f"{parts.scheme}://{parts.netloc}"))
            pusher = WebPusher(
                {
                    "endpoint": target.endpoint,
                    "keys": {"p256dh": target.p256dh, "auth": target.auth},
                },
                requests_session=self._session(),
            )
            response = pusher.send(
                data,
                headers,
                ttl=message.ttl_seconds,
                content_encoding="aes128gcm",
                timeout=self._timeout_s,
            )
        # Exception texts from requests name the endpoint URL, which is a bearer secret for this
        # phone: only the exception type goes into the reason (and from there into the database).
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ) as exc:
            return PushOutcome("retry", f"network: {_cause(exc)}")
        except requests.RequestException as exc:
            return PushOutcome("failed", f"request: {type(exc).__name__}")
        except (WebPushException, VapidException, ECEException, ValueError) as exc:
            # Malformed keys from the phone, or an endpoint origin VAPID cannot sign for.
            return PushOutcome("failed", _clip(f"cannot encrypt or sign: {exc}"))
        return _outcome(response)

    def _sign(self, audience: str) -> dict[str, str]:
        claims = {
            "sub": self._subject,
            "aud": audience,
            "exp": int(time.time()) + _VAPID_LIFETIME_S,
        }
        headers: dict[str, str] = self._signer.sign(claims)
        return headers

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session


def _outcome(response: requests.Response) -> PushOutcome:
    status = response.status_code
    reason = _clip(f"{status} {response.reason}: {response.text.strip()}".rstrip(": "))
    if 200 <= status < 300:
        return PushOutcome("delivered", reason, status)
    if status in (404, 410):
        return PushOutcome("gone", reason, status)
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return PushOutcome("retry", reason, status, retry_after)
    return PushOutcome("failed", reason, status)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay in seconds or an HTTP date), if valid."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _cause(exc: BaseException) -> str:
    """The exception type, plus the innermost OS error (e.g. connection refused) if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return f"{type(exc).__name__} ({seen.strerror})"
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
