"""The chat over real HTTP and WebSocket connections to a real server and Redis."""

import asyncio
import json

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.clients import (
    add_staff,
    first_waiting,
    history,
    is_answer,
    is_entry,
    is_stored,
    open_socket,
    staff_login,
    staff_socket,
    start_chat,
    taken_chat,
    visitor_socket,
)
from tests.servers import CLOSED

pytestmark = pytest.mark.anyio


async def closed_with(socket) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(50):
            await socket.receive()
    return closed.value.rcvd.code


async def test_a_new_visitor_waits_in_the_queue_with_an_honest_estimate(server):
    visitor = await visitor_socket(server, await start_chat(server))
    state = await visitor.receive()
    assert state == {"type": "state", "state": "waiting", "position": 1, "counselors_online": 0,
                     "wait_minutes": None}
    username, password = add_staff(server.env)
    counselor = await staff_socket(server, await staff_login(server, username, password))
    # A counselor coming on duty changes what the visitor is told.
    state = await visitor.until(lambda f: f["type"] == "state" and f["counselors_online"] == 1)
    assert state["position"] == 1 and state["wait_minutes"] == 1
    second = await visitor_socket(server, await start_chat(server))
    assert (await second.until(lambda f: f["type"] == "state"))["position"] == 2
    for socket in (visitor, second, counselor):
        await socket.close()


async def test_messages_written_while_waiting_are_delivered_when_taken(server):
    visitor = await visitor_socket(server, await start_chat(server))
    await visitor.send({"type": "msg", "text": "är det någon där?", "client_id": "m1"})
    sent = await visitor.until(is_stored("visitor", "m1"))
    assert sent["client_id"] == "m1"
    username, password = add_staff(server.env, name="Sara")
    counselor = await staff_socket(server, await staff_login(server, username, password))
    conv = await first_waiting(counselor)
    await counselor.send({"type": "take", "conv": conv})
    message = await counselor.until(is_entry("msg", "visitor"))
    assert message["text"] == "är det någon där?" and message["conv"] == conv
    joined = await visitor.until(is_entry("join"))
    assert joined["name"] == "Sara"
    active = await visitor.until(lambda f: f["type"] == "state" and f["state"] == "active")
    assert active["counselor"] == "Sara"
    # The counselor's client acknowledges; the visitor sees the message delivered.
    await counselor.send({"type": "seen", "conv": conv, "id": message["id"]})
    delivered = await visitor.until(lambda f: f["type"] == "delivered")
    assert delivered["id"] == message["id"]
    await visitor.close()
    await counselor.close()


async def test_typing_carries_no_text_and_messages_flow_both_ways(server):
    visitor, counselor, conv = await taken_chat(server)
    await visitor.send({"type": "typing", "text": "a draft that must not leave"})
    typing = await counselor.until(lambda f: f["type"] == "typing")
    assert typing == {"type": "typing", "conv": conv}
    await counselor.send({"type": "typing", "conv": conv})
    assert await visitor.until(lambda f: f["type"] == "typing") == {"type": "typing"}
    await counselor.send({"type": "msg", "conv": conv, "text": "Hej, jag heter Anna.",
                          "client_id": "c1"})
    reply = await visitor.until(is_entry("msg", "counselor"))
    assert reply["text"] == "Hej, jag heter Anna." and "conv" not in reply
    await visitor.close()
    await counselor.close()


async def test_markup_is_relayed_as_text_never_interpreted(server):
    visitor, counselor, conv = await taken_chat(server)
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    await visitor.send({"type": "msg", "text": payload, "client_id": "x1"})
    received = await counselor.until(is_entry("msg", "visitor"))
    assert received["text"] == payload  # clients render it with textContent
    await visitor.close()
    await counselor.close()


