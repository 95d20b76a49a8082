"""MQTT ingest: a persistent subscription whose messages one worker thread processes in order.

paho's network thread only enqueues; a bounded queue makes a slow worker push back on the
broker (QoS 1 flow control) instead of growing without limit.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from marshmallow import ValidationError

from beacon_agent.mqtt_session import BrokerAddress, connect_async, persistent_client
from beacon_agent.protocol import (
    SIGHTINGS,
    STATUS,
    SightingsReport,
    TopicError,
    load_report,
    load_status,
    parse_topic,
    subscription_filter,
)

log = logging.getLogger(__name__)
_STOP = object()


class ReportHandler(Protocol):
    """What the ingest hands validated messages to."""

    def handle_report(self, report: SightingsReport, now: datetime) -> None: ...
    def handle_status(self, agent_id: str, status: dict[str, Any], now: datetime) -> None: ...
    def tick(self, now: datetime) -> None: ...


class MqttIngest:
    """Subscribes to every agent of one store and feeds a handler from one worker thread."""

    def __init__(
        self,
        broker_url: str,
        client_id: str,
        store_id: str,
        handler: ReportHandler,
        clock: Callable[[], datetime],
        topic_root: str = "",
        protocol: str = "3.1.1",
        username: str | None = None,
        password: str | None = None,
        queue_size: int = 10_000,
        tick_interval_s: float = 1.0,
    ) -> None:
        self._address = BrokerAddress.parse(broker_url)
        self._store_id = store_id
        self._root = topic_root
        self._handler = handler
        self._clock = clock
        self._tick_interval = tick_interval_s
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self.counters: Counter[str] = Counter()
        self.agent_status: dict[str, dict[str, Any]] = {}
        self.connected = threading.Event()
        self._on_connected: list[Callable[[], None]] = []
        self._client = persistent_client(
            client_id, protocol, username, password, use_tls=self._address.tls
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._worker = threading.Thread(target=self._work, name="ingest-worker", daemon=True)

    def start(self) -> None:
        """Connect (retrying in the background) and start processing."""
        self._worker.start()
        connect_async(self._client, self._address)
        self._client.loop_start()

    def on_connected(self, callback: Callable[[], None]) -> None:
        """Call `callback` on paho's network thread after every (re)connect; keep it quick."""
        self._on_connected.append(callback)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Publish on the ingest's session; paho queues it while the broker is away."""
        self._client.publish(topic, payload, qos=qos, retain=retain)

    def stop(self) -> None:
        """Disconnect, then let the worker finish what is queued."""
        self._client.disconnect()
        self._client.loop_stop()
        self._queue.put(_STOP)
        self._worker.join(timeout=10)

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused the hub: %s", reason)
            return
        client.subscribe(
            [
                (subscription_filter(self._root, SIGHTINGS, self._store_id), 1),
                (subscription_filter(self._root, STATUS, self._store_id), 1),
            ]
        )
        self.connected.set()
        log.info("ingest connected to %s:%d", self._address.host, self._address.port)
        for callback in self._on_connected:
            try:
                callback()
            except Exception:
                log.exception("on-connect callback failed")

    def _on_disconnect(self, *_args: Any) -> None:
        self.connected.clear()
        log.warning("ingest lost the broker; paho keeps reconnecting")

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._queue.put((message.topic, message.payload))

    def _work(self) -> None:
        next_tick = time.monotonic()
        while True:
            timeout = max(0.0, next_tick - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            if item is not None:
                self._process(*item)
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + self._tick_interval
                self._safely(self._handler.tick)

    def _process(self, topic: str, payload: bytes) -> None:
        try:
            address = parse_topic(self._root, topic)
            body = json.loads(payload)
            if address.kind == SIGHTINGS:
                report = load_report(body)
                if (report.store_id, report.agent_id) != (address.store_id, address.agent_id):
                    raise ValidationError("store_id/agent_id in the payload do not match the topic")
                self._safely(lambda now: self._handler.handle_report(report, now))
            elif address.kind == STATUS:
                status = load_status(body)
                self.agent_status[address.agent_id] = status
                self._safely(lambda now: self._handler.handle_status(address.agent_id, status, now))
            self.counters["accepted"] += 1
        except (TopicError, ValueError, ValidationError) as exc:
            # ValueError covers bad JSON and bad UTF-8: count, log once per kind, drop, go on.
            reason = type(exc).__name__
            self.counters["rejected"] += 1
            self.counters[f"rejected:{reason}"] += 1
            log.warning("dropped message on %s: %s", topic, str(exc)[:300])

    def _safely(self, work: Callable[[datetime], None]) -> None:
        try:
            work(self._clock())
        except Exception:
            # A bug or a database hiccup on one report must not end the ingest.
            self.counters["handler_errors"] += 1
            log.exception("ingest handler failed")
