"""The per-process objects the lifespan creates and every handler reaches through the app."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis
from babel.support import NullTranslations

from app.assets import Assets
from app.audit import Audit
from app.callback.bookings import CallbackBook
from app.callback.codes import CodeHasher
from app.chat.queue_watch import QueueWatch
from app.chat.relay import Relay
from app.chat.screening import Screening
from app.chat.sockets import HEARTBEAT_SECONDS
from app.chat.store import ConversationStore
from app.config import Settings
from app.intake.records import IntakeRecords
from app.keys import Keys
from app.metrics import Metrics
from app.referrals import Referrals
from app.staff.accounts import Accounts
from app.staff.hours_store import HoursStore
from app.staff.login_throttle import LoginThrottle
from app.staff.presence import Presence
from app.staff.sessions import StaffSessions
from app.stats.counters import Counters
from app.templating import Templates
from app.visitor.throttle import Throttle


@dataclass
class Services:
    """Everything a request handler needs; built once per process in `app.main`."""

    settings: Settings
    keys: Keys
    redis: aioredis.Redis
    durable: aioredis.Redis
    store: ConversationStore
    screening: Screening
    relay: Relay
    queue_watch: QueueWatch
    accounts: Accounts
    staff_sessions: StaffSessions
    login_throttle: LoginThrottle
    presence: Presence
    hours: HoursStore
    translations: dict[str, NullTranslations]
    templates: Templates
    assets: Assets
    throttle: Throttle
    audit: Audit
    intakes: IntakeRecords
    callbacks: CallbackBook
    callback_codes: CodeHasher
    referrals: Referrals
    counters: Counters
    metrics: Metrics

    @property
    def heartbeat_seconds(self) -> float:
        """How often open consoles renew their presence and keep their chats alive: well inside
        the presence time and the idle TTL."""
        return min(HEARTBEAT_SECONDS, self.settings.conversation_idle_seconds / 3)

    @property
    def touch_seconds(self) -> float:
        """How often an open visitor socket keeps its conversation alive: a third of the idle TTL
        (its messages keep it alive too). Every 20 s, as consoles beat, it cost 5,000 visitors more
        Redis work than their messages (loadtests/bench_chat.py)."""
        return self.settings.conversation_idle_seconds / 3

    def now(self) -> datetime:
        """The local time the opening hours are in (TIMEZONE), aware of daylight saving."""
        return datetime.now(ZoneInfo(self.settings.timezone))

    async def is_open(self) -> bool:
        """Open now, by the hours as last saved by any process."""
        opening_hours, _ = await self.hours.current()
        return opening_hours.is_open(self.now())

    async def can_chat_now(self) -> bool:
        """Whether a counselor can answer a chat now: open, and someone on duty."""
        return await self.is_open() and await self.presence.count() > 0

    async def accepts_letters(self) -> bool:
        """Whether visitors may leave a message: when nobody can answer a chat now, or the
        queue is long (LETTER_QUEUE_THRESHOLD)."""
        if not await self.can_chat_now():
            return True
        return await self.store.queue_length() >= self.settings.letter_queue_threshold

    def code_days(self) -> int:
        """Days a coded conversation or a letter is kept after its last message, as visitors are told."""
        return math.ceil(self.settings.return_code_retention_seconds / 86_400)

    def text(self, lang: str, message: str) -> str:
        """A server-side string in the visitor's language."""
        return self.translations[lang].gettext(message)
