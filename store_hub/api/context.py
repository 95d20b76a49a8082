"""The running hub, as views see it."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import current_app
from flask_smorest import abort

if TYPE_CHECKING:
    from store_hub.hub import Hub


def hub() -> Hub:
    """The Hub this app was created with."""
    return cast("Hub", current_app.extensions["store_hub"])


def check_store(store_id: str) -> None:
    """404 unless `store_id` is the store this hub serves (one hub per store)."""
    served = hub().config.store_id
    if store_id != served:
        abort(404, message=f"this hub serves store {served}, not {store_id}")
