"""The counselor's working day over real sockets: notes, handing over, status, end-of-chat classification."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis

from app.chat.queue_watch import QueueSnapshot, Waiting
from app.chat.store import now_ms
from tests.clients import (
    Socket,
    add_staff,
    counselor,
    first_waiting,
    is_entry,
    staff_login,
    staff_socket,
    start_chat,
    taken_chat,
    visitor_socket,
)
from tests.redis_scan import audit_log

pytestmark = pytest.mark.anyio


NOTE = "misstänker att han läser hennes mobil"
HANDOVER_NOTE = "hon vill prata med någon som kan ekonomiskt våld"


class Recorder:
    """Keeps every frame a socket receives, so that a test can say what never arrived."""

    def __init__(self, socket: Socket) -> None:
        self.socket = socket
        self.seen: list[dict[str, Any]] = []

    async def until(self, match: Any) -> dict[str, Any]:
        while True:
            frame = await self.socket.receive()
            self.seen.append(frame)
            if match(frame):
                return frame

    def saw_text(self, text: str) -> bool:
        return any(text in json.dumps(frame, ensure_ascii=False) for frame in self.seen)


def of_type(kind: str, conv: str = "") -> Any:
    return lambda f: f["type"] == kind and (not conv or f.get("conv") == conv)


async def on_duty(staff: Socket, colleague: str) -> None:
    """Wait until this console lists `colleague` as on duty."""
    await staff.until(lambda f: f["type"] == "colleagues"
                      and any(c["username"] == colleague for c in f["items"]))


async def test_a_note_reaches_staff_only_and_is_audited_without_its_text(server, redis_url):
    visitor, staff, conv = await taken_chat(server)
    watcher = Recorder(visitor)
    await staff.send({"type": "note", "conv": conv, "text": NOTE})
    note = await staff.until(of_type("note", conv))
    assert (note["kind"], note["text"], note["name"]) == ("note", NOTE, "Anna")
    # A later message reaches the visitor; the note never did.
    await staff.send({"type": "msg", "conv": conv, "text": "Hej", "client_id": "m1"})
    await watcher.until(is_entry("msg", "counselor"))
    assert not watcher.saw_text(NOTE)
    # A colleague who does not hold the chat can neither write nor read its notes.
    other, _ = await counselor(server, name="Bo")
    await other.send({"type": "note", "conv": conv, "text": "x"})
    refused = await other.until(of_type("error"))
    assert refused["code"] == "not_allowed"
    entries = [e for e in audit_log(redis_url, server.env["KEY_PREFIX"]) if e["action"] == "note"]
    assert [e["target"] for e in entries] == [conv]
    assert NOTE not in json.dumps(audit_log(redis_url, server.env["KEY_PREFIX"]), ensure_ascii=False)
    for socket in (visitor, staff, other):
        await socket.close()


async def test_a_chat_is_handed_to_a_colleague_on_another_process_with_its_history(start_server, redis_url):
    first = start_server()
    second = start_server(env=first.env)
    visitor, anna, conv = await taken_chat(first)
    watcher = Recorder(visitor)
    await visitor.send({"type": "msg", "text": "Jag vågar inte gå hem", "client_id": "v1"})
    await anna.until(is_entry("msg", "visitor"))
    await anna.send({"type": "note", "conv": conv, "text": NOTE})
    await anna.until(of_type("note", conv))
    bo, bo_name = await counselor(second, name="Bo")
    await on_duty(anna, bo_name)

    await anna.send({"type": "transfer", "conv": conv, "to": bo_name, "text": HANDOVER_NOTE})
    assert (await anna.until(of_type("transferred", conv)))["to"] == "Bo"
    arrived = await bo.until(of_type("transferred_in", conv))
    assert arrived["from"] == "Anna"
    history = [await bo.until(lambda f: f["type"] == "entry" and f["conv"] == conv) for _ in range(3)]
    assert [e["kind"] for e in history] == ["join", "msg", "join"]
    assert history[1]["text"] == "Jag vågar inte gå hem"
    notes = [await bo.until(of_type("note", conv)) for _ in range(2)]
    assert [(n["kind"], n["text"]) for n in notes] == [("note", NOTE), ("transfer", HANDOVER_NOTE)]
    assert notes[1]["to"] == "Bo"

    # The visitor sees who they talk with now, and never the notes.
    joined = await watcher.until(lambda f: is_entry("join")(f) and f.get("name") == "Bo")
    assert joined["from"] == "counselor"
    await watcher.until(lambda f: f["type"] == "state" and f.get("counselor") == "Bo")
    await bo.send({"type": "msg", "conv": conv, "text": "Hej, jag heter Bo", "client_id": "b1"})
    await watcher.until(lambda f: is_entry("msg", "counselor")(f) and f["text"] == "Hej, jag heter Bo")
    assert not watcher.saw_text(HANDOVER_NOTE) and not watcher.saw_text(NOTE)

    # Anna no longer holds it.
    await anna.send({"type": "msg", "conv": conv, "text": "hallå", "client_id": "a9"})
    assert (await anna.until(of_type("error")))["code"] == "not_allowed"
    transfers = [e for e in audit_log(redis_url, first.env["KEY_PREFIX"]) if e["action"] == "transfer"]
    assert [(e["target"], e["other"]) for e in transfers] == [(conv, bo_name)]
    for socket in (visitor, anna, bo):
        await socket.close()


async def test_a_console_is_sent_nothing_more_of_a_chat_it_handed_over(server):
    """The handover's own announcements reach the handing console too, while it lets the chat go:
    whatever its pump was doing with them, nothing of the chat may follow "transferred" (the console
    would show the chat again). Handed back and forth, to give that race its chances."""
    anna, anna_name = await counselor(server, name="Anna")
    bo, bo_name = await counselor(server, name="Bo")
    await on_duty(anna, bo_name)
    await on_duty(bo, anna_name)
    visitor = await visitor_socket(server, await start_chat(server))
    conv = await first_waiting(anna)
    await anna.send({"type": "take", "conv": conv})
    await anna.until(of_type("taken", conv))
    giver, taker = (Recorder(anna), anna_name), (Recorder(bo), bo_name)
    for _ in range(5):
        # As a counselor does: a note, then the handover (the note keeps the giver's pump busy).
        await giver[0].socket.send({"type": "note", "conv": conv, "text": NOTE})
        await giver[0].socket.send({"type": "transfer", "conv": conv, "to": taker[1], "text": HANDOVER_NOTE})
        await giver[0].until(of_type("transferred", conv))
        handed_at = len(giver[0].seen)
        await taker[0].until(of_type("transferred_in", conv))
        await taker[0].until(lambda f: is_entry("join")(f) and f["conv"] == conv)
        # What reached the giver meanwhile, up to a marker sent after the taker had the chat.
        await giver[0].socket.send({"type": "ping"})
        await giver[0].until(of_type("pong"))
        assert [f for f in giver[0].seen[handed_at:] if f.get("conv") == conv] == []
        giver, taker = taker, giver
    for socket in (visitor, anna, bo):
        await socket.close()


async def test_a_chat_is_not_handed_to_a_colleague_who_is_not_on_duty(server):
    visitor, anna, conv = await taken_chat(server)
    absent, _ = add_staff(server.env, name="Cecilia")  # has an account, no console open
    await anna.send({"type": "transfer", "conv": conv, "to": absent, "text": ""})
    assert (await anna.until(of_type("transfer_failed", conv)))["reason"] == "not_on_duty"
    await anna.send({"type": "transfer", "conv": conv, "to": "nobody-here", "text": ""})
    assert (await anna.until(of_type("transfer_failed", conv)))["reason"] == "unknown"
    away, away_name = await counselor(server, name="Dag")
    await on_duty(anna, away_name)
    await away.send({"type": "status", "status": "away"})
    await anna.until(lambda f: f["type"] == "colleagues" and f["items"] == [])
    await anna.send({"type": "transfer", "conv": conv, "to": away_name, "text": ""})
    assert (await anna.until(of_type("transfer_failed", conv)))["reason"] == "not_on_duty"
    # Still Anna's chat.
    await anna.send({"type": "msg", "conv": conv, "text": "Jag är kvar", "client_id": "a1"})
    await visitor.until(lambda f: is_entry("msg", "counselor")(f) and f["text"] == "Jag är kvar")
    for socket in (visitor, anna, away):
        await socket.close()


async def test_back_to_the_queue_puts_the_chat_first(server, redis_url):
    visitor, anna, conv = await taken_chat(server)
    later = await visitor_socket(server, await start_chat(server))
    other = await first_waiting(anna, exclude={conv})
    await anna.send({"type": "requeue", "conv": conv, "text": HANDOVER_NOTE})
    await anna.until(of_type("requeued", conv))
    queue = await anna.until(lambda f: f["type"] == "queue" and len(f["items"]) == 2)
    assert [item["conv"] for item in queue["items"]] == [conv, other]
    state = await visitor.until(lambda f: f["type"] == "state" and f["state"] == "waiting")
    assert state["position"] == 1
    # Whoever takes it next sees the note; the visitor never does.
    bo, _ = await counselor(server, name="Bo")
    await bo.send({"type": "take", "conv": conv})
    await bo.until(of_type("taken", conv))
    note = await bo.until(of_type("note", conv))
    assert (note["kind"], note["text"]) == ("requeue", HANDOVER_NOTE)
    await visitor.until(lambda f: f["type"] == "state" and f.get("counselor") == "Bo")
    assert [e["target"] for e in audit_log(redis_url, server.env["KEY_PREFIX"]) if e["action"] == "requeue"] \
        == [conv]
    for socket in (visitor, later, anna, bo):
        await socket.close()


async def test_two_consoles_handing_over_the_same_chat_at_once_only_one_wins(start_server):
    first = start_server()
    second = start_server(env=first.env)
    token = await start_chat(first)
    visitor = await visitor_socket(first, token)
    username, password = add_staff(first.env, name="Anna")
    here = await staff_socket(first, await staff_login(first, username, password))
    conv = await first_waiting(here)
    await here.send({"type": "take", "conv": conv})
    await here.until(of_type("taken", conv))
    # The same counselor in a second tab, on the other process.
    there = await staff_socket(second, await staff_login(second, username, password))
    await there.until(lambda f: f["type"] == "chats" and [i["conv"] for i in f["items"]] == [conv])
    bo, bo_name = await counselor(second, name="Bo")
    await on_duty(here, bo_name)
    await asyncio.gather(
        here.send({"type": "transfer", "conv": conv, "to": bo_name, "text": ""}),
        there.send({"type": "requeue", "conv": conv, "text": ""}),
    )
    outcomes = [(await socket.until(lambda f: f["type"] in ("transferred", "requeued")
                                    and f.get("conv") == conv))["type"] for socket in (here, there)]
    assert len(set(outcomes)) == 1, f"both consoles agree on what happened: {outcomes}"
    if outcomes == ["transferred", "transferred"]:
        await bo.until(of_type("transferred_in", conv))
    else:
        await bo.until(lambda f: f["type"] == "queue" and [i["conv"] for i in f["items"]] == [conv])
    for socket in (visitor, here, there, bo):
        await socket.close()


async def test_the_classification_is_counted_once_as_counters_only(server, redis_url):
    visitor, anna, conv = await taken_chat(server)
    answers = {"who": ["subjected"], "forms": ["physical", "digital"], "age": ["26-64"], "found": ["web"]}
    await anna.send({"type": "classify", "conv": conv, "answers": answers})
    assert (await anna.until(of_type("classify_failed", conv)))["reason"] == "not_ended"
    await anna.send({"type": "end", "conv": conv})
    await visitor.until(is_entry("end"))
    colleague, _ = await counselor(server, name="Bo")  # did not have the chat
    await colleague.send({"type": "classify", "conv": conv, "answers": answers})
    assert (await colleague.until(of_type("error")))["code"] == "not_allowed"
    await colleague.close()
    await anna.send({"type": "classify", "conv": conv, "answers": {**answers, "age": ["12"]}})
    assert (await anna.until(of_type("classify_failed", conv)))["reason"] == "invalid"
    await anna.send({"type": "classify", "conv": conv, "answers": answers})
    await anna.until(of_type("classified", conv))
    await anna.send({"type": "classify", "conv": conv, "answers": answers})
    assert (await anna.until(of_type("classify_failed", conv)))["reason"] == "done"

    prefix = server.env["KEY_PREFIX"]
    day = datetime.now(ZoneInfo("Europe/Stockholm")).date().isoformat()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        counts = client.hgetall(f"{prefix}stats:d:{day}")
        assert client.ttl(f"{prefix}stats:d:{day}") == -1, "counters are kept"
    finally:
        client.close()
    # `class.who` has one answer per classified chat: the number of chats classified.
    assert {name: n for name, n in counts.items() if name.startswith("class.")} == {
        "class.who": "1", "class.who|answer=subjected": "1",
        "class.forms": "2", "class.forms|answer=physical": "1", "class.forms|answer=digital": "1",
        "class.age": "1", "class.age|answer=26-64": "1", "class.found": "1", "class.found|answer=web": "1"}
    assert [e["target"] for e in audit_log(redis_url, prefix) if e["action"] == "classify"] == [conv]
    await visitor.close()
    await anna.close()


async def availability(server: Any) -> str:
    """What the landing page tells a visitor about counselors now."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        page = (await http.get("/")).text
    match = re.search(r'class="status (status-on|status-off)" id="availability"', page)
    assert match, "the landing page shows the availability"
    return match.group(1)


