"""The audit log: who did what to which object, when; append-only, durable, never the content.

Every login, logout and failed login, and every staff action on a conversation or on
personal data, is one entry in a Redis stream in the durable Redis. Entries are only ever
added (there is no call here that changes or deletes one); the stream is trimmed by age
on each write, so nothing is kept longer than AUDIT_RETENTION_DAYS.

An entry holds names and ids only: the actor's username and role, the action, the
object's id (a conversation id, a username, a setting's name) and, for some actions, one
more name (the colleague a chat was handed to, the role an account was given). It never
holds message text, notes, phone numbers or anything a visitor wrote: `record` accepts
no free text, and the values it takes are checked to be short identifiers.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis

from app.keys import Keys

ACTIONS = frozenset({
    # Sessions.
    "login", "login_failed", "login_locked", "logout", "session_expired",
    # Conversations.
    "take", "transfer", "requeue", "note", "end", "block", "classify", "open_letter",
    # Intake proposals: the counselor proposes; the visitor (actor "visitor") consents or withdraws.
    "propose_intake", "intake_consented", "intake_withdrawn",
    # Administration.
    "account_add", "account_disable", "account_enable", "account_reset", "account_role",
    "totp_enrol", "hours_change", "canned_change",
    # The log itself, and refusals.
    "audit_view", "audit_export", "denied", "stats_export",
    # Intake delivery (the worker acts as "system").
    "intake_inboxed", "intake_delivered", "intake_failed", "intake_dead", "intake_retried",
    "intake_viewed", "intake_registered",
    # Callbacks: revealing a number is allowed only to the counselor holding the claim.
    "callback_slots", "callback_claim", "callback_release", "callback_reveal", "callback_outcome",
    # Referral links for schools and meeting points.
    "referral_change",
    # Reading the visitors' anonymous feedback.
    "feedback_view",
})
"""Every action the log knows; `record` refuses any other name, so a typo cannot hide one."""

IDENTIFIER = re.compile(r"^[A-Za-z0-9._:@/-]{0,80}$")
"""What an actor, object id or extra name may look like: ids and names, never sentences."""

MAX_EXPORT = 100_000


@dataclass(frozen=True)
class AuditEntry:
    """One line of the log."""

    id: str
    ts: int
    """Milliseconds since the epoch (UTC)."""
    actor: str
    role: str
    action: str
    target: str
    other: str

    @classmethod
    def from_stream(cls, entry_id: str, fields: dict[str, str]) -> AuditEntry:
        return cls(entry_id, int(entry_id.split("-")[0]), fields.get("actor", ""), fields.get("role", ""),
                   fields.get("action", ""), fields.get("target", ""), fields.get("other", ""))


def check_identifier(name: str, value: str) -> None:
    if not IDENTIFIER.match(value):
        raise ValueError(f"audit {name} must be a short identifier, not free text")


class Audit:
    """Append to and read the audit log."""

    def __init__(self, durable: aioredis.Redis, keys: Keys, retention_days: int) -> None:
        self.redis = durable
        self.key = keys.audit
        self.retention_ms = retention_days * 86_400_000

    async def record(self, actor: str, role: str, action: str, target: str = "", other: str = "") -> None:
        """Append one entry; entries older than the retention go at the same time."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        for name, value in (("actor", actor), ("role", role), ("target", target), ("other", other)):
            check_identifier(name, value)
        fields = {"actor": actor, "role": role, "action": action, "target": target, "other": other}
        oldest = int(time.time() * 1000) - self.retention_ms
        await self.redis.xadd(self.key, {k: v for k, v in fields.items() if v},
                              minid=oldest, approximate=False)

    async def entries(self, since_ms: int, until_ms: int, actor: str = "", action: str = "",
                      limit: int = MAX_EXPORT) -> list[AuditEntry]:
        """Entries in [since, until], newest first, optionally of one actor and one action."""
        rows = cast(list[tuple[str, dict[str, str]]],
                    await self.redis.xrevrange(self.key, max=str(until_ms), min=str(since_ms)))
        found = (AuditEntry.from_stream(entry_id, fields) for entry_id, fields in rows)
        wanted = (e for e in found if (not actor or e.actor == actor) and (not action or e.action == action))
        return list(itertools.islice(wanted, limit))
