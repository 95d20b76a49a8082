"""Using offers: validate a code, redeem it exactly once, void a redemption exactly once.

Redemption is ONE conditional UPDATE of the offer (code, store, a redeemable state, not
expired) plus the ledger row, in one transaction: two tills racing for one code cannot both
win, because only one UPDATE can match the row (check-then-update races shipped in Saleor,
django-oscar and pretix). The Idempotency-Key makes a retried request safe: the same key from
the same store gets the stored redemption back, byte for byte, never a second one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from beacon_agent.protocol import format_timestamp
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Offer, Redemption, Visit
from store_hub.domain.codes import normalise_code
from store_hub.domain.money import Money, round_money
from store_hub.domain.offer_states import (
    REDEEMABLE_FROM,
    IllegalTransition,
    OfferState,
    effective_state,
    transition,
)

Channel = Literal["pos", "tablet"]


class OfferProblem(Exception):
    """Why a code cannot be used: an HTTP status, a machine code and a sentence for people."""

    def __init__(self, status: int, code: str, message: str) -> None:
        """Keep the contract's status and error code with the message."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _unknown(code: str) -> OfferProblem:
    return OfferProblem(404, "offer_not_found", f"no offer has the code {code}")


def _money(amount: Any, currency: str) -> dict[str, str] | None:
    if amount is None:
        return None
    return Money(round_money(amount, currency), currency).to_dict()


def offer_view(offer: Offer, now: datetime) -> dict[str, Any]:
    """What a till needs to apply an offer, with its state as of `now`."""
    state = effective_state(as_state(offer.status), offer.expires_at, now)
    return {
        "code": offer.code,
        "offer_id": offer.id,
        "store_id": offer.store_id,
        "rule_id": offer.rule_id,
        "status": state,
        "kind": offer.kind,
        "scope": offer.scope,
        "percent_off": offer.percent_off,
        "amount_off": _money(offer.amount_off, offer.currency),
        "sku": offer.sku,
        "item_name": offer.item_name,
        "category": offer.category,
        "discount": _money(offer.discount, offer.currency),
        "max_discount": _money(offer.liability, offer.currency),
        "min_spend": _money(offer.min_spend, offer.currency),
        "title": offer.title,
        "body": offer.description,
        "issued_at": format_timestamp(offer.issued_at),
        "expires_at": format_timestamp(offer.expires_at),
    }


def as_state(value: str) -> OfferState:
    """An offer row's status as a domain state; ValueError for anything else."""
    if value not in ("issued", "delivered", "opened", "redeemed", "expired", "voided"):
        raise ValueError(f"offer in unknown state {value!r}")
    return value  # type: ignore[return-value]


def _refuse(offer: Offer | None, code: str, store_id: str, now: datetime) -> OfferProblem:
    """Why `offer` cannot be redeemed at `store_id` now (it was not redeemable)."""
    if offer is None:
        return _unknown(code)
    if offer.store_id != store_id:
        return OfferProblem(403, "wrong_store", f"offer {code} is not valid in store {store_id}")
    state = effective_state(as_state(offer.status), offer.expires_at, now)
    if state == "redeemed":
        return OfferProblem(409, "already_redeemed", f"offer {code} has already been redeemed")
    if state == "voided":
        return OfferProblem(409, "offer_voided", f"offer {code} was voided and cannot be used")
    if state == "expired":
        expired = format_timestamp(offer.expires_at)
        return OfferProblem(410, "offer_expired", f"offer {code} expired at {expired}")
    return OfferProblem(409, "conflict", f"offer {code} cannot be redeemed from state {state}")


def _canonical(typed: str) -> str:
    try:
        return normalise_code(typed)
    except ValueError:
        raise _unknown(typed.strip()[:20]) from None


def validate(db: Database, typed_code: str, store_id: str, now: datetime) -> dict[str, Any]:
    """The offer behind a code if it could be redeemed at `store_id` now; OfferProblem if not."""
    code = _canonical(typed_code)
    with db.transaction() as session:
        offer = session.scalar(select(Offer).where(Offer.code == code))
        if offer is None or not (
            offer.store_id == store_id
            and effective_state(as_state(offer.status), offer.expires_at, now) in REDEEMABLE_FROM
        ):
            raise _refuse(offer, code, store_id, now)
        return offer_view(offer, now)


