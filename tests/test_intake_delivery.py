"""Delivery over http: signed, exactly once through failures and restarts, no redirects, dead letters."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet

from app.config import ConfigError, load_settings
from app.intake.records import IntakeRecords, intake_sealing
from app.keys import Keys
from tests.clients import staff_http
from tests.intake_receiver import DOCUMENT, HANG, Receiver, intake_settings, queue_intake, records_of, until
from tests.redis_scan import audit_log, dump

pytestmark = pytest.mark.anyio

SIGNING_KEY = secrets.token_urlsafe(32)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield redis
    await redis.aclose()


def http_settings(receiver: Receiver, **more: str) -> dict[str, str]:
    return intake_settings(INTAKE_DELIVERY="http", INTAKE_ENDPOINT=receiver.url,
                           INTAKE_SIGNING_KEY=SIGNING_KEY, **more)


def intake_left(redis_url: str, prefix: str, intake_id: str) -> list[str]:
    """Keys or values under the prefix that still mention the intake or its content (the audit
    log names the id on purpose, and nothing else)."""
    return [key for key, value in dump(redis_url, prefix).items()
            if key != prefix + "audit" and (intake_id in key + value or "intake:" in key
                                            or "Sara" in value)]


def actions(redis_url: str, prefix: str, intake_id: str) -> list[tuple[str, str]]:
    return [(e["action"], e.get("other", "")) for e in audit_log(redis_url, prefix)
            if e.get("target") == intake_id]


async def test_one_signed_post_with_the_documented_json(start_server, receiver, client, redis_url):
    server = start_server(**http_settings(receiver))
    records = records_of(server, client)
    intake_id = await queue_intake(records)

    async def gone() -> bool:
        return await records.meta(intake_id) is None

    await until(gone, "the intake is delivered and purged")
    assert len(receiver.requests) == 1
    sent = receiver.requests[0]
    assert sent.path == "/intakes" and sent.headers["idempotency-key"] == intake_id
    assert sent.headers["content-type"].startswith("application/json")
    timestamp = sent.headers["x-nexus-timestamp"]
    signed = timestamp.encode() + b"." + sent.body
    expected = hmac.new(SIGNING_KEY.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(sent.headers["x-nexus-signature"], f"sha256={expected}")
    body = json.loads(sent.body)
    sent_at = datetime.strptime(body.pop("sent_at"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(sent_at.timestamp() - int(timestamp)) < 5
    assert body == {**DOCUMENT, "intake_id": intake_id}
    prefix = server.env["KEY_PREFIX"]
    assert intake_left(redis_url, prefix, intake_id) == [], "nothing of a delivered intake remains"
    assert actions(redis_url, prefix, intake_id) == [("intake_delivered", "")]


async def test_exactly_once_through_failures_an_outage_and_a_restart(start_server, receiver, client,
                                                                   redis_url):
    receiver.stop()
    receiver.start(500, 500)
    server = start_server(**http_settings(receiver))
    records = records_of(server, client)
    intake_id = await queue_intake(records)

    def attempts(n: int):
        async def reached() -> bool:
            meta = await records.meta(intake_id)
            return meta is not None and meta["attempts"] == str(n) and meta["status"] == "retrying"
        return reached

    await until(attempts(2), "two answers of 500")
    receiver.stop()
    await until(attempts(3), "a refused connection")
    server.stop()
    receiver.start()
    restarted = start_server(env=server.env)

    async def gone() -> bool:
        return await records.meta(intake_id) is None

    await until(gone, "delivered by the restarted process")
    assert [r.status for r in receiver.requests] == [500, 500, 200]
    assert list(receiver.accepted) == [intake_id], "accepted exactly once"
    assert json.loads(receiver.accepted[intake_id])["intake_id"] == intake_id
    prefix = restarted.env["KEY_PREFIX"]
    assert intake_left(redis_url, prefix, intake_id) == []
    assert actions(redis_url, prefix, intake_id) == [
        ("intake_failed", "http_500"), ("intake_failed", "http_500"), ("intake_failed", "ConnectError"),
        ("intake_delivered", "")]


async def test_a_process_dying_mid_send_leaves_it_to_another_after_the_lease(start_server, receiver, client):
    receiver.stop()
    receiver.start(HANG)
    first = start_server(**http_settings(receiver))
    records = records_of(first, client)
    intake_id = await queue_intake(records)

    async def arrived() -> bool:
        return len(receiver.requests) == 1

    await until(arrived, "the first process sends")
    assert first.process is not None
    first.process.kill()  # no shutdown: its lease stays until it runs out
    first.process.wait()
    receiver.release()
    start_server(env=first.env)

    async def gone() -> bool:
        return await records.meta(intake_id) is None

    await until(gone, "the second process takes it up once the lease has run out")
    assert [r.headers["idempotency-key"] for r in receiver.requests] == [intake_id, intake_id]
    assert list(receiver.accepted) == [intake_id], "the receiver keeps one, by the idempotency key"


async def test_two_processes_send_each_intake_once(start_server, receiver, client):
    first = start_server(**http_settings(receiver))
    start_server(env=first.env)
    records = records_of(first, client)
    ids = [await queue_intake(records) for _ in range(12)]

    async def all_gone() -> bool:
        return all([await records.meta(i) is None for i in ids])

    await until(all_gone, "every intake delivered")
    assert sorted(r.headers["idempotency-key"] for r in receiver.requests) == sorted(ids), \
        "each sent once, by one of the two processes"


async def test_a_redirect_is_a_failure_then_a_dead_letter_retried_from_the_page(
        start_server, receiver, client, redis_url):
    receiver.stop()
    receiver.start(302, 302)
    server = start_server(**http_settings(receiver, INTAKE_MAX_ATTEMPTS="2"))
    records = records_of(server, client)
    intake_id = await queue_intake(records)
    prefix = server.env["KEY_PREFIX"]

    async def dead() -> bool:
        return await client.lrange(prefix + "intake:dead", 0, -1) == [intake_id]

    await until(dead, "a dead letter after two attempts")
    assert [r.path for r in receiver.requests] == ["/intakes", "/intakes"], "the redirect is not followed"
    meta = await records.meta(intake_id)
    assert meta is not None and meta["status"] == "dead" and meta["last_error"] == "http_302"
    assert actions(redis_url, prefix, intake_id) == [("intake_failed", "http_302"),
                                                     ("intake_dead", "http_302")]

    async with staff_http(server, "supervisor") as (http, username, csrf):
        page = await http.get("/staff/intakes/dead")
        assert page.status_code == 200 and intake_id in page.text and "http_302" in page.text
        assert "Sara" not in page.text and "19811218" not in page.text, "never the document"
        answer = await http.post(f"/staff/intakes/{intake_id}/retry", data={"csrf": csrf})
        assert answer.status_code == 303

    async def gone() -> bool:
        return await records.meta(intake_id) is None

    await until(gone, "delivered after the retry")
    assert list(receiver.accepted) == [intake_id]
    assert intake_left(redis_url, prefix, intake_id) == []
    retried = [e for e in audit_log(redis_url, prefix) if e["action"] == "intake_retried"]
    assert [(e["actor"], e["target"]) for e in retried] == [(username, intake_id)]


def test_the_endpoint_must_be_https_and_signed():
    base = {"INTAKE_DELIVERY": "http", "INTAKE_SIGNING_KEY": "k" * 32}
    https = load_settings({**base, "INTAKE_ENDPOINT": "https://case.example/intakes"})
    assert https.intake_delivery == "http"
    assert load_settings({**base, "INTAKE_ENDPOINT": "http://127.0.0.1:9/x"})
    for endpoint in ("http://case.example/intakes", "ftp://case.example/", ""):
        with pytest.raises(ConfigError, match="INTAKE_ENDPOINT"):
            load_settings({**base, "INTAKE_ENDPOINT": endpoint})
    with pytest.raises(ConfigError, match="INTAKE_SIGNING_KEY"):
        load_settings({"INTAKE_DELIVERY": "http", "INTAKE_ENDPOINT": "https://case.example/"})
    with pytest.raises(ConfigError, match="INTAKE_DELIVERY"):
        load_settings({"INTAKE_DELIVERY": "email"})


async def test_a_record_sealed_with_a_retired_key_ends_among_the_dead_letters(start_server, receiver, client):
    server = start_server(**http_settings(receiver, INTAKE_MAX_ATTEMPTS="2"))
    prefix = server.env["KEY_PREFIX"]
    retired = IntakeRecords(client, Keys.from_settings(load_settings({"KEY_PREFIX": prefix})),
                            intake_sealing(Fernet.generate_key().decode(), "s" * 40))
    intake_id = await queue_intake(retired)

    async def dead() -> bool:
        return await client.lrange(prefix + "intake:dead", 0, -1) == [intake_id]

    await until(dead, "an unreadable record given up after its attempts, not retried forever")
    assert receiver.requests == [], "nothing was sent"
    assert (await client.hget(prefix + f"intake:{intake_id}", "last_error")) == "unreadable"
