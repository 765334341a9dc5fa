"""Return codes over real HTTP and WebSockets, on one and on two server processes."""

import asyncio
import re
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.clients import (
    ask_code,
    code_pattern,
    counselor,
    history,
    is_entry,
    is_stored,
    post_json,
    return_with,
    start_chat,
    taken_chat,
    visitor_socket,
)
from tests.redis_scan import dump

pytestmark = pytest.mark.anyio

WRONG_CODE = "0000 1111 2222 3333"


async def closed_with(socket) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(50):
            await socket.receive()
    return closed.value.rcvd.code


def queue_item(conv: str, **expected):
    """Matches a queue frame whose item for `conv` has the expected fields."""
    def match(frame) -> bool:
        items = [i for i in frame["items"] if i["conv"] == conv] if frame["type"] == "queue" else []
        return bool(items) and all(items[0].get(k) == v for k, v in expected.items())
    return match


async def test_a_code_restores_the_chat_and_its_history_on_another_process(start_server):
    a = start_server()
    b = start_server(env=a.env)
    token = await start_chat(a)
    visitor, first, conv = await taken_chat(a, name="Xenia", token=token)
    await visitor.send({"type": "msg", "text": "jag vågar inte vara kvar", "client_id": "v1"})
    await first.until(is_entry("msg", "visitor"))
    await first.send({"type": "msg", "conv": conv, "text": "Kom tillbaka när du kan.", "client_id": "c1"})
    await visitor.until(is_entry("msg", "counselor"))
    code = await ask_code(visitor)
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", code)
    await first.send({"type": "end", "conv": conv})
    await visitor.until(is_entry("end"))
    other, _ = await counselor(b, name="Yusuf")

    restored = await return_with(b, code.replace(" ", "-"))  # typed back with dashes
    assert restored.status_code == 200, restored.text
    assert restored.json()["state"] == "waiting" and restored.json()["expires_in_days"] == 7
    # The tab that held the old token is shut out at once, and the old token opens nothing.
    assert await closed_with(visitor) == 4409
    assert await closed_with(await visitor_socket(a, token)) == 4401

    back = await visitor_socket(b, restored.json()["token"])
    entries = await history(back, is_entry("returned"))
    assert [(e["kind"], e.get("text")) for e in entries] == [
        ("join", None), ("msg", "jag vågar inte vara kvar"), ("msg", "Kom tillbaka när du kan."),
        ("end", None), ("returned", None)]
    # Offered first to the counselor the visitor had, who is on duty; the others see whom it waits for.
    await first.until(queue_item(conv, returning=True, for_you=True))
    await other.until(queue_item(conv, returning=True, for_name="Xenia"))
    await first.send({"type": "take", "conv": conv})
    await first.until(lambda f: f["type"] == "taken")
    assert (await first.until(is_entry("returned")))["conv"] == conv  # "the visitor has come back"
    await back.send({"type": "msg", "text": "nu går det bättre", "client_id": "v2"})
    assert (await first.until(is_entry("msg", "visitor")))["text"] == "nu går det bättre"
    for socket in (back, first, other):
        await socket.close()


async def test_restoring_a_running_chat_rebinds_it_and_tells_its_counselor(server):
    token = await start_chat(server)
    visitor, anna, conv = await taken_chat(server, token=token)
    code = await ask_code(visitor)
    await visitor.close()  # the visitor lost the tab
    restored = await return_with(server, code)
    assert restored.json()["state"] == "active"
    returned = await anna.until(is_entry("returned"))
    assert (returned["conv"], returned["from"]) == (conv, "visitor")
    again = await visitor_socket(server, restored.json()["token"])
    assert (await again.until(lambda f: f["type"] == "state"))["state"] == "active"
    await anna.send({"type": "msg", "conv": conv, "text": "Välkommen tillbaka", "client_id": "w"})
    assert (await again.until(is_entry("msg", "counselor")))["text"] == "Välkommen tillbaka"
    assert await closed_with(await visitor_socket(server, token)) == 4401
    await again.close()
    await anna.close()


async def test_nobody_is_preferred_when_the_former_counselor_is_off_duty(server):
    visitor, anna, conv = await taken_chat(server)
    code = await ask_code(visitor)
    await anna.send({"type": "end", "conv": conv})
    await visitor.until(is_entry("end"))
    await anna.close()  # off duty
    other, _ = await counselor(server, name="Bo")
    assert (await return_with(server, code)).json()["state"] == "waiting"
    frame = await other.until(queue_item(conv, returning=True))
    item = next(i for i in frame["items"] if i["conv"] == conv)
    assert "for_you" not in item and "for_name" not in item
    await other.send({"type": "take", "conv": conv})
    await other.until(lambda f: f["type"] == "taken")
    await visitor.close()
    await other.close()


async def test_asking_again_replaces_the_code(server):
    visitor = await visitor_socket(server, await start_chat(server))
    first = await ask_code(visitor)
    second = await ask_code(visitor)
    assert first != second
    assert (await return_with(server, first)).status_code == 404
    assert (await return_with(server, second)).status_code == 200
    await visitor.close()


