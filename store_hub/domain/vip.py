"""Who counts as a VIP on the floor, and what the associates' arrival alert says about them.

Pure: works on the tablet card dict the hub already built (profile, segments, zone), so the
rule sees exactly what the associates see. A shopper is a VIP when their segments include
`vip` (store_hub.domain.segments decides that from tier, lifetime value and spend) or when
their loyalty tier is one of the store's configured VIP tiers (`vip_tiers`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from store_hub.domain.segments import VIP_TIERS

VIP_SEGMENT = "vip"
# By default the same top tiers the `vip` segment counts (store_hub.domain.segments).
DEFAULT_VIP_TIERS = tuple(sorted(VIP_TIERS, reverse=True))
# The card key that records the alert went out, so nothing re-alerts for the same visit.
ALERTED_KEY = "vip_alerted_at"
VIP_CARD_KEYS = (ALERTED_KEY,)
# A tier name longer than this is not a tier but a mistake in the configuration.
MAX_TIER_LENGTH = 64
# What the alert shows when the card has no name (the profile has none, or is not in yet).
UNNAMED = "A VIP shopper"


def normalise_tier(tier: object) -> str:
    """A loyalty tier as compared: trimmed and lower-case ("" for anything but a string)."""
    return tier.strip().lower() if isinstance(tier, str) else ""


def parse_vip_tiers(value: object) -> tuple[str, ...]:
    """The `vip_tiers` setting: a list of tier names, or "vip,platinum" from the environment."""
    problem = (
        f"must be a list of loyalty tier names (each 1 to {MAX_TIER_LENGTH} characters), "
        'e.g. ["vip", "platinum"], or [] for the vip segment only'
    )
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(problem)
    tiers: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(problem)
        tier = normalise_tier(item)
        if not tier and isinstance(value, str):
            continue  # "vip,,platinum" or "" from an environment variable
        if not tier or len(tier) > MAX_TIER_LENGTH:
            raise ValueError(problem)
        if tier not in tiers:
            tiers.append(tier)
    return tuple(tiers)


def vip_tier(card: Mapping[str, Any], vip_tiers: Iterable[str]) -> str | None:
    """The tier the alert names if the card's shopper is a VIP, else None.

    The loyalty tier as the retailer spells it when it is on the card, "VIP" when only the
    segment says so.
    """
    profile = card.get("profile")
    tier = profile.get("loyalty_tier") if isinstance(profile, Mapping) else None
    wanted = {normalise_tier(t) for t in vip_tiers} - {""}
    if isinstance(tier, str) and normalise_tier(tier) in wanted:
        return tier.strip()
    segments = card.get("segments")
    if isinstance(segments, list | tuple) and VIP_SEGMENT in segments:
        return tier.strip() if isinstance(tier, str) and tier.strip() else "VIP"
    return None


def short_name(card: Mapping[str, Any]) -> str:
    """First name and the initial of the last ("Jane D."): enough to greet, little to overhear."""
    profile = card.get("profile")
    if not isinstance(profile, Mapping):
        return UNNAMED
    first = profile.get("first_name")
    last = profile.get("last_name")
    first = first.strip() if isinstance(first, str) else ""
    last = last.strip() if isinstance(last, str) else ""
    if first and last:
        return f"{first} {last[0].upper()}."
    return first or last or UNNAMED


def vip_arrival(card: Mapping[str, Any], vip_tiers: Iterable[str]) -> dict[str, Any] | None:
    """The `vip_arrived` payload for a card that qualifies and was not alerted yet, else None."""
    if card.get(ALERTED_KEY) or not isinstance(card.get("visit_id"), str):
        return None
    tier = vip_tier(card, vip_tiers)
    if tier is None:
        return None
    return {
        "visit_id": card["visit_id"],
        "name": short_name(card),
        "tier": tier,
        "zone": card.get("zone"),
        "zone_id": card.get("zone_id"),
        "arrived_at": card.get("arrived_at"),
    }
