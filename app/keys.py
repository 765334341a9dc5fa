"""Every Redis key name, pub/sub channel and time-to-live, in one place.

Ephemeral Redis (`REDIS_URL`, never written to disk) holds what visitors say:

    {p}v:{token_hash}          string  visitor session -> conversation id         conversation TTL
    {p}c:{cid}                 hash    state, language, counselor, rate counter  conversation TTL
    {p}c:{cid}:m               stream  the messages, in order, each with an id   conversation TTL
    {p}c:{cid}:s               hash    client message id -> stream id (dedup)    conversation TTL
    {p}queue                   zset    waiting conversation ids by arrival       idle TTL, refreshed
    {p}staff:online            zset    staff id -> presence expiry (ms)          presence TTL, refreshed
    {p}staff:{id}:chats        set     conversation ids a counselor holds        idle TTL, refreshed
    {p}stats:chat_minutes      list    recent chat lengths (numbers only)        one day
    {p}ss:{token_hash}         hash    staff session                             staff idle TTL

The conversation TTL is the idle TTL while it runs (refreshed whenever anyone is connected
or writes) and the retention TTL once it has ended. Set and queue members of a conversation
are removed when it ends, and swept when it expires unended (see `app/chat/sweeper.py`).

Durable Redis (`REDIS_DURABLE_URL`) holds what must survive a restart:

    {p}staff:u:{username}      hash    staff account (argon2id hash, role, alias) until removed
    {p}staff:all               set     usernames                                 until removed
    {p}dev:secret              string  development-only generated SECRET_KEY     until flushed

Channels (pub/sub wakes processes; the stream stays the record):

    {p}ch:c:{cid}              a conversation changed (new entry, typing, delivery)
    {p}ch:queue                the waiting queue changed
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings

PRESENCE_SECONDS = 60
"""A counselor counts as on duty this long after the console's last heartbeat."""

STATS_SECONDS = 86_400
"""Recent chat lengths (for the wait estimate) are kept a day."""


@dataclass(frozen=True)
class Keys:
    """Key names under one prefix, and the TTLs that go with them."""

    prefix: str
    idle_seconds: int
    retention_seconds: int
    staff_idle_seconds: int
    rate_window_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Keys:
        return cls(
            prefix=settings.key_prefix,
            idle_seconds=settings.conversation_idle_seconds,
            retention_seconds=settings.conversation_retention_seconds,
            staff_idle_seconds=settings.staff_session_idle_seconds,
            rate_window_seconds=settings.rate_limit_window_seconds,
        )

    # Ephemeral: a conversation and its visitor.
    def visitor(self, token_hash: str) -> str:
        return f"{self.prefix}v:{token_hash}"

    def conversation(self, cid: str) -> str:
        return f"{self.prefix}c:{cid}"

    def messages(self, cid: str) -> str:
        return f"{self.conversation(cid)}:m"

    def sent_ids(self, cid: str) -> str:
        return f"{self.conversation(cid)}:s"

    # Ephemeral: shared structures.
    @property
    def queue(self) -> str:
        return f"{self.prefix}queue"

    @property
    def staff_online(self) -> str:
        return f"{self.prefix}staff:online"

    def staff_chats(self, staff_id: str) -> str:
        return f"{self.prefix}staff:{staff_id}:chats"

    @property
    def chat_minutes(self) -> str:
        return f"{self.prefix}stats:chat_minutes"

    def staff_session(self, token_hash: str) -> str:
        return f"{self.prefix}ss:{token_hash}"

    # Durable.
    def staff_account(self, username: str) -> str:
        return f"{self.prefix}staff:u:{username}"

    @property
    def staff_all(self) -> str:
        return f"{self.prefix}staff:all"

    @property
    def dev_secret(self) -> str:
        return f"{self.prefix}dev:secret"

    # Channels.
    def conversation_channel(self, cid: str) -> str:
        return f"{self.prefix}ch:c:{cid}"

    @property
    def queue_channel(self) -> str:
        return f"{self.prefix}ch:queue"
