"""Anonymity as a tested feature: what the server logs and what pages load."""

import re
from pathlib import Path

import httpx
import pytest

from tests.clients import is_entry, open_socket, taken_chat, visitor_socket

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
USER_AGENT = "Mozilla/5.0 (Linux; Android 14; Pixel 8) TestAgent/1.0"
TEXT = "han slog mig igår, jag bor på Storgatan 5"


async def test_a_whole_chat_leaves_no_identifying_trace_in_the_log(server):
    with httpx.Client(base_url=server.url, headers={"User-Agent": USER_AGENT}) as http:
        http.get("/")
        token = http.post("/api/chat", json={}, headers={"Origin": server.url}).json()["token"]
    visitor, counselor, conv = await taken_chat(server, token=token)
    await visitor.send({"type": "msg", "text": TEXT, "client_id": "a"})
    await counselor.until(is_entry("msg", "visitor"))
    await counselor.send({"type": "msg", "conv": conv, "text": "svar till dig", "client_id": "b"})
    await visitor.until(is_entry("msg", "counselor"))
    await (await visitor_socket(server, "wrong-token")).close()  # a refused socket too
    await (await open_socket(server, "/ws/chat", origin="https://evil.example")).close()
    await visitor.send({"type": "end"})
    await counselor.until(is_entry("end"))
    await visitor.close()
    await counselor.close()
    log = server.log_text()
    assert "chat.started" in log and "chat.taken" in log  # the log does record events
    for secret in (TEXT, "Storgatan", "svar till dig", token, conv, USER_AGENT, "TestAgent",
                   "127.0.0.1", "evil.example"):
        assert secret not in log, f"{secret!r} is in the server log"
    assert not re.search(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", log), "an IP address is in the log"


def test_no_template_or_script_loads_anything_from_another_origin():
    for path in [*ROOT.glob("frontend/templates/**/*.html"), *ROOT.glob("frontend/static/*")]:
        text = path.read_text()
        assert not re.search(r"(?:src|href|action)\s*=\s*[\"']?(?:https?:)?//", text), path
        assert "@import" not in text and "url(http" not in text, path
        assert not re.search(r"fetch\(\s*[\"'`]https?:", text), path
