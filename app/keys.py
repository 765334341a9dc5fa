"""Every Redis key name, pub/sub channel and time-to-live, in one place.

Ephemeral Redis (`REDIS_URL`, never written to disk) holds what visitors say:

    {p}v:{token_hash}          string  visitor session -> conversation id         conversation TTL
    {p}c:{cid}                 hash    state, language, counselor, token bucket, conversation TTL
                                       risk labels and evidence, abuse count,
                                       recent message fingerprints
                                       (also: its token's and code's key names,
                                       a letter's hold and answered flag)
    {p}c:{cid}:m               stream  the messages, in order, each with an id   conversation TTL
    {p}c:{cid}:s               hash    client message id -> stream id (dedup)    conversation TTL
    {p}c:{cid}:n               stream  staff's private notes (never the visitor's) conversation TTL
    {p}c:{cid}:p               hash    the open intake proposal and its outcome  conversation TTL
                                       (app/intake/consent.py)
    {p}rc:{code_hash}          string  return code's slow hash -> conversation   conversation TTL
    {p}queue                   zset    waiting conversation ids by arrival       idle TTL, refreshed
    {p}coded                   zset    running coded conversations by last use   return TTL, refreshed
    {p}letters                 zset    left messages by time waiting since       return TTL, refreshed
    {p}staff:online            zset    staff id -> presence expiry (ms)          presence TTL, refreshed
    {p}staff:{id}:chats        set     conversation ids a counselor holds        idle TTL, refreshed
    {p}staff:available         zset    staff id -> expiry, those offered new chats presence TTL, refreshed
    {p}staff:{id}:status       string  available | busy | away                   presence TTL, refreshed
    {p}stats:chat_minutes      list    recent chat lengths (numbers only)        one day
    {p}ss:{token_hash}         hash    staff session (idle time checked on use)  its absolute deadline
    {p}ss:u:{username}         set     that member's session token hashes        STAFF_SESSION_MAX_SECONDS
    {p}pl:{token_hash}         hash    a login between password and code          PENDING_LOGIN_SECONDS
    {p}rl:login:a:{name_hash}  string  failed logins with one username           LOGIN_WINDOW_SECONDS,
                                                                                 the lockout once locked
    {p}rl:login:c:{client_hash} string failed logins from one client             LOGIN_WINDOW_SECONDS
    {p}rl:code:{client_hash}   string  return codes one client tried             GUESS_WINDOW_SECONDS
    {p}rl:code:all             string  return codes everyone tried               GLOBAL_GUESS_WINDOW_SECONDS
    {p}rl:letter:{client_hash} string  messages one client left                  LETTER_WINDOW_SECONDS
    {p}rl:blocked:{client_hash} string a counselor blocked this client's chat      BLOCK_SECONDS
    {p}rl:bstart:{client_hash} string  chats a blocked client started            BLOCKED_START_SECONDS
    {p}rl:cb:c:{client_hash}   string  callback bookings one client tried        CALLBACK_CLIENT_WINDOW_
                                                                                 SECONDS
    {p}rl:cb:n:{number_hash}   string  callback bookings of one phone number     CALLBACK_NUMBER_WINDOW_
                                       (a keyed hash: never the number)          SECONDS
    {p}rl:fb:{client_hash}     string  feedback surveys one client sent          FEEDBACK_WINDOW_SECONDS

The conversation TTL is the idle TTL while it runs (refreshed whenever anyone is connected
or writes) and the retention TTL once it has ended. Set and queue members of a conversation
are removed when it ends, and swept when it expires unended (see `app/chat/sweeper.py`).

A conversation with a return code (every letter has one) uses the return TTL
(`RETURN_CODE_RETENTION_SECONDS`, default 7 days) for every one of its keys instead, counted
from its last message, whether it runs or has ended: long enough to come back after a
weekend, or a week later when it is safe again, and short enough that little is kept.
It is never left to expire while it runs: the sweeper ends it once nobody has been connected
for the idle time (`{p}coded` holds when each was last used), and it is then kept for the
return TTL like any other ended coded conversation. The code itself is stored only as a
slow, peppered hash (see `app/chat/return_codes.py`); `{p}c:{cid}` names its current key so
that a new code can delete the old one. `{client_hash}` is a keyed hash of the client's
address (never the address), living only as long as its counting window.

Durable Redis (`REDIS_DURABLE_URL`) holds what must survive a restart:

    {p}staff:u:{username}      hash    staff account (argon2id hash, role, alias) until removed
    {p}staff:all               set     usernames                                 until removed
    {p}dev:secret              string  development-only generated SECRET_KEY     until flushed
    {p}intake:{id}             hash    a consented intake: states, consent record,  until delivered and
                                       and the sealed document (app/intake/)     acknowledged, then purged
    {p}intake:outbox           list    intake ids waiting for delivery           while not empty
    {p}intake:dead             list    intake ids that failed delivery N times   until handled
    {p}intake:inbox            set     intake ids waiting to be registered       until registered
    {p}intake:processing       zset    intake ids being delivered -> lease end   until settled; an
                                       (ms); a lapsed lease is taken up again    expired one is retaken
    {p}intake:retry            zset    intake ids -> time of their next attempt  until that time
                                       (ms; app/intake/delivery.py)
    {p}audit                   stream  the audit log (see app/audit.py)          AUDIT_RETENTION_DAYS,
                                                                                 trimmed on each write
    {p}hours                   string  opening hours as edited (JSON; see        until replaced
                                       app/staff/hours_store.py)
    {p}canned                  hash    canned response id -> {lang, title, text}  until removed
    {p}stats:d:{YYYY-MM-DD}    hash    counters of one local day (TIMEZONE):     kept (counters only:
                                       "metric" or "metric|name=value" -> count  no id, no free text)
                                       (app/stats/counters.py)
    {p}stats:h:{YYYY-MM-DDTHH} hash    the same counters, one local hour         HOUR_KEEP_DAYS
    {p}stats:staffed:{minute}  string  one process's claim to count a minute     STAFFED_CLAIM_SECONDS
                                       (YYYY-MM-DDTHH:MM) as staffed
    {p}cb:slots                zset    callback time slot id -> start (ms)       pruned once past
    {p}cb:s:{slot}             hash    a slot: start_ms, end_ms, places, booked  its end +
                                                                                 CALLBACK_GRACE_SECONDS
    {p}cb:s:{slot}:b           set     the refs of the slot's bookings           the slot's end +
                                                                                 CALLBACK_GRACE_SECONDS
    {p}cb:b:{ref}              hash    a booking: slot, state, claim, the change  its slot's end +
                                       code's keyed hash, the number and answers CALLBACK_GRACE_SECONDS,
                                       sealed (app/callback/bookings.py)         whatever happened
    {p}referrals               hash    referral code -> JSON {name, audience,     until removed
                                       created} (app/referrals.py)
    {p}feedback:notes          list    the feedback survey's free text, newest   kept, trimmed to the
                                       first: JSON {month, kind, text}, scrubbed newest FEEDBACK_NOTES_
                                       of personal data; no conversation id, no  KEEP (a short list
                                       time finer than the month                 for supervisors)

Channels (pub/sub wakes processes; the stream stays the record):

    {p}ch:c:{cid}              a conversation changed (new entry, typing, delivery)
    {p}ch:queue                the waiting queue changed
    {p}ch:intake               an intake was queued for delivery (wakes the delivery workers)
    {p}ch:ss:{token_hash}      a staff session ended: its sockets close
    {p}ch:n:{cid}              a conversation's notes changed (staff consoles only)
    {p}ch:staff:{id}           a conversation was handed to this counselor
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings

PRESENCE_SECONDS = 60
"""A counselor counts as on duty this long after the console's last heartbeat."""

