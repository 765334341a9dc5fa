"""Works off the intake outbox in every process: to the inbox, or a signed POST to the case system.

Taking work is one atomic step (a Lua script): ids whose lease ran out (their process died)
and ids whose retry time has come go back on the outbox, and the first id on it moves to
`intake:processing` with a lease deadline and a fresh lease token in its hash. Only the
holder of that token can settle it, again in one atomic step: delivered (the record is
deleted), a retry at a time kept in `intake:retry` (so the schedule survives restarts),
a dead letter, or (inbox mode) the inbox. A lease outlasts the longest attempt, so two
processes never send one intake at once; a repeat after a crash carries the same
`Idempotency-Key` (the intake id), so the receiver keeps one. The wire format is in the
README ("Intake delivery").
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import random
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import httpx
from cryptography.fernet import InvalidToken
from redis.exceptions import RedisError

from app import log
from app.audit import Audit
from app.config import Settings
from app.intake.records import IntakeRecords
from app.stats.counters import Counters

POLL_SECONDS = 1.0
"""Longest sleep between two looks at the outbox when no wake-up comes (retries fall due silently)."""
LEASE_MARGIN_SECONDS = 10
"""A lease lasts one attempt's timeout plus this: settling in Redis after the answer fits easily."""
SIGNATURE_HEADER = "X-Nexus-Signature"
TIMESTAMP_HEADER = "X-Nexus-Timestamp"
ACTOR = "system"

_CLAIM = """
local now = tonumber(ARGV[1])
for _, from in ipairs({KEYS[2], KEYS[3]}) do
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', from, '-inf', now)) do
    redis.call('ZREM', from, id)
    redis.call('RPUSH', KEYS[1], id)
  end
end
while true do
  local id = redis.call('LPOP', KEYS[1])
  if not id then return false end
  local record = ARGV[4] .. id
  if redis.call('EXISTS', record) == 1 then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
    redis.call('HSET', record, 'lease', ARGV[3], 'status', 'sending')
    return id
  end
end
"""
"""KEYS: outbox, processing, retry. ARGV: now ms, lease ms, lease token, intake key prefix.
An id whose record is gone (withdrawn, registered) is dropped on the way."""

_SETTLE = """
if redis.call('HGET', KEYS[2], 'lease') ~= ARGV[1] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], 'lease')
local outcome = ARGV[3]
if outcome == 'delivered' then
  redis.call('DEL', KEYS[2])
elseif outcome == 'retry' then
  redis.call('HSET', KEYS[2], 'status', 'retrying', 'attempts', ARGV[5], 'last_error', ARGV[6])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
elseif outcome == 'dead' then
  redis.call('HSET', KEYS[2], 'status', 'dead', 'attempts', ARGV[5], 'last_error', ARGV[6])
  redis.call('RPUSH', KEYS[4], ARGV[2])
else
  redis.call('HSET', KEYS[2], 'status', 'inbox')
  redis.call('SADD', KEYS[5], ARGV[2])
end
return 1
"""
"""KEYS: processing, the record, retry, dead, inbox. ARGV: lease token, id, outcome
(delivered | retry | dead | inbox), next attempt ms, attempts, last error class.
Returns 0 when the lease is no longer this worker's (nothing is changed then)."""

_RETRY_DEAD = """
if redis.call('LREM', KEYS[1], 0, ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'status', 'queued', 'attempts', '0', 'last_error', '')
redis.call('RPUSH', KEYS[3], ARGV[1])
return 1
"""
"""KEYS: dead, the record, outbox. ARGV: id."""


