"""Every API error as the contract says: {"error": {"code": ..., "message": ...}}."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


class ContractApi(Api):  # type: ignore[misc]
    """flask-smorest's Api with the contract's error body."""

    def handle_http_exception(self, error: HTTPException) -> tuple[Response, int]:
        """Render any HTTP error in the contract's shape, with validation details if any."""
        status = error.code or 500
        data: dict[str, Any] = getattr(error, "data", None) or {}
        body: dict[str, Any] = {
            "code": data.get("error_code") or _CODES.get(status, "server_error"),
            "message": data.get("message") or error.description or error.name,
        }
        details = data.get("errors") or data.get("messages")
        if details:
            body["details"] = details
            if status == 422:
                body["message"] = "the request body or parameters are invalid: see details"
        response = jsonify({"error": body})
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        return response, status
