"""The benchmarks still run and print their reports (tiny runs; the figures are bench/README.md's).

They are deliverables of their own (the issues ask for their figures) and nothing else runs
them, so a change to the code they drive could break them unnoticed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ("agents: 7 (seven)", "[passers-by]")),
        (
            ("--agents", "two-per-zone", "--true-velocity"),
            ("agents: 10 (two-per-zone)", "DIAGNOSTIC: the tracker knows", "[passers-by]"),
        ),
        # The oracle runs no passers-by: it would name their true zone, outside, every time.
        (("--tracker", "zones", "--oracle"), ("DIAGNOSTIC: oracle",)),
    ],
)
def test_the_accuracy_harness_reports_every_figure(
    args: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    run = _run("accuracy.py", "--shoppers", "4", "--minutes", "3", "--passers", "2", *args)
    # Exit 1 is a missed target, which four shoppers for three minutes may well miss.
    assert run.returncode in (0, 1), run.stderr
    for line in ("[all]", "target wrong zone overall", "per true change", *expected):
        assert line in run.stdout


def test_the_identity_table_bench_runs() -> None:
    run = _run("identity_scale.py", "--sizes", "2000")
    assert run.returncode == 0, run.stderr
    assert "2,000" in run.stdout


def test_the_ingest_bench_runs() -> None:
    run = _run("hub_ingest.py", "--phones", "4", "--seconds", "5", "--repeat", "1")
    assert run.returncode == 0, run.stderr
    assert "position tracker, every 0.5 s" in run.stdout


def test_the_agent_throughput_bench_runs() -> None:
    run = _run("agent_throughput.py", "--seconds", "5", "--phones", "10", "--repeat", "1")
    assert run.returncode == 0, run.stderr
    assert "ads per CPU-second" in run.stdout
