"""Screening what visitors write, with `moderation`: risk moves a waiting chat ahead, identifiers get a
gentle word, abuse at the counselor is counted and signalled, the same message sent again and again is
refused.

The moderation package is pure; this module is the I/O around it. What screening learns lives in
the conversation's hash (so it goes with the conversation): `risk` (labels, comma-separated),
`risk_evidence` (JSON {label: [phrases]}, staff only), `told_ids` (the identifier note was given),
`abuse` (abusive messages so far) and `recent` (fingerprints of the last messages, one per line).
Signals for the counselor are staff-only notes in the conversation's notes stream: kind `risk`
(name: the labels raised; text: the evidence) and kind `abuse` (text: how many so far).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import cast

from app.chat.relay import Relay
from app.chat.store import ConversationStore, now_ms
from app.stats.counters import Counters
from moderation import Context, abusive, fingerprint, is_repeat
from moderation.scrub import find

CONTEXT_MESSAGES = 10
"""The visitor's last messages assessed together as the conversation's context for risk: enough
for a later message to raise earlier ones (see loadtests/bench_moderation.py for the cost)."""
READ_BACK = CONTEXT_MESSAGES * 2
"""Stream entries read back for the context at most (the counselor's messages are among them)."""
REPEAT_MEMORY = 5
"""Fingerprints of the session's last messages kept to spot one sent again and again."""
REPEAT_LIMIT = 3
"""The third identical message in a row of five is refused."""
ABUSE_SIGNAL_EVERY = 3
"""The counselor is told at the third abusive message, and at every third after it."""
EVIDENCE_MAX = 5
"""Phrases of evidence kept per label: enough for the counselor to see why."""
RISK_LEAD_MS = 10**13
"""How far ahead a chat with a risk signal moves in the queue (scores are arrival times in ms):
ahead of every chat without one, and among themselves still in arrival order."""
IDENTIFIER_KINDS = frozenset({"personnummer", "telefon"})

def remember(text: str, memory: str) -> tuple[bool, str]:
    """Whether `text` is the same message the session's repeat `memory` (the fingerprints of its last
    messages, one per line) holds too often already; and the memory with it, to keep when it is stored."""
    print_ = fingerprint(text)
    kept = memory.split("\n") if memory else []
    return is_repeat(print_, kept, REPEAT_LIMIT), "\n".join([*kept, print_][-REPEAT_MEMORY:])


_NOTE = """
-- KEYS: conv; ARGV: kind, name, text, now_ms. A staff-only note from screening: it shares the
-- conversation's TTL, so it goes with it.
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then return '' end
local id = redis.call('XADD', KEYS[1] .. ':n', '*', 'k', ARGV[1], 'n', ARGV[2], 't', ARGV[3], 'ts', ARGV[4])
redis.call('EXPIRE', KEYS[1] .. ':n', ttl)
return id
"""

_FLAG = """
-- KEYS: conv, queue; ARGV: labels, evidence (JSON), cid, lead (ms). Puts the labels on the
-- conversation and, while it waits, moves it ahead of every chat without a signal.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'risk', ARGV[1], 'risk_evidence', ARGV[2])
if redis.call('HGET', KEYS[1], 'state') == 'waiting' then
  local queued_at = tonumber(redis.call('HGET', KEYS[1], 'queued_at') or '0')
  redis.call('ZADD', KEYS[2], 'XX', queued_at - tonumber(ARGV[4]), ARGV[3])
end
return 1
"""


@dataclass(frozen=True)
class Screened:
    """What one visitor message set off."""

    raised: tuple[str, ...] = ()
    """Risk labels this message added to the conversation."""
    urgent: bool = False
    """The conversation has `imminent_danger`: the visitor is shown 112 at once."""
    identifiers: bool = False
    """The first personnummer or phone number the visitor typed: tell them gently they need not."""
    abuse_signal: int = 0
    """The number of abusive messages so far, when the counselor should be told now; else 0."""


@dataclass
class Window:
    """What screening keeps between one visitor connection's messages: the visitor's last messages,
    prepared, and the stream id they reach. In memory, with the socket (it goes when the socket
    goes), so a message costs no read at all while only this socket writes, and a short read of
    what came after the cursor when another socket of the session may have written."""

    context: Context = field(default_factory=lambda: Context(CONTEXT_MESSAGES))
    cursor: str = "+"
    """The newest stream entry read into the context; "+" before the first read."""
    behind: bool = True
    """The stream may hold visitor messages past the cursor that the context lacks: true until the
    first read, and again whenever another socket of the session stored one (the caller learns
    that from the repeat memory being stale, see `remember`). A message without words leaves the
    memory as it was; the context loses nothing by lacking it (risk is read from words)."""


class Screening:
    """Screens visitor messages against one conversation's stored state."""

    def __init__(self, store: ConversationStore, relay: Relay, counters: Counters) -> None:
        self.store = store
        self.relay = relay
        self.counters = counters
        self.redis = store.redis
        self.keys = store.keys
        self._flag = store.redis.register_script(_FLAG)
        self._note = store.redis.register_script(_NOTE)

    async def visitor_message(self, cid: str, text: str, entry_id: str, window: Window) -> Screened:
        """Screen a visitor message just stored as `entry_id`, in the context of the conversation so far."""
        key = self.keys.conversation(cid)
        if window.behind:
            await self._catch_up(cid, window)  # the new message is among what it reads
        else:
            window.context.add(text)
            window.cursor = entry_id
        assessment = window.context.assess()
        raised: tuple[str, ...] = ()
        labels: tuple[str, ...] = ()
        if assessment.labels:  # only then can anything be raised: what was raised before is read
            before = cast(str | None, await self.redis.hget(key, "risk")) or ""
            had = set(filter(None, before.split(",")))
            labels = tuple(dict.fromkeys([*filter(None, before.split(",")), *assessment.labels]))
            raised = tuple(label for label in labels if label not in had)
        if raised:
            evidence = {label: list(assessment.evidence.get(label, ()))[:EVIDENCE_MAX] for label in labels}
            shown = json.dumps(evidence, ensure_ascii=False)
            await self._flag(keys=[key, self.keys.queue], args=[",".join(labels), shown, cid, RISK_LEAD_MS])
            phrases = [phrase for label in raised for phrase in evidence[label]]
            await self.note(cid, "risk", ",".join(raised), " · ".join(dict.fromkeys(phrases)))
            await self.relay.publish(self.keys.queue_channel, {"kind": "queue"})
            for label in raised:
                await self.counters.add("risk.signal", label=label)
        identifiers = any(found.kind in IDENTIFIER_KINDS for found in find(text)) and \
            bool(await self.redis.hsetnx(key, "told_ids", "1"))
        abuse_signal = 0
        if abusive(text):
            count = int(await self.redis.hincrby(key, "abuse", 1))
            abuse_signal = count if count % ABUSE_SIGNAL_EVERY == 0 else 0
            if abuse_signal:
                await self.note(cid, "abuse", "", str(abuse_signal))
        return Screened(raised=raised, urgent="imminent_danger" in labels, identifiers=identifiers,
                        abuse_signal=abuse_signal)

    async def _catch_up(self, cid: str, window: Window) -> None:
        """Read the visitor's messages past the window's cursor into its context (the last ones, the
        first time), whichever socket of the session stored them."""
        stop = "-" if window.cursor == "+" else f"({window.cursor}"
        rows = await self.redis.xrevrange(self.keys.messages(cid), "+", stop, count=READ_BACK)
        for entry_id, fields in reversed(cast(list[tuple[str, dict[str, str]]], rows)):
            if fields.get("k") == "msg" and fields.get("f") == "visitor":
                window.context.add(fields.get("t", ""))
            window.cursor = entry_id
        window.behind = False

    async def note(self, cid: str, kind: str, name: str, text: str) -> None:
        """A staff-only note on the conversation (shown in the counselor's pane), and the wake-up."""
        if await self._note(keys=[self.keys.conversation(cid)], args=[kind, name, text, now_ms()]):
            await self.relay.publish(self.keys.notes_channel(cid), {"kind": "note"})

    async def urgent(self, cid: str) -> bool:
        risk = cast(str | None, await self.redis.hget(self.keys.conversation(cid), "risk")) or ""
        return "imminent_danger" in risk.split(",")
