"""A real agent (pipeline, spool, MQTT publisher) fed with simulated advertisements, for the demo.

`store-hub demo` hands it trace records as its simulated phones "advertise"; everything from
there on is what runs on a store device, on the wall clock.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from beacon_agent.config import AgentConfig
from beacon_agent.pipeline import Agent, Ticker
from beacon_agent.sources import payloads


class DemoAgent:
    """A running agent that takes trace records instead of listening to a radio."""

    def __init__(self, agent: Agent, workdir: Path | None) -> None:
        """Start ticking the agent's pipeline on the wall clock."""
        self.agent = agent
        self._workdir = workdir
        self._ticker = Ticker(agent.pipeline)
        self._ticker.start()

    def feed(self, record: dict[str, Any]) -> None:
        """Hand over one trace record as an advertisement heard now."""
        service_data, manufacturer_data, rssi = payloads(record)
        self.agent.pipeline.on_advertisement(time.time(), service_data, manufacturer_data, rssi)

    def stop(self) -> None:
        """Stop ticking, drain briefly, go offline and remove the throwaway spool."""
        self._ticker.stop()
        self.agent.stop(drain_timeout=2.0)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)


def start_demo_agent(
    store_id: str,
    agent_id: str,
    broker_url: str,
    away_timeout_s: float = 15,
    spool_path: Path | None = None,
) -> DemoAgent:
    """Start an agent for the demo store; its spool is a temporary file unless given."""
    workdir = None
    if spool_path is None:
        workdir = Path(tempfile.mkdtemp(prefix="beacon-agent-demo-"))
        spool_path = workdir / "spool.db"
    config = AgentConfig().with_overrides(
        store_id=store_id,
        agent_id=agent_id,
        broker_url=broker_url,
        away_timeout_s=away_timeout_s,
        spool_path=str(spool_path),
        state_path=str(spool_path.with_name(spool_path.stem + ".state.json")),
    )
    agent = Agent(config, clock=time.time)
    agent.start()
    return DemoAgent(agent, workdir)
