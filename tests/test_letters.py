"""Leaving a message when nobody can answer, answering it, and reading the answer with the code."""

import asyncio

import httpx
import pytest

from tests.clients import (
    code_pattern,
    counselor,
    history,
    is_entry,
    is_stored,
    post_json,
    return_with,
    staff_socket,
    start_chat,
    visitor_socket,
)
from tests.redis_scan import dump
from tests.servers import CLOSED

pytestmark = pytest.mark.anyio

LETTER = "Jag kan inte prata nu. Kan någon skriva till mig?"


def letters_with(conv: str | None = None, **expected):
    """Matches a letters frame with an item (for `conv`, if given) having the expected fields."""
    def match(frame) -> bool:
        if frame["type"] != "letters":
            return False
        items = [i for i in frame["items"] if conv in (None, i["conv"])]
        return any(all(i.get(k) == v for k, v in expected.items()) for i in items)
    return match


async def test_a_letter_left_while_closed_is_answered_and_read_with_the_code_elsewhere(
        start_server, redis_url):
    a = start_server(OPENING_HOURS=CLOSED)
    b = start_server(env=a.env)
    refused = await post_json(a, "/api/chat", {})
    assert refused.status_code == 503 and refused.json()["letter"] is True  # the page offers a letter
    async with httpx.AsyncClient() as http:
        box = (await http.get(a.url + "/api/letter")).json()
    assert box == {"accepting": True, "reply_within_days": 2, "max_chars": 4000, "expires_in_days": 7}

    left = await post_json(a, "/api/letter", {"text": LETTER})
    assert left.status_code == 201, left.text
    body = left.json()
    assert body["reply_within_days"] == 2 and body["expires_in_days"] == 7 and body["token"]
    code = body["code"]

    anna, _ = await counselor(b, name="Anna")
    waiting = await anna.until(letters_with(replied=False))
    conv = waiting["items"][0]["conv"]
    await anna.send({"type": "open_letter", "conv": conv})
    assert (await anna.until(lambda f: f["type"] == "letter_opened"))["conv"] == conv
    assert (await anna.until(is_entry("msg", "visitor")))["text"] == LETTER
    await anna.until(letters_with(conv, opened_by="Anna"))
    await anna.send({"type": "msg", "conv": conv, "text": "Hej! Jag heter Anna och läser gärna mer.",
                     "client_id": "r1"})
    await anna.until(letters_with(conv, replied=True, counselor="Anna"))
    await anna.send({"type": "close_letter", "conv": conv})
    await anna.until(lambda f: f["type"] == "letter_closed" and f["conv"] == conv)

    restored = await return_with(a, code)
    assert restored.status_code == 200 and restored.json()["state"] == "letter"
    reader = await visitor_socket(a, restored.json()["token"])
    state = await reader.until(lambda f: f["type"] == "state")
    assert state == {"type": "state", "state": "letter", "reply_within_days": 2, "counselor": "Anna"}
    entries = await history(reader, is_entry("returned"))
    assert [(e["kind"], e["from"], e.get("text")) for e in entries] == [
        ("msg", "visitor", LETTER), ("msg", "counselor", "Hej! Jag heter Anna och läser gärna mer."),
        ("returned", "visitor", None)]
    # A follow-up goes back to the counselors' list as unanswered, marked with who answered.
    await reader.send({"type": "msg", "text": "Tack. Det är min sambo.", "client_id": "f1"})
    await reader.until(is_stored("visitor", "f1"))
    await anna.until(letters_with(conv, replied=False, counselor="Anna"))
    await reader.close()
    await anna.close()
    stored = repr(dump(redis_url))
    for text in (a.log_text(), b.log_text(), stored):
        assert not code_pattern(code).search(text), "the code is in a log or in Redis as text"
    assert LETTER not in a.log_text() + b.log_text()


async def test_only_one_counselor_at_a_time_holds_a_letter(start_server):
    server = start_server(OPENING_HOURS=CLOSED)
    assert (await post_json(server, "/api/letter", {"text": LETTER})).status_code == 201
    anna, _ = await counselor(server, name="Anna")
    bo, _ = await counselor(server, name="Bo")
    conv = (await anna.until(letters_with(replied=False)))["items"][0]["conv"]
    await asyncio.gather(*(c.send({"type": "open_letter", "conv": conv}) for c in (anna, bo)))
    results = [await c.until(lambda f: f["type"] in ("letter_opened", "letter_failed")) for c in (anna, bo)]
    assert sorted(r["type"] for r in results) == ["letter_failed", "letter_opened"]
    holder, other = (anna, bo) if results[0]["type"] == "letter_opened" else (bo, anna)
    failed = next(r for r in results if r["type"] == "letter_failed")
    assert failed["reason"] == "held" and failed["by"] in ("Anna", "Bo")
    # Nobody but the holder may write in it.
    await other.send({"type": "msg", "conv": conv, "text": "snooping", "client_id": "x"})
    assert (await other.until(lambda f: f["type"] == "error"))["code"] == "not_allowed"
    await other.until(letters_with(conv, opened_by=failed["by"]))  # the list says who has it
    await holder.close()  # a console that goes away lets go of its letters
    await other.until(letters_with(conv, opened_by=None))
    await other.send({"type": "open_letter", "conv": conv})
    reopened = await other.until(lambda f: f["type"] in ("letter_opened", "letter_failed"))
    assert reopened["type"] == "letter_opened"
    await other.close()


