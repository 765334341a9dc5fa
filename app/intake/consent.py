"""Proposing an intake in a chat, and the visitor's consent, "no thanks" and withdrawal.

The only way an intake comes into being is `IntakeFlow.consent`, called from the visitor's
own socket (its token names the conversation): it checks the visitor's fields, claims the
open, unexpired proposal of that conversation (one Lua script: open -> consented, so a
proposal is used once), then builds the document and creates the record. No staff message
or route reaches it. A proposal lives in the conversation's hash `c:{cid}:p` and expires
with the conversation. Only counters (`intake.*`, no conversation id) note the outcomes.

The consent card's explanatory text is versioned: `TEXT_ID` names it, and the SHA-256 of
the exact paragraphs shown in the visitor's language is recorded with the consent. Change
the text -> change the id.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any, cast

from app.errors import Malformed, NotAllowed
from app.i18n import N_
from app.intake.document import KINDS, VisitorFields, iso, transcript
from app.intake.records import Consent
from app.services import Services

TEXT_ID = "consent-2026-12-v1"
PROPOSAL_SECONDS = 1800
"""A proposal can be answered for 30 minutes."""
MAX_TRANSCRIPT = 10_000

TEXT = (
    N_("An intake means that a social worker at Nexus gets in touch with you to talk about your "
       "situation and what support you can get. It can lead to an assessment and a decision about "
       "support, which you can appeal."),
    N_("If you say yes, we send what you fill in below to Nexus's case handling: how you want to be "
       "addressed, your personal identity number if you give it, how and when it is safe to contact "
       "you, the messages you choose, and the counselor's notes from this chat. Only the staff at "
       "Nexus who handle your case see it."),
    N_("This means you are no longer anonymous for this contact."),
    N_("Saying no is fine. The chat goes on as before, and you stay anonymous."),
    N_("You can take back your yes until it has been sent. After that, contact Nexus and tell them."),
    N_("Staff must tell social services if a child may be at risk. That applies whether you say yes "
       "or no."),
)
"""The card's explanation, paragraph by paragraph (translated; hashed as shown)."""

KIND_LABELS = {
    "assessment": N_("Contact with a social worker for an assessment"),
    "protected_housing": N_("Assessment for protected housing"),
    "other": N_("Other"),
}

AFTER_SENT = N_("Your intake has already been sent to Nexus. To change or stop it, call Nexus and say "
                "that you made an intake through the chat.")
RESOURCES = N_(
    "Thank you for telling me. You are welcome back here whenever you want.\n"
    "If you are in danger right now, call 112.\n"
    "Kvinnofridslinjen is open day and night: 020-50 50 50 (free, not shown on the phone bill).\n"
    "Women's and girls' shelters and other organisations can also help: roks.se and unizon.se.\n"
    "If you ask for a return code in this chat, you can come back to it later with the code."
)
"""What a counselor can share with one tap after "no thanks" (in the conversation's language)."""

_PROPOSE = """
-- KEYS: conv, proposal; ARGV: staff_id, then the proposal's field/value pairs. Only the counselor
-- holding a running chat; a consented one (an intake exists) is not replaced.
if redis.call('HGET', KEYS[1], 'state') ~= 'active' or redis.call('HGET', KEYS[1], 'staff') ~= ARGV[1] then
  return 'not_yours'
end
if redis.call('HGET', KEYS[2], 'status') == 'consented' then return 'consented' end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 'ok'
"""

_MOVE = """
-- KEYS: conv, proposal; ARGV: id, now_ms, from, to, check ('1': open, unexpired, chat running)
if redis.call('HGET', KEYS[2], 'id') ~= ARGV[1] then return 'unknown' end
if redis.call('HGET', KEYS[2], 'status') ~= ARGV[3] then return 'used' end
if ARGV[5] == '1' then
  if tonumber(redis.call('HGET', KEYS[2], 'expires')) <= tonumber(ARGV[2]) then return 'expired' end
  if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 'closed' end
end
redis.call('HSET', KEYS[2], 'status', ARGV[4], 'settled', ARGV[2])
return 'ok'
"""


