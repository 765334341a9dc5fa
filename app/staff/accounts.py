"""Staff accounts in the durable Redis: argon2id password hashes, roles, names, sealed TOTP secrets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

import anyio.to_thread
import redis.asyncio as aioredis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from app.errors import BadInput
from app.keys import Keys
from app.staff.totp import Sealer

ROLES = ("counselor", "supervisor", "admin")
USERNAME = re.compile(r"^[a-z0-9._-]{2,40}$")
PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 256  # capped before hashing: argon2 on a megabyte is a free DoS
DISPLAY_NAME_MAX_CHARS = 40
PASSWORD_MIN_SCORE = 3
"""zxcvbn's score (0-4) a new password needs: 3 is "safely unguessable" against an online attack
and slowed offline ones; it refuses common passwords, names, dates, keyboard runs and the like."""

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
    totp_enrolled: bool = False


def check_password(password: str, username: str, display_name: str) -> None:
    """Refuse a password that is too short, too long or easy to guess (pure)."""
    if not PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS:
        raise BadInput(f"password must be {PASSWORD_MIN_CHARS}-{PASSWORD_MAX_CHARS} characters")
    # zxcvbn's cost grows with length; the first 100 characters tell enough.
    strength = zxcvbn(password[:100], user_inputs=[username, display_name, "nexus", "uppsala"])
    if strength["score"] < PASSWORD_MIN_SCORE:
        raise BadInput("password is too easy to guess: use several uncommon words")


def check_new(username: str, password: str, role: str, display_name: str) -> None:
    """Refuse an account the service would not accept (pure)."""
    if not USERNAME.match(username):
        raise BadInput("username: 2-40 of a-z, 0-9, dot, dash, underscore")
    if role not in ROLES:
        raise BadInput(f"role must be one of {', '.join(ROLES)}")
    if not display_name.strip() or len(display_name) > DISPLAY_NAME_MAX_CHARS:
        raise BadInput(f"display name must be 1-{DISPLAY_NAME_MAX_CHARS} characters")
    check_password(password, username, display_name)


_USE_STEP = """
-- KEYS[1]: the account. ARGV[1]: a time step whose code was just given.
-- Accept it only if it is later than the last accepted one, so that a code works once.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local last = tonumber(redis.call('HGET', KEYS[1], 'totp_step') or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('HSET', KEYS[1], 'totp_step', ARGV[1])
return 1
"""


class Accounts:
    """Create, look up and verify staff accounts."""

    def __init__(self, durable: aioredis.Redis, keys: Keys, sealer: Sealer) -> None:
        self.redis = durable
        self.keys = keys
        self.sealer = sealer
        self._use_step = durable.register_script(_USE_STEP)

    async def add(self, username: str, password: str, role: str, display_name: str,
                  totp_secret: str | None = None) -> bool:
        """Create an account; False if the username is taken. Without `totp_secret` the first
        login enrols an authenticator."""
        check_new(username, password, role, display_name)
        password_hash = await anyio.to_thread.run_sync(HASHER.hash, password)
        key = self.keys.staff_account(username)
        if not await self.redis.hsetnx(key, "password_hash", password_hash):
            return False
        fields: dict[Any, str] = {"role": role, "display_name": display_name.strip(), "disabled": "0"}
        if totp_secret:
            fields["totp_secret"] = self.sealer.seal(totp_secret)
        await self.redis.hset(key, mapping=fields)
        await self.redis.sadd(self.keys.staff_all, username)
        return True

    async def get(self, username: str) -> StaffAccount | None:
        fields = cast(dict[str, str], await self.redis.hgetall(self.keys.staff_account(username)))
        if not fields or "role" not in fields:
            return None
        return StaffAccount(username, fields["display_name"], fields["role"],
                            fields.get("disabled") == "1", bool(fields.get("totp_secret")))

    async def count(self) -> int:
        return int(await self.redis.scard(self.keys.staff_all))

    async def all(self) -> list[StaffAccount]:
        """Every account, by username."""
        names = sorted(cast(set[str], await self.redis.smembers(self.keys.staff_all)))
        found = [await self.get(name) for name in names]
        return [account for account in found if account is not None]

    async def _update(self, username: str, fields: dict[Any, str], drop: tuple[str, ...] = ()) -> bool:
        """Change an existing account's fields; False if there is no such account."""
        key = self.keys.staff_account(username)
        if not await self.redis.hexists(key, "role"):
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            if drop:
                pipe.hdel(key, *drop)
            await pipe.execute()
        return True

    async def set_disabled(self, username: str, disabled: bool) -> bool:
        return await self._update(username, {"disabled": "1" if disabled else "0"})

    async def set_role(self, username: str, role: str) -> bool:
        if role not in ROLES:
            raise BadInput(f"role must be one of {', '.join(ROLES)}")
        return await self._update(username, {"role": role})

    async def reset(self, username: str, password: str) -> bool:
        """A new password, and no TOTP secret: the next login enrols a new authenticator."""
        account = await self.get(username)
        if account is None:
            return False
        check_password(password, username, account.display_name)
        password_hash = await anyio.to_thread.run_sync(HASHER.hash, password)
        return await self._update(username, {"password_hash": password_hash},
                                  drop=("totp_secret", "totp_step"))

    async def totp_secret(self, username: str) -> str | None:
        sealed = cast(str | None, await self.redis.hget(self.keys.staff_account(username), "totp_secret"))
        return self.sealer.open(sealed) if sealed else None

    async def enrol(self, username: str, totp_secret: str, step: int = -1) -> bool:
        """Keep a new TOTP secret (sealed); `step`: the code that confirmed it, now used."""
        return await self._update(username, {"totp_secret": self.sealer.seal(totp_secret),
                                             "totp_step": str(step)})

    async def use_step(self, username: str, step: int) -> bool:
        """Accept a code's time step once: False if this or a later step was already used."""
        return bool(await self._use_step(keys=[self.keys.staff_account(username)], args=[step]))

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
            await self.redis.hset(key, "password_hash", await anyio.to_thread.run_sync(HASHER.hash, password))
        account = await self.get(username)
        return account if account and not account.disabled else None
