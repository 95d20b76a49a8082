"""`store-hub inventory import` as a subprocess on real files and a real SQLite database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import InventoryItem

pytestmark = pytest.mark.integration

GOOD = """sku,on_hand,location,size,colour
KN-0001-BLK-S,0,"Womenswear, rail 4",S,Black
KN-0001-BLK-M,2,"Womenswear, rail 4",M,Black
"""
BAD = """sku,on_hand,location,size,colour
KN-0001-BLK-S,0,"Womenswear, rail 4",S,Black
KN-0001-BLK-M,two,"Womenswear, rail 4",M,Black
KN-0001-BLK-L,1,"Womenswear, rail 4",L,Black
,3,Somewhere,M,Navy
KN-0001-BLK-S,5,,S,Black
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORE_HUB_")}
    return subprocess.run(
        [sys.executable, "-m", "store_hub", "inventory", "import", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def stock(url: str, store: str = "s042") -> dict[str, tuple[int, str | None]]:
    db = Database.connect(url)
    try:
        with db.transaction() as session:
            rows = session.scalars(select(InventoryItem).where(InventoryItem.store_id == store))
            return {row.sku: (row.on_hand, row.location) for row in rows}
    finally:
        db.dispose()


@pytest.fixture
def config(tmp_path: Path) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path}/hub.db"
    path = tmp_path / "hub.toml"
    path.write_text(f'store_id = "s042"\ndatabase_url = "{url}"\n')
    return path, url


def test_a_file_with_bad_rows_is_refused_whole_with_line_numbers(
    tmp_path: Path, config: tuple[Path, str]
) -> None:
    path, url = config
    csv = tmp_path / "stock.csv"
    csv.write_text(BAD)
    result = run(str(csv), "--config", str(path), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith(str(csv))]
    assert problems == [
        f"{csv}:3: on_hand: Not a valid integer.",
        f"{csv}:5: sku: Missing data for required field.",
        f"{csv}:6: sku: KN-0001-BLK-S already on line 2",
    ]
    assert "nothing imported" in result.stderr
    assert stock(url) == {}

    skipping = run(str(csv), "--config", str(path), "--skip-bad-rows", cwd=tmp_path)
    assert skipping.returncode == 0, skipping.stderr
    assert "imported 2 row(s) into store s042's stock, skipped 3 bad row(s)" in skipping.stdout
    assert stock(url) == {
        "KN-0001-BLK-S": (0, "Womenswear, rail 4"),
        "KN-0001-BLK-L": (1, "Womenswear, rail 4"),
    }


def test_a_good_file_is_imported_into_the_chosen_store(
    tmp_path: Path, config: tuple[Path, str]
) -> None:
    path, url = config
    csv = tmp_path / "stock.csv"
    csv.write_text(GOOD)
    result = run(str(csv), "--config", str(path), "--store", "s007", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert stock(url, "s007") == {
        "KN-0001-BLK-S": (0, "Womenswear, rail 4"),
        "KN-0001-BLK-M": (2, "Womenswear, rail 4"),
    }
    assert stock(url) == {}


def test_a_wrong_header_is_refused_before_any_row(tmp_path: Path, config: tuple[Path, str]) -> None:
    path, _ = config
    csv = tmp_path / "stock.csv"
    csv.write_text("sku,qty,location\nA-1,1,x\n")
    result = run(str(csv), "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert "missing on_hand" in result.stderr and "unknown column qty" in result.stderr
