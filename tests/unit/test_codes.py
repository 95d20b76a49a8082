"""Offer codes: random, readable, normalised from what people type."""

from __future__ import annotations

import re

import pytest

from store_hub.domain.codes import new_code, normalise_code


def test_codes_are_random_readable_and_normalise() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}", c) for c in codes)
    code = next(iter(codes))
    assert normalise_code(code.lower().replace("-", " ")) == code
    assert normalise_code("7k2qx-m9d4t") == "7K2QX-M9D4T"
    assert normalise_code("o0000-11111".replace("1", "l")) == "00000-11111"
    with pytest.raises(ValueError, match="10 letters"):
        normalise_code("short")
