"""The anonymous feedback survey: answers counted, the free text scrubbed and kept apart from any chat."""

from __future__ import annotations

import ast
import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.keys import FEEDBACK_NOTES_KEEP
from tests.callbacks import book, booking, free_slots, open_times
from tests.clients import is_entry, staff_http, taken_chat
from tests.redis_scan import audit_log, dump
from tests.servers import ServerProcess

pytestmark = pytest.mark.anyio

PNR = "19811218-9876"
PHONE = "070-123 45 67"


def now() -> datetime:
    return datetime.now(ZoneInfo("Europe/Stockholm"))


def stored(server: ServerProcess) -> dict[str, str]:
    return dump(server.env["REDIS_URL"], server.env["KEY_PREFIX"])


def counted(server: ServerProcess) -> dict[str, str]:
    """Today's feedback counters in the daily stats hash (field -> count as text)."""
    day = stored(server).get(f"{server.env['KEY_PREFIX']}stats:d:{now():%Y-%m-%d}")
    counts: dict[str, str] = ast.literal_eval(day) if day else {}
    return {field: n for field, n in counts.items() if field.startswith("feedback.")}


def notes(server: ServerProcess) -> list[dict[str, str]]:
    """The kept notes, newest first, as stored."""
    kept = stored(server).get(f"{server.env['KEY_PREFIX']}feedback:notes")
    return [json.loads(note) for note in ast.literal_eval(kept)] if kept else []


def feedback_traces(server: ServerProcess) -> dict[str, str]:
    """Every key the survey could have written: its notes, its rate limit, the day's and hour's counters
    (only their feedback fields)."""
    found = {}
    for key, value in stored(server).items():
        if "feedback" in key or ":rl:fb:" in key or (":stats:" in key and "feedback." in value):
            found[key] = value
    return found


async def send(server: ServerProcess, fields: dict[str, str], address: str = "198.51.100.1",
               origin: str | None = None, content: bytes | None = None) -> httpx.Response:
    """POST the survey as the page does (`address`: pose as that client, through the local proxy)."""
    headers = {"Origin": origin or server.url, "X-Forwarded-For": address}
    async with httpx.AsyncClient(base_url=server.url, cookies={"lang": "en"}) as http:
        if content is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return await http.post("/feedback", content=content, headers=headers)
        return await http.post("/feedback", data=fields, headers=headers)


async def test_the_page_works_without_javascript_and_keeps_the_kind(server):
    async with httpx.AsyncClient(base_url=server.url, cookies={"lang": "en"}) as http:
        after_call = await http.get("/feedback?kind=callback")
        odd = await http.get("/feedback?kind=<b>")
    assert after_call.status_code == 200
    assert re.search(r'<form method="post" action="/feedback"', after_call.text)
    assert '<input type="hidden" name="kind" value="callback">' in after_call.text
    for value in ("yes", "partly", "no", "unsure"):
        assert f'value="{value}"' in after_call.text
    assert 'maxlength="500"' in after_call.text
    assert 'href="tel:112"' in after_call.text and 'id="quick-exit"' in after_call.text
    assert '<input type="hidden" name="kind" value="chat">' in odd.text, "an unknown kind is a chat's"


async def test_a_full_answer_is_counted_and_its_text_scrubbed(server):
    text = f"Svara snabbare,\x07 tack!\r\nMitt nummer är {PHONE} och personnummer {PNR}.\t "
    answer = await send(server, {"kind": "callback", "helped": "yes", "again": "unsure", "better": text})
    assert answer.status_code == 201, answer.text
    assert "Thank you for your answers" in answer.text
    assert 'href="tel:112"' in answer.text and 'href="tel:020505050"' in answer.text, "still there"
    assert counted(server) == {
        "feedback.given": "1", "feedback.given|kind=callback": "1",
        "feedback.helped": "1", "feedback.helped|answer=yes": "1",
        "feedback.again": "1", "feedback.again|answer=unsure": "1",
    }
    assert notes(server) == [{
        "month": f"{now():%Y-%m}", "kind": "callback",
        "text": "Svara snabbare, tack!\nMitt nummer är [telefon] och personnummer [personnummer].",
    }]
    everything = repr(stored(server))
    for trace in (PNR, "19811218", "811218", "9876", PHONE, "0701234567", "123 45 67"):
        assert trace not in everything, trace

    partial = await send(server, {"kind": "chat", "helped": "no"})
    assert partial.status_code == 201
    counts = counted(server)
    assert counts["feedback.helped|answer=no"] == "1" and counts["feedback.given|kind=chat"] == "1"
    assert counts["feedback.given"] == "2" and counts["feedback.again"] == "1"
    assert len(notes(server)) == 1, "no text, no note"

    # The longest text in a four-byte script still fits the size limit.
    assert (await send(server, {"kind": "chat", "better": "🙂" * 500}, "198.51.100.2")).status_code == 201


