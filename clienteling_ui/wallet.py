"""The shopper wallet page of the demo (the retailer's app stand-in), mounted at /wallet."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, render_template, send_from_directory
from flask.typing import ResponseReturnValue

from clienteling_ui import CONTENT_SECURITY_POLICY

STATIC = Path(__file__).resolve().parent / "static"
QR_MODULE = STATIC / "vendor" / "qrcode-generator.mjs"

bp = Blueprint(
    "wallet",
    __name__,
    url_prefix="/wallet",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# The tablet's policy, plus a service worker from this origin.
WALLET_CSP = CONTENT_SECURITY_POLICY + "; worker-src 'self'"


@bp.get("/")
def wallet() -> ResponseReturnValue:
    """Consents, enrollment, the advertised token, push and the offers with QR codes."""
    html = render_template("wallet.html", assets_built=QR_MODULE.is_file())
    headers = {
        "Content-Security-Policy": WALLET_CSP,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    }
    return html, 200, headers


@bp.get("/sw.js")
def service_worker() -> ResponseReturnValue:
    """The wallet's service worker, served from /wallet/ so its scope is the wallet."""
    response = send_from_directory(STATIC, "wallet-sw.js", mimetype="text/javascript")
    # Browsers check for a new worker on each navigation; never let a cache pin an old one.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/wallet/"
    return response
