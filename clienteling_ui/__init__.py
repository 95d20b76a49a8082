"""The associate's tablet: pages and browser assets, as a Flask blueprint mounted at /tablet."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue

from store_hub.api.session import (
    SignedInAssociate,
    current_associate,
    require_associate,
    sign_in,
    sign_out,
)

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
def content_security_policy(image_origins: tuple[str, ...] = ()) -> str:
    """The pages' CSP; product images may also come from `image_origins` (e.g. a plain-http
    online store on the shop's own network, as in the demo) besides any https origin."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            " ".join(("img-src 'self' https: data:", *image_origins)),
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()


def assets_built() -> bool:
    """Whether scripts/build_ui.sh has vendored the npm packages the pages import."""
    return all((VENDOR_DIR / name).is_file() for name in VENDOR_FILES)


def _page(template: str, status: int = 200, **context: object) -> ResponseReturnValue:
    """A tablet page with the headers every one of them carries."""
    html = render_template(template, **context)
    headers = {
        "Content-Security-Policy": content_security_policy(
            tuple(current_app.config.get("TABLET_IMAGE_ORIGINS", ()))
        ),
        "Cache-Control": "no-store",
        # same-origin, not no-referrer: the hub then sees an Origin on its own form posts,
        # and other sites (shopper images) still get no referrer.
        "Referrer-Policy": "same-origin",
    }
    return html, status, headers


@bp.get("/")
@require_associate()
def floor() -> ResponseReturnValue:
    """The live list of opted-in shoppers in the signed-in associate's store."""
    associate = current_associate()
    assert associate is not None  # require_associate saw to it
    store_id = request.args.get("store") or associate.store_id
    problem = None
    status = 200
    if not STORE_ID.fullmatch(store_id):
        problem = "No valid store selected: open this page as /tablet/?store=<store id>."
        status = 400
    elif store_id != associate.store_id:
        problem = f"You are signed in for store {associate.store_id}, not {store_id}."
        status = 403
    elif not assets_built():
        problem = NOT_BUILT
        status = 503
    idle_minutes = current_app.config.get("TABLET_IDLE_LOCK_MINUTES", 10)
    return _page(
        "floor.html",
        status,
        store_id=store_id,
        problem=problem,
        associate=associate,
        idle_lock_ms=int(float(idle_minutes) * 60_000),
    )


def _same_origin() -> bool:
    """Whether a form post comes from this hub's own pages (SameSite=Lax is the other guard)."""
    origin = request.headers.get("Origin")
    return origin is None or origin == request.host_url.rstrip("/")


def _safe_next(target: str | None) -> str:
    # Only paths on this hub: an open redirect after sign-in is a phishing tool.
    if target and target.startswith("/tablet/") and not target.startswith("//"):
        return target
    return "/tablet/"


@bp.get("/sign-in")
def sign_in_page() -> ResponseReturnValue:
    """The sign-in form."""
    return _page("sign_in.html", next=_safe_next(request.args.get("next")), problem=None)


@bp.post("/session")
def create_session() -> ResponseReturnValue:
    """Check an associate's email and password and start their session."""
    from store_hub.operations.associates import authenticate

    target = _safe_next(request.form.get("next"))
    if not _same_origin():
        return _page("sign_in.html", 403, next=target, problem="Sign in from this hub's page.")
    hub = current_app.extensions.get("store_hub")
    store_id = current_app.config.get("STORE_ID") or ""
    if hub is None:
        return _page("sign_in.html", 503, next=target, problem="Sign-in is not available here.")
    associate = authenticate(
        hub.db, store_id, request.form.get("email", ""), request.form.get("password", "")
    )
    if associate is None:
        return _page(
            "sign_in.html", 401, next=target, problem="That email and password do not match."
        )
    sign_in(associate)
    return redirect(target, code=303)


@bp.post("/session/unlock")
@require_associate()
def unlock_session() -> ResponseReturnValue:
    """Check the signed-in associate's password again after the idle lock."""
    from store_hub.operations.associates import check_password

    associate = current_associate()
    hub = current_app.extensions.get("store_hub")
    body = request.get_json(silent=True) or {}
    password = body.get("password") if isinstance(body, dict) else None
    if not _same_origin() or hub is None or associate is None or not isinstance(password, str):
        return {"error": {"code": "forbidden", "message": "cannot unlock here"}}, 403
    if not check_password(hub.db, associate.associate_id, password):
        return {"error": {"code": "wrong_password", "message": "wrong password"}}, 401
    return {"ok": True, "name": associate.name}


@bp.post("/sign-out")
def end_session() -> ResponseReturnValue:
    """Sign out and go back to the sign-in page."""
    if _same_origin():
        sign_out()
    return redirect("/tablet/sign-in", code=303)


__all__ = ["SignedInAssociate", "bp", "current_associate", "require_associate"]

# The IT and manager views add their routes to `bp`; imported last, as they import `bp`.
from clienteling_ui import views as views  # noqa: E402
