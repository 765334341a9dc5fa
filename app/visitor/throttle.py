"""Counting anonymous clients' attempts (return codes, letters, callbacks) without keeping their addresses.

A client is named by a keyed hash of its address (an IPv6 address by its /64 network, which
one subscriber usually holds whole); the hash is only the name of a counter that expires
with its window, and the address itself is never stored or logged. Behind a reverse proxy,
uvicorn takes the address from X-Forwarded-For only when the proxy is listed in its
FORWARDED_ALLOW_IPS (default 127.0.0.1).
"""

from __future__ import annotations

import ipaddress

import redis.asyncio as aioredis
from starlette.requests import HTTPConnection, Request

from app.chat.store import ConversationStore
from app.errors import TooManyAttempts
from app.keys import (
    CALLBACK_CLIENT_WINDOW_SECONDS,
    CALLBACK_NUMBER_WINDOW_SECONDS,
    FEEDBACK_WINDOW_SECONDS,
    GLOBAL_GUESS_WINDOW_SECONDS,
    GUESS_WINDOW_SECONDS,
    LETTER_WINDOW_SECONDS,
)

GUESSES_PER_CLIENT = 10
"""Return codes one client may try per GUESS_WINDOW_SECONDS: plenty for typos, useless for
guessing (10**16 codes)."""

LETTERS_PER_CLIENT = 3
"""Messages one client may leave per LETTER_WINDOW_SECONDS."""

BLOCK_SECONDS = 86_400
"""How long a client whose chat a counselor blocked stays slowed."""
BLOCKED_START_SECONDS = 900
"""A blocked client may start one chat per this many seconds: slowed, not shut out, since one
address can be a whole school's or a shelter's."""

FEEDBACK_PER_CLIENT = 3
"""Feedback surveys one client may send per FEEDBACK_WINDOW_SECONDS: one after each chat or call, not a
ballot box to stuff."""

BOOKINGS_PER_NUMBER = 2
"""Callbacks one phone number may be booked for per CALLBACK_NUMBER_WINDOW_SECONDS: enough to book
again after a cancellation, too few to flood someone's phone with our calls."""

_COUNT = """
-- KEYS: counters (one or two); ARGV: limit and window of each. Returns the seconds to wait
-- when a counter is past its limit, else 0. A counter is created with its window as TTL.
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[2 * i]) end
  if n > tonumber(ARGV[2 * i - 1]) then return math.max(1, redis.call('TTL', key)) end
end
return 0
"""


def client_address(request: HTTPConnection) -> str:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class Throttle:
    """Per-client and global limits for the visitor's anonymous HTTP endpoints."""

    def __init__(self, redis: aioredis.Redis, store: ConversationStore, guesses_per_minute: int) -> None:
        self.redis = redis
        self.store = store
        self.keys = store.keys
        self.guesses_per_minute = guesses_per_minute
        self._count = redis.register_script(_COUNT)

    async def _check(self, limits: list[tuple[str, int, int]]) -> None:
        wait = int(await self._count(keys=[key for key, _, _ in limits],
                                     args=[n for _, limit, window in limits for n in (limit, window)]))
        if wait:
            raise TooManyAttempts(wait)

    async def code_attempt(self, request: Request) -> None:
        """Count one return-code attempt; `TooManyAttempts` past the client's or everyone's limit."""
        client = self.store.client_hash(client_address(request))
        await self._check([
            (self.keys.guesses(client), GUESSES_PER_CLIENT, GUESS_WINDOW_SECONDS),
            (self.keys.guesses_all, self.guesses_per_minute, GLOBAL_GUESS_WINDOW_SECONDS),
        ])

    async def letter(self, request: Request) -> None:
        """Count one letter; `TooManyAttempts` past the client's limit."""
        client = self.store.client_hash(client_address(request))
        await self._check([(self.keys.letters_left(client), LETTERS_PER_CLIENT, LETTER_WINDOW_SECONDS)])

    async def block(self, client_hash: str) -> None:
        """A counselor blocked this client's chat: for BLOCK_SECONDS, new chats from it are slowed,
        starting with a wait now."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.blocked(client_hash), "1", ex=BLOCK_SECONDS)
            pipe.set(self.keys.blocked_starts(client_hash), "1", ex=BLOCKED_START_SECONDS)
            await pipe.execute()

    async def chat_start(self, request: HTTPConnection) -> None:
        """`TooManyAttempts` when a blocked client starts chats faster than one per BLOCKED_START_SECONDS."""
        client = self.store.client_hash(client_address(request))
        if await self.redis.exists(self.keys.blocked(client)):
            await self._check([(self.keys.blocked_starts(client), 1, BLOCKED_START_SECONDS)])

    async def callback_booking(self, request: Request, per_client: int) -> None:
        """Count one callback booking tried; `TooManyAttempts` past the client's limit."""
        client = self.store.client_hash(client_address(request))
        await self._check([(self.keys.callbacks_tried(client), per_client, CALLBACK_CLIENT_WINDOW_SECONDS)])

    async def feedback(self, request: Request) -> None:
        """Count one feedback survey sent; `TooManyAttempts` past the client's limit."""
        client = self.store.client_hash(client_address(request))
        await self._check([(self.keys.feedback_sent(client), FEEDBACK_PER_CLIENT, FEEDBACK_WINDOW_SECONDS)])

    async def number_may_book(self, number: str) -> None:
        """`TooManyAttempts` when this number has been booked BOOKINGS_PER_NUMBER times today."""
        key = self.keys.callbacks_of_number(self.store.keyed_hash("number", number))
        booked = int(await self.redis.get(key) or 0)
        if booked >= BOOKINGS_PER_NUMBER:
            raise TooManyAttempts(max(1, int(await self.redis.ttl(key))))

    async def number_booked(self, number: str) -> None:
        """Count one booking of this number (the count's name is a keyed hash, never the number)."""
        key = self.keys.callbacks_of_number(self.store.keyed_hash("number", number))
        # Counted only once booked (a refused try is not a booking); the limit is checked before.
        await self._count(keys=[key], args=[BOOKINGS_PER_NUMBER, CALLBACK_NUMBER_WINDOW_SECONDS])
