"""The counselor's WebSocket: the live queue, taking chats, every chat the counselor holds, and letters."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.websockets import WebSocket

from app import log
from app.chat import sockets
from app.chat.link import ConversationLink
from app.chat.protocol import Frame
from app.chat.queue_watch import Letter
from app.chat.relay import Subscription
from app.errors import CLOSE_FORBIDDEN, CLOSE_ORIGIN, CLOSE_UNAUTHENTICATED, Gone, NotAllowed
from app.security import origin_allowed
from app.services import Services
from app.staff import access
from app.staff.sessions import COOKIE, StaffSession


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

    def _sender(self, cid: str) -> Any:
        async def send(frame: dict[str, Any]) -> None:
            await self.peer.send({**frame, "conv": cid})
        return send

    async def open(self, cid: str, last_id: str = "0-0") -> ConversationLink:
        link = ConversationLink(self.services.store, self.services.relay, cid, "counselor",
                                self._sender(cid), last_id)
        self.links[cid] = link
        self.by_channel[link.channel] = link
        await self.subscription.add(link.channel)
        await link.catch_up()
        await link.send_delivery()
        return link

    async def send_queue(self) -> None:
        """The queue as this counselor sees it, and the letters when they changed."""
        snapshot = self.services.queue_watch.snapshot
        await self.peer.send(snapshot.staff_frame(self.session.username))
        if snapshot.letters != self.letters_sent:
            self.letters_sent = snapshot.letters
            await self.peer.send(snapshot.letters_frame())

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
        await self.send_queue()
        await self.services.presence.heartbeat(self.session.username)
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
            elif frame.type == "end":
                await link.end()
                await self.audit("end", frame.conv)
        except Gone:
            await self.peer.send({"type": "error", "code": "gone", "conv": frame.conv,
                                  "message": "this conversation has ended"})

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
        link = self.links.pop(cid, None)
        if link is not None:
            self.by_channel.pop(link.channel, None)
            await self.subscription.remove(link.channel)
        await self.peer.send({"type": "letter_closed", "conv": cid})

    async def release_letters(self) -> None:
        """Let go of every letter this console holds (it is closing)."""
        for cid in list(self.letters):
            await self.services.store.close_letter(cid, self.session.username)
        if self.letters:
            await self.services.relay.publish(self.services.keys.queue_channel, {"kind": "letters"})

    async def pump(self) -> None:
        queue_channel = self.services.keys.queue_channel
        while True:
            try:
                channel, event = await asyncio.wait_for(self.subscription.events.get(),
                                                        self.services.heartbeat_seconds)
            except TimeoutError:
                await self.heartbeat()
                continue
            if channel == queue_channel or event.get("kind") == "resync":
                await self.send_queue()
            link = self.by_channel.get(channel)
            if link is not None:
                await link.on_event(event)

    async def heartbeat(self) -> None:
        store = self.services.store
        await self.services.presence.heartbeat(self.session.username)
        for cid in list(self.links):
            await store.touch(cid)
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
        session = await services.staff_sessions.get(websocket.cookies.get(COOKIE))
        if session is None:
            raise sockets.Closing(CLOSE_UNAUTHENTICATED)
        if not access.message_allowed(session.role, "hello"):  # an admin has no console
            raise sockets.Closing(CLOSE_FORBIDDEN)
        peer = sockets.Peer(websocket, services.settings.message_max_chars, staff=True)
        hello = await peer.hello()
        async with services.relay.subscription() as subscription:
            connection = ConsoleConnection(services, peer, session, subscription)
            try:
                await connection.start(hello)
                await sockets.serve(peer, connection.handle, connection.pump)
            finally:
                services.queue_watch.unwatch(subscription)
                await connection.release_letters()
                await services.presence.leave(session.username)
                await services.relay.publish(services.keys.queue_channel, {"kind": "presence"})

    await sockets.guarded(websocket, body, side="staff")