def signature(key: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 under the signing key of `<timestamp>.` and the exact body."""
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def body_of(document: dict[str, Any], intake_id: str, sent_at: datetime) -> bytes:
    """The POSTed JSON: the intake document with its id and the time of sending."""
    sent = sent_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({**document, "intake_id": intake_id, "sent_at": sent}, ensure_ascii=False,
                      separators=(",", ":")).encode()


def backoff_seconds(settings: Settings, failures: int) -> float:
    """Exponential wait after the n-th failure, capped, with jitter so that retries spread out."""
    ceiling = float(min(settings.intake_retry_max_seconds,
                        settings.intake_retry_base_seconds * 2 ** (failures - 1)))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def http_client(settings: Settings) -> httpx.AsyncClient:
    """The outbound client: TLS verified, no redirects, explicit timeouts, no proxy from the environment."""
    return httpx.AsyncClient(
        verify=True, follow_redirects=False, trust_env=False,
        timeout=httpx.Timeout(settings.intake_timeout_seconds),
        limits=httpx.Limits(max_connections=2, max_keepalive_connections=1),
    )


@dataclass
class Attempt:
    """The result of one send: delivered, or the short name of what went wrong."""

    delivered: bool
    error: str = ""


class DeliveryWorker:
    """Takes one intake at a time from the outbox and settles it; any number run side by side."""

    def __init__(self, settings: Settings, records: IntakeRecords, audit: Audit,
                 client: httpx.AsyncClient | None, counters: Counters) -> None:
        self.settings = settings
        self.records = records
        self.audit = audit
        self.counters = counters
        self.client = client
        self.redis = records.redis
        self.keys = records.keys
        self.lease_seconds = settings.intake_timeout_seconds + LEASE_MARGIN_SECONDS
        self._claim = self.redis.register_script(_CLAIM)
        self._settle = self.redis.register_script(_SETTLE)

    async def claim(self) -> tuple[str, str] | None:
        """(intake id, lease token) of the next intake to work on, or None when there is none."""
        k = self.keys
        token = secrets.token_urlsafe(12)
        found = await self._claim(keys=[k.intake_outbox, k.intake_processing, k.intake_retry],
                                  args=[now_ms(), self.lease_seconds * 1000, token, k.intake("")])
        return (cast(str, found), token) if found else None

    async def settle(self, intake_id: str, token: str, outcome: str, next_ms: int = 0, attempts: int = 0,
                     error: str = "") -> bool:
        k = self.keys
        done = await self._settle(
            keys=[k.intake_processing, k.intake(intake_id), k.intake_retry, k.intake_dead, k.intake_inbox],
            args=[token, intake_id, outcome, next_ms, attempts, error])
        return bool(done)

    async def work_one(self) -> bool:
        """Take and settle one intake; False when the outbox had none ready."""
        claimed = await self.claim()
        if claimed is None:
            return False
        intake_id, token = claimed
        if self.settings.intake_delivery != "http":
            if await self.settle(intake_id, token, "inbox"):
                await self.audit.record(ACTOR, ACTOR, "intake_inboxed", target=intake_id)
            return True
        meta = await self.records.meta(intake_id)
        try:
            document = await self.records.document(intake_id)
        except InvalidToken:
            # Sealed with a key no longer in INTAKE_KEYS: a failure like any other, so that it ends
            # among the dead letters for a supervisor to see instead of being retried forever.
            document = {}
        if meta is None or document is None:
            return True  # purged meanwhile (withdrawn): its lease simply lapses and nothing is left
        try:
            attempt = await self.send(intake_id, document) if document else Attempt(False, "unreadable")
        except asyncio.CancelledError:
            # Shutting down mid-send: hand it on now rather than when the lease ends (the
            # receiver may have it already; the idempotency key makes the repeat harmless).
            await asyncio.shield(self.settle(intake_id, token, "retry", next_ms=now_ms(),
                                             attempts=int(meta.get("attempts", "0")), error="interrupted"))
            raise
        if attempt.delivered:
            if await self.settle(intake_id, token, "delivered"):
                await self.audit.record(ACTOR, ACTOR, "intake_delivered", target=intake_id)
                await self.counters.add("intake.delivered")
                log.event("intake.delivered")
            return True
        failures = int(meta.get("attempts", "0")) + 1
        if failures >= self.settings.intake_max_attempts:
            if await self.settle(intake_id, token, "dead", attempts=failures, error=attempt.error):
                await self.audit.record(ACTOR, ACTOR, "intake_dead", target=intake_id, other=attempt.error)
                log.event("intake.dead", error=attempt.error)
            return True
        due = now_ms() + int(backoff_seconds(self.settings, failures) * 1000)
        if await self.settle(intake_id, token, "retry", next_ms=due, attempts=failures, error=attempt.error):
            await self.audit.record(ACTOR, ACTOR, "intake_failed", target=intake_id, other=attempt.error)
            log.event("intake.failed", error=attempt.error, attempts=failures)
        return True

    async def send(self, intake_id: str, document: dict[str, Any]) -> Attempt:
        """One signed POST, bounded in time as a whole (the lease counts on it)."""
        assert self.client is not None, "http delivery has a client"
        body = body_of(document, intake_id, datetime.now(UTC))
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": intake_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self.settings.intake_signing_key, timestamp, body),
        }
        try:
            response = await asyncio.wait_for(
                self.client.post(self.settings.intake_endpoint, content=body, headers=headers),
                timeout=self.settings.intake_timeout_seconds)
        except TimeoutError:
            return Attempt(False, "timeout")
        except httpx.HTTPError as error:
            return Attempt(False, type(error).__name__)
        if 200 <= response.status_code < 300:
            return Attempt(True)
        return Attempt(False, f"http_{response.status_code}")

    async def next_due_seconds(self) -> float:
        """Seconds until a retry or a lease falls due, at most POLL_SECONDS."""
        soonest = POLL_SECONDS
        for zset in (self.keys.intake_retry, self.keys.intake_processing):
            first = cast(list[tuple[str, float]], await self.redis.zrange(zset, 0, 0, withscores=True))
            if first:
                soonest = min(soonest, max(0.0, (first[0][1] - now_ms()) / 1000))
        return soonest

    async def run(self) -> None:
        """Work forever: drain the outbox, then sleep until woken or something falls due.
        An outage of Redis only delays the next pass."""
        pubsub = self.redis.pubsub()
        try:
            await pubsub.subscribe(self.keys.intake_channel)
            while True:
                try:
                    while await self.work_one():
                        pass
                    await pubsub.get_message(ignore_subscribe_messages=True,
                                             timeout=await self.next_due_seconds())
                except (RedisError, OSError):
                    log.event("intake.redis_unavailable")
                    await asyncio.sleep(POLL_SECONDS)
                except Exception as error:
                    # The worker must outlive one bad record: its lease runs out and it is tried
                    # again later, while every other intake still goes out.
                    log.event("intake.worker_error", error=type(error).__name__)
                    await asyncio.sleep(POLL_SECONDS)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()


async def retry_dead(records: IntakeRecords, intake_id: str) -> bool:
    """Put a dead letter back on the outbox with a fresh count; False when it is not one."""
    k = records.keys
    moved = await records.redis.register_script(_RETRY_DEAD)(
        keys=[k.intake_dead, k.intake(intake_id), k.intake_outbox], args=[intake_id])
    if moved:
        await records.redis.publish(k.intake_channel, "retry")
    return bool(moved)


def now_ms() -> int:
    return int(time.time() * 1000)
