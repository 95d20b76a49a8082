"""The VIP rule, the alert's wording and the `vip_tiers` setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from store_hub.config import ConfigError, HubConfig, load_config
from store_hub.domain.vip import (
    ALERTED_KEY,
    DEFAULT_VIP_TIERS,
    short_name,
    vip_arrival,
    vip_tier,
)

TIERS = DEFAULT_VIP_TIERS


def card(
    tier: str | None = None, segments: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A tablet card after the profile came, with just what the rule reads."""
    profile = {"first_name": "Jane", "last_name": "Doe", "loyalty_tier": tier}
    return {
        "visit_id": "v-1",
        "arrived_at": "2026-11-24T10:00:00.000Z",
        "zone": "Entrance",
        "zone_id": "entrance",
        "profile": profile,
        "segments": segments or [],
        **extra,
    }


@pytest.mark.parametrize(
    ("tier", "segments", "expected"),
    [
        ("platinum", [], "platinum"),
        (" Platinum ", [], "Platinum"),  # as the retailer spells it, compared case-blind
        ("VIP", [], "VIP"),
        ("gold", ["vip"], "gold"),  # the segment (lifetime value, spend) makes a gold VIP
        (None, ["vip", "frequent"], "VIP"),
        ("gold", ["frequent"], None),
        ("bronze", [], None),
        (None, [], None),
    ],
)
def test_tier_or_segment_makes_a_vip(
    tier: str | None, segments: list[str], expected: str | None
) -> None:
    assert vip_tier(card(tier, segments), TIERS) == expected


def test_the_configured_tiers_decide_and_the_segment_always_counts() -> None:
    assert vip_tier(card("gold"), ("gold",)) == "gold"
    assert vip_tier(card("platinum"), ()) is None
    assert vip_tier(card("platinum", ["vip"]), ()) == "platinum"
    assert vip_tier(card(""), ("",)) is None  # an empty tier is no tier


def test_a_card_without_a_profile_is_no_vip() -> None:
    pending = {"visit_id": "v-1", "profile": None, "zone": "Entrance"}
    assert vip_arrival(pending, TIERS) is None
    assert vip_tier({"profile": "not a dict", "segments": "vip"}, TIERS) is None


def test_the_alert_names_the_shopper_briefly_and_where_they_are() -> None:
    assert vip_arrival(card("platinum"), TIERS) == {
        "visit_id": "v-1",
        "name": "Jane D.",
        "tier": "platinum",
        "zone": "Entrance",
        "zone_id": "entrance",
        "arrived_at": "2026-11-24T10:00:00.000Z",
    }


def test_once_alerted_a_card_never_alerts_again() -> None:
    alerted = {**card("vip"), ALERTED_KEY: "2026-11-24T10:00:02.000Z"}
    assert vip_arrival(alerted, TIERS) is None


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ({"first_name": "Jane", "last_name": "doe"}, "Jane D."),
        ({"first_name": " Jane ", "last_name": ""}, "Jane"),
        ({"first_name": None, "last_name": "Doe"}, "Doe"),
        ({}, "A VIP shopper"),
        (None, "A VIP shopper"),
    ],
)
def test_short_name(profile: dict[str, Any] | None, expected: str) -> None:
    assert short_name({"profile": profile}) == expected


def test_vip_tiers_setting_from_file_and_environment(tmp_path: Path) -> None:
    assert HubConfig().vip_tiers == ("vip", "platinum")
    path = tmp_path / "hub.toml"
    path.write_text('vip_tiers = ["Gold", "platinum", "gold"]\n')
    assert load_config(path, environ={}).vip_tiers == ("gold", "platinum")
    assert load_config(environ={"STORE_HUB_VIP_TIERS": "black, platinum"}).vip_tiers == (
        "black",
        "platinum",
    )
    assert load_config(environ={"STORE_HUB_VIP_TIERS": ""}).vip_tiers == ()
    path.write_text("vip_tiers = []\n")
    assert load_config(path, environ={}).vip_tiers == ()


@pytest.mark.parametrize(
    "value", ["vip_tiers = 5", "vip_tiers = [1]", 'vip_tiers = [""]', f'vip_tiers = ["{"x" * 65}"]']
)
def test_bad_vip_tiers_are_refused_with_the_fix(tmp_path: Path, value: str) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(value + "\n")
    with pytest.raises(ConfigError) as refused:
        load_config(path, environ={})
    assert "vip_tiers must be a list of loyalty tier names" in str(refused.value)
    assert 'set it like: vip_tiers = ["vip", "platinum"]' in str(refused.value)