async def test_status_drives_what_visitors_see_and_who_can_be_handed_a_chat(server):
    visitor = await visitor_socket(server, await start_chat(server))
    await visitor.until(lambda f: f["type"] == "state" and f["counselors_online"] == 0)
    assert await availability(server) == "status-off"
    anna, _ = await counselor(server)
    assert (await anna.until(of_type("status")))["status"] == "available"
    await visitor.until(lambda f: f["type"] == "state" and f["counselors_online"] == 1)
    assert await availability(server) == "status-on"
    await anna.send({"type": "status", "status": "busy"})
    assert (await anna.until(of_type("status")))["status"] == "busy"
    await visitor.until(lambda f: f["type"] == "state" and f["counselors_online"] == 0)
    assert await availability(server) == "status-off"
    # Busy is still on duty: the queue and taking a chat go on.
    conv = await first_waiting(anna)
    await anna.send({"type": "take", "conv": conv})
    await anna.until(of_type("taken", conv))
    await anna.send({"type": "status", "status": "available"})
    await anna.until(of_type("status"))
    assert await availability(server) == "status-on"
    await anna.send({"type": "status", "status": "away"})
    await anna.until(of_type("status"))
    assert await availability(server) == "status-off"
    await anna.close()
    await visitor.close()


def test_the_queue_shows_risk_labels_only_when_a_chat_has_them():
    items = (Waiting("a", "sv", now_ms()), Waiting("b", "en", now_ms(), risk=("weapon", "children")))
    frame = QueueSnapshot(items=items).staff_frame("anna")
    assert [item.get("risk") for item in frame["items"]] == [None, ["weapon", "children"]]  # type: ignore[index]