STATS_SECONDS = 86_400
"""Recent chat lengths (for the wait estimate) are kept a day."""

GUESS_WINDOW_SECONDS = 600
"""One client's return-code attempts are counted over ten minutes."""

GLOBAL_GUESS_WINDOW_SECONDS = 60
"""Everyone's return-code attempts are counted per minute."""

LETTER_WINDOW_SECONDS = 3600
"""The messages one client leaves are counted over an hour."""

PENDING_LOGIN_SECONDS = 300
"""Time between a correct password and the one-time code (or enrolment) that completes the login."""

CALLBACK_CLIENT_WINDOW_SECONDS = 3600
"""Callback bookings one client tries are counted over an hour."""

CALLBACK_NUMBER_WINDOW_SECONDS = 86_400
"""The bookings of one phone number are counted over a day."""

LOGIN_WINDOW_SECONDS = 900
"""Failed logins are counted over 15 minutes, and a locked name stays locked as long."""

HOUR_KEEP_DAYS = 90
"""Hourly counters (for the time-of-day figures) are kept 90 days; the daily ones are kept."""

STAFFED_CLAIM_SECONDS = 120
"""A minute's claim to be counted as staffed outlives the minute, so no other process counts it again."""

FEEDBACK_WINDOW_SECONDS = 3600
"""The feedback surveys one client sends are counted over an hour."""

FEEDBACK_NOTES_KEEP = 200
"""Only the newest this many free-text feedback notes are kept: a short list to read, not an archive."""


