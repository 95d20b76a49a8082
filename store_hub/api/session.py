"""Who is signed in on a tablet: the associate in Flask's signed session cookie.

Pages and endpoints guard themselves with `require_associate(roles=...)`; the Socket.IO floor
namespace reads the same session at connect (store_hub.adapters.realtime). The cookie holds only
the associate's id, store, name and role: nothing about shoppers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import wraps
from typing import Any, Literal, TypeVar, cast
from urllib.parse import quote

from flask import jsonify, redirect, request, session
from werkzeug.wrappers import Response

F = TypeVar("F", bound=Callable[..., Any])
Role = Literal["associate", "manager", "it"]
ROLES: tuple[Role, ...] = ("associate", "manager", "it")
SESSION_KEY = "associate"
SIGN_IN_PATH = "/tablet/sign-in"


@dataclass(frozen=True)
class SignedInAssociate:
    """The associate a request comes from, as the session cookie holds them."""

    associate_id: str
    store_id: str
    name: str
    role: Role

    @classmethod
    def from_session(cls, value: object) -> SignedInAssociate | None:
        """The associate stored in a session, or None if it holds nothing usable."""
        if not isinstance(value, dict):
            return None
        associate_id, store_id, name, role = (
            value.get(key) for key in ("associate_id", "store_id", "name", "role")
        )
        texts = (associate_id, store_id, name)
        if not all(isinstance(text, str) and text for text in texts) or role not in ROLES:
            return None
        return cls(str(associate_id), str(store_id), str(name), cast("Role", role))


def current_associate() -> SignedInAssociate | None:
    """The associate signed in on this request's session, if any."""
    return SignedInAssociate.from_session(session.get(SESSION_KEY))


def sign_in(associate: SignedInAssociate) -> None:
    """Start a session for `associate`, dropping whatever the old one held."""
    # A fresh session on sign-in: nothing set before it (by anyone) carries over.
    session.clear()
    session[SESSION_KEY] = asdict(associate)
    session.permanent = False


def sign_out() -> None:
    """End the session."""
    session.clear()


def _wants_html() -> bool:
    if request.path.startswith("/api/") or request.method != "GET":
        return False
    return request.accept_mimetypes.accept_html


def _refuse(status: int, message: str) -> Response:
    if status == 401 and _wants_html():
        target = request.full_path if request.query_string else request.path
        return redirect(f"{SIGN_IN_PATH}?next={quote(target, safe='/?=&')}")
    code = "unauthorized" if status == 401 else "forbidden"
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def require_associate(roles: Iterable[Role] | None = None) -> Callable[[F], F]:
    """Guard a view: a signed-in associate (of one of `roles`, if given) or 401/403.

    Pages (GET asking for HTML) are redirected to the sign-in page instead of a 401. The view
    can read the associate with `current_associate()`.
    """
    allowed = frozenset(roles) if roles is not None else frozenset(ROLES)

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            associate = current_associate()
            if associate is None:
                return _refuse(401, "sign in as an associate of this store first")
            if associate.role not in allowed:
                return _refuse(403, f"this needs the role {' or '.join(sorted(allowed))}")
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate
