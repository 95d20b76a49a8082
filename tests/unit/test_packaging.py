"""A store device installs only the agent: no web framework, no ORM, nothing of the hub."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HUB_ONLY = ("flask", "sqlalchemy", "alembic", "requests", "pywebpush", "amqtt", "psycopg")
AGENT_MODULES = [
    path.stem for path in (ROOT / "beacon_agent").glob("*.py") if path.stem != "__init__"
]


def test_the_agent_extra_and_core_dependencies_name_nothing_of_the_hub() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["agent"]]
    for requirement in wanted:
        assert not requirement.lower().startswith(HUB_ONLY), requirement


def test_every_agent_module_imports_without_the_hub_packages() -> None:
    # A finder that refuses the hub's packages, as if they were not installed on the device.
    blocker = f"""
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {(*HUB_ONLY, "store_hub")!r}:
            raise ModuleNotFoundError(f"{{name}} is not installed on a store device")
        return None
sys.meta_path.insert(0, Refuse())
import importlib
for module in {AGENT_MODULES!r}:
    importlib.import_module("beacon_agent." + module)
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", blocker], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert len(AGENT_MODULES) >= 5
