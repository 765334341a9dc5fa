import asyncio
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from redis import Redis

from app.redis import redis_server_binary
from tests.clients import is_entry, taken_chat


def test_healthz_says_the_process_is_alive(server):
    response = httpx.get(server.url + "/healthz")
    assert response.status_code == 200 and response.json() == {"alive": True}


def test_readyz_says_redis_answers(server):
    response = httpx.get(server.url + "/readyz")
    assert response.status_code == 200 and response.json() == {"ready": True}


def start_redis(directory: Path) -> subprocess.Popen[bytes]:
    socket_path = directory / "r.sock"
    socket_path.unlink(missing_ok=True)
    process = subprocess.Popen(
        [redis_server_binary(), "--port", "0", "--unixsocket", str(socket_path),
         "--save", "", "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.02)
    return process


def ready(url: str) -> httpx.Response:
    return httpx.get(url + "/readyz", timeout=10)


@pytest.mark.anyio
async def test_redis_going_away_and_coming_back(start_server, tmp_path):
    redis = start_redis(tmp_path)
    try:
        server = start_server(REDIS_URL=f"unix://{tmp_path / 'r.sock'}")
        redis.terminate()
        redis.wait(timeout=10)
        response = ready(server.url)
        assert response.status_code == 503
        assert response.json() == {"ready": False, "reason": "redis is not answering"}
        assert httpx.get(server.url + "/healthz").status_code == 200

        redis = start_redis(tmp_path)  # an empty Redis again, as after a failover
        deadline = time.monotonic() + 20
        while ready(server.url).status_code != 200:
            assert time.monotonic() < deadline, "never ready again"
            await asyncio.sleep(0.2)
        # The process's pub/sub listener has reconnected: chats work end to end again.
        visitor, counselor, conv = await taken_chat(server)
        await visitor.send({"type": "msg", "text": "tillbaka", "client_id": "a"})
        assert (await counselor.until(is_entry("msg", "visitor")))["text"] == "tillbaka"
        await visitor.close()
        await counselor.close()
    finally:
        redis.kill()
        redis.wait()


@pytest.mark.anyio
async def test_readyz_waits_for_the_relay_to_listen_again(start_server, tmp_path):
    """Redis answers pings but refuses SUBSCRIBE: the process would not hear the other processes,
    so it is not ready until its listener is back."""
    redis = start_redis(tmp_path)
    try:
        server = start_server(REDIS_URL=f"unix://{tmp_path / 'r.sock'}")
        with Redis(unix_socket_path=str(tmp_path / "r.sock")) as admin:
            admin.acl_setuser("default", enabled=True, commands=["-subscribe"], reset_channels=False)
            admin.client_kill_filter(_type="pubsub")
            deadline = time.monotonic() + 10
            while (response := ready(server.url)).status_code != 503:
                assert time.monotonic() < deadline, "still ready without a listener"
                await asyncio.sleep(0.05)
            assert response.json() == {"ready": False, "reason": "relay is not listening"}

            admin.acl_setuser("default", enabled=True, commands=["+subscribe"], reset_channels=False)
            deadline = time.monotonic() + 10
            while ready(server.url).status_code != 200:
                assert time.monotonic() < deadline, "never ready again"
                await asyncio.sleep(0.05)
        assert '"relay.reconnected"' in server.log_text()
    finally:
        redis.kill()
        redis.wait()
