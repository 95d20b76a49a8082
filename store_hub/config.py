"""Hub configuration: embedded defaults, a TOML file, then STORE_HUB_* environment overrides.

Every error names the key, what was wrong and how to fix it, because the person reading it is
an IT technician at a store, not the author of this file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# ConfigError is re-exported: callers catch it as this module's.
from beacon_agent.settings import ConfigError as ConfigError
from beacon_agent.settings import (
    choice,
    load_layers,
    number,
    optional_text,
    parse_values,
    spec,
    text,
)
from store_hub.domain.fusion import ANY_ZONE, FusionSettings
from store_hub.domain.position_tracker import FloorPlan
from store_hub.domain.vip import DEFAULT_VIP_TIERS, parse_vip_tiers

ENV_PREFIX = "STORE_HUB_"
_FUSION = FusionSettings()

# The field declarations below read better with these short names.
_positive = number
_text = text
_optional_text = optional_text
_choice = choice
_spec = spec


def _url(*schemes: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = str(value)
        if not text.startswith(tuple(s + "://" for s in schemes)):
            raise ValueError(
                "must be a URL starting with " + " or ".join(f"{s}://" for s in schemes)
            )
        return text

    return check


def _push_subject(value: Any) -> str:
    # VAPID's subject is a mailto: URI (no slashes) or an https:// URL.
    text = str(value)
    if not (text.startswith("mailto:") and "@" in text) and not text.startswith("https://"):
        raise ValueError("must be mailto:someone@example.com or an https:// URL")
    return text


def _instant(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("must include a time zone, e.g. 2026-11-24T10:00:00Z")
    return moment


def _seconds_list(value: Any) -> tuple[float, ...]:
    # A TOML array, or "60,300,900" from an environment variable.
    problem = "must be a list of seconds, each between 1 and 86400, e.g. [60, 300, 900]"
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(problem)
    check = _positive(float, 1, 86400)
    try:
        return tuple(sorted({check(item) for item in items if item != ""}))
    except ValueError:
        raise ValueError(problem) from None


def _time_zone(value: Any) -> str:
    name = str(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone name such as Europe/London") from None
    return name


@dataclass(frozen=True)
class HubConfig:
    """Everything a hub needs to run one store; the defaults run the demo store."""

    store_id: str = _spec("s042", _text, 'store_id = "s042"')
    store_name: str = _spec("Demo Store", _text, 'store_name = "Oxford Street"')
    database_url: str = _spec(
        "sqlite:///var/hub/hub.db",
        _url("sqlite", "postgresql", "postgresql+psycopg"),
        'database_url = "postgresql+psycopg://hub:secret@db/hub"',
    )
    broker_url: str = _spec(
        "mqtt://127.0.0.1:1883", _url("mqtt", "mqtts"), 'broker_url = "mqtts://broker:8883"'
    )
    mqtt_protocol: str = _spec("3.1.1", _choice("3.1.1", "5"), 'mqtt_protocol = "3.1.1"')
    mqtt_username: str | None = _spec(None, _optional_text, 'mqtt_username = "hub"')
    mqtt_password: str | None = _spec(None, _optional_text, 'mqtt_password = "..."', secret=True)
    topic_root: str = _spec("", _text, 'topic_root = "retail"')
    http_host: str = _spec("127.0.0.1", _text, 'http_host = "0.0.0.0"')
    http_port: int = _spec(8000, _positive(int, 1, 65535), "http_port = 8000")
    commerce_url: str = _spec(
        "http://127.0.0.1:8100", _url("http", "https"), 'commerce_url = "https://shop.example"'
    )
    commerce_api_key: str = _spec(
        "demo-commerce-key", _text, 'commerce_api_key = "..."', secret=True
    )
    commerce_timeout_s: float = _spec(2.0, _positive(float, 0.1, 30), "commerce_timeout_s = 2.0")
    commerce_connector: str = _spec(
        "reference", _choice("reference", "shopify"), 'commerce_connector = "shopify"'
    )
    commerce_cache_ttl_s: float = _spec(
        300.0, _positive(float, 1, 86400), "commerce_cache_ttl_s = 300"
    )
    commerce_max_stale_s: float = _spec(
        21600.0, _positive(float, 1, 7 * 86400), "commerce_max_stale_s = 21600"
    )
    commerce_cache_size: int = _spec(
        5000, _positive(int, 1, 10_000_000), "commerce_cache_size = 5000"
    )
    commerce_breaker_failures: int = _spec(
        5, _positive(int, 1, 1000), "commerce_breaker_failures = 5"
    )
    commerce_breaker_cooldown_s: float = _spec(
        30.0, _positive(float, 1, 3600), "commerce_breaker_cooldown_s = 30"
    )
    shopify_shop: str | None = _spec(None, _optional_text, 'shopify_shop = "acme.myshopify.com"')
    shopify_access_token: str | None = _spec(
        None, _optional_text, 'shopify_access_token = "shpat_..."', secret=True
    )
    shopify_api_version: str = _spec("2025-07", _text, 'shopify_api_version = "2025-07"')
    shopify_wishlist_metafield: str = _spec(
        "custom.wishlist", _text, 'shopify_wishlist_metafield = "custom.wishlist"'
    )
    shopify_sizes_metafield: str = _spec(
        "custom.sizes", _text, 'shopify_sizes_metafield = "custom.sizes"'
    )
    enroll_api_key: str | None = _spec(
        None, _optional_text, 'enroll_api_key = "long-random"', secret=True
    )
    it_api_key: str | None = _spec(None, _optional_text, 'it_api_key = "long-random"', secret=True)
    # The store's tills and stock system; bound to this hub's store (one hub per store).
    pos_api_key: str | None = _spec(
        None, _optional_text, 'pos_api_key = "long-random"', secret=True
    )
    vapid_key_path: str = _spec(
        "var/hub/vapid_private.pem", _text, 'vapid_key_path = "/var/lib/store-hub/vapid.pem"'
    )
    push_subject: str = _spec(
        "mailto:ops@example.com",
        _push_subject,
        'push_subject = "mailto:ops@shop.example"',
    )
    away_timeout_s: float = _spec(90.0, _positive(float, 5, 3600), "away_timeout_s = 90")
    reentry_window_s: float = _spec(120.0, _positive(float, 0, 3600), "reentry_window_s = 120")
    # Zone fusion (store_hub/domain/fusion.py; bench/README.md has the numbers behind defaults).
    zone_margin_db: float = _spec(
        _FUSION.margin_db, _positive(float, 0, 30), "zone_margin_db = 2.0"
    )
    zone_hold_s: float = _spec(_FUSION.hold_s, _positive(float, 0, 60), "zone_hold_s = 2.0")
    reading_stale_after_s: float = _spec(
        _FUSION.stale_after_s, _positive(float, 2, 600), "reading_stale_after_s = 6"
    )
    # The floor's radio, for the position tracker (used once IT gives two or more agents a
    # floor position; docs/operations.md). 2.2 suits an open-plan shop floor.
    path_loss_exponent: float = _spec(
        FloorPlan.path_loss_exponent, _positive(float, 1.5, 5), "path_loss_exponent = 2.2"
    )
    agent_height_m: float = _spec(
        FloorPlan.height_m, _positive(float, 0, 10), "agent_height_m = 1.5  # above the phones"
    )
    # Where every zone is drawn, a phone arrives once the tracker puts it in the store with this
    # probability; higher keeps out more window shoppers by the glass, for later arrivals.
    arrive_inside: float = _spec(
        _FUSION.arrive_inside, _positive(float, _FUSION.leave_inside, 1), "arrive_inside = 0.5"
    )
    dwell_thresholds_s: tuple[float, ...] = _spec(
        _FUSION.dwell_for(ANY_ZONE), _seconds_list, "dwell_thresholds_s = [60, 300, 900]"
    )
    rotation_exponent: int = _spec(10, _positive(int, 0, 15), "rotation_exponent = 10")
    clock_start: datetime | None = _spec(
        None, _instant, 'clock_start = "2026-11-24T10:00:00Z"  # only to replay a recorded trace'
    )
    # Offers (docs/offers.md). Key and secret files left unset live next to the VAPID key and
    # are generated on first run, mode 0600.
    offer_rules_path: str | None = _spec(
        None, _optional_text, 'offer_rules_path = "/etc/store-hub/offer_rules.yaml"'
    )
    store_time_zone: str = _spec("Europe/London", _time_zone, 'store_time_zone = "Europe/Berlin"')
    holdout_secret_path: str | None = _spec(
        None, _optional_text, 'holdout_secret_path = "/var/lib/store-hub/holdout_secret"'
    )
    offer_signing_key_path: str | None = _spec(
        None, _optional_text, 'offer_signing_key_path = "/var/lib/store-hub/offer_signing.pem"'
    )
    fcm_project_id: str | None = _spec(None, _optional_text, 'fcm_project_id = "acme-app"')
    fcm_service_account_path: str | None = _spec(
        None, _optional_text, 'fcm_service_account_path = "/etc/store-hub/fcm-account.json"'
    )
    fcm_base_url: str = _spec(
        "https://fcm.googleapis.com",
        _url("http", "https"),
        'fcm_base_url = "https://fcm.googleapis.com"  # only to test against a local server',
    )
    delivery_max_attempts: int = _spec(4, _positive(int, 1, 20), "delivery_max_attempts = 4")
    delivery_retry_base_s: float = _spec(
        2.0, _positive(float, 0.01, 600), "delivery_retry_base_s = 2"
    )
    # The associate's tablet (docs/tablet.md). The session secret signs the sign-in cookie;
    # left unset it lives next to the VAPID key and is generated on first run, mode 0600.
    session_secret_path: str | None = _spec(
        None, _optional_text, 'session_secret_path = "/var/lib/store-hub/session_secret"'
    )
    tablet_idle_lock_minutes: float = _spec(
        10.0, _positive(float, 0.05, 480), "tablet_idle_lock_minutes = 10"
    )
    # "https" when the hub is served behind TLS: the session cookie is then marked Secure.
    tablet_scheme: str = _spec("http", _choice("http", "https"), 'tablet_scheme = "https"')
    # Loyalty tiers whose arrival alerts every tablet (store_hub/domain/vip.py); shoppers in the
    # vip segment are alerted for too, so [] means the segment only.
    vip_tiers: tuple[str, ...] = _spec(
        DEFAULT_VIP_TIERS, parse_vip_tiers, 'vip_tiers = ["vip", "platinum"]'
    )

    def __post_init__(self) -> None:
        if self.commerce_connector == "shopify" and not (
            self.shopify_shop and self.shopify_access_token
        ):
            raise ConfigError(
                'config error: commerce_connector = "shopify" needs shopify_shop and '
                'shopify_access_token; set them like: shopify_shop = "acme.myshopify.com" and '
                'shopify_access_token = "shpat_..."'
            )
        if self.commerce_cache_ttl_s > self.commerce_max_stale_s:
            raise ConfigError(
                "config error: commerce_cache_ttl_s must not exceed commerce_max_stale_s "
                f"({self.commerce_cache_ttl_s} > {self.commerce_max_stale_s})"
            )
        if (self.fcm_project_id is None) != (self.fcm_service_account_path is None):
            raise ConfigError(
                "config error: FCM needs both fcm_project_id and fcm_service_account_path; "
                'set them like: fcm_project_id = "acme-app" and '
                'fcm_service_account_path = "/etc/store-hub/fcm-account.json", or neither'
            )

    def with_overrides(self, **values: Any) -> HubConfig:
        """A copy with some values replaced, each validated like a file value."""
        return replace(self, **_parse_all(values, "overrides"))


def _parse_all(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    return parse_values(HubConfig, values, source)


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> HubConfig:
    """Defaults, then the TOML file if given, then STORE_HUB_* environment variables."""
    return HubConfig(**load_layers(HubConfig, path, environ, ENV_PREFIX))


def fusion_settings(config: HubConfig) -> FusionSettings:
    """The zone fusion's settings from the hub's configuration."""
    return replace(
        _FUSION,
        margin_db=config.zone_margin_db,
        # A lead this clear switches at once; it can never be below the ordinary margin.
        clear_margin_db=max(_FUSION.clear_margin_db, config.zone_margin_db),
        hold_s=config.zone_hold_s,
        # A device unheard for the away timeout has left, so no reading outlives it (a short
        # away timeout, as in the demo, shortens the default with it).
        stale_after_s=min(config.reading_stale_after_s, config.away_timeout_s),
        away_timeout_s=config.away_timeout_s,
        dwell_thresholds_s={ANY_ZONE: config.dwell_thresholds_s},
        arrive_inside=config.arrive_inside,
    )
