"""Server-side staff sessions in Redis: revocable, with idle and absolute timeouts, each with its CSRF token.

A session's key lives until its absolute deadline; the idle timeout is checked on every use
against the time it was last used, so that an expiry is noticed (and audited) with the
name of whoever it was. Each member's sessions are indexed, so that disabling an account
or changing its password can end them all; ending a session publishes on its channel,
and every console socket that uses it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis

from app.audit import Audit
from app.chat.relay import Subscription
from app.keys import Keys
from app.staff.accounts import StaffAccount

COOKIE = "nexus_staff"
SECURE_COOKIE = "__Host-nexus_staff"
"""Under TLS: a `__Host-` cookie is only accepted Secure, with Path=/ and no Domain, so no
other site or path can plant or shadow it."""
ENDED = {"kind": "session_ended"}


@dataclass(frozen=True)
class StaffSession:
    """A logged-in staff member."""

    username: str
    display_name: str
    role: str
    csrf: str
    token_hash: str = ""
    expires_at: float = 0.0
    """When the session ends unless it is used again (epoch seconds)."""


class StaffSessions:
    """Create, find (refreshing the idle timeout) and end staff sessions."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, secret_key: str, *, idle_seconds: int,
                 max_seconds: int, secure: bool, audit: Audit) -> None:
        self.redis = redis
        self.keys = keys
        self._secret = secret_key.encode()
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.secure = secure
        self.audit = audit

    @property
    def cookie(self) -> str:
        return SECURE_COOKIE if self.secure else COOKIE

    def token_hash(self, token: str) -> str:
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()[:40]

    def channel(self, token_hash: str) -> str:
        return self.keys.staff_session_channel(token_hash)

    async def create(self, account: StaffAccount) -> str:
        """A new session (a new id at every login); returns the cookie's token."""
        token = secrets.token_urlsafe(32)
        token_hash = self.token_hash(token)
        key = self.keys.staff_session(token_hash)
        index = self.keys.staff_sessions_of(account.username)
        now = str(time.time())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={
                "username": account.username, "display_name": account.display_name,
                "role": account.role, "csrf": secrets.token_urlsafe(24), "created": now, "seen": now,
            })
            pipe.expire(key, self.max_seconds)
            pipe.sadd(index, token_hash)
            pipe.expire(index, self.max_seconds)
            await pipe.execute()
        return token

    async def get(self, token: str | None, touch: bool = True) -> StaffSession | None:
        """The live session of a cookie, or None; `touch` counts this as use (resets the idle time)."""
        if not token or len(token) > 100:
            return None
        token_hash = self.token_hash(token)
        key = self.keys.staff_session(token_hash)
        fields = cast(dict[str, str], await self.redis.hgetall(key))
        if not fields:
            return None
        now = time.time()
        deadline = float(fields["created"]) + self.max_seconds
        idle_until = float(fields["seen"]) + self.idle_seconds
        if now >= min(deadline, idle_until):
            await self._expire(token_hash, fields, "max" if now >= deadline else "idle")
            return None
        if touch:
            await self.redis.hset(key, "seen", str(now))
            idle_until = now + self.idle_seconds
        return StaffSession(fields["username"], fields["display_name"], fields["role"], fields["csrf"],
                            token_hash, min(deadline, idle_until))

    async def _expire(self, token_hash: str, fields: dict[str, str], why: str) -> None:
        # Only the request that removes it records it, when several notice at once.
        if await self._end(token_hash, fields["username"]):
            await self.audit.record(fields["username"], fields["role"], "session_expired", other=why)

    async def _end(self, token_hash: str, username: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.staff_session(token_hash))
            pipe.srem(self.keys.staff_sessions_of(username), token_hash)
            removed, _ = await pipe.execute()
        await self.redis.publish(self.channel(token_hash), json.dumps(ENDED))
        return bool(removed)

    async def until_ended(self, token: str, wake: Subscription, every: float) -> None:
        """Return once the session has ended: checked when its channel speaks, and every
        `every` seconds (a timeout publishes nothing)."""
        while await self.get(token, touch=False) is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every):  # unlike wait_for, never loses a cancellation
                    await wake.events.get()

    async def end(self, session: StaffSession) -> None:
        """Log out: the session ends, and every socket that uses it closes."""
        await self._end(session.token_hash, session.username)

    async def end_all(self, username: str) -> int:
        """End every session of a member (disabled, reset, new role); returns how many."""
        index = self.keys.staff_sessions_of(username)
        token_hashes = cast(set[str], await self.redis.smembers(index))
        ended = 0
        for token_hash in token_hashes:
            ended += await self._end(token_hash, username)
        await self.redis.delete(index)
        return ended
