"""The server side of the quick exit: the beacon ends the chat as "left", /exit clears all."""

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.clients import is_entry, start_chat, taken_chat, visitor_socket

pytestmark = pytest.mark.anyio


async def test_the_beacon_ends_the_chat_and_the_counselor_sees_the_visitor_left(server):
    token = await start_chat(server)
    visitor, counselor, conv = await taken_chat(server, token=token)
    response = httpx.post(server.url + "/api/leave", content=token,
                          headers={"Origin": server.url, "Content-Type": "text/plain"})
    assert response.status_code == 204
    assert response.headers["clear-site-data"] == '"cache", "cookies", "storage"'
    end = await counselor.until(is_entry("end"))
    assert (end["from"], end["reason"]) == ("visitor", "left")
    # The session is invalidated at once: the token opens nothing any more.
    again = await visitor_socket(server, token)
    with pytest.raises(ConnectionClosed):
        for _ in range(10):
            await again.receive()
    assert again.connection.close_code == 4401
    await visitor.close()
    await counselor.close()


async def test_the_beacon_answers_the_same_for_unknown_tokens_and_refuses_other_sites(server):
    unknown = httpx.post(server.url + "/api/leave", content="nonsense",
                         headers={"Origin": server.url})
    assert unknown.status_code == 204
    foreign = httpx.post(server.url + "/api/leave", content="x",
                         headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    huge = httpx.post(server.url + "/api/leave", content="x" * 1000,
                      headers={"Origin": server.url})
    assert huge.status_code == 413


def test_exit_without_javascript_clears_site_data_and_goes_somewhere_harmless(start_server):
    server = start_server(NEUTRAL_SITE_URL="https://example.org/weather")
    response = httpx.get(server.url + "/exit")
    assert response.status_code == 303
    assert response.headers["location"] == "https://example.org/weather"
    assert response.headers["clear-site-data"] == '"cache", "cookies", "storage"'
    assert response.headers["referrer-policy"] == "no-referrer"