async def test_nothing_is_stored_on_bad_input(server):
    wrong = await send(server, {"kind": "chat", "helped": "maybe", "again": "yes",
                                "better": "<script>alert(1)</script>"})
    assert wrong.status_code == 400
    assert "Choose one of the answers, or none." in wrong.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in wrong.text, "the text comes back, escaped"
    assert "<script>alert" not in wrong.text
    long = await send(server, {"kind": "chat", "helped": "yes", "better": "a" * 501})
    assert long.status_code == 400 and "Please shorten this to 500 characters." in long.text
    for empty in ({"kind": "chat"}, {"kind": "chat", "helped": "", "again": "", "better": " \r\n\t\x00 "}):
        refused = await send(server, empty)
        assert refused.status_code == 400 and "Answer at least one question" in refused.text
    assert (await send(server, {"kind": "letter", "helped": "yes"})).status_code == 400
    foreign = await send(server, {"kind": "chat", "helped": "yes"}, origin="https://evil.example")
    assert foreign.status_code == 403 and "could not be sent from here" in foreign.text
    huge = await send(server, {}, content=b"kind=chat&helped=yes&better=" + b"a" * 9000)
    assert huge.status_code == 413 and "too long to send" in huge.text
    assert feedback_traces(server) == {}, "nothing counted, kept or even rate-limited"


async def test_one_client_may_send_three_an_hour(server):
    for _ in range(3):
        assert (await send(server, {"kind": "chat", "again": "yes"}, "203.0.113.7")).status_code == 201
    fourth = await send(server, {"kind": "chat", "again": "yes", "better": "en gång till"}, "203.0.113.7")
    assert fourth.status_code == 429
    assert "we have already had several answers from here. Please wait 60 min" in fourth.text
    assert (await send(server, {"kind": "chat", "again": "no"}, "203.0.113.8")).status_code == 201
    counts = counted(server)
    assert counts["feedback.again|answer=yes"] == "3" and counts["feedback.given"] == "4"
    assert notes(server) == [], "the refused one's text is not kept"
    assert not [key for key in stored(server) if "203.0.113" in key], "the limit is named by a keyed hash"


async def test_supervisors_read_the_notes_escaped_newest_first_and_audited(server):
    hostile = '<script>alert("x")</script> & <b>fet</b>'
    assert (await send(server, {"kind": "chat", "better": "Första"}, "192.0.2.1")).status_code == 201
    assert (await send(server, {"kind": "callback", "better": hostile}, "192.0.2.2")).status_code == 201
    async with staff_http(server) as (http, username, _):
        page = await http.get("/staff/feedback")
        menu = (await http.get("/staff")).text
    assert page.status_code == 200
    assert 'href="/staff/feedback"' in menu, "the menu offers the page"
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;fet&lt;/b&gt;" in page.text
    assert "<script>alert" not in page.text and "<b>fet" not in page.text
    assert page.text.index("&lt;script&gt;") < page.text.index("Första"), "newest first"
    assert "Efter ett samtal" in page.text and "Efter en chatt" in page.text
    assert str(now().year) in page.text
    viewed = [e for e in audit_log(server.env["REDIS_URL"], server.env["KEY_PREFIX"])
              if e["action"] == "feedback_view"]
    assert [(e["actor"], e["role"], e["other"]) for e in viewed] == [(username, "supervisor", "2")]

    async with staff_http(server, role="counselor") as (http, counselor, _):
        assert (await http.get("/staff/feedback")).status_code == 403
        assert 'href="/staff/feedback"' not in (await http.get("/staff")).text
    denied = [e for e in audit_log(server.env["REDIS_URL"], server.env["KEY_PREFIX"])
              if e["action"] == "denied" and e["actor"] == counselor]
    assert [e["target"] for e in denied] == ["feedback.read"]


async def test_only_the_newest_notes_are_kept(server):
    for n in range(FEEDBACK_NOTES_KEEP + 2):
        address = f"10.{n // 250}.{n % 250}.1"  # three a client an hour: one client each
        assert (await send(server, {"kind": "chat", "better": f"note {n}"}, address)).status_code == 201
    kept = notes(server)
    assert len(kept) == FEEDBACK_NOTES_KEEP
    assert kept[0]["text"] == f"note {FEEDBACK_NOTES_KEEP + 1}" and kept[-1]["text"] == "note 2"


async def test_nothing_in_the_feedback_names_the_conversation(server):
    visitor, counselor, conv = await taken_chat(server)
    await visitor.send({"type": "end"})
    await counselor.until(is_entry("end"))
    await visitor.close()
    await counselor.close()
    answer = await send(server, {"kind": "chat", "helped": "partly", "again": "yes",
                                 "better": "Bra, men jag fick vänta länge."})
    assert answer.status_code == 201
    traces = feedback_traces(server)
    assert traces, "the feedback was stored"
    assert conv not in repr(traces) and conv[:8] not in repr(traces)
    assert [set(note) for note in notes(server)] == [{"month", "kind", "text"}], "month, kind and text only"
    assert re.fullmatch(r"\d{4}-\d{2}", notes(server)[0]["month"]), "no time finer than the month"


async def test_the_survey_is_offered_after_a_chat_and_on_the_booking_confirmation(server):
    landing = httpx.get(server.url + "/", cookies={"lang": "en"}).text
    offer = re.search(r'<p id="feedback-offer"[^>]*>\s*<a href="([^"]+)" data-replace>([^<]+)</a>', landing)
    assert offer and offer[1] == "/feedback?kind=chat" and offer[2] == "Tell us how it went (anonymous)"
    assert re.search(r'<p id="feedback-offer"[^>]*\bhidden\b', landing), "hidden until the chat ends"

    assert (await open_times(server)).status_code == 303
    async with httpx.AsyncClient(base_url=server.url, cookies={"lang": "en"}) as http:
        slot = free_slots((await http.get("/callback")).text)[0]
    booked = await book(server, booking(slot))
    assert booked.status_code == 201
    assert re.search(r'<a href="/feedback\?kind=callback" data-replace>After the call you can tell us '
                     r"anonymously how it went</a>", booked.text)
