"""Reading a store's stock file (CSV) into rows, with every bad row reported by line number."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field

from marshmallow import Schema, ValidationError

from store_hub.operations.stock import StockRow

REQUIRED_COLUMNS = ("sku", "on_hand", "location")
OPTIONAL_COLUMNS = ("size", "colour", "product_code")


class StockFileError(Exception):
    """The file as a whole cannot be read (no header, missing columns, not CSV)."""


@dataclass
class StockFile:
    """The good rows of a stock file, and the bad ones as (line number, reason)."""

    rows: list[StockRow] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


def _reason(messages: dict[str, object]) -> str:
    parts = []
    for name, problem in messages.items():
        text = "; ".join(map(str, problem)) if isinstance(problem, list) else str(problem)
        parts.append(f"{name}: {text}")
    return ", ".join(parts)


def read_stock_csv(lines: Iterable[str], schema: Schema) -> StockFile:
    """Parse CSV text (header sku,on_hand,location[,size,colour,product_code]) row by row.

    `schema` is the API's row schema, so a file and a PUT are held to the same rules. Line
    numbers count the header as line 1, as a spreadsheet shows them.
    """
    reader = csv.DictReader(lines)
    header = [name.strip() for name in reader.fieldnames or []]
    if not header:
        raise StockFileError("the file is empty: it needs a header line sku,on_hand,location")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    unknown = [name for name in header if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        raise StockFileError(
            f"header {','.join(header)}: "
            + "; ".join(
                [f"missing {', '.join(missing)}"] * bool(missing)
                + [f"unknown column {', '.join(unknown)}"] * bool(unknown)
            )
            + f" (expected {','.join(REQUIRED_COLUMNS)}[,{','.join(OPTIONAL_COLUMNS)}])"
        )
    reader.fieldnames = header
    result = StockFile()
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        if None in raw:
            result.problems.append((line, "more cells than the header has columns"))
            continue
        cells = {key: (value or "").strip() for key, value in raw.items()}
        try:
            row = StockRow(**schema.load(cells))
        except ValidationError as error:
            messages = error.messages
            reason = _reason(messages) if isinstance(messages, dict) else str(messages)
            result.problems.append((line, reason))
            continue
        if row.sku in seen:
            result.problems.append((line, f"sku: {row.sku} already on line {seen[row.sku]}"))
            continue
        seen[row.sku] = line
        result.rows.append(row)
    return result
