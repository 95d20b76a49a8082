"""The benchmarks still run and print their reports (tiny runs; the figures are bench/README.md's).

They are deliverables of their own (the issues ask for their figures) and nothing else runs
them, so a change to the code they drive could break them unnoticed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from store_hub.demo.walks import Route
from store_hub.domain.fusion import Arrived, HeardAgain, WentQuiet, ZoneChanged

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
    for line in (
        "[all]",
        "shown as last heard in a zone",
        "target wrong zone overall",
        "per true change",
        *expected,
    ):
        assert line in run.stdout


def _accuracy() -> ModuleType:
    spec = importlib.util.spec_from_file_location("accuracy", BENCH / "accuracy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["accuracy"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_zone_shown_as_last_heard_is_scored_apart_from_one_shown_as_where_they_are() -> None:
    accuracy = _accuracy()
    # Standing in the entrance for 100 s. The hub: there at 10 s, wrongly at the tills from 20 s,
    # quiet (last heard at the tills) 30-50 s, heard again at the tills, back at 60 s.
    t0 = accuracy.T0
    shopper = accuracy.Shopper("d1", "browse", b"k" * 16, Route(5.0, 5.0, t0).wait(100), 0.2, [])
    shopper.entered, shopper.left = t0, t0 + 100

    def at(seconds: float) -> datetime:
        return accuracy.START + timedelta(seconds=seconds)

    run = accuracy.Run()
    run.first_heard["d1"] = t0
    run.events["d1"] = [
        (t0 + 10, Arrived("d1", at(10), "entrance", 0.9)),
        (t0 + 20, ZoneChanged("d1", at(20), "entrance", "tills", 0.6, at(20))),
        (t0 + 30, WentQuiet("d1", at(30), "tills", at(24))),
        (t0 + 50, HeardAgain("d1", at(50), "tills", 0.6)),
        (t0 + 60, ZoneChanged("d1", at(60), "tills", "entrance", 0.9, at(60))),
    ]

    live = accuracy.report([shopper], run)["all"]
    assert (live.detected, live.quiet, live.wrong, live.wrong_quiet) == pytest.approx(
        (90, 20, 20, 20)
    )
    assert live.wrong_share() == pytest.approx(20 / 70)  # of the 70 s a zone was shown
    assert live.claimed_share() == pytest.approx(40 / 90)
    assert live.strict_share() == pytest.approx((20 + 20 + 10) / 100)
    # The recorded stays know nothing of quiet: the tills from 20 s to 60 s.
    recorded = accuracy.report([shopper], run, recorded=True)["all"]
    assert (recorded.quiet, recorded.wrong) == pytest.approx((0, 40))
    assert recorded.wrong_share() == pytest.approx(40 / 90)


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
