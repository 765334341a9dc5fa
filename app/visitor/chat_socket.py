"""The visitor's WebSocket: queue position, messages both ways, typing, delivery, ending, return codes,
and the intake consent card (consenting, declining, withdrawing: only ever here, in the visitor's own
session)."""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket

from app import i18n, log
from app.chat import return_codes, sockets
from app.chat.link import ConversationLink
from app.chat.protocol import Frame
from app.chat.relay import Subscription
from app.chat.screening import Window, remember
from app.chat.store import Admission
from app.chat.waiting import estimate_wait_minutes
from app.errors import (
    CLOSE_FLOODING,
    CLOSE_GONE,
    CLOSE_ORIGIN,
    CLOSE_REPLACED,
    CLOSE_UNAUTHENTICATED,
    Gone,
    RateLimited,
    Repeated,
    ServiceError,
)
from app.i18n import N_
from app.intake.consent import AFTER_SENT, IntakeFlow
from app.security import origin_allowed
from app.services import Services
from app.visitor.pages import LANGUAGE_COOKIE
from app.visitor.throttle import client_address

FLOOD_FACTOR = 3
"""A session that keeps sending after its bucket is empty, until it has sent this many times the
rate limit's worth over it, is closed (4429)."""
ADMIT_TRIES = 3
"""Times a message's admission is worked out again when another socket of the same session wrote
meanwhile (its repeat memory changed); past them the message is refused as too fast."""


async def state_frame(services: Services, cid: str) -> dict[str, Any]:
    """Where the visitor's conversation stands, as the visitor may see it."""
    conversation = await services.store.get(cid)
    if conversation is None:
        return {"type": "state", "state": "gone"}
    if conversation.state == "waiting":
        position = services.queue_watch.snapshot.positions.get(cid)
        return waiting_frame(services, position or await services.store.position(cid) or 1)
    frame: dict[str, Any] = {"type": "state", "state": conversation.state}
    if conversation.state == "active":
        frame["counselor"] = conversation.staff_name
    elif conversation.state == "letter":
        frame["reply_within_days"] = services.settings.letter_reply_days
        if conversation.staff_name:
            frame["counselor"] = conversation.staff_name
    return frame


def waiting_frame(services: Services, position: int) -> dict[str, Any]:
    snapshot = services.queue_watch.snapshot
    online = snapshot.counselors_online
    return {"type": "state", "state": "waiting", "position": position, "counselors_online": online,
            "wait_minutes": estimate_wait_minutes(position, online,
                                                  list(snapshot.recent_chat_minutes))}


