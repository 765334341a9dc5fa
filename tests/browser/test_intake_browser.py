"""The intake offer in headless Chromium, from the visitor's side: the counselor proposes in the
console, the visitor reads the card and consents with some messages, or says no thanks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from playwright.sync_api import Page, expect

from app.config import load_settings
from app.intake.records import IntakeRecords, intake_sealing
from app.keys import Keys
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    counselor_takes_first,
    log_in_over_http,
    open_visitor_chat,
    screenshot,
    visitor_writes,
)
from tests.clients import add_staff
from tests.intake_receiver import WAIT_SECONDS, Receiver, intake_settings
from tests.servers import ServerProcess

pytestmark = pytest.mark.browser

SUMMARY = "Fysiskt våld från partner sedan två år."
RISK = "Hot med kniv förra veckan; två barn hemma."


def intake_documents(server: ServerProcess, redis_url: str) -> list[dict[str, Any]]:
    """Every intake the server holds, opened as the service opens them (IntakeRecords over its Redis)."""
    settings = load_settings(server.env)
    keys = Keys.from_settings(settings)
    scan = redis.Redis.from_url(redis_url, decode_responses=True)
    names = [key.removeprefix(keys.intake("")) for key in scan.scan_iter(keys.intake("*"), _type="hash")]
    scan.close()

    async def opened() -> list[dict[str, Any]]:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        records = IntakeRecords(client, keys, intake_sealing(settings.intake_keys, settings.secret_key))
        try:
            found = [await records.document(name) for name in names]
        finally:
            await client.aclose()
        return [document for document in found if document is not None]

    # Playwright's sync API keeps an event loop in this thread: the async client runs in another.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, opened()).result()


def chat_with_a_proposal(server: ServerProcess, new_context: Any) -> tuple[Page, Page, Any]:
    """A visitor (phone) and a counselor (console) in a chat of three messages; the counselor proposes."""
    username, password = add_staff(server.env, name="Anna")
    console_context = new_context(**DESKTOP)
    log_in_over_http(console_context, server, username, password)
    console = console_context.new_page()
    console.goto(server.url + "/staff")
    visitor = new_context(**PHONE).new_page()
    open_visitor_chat(visitor, server.url)
    visitor_writes(visitor, "Han slår mig när han dricker.")
    pane = counselor_takes_first(console)
    visitor_writes(visitor, "Jag bor på Storgatan 5.")
    expect(pane.locator("ol.log li.entry-theirs .text")).to_have_count(2)
    pane.locator("form.composer textarea").fill("Tack för att du berättar.")
    pane.locator("form.composer button[type=submit]").click()
    expect(visitor.locator("#log li.entry-theirs .text")).to_have_text(["Tack för att du berättar."])

    intake = pane.locator("form.intake-form")
    intake.locator("select.intake-kind").select_option("assessment")
    intake.locator("textarea.intake-note").fill("Jag tror att en socialsekreterare kan hjälpa dig.")
    intake.locator("textarea.intake-summary").fill(SUMMARY)
    intake.locator("textarea.intake-risk").fill(RISK)
    intake.locator("button[type=submit]").click()
    expect(pane.locator(".intake-status")).to_have_text("Ansökan erbjuden. Väntar på besökarens svar.")
    expect(visitor.locator("#consent-card")).to_be_visible()
    return visitor, console, pane


def test_the_visitor_consents_with_the_messages_they_chose(start_server, redis_url, new_context):
    server = start_server()
    visitor, console, pane = chat_with_a_proposal(server, new_context)
    errors: list[str] = []
    visitor.on("pageerror", lambda error: errors.append(str(error)))
    card = visitor.locator("#consent-card")
    expect(card.locator("#consent-kind")).to_contain_text("Kontakt med en socialsekreterare för en utredning")
    expect(card.locator("#consent-text")).to_contain_text("inte längre är anonym")
    expect(card.locator("#consent-text")).to_contain_text("socialtjänsten om ett barn")
    expect(card.locator("#consent-confirm")).not_to_be_checked()
    expect(card.locator("#consent-decline")).to_be_visible()
    page = visitor.content()
    assert SUMMARY not in page and RISK not in page, "the counselor's notes never reach the visitor"

    card.locator("#consent-name").fill("Sara")
    card.locator("#consent-pnr").fill("811218-9876")
    card.locator("#consent-phone").fill("070-123 45 67")
    card.locator("#consent-times").fill("vardagar 10-12")
    card.locator("#consent-share-chosen").check()
    choices = card.locator(".consent-message input")
    expect(choices).to_have_count(3)
    choices.nth(0).check()  # "Han slår mig …"
    choices.nth(2).check()  # the counselor's answer; not the address
    screenshot(visitor, "intake-consent-card.png")

    card.locator("#consent-send").tap()  # not yet confirmed: nothing is sent
    expect(card.locator("#consent-error")).to_contain_text("Kryssa i rutan")
    assert intake_documents(server, redis_url) == []
    card.locator("#consent-confirm").check()
    card.locator("#consent-send").tap()
    expect(card.locator("#consent-outcome")).to_contain_text("Din ansökan skickas till Nexus")
    expect(card.locator("#consent-withdraw")).to_be_visible()
    expect(pane.locator(".intake-status")).to_have_text(
        "Besökaren sa ja. Ansökan är på väg till handläggningen.")

    [document] = intake_documents(server, redis_url)
    assert [m["text"] for m in document["transcript"]] == ["Han slår mig när han dricker.",
                                                           "Tack för att du berättar."]
    assert document["person"] == {"address_as": "Sara", "personnummer": "198112189876"}
    assert document["contact"] == {"method": "phone", "phone": "+46701234567", "safe_times": "vardagar 10-12"}
    assert document["counselor"]["summary"] == SUMMARY and document["counselor"]["risk_notes"] == RISK
    assert document["consent"]["text_id"] == "consent-2026-12-v1"
    assert re.fullmatch(r"[0-9a-f]{64}", document["consent"]["text_sha256"])
    assert errors == []


def test_no_thanks_keeps_the_chat_anonymous_and_help_is_one_tap(start_server, redis_url, new_context):
    server = start_server()
    visitor, console, pane = chat_with_a_proposal(server, new_context)
    visitor.locator("#consent-decline").tap()
    expect(visitor.locator("#consent-card")).to_be_hidden()
    expect(visitor.locator("#log li.entry-event").last).to_have_text(
        "Du sa nej tack. Det går bra: chatten fortsätter, och du är fortfarande anonym.")
    expect(pane.locator(".intake-status")).to_have_text("Besökaren sa nej tack. Chatten fortsätter anonymt.")
    pane.locator("button.share-resources").click()
    expect(visitor.locator("#log li.entry-theirs .text").last).to_contain_text("020-50 50 50")
    expect(pane.locator("button.share-resources")).to_be_hidden()
    visitor_writes(visitor, "Tack.")
    expect(pane.locator("ol.log li.entry-theirs .text").last).to_have_text("Tack.")
    assert intake_documents(server, redis_url) == []
    screenshot(console, "intake-declined-console.png")


def test_the_whole_flow_reaches_the_case_system_once_signed_with_the_chosen_ones(start_server, new_context):
    """Counselor proposes, visitor consents with two of three messages, and a real HTTP receiver
    standing in for the case system gets exactly one correctly signed POST holding exactly those."""
    signing_key = secrets.token_urlsafe(32)
    receiver = Receiver().start()
    try:
        server = start_server(**intake_settings(INTAKE_DELIVERY="http", INTAKE_ENDPOINT=receiver.url,
                                                INTAKE_SIGNING_KEY=signing_key))
        visitor, _, pane = chat_with_a_proposal(server, new_context)
        card = visitor.locator("#consent-card")
        card.locator("#consent-name").fill("Sara")
        card.locator("#consent-contact-office").check()
        card.locator("#consent-share-chosen").check()
        card.locator(".consent-message input").nth(0).check()
        card.locator(".consent-message input").nth(2).check()
        card.locator("#consent-confirm").check()
        card.locator("#consent-send").tap()
        expect(card.locator("#consent-outcome")).to_contain_text("Din ansökan skickas till Nexus")
        deadline = time.monotonic() + WAIT_SECONDS
        while not receiver.accepted:
            assert time.monotonic() < deadline, "the receiver got nothing"
            time.sleep(0.1)
        time.sleep(1)  # long enough for a second, wrong POST to show up
        [sent] = receiver.requests
        signed = sent.headers["x-nexus-timestamp"].encode() + b"." + sent.body
        expected = hmac.new(signing_key.encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(sent.headers["x-nexus-signature"], f"sha256={expected}")
        body = json.loads(sent.body)
        assert sent.headers["idempotency-key"] == body["intake_id"]
        assert [m["text"] for m in body["transcript"]] == ["Han slår mig när han dricker.",
                                                           "Tack för att du berättar."]
        assert body["person"]["address_as"] == "Sara" and body["contact"]["method"] == "office"
    finally:
        receiver.stop()