async def test_a_message_is_confirmed_by_its_own_entry_once_and_every_tab_gets_it(server):
    """The socket that sent a message is sent its entry (client id and all) as the confirmation, once:
    not a "sent" and then the entry again. Another tab of the session gets it in order, as the
    counselor does, also when it had not seen the message before it."""
    token = await start_chat(server)
    visitor, counselor, conv = await taken_chat(server, token=token)
    other_tab = await visitor_socket(server, token)
    await other_tab.until(lambda f: f["type"] == "state")
    await counselor.send({"type": "msg", "conv": conv, "text": "hej", "client_id": "c1"})
    await visitor.until(is_entry("msg", "counselor"))
    await visitor.send({"type": "msg", "text": "ett", "client_id": "v1"})
    await visitor.send({"type": "msg", "text": "två", "client_id": "v2"})
    await visitor.send({"type": "msg", "text": "marker", "client_id": "v3"})
    frames = []
    while not frames or frames[-1].get("client_id") != "v3":
        frames.append(await visitor.receive())
    assert [(f["type"], f.get("client_id")) for f in frames if f["type"] in ("entry", "sent")] == \
        [("entry", "v1"), ("entry", "v2"), ("entry", "v3")]
    entries = await history(other_tab, lambda e: e.get("client_id") == "v3")
    assert [e["text"] for e in entries if e["kind"] == "msg"] == ["hej", "ett", "två", "marker"]
    assert [e["id"] for e in entries[-3:]] == [f["id"] for f in frames if f["type"] == "entry"]
    for socket in (visitor, other_tab, counselor):
        await socket.close()


async def test_a_resent_message_is_stored_once(server):
    visitor, counselor, conv = await taken_chat(server)
    for _ in range(3):
        await visitor.send({"type": "msg", "text": "bara en gång", "client_id": "same"})
    ids = {(await visitor.until(is_stored("visitor", "same")))["id"] for _ in range(3)}
    assert len(ids) == 1
    await visitor.send({"type": "msg", "text": "nästa", "client_id": "next"})
    first = await counselor.until(is_entry("msg", "visitor"))
    second = await counselor.until(is_entry("msg", "visitor"))
    assert (first["text"], second["text"]) == ("bara en gång", "nästa")
    await visitor.close()
    await counselor.close()


async def test_either_side_can_end_the_chat(server):
    visitor, counselor, conv = await taken_chat(server)
    await visitor.send({"type": "end"})
    assert (await counselor.until(is_entry("end")))["from"] == "visitor"
    assert (await visitor.until(lambda f: f["type"] == "state"))["state"] == "ended"
    await counselor.send({"type": "msg", "conv": conv, "text": "för sent", "client_id": "late"})
    refused = await counselor.until(lambda f: f["type"] == "error")
    assert refused["code"] == "gone"
    await visitor.close()
    await counselor.close()


async def test_counselor_ends_and_the_visitor_is_told(server):
    visitor, counselor, conv = await taken_chat(server)
    await counselor.send({"type": "end", "conv": conv})
    assert (await visitor.until(is_entry("end")))["from"] == "counselor"
    await visitor.close()
    await counselor.close()


async def test_a_too_long_message_is_refused_and_the_socket_stays_usable(start_server):
    server = start_server(MESSAGE_MAX_CHARS="50")
    visitor, counselor, conv = await taken_chat(server)
    await visitor.send({"type": "msg", "text": "x" * 51, "client_id": "long"})
    error = await visitor.until(lambda f: f["type"] == "error")
    assert error["code"] == "too_long" and "för långt" in error["message"]  # Swedish by default
    await visitor.send({"type": "msg", "text": "x" * 50, "client_id": "ok"})
    assert (await counselor.until(is_entry("msg", "visitor")))["text"] == "x" * 50
    await visitor.close()
    await counselor.close()


async def test_the_rate_limit_refuses_clearly_then_floods_are_closed(start_server):
    server = start_server(RATE_LIMIT_MESSAGES="3", RATE_LIMIT_WINDOW_SECONDS="60")
    visitor, counselor, conv = await taken_chat(server)
    for n in range(4):
        await visitor.send({"type": "msg", "text": f"m{n}", "client_id": f"m{n}"})
    error = await visitor.until(lambda f: f["type"] == "error")
    assert error["code"] == "rate_limited" and error["client_id"] == "m3"
    received = [(await counselor.until(is_entry("msg", "visitor")))["text"] for _ in range(3)]
    assert received == ["m0", "m1", "m2"]
    for n in range(4, 12):  # far past the limit: closed as abuse
        await visitor.send({"type": "msg", "text": f"m{n}", "client_id": f"m{n}"})
    assert await closed_with(visitor) == 4429
    await counselor.close()


