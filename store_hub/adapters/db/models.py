"""SQLAlchemy models. Schema changes go through an Alembic migration in store_hub/migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite has no time zones and returns naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime}


class Device(Base):
    """A shopper's phone enrolled by the retailer's app; it holds the EID identity key."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    identity_key: Mapped[bytes] = mapped_column(LargeBinary(16))
    rotation_exponent: Mapped[int] = mapped_column(Integer)
    consent_presence: Mapped[bool] = mapped_column(Boolean)
    consent_offers: Mapped[bool] = mapped_column(Boolean)
    consent_associate_view: Mapped[bool] = mapped_column(Boolean)
    # What associates may see of the card (store_hub.domain.card_privacy); all unless refused.
    share_sizes: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    share_wishlist_and_cart: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    share_purchase_history: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    share_contact: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class PushSubscription(Base):
    """Where to push offers for one device: a Web Push subscription or an FCM token."""

    __tablename__ = "push_subscriptions"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    endpoint: Mapped[str | None] = mapped_column(Text)
    p256dh: Mapped[str | None] = mapped_column(String(128))
    auth: Mapped[str | None] = mapped_column(String(64))
    fcm_token: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Visit(Base):
    """One shopper's time in one store, from arrival to departure."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_open", "store_id", "departed_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    arrived_at: Mapped[datetime]
    last_seen: Mapped[datetime]
    departed_at: Mapped[datetime | None]
    zone: Mapped[str | None] = mapped_column(String(64))
    # The tablet's card as last sent, so any hub process can answer a tablet's resync.
    card: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Offer(Base):
    """An offer code issued to a shopper; money, so every state change is explicit.

    `status` moves only along store_hub.domain.offer_states; redemption is one conditional
    UPDATE on it (store_hub.operations.offers). The terms are the domain's `Terms`.
    """

    __tablename__ = "offers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    store_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    visit_id: Mapped[str | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
    rule_id: Mapped[str] = mapped_column(String(64))
    # "percent" or "amount" off; "item", "category" or "basket".
    kind: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    sku: Mapped[str | None] = mapped_column(String(64))
    item_name: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)  # the message body, in `locale`
    locale: Mapped[str] = mapped_column(String(16))
    percent_off: Mapped[int | None] = mapped_column(Integer)
    amount_off: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    original_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    # Exact for an item; null for a category or basket, where it depends on the basket.
    discount: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    # The most this offer can cost: what budgets count and what a redemption records.
    liability: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    min_spend: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    currency: Mapped[str] = mapped_column(String(3))
    # The Ed25519-signed payload tills verify offline (store_hub.domain.offer_qr).
    qr_token: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    redeemed_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    # Push delivery, apart from the offer's state: pending, retrying, delivered, gone, failed,
    # no_target; with the attempts made and the last outcome for people.
    delivery_status: Mapped[str] = mapped_column(String(16))
    delivery_attempts: Mapped[int] = mapped_column(Integer)
    delivery_detail: Mapped[str | None] = mapped_column(String(200))


class OfferDecision(Base):
    """Every offer decision, including the ones that sent nothing, with the reason."""

    __tablename__ = "offer_decisions"
    # Caps read "today" per store and per customer; rules decided per visit.
    __table_args__ = (
        Index("ix_offer_decisions_store_day", "store_id", "decided_at"),
        Index("ix_offer_decisions_visit", "visit_id"),
        # A retried "Send offer" tap (same key) is the same decision, never a second offer.
        UniqueConstraint("store_id", "request_key", name="uq_offer_decisions_request"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    store_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    visit_id: Mapped[str | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
    trigger: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))  # "send" or "no_send"
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(200))
    # What was sent, or for "held_out" what would have been: the domain's Terms.to_dict().
    terms: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    liability: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    currency: Mapped[str | None] = mapped_column(String(3))
    offer_id: Mapped[str | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime]
    # Trigger "associate" only: who sent it from the tablet, and the tablet's idempotency key.
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("associates.id"), default=None)
    request_key: Mapped[str | None] = mapped_column(String(128), default=None)


class Redemption(Base):
    """An offer used at a till (or on the tablet): the ledger, one row per redemption."""

    __tablename__ = "redemptions"
    # The same Idempotency-Key from the same store is the same redemption.
    __table_args__ = (
        UniqueConstraint("store_id", "idempotency_key", name="uq_redemptions_idempotency"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[str] = mapped_column(String(64))
    order_ref: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))  # "pos" or "tablet"
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime]
    voided_at: Mapped[datetime | None]


class Zone(Base):
    """A named area of a store floor (entrance, fitting room, till, department)."""

    __tablename__ = "zones"

    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    # Floor position in metres from the store's reference corner; unknown until IT measures it.
    x_m: Mapped[float | None] = mapped_column(Float)
    y_m: Mapped[float | None] = mapped_column(Float)
    # The zone's extent on the floor: a rectangle (x0 < x1, y0 < y1) in the same frame as the
    # agents' positions; unknown until IT draws it. The position tracker maps a position to the
    # zone whose rectangle holds it, else to the zone of the nearest agent. All four or none.
    x0_m: Mapped[float | None] = mapped_column(Float)
    y0_m: Mapped[float | None] = mapped_column(Float)
    x1_m: Mapped[float | None] = mapped_column(Float)
    y1_m: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime]


class Agent(Base):
    """A store device running beacon-agent: registered by IT, or quarantined until approved."""

    __tablename__ = "agents"
    __table_args__ = (
        ForeignKeyConstraint(
            ["store_id", "zone_id"], ["zones.store_id", "zones.zone_id"], name="fk_agents_zone"
        ),
    )

    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # "approved" (its sightings count) or "quarantined" (heard, recorded, not used).
    approval: Mapped[str] = mapped_column(String(16))
    zone_id: Mapped[str | None] = mapped_column(String(64))
    calibration_offset_db: Mapped[float] = mapped_column(Float)
    report_interval_s: Mapped[float | None] = mapped_column(Float)
    # Floor position of the device in metres, in the same frame as the zones' x_m/y_m; unknown
    # until IT measures it. The position tracker places shoppers between agents that have one.
    x_m: Mapped[float | None] = mapped_column(Float)
    y_m: Mapped[float | None] = mapped_column(Float)
    registered_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    last_report_at: Mapped[datetime | None]
    report_count: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    # Sequence state of the agent's current boot, so gap counting survives a hub restart.
    boot_id: Mapped[str | None] = mapped_column(String(64))
    last_seq: Mapped[int | None] = mapped_column(Integer)
    gaps: Mapped[int] = mapped_column(Integer)
    clock_offset_s: Mapped[float | None] = mapped_column(Float)
    # How much louder than the other placed agents it hears phones (dB), as the position tracker
    # measured it from the traffic and takes off its levels; null until measured.
    measured_offset_db: Mapped[float | None] = mapped_column(Float)
    # From the retained status topic: "online", or "offline" from the last will.
    status_state: Mapped[str | None] = mapped_column(String(16))
    status_at: Mapped[datetime | None]
    # The last online status's fields beyond v/state (version, started_at, telemetry).
    telemetry: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class VisitSegment(Base):
    """Time a visit spent in one zone; a visit is a sequence of these."""

    __tablename__ = "visit_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    zone: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    # How sure the fusion was of this zone when the shopper entered it (0-1); null for segments
    # recorded before the hub measured it.
    confidence: Mapped[float | None] = mapped_column(Float)


class InventoryItem(Base):
    """How many of one SKU this store holds, and where on the floor they are."""

    __tablename__ = "inventory"
    # Sizes of one product are found by product code: the card's "M x2, L x0" is one query.
    __table_args__ = (Index("ix_inventory_product", "store_id", "product_code"),)

    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The style in one colour, shared by its sizes; derived from the SKU when not given.
    product_code: Mapped[str] = mapped_column(String(64))
    on_hand: Mapped[int] = mapped_column(Integer)
    location: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[str | None] = mapped_column(String(32))
    colour: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime]


class Sale(Base):
    """An in-store receipt from the POS; money, so it outlives the customer's erasure."""

    __tablename__ = "sales"
    __table_args__ = (
        UniqueConstraint("store_id", "receipt_id", name="uq_sales_receipt"),
        Index("ix_sales_customer", "customer_id", "sold_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64))
    receipt_id: Mapped[str] = mapped_column(String(64))
    # Null for a shopper the till did not know; "erased" once the customer was erased.
    customer_id: Mapped[str | None] = mapped_column(String(64))
    sold_at: Mapped[datetime]
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    discount_total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    payment_type: Mapped[str] = mapped_column(String(32))
    offer_codes: Mapped[list[str]] = mapped_column(JSON)
    # SHA-256 of the request as first recorded: a replay must carry the same receipt.
    fingerprint: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]


class SaleLine(Base):
    """One line of an in-store receipt."""

    __tablename__ = "sale_lines"

    sale_id: Mapped[str] = mapped_column(
        ForeignKey("sales.id", ondelete="CASCADE"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    discount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    line_total: Mapped[Decimal] = mapped_column(Numeric(12, 2))


class Associate(Base):
    """A store employee who signs in on the tablet; the password only as an Argon2id hash."""

    __tablename__ = "associates"
    __table_args__ = (UniqueConstraint("store_id", "email", name="uq_associates_store_email"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64))
    # Lower-cased: people type their address in any case.
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # "associate", "manager" or "it"
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class VisitClaim(Base):
    """Which associate is helping the shopper of an open visit: at most one, the hub decides."""

    __tablename__ = "visit_claims"

    # One row per visit: two associates claiming at once cannot both insert it.
    visit_id: Mapped[str] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True
    )
    store_id: Mapped[str] = mapped_column(String(64))
    associate_id: Mapped[str] = mapped_column(ForeignKey("associates.id"), index=True)
    claimed_at: Mapped[datetime]


class CustomerNote(Base):
    """A note an associate wrote about a customer, shown on the card to every colleague."""

    __tablename__ = "customer_notes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    store_id: Mapped[str] = mapped_column(String(64))
    associate_id: Mapped[str] = mapped_column(ForeignKey("associates.id"))
    text: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime]


class CardView(Base):
    """The audit log: which associate looked at which customer's card, and when."""

    __tablename__ = "card_views"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    # SET NULL: the audit row outlives the visit it was seen in.
    visit_id: Mapped[str | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
    associate_id: Mapped[str] = mapped_column(ForeignKey("associates.id"), index=True)
    store_id: Mapped[str] = mapped_column(String(64))
    viewed_at: Mapped[datetime]
