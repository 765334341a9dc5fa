"""Inbox delivery: supervisors list, open (audited), print and register intakes; then nothing remains."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from tests.clients import staff_http
from tests.intake_receiver import intake_settings, queue_intake, records_of, until
from tests.redis_scan import audit_log, dump

pytestmark = pytest.mark.anyio


async def test_view_print_register_then_purged(start_server, redis_url):
    server = start_server(**intake_settings())
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    records = records_of(server, client)
    intake_id = await queue_intake(records)
    prefix = server.env["KEY_PREFIX"]

    async def in_inbox() -> bool:
        return bool(await client.sismember(prefix + "intake:inbox", intake_id))

    await until(in_inbox, "the worker puts it in the inbox")
    async with staff_http(server, "supervisor") as (http, username, csrf):
        listed = await http.get("/staff/intakes")
        assert listed.status_code == 200 and f'href="/staff/intakes/{intake_id}"' in listed.text
        assert "assessment" in listed.text and "Sara" not in listed.text, "no personal data in the list"
        opened = await http.get(f"/staff/intakes/{intake_id}")
        assert opened.status_code == 200
        assert "Sara" in opened.text and "19811218-9876" in opened.text and "dricker" in opened.text
        assert 'id="intake-print"' in opened.text and "intake-print" in opened.text
        refused = await http.post(f"/staff/intakes/{intake_id}/registered", data={"csrf": "forged"})
        assert refused.status_code == 403 and await records.meta(intake_id) is not None
        done = await http.post(f"/staff/intakes/{intake_id}/registered", data={"csrf": csrf})
        assert done.status_code == 303
        assert (await http.get(f"/staff/intakes/{intake_id}")).status_code == 404

    left = {key: value for key, value in dump(redis_url, prefix).items() if key != prefix + "audit"}
    assert not any("intake:" in key or intake_id in value or "Sara" in value for key, value in left.items())
    steps = [(e["actor"], e["action"]) for e in audit_log(redis_url, prefix) if e.get("target") == intake_id]
    assert steps == [("system", "intake_inboxed"), (username, "intake_viewed"),
                     (username, "intake_registered")]
    await client.aclose()


async def test_counselors_have_no_intake_pages(server):
    async with staff_http(server, "counselor") as (http, _, csrf):
        assert (await http.get("/staff/intakes")).status_code == 403
        assert (await http.get("/staff/intakes/dead")).status_code == 403
        assert (await http.post("/staff/intakes/x/registered", data={"csrf": csrf})).status_code == 403
        assert "/staff/intakes" not in (await http.get("/staff")).text, "not in the counselor's menu"