@dataclass(frozen=True)
class Keys:
    """Key names under one prefix, and the TTLs that go with them."""

    prefix: str
    idle_seconds: int
    retention_seconds: int
    rate_window_seconds: int
    return_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Keys:
        return cls(
            prefix=settings.key_prefix,
            idle_seconds=settings.conversation_idle_seconds,
            retention_seconds=settings.conversation_retention_seconds,
            rate_window_seconds=settings.rate_limit_window_seconds,
            return_seconds=settings.return_code_retention_seconds,
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

    def notes(self, cid: str) -> str:
        return f"{self.conversation(cid)}:n"

    def proposal(self, cid: str) -> str:
        return f"{self.conversation(cid)}:p"

    def return_code(self, code_hash: str) -> str:
        return f"{self.prefix}rc:{code_hash}"

    # Ephemeral: shared structures.
    @property
    def queue(self) -> str:
        return f"{self.prefix}queue"

    @property
    def coded(self) -> str:
        return f"{self.prefix}coded"

    @property
    def letters(self) -> str:
        return f"{self.prefix}letters"

    def guesses(self, client_hash: str) -> str:
        return f"{self.prefix}rl:code:{client_hash}"

    @property
    def guesses_all(self) -> str:
        return f"{self.prefix}rl:code:all"

    def letters_left(self, client_hash: str) -> str:
        return f"{self.prefix}rl:letter:{client_hash}"

    def blocked(self, client_hash: str) -> str:
        return f"{self.prefix}rl:blocked:{client_hash}"

    def blocked_starts(self, client_hash: str) -> str:
        return f"{self.prefix}rl:bstart:{client_hash}"

    def callbacks_tried(self, client_hash: str) -> str:
        return f"{self.prefix}rl:cb:c:{client_hash}"

    def callbacks_of_number(self, number_hash: str) -> str:
        return f"{self.prefix}rl:cb:n:{number_hash}"

    def feedback_sent(self, client_hash: str) -> str:
        return f"{self.prefix}rl:fb:{client_hash}"

    @property
    def staff_online(self) -> str:
        return f"{self.prefix}staff:online"

    def staff_chats(self, staff_id: str) -> str:
        return f"{self.prefix}staff:{staff_id}:chats"

    @property
    def staff_available(self) -> str:
        return f"{self.prefix}staff:available"

    def staff_status(self, staff_id: str) -> str:
        return f"{self.prefix}staff:{staff_id}:status"

    @property
    def chat_minutes(self) -> str:
        return f"{self.prefix}stats:chat_minutes"

    def staff_session(self, token_hash: str) -> str:
        return f"{self.prefix}ss:{token_hash}"

    def staff_sessions_of(self, username: str) -> str:
        return f"{self.prefix}ss:u:{username}"

    def pending_login(self, token_hash: str) -> str:
        return f"{self.prefix}pl:{token_hash}"

    def login_failures_account(self, name_hash: str) -> str:
        return f"{self.prefix}rl:login:a:{name_hash}"

    def login_failures_client(self, client_hash: str) -> str:
        return f"{self.prefix}rl:login:c:{client_hash}"

    # Durable.
    def staff_account(self, username: str) -> str:
        return f"{self.prefix}staff:u:{username}"

    @property
    def staff_all(self) -> str:
        return f"{self.prefix}staff:all"

    @property
    def dev_secret(self) -> str:
        return f"{self.prefix}dev:secret"

    @property
    def audit(self) -> str:
        return f"{self.prefix}audit"

    def intake(self, intake_id: str) -> str:
        return f"{self.prefix}intake:{intake_id}"

    @property
    def intake_outbox(self) -> str:
        return f"{self.prefix}intake:outbox"

    @property
    def intake_dead(self) -> str:
        return f"{self.prefix}intake:dead"

    @property
    def intake_inbox(self) -> str:
        return f"{self.prefix}intake:inbox"

    @property
    def intake_processing(self) -> str:
        return f"{self.prefix}intake:processing"

    @property
    def intake_retry(self) -> str:
        return f"{self.prefix}intake:retry"

    @property
    def intake_channel(self) -> str:
        return f"{self.prefix}ch:intake"

    @property
    def opening_hours(self) -> str:
        return f"{self.prefix}hours"

    @property
    def canned(self) -> str:
        return f"{self.prefix}canned"

    @property
    def callback_slots(self) -> str:
        return f"{self.prefix}cb:slots"

    def callback_slot(self, slot_id: str) -> str:
        return f"{self.prefix}cb:s:{slot_id}"

    def callback_slot_bookings(self, slot_id: str) -> str:
        return f"{self.callback_slot(slot_id)}:b"

    def callback_booking(self, ref: str) -> str:
        return f"{self.prefix}cb:b:{ref}"

    @property
    def referrals(self) -> str:
        return f"{self.prefix}referrals"

    def stats_day(self, day: str) -> str:
        return f"{self.prefix}stats:d:{day}"

    def stats_hour(self, hour: str) -> str:
        return f"{self.prefix}stats:h:{hour}"

    def stats_staffed(self, minute: str) -> str:
        return f"{self.prefix}stats:staffed:{minute}"

    @property
    def feedback_notes(self) -> str:
        return f"{self.prefix}feedback:notes"

    # Channels.
    def conversation_channel(self, cid: str) -> str:
        return f"{self.prefix}ch:c:{cid}"

    @property
    def queue_channel(self) -> str:
        return f"{self.prefix}ch:queue"

    def staff_session_channel(self, token_hash: str) -> str:
        return f"{self.prefix}ch:ss:{token_hash}"

    def notes_channel(self, cid: str) -> str:
        return f"{self.prefix}ch:n:{cid}"

    def staff_channel(self, staff_id: str) -> str:
        return f"{self.prefix}ch:staff:{staff_id}"
