"""Finding a shopper the floor did not detect (phone in a bag, walked up to the till).

The online store is searched by name, email or phone, but only the client book comes back:
customers with an active phone that allows associate view. The tablet must not become a window
on the whole online customer base, so every other match is dropped here, before anything
leaves the hub, and opening a customer checks the same again.

Opening a customer gives the card the floor would show: the live one if they are in the store,
otherwise a look-up card (no visit, `present: false`), built from the same parts as an
arrival's card and cleared by the customer's sharing choices. Each opening is a row of the
audit log of card views.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_hub.adapters.commerce import CommerceConnector
from store_hub.adapters.commerce.snapshot import MAX_SEARCH_LIMIT, CustomerMatch
from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Device, Visit
from store_hub.api.session import SignedInAssociate
from store_hub.domain.card_privacy import private_card
from store_hub.domain.customer_search import QueryRefused, checked_query, mask_email, mask_phone
from store_hub.operations.card_sharing import customer_sharing
from store_hub.operations.notes import notes_for, record_card_view
from store_hub.operations.stock import annotate_card

# Results the tablet lists; a longer list means the associate should type more.
RESULTS_SHOWN = 20
# The store is asked for its most matches, since most of its customers are not in the book.
STORE_MATCHES = MAX_SEARCH_LIMIT
MAX_CUSTOMER_ID_LENGTH = 64


class LookupProblem(Exception):
    """Why a search or an opening was refused: a machine code and a sentence."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the machine code with the message."""
        super().__init__(message)
        self.code = code
        self.message = message


def client_book(session: Session, customer_ids: Iterable[str]) -> dict[str, bool]:
    """Of `customer_ids`, those an associate may see -> whether every phone shares contact."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Device.customer_id, Device.share_contact).where(
            Device.customer_id.in_(wanted),
            Device.revoked_at.is_(None),
            Device.consent_associate_view.is_(True),
        )
    )
    book: dict[str, bool] = {}
    for customer_id, shares_contact in rows:
        book[customer_id] = book.get(customer_id, True) and bool(shares_contact)
    return book


def open_visits(session: Session, store_id: str, customer_ids: Iterable[str]) -> dict[str, Visit]:
    """customer_id -> their open visit in this store whose card the floor shows."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return {}
    visits = session.scalars(
        select(Visit)
        .where(
            Visit.store_id == store_id,
            Visit.departed_at.is_(None),
            Visit.customer_id.in_(wanted),
        )
        .order_by(Visit.arrived_at)
    )
    # A visit without a card is one the floor does not show yet: not "in store" to the tablet.
    return {visit.customer_id: visit for visit in visits if visit.card is not None}


def search_result(
    match: CustomerMatch, shares_contact: bool, visit_id: str | None
) -> dict[str, Any]:
    """One line of the results: who, a masked contact to tell namesakes apart, and presence."""
    name = " ".join(part for part in (match.first_name, match.last_name) if part)
    return {
        "customer_id": match.customer_id,
        "name": name or None,
        "contact": {
            "email": mask_email(match.email) if shares_contact else None,
            "phone": mask_phone(match.phone) if shares_contact else None,
        },
        "tier": match.loyalty_tier,
        "present": visit_id is not None,
        "visit_id": visit_id,
    }


def look_up_card(online: dict[str, Any], customer_id: str) -> dict[str, Any]:
    """The card of a customer who is not in the store: no visit, no zone, no offer."""
    return {
        "customer_id": customer_id,
        "present": False,
        "offer": None,
        **online,
    }


@dataclass(frozen=True)
class CustomerLookup:
    """Search the client book and open a customer's card, from the tablets of one hub."""

    db: Database
    commerce: CommerceConnector
    clock: Callable[[], datetime]

    def search(self, who: SignedInAssociate, raw_query: object) -> dict[str, Any]:
        """{query, results, more} for the associate, or LookupProblem saying why not."""
        try:
            query = checked_query(raw_query)
        except QueryRefused as refused:
            raise LookupProblem(refused.code, refused.message) from refused
        found = self.commerce.search_customers(query, STORE_MATCHES)
        if found.status == "refused":
            detail = found.problem.detail if found.problem else "the query was refused"
            raise LookupProblem("invalid_query", detail)
        if found.status != "ok":
            raise LookupProblem(
                "store_unavailable", "the online store is not answering: try again in a moment"
            )
        ids = [match.customer_id for match in found.matches]
        with self.db.transaction() as session:
            book = client_book(session, ids)
            present = open_visits(session, who.store_id, book)
        seen: set[str] = set()
        results = []
        for match in found.matches:
            customer_id = match.customer_id
            if customer_id not in book or customer_id in seen:
                continue
            seen.add(customer_id)
            visit = present.get(customer_id)
            results.append(
                search_result(match, book[customer_id], None if visit is None else visit.id)
            )
        return {
            "query": query,
            "results": results[:RESULTS_SHOWN],
            "more": found.more or len(results) > RESULTS_SHOWN,
        }

    def open(self, who: SignedInAssociate, customer_id: str) -> dict[str, Any]:
        """{present, card} for a customer of the client book; the view goes in the audit log."""
        now = self.clock()
        with self.db.transaction() as session:
            sharing = customer_sharing(session, customer_id)
            if sharing is None:
                raise LookupProblem("not_found", "no opted-in customer with that id")
            visit = open_visits(session, who.store_id, [customer_id]).get(customer_id)
            if visit is not None and visit.card is not None:
                record_card_view(session, who, customer_id, visit.id, now)
                return {"present": True, "card": {**visit.card, "present": True}}
        # Outside any transaction: the online store may take its whole deadline.
        snapshot = self.commerce.fetch_customer(customer_id)
        card = look_up_card(snapshot.to_card_dict(), customer_id)
        with self.db.transaction() as session:
            card = annotate_card(session, who.store_id, card, now)
            card["notes"] = notes_for(session, customer_id)
            # Sharing may have changed while the store answered: decide on the latest.
            latest = customer_sharing(session, customer_id)
            if latest is None:
                raise LookupProblem("not_found", "no opted-in customer with that id")
            record_card_view(session, who, customer_id, None, now)
        return {"present": False, "card": private_card(card, latest)}