async def test_a_message_sent_again_after_a_reconnect_takes_no_token(start_server):
    server = start_server(RATE_LIMIT_MESSAGES="2", RATE_LIMIT_WINDOW_SECONDS="600")
    token = await start_chat(server)
    visitor, counselor, conv = await taken_chat(server, token=token)
    await visitor.send({"type": "msg", "text": "första", "client_id": "once"})
    first = await visitor.until(is_stored("visitor", "once"))
    await visitor.close()
    for _ in range(3):  # the page re-sends what it has no confirmation for, as often as it reconnects
        again = await visitor_socket(server, token, last_id=first["id"])
        await again.send({"type": "msg", "text": "första", "client_id": "once"})
        assert (await again.until(is_answer("visitor", "once"))) == {"type": "sent", "client_id": "once",
                                                                    "id": first["id"]}
        await again.close()
    visitor = await visitor_socket(server, token, last_id=first["id"])
    await visitor.send({"type": "msg", "text": "andra", "client_id": "twice"})
    assert (await visitor.until(is_answer("visitor", "twice")))["type"] == "entry"
    await visitor.send({"type": "msg", "text": "tredje", "client_id": "thrice"})
    assert (await visitor.until(is_answer("visitor", "thrice")))["code"] == "rate_limited"
    await visitor.close()
    await counselor.close()


async def test_the_rate_limit_is_a_token_bucket_that_refills_steadily(start_server):
    server = start_server(RATE_LIMIT_MESSAGES="3", RATE_LIMIT_WINDOW_SECONDS="3")  # one token a second
    visitor, counselor, conv = await taken_chat(server)
    for n in range(4):
        await visitor.send({"type": "msg", "text": f"b{n}", "client_id": f"b{n}"})
    error = await visitor.until(lambda f: f["type"] == "error")
    assert error["client_id"] == "b3"
    await asyncio.sleep(2.3)  # the refused message's token and one more back: not a whole window
    await visitor.send({"type": "msg", "text": "after a pause", "client_id": "b4"})
    texts = [(await counselor.until(is_entry("msg", "visitor")))["text"] for _ in range(4)]
    assert texts == ["b0", "b1", "b2", "after a pause"]
    await visitor.close()
    await counselor.close()


async def test_malformed_frames_get_errors_and_do_not_disturb_other_chats(server):
    visitor, counselor, conv = await taken_chat(server)
    bystander = await visitor_socket(server, await start_chat(server))
    await bystander.until(lambda f: f["type"] == "state")
    for raw in ("not json", "[1,2]", json.dumps({"type": "msg"}), json.dumps({"type": "take",
                "conv": conv})):
        await bystander.connection.send(raw)
        assert (await bystander.until(lambda f: f["type"] == "error"))["code"] == "malformed"
    await bystander.connection.send(b"\x00\x01binary")
    assert (await bystander.until(lambda f: f["type"] == "error"))["code"] == "malformed"
    await visitor.send({"type": "msg", "text": "still here", "client_id": "s1"})
    assert (await counselor.until(is_entry("msg", "visitor")))["text"] == "still here"
    for _ in range(20):  # a stream of garbage is closed with 4400
        await bystander.connection.send("garbage")
    assert await closed_with(bystander) == 4400
    assert httpx.get(server.url + "/healthz").status_code == 200
    await visitor.close()
    await counselor.close()


async def test_an_oversized_frame_closes_only_that_socket(server):
    visitor, counselor, conv = await taken_chat(server)
    other = await visitor_socket(server, await start_chat(server))
    await other.connection.send("x" * 200_000)
    assert await closed_with(other) == 1009
    await visitor.send({"type": "msg", "text": "fine", "client_id": "f"})
    assert (await counselor.until(is_entry("msg", "visitor")))["text"] == "fine"
    await visitor.close()
    await counselor.close()


async def test_the_queue_has_a_cap_with_a_clear_message(start_server):
    server = start_server(QUEUE_MAX="2")
    await start_chat(server)
    await start_chat(server)
    async with httpx.AsyncClient(base_url=server.url) as http:
        refused = await http.post("/api/chat", json={}, headers={"Origin": server.url})
    assert refused.status_code == 503
    assert refused.json()["error"] == "queue_full"
    assert "020-50 50 50" in refused.json()["message"]


async def test_outside_opening_hours_no_chat_starts(start_server):
    server = start_server(OPENING_HOURS=CLOSED)
    async with httpx.AsyncClient(base_url=server.url) as http:
        refused = await http.post("/api/chat", json={}, headers={"Origin": server.url})
        page = await http.get("/")
    assert refused.status_code == 503 and refused.json()["error"] == "closed"
    assert "Chatten är stängd just nu." in page.text and 'id="start-chat"' not in page.text
    assert "Kvinnofridslinjen" in page.text and "socialjouren" in page.text