_UNQUEUE = """
-- KEYS: outbox, retry, dead, inbox; ARGV: intake id. Whoever takes an id from where it waits wins:
-- delivery (which moves it from the outbox or retry to processing) or a withdrawal (this).
local taken = redis.call('LREM', KEYS[1], 0, ARGV[1]) + redis.call('ZREM', KEYS[2], ARGV[1])
  + redis.call('LREM', KEYS[3], 0, ARGV[1]) + redis.call('SREM', KEYS[4], ARGV[1])
return taken
"""


@dataclass(frozen=True)
class Proposal:
    """An intake proposal in one conversation."""

    id: str
    kind: str
    kind_text: str
    note: str
    summary: str
    risk_notes: str
    counselor: str
    counselor_name: str
    created: int
    expires: int
    status: str
    intake_id: str

    @classmethod
    def from_hash(cls, fields: dict[str, str]) -> Proposal:
        return cls(id=fields["id"], kind=fields.get("kind", ""), kind_text=fields.get("kind_text", ""),
                   note=fields.get("note", ""), summary=fields.get("summary", ""),
                   risk_notes=fields.get("risk_notes", ""), counselor=fields.get("counselor", ""),
                   counselor_name=fields.get("counselor_name", ""), created=int(fields.get("created", "0")),
                   expires=int(fields.get("expires", "0")), status=fields.get("status", ""),
                   intake_id=fields.get("intake_id", ""))

    def current_status(self, now: int) -> str:
        return "expired" if self.status == "open" and self.expires <= now else self.status


def now_ms() -> int:
    return int(time.time() * 1000)


def card_text(services: Services, lang: str) -> list[str]:
    return [services.text(lang, paragraph) for paragraph in TEXT]


def text_sha256(paragraphs: list[str]) -> str:
    """The hash of the card's text exactly as shown: paragraphs joined by a blank line."""
    return hashlib.sha256("\n\n".join(paragraphs).encode()).hexdigest()


