"""Push an issued offer to the shopper's phone, retrying what can be retried, off the ingest path.

A small pool of its own: a push service answering 429 for a minute holds up one delivery
worker, never the ingest worker nor an arrival's card. Each offer is tried up to
`max_attempts` times with exponential backoff (honouring Retry-After), never past the offer's
expiry; the phone's subscription or token is deleted when the service says it is gone. The
offer records its delivery status and attempts, and moves issued -> delivered when accepted.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete

from beacon_agent.protocol import format_timestamp
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Offer, PushSubscription
from store_hub.adapters.fcm import FcmToken
from store_hub.adapters.push import PushMessage, PushOutcome, PushSender, WebPushSubscription
from store_hub.domain.offer_states import IllegalTransition, transition
from store_hub.operations.offers import as_state

log = logging.getLogger(__name__)
_TOPIC_PREFIX = "offer-"


class FcmPushSender(Protocol):
    """Anything that can push a message to an FCM registration token."""

    def send(self, target: FcmToken, message: PushMessage) -> PushOutcome: ...


def topic_for(rule_id: str) -> str:
    """The push topic of a rule's offers: a newer one replaces an undelivered older one."""
    # A template's "template:" prefix has a colon, which the Topic header may not carry.
    topic = f"{_TOPIC_PREFIX}{rule_id}".replace(":", "-")
    return topic[:32]


@dataclass(frozen=True)
class _Attempt:
    target: WebPushSubscription | FcmToken | None
    message: PushMessage | None
    stop: str | None  # why nothing is to be sent


class OfferDelivery:
    """Delivers offers through Web Push or FCM and records how it went."""

    def __init__(
        self,
        db: Database,
        webpush: PushSender,
        fcm: FcmPushSender | None,
        clock: Callable[[], datetime],
        store_name: str,
        on_status: Callable[[str], None],
        max_attempts: int = 4,
        retry_base_s: float = 2.0,
        max_delay_s: float = 300.0,
        workers: int = 2,
    ) -> None:
        """Send with `webpush`/`fcm`; `on_status(offer_id)` after every recorded change."""
        self._db = db
        self._webpush = webpush
        self._fcm = fcm
        self._clock = clock
        self._store_name = store_name
        self._on_status = on_status
        self._max_attempts = max_attempts
        self._retry_base_s = retry_base_s
        self._max_delay_s = max_delay_s
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="delivery")

    def submit(self, offer_id: str) -> None:
        """Deliver in the background and return at once."""
        self._pool.submit(self._guarded, offer_id)

    def shutdown(self) -> None:
        """Stop waiting between retries, finish the attempts in flight, then stop."""
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _guarded(self, offer_id: str) -> None:
        try:
            self.deliver(offer_id)
        except Exception:
            log.exception("delivery of offer %s failed", offer_id)

    def deliver(self, offer_id: str) -> str:
        """Try until delivered, gone, failed or out of attempts; the final delivery status."""
        for attempt in range(1, self._max_attempts + 1):
            plan = self._plan(offer_id)
            if plan.stop is not None:
                return plan.stop
            assert plan.target is not None and plan.message is not None
            outcome = self._send(plan.target, plan.message)
            if outcome.kind == "retry" and attempt < self._max_attempts:
                delay = self._delay(attempt, outcome, plan.message.ttl_seconds)
                self._record(offer_id, "retrying", attempt, outcome.reason)
                if self._stopping.wait(delay):
                    return "retrying"  # shutting down: the offer keeps its code on the tablet
                continue
            if outcome.kind == "gone":
                self._forget_target(offer_id, plan.target)
            status = {"delivered": "delivered", "gone": "gone"}.get(outcome.kind, "failed")
            detail = outcome.reason
            if outcome.kind == "retry":
                detail = f"gave up after {attempt} attempts: {outcome.reason}"
            self._record(offer_id, status, attempt, detail)
            return status
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, outcome: PushOutcome, ttl_s: int) -> float:
        backoff = self._retry_base_s * 2 ** (attempt - 1)
        wanted = max(backoff, outcome.retry_after_s or 0.0)
        return float(min(wanted, self._max_delay_s, float(ttl_s)))

    def _plan(self, offer_id: str) -> _Attempt:
        now = self._clock()
        with self._db.transaction() as session:
            offer = session.get(Offer, offer_id)
            if offer is None:
                return _Attempt(None, None, "failed")
            if offer.status != "issued":
                return _Attempt(None, None, offer.delivery_status)  # used or voided meanwhile
            remaining = int((offer.expires_at - now).total_seconds())
            if remaining <= 0:
                offer.delivery_status, offer.delivery_detail = "failed", "expired before delivery"
                return _Attempt(None, None, "failed")
            target = _target(session.get(PushSubscription, offer.device_id or ""))
            if target is None:
                offer.delivery_status = "no_target"
                offer.delivery_detail = "no push subscription or FCM token for this device"
                stop: str | None = "no_target"
            elif isinstance(target, FcmToken) and self._fcm is None:
                offer.delivery_status = "no_target"
                offer.delivery_detail = "the device has an FCM token but FCM is not configured"
                stop = "no_target"
            else:
                stop = None
            message = PushMessage(
                payload={
                    "type": "offer",
                    "offer_id": offer.id,
                    "code": offer.code,
                    "qr": offer.qr_token,
                    "title": offer.title,
                    "description": offer.description,
                    "expires_at": format_timestamp(offer.expires_at),
                    "store_id": offer.store_id,
                    "store_name": self._store_name,
                },
                # The phone may be asleep: keep the message exactly as long as the offer lasts.
                ttl_seconds=remaining,
                topic=topic_for(offer.rule_id),
                urgency="high",
            )
        if stop is not None:
            self._on_status(offer_id)
            return _Attempt(None, None, stop)
        return _Attempt(target, message, None)

    def _send(self, target: WebPushSubscription | FcmToken, message: PushMessage) -> PushOutcome:
        if isinstance(target, FcmToken):
            assert self._fcm is not None
            return self._fcm.send(target, message)
        return self._webpush.send(target, message)

    def _record(self, offer_id: str, status: str, attempts: int, detail: str) -> None:
        now = self._clock()
        with self._db.transaction() as session:
            offer = session.get(Offer, offer_id, with_for_update=True)
            if offer is None:
                return
            offer.delivery_status = status
            offer.delivery_attempts = attempts
            offer.delivery_detail = detail[:200]
            if status == "delivered":
                offer.delivered_at = now
                # Redeemed (or opened) while the push was on its way: keep that state.
                with contextlib.suppress(IllegalTransition):
                    offer.status = transition(as_state(offer.status), "delivered")
        self._on_status(offer_id)

    def _forget_target(self, offer_id: str, target: WebPushSubscription | FcmToken) -> None:
        with self._db.transaction() as session:
            offer = session.get(Offer, offer_id)
            if offer is None or offer.device_id is None:
                return
            # Only the subscription that was refused: the phone may have registered anew since.
            query = delete(PushSubscription).where(PushSubscription.device_id == offer.device_id)
            if isinstance(target, FcmToken):
                query = query.where(PushSubscription.fcm_token == target.token)
            else:
                query = query.where(PushSubscription.endpoint == target.endpoint)
            session.execute(query)


def _target(subscription: PushSubscription | None) -> WebPushSubscription | FcmToken | None:
    if subscription is None:
        return None
    if subscription.kind == "fcm" and subscription.fcm_token:
        return FcmToken(subscription.fcm_token)
    if subscription.endpoint and subscription.p256dh and subscription.auth:
        return WebPushSubscription(subscription.endpoint, subscription.p256dh, subscription.auth)
    return None
