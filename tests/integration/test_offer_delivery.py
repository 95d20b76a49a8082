"""Delivering offers: FCM HTTP v1 against a local look-alike, Web Push against a local service."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Offer, PushSubscription
from store_hub.adapters.fcm import FcmSender, ServiceAccount
from store_hub.adapters.push import WebPushSender
from store_hub.adapters.vapid import load_or_create_vapid
from store_hub.operations.enrollment import Consents, enroll_device, set_fcm_token, set_web_push
from store_hub.operations.offer_delivery import OfferDelivery
from tests.fixtures.fake_fcm import PROJECT, FakeFcm
from tests.fixtures.offers import seed_offer
from tests.fixtures.push_service import PushService

pytestmark = pytest.mark.integration
TOKEN = "fcm-registration-token-0001"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.connect(f"sqlite:///{tmp_path}/hub.db")
    yield database
    database.dispose()


def now() -> datetime:
    return datetime.now(UTC)


def offer_for_device(db: Database, subscribe: Any) -> Offer:
    with db.transaction() as session:
        device = enroll_device(session, "c0001", Consents(True, True, True), 10, now())
        subscribe(session, device.id)
    return seed_offer(db, now(), status="issued", device_id=device.id)


def delivery(db: Database, tmp_path: Path, fcm: FcmSender | None, **kwargs: Any) -> OfferDelivery:
    vapid = load_or_create_vapid(tmp_path / "vapid.pem")
    statuses: list[str] = []
    return OfferDelivery(
        db,
        WebPushSender(vapid, subject="mailto:ops@shop.example"),
        fcm,
        now,
        "Demo Store",
        on_status=statuses.append,
        retry_base_s=0.01,
        **kwargs,
    )


@pytest.fixture
def fcm_sender(fake_fcm: FakeFcm, tmp_path: Path) -> FcmSender:
    account = ServiceAccount.from_file(fake_fcm.service_account_file(tmp_path))
    return FcmSender(PROJECT, account, base_url=fake_fcm.base_url)


def stored(db: Database, offer_id: str) -> Offer:
    with db.transaction() as session:
        offer = session.get(Offer, offer_id)
        assert offer is not None
        return offer


def fcm_offer(db: Database) -> Offer:
    return offer_for_device(db, lambda s, d: set_fcm_token(s, d, TOKEN, now()))


def test_fcm_delivers_a_data_message_kept_as_long_as_the_offer(
    db: Database, tmp_path: Path, fake_fcm: FakeFcm, fcm_sender: FcmSender
) -> None:
    first, second = fcm_offer(db), seed_offer(db, now(), status="issued")
    with db.transaction() as session:
        session.get(Offer, second.id).device_id = first.device_id  # type: ignore[union-attr]
    deliver = delivery(db, tmp_path, fcm_sender)

    assert deliver.deliver(first.id) == "delivered"
    assert deliver.deliver(second.id) == "delivered"

    message = fake_fcm.received[0]
    assert message["token"] == TOKEN
    assert message["data"]["code"] == first.code and message["data"]["type"] == "offer"
    assert message["android"]["priority"] == "high"
    assert message["android"]["collapse_key"] == "offer-arrival-cart-10"
    ttl = int(message["android"]["ttl"].removesuffix("s"))
    assert 7000 < ttl <= 7200  # the offer's remaining two hours
    offer = stored(db, first.id)
    assert (offer.status, offer.delivery_status, offer.delivery_attempts) == (
        "delivered",
        "delivered",
        1,
    )
    assert fake_fcm.token_requests == 1  # the access token is cached between messages


def test_fcm_unregistered_deletes_the_token(
    db: Database, tmp_path: Path, fake_fcm: FakeFcm, fcm_sender: FcmSender
) -> None:
    offer = fcm_offer(db)
    fake_fcm.fail(TOKEN, "UNREGISTERED")

    assert delivery(db, tmp_path, fcm_sender).deliver(offer.id) == "gone"

    with db.transaction() as session:
        assert session.get(PushSubscription, offer.device_id) is None
    assert stored(db, offer.id).status == "issued"  # the code still works at the till


def test_fcm_quota_exceeded_is_retried_with_backoff_until_accepted(
    db: Database, tmp_path: Path, fake_fcm: FakeFcm, fcm_sender: FcmSender
) -> None:
    offer = fcm_offer(db)
    fake_fcm.fail(TOKEN, "QUOTA_EXCEEDED", times=2)

    assert delivery(db, tmp_path, fcm_sender).deliver(offer.id) == "delivered"

    assert fake_fcm.send_attempts == 3
    assert stored(db, offer.id).delivery_attempts == 3


def test_fcm_gives_up_after_bounded_retries_and_never_retries_bad_requests(
    db: Database, tmp_path: Path, fake_fcm: FakeFcm, fcm_sender: FcmSender
) -> None:
    offer = fcm_offer(db)
    fake_fcm.fail(TOKEN, "UNAVAILABLE")
    assert delivery(db, tmp_path, fcm_sender, max_attempts=3).deliver(offer.id) == "failed"
    assert fake_fcm.send_attempts == 3
    assert stored(db, offer.id).delivery_detail.startswith("gave up after 3 attempts")  # type: ignore[union-attr]

    fake_fcm.fail(TOKEN, "INVALID_ARGUMENT")
    again = seed_offer(db, now(), status="issued", device_id=offer.device_id)
    assert delivery(db, tmp_path, fcm_sender).deliver(again.id) == "failed"
    assert fake_fcm.send_attempts == 4
    with db.transaction() as session:
        assert session.get(PushSubscription, offer.device_id) is not None


def test_fcm_renews_a_revoked_access_token(
    db: Database, tmp_path: Path, fake_fcm: FakeFcm, fcm_sender: FcmSender
) -> None:
    deliver = delivery(db, tmp_path, fcm_sender)
    assert deliver.deliver(fcm_offer(db).id) == "delivered"
    fake_fcm.revoke_access_tokens()
    again = seed_offer(db, now(), status="issued")
    with db.transaction() as session:
        session.get(Offer, again.id).device_id = stored(db, fake_fcm_offer_id(db)).device_id  # type: ignore[union-attr]
    assert deliver.deliver(again.id) == "delivered"
    assert fake_fcm.token_requests == 2


def fake_fcm_offer_id(db: Database) -> str:
    with db.transaction() as session:
        offer = session.query(Offer).filter(Offer.device_id.is_not(None)).first()
        assert offer is not None
        return offer.id


def test_an_fcm_token_without_fcm_configured_is_no_target(db: Database, tmp_path: Path) -> None:
    offer = fcm_offer(db)
    assert delivery(db, tmp_path, None).deliver(offer.id) == "no_target"
    assert stored(db, offer.id).delivery_status == "no_target"


def web_offer(db: Database, push_service: PushService) -> tuple[Offer, str]:
    subscription = push_service.new_subscription()
    keys = subscription["keys"]
    offer = offer_for_device(
        db,
        lambda s, d: set_web_push(
            s, d, subscription["endpoint"], keys["p256dh"], keys["auth"], now()
        ),
    )
    return offer, subscription["endpoint"]


def test_web_push_sets_ttl_topic_and_urgency(
    db: Database, tmp_path: Path, push_service: PushService
) -> None:
    offer, _endpoint = web_offer(db, push_service)

    assert delivery(db, tmp_path, None).deliver(offer.id) == "delivered"

    pushed = push_service.wait_for(1, timeout=5)[0]
    assert pushed.payload["code"] == offer.code and pushed.payload["qr"] is None
    assert 7000 < int(pushed.headers["TTL"]) <= 7200
    assert pushed.headers["Topic"] == "offer-arrival-cart-10"
    assert pushed.headers["Urgency"] == "high"


def test_web_push_gone_deletes_and_5xx_is_retried_then_given_up(
    db: Database, tmp_path: Path, push_service: PushService
) -> None:
    offer, endpoint = web_offer(db, push_service)
    push_service.respond_with(endpoint, 503)
    assert delivery(db, tmp_path, None, max_attempts=2).deliver(offer.id) == "failed"
    assert [status for _, status in push_service.answered] == [503, 503]

    push_service.respond_with(endpoint, 410)
    again = seed_offer(db, now(), status="issued", device_id=offer.device_id)
    assert delivery(db, tmp_path, None).deliver(again.id) == "gone"
    with db.transaction() as session:
        assert session.get(PushSubscription, offer.device_id) is None


def test_an_expired_or_redeemed_offer_is_not_pushed(db: Database, tmp_path: Path) -> None:
    expired = seed_offer(db, now(), status="issued", valid_for=timedelta(seconds=-5))
    redeemed = seed_offer(db, now(), status="redeemed")
    deliver = delivery(db, tmp_path, None)
    assert deliver.deliver(expired.id) == "failed"
    assert stored(db, expired.id).delivery_detail == "expired before delivery"
    assert deliver.deliver(redeemed.id) == "delivered"  # unchanged: it was delivered before
