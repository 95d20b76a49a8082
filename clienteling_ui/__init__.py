"""The associate's tablet: pages and browser assets, as a Flask blueprint mounted at /tablet."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

bp = Blueprint(
    "clienteling",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
VENDOR_FILES = ("socket.io.esm.min.js",)
NOT_BUILT = "UI assets not built: run scripts/build_ui.sh"
# Store ids also name MQTT topics and Socket.IO rooms, so keep them to a safe alphabet.
STORE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

# The page builds every node with textContent and loads nothing from elsewhere, so it can
# forbid inline script outright: a bug that lets shopper data into markup stays inert.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


def assets_built() -> bool:
    """Whether scripts/build_ui.sh has vendored the npm packages the pages import."""
    return all((VENDOR_DIR / name).is_file() for name in VENDOR_FILES)


@bp.get("/")
def floor() -> ResponseReturnValue:
    """The live list of opted-in shoppers in the store named by ?store= (or STORE_ID)."""
    store_id = request.args.get("store") or current_app.config.get("STORE_ID") or ""
    problem = None
    status = 200
    if not STORE_ID.fullmatch(store_id):
        problem = "No valid store selected: open this page as /tablet/?store=<store id>."
        status = 400
    elif not assets_built():
        problem = NOT_BUILT
        status = 503
    html = render_template("floor.html", store_id=store_id, problem=problem)
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    }
    return html, status, headers
