"""Broker URLs and persistent-session paho clients, the same for agents and the hub."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

# A persistent session must outlive a hub restart or a broker failover, not a week of downtime.
SESSION_EXPIRY_S = 24 * 3600


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker is and whether to speak TLS."""

    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """mqtt://host[:1883] or mqtts://host[:8883]; raise ValueError with the fix otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(
                f"broker URL {url!r} must look like mqtt://host:1883 or mqtts://host:8883"
            )
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ValueError(f"broker URL {url!r} has an invalid port") from None
        return cls(parts.hostname, port, tls)


def persistent_client(
    client_id: str,
    protocol: str = "3.1.1",
    username: str | None = None,
    password: str | None = None,
    tls_ca: str | None = None,
    use_tls: bool = False,
    tls_cert: str | None = None,
    tls_key: str | None = None,
) -> mqtt.Client:
    """A paho 2.x client whose session (subscriptions, queued QoS 1) survives reconnects."""
    if protocol == "5":
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    else:
        # MQTT 3.1.1 is the default because the embedded demo broker (amqtt) speaks only that.
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=False,
        )
    if username:
        client.username_pw_set(username, password)
    if use_tls:
        # A client certificate (tls_cert + tls_key) lets the broker authenticate each agent.
        client.tls_set(
            ca_certs=tls_ca,
            certfile=tls_cert,
            keyfile=tls_key,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    # A store has one broker and a handful of clients: after an outage, being back within
    # seconds matters more than sparing the broker a few connection attempts.
    client.reconnect_delay_set(min_delay=1, max_delay=8)
    return client


def connect_async(client: mqtt.Client, address: BrokerAddress, keepalive: int = 30) -> None:
    """Start connecting in the background; paho's loop keeps reconnecting while it runs."""
    if client.protocol == mqtt.MQTTv5:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        client.connect_async(
            address.host, address.port, keepalive, clean_start=False, properties=properties
        )
    else:
        client.connect_async(address.host, address.port, keepalive)
