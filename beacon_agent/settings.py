"""Typed settings from embedded defaults, a TOML file, then environment variables.

The agent's and the hub's configurations are both frozen dataclasses whose fields carry a parser
and an example (`spec`); this module turns raw values into them, and every error names the key,
what is wrong and how to write it, because the person reading it is an IT technician at a store.
It lives in beacon_agent because that is the package both the agent and the hub install.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import Field, field, fields
from pathlib import Path
from typing import Any

Parser = Callable[[Any], Any]


class ConfigError(ValueError):
    """A configuration value that cannot be used, with the fix."""


def spec(default: Any, parse: Parser, example: str, secret: bool = False) -> Any:
    """A settings field: its default, how to parse a raw value, and how it is written in TOML."""
    # A secret stays out of repr(), so a logged config never shows a password or an API key.
    return field(default=default, repr=not secret, metadata={"parse": parse, "example": example})


def number(kind: type, low: float, high: float) -> Parser:
    """A parser for an int or float within [low, high] (booleans and NaN refused)."""
    noun = "a whole number" if kind is int else "a number"
    problem = f"must be {noun} between {low} and {high}"

    def check(value: Any) -> Any:
        if isinstance(value, bool) or (kind is int and isinstance(value, float)):
            raise ValueError(problem)
        try:
            parsed = kind(value)
        except (TypeError, ValueError):
            raise ValueError(problem) from None
        if not low <= parsed <= high:  # also false for NaN
            raise ValueError(problem)
        return parsed

    return check


def optional_number(low: float, high: float) -> Callable[[Any], float | None]:
    """Like `number(float, ...)`, but an empty value means unset."""
    check = number(float, low, high)

    def parse(value: Any) -> float | None:
        return None if value in (None, "") else float(check(value))

    return parse


def text(value: Any) -> str:
    """A string, as given."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def optional_text(value: Any) -> str | None:
    """A string, or unset when empty."""
    return None if value in (None, "") else text(value)


def choice(*options: str) -> Callable[[Any], str]:
    """A parser for one of a few fixed strings."""

    def check(value: Any) -> str:
        if str(value) not in options:
            raise ValueError("must be one of " + ", ".join(repr(o) for o in options))
        return str(value)

    return check


def _fields(settings_class: type) -> dict[str, Field[Any]]:
    return {f.name: f for f in fields(settings_class)}


def example(settings_class: type, key: str) -> str:
    """How a key is written in the TOML file."""
    return str(_fields(settings_class)[key].metadata["example"])


def parse_values(settings_class: type, values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Parse raw values for the settings class; a ConfigError names the key and the fix."""
    known = _fields(settings_class)
    parsed: dict[str, Any] = {}
    for key, raw in values.items():
        spec_field = known.get(key)
        if spec_field is None:
            raise ConfigError(
                f"config error in {source}: unknown key {key!r}; "
                f"known keys are: {', '.join(sorted(known))}"
            )
        try:
            parsed[key] = spec_field.metadata["parse"](raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"config error in {source}: {key} {exc} (got {raw!r}); "
                f"set it like: {spec_field.metadata['example']}"
            ) from None
    return parsed


def load_layers(
    settings_class: type,
    path: Path | None,
    environ: Mapping[str, str] | None,
    env_prefix: str,
    missing_file_hint: str = "",
) -> dict[str, Any]:
    """The parsed values of the TOML file (if any), then of `<env_prefix><KEY>` variables."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            with path.open("rb") as handle:
                values.update(parse_values(settings_class, tomllib.load(handle), str(path)))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist{missing_file_hint}") from None
        except IsADirectoryError:
            raise ConfigError(f"config file {path} is a directory, not a TOML file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    env = os.environ if environ is None else environ
    known = _fields(settings_class)
    overrides = {
        name[len(env_prefix) :].lower(): value
        for name, value in env.items()
        if name.startswith(env_prefix) and name[len(env_prefix) :].lower() in known
    }
    values.update(parse_values(settings_class, overrides, f"environment ({env_prefix}*)"))
    return values
