"""API keys with scopes; compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, request
from flask_smorest import abort

F = TypeVar("F", bound=Callable[..., Any])


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :].strip()
    return request.headers.get("X-API-Key")


def _key_problem(scope: str, expected: str | None, presented: str | None) -> str | None:
    if expected is None:
        return f"no API key is configured for scope '{scope}' on this hub"
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        return f"a valid API key with scope '{scope}' is required"
    return None


def require_scope(scope: str) -> Callable[[F], F]:
    """Reject the request with 401 unless it carries the API key configured for `scope`."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            keys: dict[str, str | None] = current_app.config["API_KEYS"]
            problem = _key_problem(scope, keys.get(scope), _presented_key())
            if problem is not None:
                abort(401, message=problem)
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate
