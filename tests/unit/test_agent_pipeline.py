"""The agent's pipeline applying a hub-pushed config: per-advertisement levels on and off."""

from __future__ import annotations

import json
from pathlib import Path

from beacon_agent.config import AgentConfig, parse_remote
from beacon_agent.pipeline import Pipeline, load_state, save_state
from beacon_agent.protocol import SightingsReport, dump_report, load_report

EDDYSTONE = "0000feaa-0000-1000-8000-00805f9b34fb"
PHONE = bytes.fromhex("30eca0156ddac064192a")  # EID frame, tx -20 dBm at 0 m
T0 = 1_795_514_400.0


def hear(pipeline: Pipeline, start: float, values: list[float]) -> None:
    """One advertisement every 0.25 s from the same phone."""
    for n, rssi in enumerate(values):
        pipeline.on_advertisement(start + n * 0.25, {EDDYSTONE: PHONE}, {}, rssi)


def last_levels(reports: list[SightingsReport]) -> tuple[tuple[int, float], ...]:
    (sighting,) = reports[-1].sightings
    return sighting.levels


def test_a_pushed_config_turns_levels_on_for_the_next_report_and_off_again() -> None:
    reports: list[SightingsReport] = []
    pipeline = Pipeline(AgentConfig(calibration_offset_db=-2.0), reports.append)
    hear(pipeline, T0, [-60.0] * 10)  # 2.25 s: past the debounce
    pipeline.tick(T0 + 2.5)
    assert last_levels(reports) == ()
    assert "levels" not in dump_report(reports[-1])["sightings"][0]

    hear(pipeline, T0 + 2.5, [-61.0, -63.0])
    pipeline.apply_remote(parse_remote({"v": 1, "send_levels": True}))
    assert pipeline.telemetry()["send_levels"] is True
    pipeline.tick(T0 + 3.0)
    # The samples heard before the push are in the first report after it, calibrated.
    assert last_levels(reports) == ((0, -63.0), (250, -65.0))
    wire = json.loads(json.dumps(dump_report(reports[-1])))
    assert wire["sightings"][0]["levels"] == [[0, -63.0], [250, -65.0]]
    assert load_report(wire).sightings[0].levels == reports[-1].sightings[0].levels

    # The hub's next config says nothing about levels (say, a downgraded hub): they stop.
    pipeline.apply_remote(parse_remote({"v": 1, "zone": "entrance"}))
    hear(pipeline, T0 + 3.0, [-60.0])
    pipeline.tick(T0 + 3.5)
    assert last_levels(reports) == ()
    assert pipeline.config.send_levels is False


def test_the_saved_hub_config_brings_levels_back_after_a_restart(tmp_path: Path) -> None:
    config = AgentConfig(state_path=str(tmp_path / "state.json"))
    save_state(config, parse_remote({"v": 1, "send_levels": True}))
    restarted = load_state(config)
    assert restarted.send_levels is True
    reports: list[SightingsReport] = []
    pipeline = Pipeline(restarted, reports.append)
    hear(pipeline, T0, [-60.0] * 10)
    pipeline.tick(T0 + 2.5)
    assert len(last_levels(reports)) == 10