@dataclass(frozen=True)
class RedemptionRequest:
    """A till's (or tablet's) request to use a code for an order."""

    code: str
    store_id: str
    order_ref: str
    idempotency_key: str
    channel: Channel = "pos"


def redemption_view(redemption: Redemption) -> dict[str, Any]:
    """The answer to a redemption, the same every time it is asked for."""
    voided = redemption.voided_at
    return {
        "redemption_id": redemption.id,
        "offer_id": redemption.offer_id,
        "code": redemption.code,
        "store_id": redemption.store_id,
        "order_ref": redemption.order_ref,
        "amount": _money(redemption.amount, redemption.currency),
        "redeemed_at": format_timestamp(redemption.created_at),
        "voided_at": None if voided is None else format_timestamp(voided),
    }


def _replay(redemption: Redemption, request: RedemptionRequest, code: str) -> dict[str, Any]:
    if redemption.code != code or redemption.order_ref != request.order_ref:
        raise OfferProblem(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was already used for another code or order: use a new key",
        )
    view = redemption_view(redemption)
    # The answer as first given: a later void does not change what the redemption said.
    view["voided_at"] = None
    return view


def _by_key(session: Session, store_id: str, key: str) -> Redemption | None:
    return session.scalar(
        select(Redemption).where(Redemption.store_id == store_id, Redemption.idempotency_key == key)
    )


def redeem(db: Database, request: RedemptionRequest, now: datetime) -> tuple[dict[str, Any], str]:
    """Redeem a code exactly once; the answer and the offer id. OfferProblem if not allowed."""
    code = _canonical(request.code)
    try:
        return _redeem(db, request, code, now)
    except IntegrityError:
        # Two requests with one key for different codes raced to the ledger: the loser's
        # transaction is rolled back (its offer stays redeemable); answer as a replay would.
        with db.transaction() as session:
            existing = _by_key(session, request.store_id, request.idempotency_key)
            if existing is None:
                raise
            return _replay(existing, request, code), existing.offer_id


def _redeem(
    db: Database, request: RedemptionRequest, code: str, now: datetime
) -> tuple[dict[str, Any], str]:
    with db.transaction() as session:
        existing = _by_key(session, request.store_id, request.idempotency_key)
        if existing is not None:
            return _replay(existing, request, code), existing.offer_id
        target = transition("issued", "redeemed")  # the table allows it; checked, not assumed
        result = session.execute(
            update(Offer)
            .where(
                Offer.code == code,
                Offer.store_id == request.store_id,
                Offer.status.in_(sorted(REDEEMABLE_FROM)),
                Offer.expires_at > now,
            )
            .values(status=target, redeemed_at=now)
            .returning(Offer.id, Offer.discount, Offer.liability, Offer.currency)
        )
        row = result.first()
        if row is None:
            # Lost a race with the same key? Its redemption is committed now: replay it.
            existing = _by_key(session, request.store_id, request.idempotency_key)
            if existing is not None:
                return _replay(existing, request, code), existing.offer_id
            offer = session.scalar(select(Offer).where(Offer.code == code))
            raise _refuse(offer, code, request.store_id, now)
        offer_id, discount, liability, currency = row
        redemption = Redemption(
            id=uuid.uuid4().hex,
            offer_id=offer_id,
            code=code,
            store_id=request.store_id,
            order_ref=request.order_ref,
            idempotency_key=request.idempotency_key,
            channel=request.channel,
            # Exact for an item; for a category or basket the most it can take off.
            amount=discount if discount is not None else liability,
            currency=currency,
            created_at=now,
            voided_at=None,
        )
        session.add(redemption)
        session.flush()
        return redemption_view(redemption), offer_id


