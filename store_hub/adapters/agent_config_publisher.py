"""Agents' configuration on their retained MQTT `config` topic (hub -> agent)."""

from __future__ import annotations

import json
from typing import Any, Protocol

from beacon_agent.protocol import CONFIG, agent_topic


class RetainedPublisher(Protocol):
    """An MQTT session that can publish (the ingest's own)."""

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None: ...


class MqttAgentConfigPublisher:
    """Publishes an agent's config QoS 1, retained, so the agent gets it whenever it connects."""

    def __init__(self, session: RetainedPublisher | None = None, topic_root: str = "") -> None:
        self._session = session
        self._root = topic_root

    def bind(self, session: RetainedPublisher) -> None:
        """Publish on `session` (the ingest, which is built after the topology that uses this)."""
        self._session = session

    def publish(self, store_id: str, agent_id: str, payload: dict[str, Any]) -> None:
        """Replace the agent's retained config with `payload`."""
        if self._session is None:
            raise RuntimeError("the config publisher has no MQTT session bound")
        topic = agent_topic(self._root, store_id, agent_id, CONFIG)
        self._session.publish(topic, json.dumps(payload).encode(), qos=1, retain=True)
