"""Failed staff logins counted per username and per client, with a lockout that says nothing about accounts.

A name is counted whether or not an account has it, and a locked name gets the same answer
either way, so the lockout cannot be used to find out which accounts exist. Both counters
are named by keyed hashes (a password typed into the username box never lands in Redis,
and neither does the client's address; see `app/visitor/throttle.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import math

import redis.asyncio as aioredis
from starlette.requests import Request

from app.keys import LOGIN_WINDOW_SECONDS, Keys
from app.visitor.throttle import client_address

FAILURES_PER_NAME = 5
"""Failed logins with one username per LOGIN_WINDOW_SECONDS before the name is locked for as long."""
FAILURES_PER_CLIENT = 20
"""Failed logins from one client per LOGIN_WINDOW_SECONDS: a few colleagues behind one office address
still fit; someone trying many names does not."""

_FAIL = """
-- KEYS[1]: the name's counter, KEYS[2]: the client's. ARGV: limit per name, limit per client, window.
-- Returns 1 when this failure locks the name (the lockout lasts a whole window from now).
local n = redis.call('INCR', KEYS[1])
if n == 1 or n == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
local c = redis.call('INCR', KEYS[2])
if c == 1 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
if n == tonumber(ARGV[1]) then return 1 end
return 0
"""

_WAIT = """
-- KEYS: the name's and the client's counters; ARGV: their limits. Seconds until both allow a try.
local wait = 0
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i]) then
    wait = math.max(wait, redis.call('TTL', key), 1)
  end
end
return wait
"""


class LoginThrottle:
    """Whether a login may be tried now, and counting the ones that fail."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, secret_key: str) -> None:
        self.keys = keys
        self._secret = secret_key.encode()
        self._fail = redis.register_script(_FAIL)
        self._wait = redis.register_script(_WAIT)

    def _hash(self, kind: str, value: str) -> str:
        return hmac.new(self._secret, f"login:{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def _counters(self, request: Request, username: str) -> list[str]:
        return [self.keys.login_failures_account(self._hash("name", username)),
                self.keys.login_failures_client(self._hash("client", client_address(request)))]

    async def wait_minutes(self, request: Request, username: str) -> int:
        """0 if a login with this name from this client may be tried, else the minutes to wait."""
        seconds = int(await self._wait(keys=self._counters(request, username),
                                       args=[FAILURES_PER_NAME, FAILURES_PER_CLIENT]))
        return math.ceil(seconds / 60)

    async def failed(self, request: Request, username: str) -> bool:
        """Count a failure (wrong password or code); True when it has just locked the name."""
        return bool(await self._fail(keys=self._counters(request, username),
                                     args=[FAILURES_PER_NAME, FAILURES_PER_CLIENT, LOGIN_WINDOW_SECONDS]))
