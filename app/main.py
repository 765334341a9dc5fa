"""`create_app(settings)`: the Starlette application, its routes, middleware and lifespan."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from app import hours, i18n, log, metrics
from app.assets import Assets
from app.audit import Audit
from app.callback.bookings import CallbackBook
from app.callback.codes import CodeHasher
from app.chat import sweeper
from app.chat.queue_watch import QueueWatch
from app.chat.relay import Relay
from app.chat.screening import Screening
from app.chat.store import ConversationStore
from app.compression import CompressPublicPages
from app.config import Settings
from app.errors import ServiceError
from app.intake import delivery
from app.intake.records import IntakeRecords, intake_sealing
from app.keys import Keys
from app.redis import UNAVAILABLE, connect
from app.referrals import Referrals
from app.sealing import sealing_keys
from app.security import SecurityHeaders
from app.services import Services
from app.shutdown import CloseOnShutdown, Shutdown, cancel_and_wait
from app.staff import (
    accounts_page,
    audit_page,
    callback_slots_page,
    callbacks_page,
    canned_page,
    console,
    console_socket,
    feedback_page,
    hours_page,
    intakes_page,
    login,
    referrals_page,
    statistics_page,
    totp,
    translations_page,
)
from app.staff.accounts import Accounts
from app.staff.hours_store import HoursStore
from app.staff.login_throttle import LoginThrottle
from app.staff.presence import Presence
from app.staff.sessions import StaffSessions
from app.staff.totp import Sealer
from app.stats.counters import Counters, count_staffed
from app.templating import Templates
from app.visitor import callback, chat_socket, feedback, pages, quick_exit, referral, returning
from app.visitor.throttle import Throttle

DEV_ACCOUNT = "counselor"


async def healthz(request: Request) -> Response:
    return JSONResponse({"alive": True})


async def readyz(request: Request) -> Response:
    if request.app.state.shutdown.stopping:  # a load balancer then sends nothing new here
        return JSONResponse({"ready": False, "reason": "shutting down"}, status_code=503)
    services: Services = request.app.state.services
    for name, client in (("redis", services.redis), ("durable redis", services.durable)):
        try:
            await asyncio.wait_for(client.ping(), timeout=2)
        except Exception:  # any failure to answer means not ready; the reason says which
            return JSONResponse({"ready": False, "reason": f"{name} is not answering"},
                                status_code=503)
    if not services.relay.connected.is_set():
        # Pings answer, but this process would not hear the others' events (its listener is
        # waiting to reconnect): a visitor sent here now would wait for them.
        return JSONResponse({"ready": False, "reason": "relay is not listening"}, status_code=503)
    return JSONResponse({"ready": True})


async def service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return JSONResponse({"error": exc.code}, status_code=exc.status)


async def redis_unavailable(request: Request, exc: Exception) -> Response:
    """Redis restarting or failing over: a short, calm answer in the visitor's language, not a 500."""
    services: Services = request.app.state.services
    message = services.text(pages.language(request), pages.REFUSALS["unavailable"])
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "unavailable", "message": message}, status_code=503)
    return PlainTextResponse(message, status_code=503, headers={"Retry-After": "10"})


async def secret_key(settings: Settings, keys: Keys, durable: aioredis.Redis) -> str:
    """The configured SECRET_KEY; in development, one generated once and shared through Redis
    (so that every process on that Redis agrees on it)."""
    if settings.secret_key:
        return settings.secret_key
    if await durable.set(keys.dev_secret, secrets.token_urlsafe(48), nx=True):
        log.event("config.dev_secret_generated",
                  note="development mode: SECRET_KEY generated and kept in Redis")
    return str(await durable.get(keys.dev_secret))


async def _first_account(accounts: Accounts) -> None:
    """Development only: a first counselor account, printed once, so both sides can be tried."""
    if await accounts.count():
        return
    password = secrets.token_urlsafe(12)
    totp_secret = totp.new_secret()
    if await accounts.add(DEV_ACCOUNT, password, "counselor", "Nexus", totp_secret):
        print(
            f"\n  Development account created -- log in at /staff as "
            f"{DEV_ACCOUNT!r} with password {password!r}\n"
            f"  and a code from an authenticator app set up with {totp.uri(totp_secret, DEV_ACCOUNT)}\n",
            flush=True,
        )


