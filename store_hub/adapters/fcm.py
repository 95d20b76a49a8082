"""Delivery to Android apps through Firebase Cloud Messaging's HTTP v1 API.

Authentication is a Google service account: the hub signs a JWT (RS256) with the account's
private key, trades it at the account's `token_uri` for an OAuth2 access token (an hour long,
cached and renewed a minute early), and sends each message with
`POST {base}/v1/projects/{project}/messages:send`. Every answer maps to a `PushOutcome` the same
way Web Push's do: UNREGISTERED/404 -> gone (delete the token), QUOTA_EXCEEDED/429, UNAVAILABLE,
INTERNAL and other 5xx -> retry, INVALID_ARGUMENT and other 4xx -> failed.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from store_hub.adapters.push import PushMessage, PushOutcome, parse_retry_after

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
_JWT_LIFETIME_S = 3600
_RENEW_EARLY_S = 60
_FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_GONE = frozenset({"UNREGISTERED"})
_RETRY = frozenset({"QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"})
_MAX_REASON = 200


@dataclass(frozen=True)
class FcmToken:
    """An app instance's FCM registration token."""

    token: str


@dataclass(frozen=True)
class ServiceAccount:
    """The parts of a Google service-account key file that sign access-token requests."""

    client_email: str
    token_uri: str
    private_key_id: str
    private_key: rsa.RSAPrivateKey = field(repr=False, compare=False)

    @classmethod
    def from_file(cls, path: Path) -> ServiceAccount:
        """Read a service-account JSON key file; ValueError naming what is wrong."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read the FCM service account file {path}: {exc}") from exc
        missing = [k for k in ("client_email", "private_key", "token_uri") if not data.get(k)]
        if data.get("type") != "service_account" or missing:
            raise ValueError(
                f"{path} is not a Google service-account key (type service_account with "
                f"client_email, private_key and token_uri); missing: {', '.join(missing) or '-'}"
            )
        key = serialization.load_pem_private_key(data["private_key"].encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"the private_key in {path} is not an RSA key")
        return cls(data["client_email"], data["token_uri"], data.get("private_key_id", ""), key)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def signed_assertion(account: ServiceAccount, now: float) -> str:
    """The RS256 JWT a service account trades for an access token (RFC 7523)."""
    header = {"alg": "RS256", "typ": "JWT", "kid": account.private_key_id}
    claims = {
        "iss": account.client_email,
        "scope": SCOPE,
        "aud": account.token_uri,
        "iat": int(now),
        "exp": int(now) + _JWT_LIFETIME_S,
    }
    signing_input = ".".join(
        _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = account.private_key.sign(
        signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{_b64(signature)}"


class _TokenProblem(Exception):
    def __init__(self, outcome: PushOutcome) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome


class FcmSender:
    """Sends data messages to FCM registration tokens; thread-safe."""

    def __init__(
        self,
        project_id: str,
        account: ServiceAccount,
        base_url: str = "https://fcm.googleapis.com",
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Send for `project_id` as `account`, to `base_url` (a local server in tests)."""
        self._url = f"{base_url.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self._account = account
        self._timeout_s = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_expires = 0.0
        self._local = threading.local()

    def send(self, target: FcmToken, message: PushMessage) -> PushOutcome:
        """POST one message; map whatever happens to a PushOutcome."""
        body = {"message": fcm_message(target.token, message)}
        for attempt in range(2):
            try:
                token = self._access_token()
            except _TokenProblem as problem:
                return problem.outcome
            try:
                response = self._session().post(
                    self._url,
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=self._timeout_s,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                return PushOutcome("retry", f"network: {type(exc).__name__}")
            except requests.RequestException as exc:
                return PushOutcome("failed", f"request: {type(exc).__name__}")
            if response.status_code == 401 and attempt == 0:
                self._forget_token()  # revoked or expired early: fetch a new one, once
                continue
            return outcome(response)
        raise AssertionError("unreachable")

    def _access_token(self) -> str:
        with self._lock:
            now = self._clock()
            if self._token is not None and now < self._token_expires - _RENEW_EARLY_S:
                return self._token
            try:
                response = self._session().post(
                    self._account.token_uri,
                    data={
                        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                        "assertion": signed_assertion(self._account, now),
                    },
                    timeout=self._timeout_s,
                )
            except requests.RequestException as exc:
                raise _TokenProblem(
                    PushOutcome("retry", f"access token: network: {type(exc).__name__}")
                ) from exc
            if response.status_code != 200:
                status = response.status_code
                raise _TokenProblem(
                    PushOutcome(
                        "retry" if status == 429 or status >= 500 else "failed",
                        _clip(f"access token: {response.status_code} {response.text.strip()}"),
                        response.status_code,
                    )
                )
            data = response.json()
            self._token = str(data["access_token"])
            self._token_expires = now + float(data.get("expires_in", 3600))
            return self._token

    def _forget_token(self) -> None:
        with self._lock:
            self._token = None

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session


def fcm_message(token: str, message: PushMessage) -> dict[str, Any]:
    """The HTTP v1 `message` for one push: a data message, kept until the offer expires."""
    message_body: dict[str, Any] = {
        "token": token,
        # FCM data values must be strings: nested values travel as JSON text.
        "data": {
            key: value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            for key, value in message.payload.items()
            if value is not None
        },
        "android": {
            "ttl": f"{message.ttl_seconds}s",
            "priority": "high" if message.urgency == "high" else "normal",
        },
    }
    if message.topic is not None:
        # Like Web Push's Topic: a newer message with the same key replaces an undelivered one.
        message_body["android"]["collapse_key"] = message.topic
    return message_body


def error_code(response: requests.Response) -> str:
    """The FcmError errorCode of an error answer, else its google.rpc status, else ''."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return ""
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("@type") == _FCM_ERROR_TYPE:
            return str(detail.get("errorCode") or "")
    return str(error.get("status") or "")


def outcome(response: requests.Response) -> PushOutcome:
    """What one messages:send answer means for the token."""
    status = response.status_code
    if 200 <= status < 300:
        return PushOutcome("delivered", _clip(f"{status} accepted as {_name(response)}"), status)
    code = error_code(response)
    reason = _clip(f"{status} {code or response.reason}")
    if code in _GONE or status == 404:
        return PushOutcome("gone", reason, status)
    if code in _RETRY or status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return PushOutcome("retry", reason, status, retry_after)
    return PushOutcome("failed", reason, status)


def _name(response: requests.Response) -> str:
    try:
        return str(response.json().get("name"))
    except (ValueError, AttributeError):
        return "a message"


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
