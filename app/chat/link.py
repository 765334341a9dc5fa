"""One party's live view of one conversation: catch-up, sending, typing, delivery, ending.

Shared by the visitor's socket and the counselor's console socket, so both sides follow
the same rules: the stream is read from the client's last id, each message is stored once
per client id, and every change is announced on the conversation's channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from app.chat.protocol import Frame
from app.chat.relay import Relay
from app.chat.store import Admission, Appended, ConversationStore, Entry, stream_id_key
from app.stats.counters import ChatPhase, Counters

if TYPE_CHECKING:
    from app.metrics import Metrics

Send = Callable[[dict[str, Any]], Awaitable[None]]

PARTIES = ("visitor", "counselor")
CATCH_UP_BATCH = 200


class ConversationLink:
    """Relays one conversation between Redis and one party's socket."""

    def __init__(
        self, store: ConversationStore, relay: Relay, cid: str, party: str, send: Send,
        metrics: Metrics, last_id: str = "0-0", staff_id: str = "", *, counters: Counters,
    ) -> None:
        """`staff_id`: the counselor on this side; the store lets them write in or end the
        conversation only while they hold it. `metrics`: where live deliveries are timed."""
        assert party in PARTIES
        self.store = store
        self.relay = relay
        self.counters = counters
        self.cid = cid
        self.party = party
        self.other = PARTIES[1 - PARTIES.index(party)]
        self.send = send
        self.cursor = last_id
        self.staff_id = staff_id
        self.channel = store.keys.conversation_channel(cid)
        self.metrics = metrics

    async def catch_up(self, live: bool = False) -> None:
        """Send every entry after the cursor, in order, exactly once per connection.

        `live`: woken by a new entry while connected, so the other party's messages are timed
        (a catch-up on connecting would time how long this party was away, not the service)."""
        while True:
            entries = await self.store.read_after(self.cid, self.cursor, CATCH_UP_BATCH)
            for entry in entries:
                await self._deliver(entry, live)
            if len(entries) < CATCH_UP_BATCH:
                return

    async def _deliver(self, entry: Entry, live: bool) -> None:
        # Two tasks deliver (the pump, and the reader for this party's own message): the cursor moves
        # before the send, so each entry goes out once, and the sends keep their order (Peer's lock).
        if not self._ahead(entry.id):
            return
        self.cursor = entry.id
        if live and entry.kind == "msg" and entry.sender == self.other:
            self.metrics.delivered(entry.ts)
        await self.send(entry.to_frame())

    def _ahead(self, entry_id: str) -> bool:
        return stream_id_key(entry_id) > stream_id_key(self.cursor)

    async def send_delivery(self) -> None:
        """Tell this party how far the other side has received."""
        conversation = await self.store.get(self.cid)
        if conversation is None:
            return
        acked = conversation.counselor_ack if self.party == "visitor" else conversation.visitor_ack
        if stream_id_key(acked) > (0, 0):
            await self.send({"type": "delivered", "id": acked})

    async def on_event(self, event: dict[str, Any]) -> None:
        """React to an event published on the conversation's channel."""
        kind = event.get("kind")
        entry_id = event.get("id")
        if kind == "entry" and isinstance(entry_id, str) and not self._ahead(entry_id):
            pass  # sent already: this socket's own message, shown when it was stored
        elif kind == "entry" and event.get("prev") == self.cursor and isinstance(event.get("fields"), dict):
            # The next entry after what this party has, carried by the event: no need to read it.
            await self._deliver(Entry.from_stream(str(entry_id), event["fields"]), live=True)
        elif kind in ("entry", "resync"):
            await self.catch_up(live=True)
        if kind == "resync":
            await self.send_delivery()
        elif kind == "typing" and event.get("from") == self.other:
            await self.send({"type": "typing"})
        elif kind == "ack" and event.get("party") == self.other:
            await self.send({"type": "delivered", "id": event.get("id")})
        elif kind == "lang" and self.party == "counselor":
            await self.send({"type": "lang", "lang": event.get("lang")})

    async def message(self, frame: Frame, admission: Admission | None = None) -> Appended:
        """Store and announce a message. This party learns it is stored from its entry (which carries
        the client id), sent at once when this socket had everything before it and else in order
        with what it missed; a re-send of a stored one is answered "sent". `admission`: a visitor's,
        checked in the same step; when it refuses, nothing is stored or sent, and the caller says why."""
        # The store announces the entry in the same step (its script), so no cancellation leaves a
        # stored message unannounced: not shielded, as a shield's task would cost a turn of the event
        # loop before the message even leaves for Redis.
        appended = await self.store.append(self.cid, self.party, frame.text, frame.client_id, self.staff_id,
                                           admission)
        if appended.new and appended.letter:  # answered or waiting again: the counselors' list changed
            await asyncio.shield(self._letters_changed())
        if appended.entry is not None:
            if appended.prev == self.cursor:
                # Not waiting for the channel to bring it back: one frame less on every message.
                await self._deliver(appended.entry, live=False)
            # The other party's socket, when in this process, gets it at once too, and sends it before
            # this caller goes on (to screen it): this task yields to theirs, woken just now.
            self.relay.deliver_here(self.channel, entry_event(appended.entry, appended.prev))
            await asyncio.sleep(0)
        elif appended.status == "duplicate":
            await self.send({"type": "sent", "client_id": frame.client_id, "id": appended.id})
        return appended

    async def _letters_changed(self) -> None:
        await self.relay.publish(self.channel, {"kind": "state"})
        await self.relay.publish(self.store.keys.queue_channel, {"kind": "letters"})

    async def typing(self) -> None:
        await self.relay.publish(self.channel, {"kind": "typing", "from": self.party})

    async def seen(self, entry_id: str) -> None:
        if await self.store.acknowledge(self.cid, self.party, entry_id):
            await self.relay.publish(self.channel, {"kind": "ack", "party": self.party, "id": entry_id})

    async def end(self, reason: str = "") -> bool:
        """End it; False if it had ended already (or this counselor no longer holds it)."""
        return await asyncio.shield(end_conversation(self.store, self.relay, self.counters, self.cid,
                                                     self.party, reason, self.staff_id))


def entry_event(entry: Entry, prev: str) -> dict[str, Any]:
    """The event that announces a new message (as the store's append script publishes it): the entry,
    and the id before it."""
    return {"kind": "entry", "id": entry.id, "prev": prev,
            "fields": {"k": entry.kind, "f": entry.sender, "t": entry.text, "ts": str(entry.ts),
                       "c": entry.client_id}}


async def end_conversation(
    store: ConversationStore, relay: Relay, counters: Counters, cid: str, by: str, reason: str = "",
    staff_id: str = "",
) -> bool:
    """End a conversation, count it and wake everyone watching it; False if it had already ended."""
    before = await ChatPhase.read(store, cid)
    if not await store.end(cid, by, reason, staff_id=staff_id):
        return False
    await counters.chat_end(before)
    await announce_change(store, relay, cid)
    return True


async def announce_change(store: ConversationStore, relay: Relay, cid: str) -> None:
    """Wake everyone watching a conversation whose entries and state changed, and the queue."""
    channel = store.keys.conversation_channel(cid)
    await relay.publish(channel, {"kind": "entry"})
    await relay.publish(channel, {"kind": "state"})
    await relay.publish(store.keys.queue_channel, {"kind": "queue"})
