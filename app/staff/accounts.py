"""Staff accounts in the durable Redis: argon2id password hashes, roles, display names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

import anyio.to_thread
import redis.asyncio as aioredis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import BadInput
from app.keys import Keys

ROLES = ("counselor", "supervisor", "admin")
USERNAME = re.compile(r"^[a-z0-9._-]{2,40}$")
PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 256  # capped before hashing: argon2 on a megabyte is a free DoS
DISPLAY_NAME_MAX_CHARS = 40

# argon2-cffi's defaults follow RFC 9106's low-memory profile (argon2id, t=3, 64 MiB).
HASHER = PasswordHasher()
# Verified when the username is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = HASHER.hash("not a real password, only for timing")


@dataclass(frozen=True)
class StaffAccount:
    """A staff member as the service knows them."""

    username: str
    display_name: str
    role: str
    disabled: bool


def check_new(username: str, password: str, role: str, display_name: str) -> None:
    """Refuse an account the service would not accept (pure)."""
    if not USERNAME.match(username):
        raise BadInput("username: 2-40 of a-z, 0-9, dot, dash, underscore")
    if role not in ROLES:
        raise BadInput(f"role must be one of {', '.join(ROLES)}")
    if not PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS:
        raise BadInput(f"password must be {PASSWORD_MIN_CHARS}-{PASSWORD_MAX_CHARS} characters")
    if not display_name.strip() or len(display_name) > DISPLAY_NAME_MAX_CHARS:
        raise BadInput(f"display name must be 1-{DISPLAY_NAME_MAX_CHARS} characters")


class Accounts:
    """Create, look up and verify staff accounts."""

    def __init__(self, durable: aioredis.Redis, keys: Keys) -> None:
        self.redis = durable
        self.keys = keys

    async def add(self, username: str, password: str, role: str, display_name: str) -> bool:
        """Create an account; False if the username is taken."""
        check_new(username, password, role, display_name)
        password_hash = await anyio.to_thread.run_sync(HASHER.hash, password)
        key = self.keys.staff_account(username)
        if not await self.redis.hsetnx(key, "password_hash", password_hash):
            return False
        await self.redis.hset(key, mapping={"role": role, "display_name": display_name.strip(),
                                            "disabled": "0"})
        await self.redis.sadd(self.keys.staff_all, username)
        return True

    async def get(self, username: str) -> StaffAccount | None:
        fields = cast(dict[str, str], await self.redis.hgetall(self.keys.staff_account(username)))
        if not fields or "role" not in fields:
            return None
        return StaffAccount(username, fields["display_name"], fields["role"],
                            fields.get("disabled") == "1")

    async def count(self) -> int:
        return int(await self.redis.scard(self.keys.staff_all))

    async def verify(self, username: str, password: str) -> StaffAccount | None:
        """The account if the password is right and the account enabled, else None."""
        if len(password) > PASSWORD_MAX_CHARS or not USERNAME.match(username):
            return None
        key = self.keys.staff_account(username)
        stored = cast(str | None, await self.redis.hget(key, "password_hash"))
        try:
            await anyio.to_thread.run_sync(HASHER.verify, stored or _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if stored is None:
            return None
        if HASHER.check_needs_rehash(stored):
            await self.redis.hset(key, "password_hash", HASHER.hash(password))
        account = await self.get(username)
        return account if account and not account.disabled else None
