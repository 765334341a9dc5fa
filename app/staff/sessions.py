"""Server-side staff sessions in Redis: revocable, idle-timed, each with its CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis

from app.keys import Keys
from app.staff.accounts import StaffAccount

COOKIE = "nexus_staff"


@dataclass(frozen=True)
class StaffSession:
    """A logged-in staff member."""

    username: str
    display_name: str
    role: str
    csrf: str


class StaffSessions:
    """Create, find (refreshing the idle timeout) and end staff sessions."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, secret_key: str) -> None:
        self.redis = redis
        self.keys = keys
        self._secret = secret_key.encode()

    def _key(self, token: str) -> str:
        digest = hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()[:40]
        return self.keys.staff_session(digest)

    async def create(self, account: StaffAccount) -> str:
        """A new session (a new id at every login); returns the cookie's token."""
        token = secrets.token_urlsafe(32)
        key = self._key(token)
        await self.redis.hset(key, mapping={
            "username": account.username, "display_name": account.display_name,
            "role": account.role, "csrf": secrets.token_urlsafe(24),
        })
        await self.redis.expire(key, self.keys.staff_idle_seconds)
        return token

    async def get(self, token: str | None) -> StaffSession | None:
        if not token or len(token) > 100:
            return None
        key = self._key(token)
        fields = cast(dict[str, str], await self.redis.hgetall(key))
        if not fields:
            return None
        await self.redis.expire(key, self.keys.staff_idle_seconds)
        return StaffSession(fields["username"], fields["display_name"], fields["role"],
                            fields["csrf"])

    async def end(self, token: str | None) -> None:
        if token and len(token) <= 100:
            await self.redis.delete(self._key(token))
