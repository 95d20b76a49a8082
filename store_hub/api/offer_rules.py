"""The offer rules, for IT: read the policy in force, replace it (validated, saved, live)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from store_hub.adapters.offer_rules_file import save_rules_file
from store_hub.api.auth import require_scope
from store_hub.api.context import hub
from store_hub.domain.offer_rules_load import RulesError, dump_policy, parse_policy

blp = Blueprint(
    "offer_rules", __name__, url_prefix="/api/v1", description="Offer rules (IT, scope it)"
)


@blp.route("/offer-rules")
class OfferRules(MethodView):
    @require_scope("it")
    @blp.response(200)
    def get(self) -> dict[str, Any]:
        """The offer policy in force, in the rules file's structure (docs/offers.md)."""
        return dump_policy(hub().offers.policy)

    @require_scope("it")
    @blp.response(200)
    def put(self) -> dict[str, Any]:
        """Replace the whole policy: validated (422 lists every problem), saved, used at once."""
        body = request.get_json(silent=True)
        if body is None:
            abort(400, message="send the policy as a JSON object (the shape GET returns)")
        try:
            policy = parse_policy(body, "request body")
        except RulesError as exc:
            abort(
                422,
                message="the offer rules are not valid: see details",
                error_code="invalid_rules",
                errors={"problems": list(exc.problems)},
            )
        h = hub()
        try:
            save_rules_file(h.rules_path, policy)
        except PermissionError as exc:
            abort(409, message=str(exc), error_code="rules_read_only")
        except OSError as exc:
            abort(409, message=f"cannot save {h.rules_path}: {exc.strerror}", error_code="conflict")
        h.offers.replace_policy(policy)
        return dump_policy(policy)
