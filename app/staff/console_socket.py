"""The counselor's WebSocket: the live queue, taking chats, every chat the counselor holds, and letters;
private notes, handing a chat over, own status, the end-of-chat classification, and proposing an intake
(whose outcome only the visitor decides)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.websockets import WebSocket

from app import log
from app.chat import sockets
from app.chat.link import ConversationLink
from app.chat.protocol import Frame
from app.chat.queue_watch import Letter
from app.chat.relay import Subscription
from app.errors import CLOSE_FORBIDDEN, CLOSE_ORIGIN, CLOSE_UNAUTHENTICATED, Gone, Malformed, NotAllowed
from app.intake.consent import IntakeFlow
from app.security import origin_allowed
from app.services import Services
from app.staff import access
from app.staff.classification import count, counter_fields
from app.staff.sessions import StaffSession
from app.stats.counters import ChatPhase

SESSION_RECHECK_SECONDS = 60.0
"""How long a console's frames go without reading the staff session again, at most: a tenth of the
idle time when that is shorter, so that use always resets it in time. Read and touched for every
frame, it was two of the three Redis round trips of a counselor's message; every 5 s, still about
50 round trips a second beside 133 messages with 1,000 visitors (loadtests/bench_chat.py). A session
ended meanwhile closes the console at once anyway (`close_when_ended`)."""


class ConsoleConnection:
    """One console socket: the queue, plus a link per conversation this counselor holds."""

    def __init__(self, services: Services, peer: sockets.Peer, session: StaffSession,
                 subscription: Subscription) -> None:
        self.services = services
        self.peer = peer
        self.session = session
        self.subscription = subscription
        self.links: dict[str, ConversationLink] = {}
        self.by_channel: dict[str, ConversationLink] = {}
        self.letters: set[str] = set()
        """Letters this console shows (their links are in `links` too), held while they are letters."""
        self.letters_sent: tuple[Letter, ...] | None = None
        self.colleagues_sent: frozenset[str] | None = None
        self.notes_seen: dict[str, str] = {}
        """conv -> the last note id sent, for every chat this console shows."""
        self.by_notes_channel: dict[str, str] = {}
        self.staff_channel = services.keys.staff_channel(session.username)
        self.intakes = IntakeFlow(services)

    async def open(self, cid: str, last_id: str = "0-0") -> ConversationLink:
        async def send(frame: dict[str, Any]) -> None:
            # Nothing more from a link let go (handed over, requeued) while its pump was still at work
            # on an event: the console, told the chat has gone, would show it again.
            if self.links.get(cid) is link:
                await self.peer.send({**frame, "conv": cid})

        link = ConversationLink(self.services.store, self.services.relay, cid, "counselor", send,
                                self.services.metrics, last_id, staff_id=self.session.username,
                                counters=self.services.counters)
        self.links[cid] = link
        self.by_channel[link.channel] = link
        await self.subscription.add(link.channel)
        await link.catch_up()
        await link.send_delivery()
        notes_channel = self.services.keys.notes_channel(cid)
        self.by_notes_channel[notes_channel] = cid
        self.notes_seen[cid] = "0-0"
        await self.subscription.add(notes_channel)
        await self.send_notes(cid)
        await self.send_proposal(cid)
        return link

    async def send_proposal(self, cid: str) -> None:
        """The intake proposal of a chat this console shows, and what the visitor answered."""
        proposal = await self.intakes.get(cid)
        conversation = await self.services.store.get(cid)
        if proposal is not None and conversation is not None:
            await self.peer.send(self.intakes.staff_frame(cid, proposal, conversation.lang))

    async def close_link(self, cid: str) -> None:
        """Stop showing a conversation: no more of its entries or notes reach this console."""
        link = self.links.pop(cid, None)
        if link is not None:
            self.by_channel.pop(link.channel, None)
            await self.subscription.remove(link.channel)
        if self.notes_seen.pop(cid, None) is not None:
            notes_channel = self.services.keys.notes_channel(cid)
            self.by_notes_channel.pop(notes_channel, None)
            await self.subscription.remove(notes_channel)

    async def send_notes(self, cid: str) -> None:
        """The staff's private notes on a conversation this console shows, after the last one sent."""
        if cid not in self.notes_seen:
            return
        for note in await self.services.store.notes_after(cid, self.notes_seen[cid]):
            await self.peer.send(note.to_frame(cid))
            self.notes_seen[cid] = note.id

    async def send_queue(self) -> None:
        """The queue as this counselor sees it, and the letters when they changed."""
        snapshot = self.services.queue_watch.snapshot
        await self.peer.send(snapshot.staff_frame(self.session.username))
        if snapshot.letters != self.letters_sent:
            self.letters_sent = snapshot.letters
            await self.peer.send(snapshot.letters_frame())
        if snapshot.online != self.colleagues_sent:
            self.colleagues_sent = snapshot.online
            await self.send_colleagues(snapshot.online)

    async def send_colleagues(self, online: frozenset[str]) -> None:
        """The colleagues on duty, whom a chat can be handed to."""
        items = []
        for username in sorted(online - {self.session.username}):
            account = await self.services.accounts.get(username)
            if account is not None and not account.disabled:
                items.append({"username": username, "name": account.display_name})
        await self.peer.send({"type": "colleagues", "items": items})

    async def start(self, hello: Frame) -> None:
        """Show the queue and this counselor's chats, resuming each after the client's last id."""
        store = self.services.store
        chats = await store.staff_chats(self.session.username)
        await self.peer.send({"type": "chats", "items": [
            {"conv": c.id, "lang": c.lang, "state": c.state} for c in chats
        ]})
        for conversation in chats:
            await self.open(conversation.id, hello.chats.get(conversation.id, "0-0"))
        # Letters the console showed before it reconnected, where it left off, if still its own.
        for cid, last_id in hello.chats.items():
            letter = None if cid in self.links else await store.get(cid)
            if letter is not None and letter.state == "letter":
                await self.open_letter(cid, last_id, resuming=True)
        await self.subscription.add(self.staff_channel)
        status = await self.services.presence.heartbeat(self.session.username)
        await self.peer.send({"type": "status", "status": status})
        await self.send_queue()
        self.services.queue_watch.watch(self.subscription)
        # Visitors' "a counselor is on duty" changes with this console.
        await self.services.relay.publish(self.services.keys.queue_channel, {"kind": "presence"})

    async def audit(self, action: str, cid: str = "", other: str = "") -> None:
        session = self.session
        await self.services.audit.record(session.username, session.role, action, target=cid, other=other)

    async def handle(self, frame: Frame) -> None:
        if not access.message_allowed(self.session.role, frame.type):
            await self.audit("denied", other=frame.type)
            await self.peer.refuse(NotAllowed(), "not allowed for your role")
            return
        if frame.type == "take":
            await self.take(frame.conv)
            return
        if frame.type == "open_letter":
            await self.open_letter(frame.conv)
            return
        if frame.type == "close_letter":
            await self.close_letter(frame.conv)
            return
        if frame.type == "status":
            await self.set_status(frame.status)
            return
        link = self.links.get(frame.conv)
        if link is None:
            # Only the counselor who holds a conversation may act in it.
            await self.peer.refuse(NotAllowed(), "not your conversation")
            return
        try:
            if frame.type == "msg":
                await link.message(frame)
            elif frame.type == "typing":
                await link.typing()
            elif frame.type == "seen":
                await link.seen(frame.id)
            elif frame.type == "end" and await link.end():
                await self.audit("end", frame.conv)
            elif frame.type == "block" and await link.end():
                # An ordinary end for the visitor; their socket's process hears of the block
                # and slows new chats from that client (it alone knows the address).
                await self.services.relay.publish(link.channel, {"kind": "block"})
                await self.audit("block", frame.conv)
            elif frame.type == "note":
                await self.note(frame.conv, frame.text)
            elif frame.type == "transfer":
                await self.transfer(frame.conv, frame.to, frame.text)
            elif frame.type == "requeue":
                await self.requeue(frame.conv, frame.text)
            elif frame.type == "classify":
                await self.classify(frame.conv, frame.answers)
            elif frame.type == "propose_intake":
                await self.propose_intake(frame.conv, frame.fields)
        except Gone:
            await self.peer.send({"type": "error", "code": "gone", "conv": frame.conv,
                                  "message": "this conversation has ended"})
        except NotAllowed:  # handed on meanwhile: the store refuses whoever no longer holds it
            await self.peer.refuse(NotAllowed(), "not your conversation")

    async def set_status(self, status: str) -> None:
        services = self.services
        await services.presence.heartbeat(self.session.username, status)
        await self.peer.send({"type": "status", "status": status})
        # Visitors' availability and the colleagues' transfer lists change with it.
        await services.relay.publish(services.keys.queue_channel, {"kind": "presence"})

    async def note(self, cid: str, text: str) -> None:
        services = self.services
        if not await services.store.add_note(cid, self.session.username, self.session.display_name, text):
            await self.peer.refuse(NotAllowed(), "not your conversation")
            return
        await self.audit("note", cid)
        await services.relay.publish(services.keys.notes_channel(cid), {"kind": "note"})

    async def transfer(self, cid: str, to: str, note: str) -> None:
        """Hand a running chat to a colleague on duty; the visitor sees only who they talk with now."""
        services = self.services
        colleague = await services.accounts.get(to)
        if colleague is None or colleague.disabled or not access.allowed(colleague.role, access.CHAT):
            await self.peer.send({"type": "transfer_failed", "conv": cid, "reason": "unknown"})
            return
        status = await asyncio.shield(self._transfer_and_announce(cid, colleague.username,
                                                                  colleague.display_name, note))
        if status != "ok":
            await self.peer.send({"type": "transfer_failed", "conv": cid, "reason": status})
            return
        await self.let_go(cid, {"type": "transferred", "conv": cid, "to": colleague.display_name})

    async def _transfer_and_announce(self, cid: str, to: str, to_name: str, note: str) -> str:
        services = self.services
        session = self.session
        status = await services.store.transfer(cid, session.username, session.display_name, to, to_name, note)
        if status == "ok":
            await self.audit("transfer", cid, other=to)
            channel = services.keys.conversation_channel(cid)
            await services.relay.publish(channel, {"kind": "entry"})
            await services.relay.publish(channel, {"kind": "state"})
            await services.relay.publish(services.keys.staff_channel(to),
                                         {"kind": "handed", "conv": cid, "from": session.display_name})
            await services.relay.publish(self.staff_channel, {"kind": "released", "conv": cid, "to": to_name})
        return status

    async def requeue(self, cid: str, note: str) -> None:
        """Put a running chat back at the front of the queue."""
        if not await asyncio.shield(self._requeue_and_announce(cid, note)):
            await self.peer.send({"type": "transfer_failed", "conv": cid, "reason": "not_yours"})
            return
        await self.let_go(cid, {"type": "requeued", "conv": cid})

    async def _requeue_and_announce(self, cid: str, note: str) -> bool:
        services = self.services
        if not await services.store.requeue(cid, self.session.username, self.session.display_name, note):
            return False
        await self.audit("requeue", cid)
        channel = services.keys.conversation_channel(cid)
        await services.relay.publish(channel, {"kind": "state"})
        await services.relay.publish(services.keys.queue_channel, {"kind": "queue"})
        await services.relay.publish(self.staff_channel, {"kind": "released", "conv": cid})
        return True

    async def let_go(self, cid: str, frame: dict[str, object]) -> None:
        """This counselor no longer holds a chat (handed over, here or in another of their consoles)."""
        if cid in self.links:
            await self.close_link(cid)
            await self.peer.send(frame)

    async def on_staff_event(self, event: dict[str, object]) -> None:
        """Something happened to this counselor's chats on another console or process."""
        cid = str(event.get("conv", ""))
        if event.get("kind") == "handed" and cid not in self.links:
            conversation = await self.services.store.get(cid)
            if conversation is not None and conversation.staff_id == self.session.username:
                await self.peer.send({"type": "transferred_in", "conv": cid, "lang": conversation.lang,
                                      "from": event.get("from", "")})
                await self.open(cid)
        elif event.get("kind") == "released":
            frame: dict[str, object] = {"type": "transferred", "conv": cid, "to": event["to"]} \
                if "to" in event else {"type": "requeued", "conv": cid}
            await self.let_go(cid, frame)
        elif event.get("kind") == "resync":  # Redis was away: a chat handed over meanwhile shows now
            for conversation in await self.services.store.staff_chats(self.session.username):
                if conversation.id not in self.links:
                    await self.peer.send({"type": "transferred_in", "conv": conversation.id,
                                          "lang": conversation.lang, "from": ""})
                    await self.open(conversation.id)

    async def classify(self, cid: str, answers: dict[str, list[str]]) -> None:
        """Count an ended chat's classification, once, for the counselor who had it."""
        services = self.services
        try:
            fields = counter_fields(answers)
        except Malformed:
            await self.peer.send({"type": "classify_failed", "conv": cid, "reason": "invalid"})
            return
        claimed = await services.store.claim_classification(cid, self.session.username)
        if claimed != "ok":
            await self.peer.send({"type": "classify_failed", "conv": cid, "reason": claimed})
            return
        await count(services.counters, fields)
        await self.audit("classify", cid)
        await self.peer.send({"type": "classified", "conv": cid})

    async def propose_intake(self, cid: str, fields: dict[str, str]) -> None:
        """Offer the visitor an intake; only their consent, on their own socket, can make one."""
        try:
            status = await self.intakes.propose(cid, self.session.username, self.session.display_name, fields)
        except Malformed:
            status = "invalid"
        if status != "ok":
            await self.peer.send({"type": "propose_failed", "conv": cid, "reason": status})
            return
        await self.audit("propose_intake", cid)

    async def take(self, cid: str) -> None:
        if not await asyncio.shield(self._take_and_announce(cid)):
            await self.peer.send({"type": "take_failed", "conv": cid})
            return
        await self.peer.send({"type": "taken", "conv": cid})
        await self.open(cid)

    async def _take_and_announce(self, cid: str) -> bool:
        services = self.services
        if not await services.store.take(cid, self.session.username, self.session.display_name):
            return False
        log.event("chat.taken")
        await services.counters.chat_taken(await ChatPhase.read(services.store, cid))
        await self.audit("take", cid)
        channel = services.keys.conversation_channel(cid)
        await services.relay.publish(channel, {"kind": "entry"})
        await services.relay.publish(channel, {"kind": "state"})
        await services.relay.publish(services.keys.queue_channel, {"kind": "queue"})
        return True

    async def open_letter(self, cid: str, last_id: str = "0-0", resuming: bool = False) -> None:
        """Hold a letter (one counselor at a time) and show it, from `last_id` on.

        `resuming`: the console showed it before it reconnected; if someone else has it
        now, the console stops showing it.
        """
        services = self.services
        status, holder = await services.store.open_letter(cid, self.session.username,
                                                          self.session.display_name)
        if status != "ok" and resuming:
            await self.peer.send({"type": "letter_closed", "conv": cid})
            return
        if status != "ok":
            refused = {"type": "letter_failed", "conv": cid, "reason": status}
            await self.peer.send({**refused, "by": holder} if holder else refused)
            return
        await self.peer.send({"type": "letter_opened", "conv": cid})
        if cid not in self.links:
            log.event("letter.opened", staff=self.session.username)
            await self.audit("open_letter", cid)
            self.letters.add(cid)
            await self.open(cid, last_id)
            await services.relay.publish(services.keys.queue_channel, {"kind": "letters"})

    async def close_letter(self, cid: str) -> None:
        if cid not in self.letters:
            await self.peer.refuse(NotAllowed(), "not your letter")
            return
        await self.services.store.close_letter(cid, self.session.username)
        await self.drop_letter(cid)
        await self.services.relay.publish(self.services.keys.queue_channel, {"kind": "letters"})

    async def drop_letter(self, cid: str) -> None:
        """Stop showing a letter this console no longer holds."""
        self.letters.discard(cid)
        await self.close_link(cid)
        await self.peer.send({"type": "letter_closed", "conv": cid})

    async def release_letters(self) -> None:
        """Let go of every letter this console holds (it is closing)."""
        for cid in list(self.letters):
            await self.services.store.close_letter(cid, self.session.username)
        if self.letters:
            await self.services.relay.publish(self.services.keys.queue_channel, {"kind": "letters"})

    async def pump(self) -> None:
        queue_channel = self.services.keys.queue_channel
        async for channel, event in sockets.events(self.subscription, self.services.heartbeat_seconds,
                                                   self.heartbeat):
            if channel == queue_channel or event.get("kind") == "resync":
                await self.send_queue()
            link = self.by_channel.get(channel)
            if link is not None:
                await link.on_event(event)
                if event.get("kind") == "proposal":
                    await self.send_proposal(link.cid)
            if channel in self.by_notes_channel:
                await self.send_notes(self.by_notes_channel[channel])
            if channel == self.staff_channel:
                await self.on_staff_event(event)

    async def heartbeat(self) -> None:
        store = self.services.store
        await self.services.presence.heartbeat(self.session.username)
        await store.touch(*self.links)
        for cid in list(self.letters):  # renew the holds; one someone else took meanwhile is closed
            status, _ = await store.open_letter(cid, self.session.username, self.session.display_name)
            if status == "held":
                await self.drop_letter(cid)