class VisitorConnection:
    """One visitor socket bound to the conversation its token names."""

    def __init__(self, services: Services, peer: sockets.Peer, token: str, cid: str, lang: str,
                 last_id: str, client: str, memory: str) -> None:
        """`client`: the keyed hash of the visitor's address, held only in memory, for a block.
        `memory`: the session's repeat memory as stored (app/chat/screening.py)."""
        self.services = services
        self.memory = memory
        self.client = client
        self.peer = peer
        self.token = token
        self.cid = cid
        self.lang = lang
        self.link = ConversationLink(services.store, services.relay, cid, "visitor", peer.send,
                                     services.metrics, last_id, counters=services.counters)
        self.last_state: dict[str, Any] = {}
        self.intakes = IntakeFlow(services)
        self.last_proposal: dict[str, Any] = {}
        self.told_urgent = False
        self.screening_window = Window()
        peer.explain = lambda error: services.text(lang, MESSAGES.get(error.code, MESSAGES["bad_input"]))

    async def send_state(self, subscription: Subscription) -> None:
        await self._send_state(await state_frame(self.services, self.cid), subscription)

    async def queue_changed(self, subscription: Subscription) -> None:
        position = self.services.queue_watch.snapshot.positions.get(self.cid)
        if position is None:  # no longer waiting: taken, ended or gone
            await self.send_state(subscription)
        else:
            await self._send_state(waiting_frame(self.services, position), subscription)

    async def _send_state(self, frame: dict[str, Any], subscription: Subscription) -> None:
        if frame != self.last_state:
            await self.peer.send(frame)
            self.last_state = frame
        if frame["state"] == "waiting":
            self.services.queue_watch.watch(subscription)
        else:
            self.services.queue_watch.unwatch(subscription)
        if frame["state"] == "gone":
            raise sockets.Closing(CLOSE_GONE)

    async def handle(self, frame: Frame) -> None:
        try:
            if frame.type == "msg":
                await self.message(frame)
            elif frame.type == "typing":
                await self.link.typing()
            elif frame.type == "seen":
                await self.link.seen(frame.id)
            elif frame.type == "end":
                await self.link.end()
            elif frame.type == "code":
                await self.check_rate()  # each code costs a slow hash
                await self.give_code()
            elif frame.type in ("consent", "decline", "withdraw"):
                await self.check_rate()
                await self.answer_proposal(frame)
        except Gone:
            raise sockets.Closing(CLOSE_GONE) from None
        except ServiceError as error:
            await self.peer.refuse(error, client_id=frame.client_id)

    async def message(self, frame: Frame) -> None:
        """Store a message if the rate limit and the repeat check let it through (in the same round
        trip as storing it), then screen it."""
        settings = self.services.settings
        capacity = settings.rate_limit_messages
        refill = capacity / (settings.rate_limit_window_seconds * 1000)
        for _ in range(ADMIT_TRIES):
            repeat, memory = remember(frame.text, self.memory)
            appended = await self.link.message(
                frame, Admission(capacity, refill, self.flood_floor, self.memory, memory, repeat))
            if appended.status != "stale":
                break
            self.memory = appended.recent
            self.screening_window.behind = True  # another socket of the session stored a message
        else:
            raise RateLimited()
        if appended.status == "limited":
            self.judge_tokens(appended.tokens)  # refused; closed when it is a flood
        if appended.status == "repeated":
            raise Repeated()
        if appended.new:
            self.memory = memory
            await self.screen(frame.text, appended.id)

    async def screen(self, text: str, entry_id: str) -> None:
        """Screen a new message: 112 at once on imminent danger, a gentle word on identifiers."""
        screened = await self.services.screening.visitor_message(self.cid, text, entry_id,
                                                                 self.screening_window)
        if screened.raised:
            log.event("chat.risk_signal", labels=",".join(screened.raised))
        if screened.urgent:
            await self.send_urgent()
        if screened.identifiers:
            await self.peer.send({"type": "notice", "code": "identifiers",
                                  "message": self.services.text(self.lang, IDENTIFIERS_NOTICE)})

    async def send_urgent(self) -> None:
        """Show the visitor the emergency number prominently (once per connection)."""
        if not self.told_urgent:
            self.told_urgent = True
            await self.peer.send({"type": "urgent", "message": self.services.text(self.lang, URGENT)})

    async def answer_proposal(self, frame: Frame) -> None:
        """Consent, "no thanks" or withdrawal, bound to this session's conversation and its proposal."""
        intakes = self.intakes
        if frame.type == "consent":
            await intakes.consent(self.cid, self.lang, frame.proposal_id, frame.fields)
            await self.peer.send({"type": "intake", "id": frame.proposal_id, "status": "consented"})
        elif frame.type == "decline":
            await intakes.decline(self.cid, frame.proposal_id)
        elif await intakes.withdraw(self.cid, frame.proposal_id):
            await self.peer.send({"type": "intake", "id": frame.proposal_id, "status": "withdrawn"})
        else:
            await self.peer.send({"type": "intake", "id": frame.proposal_id, "status": "sent",
                                  "message": self.services.text(self.lang, AFTER_SENT)})

    async def send_proposal(self) -> None:
        """The conversation's intake proposal, when it changed: the card while open, else its outcome."""
        proposal = await self.intakes.get(self.cid)
        if proposal is None:
            return
        frame = self.intakes.visitor_frame(proposal, self.lang)
        if {**frame, "expires_in": 0} != {**self.last_proposal, "expires_in": 0}:
            self.last_proposal = frame
            await self.peer.send(frame)

    async def give_code(self) -> None:
        """A return code for this conversation, shown once; it replaces any earlier one."""
        code = await self.services.store.set_code(self.cid)
        log.event("chat.code_given")
        await self.peer.send({"type": "code", "code": return_codes.display(code),
                              "expires_in_days": self.services.code_days()})

    async def check_rate(self) -> None:
        """Flood control: a token bucket per session (RATE_LIMIT_MESSAGES per window, refilled
        steadily, so a burst is allowed and a steady flood is not)."""
        settings = self.services.settings
        self.judge_tokens(await self.services.store.take_token(
            self.cid, settings.rate_limit_messages, settings.rate_limit_window_seconds, self.flood_floor))

    @property
    def flood_floor(self) -> int:
        return -self.services.settings.rate_limit_messages * (FLOOD_FACTOR - 1)

    def judge_tokens(self, left: float) -> None:
        """Close a flooding session; refuse a message over the rate limit."""
        if left <= self.flood_floor:
            raise sockets.Closing(CLOSE_FLOODING)
        if left < 0:
            raise RateLimited()

    async def pump(self, subscription: Subscription) -> None:
        queue_channel = self.services.keys.queue_channel
        async for channel, event in sockets.events(subscription, self.services.touch_seconds,
                                                   lambda: self.services.store.touch(self.cid)):
            if channel == queue_channel:
                await self.queue_changed(subscription)
                continue
            if event.get("kind") == "replaced" and await self.services.store.resolve(self.token) != self.cid:
                raise sockets.Closing(CLOSE_REPLACED)  # reopened with its code elsewhere
            if event.get("kind") in ("state", "resync"):
                await self.send_state(subscription)
            if event.get("kind") in ("proposal", "resync"):
                await self.send_proposal()
            if event.get("kind") == "block":
                await self.services.throttle.block(self.client)
                log.event("chat.blocked")
            await self.link.on_event(event)


