"""Which image origins the tablet's Content-Security-Policy allows besides https ones."""

from __future__ import annotations

from clienteling_ui import content_security_policy
from store_hub.app import plain_http_image_origins
from store_hub.config import HubConfig


def test_a_plain_http_reference_store_is_allowed_by_origin_only() -> None:
    config = HubConfig().with_overrides(commerce_url="http://127.0.0.1:8100/commerce/v1")
    assert plain_http_image_origins(config) == ("http://127.0.0.1:8100",)
    policy = content_security_policy(plain_http_image_origins(config))
    assert "img-src 'self' https: data: http://127.0.0.1:8100;" in policy


def test_https_stores_add_nothing() -> None:
    https = HubConfig().with_overrides(commerce_url="https://shop.example/commerce/v1")
    assert plain_http_image_origins(https) == ()
    assert "img-src 'self' https: data:;" in content_security_policy()
