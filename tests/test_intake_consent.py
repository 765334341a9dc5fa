"""Intake proposals and consent over the real sockets: only the visitor's own consent, once, makes one."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
import redis.asyncio as aioredis

from app.config import load_settings
from app.errors import Malformed
from app.intake.document import personnummer, safe_phone
from app.intake.records import IntakeRecords, intake_sealing
from app.keys import Keys
from tests.clients import Socket, is_entry, is_stored, staff_http, taken_chat
from tests.clients import counselor as console
from tests.servers import ServerProcess
from tests.test_access import staff_routes

pytestmark = pytest.mark.anyio

PROPOSAL = {"type": "propose_intake", "kind": "assessment", "note": "Jag tror det kan hjälpa dig.",
            "summary": "Utsatt för fysiskt våld av partner.", "risk_notes": "Hot med kniv i förra veckan."}
FIELDS = {"address_as": "Sara", "personnummer": "811218-9876", "contact": "phone",
          "phone": "070-123 45 67", "safe_times": "vardagar 10-12"}


@contextlib.asynccontextmanager
async def server_records(server: ServerProcess, redis_url: str) -> AsyncIterator[IntakeRecords]:
    """The intake records as the server keeps them (same Redis, prefix and keys)."""
    settings = load_settings(server.env)
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield IntakeRecords(client, Keys.from_settings(settings),
                            intake_sealing(settings.intake_keys, settings.secret_key))
    finally:
        await client.aclose()


async def intake_ids(server: ServerProcess, redis_url: str) -> list[str]:
    """Every intake record the server holds."""
    prefix = server.env["KEY_PREFIX"]
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        found = [key async for key in client.scan_iter(f"{prefix}intake:*", _type="hash")]
    finally:
        await client.aclose()
    return [key.removeprefix(f"{prefix}intake:") for key in found]


def is_proposal(status: str) -> Any:
    return lambda f: f["type"] == "proposal" and f["status"] == status


async def chat_with_proposal(server: ServerProcess,
                             **proposal: str) -> tuple[Socket, Socket, str, dict[str, Any]]:
    """A taken chat with two messages and an intake proposal; returns (visitor, counselor, conv, card).
    The card carries the visitor's message id as `mine` (for the tests' choices)."""
    visitor, counselor, conv = await taken_chat(server)
    await visitor.send({"type": "msg", "text": "Han slår mig.", "client_id": "v1"})
    mine = (await visitor.until(is_stored("visitor", "v1")))["id"]
    await counselor.until(is_entry("msg", "visitor"))
    await counselor.send({"type": "msg", "text": "Tack för att du berättar.", "client_id": "c1",
                          "conv": conv})
    await visitor.until(is_entry("msg", "counselor"))
    await counselor.send({**PROPOSAL, "conv": conv, **proposal})
    card = await visitor.until(is_proposal("open"))
    await counselor.until(is_proposal("open"))
    return visitor, counselor, conv, {**card, "mine": mine}


async def consent(visitor: Socket, card: dict[str, Any], **more: Any) -> dict[str, Any]:
    await visitor.send({"type": "consent", "proposal_id": card["id"], **FIELDS, "messages": "all",
                        "confirmed": True, **more})
    return await visitor.until(lambda f: f["type"] in ("intake", "error"))


async def close(*sockets: Socket) -> None:
    for socket in sockets:
        await socket.close()


def test_personnummer_is_checked_and_normalised():
    today = date(2026, 12, 1)
    assert personnummer("811218-9876", today) == "198112189876"
    assert personnummer("198112189876", today) == "198112189876"
    assert personnummer("8112189876", today) == "198112189876"
    assert personnummer("121212+1212", today) == "191212121212"
    assert personnummer("121212-1212", today) == "201212121212"
    for wrong in ("811218-9875", "811318-9870", "abc", "81121898761", "811218/9876"):
        with pytest.raises(Malformed):
            personnummer(wrong, today)


def test_a_safe_phone_is_a_valid_swedish_number_in_e164():
    assert safe_phone("070-123 45 67") == "+46701234567"
    assert safe_phone("+46 18 727 00 00") == "+46187270000"
    for wrong in ("123", "070", "hemligt"):
        with pytest.raises(Malformed):
            safe_phone(wrong)


async def test_the_visitor_sees_the_card_but_never_the_counselors_summary_or_risk_notes(server):
    visitor, counselor, _, card = await chat_with_proposal(server)
    assert card["kind"] == "assessment" and card["note"] == PROPOSAL["note"]
    assert card["text_id"] and len(card["text"]) >= 5 and 0 < card["expires_in"] <= 1800
    assert PROPOSAL["summary"] not in str(card) and PROPOSAL["risk_notes"] not in str(card)
    assert any("anonym" in paragraph for paragraph in card["text"])  # Swedish, the visitor's language
    await close(visitor, counselor)


async def test_consent_creates_one_intake_with_the_visitors_fields_and_the_consent_record(server, redis_url):
    visitor, counselor, conv, card = await chat_with_proposal(server)
    answer = await consent(visitor, card, messages="all")
    assert answer == {"type": "intake", "id": card["id"], "status": "consented"}
    outcome = await counselor.until(is_proposal("consented"))
    assert outcome["conv"] == conv and "resources" not in outcome
    [intake_id] = await intake_ids(server, redis_url)
    async with server_records(server, redis_url) as records:
        document = await records.document(intake_id)
        meta = await records.meta(intake_id)
    assert document is not None and meta is not None
    assert [m["text"] for m in document["transcript"]] == ["Han slår mig.", "Tack för att du berättar."]
    assert [m["from"] for m in document["transcript"]] == ["visitor", "counselor"]
    assert document["person"] == {"address_as": "Sara", "personnummer": "198112189876"}
    assert document["contact"] == {"method": "phone", "phone": "+46701234567", "safe_times": "vardagar 10-12"}
    assert document["kind"]["code"] == "assessment" and document["language"] == "sv"
    assert document["counselor"]["summary"] == PROPOSAL["summary"]
    assert document["counselor"]["risk_notes"] == PROPOSAL["risk_notes"]
    shown = "\n\n".join(card["text"]).encode()
    assert document["consent"]["text_sha256"] == hashlib.sha256(shown).hexdigest()
    assert meta["consent_text_sha256"] == document["consent"]["text_sha256"]
    assert document["consent"]["text_id"] == card["text_id"] and document["consent"]["language"] == "sv"
    assert meta["proposal_id"] == card["id"]
    await close(visitor, counselor)


async def test_a_visitor_who_asks_gets_identifiers_masked_in_the_transcript(server, redis_url):
    visitor, counselor, conv, card = await chat_with_proposal(server)
    await visitor.send({"type": "msg", "text": "Han bor på Storgatan 12, ring 070-987 65 43",
                        "client_id": "v2"})
    await counselor.until(is_entry("msg", "visitor"))
    answer = await consent(visitor, card, messages="all", mask=True)
    assert answer["status"] == "consented"
    [intake_id] = await intake_ids(server, redis_url)
    async with server_records(server, redis_url) as records:
        document = await records.document(intake_id)
    assert document is not None
    texts = [m["text"] for m in document["transcript"]]
    assert texts[-1] == "Han bor på [adress], ring [telefon]" and texts[0] == "Han slår mig."
    assert document["contact"]["phone"] == "+46701234567"  # what they gave for contact stays
    await close(visitor, counselor)


async def test_only_the_chosen_messages_go_and_ids_of_another_conversation_are_refused(server, redis_url):
    other_visitor, other_counselor, _ = await taken_chat(server, name="Bo")
    await other_visitor.send({"type": "msg", "text": "Någon annans", "client_id": "o1"})
    foreign = (await other_visitor.until(is_stored("visitor", "o1")))["id"]
    visitor, counselor, _, card = await chat_with_proposal(server)
    refused = await consent(visitor, card, messages=[foreign])
    assert refused["type"] == "error"
    assert await intake_ids(server, redis_url) == []
    # The proposal is still open: the visitor chooses again, one message of their own.
    answer = await consent(visitor, card, messages=[card["mine"]])
    assert answer["status"] == "consented"
    [intake_id] = await intake_ids(server, redis_url)
    async with server_records(server, redis_url) as records:
        document = await records.document(intake_id)
    assert document is not None and [m["text"] for m in document["transcript"]] == ["Han slår mig."]
    await close(visitor, counselor, other_visitor, other_counselor)


async def test_no_messages_and_coming_to_the_office(server, redis_url):
    visitor, counselor, _, card = await chat_with_proposal(server)
    answer = await consent(visitor, card, messages="none", contact="office", personnummer="", phone="")
    assert answer["status"] == "consented"
    [intake_id] = await intake_ids(server, redis_url)
    async with server_records(server, redis_url) as records:
        document = await records.document(intake_id)
    assert document is not None and document["transcript"] == []
    assert document["person"]["personnummer"] is None
    assert document["contact"] == {"method": "office", "phone": None, "safe_times": None}
    await close(visitor, counselor)


@pytest.mark.parametrize("wrong", [
    {"confirmed": False}, {"confirmed": "true"}, {"address_as": ""}, {"personnummer": "811218-9875"},
    {"contact": "email"}, {"phone": "123"}, {"messages": []}, {"messages": "some"}, {"messages": ["x"]},
])
async def test_a_consent_that_does_not_pass_makes_nothing_and_leaves_it_open(server, redis_url, wrong):
    visitor, counselor, _, card = await chat_with_proposal(server)
    refused = await consent(visitor, card, **wrong)
    assert refused["type"] == "error"
    assert await intake_ids(server, redis_url) == []
    assert (await consent(visitor, card))["status"] == "consented"
    await close(visitor, counselor)


async def test_a_consent_is_used_once(server, redis_url):
    visitor, counselor, _, card = await chat_with_proposal(server)
    assert (await consent(visitor, card))["status"] == "consented"
    replayed = await consent(visitor, card)
    assert replayed["type"] == "error" and replayed["code"] == "not_allowed"
    assert len(await intake_ids(server, redis_url)) == 1
    await close(visitor, counselor)


async def test_another_visitors_session_cannot_consent_to_the_proposal(server, redis_url):
    visitor, counselor, _, card = await chat_with_proposal(server)
    stranger, stranger_counselor, _ = await taken_chat(server, name="Bo")
    refused = await consent(stranger, card)
    assert refused["type"] == "error" and refused["code"] == "not_allowed"
    assert await intake_ids(server, redis_url) == []
    await close(visitor, counselor, stranger, stranger_counselor)


async def test_an_expired_proposal_cannot_be_consented(start_server, redis_url):
    server = start_server()
    visitor, counselor, conv, card = await chat_with_proposal(server)
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await client.hset(f"{server.env['KEY_PREFIX']}c:{conv}:p", "expires", "1")  # its 30 minutes are up
    await client.aclose()
    refused = await consent(visitor, card)
    assert refused["type"] == "error" and refused["code"] == "not_allowed"
    assert await intake_ids(server, redis_url) == []
    await close(visitor, counselor)


async def test_no_staff_message_can_consent_or_write_the_visitors_fields(server, redis_url):
    visitor, counselor, conv, card = await chat_with_proposal(server)
    forged = {"proposal_id": card["id"], "conv": conv, **FIELDS, "messages": "all", "confirmed": True}
    for kind in ("consent", "decline", "withdraw"):
        await counselor.send({"type": kind, **forged})
        refused = await counselor.until(lambda f: f["type"] == "error")
        assert refused["code"] == "malformed"
    # Staff fields on a proposal never reach the visitor's part of the document, and a second
    # proposal over a consented one is refused.
    assert (await consent(visitor, card))["status"] == "consented"
    await counselor.send({**PROPOSAL, "conv": conv, "address_as": "Fel namn", "personnummer": "121212-1212"})
    failed = await counselor.until(lambda f: f["type"] == "propose_failed")
    assert failed["reason"] == "consented"
    [intake_id] = await intake_ids(server, redis_url)
    async with server_records(server, redis_url) as records:
        document = await records.document(intake_id)
    assert document is not None and document["person"]["address_as"] == "Sara"
    await close(visitor, counselor)


async def test_no_staff_route_accepts_consent_data(server, redis_url):
    visitor, counselor, conv, card = await chat_with_proposal(server)
    forged = {"type": "consent", "proposal_id": card["id"], "conv": conv, **FIELDS, "messages": "all",
              "confirmed": "true", "status": "consented"}
    async with staff_http(server) as (http, _, csrf):
        for path, method, _ in staff_routes():
            if method in ("GET", "HEAD") or path.endswith("logout"):
                continue
            url = re.sub(r"\{[^}]+\}", card["id"], path)
            for body in ({"data": {**forged, "csrf": csrf}}, {"json": forged}):
                response = await http.request(method, url, headers={"X-CSRF-Token": csrf}, **body)
                assert response.status_code < 500, (method, path)
    assert await intake_ids(server, redis_url) == []
    # Nothing marked it consented: the visitor's own consent still works, once.
    assert (await consent(visitor, card))["status"] == "consented"
    assert len(await intake_ids(server, redis_url)) == 1
    await close(visitor, counselor)


async def test_a_counselor_who_does_not_hold_the_chat_cannot_propose(server):
    visitor, holder, conv = await taken_chat(server)
    other, _ = await console(server, name="Bo")
    await other.send({**PROPOSAL, "conv": conv})
    refused = await other.until(lambda f: f["type"] == "error")
    assert refused["code"] == "not_allowed"
    await close(visitor, holder, other)


async def test_declining_tells_the_counselor_and_offers_the_resources(server, redis_url):
    visitor, counselor, conv, card = await chat_with_proposal(server)
    await visitor.send({"type": "decline", "proposal_id": card["id"]})
    assert (await visitor.until(lambda f: f["type"] == "proposal"))["status"] == "declined"
    outcome = await counselor.until(is_proposal("declined"))
    assert "020-50 50 50" in outcome["resources"]
    assert await intake_ids(server, redis_url) == []
    # The chat goes on; the declined proposal can no longer be consented.
    assert (await consent(visitor, card))["code"] == "not_allowed"
    await visitor.send({"type": "msg", "text": "Tack ändå", "client_id": "v2"})
    await counselor.until(is_entry("msg", "visitor"))
    await close(visitor, counselor)


async def test_withdrawing_before_delivery_removes_the_intake(server, redis_url):
    visitor, counselor, _, card = await chat_with_proposal(server)
    assert (await consent(visitor, card))["status"] == "consented"
    [intake_id] = await intake_ids(server, redis_url)
    await visitor.send({"type": "withdraw", "proposal_id": card["id"]})
    answer = await visitor.until(lambda f: f["type"] == "intake" and f["status"] != "consented")
    assert answer["status"] == "withdrawn"
    await counselor.until(is_proposal("withdrawn"))
    assert await intake_ids(server, redis_url) == []
    async with server_records(server, redis_url) as records:
        assert await records.document(intake_id) is None
    await close(visitor, counselor)


async def test_after_delivery_the_visitor_is_told_how_to_reach_nexus(server, redis_url):
    visitor, counselor, _, card = await chat_with_proposal(server)
    assert (await consent(visitor, card))["status"] == "consented"
    [intake_id] = await intake_ids(server, redis_url)
    async with server_records(server, redis_url) as records:
        await records.purge(intake_id)  # as delivery does once the case system has it
    await visitor.send({"type": "withdraw", "proposal_id": card["id"]})
    answer = await visitor.until(lambda f: f["type"] == "intake" and f["status"] != "consented")
    assert answer["status"] == "sent" and "Nexus" in answer["message"]
    await close(visitor, counselor)


async def test_outcomes_are_only_counted(server, redis_url):
    visitor, counselor, conv, card = await chat_with_proposal(server)
    await visitor.send({"type": "decline", "proposal_id": card["id"]})
    await counselor.until(is_proposal("declined"))
    await counselor.send({**PROPOSAL, "conv": conv})
    again = await visitor.until(is_proposal("open"))
    assert again["id"] != card["id"]
    assert (await consent(visitor, again))["status"] == "consented"
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    prefix = server.env["KEY_PREFIX"]
    [key] = [k async for k in client.scan_iter(f"{prefix}stats:d:*")]
    counts = await client.hgetall(key)
    assert {name: n for name, n in counts.items() if name.startswith("intake.")} == \
        {"intake.proposed": "2", "intake.declined": "1", "intake.consented": "1"}
    await client.aclose()
    await close(visitor, counselor)
