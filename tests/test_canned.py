"""Canned responses: supervisors manage them per language (with CSRF), counselors read them."""

from __future__ import annotations

import re

import pytest

from tests.clients import staff_http
from tests.redis_scan import audit_log

pytestmark = pytest.mark.anyio


def ids_on(page: str) -> list[str]:
    return re.findall(r'data-canned="([^"]+)"', page)


async def test_a_supervisor_adds_edits_and_deletes_canned_responses(server, redis_url):
    async with staff_http(server, "supervisor") as (http, supervisor, csrf):
        added = await http.post("/staff/canned", data={"csrf": csrf, "lang": "sv", "title": "Hälsning",
                                                       "text": "Hej, jag heter Anna. Vad vill du prata om?"})
        assert added.status_code == 303
        await http.post("/staff/canned", data={"csrf": csrf, "lang": "en", "title": "Greeting",
                                               "text": "Hello, what would you like to talk about?"})
        page = await http.get("/staff/canned")
        assert page.status_code == 200 and "Hälsning" in page.text and "Greeting" in page.text
        [swedish, english] = ids_on(page.text)  # grouped by language: Swedish first

        edited = await http.post(f"/staff/canned/{swedish}", data={
            "csrf": csrf, "lang": "sv", "title": "Hälsning", "text": "Hej! Berätta gärna."})
        assert edited.status_code == 303
        async with staff_http(server, "counselor") as (reader, _, _):
            items = (await reader.get("/staff/canned.json")).json()["items"]
        assert [(i["lang"], i["title"], i["text"]) for i in items] == [
            ("en", "Greeting", "Hello, what would you like to talk about?"),
            ("sv", "Hälsning", "Hej! Berätta gärna."),
        ]

        deleted = await http.post(f"/staff/canned/{english}/delete", data={"csrf": csrf})
        assert deleted.status_code == 303
        assert ids_on((await http.get("/staff/canned")).text) == [swedish]
        assert (await http.post(f"/staff/canned/{english}/delete", data={"csrf": csrf})).status_code == 404

    changes = [(e["target"], e.get("other")) for e in audit_log(redis_url, server.env["KEY_PREFIX"])
               if e["action"] == "canned_change"]
    assert [other for _, other in changes] == ["add", "add", "edit", "delete"]
    assert "Berätta" not in str(audit_log(redis_url, server.env["KEY_PREFIX"]))


async def test_canned_changes_need_the_csrf_token_the_right_role_and_valid_fields(server):
    async with staff_http(server, "supervisor") as (http, _, csrf):
        fields = {"lang": "sv", "title": "T", "text": "Text"}
        assert (await http.post("/staff/canned", data=fields)).status_code == 403
        assert (await http.post("/staff/canned", data={**fields, "csrf": "wrong"})).status_code == 403
        for wrong in ({"lang": "de"}, {"title": ""}, {"text": "x" * 2001}):
            response = await http.post("/staff/canned", data={**fields, **wrong, "csrf": csrf})
            assert response.status_code == 400
        long_swedish = {**fields, "text": "å" * 2000, "csrf": csrf}  # about 12 KB as a form
        assert (await http.post("/staff/canned", data=long_swedish)).status_code == 303
        assert ids_on((await http.get("/staff/canned")).text)
    async with staff_http(server, "counselor") as (http, _, csrf):
        assert (await http.post("/staff/canned", data={**fields, "csrf": csrf})).status_code == 403
        assert (await http.get("/staff/canned")).status_code == 403
        assert (await http.get("/staff/canned.json")).status_code == 200
