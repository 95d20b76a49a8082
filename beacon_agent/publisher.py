"""The agent's MQTT session: spool-driven QoS 1 publishing, status with a last will, hub config.

Reports are published from the spool, never from memory: `submit` appends to the spool, and one
pump thread hands the oldest unacknowledged rows to paho, at most `window` at a time, deleting a
row only when its PUBACK arrives. On a disconnect paho's own copies are dropped
(`drop_out_messages`), so after a reconnect the pump resumes from the spool's oldest
unacknowledged row and paho never re-sends anything behind the spool's back: order holds, and a
report that was in flight is sent again at most once.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from beacon_agent.config import AgentConfig, ConfigError, parse_remote
from beacon_agent.mqtt_session import BrokerAddress, connect_async, persistent_client
from beacon_agent.protocol import (
    CONFIG,
    OFFLINE_WILL,
    PROTOCOL_VERSION,
    SIGHTINGS,
    STATUS,
    SightingsReport,
    agent_topic,
    dump_report,
    format_timestamp,
)
from beacon_agent.spool import Spool

log = logging.getLogger(__name__)

Telemetry = Callable[[], Mapping[str, Any]]
ConfigHandler = Callable[[dict[str, Any]], None]


def agent_version() -> str:
    """The installed distribution's version, for the status message."""
    try:
        return metadata.version("instore-proximity")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def encode(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, as it goes on the wire."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def client_id_for(config: AgentConfig) -> str:
    """A stable client id, so the broker keeps this agent's persistent session across restarts."""
    return f"beacon-agent-{config.store_id}-{config.agent_id}"


def make_client(config: AgentConfig, client_id: str) -> mqtt.Client:
    """A persistent-session paho client with this agent's credentials and TLS settings."""
    address = BrokerAddress.parse(config.broker_url)
    return persistent_client(
        client_id,
        protocol=config.mqtt_protocol,
        username=config.username,
        password=config.password,
        tls_ca=config.tls_ca,
        use_tls=address.tls,
        tls_cert=config.tls_cert,
        tls_key=config.tls_key,
    )


class Publisher:
    """Publishes spooled reports in order with a bounded window, plus status and hub config."""

    def __init__(
        self,
        config: AgentConfig,
        spool: Spool,
        *,
        telemetry: Telemetry = dict,
        on_config: ConfigHandler | None = None,
        window: int = 8,
        started_at: datetime | None = None,
    ) -> None:
        """Prepare the session; nothing connects before `start`."""
        self._config = config
        self._spool = spool
        self._telemetry = telemetry
        self._on_config = on_config
        self._window = window
        self.started_at = started_at or datetime.now(UTC)
        self.version = agent_version()
        root = config.topic_root
        self.sightings_topic = agent_topic(root, config.store_id, config.agent_id, SIGHTINGS)
        self.status_topic = agent_topic(root, config.store_id, config.agent_id, STATUS)
        self.config_topic = agent_topic(root, config.store_id, config.agent_id, CONFIG)
        self._address = BrokerAddress.parse(config.broker_url)
        self._client = make_client(config, client_id_for(config))
        # Our window bounds what paho holds; its own limits only back that up.
        self._client.max_inflight_messages_set(window + 4)
        self._client.max_queued_messages_set(window + 8)
        self._client.will_set(self.status_topic, encode(OFFLINE_WILL), qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        # _state_lock orders "publish a row" against "connection lost": see _on_disconnect.
        self._state_lock = threading.Lock()
        self._connected = False
        self._generation = 0
        self._events: queue.SimpleQueue[tuple[str, int]] = queue.SimpleQueue()
        self._drained = threading.Condition()
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._pump = threading.Thread(target=self._run, name="mqtt-pump", daemon=True)
        self.connects = 0
        self.published = 0
        self.last_error: str | None = None

    # --- public -------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (retrying for ever) and start publishing from the spool."""
        connect_async(self._client, self._address)
        self._client.loop_start()
        self._pump.start()

    def submit(self, report: SightingsReport) -> int:
        """Spool a report (durably, before any publishing) and wake the pump; return its row."""
        row_id = self._spool.append(self.sightings_topic, encode(dump_report(report)))
        self._events.put(("kick", 0))
        return row_id

    @property
    def connected(self) -> bool:
        """Whether the broker has accepted our connection right now."""
        with self._state_lock:
            return self._connected

    def wait_ready(self, timeout: float) -> bool:
        """Wait until connected and subscribed to our config topic (retained config applied)."""
        return self._ready.wait(timeout)

    def wait_drained(self, timeout: float) -> bool:
        """Wait until every spooled report has been acknowledged by the broker."""
        deadline = time.monotonic() + timeout
        with self._drained:
            while self._spool.depth() > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._drained.wait(min(remaining, 0.5))
        return True

    def publish_status(self) -> None:
        """Ask the pump to publish a fresh retained online status now."""
        self._events.put(("status", 0))

    def stop(self, drain_timeout: float = 10.0) -> bool:
        """Drain (bounded), publish the offline status, disconnect; True if nothing was left."""
        drained = self.wait_drained(drain_timeout)
        self._stopping.set()
        self._events.put(("stop", 0))
        self._pump.join(timeout=5)
        if self.connected:
            # An explicit offline status: a clean DISCONNECT means the broker drops our will.
            info = self._client.publish(self.status_topic, encode(OFFLINE_WILL), qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=3)
            except (RuntimeError, ValueError):
                log.warning("could not publish the offline status before disconnecting")
        self._client.disconnect()
        self._client.loop_stop()
        if not drained:
            log.warning(
                "%d report(s) stay in the spool %s and will be sent on the next start",
                self._spool.depth(),
                self._spool.path,
            )
        return drained

    def status_payload(self) -> dict[str, Any]:
        """The retained online status with telemetry."""
        return {
            "v": PROTOCOL_VERSION,
            "state": "online",
            "version": self.version,
            "started_at": format_timestamp(self.started_at),
            **self._telemetry(),
            "spool_depth": self._spool.depth(),
            "spool_dropped": self._spool.dropped(),
            "connects": self.connects,
        }

    # --- paho callbacks (network thread): record and hand over, never block ---------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self.last_error = f"the broker refused the connection: {reason_code}"
            log.error("%s (check username/password/certificates)", self.last_error)
            return
        log.info("connected to %s:%d", self._address.host, self._address.port)
        client.subscribe(self.config_topic, qos=1)
        with self._state_lock:
            self._connected = True
            self._generation += 1
            self.connects += 1
        self.last_error = None
        self._events.put(("connected", 0))

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._state_lock:
            was_connected = self._connected
            self._connected = False
            # The spool has every unacknowledged report; paho's copies would be re-sent on
            # reconnect ahead of (or twice with) the spool's, so they go.
            client.drop_out_messages()
        self._ready.clear()
        if was_connected and not self._stopping.is_set():
            log.warning("lost the broker (%s); spooling reports until it is back", reason_code)
        self._events.put(("disconnected", 0))

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._events.put(("ack", mid))

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error(
                "the broker refused our subscription to %s (check the ACL)", self.config_topic
            )
        self._ready.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic != self.config_topic or not message.payload:
            return  # an empty retained message only clears the hub's config
        try:
            values = parse_remote(json.loads(message.payload))
        except (ValueError, ConfigError) as exc:  # JSONDecodeError is a ValueError
            log.warning("ignoring a malformed config message on %s: %s", message.topic, exc)
            return
        if values and self._on_config is not None:
            try:
                self._on_config(values)
            except Exception:
                log.exception("could not apply the hub's config %s", values)

    # --- the pump thread: the only owner of the in-flight window --------------------------

    def _run(self) -> None:
        inflight: dict[int, int] = {}  # paho mid -> spool row id
        cursor = 0  # the newest row handed to paho in this connection
        generation = -1
        next_status = 0.0
        while True:
            wait = max(0.05, next_status - time.monotonic()) if next_status else 1.0
            try:
                events = [self._events.get(timeout=min(wait, 1.0))]
            except queue.Empty:
                events = []
            while not self._events.empty():
                events.append(self._events.get_nowait())
            for kind, value in events:
                if kind == "stop":
                    return
                if kind == "ack":
                    row_id = inflight.pop(value, None)
                    if row_id is not None:
                        self._spool.ack(row_id)
                elif kind == "status":
                    next_status = time.monotonic()
            with self._state_lock:
                connected, current = self._connected, self._generation
            if current != generation:
                # A new connection: paho holds nothing of ours; start again from the oldest row.
                inflight.clear()
                cursor, generation = 0, current
                next_status = time.monotonic()
            if connected:
                if time.monotonic() >= next_status:
                    self._send_status()
                    next_status = time.monotonic() + self._config.status_interval_s
                cursor = self._fill(inflight, cursor, generation)
            with self._drained:
                self._drained.notify_all()

    def _fill(self, inflight: dict[int, int], cursor: int, generation: int) -> int:
        """Hand the next spooled rows to paho until the window is full; return the new cursor."""
        while len(inflight) < self._window:
            rows = self._spool.pending(after=cursor, limit=self._window - len(inflight))
            if not rows:
                break
            for row in rows:
                with self._state_lock:
                    if not self._connected or self._generation != generation:
                        return cursor
                    info = self._client.publish(row.topic, row.payload, qos=1)
                if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    log.debug("paho did not take row %d (%s); retrying", row.row_id, info.rc)
                    return cursor
                inflight[info.mid] = row.row_id
                cursor = row.row_id
                self.published += 1
        return cursor

    def _send_status(self) -> None:
        try:
            payload = encode(self.status_payload())
        except Exception:
            log.exception("could not build the status message")
            return
        with self._state_lock:
            if self._connected:
                self._client.publish(self.status_topic, payload, qos=1, retain=True)
