"""What the hub's ingest costs per second of a busy store: the loudest-zone rule against the
position tracker, with agents reporting every 1 s or every 0.5 s.

The real PresenceService (schema-checked reports, EID look-up, fusion, one SQLite transaction
per report) on a temporary database, fed the simulated floor of bench/accuracy.py: seven agents,
`--phones` enrolled shoppers walking about, every agent hearing every phone. CPU time
(`time.process_time`) per simulated second, as a share of one core, and as a ratio to the rule
at 1 s measured in the same run (machines here are shared and noisy).

Run: .venv/bin/python bench/hub_ingest.py [--phones 40] [--seconds 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import AGENTS, STORE_H, STORE_W, ZONES, mean_rssi

from beacon_agent.protocol import Sighting, SightingsReport, dump_report, load_report
from store_hub.adapters.db.engine import Database
from store_hub.domain.eid import compute_eid, eid_token
from store_hub.operations.agent_health import AgentLedger
from store_hub.operations.enrollment import Consents, enroll_device
from store_hub.operations.presence import PresenceService
from store_hub.operations.topology import Topology

STORE = "bench"
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TX_POWER_0M = -20
ADS_PER_S = 5  # what an agent hears of one phone a second, after scan losses


class _NoPublisher:
    def publish(self, store_id: str, agent_id: str, payload: dict[str, Any]) -> None:
        """Agents' retained config is not part of the ingest's cost."""


def _hub(tmp: Path, positions: bool) -> tuple[PresenceService, list[tuple[str, bytes]]]:
    db = Database.connect(f"sqlite:///{tmp}/hub.db")
    keys = []
    with db.transaction() as session:
        for index in range(PHONES):
            key = random.Random(index).randbytes(16)
            enroll_device(
                session, f"c{index:04d}", Consents(True, True, True), 10, START, identity_key=key
            )
            keys.append((f"c{index:04d}", key))
    topology = Topology(db, STORE, _NoPublisher())
    topology.load()
    for zone in ZONES:
        bounds = (zone.x0, zone.y0, zone.x1, zone.y1) if positions else None
        cx, cy = (zone.x0 + zone.x1) / 2, (zone.y0 + zone.y1) / 2
        topology.put_zone(zone.name, zone.name, "department", cx, cy, START, bounds=bounds)
    for agent in AGENTS:
        where = (agent.x, agent.y) if positions else None
        topology.register_agent(agent.agent_id, agent.zone, 0.0, None, START, position=where)
    presence = PresenceService(
        db,
        STORE,
        timedelta(seconds=90),
        lambda event: None,
        topology=topology,
        agents=AgentLedger(db, topology),
    )
    presence.load(START)
    return presence, keys


def _payloads(
    keys: list[tuple[str, bytes]], seconds: int, interval: float, levels: bool, seed: int
) -> list[tuple[datetime, bytes]]:
    """Every agent's reports for the run, as JSON bytes, in time order (built before timing)."""
    rng = random.Random(seed)
    walkers = [
        [rng.uniform(1, STORE_W - 1), rng.uniform(1, STORE_H - 1), rng.gauss(0, 0.7)] for _ in keys
    ]
    tokens = [eid_token(compute_eid(key, 10, int(START.timestamp()))) for _, key in keys]
    out: list[tuple[datetime, bytes]] = []
    per_report = max(1, round(ADS_PER_S * interval))
    steps = int(seconds / interval)
    for step in range(1, steps + 1):
        now = START + timedelta(seconds=step * interval)
        for walker in walkers:  # across the floor and back, at their own pace
            walker[0] += walker[2] * interval
            if not 0.5 <= walker[0] <= STORE_W - 0.5:
                walker[2] = -walker[2]
                walker[0] = min(STORE_W - 0.5, max(0.5, walker[0]))
        for agent in AGENTS:
            sightings = []
            for token, walker in zip(tokens, walkers, strict=True):
                level = mean_rssi(agent, walker[0], walker[1], True)
                heard = tuple(
                    (
                        round(i * 1000 * interval / per_report),
                        float(round(level + rng.gauss(0, 2.5))),
                    )
                    for i in range(per_report)
                )
                sightings.append(
                    Sighting(
                        token,
                        sum(d for _, d in heard) / len(heard),
                        len(heard),
                        now - timedelta(seconds=interval),
                        now,
                        TX_POWER_0M,
                        None,
                        heard if levels else (),
                    )
                )
            seq = step - 1
            report = SightingsReport(STORE, agent.agent_id, "b1", seq, now, tuple(sightings))
            out.append((now, json.dumps(dump_report(report)).encode()))
    return out


def _run(positions: bool, interval: float, seconds: int, seed: int) -> float:
    """CPU seconds the ingest spent per simulated second."""
    with tempfile.TemporaryDirectory() as tmp:
        presence, keys = _hub(Path(tmp), positions)
        payloads = _payloads(keys, seconds, interval, positions, seed)
        began = time.process_time()
        last_tick = START
        for now, payload in payloads:
            # As the MQTT adapter does: decode, validate, apply; the hub ticks once a second.
            presence.handle_report(load_report(json.loads(payload)), now)
            if now - last_tick >= timedelta(seconds=1):
                presence.tick(now)
                last_tick = now
        spent = time.process_time() - began
        assert presence.counters["unknown_token"] == 0, presence.counters
        return spent / seconds


def main(argv: list[str] | None = None) -> int:
    """Measure each configuration `--repeat` times (best), print shares of a core and ratios."""
    global PHONES
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--phones", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    PHONES = args.phones
    configurations = {
        "rule, reports every 1 s (baseline)": (False, 1.0),
        "rule, every 0.5 s": (False, 0.5),
        "position tracker, every 1 s": (True, 1.0),
        "position tracker, every 0.5 s": (True, 0.5),
    }
    best = {name: math.inf for name in configurations}
    for _ in range(args.repeat):  # interleaved, so machine noise falls on all alike
        for name, (positions, interval) in configurations.items():
            best[name] = min(best[name], _run(positions, interval, args.seconds, args.seed))
    baseline = best["rule, reports every 1 s (baseline)"]
    print(
        f"{args.phones} phones heard by {len(AGENTS)} agents, {args.seconds} s simulated, "
        f"best of {args.repeat}; CPU of the ingest (decode, schema, resolve, fusion, SQLite)"
    )
    for name, cost in best.items():
        print(f"  {name:38s} {cost:6.1%} of a core   x{cost / baseline:4.2f}")
    return 0


PHONES = 40

if __name__ == "__main__":
    sys.exit(main())