async def test_wrong_and_expired_codes_get_byte_identical_answers(start_server):
    server = start_server(CONVERSATION_IDLE_SECONDS="2", CONVERSATION_RETENTION_SECONDS="1",
                          RETURN_CODE_RETENTION_SECONDS="3")
    visitor, anna, conv = await taken_chat(server)
    code = await ask_code(visitor)
    await anna.send({"type": "end", "conv": conv})
    await visitor.until(is_entry("end"))
    await visitor.close()
    await anna.close()
    await asyncio.sleep(4.5)  # past the return retention: the code has expired
    expired = await return_with(server, code)
    wrong = await return_with(server, WRONG_CODE)
    assert expired.status_code == wrong.status_code == 404
    assert expired.content == wrong.content
    assert expired.headers["content-type"] == wrong.headers["content-type"]
    assert expired.json()["error"] == "code_unknown"
    assert "Kontrollera siffrorna" in expired.json()["message"]  # Swedish by default


async def test_the_eleventh_rapid_guess_is_throttled_and_other_clients_are_not(server):
    visitor = await visitor_socket(server, await start_chat(server))
    code = await ask_code(visitor)
    for n in range(10):
        assert (await return_with(server, f"0000 0000 0000 {n:04}")).status_code == 404
    throttled = await return_with(server, code)  # even the right code: no oracle for a guesser
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["retry-after"]) <= 600
    assert throttled.json()["error"] == "too_many_attempts"
    assert throttled.json()["message"].startswith("För många försök.")
    english = await post_json(server, "/api/return", {"code": code}, lang="en")
    assert english.json()["message"].startswith("Too many tries.")
    elsewhere = await return_with(server, code, address="198.51.100.7")
    assert elsewhere.status_code == 200
    await visitor.close()


async def test_the_global_limit_blunts_guessing_from_many_addresses(start_server):
    server = start_server(RETURN_GUESSES_PER_MINUTE_GLOBAL="5")
    for n in range(5):
        assert (await return_with(server, WRONG_CODE, address=f"203.0.113.{n}")).status_code == 404
    refused = await return_with(server, WRONG_CODE, address="203.0.113.99")
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 60


async def test_the_code_is_never_in_the_log_nor_in_redis_as_text(server, redis_url):
    visitor, anna, conv = await taken_chat(server)
    codes = [await ask_code(visitor), await ask_code(visitor)]
    assert (await return_with(server, codes[0])).status_code == 404  # replaced by the second
    restored = await return_with(server, codes[1].replace(" ", ""))
    assert restored.status_code == 200
    back = await visitor_socket(server, restored.json()["token"])
    await back.until(lambda f: f["type"] == "state")
    log = server.log_text()
    assert "chat.code_given" in log and "chat.returned" in log
    stored = "\n".join(f"{key} {value}" for key, value in dump(redis_url).items())
    for code in codes:
        assert not code_pattern(code).search(log), "a return code is in the server log"
        assert not code_pattern(code).search(stored), "a return code is in Redis as text"
    for socket in (visitor, anna, back):
        await socket.close()


async def test_bad_input_to_return_gets_a_clear_error(server):
    url = server.url + "/api/return"
    origin = {"Origin": server.url}
    async with httpx.AsyncClient() as http:
        not_json = await http.post(url, content="code=1234", headers=origin)
        not_object = await http.post(url, json=["1234"], headers=origin)
        number = await http.post(url, json={"code": 1234567890123456}, headers=origin)
        short = await http.post(url, json={"code": "1234 5678 9012 345"}, headers=origin)
        huge = await http.post(url, json={"code": "1" * 5000}, headers=origin)
        foreign = await http.post(url, json={"code": WRONG_CODE}, headers={"Origin": "https://evil.example"})
    assert (not_json.status_code, not_json.json()["error"]) == (400, "malformed")
    assert (not_object.status_code, not_object.json()["error"]) == (400, "malformed")
    assert (number.status_code, number.json()["error"]) == (400, "malformed")
    assert (short.status_code, short.json()["error"]) == (400, "code_format")
    assert "16 siffror" in short.json()["message"]
    assert (huge.status_code, huge.json()["error"]) == (413, "too_large")
    assert (foreign.status_code, foreign.json()["error"]) == (403, "not_allowed")
    for response in (not_json, not_object, number, short, huge, foreign):
        assert response.json()["message"], response.text


async def test_a_coded_chat_left_unused_is_ended_but_kept_for_its_return(start_server, redis_url):
    server = start_server(CONVERSATION_IDLE_SECONDS="2", CONVERSATION_RETENTION_SECONDS="2",
                          RETURN_CODE_RETENTION_SECONDS="60")
    visitor = await visitor_socket(server, await start_chat(server))
    await visitor.send({"type": "msg", "text": "hinner inte vänta", "client_id": "a"})
    await visitor.until(is_stored("visitor", "a"))
    code = await ask_code(visitor)
    await visitor.close()  # gone from the queue without a word
    prefix = server.env["KEY_PREFIX"]
    deadline = time.monotonic() + 15
    while prefix + "queue" in dump(redis_url, prefix + "queue"):
        assert time.monotonic() < deadline, "the unused chat was not ended"
        await asyncio.sleep(0.3)
    anna, _ = await counselor(server)
    restored = await return_with(server, code)
    assert restored.json()["state"] == "waiting"
    back = await visitor_socket(server, restored.json()["token"])
    entries = await history(back, is_entry("returned"))
    assert [(e["kind"], e["from"], e.get("reason")) for e in entries] == [
        ("msg", "visitor", None), ("end", "system", "idle"), ("returned", "visitor", None)]
    await anna.until(lambda f: f["type"] == "queue" and len(f["items"]) == 1)
    await back.close()
    await anna.close()
