"""One way for the domain's settings to refuse values that make them meaningless (pure)."""

from __future__ import annotations

from collections.abc import Mapping


def reject_invalid(kind: str, checks: Mapping[str, bool]) -> None:
    """Raise ValueError naming every setting whose check is False, in the checks' order."""
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise ValueError(f"invalid {kind} settings: {', '.join(bad)}")
