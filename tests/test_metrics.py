"""GET /metrics: only with the token or from an allowed address, and counts without content."""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.config import ConfigError, load_settings
from tests.clients import is_entry, start_chat, taken_chat, visitor_socket

pytestmark = pytest.mark.anyio

TOKEN = "m" * 40
METRIC_NAMES = {
    "nexus_queue_length", "nexus_counselors_on_duty", "nexus_sockets_connected",
    "nexus_message_delivery_seconds", "nexus_errors", "nexus_intake_outbox_backlog", "nexus_letters_waiting",
}


async def scrape(server, token: str | None = TOKEN, address: str | None = None) -> httpx.Response:
    """GET /metrics; `address` poses as another client (the test server trusts X-Forwarded-For
    from 127.0.0.1, as it would from a local reverse proxy)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if address:
        headers["X-Forwarded-For"] = address
    async with httpx.AsyncClient(base_url=server.url) as http:
        return await http.get("/metrics", headers=headers)


async def samples(server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the scrape: (name, sorted labels) -> value."""
    response = await scrape(server)
    assert response.status_code == 200
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


async def test_without_a_token_or_an_allowed_address_the_endpoint_does_not_exist(server):
    assert (await scrape(server, token=None)).status_code == 404
    response = await scrape(server)
    assert response.status_code == 404
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert response.text == (await http.get("/no-such-page")).text  # the same as any unknown path


async def test_a_missing_or_wrong_token_is_refused_without_detail(start_server):
    server = start_server(METRICS_TOKEN=TOKEN)
    for token in (None, "n" * 40, TOKEN[:-1]):
        response = await scrape(server, token=token)
        assert response.status_code == 401 and response.content == b""
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert response.status_code == 401


async def test_the_token_reads_the_metrics_in_the_text_format(start_server):
    server = start_server(METRICS_TOKEN=TOKEN)
    response = await scrape(server)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert names >= METRIC_NAMES


async def test_an_allowed_address_needs_no_token(start_server):
    server = start_server(METRICS_ALLOW="127.0.0.1, 10.0.0.0/8")
    assert (await scrape(server, token=None)).status_code == 200
    assert (await scrape(server, token=None, address="10.1.2.3")).status_code == 200
    assert (await scrape(server, token=None, address="203.0.113.9")).status_code == 401
    assert (await scrape(server, token=TOKEN, address="203.0.113.9")).status_code == 401  # no token set


async def test_the_queue_and_open_sockets_are_counted(start_server):
    server = start_server(METRICS_TOKEN=TOKEN)
    tokens = [await start_chat(server), await start_chat(server)]
    assert (await samples(server))[("nexus_queue_length", ())] == 2
    visitor = await visitor_socket(server, tokens[0])
    await visitor.until(lambda f: f["type"] == "state")
    found = await samples(server)
    assert found[("nexus_sockets_connected", (("side", "visitor"),))] == 1
    assert found[("nexus_sockets_connected", (("side", "staff"),))] == 0
    assert found[("nexus_errors_total", (("kind", "socket"),))] == 0
    output = (await scrape(server)).text
    for secret in tokens:
        assert secret not in output
    await visitor.close()


async def test_a_delivery_is_timed_without_any_content(start_server):
    server = start_server(METRICS_TOKEN=TOKEN)
    token = await start_chat(server)
    visitor, counselor, conv = await taken_chat(server, token=token)
    text = "Det här får aldrig synas i mätvärdena"
    await visitor.send({"type": "msg", "text": text, "client_id": "m1"})
    await counselor.until(is_entry("msg", "visitor"))
    found = await samples(server)
    assert found[("nexus_message_delivery_seconds_count", ())] == 1
    assert found[("nexus_counselors_on_duty", ())] == 1
    assert found[("nexus_sockets_connected", (("side", "staff"),))] == 1
    assert found[("nexus_queue_length", ())] == 0
    output = (await scrape(server)).text
    for secret in (conv, token, text, "aldrig"):
        assert secret not in output
    await visitor.close()
    await counselor.close()


def test_a_short_token_or_a_malformed_address_is_refused_at_start():
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        load_settings({"METRICS_TOKEN": "x" * 31})
    with pytest.raises(ConfigError, match="METRICS_ALLOW"):
        load_settings({"METRICS_ALLOW": "10.0.0.0/8, intranet"})
    assert load_settings({"METRICS_TOKEN": "x" * 32, "METRICS_ALLOW": "::1, 10.0.0.0/8"}).metrics_allow \
        == ("::1", "10.0.0.0/8")
