"""Prometheus metrics for the realtime bus and hub (default registry, served at `/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS_PUBLISHED = Counter(
    "nexa_realtime_events_published", "Events handed to the bus by this process", ["event"]
)
EVENTS_DELIVERED = Counter(
    "nexa_realtime_events_delivered", "Events queued for a connected client (one per client per event)"
)
EVENTS_DROPPED = Counter(
    "nexa_realtime_events_dropped",
    "Events that did not reach their destination: slow_client (client queue full, client disconnected), "
    "bus_unavailable (Redis down for longer than the publish buffer holds), "
    "malformed (unreadable bus message)",
    ["reason"],
)
CONNECTED_CLIENTS = Gauge(
    "nexa_realtime_connected_clients", "Subscriptions currently registered with the hub"
)
BUS_RECONNECTS = Counter(
    "nexa_realtime_bus_reconnects", "Times the hub's bus subscription was re-established after a loss"
)
