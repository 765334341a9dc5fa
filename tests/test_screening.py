"""Screening in the running chat: risk moves a waiting chat ahead and shows 112, identifiers stay out of
logs and get a gentle word, repeats are refused, abuse is signalled, and a counselor can block."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.clients import (
    counselor,
    first_waiting,
    is_answer,
    is_entry,
    is_stored,
    open_socket,
    post_json,
    start_chat,
    taken_chat,
    visitor_socket,
)
from tests.redis_scan import audit_log

pytestmark = pytest.mark.anyio

DANGER = "han är på väg hem nu och han sa att han ska döda mig"
PERSONNUMMER = "19811218-9876"


async def visitor_from(server, address: str, token: str):
    socket = await open_socket(server, "/ws/chat", headers={"X-Forwarded-For": address})
    await socket.send({"type": "hello", "token": token, "last_id": "0-0"})
    return socket


def queue_order(frame) -> list[str]:
    return [item["conv"] for item in frame["items"]]


async def test_danger_moves_a_waiting_chat_ahead_and_shows_the_visitor_112_at_once(server):
    staff, _ = await counselor(server)
    first = await visitor_from(server, "10.0.0.1", await start_chat(server))
    early = await first_waiting(staff)
    second = await visitor_from(server, "10.0.0.2", await start_chat(server))
    late = await first_waiting(staff, exclude={early})
    await second.until(lambda f: f["type"] == "state" and f["position"] == 2)

    await second.send({"type": "msg", "text": DANGER, "client_id": "d1"})
    urgent = await second.until(lambda f: f["type"] == "urgent")
    assert "112" in urgent["message"]
    frame = await staff.until(lambda f: f["type"] == "queue" and queue_order(f) == [late, early])
    flagged = frame["items"][0]
    assert flagged["risk"] == ["imminent_danger"] and flagged["evidence"]
    assert all(phrase.lower() in DANGER for phrase in flagged["evidence"])
    assert "risk" not in frame["items"][1]
    assert flagged["waiting_seconds"] < 60  # the time shown is still the real wait
    await second.until(lambda f: f["type"] == "state" and f.get("position") == 1)
    await first.until(lambda f: f["type"] == "state" and f.get("position") == 2)

    await staff.send({"type": "take", "conv": late})
    note = await staff.until(lambda f: f["type"] == "note" and f["conv"] == late)
    assert note["kind"] == "risk" and note["name"] == "imminent_danger"
    again = await visitor_from(server, "10.0.0.2", await start_chat(server))  # a harmless chat: no 112
    await again.until(lambda f: f["type"] == "state")
    await again.send({"type": "msg", "text": "hej, jag undrar hur det här funkar", "client_id": "h1"})
    await again.until(is_stored("visitor", "h1"))
    with pytest.raises(TimeoutError):
        await again.until(lambda f: f["type"] == "urgent", timeout=1.5)
    for socket in (first, second, again, staff):
        await socket.close()


async def test_identifiers_never_reach_the_logs_and_the_visitor_is_told_gently_once(server):
    visitor, staff, conv = await taken_chat(server)
    await visitor.send(
        {"type": "msg", "text": f"mitt personnummer är {PERSONNUMMER}, ring 070-123 45 67", "client_id": "p1"}
    )
    notice = await visitor.until(lambda f: f["type"] == "notice")
    assert notice["code"] == "identifiers" and "anonym" in notice["message"]
    await staff.until(is_entry("msg", "visitor"))
    await visitor.send({"type": "msg", "text": "eller 811218-9876 utan sekel", "client_id": "p2"})
    await staff.until(is_entry("msg", "visitor"))
    await staff.send(
        {"type": "msg", "conv": conv, "text": "Du behöver inte skriva ditt personnummer.", "client_id": "c1"}
    )
    await visitor.until(is_entry("msg", "counselor"))
    frames = []
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.5):
            while True:
                frames.append(await visitor.receive())
    assert not [f for f in frames if f["type"] == "notice"], "told once is enough"
    await staff.send({"type": "end", "conv": conv})
    await visitor.until(is_entry("end"))
    await visitor.close()
    await staff.close()
    log = server.log_text()
    assert '"chat.started"' in log
    for secret in (PERSONNUMMER, "811218", "9876", "123 45 67", "1234567"):
        assert secret not in log, secret


async def test_the_same_message_again_and_again_is_refused_but_short_answers_are_not(server):
    visitor, staff, conv = await taken_chat(server)
    for n in range(2):
        await visitor.send({"type": "msg", "text": "Hallå?? Är det någon där", "client_id": f"r{n}"})
        await visitor.until(is_stored("visitor", f"r{n}"))
    await visitor.send({"type": "msg", "text": "hallå är det någon DÄR!!", "client_id": "r2"})
    error = await visitor.until(lambda f: f["type"] == "error")
    assert error["code"] == "repeated" and error["client_id"] == "r2"
    for n in range(4):
        await visitor.send({"type": "msg", "text": "ja", "client_id": f"j{n}"})
        assert (await visitor.until(is_answer("visitor", f"j{n}")))["type"] == "entry"
    await visitor.close()
    await staff.close()


async def test_the_repeat_check_counts_what_every_socket_of_the_session_sent(server):
    # Each socket keeps the session's repeat memory as it last stored it; one that another socket
    # of the same session wrote past is told so in the same step and works it out again.
    token = await start_chat(server)
    visitor, staff, conv = await taken_chat(server, token=token)
    other_tab = await visitor_socket(server, token)
    for n, socket in enumerate((visitor, other_tab)):
        await socket.send({"type": "msg", "text": "Hallå?? Är det någon där", "client_id": f"t{n}"})
        await socket.until(is_stored("visitor", f"t{n}"))
    await visitor.send({"type": "msg", "text": "hallå är det någon DÄR!!", "client_id": "t2"})
    error = await visitor.until(is_answer("visitor", "t2"))
    assert error["type"] == "error" and error["code"] == "repeated" and error["client_id"] == "t2"
    await other_tab.close()
    await visitor.close()
    await staff.close()


async def test_repeated_abuse_is_signalled_to_the_counselor(server):
    visitor, staff, conv = await taken_chat(server)
    for n, text in enumerate(("du är en jävla idiot", "håll käften", "fuck you")):
        await visitor.send({"type": "msg", "text": text, "client_id": f"a{n}"})
        await staff.until(is_entry("msg", "visitor"))
    note = await staff.until(lambda f: f["type"] == "note")
    assert note["kind"] == "abuse" and note["text"] == "3"
    await visitor.close()
    await staff.close()


async def test_a_blocked_visitor_sees_an_ordinary_end_and_new_chats_from_there_are_slowed(server):
    started = await post_json(server, "/api/chat", {}, address="10.7.7.7")
    visitor = await visitor_from(server, "10.7.7.7", started.json()["token"])
    staff, username = await counselor(server)
    conv = await first_waiting(staff)
    await staff.send({"type": "take", "conv": conv})
    await staff.until(lambda f: f["type"] == "taken")
    await visitor.until(lambda f: f["type"] == "state" and f["state"] == "active")

    await staff.send({"type": "block", "conv": conv})
    seen: list[dict] = []
    await visitor.until(lambda f: seen.append(f) or (f["type"] == "entry" and f["kind"] == "end"))
    assert "block" not in json.dumps(seen)  # to the visitor, an ordinary end
    for _ in range(50):  # the visitor's process hears of the block and slows that client
        slowed = await post_json(server, "/api/chat", {}, address="10.7.7.7")
        if slowed.status_code == 429:
            break
        await asyncio.sleep(0.1)
    assert slowed.status_code == 429 and "020-50 50 50" in slowed.json()["message"]
    assert "block" not in slowed.text.lower()
    assert (await post_json(server, "/api/chat", {}, address="10.8.8.8")).status_code == 200
    blocks = [
        e for e in audit_log(server.env["REDIS_URL"], server.env["KEY_PREFIX"]) if e["action"] == "block"
    ]
    assert [(e["actor"], e["target"]) for e in blocks] == [(username, conv)]
    await visitor.close()
    await staff.close()


async def test_earlier_messages_count_after_a_reconnect_and_between_the_counselors(server):
    """The context is the visitor's last messages in the stream, whichever socket sent them."""
    token = await start_chat(server)
    visitor, staff, conv = await taken_chat(server, token=token)
    await visitor.send({"type": "msg", "text": "han är på väg hem", "client_id": "w1"})
    await visitor.until(is_stored("visitor", "w1"))
    await visitor.close()
    for n in range(3):
        await staff.send({"type": "msg", "conv": conv, "text": f"jag förstår ({n})", "client_id": f"s{n}"})
        await staff.until(is_stored("counselor", f"s{n}"))
    again = await visitor_from(server, "10.0.0.9", token)
    await again.send({"type": "msg", "text": "han har en kniv", "client_id": "w2"})
    urgent = await again.until(lambda f: f["type"] == "urgent")
    assert "112" in urgent["message"]
    note = await staff.until(lambda f: f["type"] == "note" and f["conv"] == conv)
    assert note["kind"] == "risk" and note["name"] == "imminent_danger"
    for socket in (again, staff):
        await socket.close()


async def test_what_another_tab_wrote_since_counts_too(server):
    """A socket screens its messages from what it keeps in memory; when another socket of the session
    stored a message meanwhile, it reads that first (here the two halves of a danger only add up
    together)."""
    token = await start_chat(server)
    visitor, staff, conv = await taken_chat(server, token=token)
    await visitor.send({"type": "msg", "text": "hej", "client_id": "a1"})
    await visitor.until(is_stored("visitor", "a1"))
    other_tab = await visitor_socket(server, token)
    await other_tab.send({"type": "msg", "text": "han är på väg hem", "client_id": "b1"})
    await other_tab.until(is_stored("visitor", "b1"))
    await visitor.send({"type": "msg", "text": "han har en kniv", "client_id": "a2"})
    urgent = await visitor.until(lambda f: f["type"] == "urgent")
    assert "112" in urgent["message"]
    note = await staff.until(lambda f: f["type"] == "note" and f["conv"] == conv)
    assert note["kind"] == "risk" and note["name"] == "imminent_danger"
    for socket in (visitor, other_tab, staff):
        await socket.close()