class IntakeFlow:
    """Proposals, consent, decline and withdrawal, for both sockets."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.keys = services.keys
        self._propose = services.redis.register_script(_PROPOSE)
        self._move = services.redis.register_script(_MOVE)
        self._unqueue = services.durable.register_script(_UNQUEUE)

    async def get(self, cid: str) -> Proposal | None:
        fields = cast(dict[str, str], await self.services.redis.hgetall(self.keys.proposal(cid)))
        return Proposal.from_hash(fields) if "id" in fields else None

    async def announce(self, cid: str) -> None:
        await self.services.relay.publish(self.keys.conversation_channel(cid), {"kind": "proposal"})

    async def propose(self, cid: str, staff_id: str, staff_name: str, fields: dict[str, str]) -> str:
        """A counselor's proposal in a chat they hold: 'ok', 'not_yours', 'consented' or `Malformed`."""
        kind = fields.get("kind", "")
        if kind not in KINDS or (kind == "other" and not fields.get("kind_text")):
            raise Malformed("kind is not valid")
        created = now_ms()
        proposal = {"id": secrets.token_urlsafe(12), "kind": kind,
                    "kind_text": fields.get("kind_text", "") if kind == "other" else "",
                    "note": fields.get("note", ""), "summary": fields.get("summary", ""),
                    "risk_notes": fields.get("risk_notes", ""), "counselor": staff_id,
                    "counselor_name": staff_name, "created": str(created),
                    "expires": str(created + PROPOSAL_SECONDS * 1000), "status": "open"}
        args = [staff_id, *(item for pair in proposal.items() for item in pair)]
        status = str(await self._propose(keys=[self.keys.conversation(cid), self.keys.proposal(cid)],
                                         args=args))
        if status == "ok":
            await self.services.counters.add("intake.proposed")
            await self.announce(cid)
        return status

    async def _settle(self, cid: str, proposal_id: str, before: str, after: str, check: bool) -> str:
        return str(await self._move(keys=[self.keys.conversation(cid), self.keys.proposal(cid)],
                                    args=[proposal_id, now_ms(), before, after, "1" if check else "0"]))

    async def consent(self, cid: str, lang: str, proposal_id: str, data: dict[str, Any]) -> str:
        """The visitor's consent, from their own socket: creates the intake; returns its id.

        `Malformed` for fields that do not pass (nothing is claimed then), `NotAllowed` when the
        proposal is not this conversation's open, unexpired one.
        """
        services = self.services
        fields = VisitorFields.parse(data)
        entries = await services.store.read_after(cid, "0-0", count=MAX_TRANSCRIPT)
        chosen = transcript(entries, fields.messages, fields.mask)
        paragraphs = card_text(services, lang)
        if await self._settle(cid, proposal_id, "open", "consented", check=True) != "ok":
            raise NotAllowed()
        proposal = await self.get(cid)
        if proposal is None or proposal.id != proposal_id:
            raise NotAllowed()
        consent = Consent(at_ms=now_ms(), text_id=TEXT_ID, text_sha256=text_sha256(paragraphs), lang=lang)
        document = build(proposal, fields, chosen, consent, services.text(lang, KIND_LABELS[proposal.kind]))
        intake_id = await services.intakes.create(document, consent, kind=proposal.kind,
                                                  counselor=proposal.counselor, proposal_id=proposal.id)
        await services.redis.hset(self.keys.proposal(cid), "intake_id", intake_id)
        await services.counters.add("intake.consented")
        await services.audit.record("visitor", "visitor", "intake_consented", target=intake_id,
                                    other=proposal.counselor)
        await self.announce(cid)
        return intake_id

    async def decline(self, cid: str, proposal_id: str) -> None:
        if await self._settle(cid, proposal_id, "open", "declined", check=False) != "ok":
            raise NotAllowed()
        await self.services.counters.add("intake.declined")
        await self.announce(cid)

    async def withdraw(self, cid: str, proposal_id: str) -> bool:
        """Take back a consent while the intake still waits for delivery: True if withdrawn, False if
        it was already sent (or is being sent). Only an id still waiting (outbox, retry, dead letters,
        the inbox not yet registered) is withdrawn, atomically."""
        services = self.services
        proposal = await self.get(cid)
        if proposal is None or proposal.id != proposal_id or proposal.status != "consented" \
                or not proposal.intake_id:
            raise NotAllowed()
        k = self.keys
        if not await self._unqueue(keys=[k.intake_outbox, k.intake_retry, k.intake_dead, k.intake_inbox],
                                   args=[proposal.intake_id]):
            return False
        await services.intakes.purge(proposal.intake_id)
        await self._settle(cid, proposal_id, "consented", "withdrawn", check=False)
        await services.counters.add("intake.withdrawn")
        await services.audit.record("visitor", "visitor", "intake_withdrawn", target=proposal.intake_id)
        await self.announce(cid)
        return True

    def visitor_frame(self, proposal: Proposal, lang: str) -> dict[str, Any]:
        """The proposal as the visitor sees it: never the counselor's summary or risk notes."""
        now = now_ms()
        status = proposal.current_status(now)
        frame: dict[str, Any] = {"type": "proposal", "id": proposal.id, "status": status}
        if status == "open":
            frame.update(kind=proposal.kind,
                         kind_text=proposal.kind_text or self.services.text(lang, KIND_LABELS[proposal.kind]),
                         note=proposal.note, expires_in=max(0, (proposal.expires - now) // 1000),
                         text_id=TEXT_ID, text=card_text(self.services, lang))
        return frame

    def staff_frame(self, cid: str, proposal: Proposal, lang: str) -> dict[str, Any]:
        """The proposal's outcome for the counselor; after "no thanks", the resources to share."""
        status = proposal.current_status(now_ms())
        frame: dict[str, Any] = {"type": "proposal", "conv": cid, "id": proposal.id, "status": status,
                                 "kind": proposal.kind}
        if status == "declined":
            frame["resources"] = self.services.text(lang, RESOURCES)
        return frame


def build(proposal: Proposal, fields: VisitorFields, chosen: list[dict[str, str]], consent: Consent,
          kind_label: str) -> dict[str, Any]:
    """The intake document (see app/intake/document.py); `intake_id` is the record's, added by delivery."""
    return {
        "created_at": iso(consent.at_ms),
        "language": consent.lang,
        "kind": {"code": proposal.kind, "text": proposal.kind_text or kind_label},
        "person": {"address_as": fields.address_as, "personnummer": fields.personnummer},
        "contact": {"method": fields.method, "phone": fields.phone, "safe_times": fields.safe_times},
        "transcript": chosen,
        "counselor": {"username": proposal.counselor, "name": proposal.counselor_name, "note": proposal.note,
                      "summary": proposal.summary, "risk_notes": proposal.risk_notes},
        "consent": {"at": iso(consent.at_ms), "text_id": consent.text_id, "text_sha256": consent.text_sha256,
                    "language": consent.lang},
    }
