"""The running hub, as views see it."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import current_app

if TYPE_CHECKING:
    from store_hub.hub import Hub


def hub() -> Hub:
    """The Hub this app was created with."""
    return cast("Hub", current_app.extensions["store_hub"])
