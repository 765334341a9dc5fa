"""The visitor's page behind a load balancer, when the server process it is on is killed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.balancer import Balancer
from tests.browser.conftest import PHONE, anna_takes_the_chat, open_visitor_chat, visitor_writes

pytestmark = pytest.mark.browser


@pytest.fixture
def two_servers(start_server):
    first = start_server()
    return first, start_server(env=first.env)


@pytest.fixture
def balancer(two_servers) -> Iterator[Balancer]:
    front = Balancer([server.port for server in two_servers]).start()
    try:
        yield front
    finally:
        front.close()


def test_page_goes_on_on_the_other_process_when_its_own_is_killed(two_servers, balancer, new_context):
    visitor = new_context(**PHONE).new_page()
    open_visitor_chat(visitor, balancer.url)
    doomed = two_servers[balancer.backend_of("GET /ws/chat")]
    survivor = two_servers[1 - two_servers.index(doomed)]

    _, pane = anna_takes_the_chat(new_context, survivor, visitor)
    theirs = pane.locator("ol.log li.entry-theirs .text")
    visitor_writes(visitor, "Före")
    expect(theirs).to_have_text(["Före"])

    connection = visitor.locator("#connection")
    expect(connection).to_be_hidden()
    balancer.hold()  # for a moment nothing answers: the balancer has not yet given up on the process
    doomed.process.kill()
    doomed.process.wait(timeout=10)
    expect(connection).to_have_text("Anslutningen bröts. Ansluter igen…")
    visitor_writes(visitor, "Medan servern var borta")
    expect(visitor.locator("#log li.entry-mine .tick").last).to_have_text("Skickar…")
    balancer.release()
    expect(connection).to_be_hidden(timeout=20_000)
    assert two_servers[balancer.backend_of("GET /ws/chat")] is survivor

    expect(theirs).to_have_text(["Före", "Medan servern var borta"])
    expect(visitor.locator("#log li.entry-mine .tick")).to_have_text(["Levererat"] * 2)
    # A later round trip: anything sent twice would have arrived before this answer.
    pane.locator("form.composer textarea").fill("Jag är kvar.")
    pane.locator("form.composer button[type=submit]").click()
    expect(visitor.locator("#log li.entry-theirs .text")).to_have_text(["Jag är kvar."])
    expect(theirs).to_have_count(2)
    expect(visitor.locator("#log li.entry-mine")).to_have_count(2)
