"""The audit log: what staff do is recorded with who, when, what and which object, never the content."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from app.audit import ACTIONS, Audit
from app.config import load_settings
from app.keys import Keys
from tests.clients import add_staff, is_entry, staff_login, taken_chat
from tests.redis_scan import audit_log

pytestmark = pytest.mark.anyio

SECRET_WORDS = "han har en kniv i köket"


@pytest.fixture
async def audit(redis_url):
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    keys = Keys.from_settings(load_settings({"KEY_PREFIX": f"audit{time.monotonic_ns()}:"}))
    yield Audit(client, keys, retention_days=30)
    await client.delete(keys.audit)
    await client.aclose()


async def test_record_takes_only_known_actions_and_identifiers(audit):
    await audit.record("anna", "counselor", "take", target="AbC_12-x")
    with pytest.raises(ValueError, match="unknown audit action"):
        await audit.record("anna", "counselor", "peek")
    with pytest.raises(ValueError, match="identifier"):
        await audit.record("anna", "counselor", "note", target="han har en kniv")
    with pytest.raises(ValueError, match="identifier"):
        await audit.record("anna", "counselor", "take", other="x" * 81)
    [entry] = await audit.entries(0, int(time.time() * 1000) + 1)
    assert (entry.actor, entry.role, entry.action, entry.target) == ("anna", "counselor", "take", "AbC_12-x")


async def test_entries_older_than_the_retention_go_on_the_next_write(audit):
    old = int(time.time() * 1000) - 31 * 86_400_000
    await audit.redis.xadd(audit.key, {"actor": "old", "action": "login"}, id=f"{old}-0")
    await audit.redis.xadd(audit.key, {"actor": "recent", "action": "login"})
    await audit.record("anna", "counselor", "logout")
    actors = [e.actor for e in await audit.entries(0, int(time.time() * 1000) + 1)]
    assert actors == ["anna", "recent"]


async def test_filters_by_person_action_and_period(audit):
    await audit.record("anna", "counselor", "take", target="c1")
    await audit.record("bo", "counselor", "take", target="c2")
    await audit.record("anna", "counselor", "end", target="c1")
    now = int(time.time() * 1000) + 1
    assert [e.target for e in await audit.entries(0, now, actor="anna")] == ["c1", "c1"]
    assert [e.actor for e in await audit.entries(0, now, action="take")] == ["bo", "anna"]
    assert await audit.entries(0, 1) == []


async def test_logins_and_chat_actions_are_recorded_without_content(server, redis_url):
    username, password = add_staff(server.env, name="Anna")
    async with httpx.AsyncClient(base_url=server.url) as http:  # a wrong password, then nobody
        for user in (username, "nobody-here"):
            form = await http.get("/staff")
            csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
            await http.post("/staff/login", data={"csrf": csrf, "username": user, "password": "wrong" * 3},
                            headers={"Origin": server.url})
    visitor, counselor, conv = await taken_chat(server, token=None)
    await visitor.send({"type": "msg", "text": SECRET_WORDS, "client_id": "m1"})
    await counselor.until(is_entry("msg", "visitor"))
    await counselor.send({"type": "msg", "conv": conv, "text": SECRET_WORDS + " svar", "client_id": "m2"})
    await counselor.send({"type": "end", "conv": conv})
    await visitor.until(is_entry("end"))
    cookie = await staff_login(server, username, password)
    async with httpx.AsyncClient(base_url=server.url, cookies={"nexus_staff": cookie},
                                 headers={"Origin": server.url}) as http:
        page = await http.get("/staff")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        assert (await http.post("/staff/logout", data={"csrf": csrf})).status_code == 303

    log = audit_log(redis_url, server.env["KEY_PREFIX"])
    seen = [(e["action"], e.get("actor", ""), e.get("target", "")) for e in log]
    assert ("login_failed", username, "") in seen
    assert ("login_failed", "", "") in seen, "an unknown name is not written down"
    taker = next(actor for action, actor, target in seen if action == "take" and target == conv)
    assert ("end", taker, conv) in seen
    assert ("login", username, "") in seen and ("logout", username, "") in seen
    assert all(e["action"] in ACTIONS for e in log)
    assert all(int(e["ts"]) > 0 for e in log)
    text = repr(log)
    assert "kniv" not in text and "wrong" not in text, "content or a password reached the audit log"
    await visitor.close()
    await counselor.close()


def test_every_action_is_recorded_somewhere_in_the_code():
    """No action name the log knows is dead: each is recorded by the application (the account
    actions through `account_{action}` in the admin page and the CLI)."""
    source = "\n".join(path.read_text() for path in Path("app").rglob("*.py") if path.name != "audit.py")
    for action in ACTIONS:
        written = f'"{action}"' in source or (action.startswith("account_") and 'f"account_{' in source)
        assert written, f"nothing records {action!r}"
