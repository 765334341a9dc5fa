"""Operational metrics on `GET /metrics` (Prometheus text format): counts and timings, never content.

Each app has its own registry, so several apps in one process (the tests) never share a metric.
Nothing here is labelled with an id, an address, a username or text: a label is one of a few fixed
words. Gauges of shared state (the queue, the intake outbox) are read from Redis at scrape time, so
every process reports the same value (take the max across processes); sockets, deliveries and
errors are this process's own (take the sum).

Access: with a bearer token (METRICS_TOKEN) or from an allowed address (METRICS_ALLOW). With
neither configured the endpoint does not exist for anyone (404, like any unknown path).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response

from app.chat.store import now_ms
from app.redis import UNAVAILABLE

if TYPE_CHECKING:
    from app.services import Services

SIDES = ("visitor", "staff")
ERROR_KINDS = ("socket", "http")
DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds: a message normally crosses in a few milliseconds; seconds mean Redis or the relay struggle."""


class Access:
    """Who may read the metrics: the holder of the token, or a client in an allowed network."""

    def __init__(self, token: str, allow: tuple[str, ...]) -> None:
        self.token = token.encode()
        self.networks = tuple(ipaddress.ip_network(network, strict=False) for network in allow)

    @property
    def exists(self) -> bool:
        return bool(self.token or self.networks)

    def allows(self, connection: HTTPConnection) -> bool:
        return self._from_allowed_address(connection) or self._has_token(connection)

    def _has_token(self, connection: HTTPConnection) -> bool:
        scheme, _, given = connection.headers.get("authorization", "").partition(" ")
        # Compared in constant time, so the answer's timing says nothing about how much was right.
        return bool(self.token) and scheme.lower() == "bearer" \
            and hmac.compare_digest(given.strip().encode(), self.token)

    def _from_allowed_address(self, connection: HTTPConnection) -> bool:
        # The address uvicorn put in the scope: behind a proxy, its FORWARDED_ALLOW_IPS decides
        # whether X-Forwarded-For was believed (as for the visitor throttle).
        try:
            address = ipaddress.ip_address(connection.client.host if connection.client else "")
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


class Metrics:
    """This app's registry and the metric objects the code updates."""

    def __init__(self, token: str, allow: tuple[str, ...]) -> None:
        self.access = Access(token, allow)
        self.registry = CollectorRegistry()
        r = self.registry
        self.queue_length = Gauge("nexus_queue_length", "Chats waiting in the queue.", registry=r)
        self.counselors_on_duty = Gauge(
            "nexus_counselors_on_duty", "Counselors on duty (available or busy).", registry=r)
        self.sockets = Gauge(
            "nexus_sockets_connected", "WebSockets open in this process.", ["side"], registry=r)
        self.delivery = Histogram(
            "nexus_message_delivery_seconds",
            "From a message being stored to it being sent on the other party's open socket.",
            buckets=DELIVERY_BUCKETS, registry=r)
        self.stalled = Counter(
            "nexus_sockets_stalled",
            "Sockets dropped because their client took no data for SEND_TIMEOUT_SECONDS.",
            ["side"], registry=r)
        self.errors = Counter("nexus_errors", "Unexpected errors (bugs or outages) in this process.",
                              ["kind"], registry=r)
        self.intake_backlog = Gauge(
            "nexus_intake_outbox_backlog", "Consented intakes not yet delivered (waiting, retrying or "
            "being sent).", registry=r)
        self.letters_waiting = Gauge(
            "nexus_letters_waiting", "Left messages waiting for an answer.", registry=r)
        # Every labelled series from the start, at 0: a missing series cannot be told from no data.
        for side in SIDES:
            self.sockets.labels(side=side)
            self.stalled.labels(side=side)
        for kind in ERROR_KINDS:
            self.errors.labels(kind=kind)

    @contextlib.contextmanager
    def connected(self, side: str) -> Iterator[None]:
        """Count a socket as connected while the block runs."""
        assert side in SIDES
        gauge = self.sockets.labels(side=side)
        gauge.inc()
        try:
            yield
        finally:
            gauge.dec()

    def delivered(self, stored_ms: int) -> None:
        """A message stored at `stored_ms` (its entry's ts) was just sent to the other party."""
        # Clamped: another host's clock may run a little ahead of ours.
        self.delivery.observe(max(0, now_ms() - stored_ms) / 1000)

    def dropped_stalled(self, side: str) -> None:
        """A socket was dropped because its client stopped reading."""
        assert side in SIDES
        self.stalled.labels(side=side).inc()

    def failed(self, kind: str) -> None:
        assert kind in ERROR_KINDS
        self.errors.labels(kind=kind).inc()

    async def scrape(self, services: Services) -> bytes:
        """Read the shared state's gauges, then the whole registry in the text format."""
        # While Redis is away the shared gauges keep their last values (/readyz says it is away);
        # this process's own figures still matter then.
        with contextlib.suppress(*UNAVAILABLE):
            await self._read_shared(services)
        return generate_latest(self.registry)

    async def _read_shared(self, services: Services) -> None:
        k = services.keys
        async with services.durable.pipeline(transaction=False) as pipe:
            pipe.llen(k.intake_outbox)
            pipe.zcard(k.intake_retry)
            pipe.zcard(k.intake_processing)
            backlog = await pipe.execute()
        self.intake_backlog.set(sum(int(n) for n in backlog))
        # Read at scrape time rather than from the queue watcher's snapshot, which lags a burst of
        # changes; the letters need every letter's state, which only the snapshot has at hand.
        self.queue_length.set(await services.store.queue_length())
        self.counselors_on_duty.set(len(await services.presence.online()))
        self.letters_waiting.set(sum(not letter.replied for letter in services.queue_watch.snapshot.letters))


def of(connection: HTTPConnection) -> Metrics:
    """The metrics of the app serving this request or socket."""
    metrics: Metrics = connection.app.state.services.metrics
    return metrics


async def endpoint(request: Request) -> Response:
    """GET /metrics."""
    services: Services = request.app.state.services
    access = services.metrics.access
    if not access.exists:
        raise HTTPException(404)  # answered exactly as any unknown path
    if not access.allows(request):
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return Response(await services.metrics.scrape(services), media_type=CONTENT_TYPE_PLAIN_0_0_4)


async def server_error(request: Request, exc: Exception) -> Response:
    """Count an unhandled error of an HTTP request; answer as Starlette would (uvicorn still logs it)."""
    of(request).failed("http")
    return PlainTextResponse("Internal Server Error", status_code=500)
