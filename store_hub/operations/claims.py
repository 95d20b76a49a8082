"""Claiming a shopper ("I'll help"): one associate per open visit, decided by the hub.

The claim is a row keyed by the visit, so two associates tapping at once cannot both win: the
second insert fails and gets a refusal naming who has the shopper. The card carries
``helped_by`` {associate_id, name} (or null), stored with the visit so a resync shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Associate, Visit, VisitClaim
from store_hub.api.session import SignedInAssociate

# Card fields the associates own: other writers of the card keep them as they are.
ASSOCIATE_CARD_KEYS = ("helped_by", "notes")


class CardChannel(Protocol):
    """Where changed cards go (the tablets' live feed)."""

    def card_updated(self, store_id: str, card: dict[str, Any]) -> None: ...


class ClaimProblem(Exception):
    """Why a claim, release or hand-over was refused: a machine code and a sentence."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the machine code with the message."""
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Claims:
    """Claim, release and hand over shoppers of one database, pushing cards to the tablets."""

    db: Database
    channel: CardChannel
    clock: Callable[[], datetime]

    def claim(self, who: SignedInAssociate, visit_id: str) -> dict[str, Any]:
        """`who` helps the shopper of `visit_id`; the card, or ClaimProblem naming the holder."""
        try:
            with self.db.transaction() as session:
                visit = open_visit(session, who.store_id, visit_id)
                holder = session.get(VisitClaim, visit_id)
                if holder is not None and holder.associate_id != who.associate_id:
                    raise _taken(session, holder)
                if holder is None:
                    session.add(
                        VisitClaim(
                            visit_id=visit_id,
                            store_id=who.store_id,
                            associate_id=who.associate_id,
                            claimed_at=self.clock(),
                        )
                    )
                    session.flush()
                card = _show(visit, {"associate_id": who.associate_id, "name": who.name})
        except IntegrityError:
            # Lost a race with a colleague's tap: their claim is committed now.
            with self.db.transaction() as session:
                holder = session.get(VisitClaim, visit_id)
                if holder is None:
                    raise
                raise _taken(session, holder) from None
        self.channel.card_updated(who.store_id, card)
        return card

    def release(self, who: SignedInAssociate, visit_id: str) -> dict[str, Any]:
        """`who` stops helping the shopper; managers may release anyone's claim."""
        with self.db.transaction() as session:
            visit = open_visit(session, who.store_id, visit_id)
            holder = session.get(VisitClaim, visit_id)
            if holder is None:
                raise ClaimProblem("not_claimed", "nobody is helping this shopper")
            if holder.associate_id != who.associate_id and who.role != "manager":
                raise _taken(session, holder)
            session.execute(delete(VisitClaim).where(VisitClaim.visit_id == visit_id))
            card = _show(visit, None)
        self.channel.card_updated(who.store_id, card)
        return card

    def hand_over(self, who: SignedInAssociate, visit_id: str, to_id: str) -> dict[str, Any]:
        """`who` passes the shopper to a colleague of the same store, who is then helping."""
        with self.db.transaction() as session:
            visit = open_visit(session, who.store_id, visit_id)
            holder = session.get(VisitClaim, visit_id)
            if holder is None or holder.associate_id != who.associate_id:
                if holder is None:
                    raise ClaimProblem("not_claimed", "claim the shopper before handing over")
                raise _taken(session, holder)
            colleague = session.get(Associate, to_id)
            if colleague is None or not colleague.active or colleague.store_id != who.store_id:
                raise ClaimProblem("unknown_colleague", "no active colleague in this store")
            holder.associate_id = colleague.id
            holder.claimed_at = self.clock()
            card = _show(visit, {"associate_id": colleague.id, "name": colleague.display_name})
        self.channel.card_updated(who.store_id, card)
        return card


def colleagues(db: Database, store_id: str) -> list[dict[str, str]]:
    """The active associates of a store, by name, for the hand-over picker."""
    with db.transaction() as session:
        rows = session.execute(
            select(Associate.id, Associate.display_name)
            .where(Associate.store_id == store_id, Associate.active.is_(True))
            .order_by(Associate.display_name)
        )
        return [{"associate_id": row[0], "name": row[1]} for row in rows]


def open_visit(session: Session, store_id: str, visit_id: str) -> Visit:
    """The open visit of the store with a card, locked; ClaimProblem if it is gone."""
    visit = session.get(Visit, visit_id, with_for_update=True)
    if (
        visit is None
        or visit.store_id != store_id
        or visit.departed_at is not None
        or visit.card is None
    ):
        raise ClaimProblem("not_on_floor", "this shopper is no longer in the store")
    return visit


def _taken(session: Session, holder: VisitClaim) -> ClaimProblem:
    name = session.scalar(select(Associate.display_name).where(Associate.id == holder.associate_id))
    return ClaimProblem("already_claimed", f"{name or 'A colleague'} is already helping them")


def _show(visit: Visit, helped_by: dict[str, str] | None) -> dict[str, Any]:
    card = {**(visit.card or {}), "helped_by": helped_by}
    visit.card = card
    return card