async def endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()

    async def body() -> None:
        if not origin_allowed(websocket.scope, services.settings.allowed_origins):
            raise sockets.Closing(CLOSE_ORIGIN)
        sessions = services.staff_sessions
        token = websocket.cookies.get(sessions.cookie)
        session = await sessions.get(token)
        if token is None or session is None:
            raise sockets.Closing(CLOSE_UNAUTHENTICATED)
        if not access.message_allowed(session.role, "hello"):  # an admin has no console
            raise sockets.Closing(CLOSE_FORBIDDEN)
        peer = sockets.Peer(websocket, services.settings, staff=True)
        hello = await peer.hello()
        async with services.relay.subscription() as subscription, \
                services.relay.subscription(sessions.channel(session.token_hash)) as ended:
            connection = ConsoleConnection(services, peer, session, subscription)

            recheck_at = 0.0
            recheck_seconds = min(SESSION_RECHECK_SECONDS, sessions.idle_seconds / 10)

            async def handle(frame: Frame) -> None:
                # What the counselor does is use of the session: it is checked, and its idle time
                # reset, at most every `recheck_seconds` and never past when it would end.
                # A session ended meanwhile (logout, disabled) closes the console at once anyway.
                nonlocal recheck_at
                if time.time() >= recheck_at:
                    current = await sessions.get(token)
                    if current is None:
                        raise sockets.Closing(CLOSE_UNAUTHENTICATED)
                    recheck_at = min(time.time() + recheck_seconds, current.expires_at)
                await connection.handle(frame)

            async def close_when_ended() -> None:
                # Logged out, disabled by an admin or timed out: the console closes with its session,
                # through `serve`, which stops the pump first (a close sent from aside raced a frame
                # the pump was sending).
                await sessions.until_ended(token, ended, services.heartbeat_seconds)
                raise sockets.Closing(CLOSE_UNAUTHENTICATED)

            try:
                await connection.start(hello)
                await sockets.serve(peer, handle, connection.pump, close_when_ended)
            finally:
                services.queue_watch.unwatch(subscription)
                await connection.release_letters()
                await services.presence.leave(session.username)
                await services.relay.publish(services.keys.queue_channel, {"kind": "presence"})

    await sockets.guarded(websocket, body, side="staff")
