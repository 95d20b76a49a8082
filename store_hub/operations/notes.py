"""Associates' notes on a customer, and the audit log of who viewed a customer's card.

A note belongs to the customer, not the visit: colleagues see it on the card of every later
visit too. The card carries ``notes``, the newest ten as {author, text, at}, stored with the
visit so a resync shows them. Every time a tablet shows a card it records a ``card_views`` row
(associate, customer, visit, time) for the audit log.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import Associate, CardView, CustomerNote
from store_hub.adapters.realtime import rfc3339
from store_hub.api.session import SignedInAssociate
from store_hub.operations.claims import CardChannel, ClaimProblem, open_visit

MAX_NOTE_LENGTH = 1000
NOTES_ON_CARD = 10


def note_text(value: object) -> str:
    """The note as it will be stored, or ClaimProblem saying why it cannot be."""
    if not isinstance(value, str):
        raise ClaimProblem("invalid_request", "text is required")
    text = value.strip()
    if not text:
        raise ClaimProblem("note_empty", "write something before adding the note")
    if len(text) > MAX_NOTE_LENGTH:
        raise ClaimProblem(
            "note_too_long", f"a note is at most {MAX_NOTE_LENGTH} characters ({len(text)} given)"
        )
    return text


def add_note(
    session: Session, who: SignedInAssociate, customer_id: str, text: str, now: datetime
) -> CustomerNote:
    """Store a note by `who` about `customer_id` (text already checked by `note_text`)."""
    note = CustomerNote(
        id=uuid.uuid4().hex,
        customer_id=customer_id,
        store_id=who.store_id,
        associate_id=who.associate_id,
        text=text,
        created_at=now,
    )
    session.add(note)
    session.flush()
    return note


def notes_for(
    session: Session, customer_id: str, limit: int = NOTES_ON_CARD
) -> list[dict[str, str]]:
    """The customer's newest notes first, as the card shows them: {author, text, at}."""
    rows = session.execute(
        select(Associate.display_name, CustomerNote.text, CustomerNote.created_at)
        .join(Associate, Associate.id == CustomerNote.associate_id)
        .where(CustomerNote.customer_id == customer_id)
        # The id breaks ties of notes written in the same instant, so the order is stable.
        .order_by(CustomerNote.created_at.desc(), CustomerNote.id.desc())
        .limit(limit)
    )
    return [{"author": name, "text": text, "at": rfc3339(at)} for name, text, at in rows]


def record_card_view(
    session: Session,
    who: SignedInAssociate,
    customer_id: str,
    visit_id: str | None,
    now: datetime,
) -> CardView:
    """Record for the audit log that `who` viewed the customer's card."""
    view = CardView(
        id=uuid.uuid4().hex,
        customer_id=customer_id,
        visit_id=visit_id,
        associate_id=who.associate_id,
        store_id=who.store_id,
        viewed_at=now,
    )
    session.add(view)
    session.flush()
    return view


@dataclass(frozen=True)
class Notes:
    """Notes and card views from the tablets of one database, pushing cards to the tablets."""

    db: Database
    channel: CardChannel
    clock: Callable[[], datetime]

    def add(self, who: SignedInAssociate, visit_id: str, text: object) -> dict[str, Any]:
        """`who` adds a note about the shopper of `visit_id`: {note, card}, or ClaimProblem."""
        checked = note_text(text)
        with self.db.transaction() as session:
            visit = open_visit(session, who.store_id, visit_id)
            note = add_note(session, who, visit.customer_id, checked, self.clock())
            shown = {"author": who.name, "text": note.text, "at": rfc3339(note.created_at)}
            card = {**(visit.card or {}), "notes": notes_for(session, visit.customer_id)}
            visit.card = card
        self.channel.card_updated(who.store_id, card)
        return {"note": shown, "card": card}

    def viewed(self, who: SignedInAssociate, visit_id: str) -> None:
        """Record that `who` viewed the card of the shopper of `visit_id`."""
        with self.db.transaction() as session:
            visit = open_visit(session, who.store_id, visit_id)
            record_card_view(session, who, visit.customer_id, visit.id, self.clock())