async def test_letters_are_for_when_nobody_can_answer_a_chat(start_server):
    server = start_server(LETTER_QUEUE_THRESHOLD="2")
    # Open, but nobody on duty: a letter is welcome.
    assert (await post_json(server, "/api/letter", {"text": LETTER})).status_code == 201
    anna, _ = await counselor(server)
    await anna.until(lambda f: f["type"] == "letters")
    refused = await post_json(server, "/api/letter", {"text": LETTER})
    assert refused.status_code == 409 and refused.json()["error"] == "chat_open"
    assert "Starta en chatt" in refused.json()["message"]
    await start_chat(server)
    await start_chat(server)  # the queue is long now
    assert (await post_json(server, "/api/letter", {"text": LETTER})).status_code == 201
    await anna.close()


async def test_bad_letters_get_a_clear_error(start_server):
    server = start_server(OPENING_HOURS=CLOSED, MESSAGE_MAX_CHARS="50")
    url = server.url + "/api/letter"
    origin = {"Origin": server.url}
    async with httpx.AsyncClient() as http:
        empty = await http.post(url, json={"text": "  \n "}, headers=origin)
        too_long = await http.post(url, json={"text": "x" * 51}, headers=origin)
        not_json = await http.post(url, content="text=hej", headers=origin)
        wrong_type = await http.post(url, json={"text": ["hej"]}, headers=origin)
        huge = await http.post(url, json={"text": "x" * 5000}, headers=origin)
        foreign = await http.post(url, json={"text": "hej"}, headers={"Origin": "https://evil.example"})
    assert (empty.status_code, empty.json()["error"]) == (400, "empty")
    assert (too_long.status_code, too_long.json()["error"]) == (400, "too_long")
    assert "50" in too_long.json()["message"]
    assert (not_json.status_code, not_json.json()["error"]) == (400, "malformed")
    assert (wrong_type.status_code, wrong_type.json()["error"]) == (400, "malformed")
    assert (huge.status_code, huge.json()["error"]) == (413, "too_large")
    assert (foreign.status_code, foreign.json()["error"]) == (403, "not_allowed")
    for response in (empty, too_long, not_json, wrong_type, huge, foreign):
        assert response.json()["message"], response.text


async def test_letters_are_limited_per_client_and_in_all(start_server):
    server = start_server(OPENING_HOURS=CLOSED, LETTERS_MAX="4")
    for _ in range(3):
        assert (await post_json(server, "/api/letter", {"text": LETTER})).status_code == 201
    throttled = await post_json(server, "/api/letter", {"text": LETTER})
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert (await post_json(server, "/api/letter", {"text": LETTER}, address="192.0.2.1")).status_code == 201
    full = await post_json(server, "/api/letter", {"text": LETTER}, address="192.0.2.2")
    assert full.status_code == 503 and full.json()["error"] == "letters_full"
    assert "020-50 50 50" in full.json()["message"]


async def test_a_reconnecting_console_resumes_its_letter_unless_someone_else_took_it(start_server):
    server = start_server(OPENING_HOURS=CLOSED)
    left = (await post_json(server, "/api/letter", {"text": LETTER})).json()
    anna, _ = await counselor(server, name="Anna")
    conv = (await anna.until(letters_with(replied=False)))["items"][0]["conv"]
    await anna.send({"type": "open_letter", "conv": conv})
    first = await anna.until(is_entry("msg", "visitor"))
    cookie = anna.connection.request.headers["Cookie"].split("=", 1)[1]
    await anna.close()
    writer = await visitor_socket(server, left["token"])
    await writer.send({"type": "msg", "text": "En sak till.", "client_id": "more"})
    await writer.until(is_stored("visitor", "more"))
    again = await staff_socket(server, cookie, chats={conv: first["id"]})
    assert (await again.until(lambda f: f["type"] == "letter_opened"))["conv"] == conv
    assert (await again.until(is_entry("msg", "visitor")))["text"] == "En sak till."  # only what it missed
    cookie = again.connection.request.headers["Cookie"].split("=", 1)[1]
    await again.close()
    bo, _ = await counselor(server, name="Bo")
    await bo.until(letters_with(conv, opened_by=None))
    await bo.send({"type": "open_letter", "conv": conv})
    await bo.until(lambda f: f["type"] == "letter_opened")
    resumed = await staff_socket(server, cookie, chats={conv: first["id"]})
    assert (await resumed.until(lambda f: f["type"].startswith("letter_")))["type"] == "letter_closed"
    for socket in (writer, bo, resumed):
        await socket.close()