def create_app(settings: Settings) -> Starlette:
    """Build the application; nothing is connected until the lifespan starts."""
    keys = Keys.from_settings(settings)
    opening_hours = hours.parse(settings.opening_hours)
    app_metrics = metrics.Metrics(settings.metrics_token, settings.metrics_allow)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = connect(settings.redis_url, settings.redis_max_connections)
        durable = (
            redis if settings.durable_url == settings.redis_url
            else connect(settings.durable_url, settings.redis_max_connections)
        )
        secret = await secret_key(settings, keys, durable)
        audit = Audit(durable, keys, settings.audit_retention_days)
        translations = i18n.load_all()
        assets = Assets()
        relay = Relay(redis, keys.queue_channel + ":relay")
        store = ConversationStore(redis, keys, secret)
        presence = Presence(redis, keys)
        counters = Counters(durable, keys, ZoneInfo(settings.timezone))
        services = Services(
            settings=settings, keys=keys, redis=redis, durable=durable, store=store, relay=relay,
            screening=Screening(store, relay, counters),
            queue_watch=QueueWatch(store, presence, relay),
            accounts=Accounts(durable, keys, Sealer(secret)),
            staff_sessions=StaffSessions(
                redis, keys, secret, idle_seconds=settings.staff_session_idle_seconds,
                max_seconds=settings.staff_session_max_seconds, secure=settings.secure_cookies, audit=audit),
            login_throttle=LoginThrottle(redis, keys, secret),
            presence=presence, hours=HoursStore(durable, keys, opening_hours),
            translations=translations, templates=Templates(translations, assets), assets=assets,
            throttle=Throttle(redis, store, settings.return_guesses_per_minute_global),
            audit=audit,
            intakes=IntakeRecords(durable, keys, intake_sealing(settings.intake_keys, secret)),
            callbacks=CallbackBook(
                durable, keys, sealing_keys(settings.callback_keys, secret, "callback bookings"),
                settings.callback_grace_seconds, settings.callback_booking_closes_minutes),
            callback_codes=CodeHasher(secret),
            referrals=Referrals(durable, keys, settings.timezone, counters),
            counters=counters,
            metrics=app_metrics,
        )
        app.state.services = services
        await relay.start()
        await services.queue_watch.start()
        sweeping = asyncio.create_task(
            sweeper.run(store, relay, counters, min(sweeper.SWEEP_SECONDS, keys.idle_seconds / 2)),
            name="sweeper",
        )
        client = delivery.http_client(settings) if settings.intake_delivery == "http" else None
        delivering = asyncio.create_task(
            delivery.DeliveryWorker(settings, services.intakes, audit, client, counters).run(),
            name="intake delivery")
        staffing = asyncio.create_task(count_staffed(counters, presence), name="staffed minutes")
        if not settings.production:
            await _first_account(services.accounts)
        log.event("app.started", env=settings.env)
        try:
            yield
        finally:
            # All ended before Redis closes: the delivery may hand an interrupted send on.
            await cancel_and_wait(sweeping, staffing, delivering)
            if client is not None:
                await client.aclose()
            await services.queue_watch.stop()
            await relay.stop()
            await redis.aclose()
            if durable is not redis:
                await durable.aclose()
            log.event("app.stopped")

    async def static(request: Request) -> Response:
        services: Services = request.app.state.services
        return await services.assets.endpoint(request)

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics.endpoint),
        Route("/static/{name}", static),
        *pages.routes,
        *quick_exit.routes,
        *returning.routes,
        *callback.routes,
        *referral.routes,
        *feedback.routes,
        WebSocketRoute("/ws/chat", chat_socket.endpoint),
        *console.routes,
        *canned_page.routes,
        *login.routes,
        *accounts_page.routes,
        *hours_page.routes,
        *audit_page.routes,
        *intakes_page.routes,
        *translations_page.routes,
        *statistics_page.routes,
        *callbacks_page.routes,
        *callback_slots_page.routes,
        *referrals_page.routes,
        *feedback_page.routes,
        WebSocketRoute("/staff/ws", console_socket.endpoint),
    ]
    shutdown = Shutdown()
    app = Starlette(
        routes=routes,
        middleware=[Middleware(CloseOnShutdown, shutdown=shutdown), Middleware(SecurityHeaders),
                    Middleware(CompressPublicPages)],
        exception_handlers={ServiceError: service_error, **dict.fromkeys(UNAVAILABLE, redis_unavailable),
                            Exception: metrics.server_error},
        lifespan=lifespan,
    )
    app.state.shutdown = shutdown
    return app
