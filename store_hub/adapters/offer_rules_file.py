"""The offer rules file: read and validated at start, replaced atomically by the admin API."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from store_hub.domain.offer_rules import OfferPolicy
from store_hub.domain.offer_rules_load import RulesError, load_policy, policy_to_yaml

DEMO_RULES = Path(__file__).resolve().parent.parent / "demo" / "data" / "offer_rules.yaml"


def rules_path(configured: str | None) -> Path:
    """The configured rules file, or the packaged demo rules when none is configured."""
    return Path(configured) if configured else DEMO_RULES


def load_rules_file(path: Path) -> OfferPolicy:
    """The policy in `path`; RulesError naming the file and every problem in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(
            [f"{path}: cannot read the offer rules ({exc.strerror}); set offer_rules_path"]
        ) from None
    return load_policy(text, str(path))


def save_rules_file(path: Path, policy: OfferPolicy) -> None:
    """Replace `path` with `policy` as YAML, atomically (readers see the old or the new file)."""
    if path == DEMO_RULES:
        raise PermissionError(
            "the packaged demo rules are read-only: set offer_rules_path to a file of your own"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write("# Offer rules; replaced through PUT /api/v1/offer-rules.\n")
            file.write(policy_to_yaml(policy))
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
