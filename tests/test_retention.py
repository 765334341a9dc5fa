"""Ephemeral by design: every key has a TTL, and after retention nothing of a chat is left."""

import asyncio
import time

import pytest
from websockets.exceptions import ConnectionClosed

from tests.clients import (
    ask_code,
    is_entry,
    is_stored,
    post_json,
    return_with,
    start_chat,
    taken_chat,
    visitor_socket,
)
from tests.redis_scan import dump, ttls
from tests.servers import CLOSED

pytestmark = pytest.mark.anyio

SECRET_TEXT = "min adress är Storgatan 5"
DURABLE = ("staff:u:", "staff:all", "dev:secret", "audit", "canned", "stats:d:")
"""Durable keys, with retentions of their own. The audit log keeps the ids of the conversations
staff acted on (never their content) for AUDIT_RETENTION_DAYS: that is its purpose. Canned
responses and the daily counters hold nothing of any conversation."""
SECRET_NOTE = "grannen hörde skrik i lördags"
SECRET_SUMMARY = "hot med kniv, två barn hemma"
RETURN_SECONDS = 5


async def wait_until(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


def traces(url: str, needles: list[str]) -> dict[str, str]:
    """Ephemeral keys whose name or content contains any needle."""
    return {key: text for key, text in dump(url).items()
            if not key.split(":", 1)[-1].startswith(DURABLE)
            and any(needle in key or needle in text for needle in needles)}


async def test_every_ephemeral_key_has_a_time_to_live(server, redis_url):
    visitor, counselor, conv = await taken_chat(server)
    await visitor.send({"type": "msg", "text": "hej", "client_id": "a"})
    await counselor.until(is_entry("msg", "visitor"))
    await counselor.send({"type": "note", "conv": conv, "text": "en anteckning"})
    await counselor.until(lambda f: f["type"] == "note")
    await counselor.send({"type": "propose_intake", "conv": conv, "kind": "assessment"})
    await counselor.until(lambda f: f["type"] == "proposal")
    prefix = server.env["KEY_PREFIX"]
    for key, ttl in ttls(redis_url, prefix).items():
        if any(key.startswith(prefix + durable) for durable in DURABLE):
            continue
        assert ttl > 0, f"{key} has no time-to-live"
    await visitor.close()
    await counselor.close()


async def test_after_an_ended_chat_is_past_retention_nothing_of_it_remains(start_server, redis_url):
    server = start_server(CONVERSATION_RETENTION_SECONDS="2")
    token = await start_chat(server)
    visitor, counselor, conv = await taken_chat(server, token=token)
    await visitor.send({"type": "msg", "text": SECRET_TEXT, "client_id": "a"})
    await counselor.until(is_entry("msg", "visitor"))
    await counselor.send({"type": "note", "conv": conv, "text": SECRET_NOTE})
    await counselor.until(lambda f: f["type"] == "note")
    await counselor.send({"type": "propose_intake", "conv": conv, "kind": "assessment",
                          "summary": SECRET_SUMMARY})
    await counselor.until(lambda f: f["type"] == "proposal")
    # Looked for while the chat runs: after its end only the 2-second retention is left.
    assert traces(redis_url, [SECRET_NOTE]), "the note was in Redis while the chat lasted"
    assert traces(redis_url, [SECRET_SUMMARY]), "the intake proposal was in Redis while the chat lasted"
    assert traces(redis_url, [conv, SECRET_TEXT]), "the chat was in Redis while it lasted"
    await counselor.send({"type": "end", "conv": conv})
    await visitor.until(is_entry("end"))
    await visitor.close()
    await counselor.close()
    await wait_until(lambda: not traces(redis_url, [conv, SECRET_TEXT, SECRET_NOTE, SECRET_SUMMARY]))
    # The visitor's token no longer opens anything.
    again = await visitor_socket(server, token)
    with pytest.raises(ConnectionClosed):
        for _ in range(10):
            await again.receive()
    assert again.connection.close_code == 4401


async def test_an_abandoned_chat_is_deleted_after_the_idle_time(start_server, redis_url):
    server = start_server(CONVERSATION_IDLE_SECONDS="3")
    token = await start_chat(server)
    visitor = await visitor_socket(server, token)
    await visitor.send({"type": "msg", "text": SECRET_TEXT, "client_id": "a"})
    await visitor.until(is_stored("visitor", "a"))
    staying = await visitor_socket(server, await start_chat(server))  # stays connected
    await staying.until(lambda f: f["type"] == "state")
    await visitor.close()  # the visitor just goes away, in the queue
    await wait_until(lambda: not traces(redis_url, [SECRET_TEXT]))
    await asyncio.sleep(4)  # longer than the idle time: the connected one must survive
    prefix = server.env["KEY_PREFIX"]
    queue = dump(redis_url, prefix + "queue")
    assert len(queue) == 1 and queue[prefix + "queue"].count("', ") == 1  # only the one staying
    await staying.send({"type": "msg", "text": "fortfarande här", "client_id": "b"})
    assert (await staying.until(is_stored("visitor", "b")))["client_id"] == "b"
    await staying.close()


async def test_a_coded_chat_keeps_every_key_for_the_return_retention_then_nothing_remains(
        start_server, redis_url):
    server = start_server(CONVERSATION_IDLE_SECONDS="2", CONVERSATION_RETENTION_SECONDS="1",
                          RETURN_CODE_RETENTION_SECONDS=str(RETURN_SECONDS))
    prefix = server.env["KEY_PREFIX"]
    visitor, counselor, conv = await taken_chat(server)
    await visitor.send({"type": "msg", "text": SECRET_TEXT, "client_id": "a"})
    await counselor.until(is_entry("msg", "visitor"))
    code = await ask_code(visitor)
    kept = traces(redis_url, [conv, SECRET_TEXT])
    assert any(key.startswith(prefix + "rc:") for key in kept), "the code's key points to the chat"
    expiries = ttls(redis_url, prefix)
    for key in kept:
        assert 0 < expiries[key] <= RETURN_SECONDS, f"{key} lives {expiries[key]} s"
    await counselor.send({"type": "end", "conv": conv})
    await visitor.until(is_entry("end"))
    await visitor.close()
    await counselor.close()
    await asyncio.sleep(2)  # past the ordinary retention: a coded chat is still kept
    assert traces(redis_url, [conv, SECRET_TEXT])
    await wait_until(lambda: not traces(redis_url, [conv, SECRET_TEXT]))
    assert (await return_with(server, code)).status_code == 404


async def test_a_letter_is_kept_for_the_return_retention_then_nothing_remains(start_server, redis_url):
    server = start_server(OPENING_HOURS=CLOSED, CONVERSATION_IDLE_SECONDS="2",
                          CONVERSATION_RETENTION_SECONDS="1",
                          RETURN_CODE_RETENTION_SECONDS=str(RETURN_SECONDS))
    prefix = server.env["KEY_PREFIX"]
    left = await post_json(server, "/api/letter", {"text": SECRET_TEXT})
    assert left.status_code == 201
    kept = traces(redis_url, [SECRET_TEXT])
    conv = next(key for key in kept if key.endswith(":m"))[len(prefix + "c:"):-2]
    kept = traces(redis_url, [conv, SECRET_TEXT])
    assert {key.split(":")[1] for key in kept} >= {"c", "v", "rc", "letters"}
    expiries = ttls(redis_url, prefix)
    for key in kept:
        assert 0 < expiries[key] <= RETURN_SECONDS, f"{key} lives {expiries[key]} s"
    await wait_until(lambda: not traces(redis_url, [conv, SECRET_TEXT]))
    assert (await return_with(server, left.json()["code"])).status_code == 404