def void(
    db: Database, redemption_id: str, store_id: str, now: datetime
) -> tuple[dict[str, Any], str]:
    """Undo a redemption exactly once (the offer becomes voided, for good); OfferProblem if not."""
    with db.transaction() as session:
        result = session.execute(
            update(Redemption)
            .where(
                Redemption.id == redemption_id,
                Redemption.store_id == store_id,
                Redemption.voided_at.is_(None),
            )
            .values(voided_at=now)
        )
        if _rowcount(result) != 1:
            redemption = session.get(Redemption, redemption_id)
            if redemption is None:
                raise OfferProblem(404, "redemption_not_found", f"no redemption {redemption_id}")
            if redemption.store_id != store_id:
                raise OfferProblem(
                    403, "wrong_store", f"redemption {redemption_id} is not from store {store_id}"
                )
            raise OfferProblem(
                409, "already_voided", f"redemption {redemption_id} has already been voided"
            )
        redemption = session.get(Redemption, redemption_id)
        assert redemption is not None
        target = transition("redeemed", "voided")
        session.execute(
            update(Offer)
            .where(Offer.id == redemption.offer_id, Offer.status == "redeemed")
            .values(status=target, voided_at=now)
        )
        return redemption_view(redemption), redemption.offer_id


def _rowcount(result: Any) -> int:
    cursor: CursorResult[Any] = result
    return cursor.rowcount


class CardChannel(Protocol):
    """Where changed cards go (the tablets' live feed)."""

    def card_updated(self, store_id: str, card: dict[str, Any]) -> None: ...


def offer_card(offer: Offer, now: datetime) -> dict[str, Any]:
    """How an offer shows on the tablet card."""
    return {
        "offer_id": offer.id,
        "code": offer.code,
        "title": offer.title,
        "description": offer.description,
        "expires_at": format_timestamp(offer.expires_at),
        "status": effective_state(as_state(offer.status), offer.expires_at, now),
        "delivery_status": offer.delivery_status,
    }


def show_offer_on_card(
    db: Database, channel: CardChannel, offer_id: str, clock: Callable[[], datetime]
) -> bool:
    """Put the offer's current state on its visit's card, live, if the shopper is on the floor."""
    with db.transaction() as session:
        offer = session.get(Offer, offer_id)
        if offer is None or offer.visit_id is None:
            return False
        visit = session.get(Visit, offer.visit_id, with_for_update=True)
        if visit is None or visit.departed_at is not None or visit.card is None:
            return False
        shown = visit.card.get("offer") or {}
        if shown.get("code") not in (None, offer.code):
            return False  # the card shows a newer offer of this visit
        card = {**visit.card, "offer": offer_card(offer, clock())}
        visit.card = card
        store_id = visit.store_id
    channel.card_updated(store_id, card)
    return True


def card_status_publisher(
    db: Database, channel: CardChannel, clock: Callable[[], datetime]
) -> Callable[[str], None]:
    """`show_offer_on_card` for one database and channel, as a callback taking an offer id."""

    def publish(offer_id: str) -> None:
        show_offer_on_card(db, channel, offer_id, clock)

    return publish


def mark_opened(db: Database, code: str, now: datetime) -> tuple[str, str]:
    """The shopper opened the offer in the app: it moves to `opened` if it still can.

    Idempotent, and never backwards: an offer already opened, redeemed, voided or expired keeps
    its state (receipts from phones arrive late and more than once). Returns (state, offer id).
    """
    try:
        wanted = normalise_code(code)
    except ValueError:
        raise _unknown(code) from None
    with db.transaction() as session:
        offer = session.scalars(
            select(Offer).where(Offer.code == wanted).with_for_update()
        ).one_or_none()
        if offer is None:
            raise _unknown(wanted)
        current = effective_state(as_state(offer.status), offer.expires_at, now)
        try:
            offer.status = transition(current, "opened")
            offer.opened_at = now
        except IllegalTransition:
            pass
        return offer.status, offer.id


def redeem_on_tablet(
    db: Database,
    channel: CardChannel,
    clock: Callable[[], datetime],
    request: RedemptionRequest,
) -> dict[str, Any]:
    """Redeem for a store without POS integration (the associate's tablet), card updated live."""
    answer, offer_id = redeem(
        db,
        RedemptionRequest(
            request.code, request.store_id, request.order_ref, request.idempotency_key, "tablet"
        ),
        clock(),
    )
    show_offer_on_card(db, channel, offer_id, clock)
    return answer