# Refusals the visitor is told about, in words they can act on (translated per session).
MESSAGES = {
    "too_long": N_("Your message is too long. Please split it into shorter messages."),
    "rate_limited": N_("You are sending messages very fast. Please wait a moment and try again."),
    "malformed": N_("That message could not be sent. Please try again."),
    "bad_input": N_("That message could not be sent. Please try again."),
    "not_allowed": N_("That is not possible in this chat."),
    "repeated": N_("You have sent the same message several times. The counselor will see it: "
                   "please wait for an answer."),
}
URGENT = N_("If you are in danger right now, call 112. You can keep writing here too.")
IDENTIFIERS_NOTICE = N_("You do not have to give your personal identity number or phone number to get "
                        "help here. You can stay anonymous.")


async def endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()

    async def body() -> None:
        if not origin_allowed(websocket.scope, services.settings.allowed_origins):
            raise sockets.Closing(CLOSE_ORIGIN)
        peer = sockets.Peer(websocket, services.settings, staff=False)
        hello = await peer.hello()
        cid = await services.store.resolve(hello.token)
        conversation = await services.store.get(cid) if cid else None
        if cid is None or conversation is None:
            raise sockets.Closing(CLOSE_UNAUTHENTICATED)
        client = services.store.client_hash(client_address(websocket))
        lang = i18n.choose(websocket.cookies.get(LANGUAGE_COOKIE) or conversation.lang)
        if lang != conversation.lang and await services.store.set_lang(cid, lang):
            # The visitor switched language (the page reconnects): the counselor sees it at once.
            channel = services.keys.conversation_channel(cid)
            await services.relay.publish(channel, {"kind": "lang", "lang": lang})
            await services.relay.publish(services.keys.queue_channel, {"kind": "queue"})
        connection = VisitorConnection(services, peer, hello.token, cid, lang, hello.last_id, client,
                                       conversation.recent)
        async with services.relay.subscription(connection.link.channel) as subscription:
            try:
                await connection.send_state(subscription)
                await connection.link.catch_up()
                await connection.link.send_delivery()
                await connection.send_proposal()
                if await services.screening.urgent(cid):
                    await connection.send_urgent()
                await services.store.touch(cid)
                await sockets.serve(peer, connection.handle,
                                    lambda: connection.pump(subscription))
            finally:
                services.queue_watch.unwatch(subscription)

    await sockets.guarded(websocket, body, side="visitor")