async def test_a_wrong_token_is_refused_with_4401(server):
    socket = await visitor_socket(server, "not-a-real-token")
    assert await closed_with(socket) == 4401


async def test_no_hello_means_no_session(server):
    socket = await open_socket(server, "/ws/chat")
    await socket.send({"type": "msg", "text": "hi", "client_id": "a"})
    assert await closed_with(socket) == 4400


async def test_a_foreign_origin_cannot_open_sockets_or_start_chats(server):
    socket = await open_socket(server, "/ws/chat", origin="https://evil.example")
    assert await closed_with(socket) == 4403  # closed before it can even say hello
    async with httpx.AsyncClient(base_url=server.url) as http:
        refused = await http.post("/api/chat", json={}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403


async def test_a_reconnecting_visitor_gets_only_what_it_missed(server):
    token = await start_chat(server)
    visitor, counselor, conv = await taken_chat(server, token=token)
    await counselor.send({"type": "msg", "conv": conv, "text": "ett", "client_id": "1"})
    first = await visitor.until(is_entry("msg", "counselor"))
    await visitor.close()
    await counselor.send({"type": "msg", "conv": conv, "text": "två", "client_id": "2"})
    await counselor.until(is_stored("counselor", "2"))
    again = await visitor_socket(server, token, last_id=first["id"])
    entries = []
    while not entries or entries[-1].get("text") != "två":
        entries.append(await again.until(lambda f: f["type"] == "entry"))
    assert [e.get("text") for e in entries] == ["två"]
    await again.close()
    await counselor.close()


async def test_staff_socket_needs_a_login(server):
    socket = await open_socket(server, "/staff/ws")
    assert await closed_with(socket) == 4401


async def test_a_counselor_cannot_act_in_someone_elses_chat(server):
    visitor, counselor, conv = await taken_chat(server)
    username, password = add_staff(server.env, name="Other")
    other = await staff_socket(server, await staff_login(server, username, password))
    await other.send({"type": "msg", "conv": conv, "text": "snooping", "client_id": "z"})
    assert (await other.until(lambda f: f["type"] == "error"))["code"] == "not_allowed"
    await other.send({"type": "end", "conv": conv})
    assert (await other.until(lambda f: f["type"] == "error"))["code"] == "not_allowed"
    await visitor.send({"type": "msg", "text": "only for Anna", "client_id": "v"})
    assert (await counselor.until(is_entry("msg", "visitor")))["text"] == "only for Anna"
    with pytest.raises(TimeoutError):
        await other.until(lambda f: f["type"] == "entry", timeout=0.5)
    for socket in (visitor, counselor, other):
        await socket.close()


async def test_the_console_resumes_its_chats_after_a_reconnect(server):
    visitor, counselor, conv = await taken_chat(server)
    await visitor.send({"type": "msg", "text": "före", "client_id": "a"})
    before = await counselor.until(is_entry("msg", "visitor"))
    cookie = counselor.connection.request.headers["Cookie"].split("=", 1)[1]
    await counselor.close()
    await visitor.send({"type": "msg", "text": "under tiden", "client_id": "b"})
    await visitor.until(is_stored("visitor", "b"))
    again = await staff_socket(server, cookie, chats={conv: before["id"]})
    chats = await again.until(lambda f: f["type"] == "chats")
    assert [c["conv"] for c in chats["items"]] == [conv]
    missed = await again.until(is_entry("msg", "visitor"))
    assert missed["text"] == "under tiden"
    await visitor.close()
    await again.close()


async def test_two_counselors_on_one_process_race_and_one_wins(server):
    await start_chat(server)
    sockets = []
    for name in ("A", "B"):
        username, password = add_staff(server.env, name=name)
        sockets.append(await staff_socket(server, await staff_login(server, username, password)))
    conv = await first_waiting(sockets[0])
    await asyncio.gather(*(s.send({"type": "take", "conv": conv}) for s in sockets))
    results = [(await s.until(lambda f: f["type"] in ("taken", "take_failed")))["type"]
               for s in sockets]
    assert sorted(results) == ["take_failed", "taken"]
    for socket in sockets:
        await socket.close()
