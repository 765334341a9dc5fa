"""Intake records: sealed at rest, never without their consent record, queued once, purged whole."""

from __future__ import annotations

import hashlib
import secrets
import time

import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet

from app.config import load_settings
from app.intake.records import Consent, IntakeRecords, intake_sealing
from app.keys import Keys
from tests.redis_scan import dump

pytestmark = pytest.mark.anyio

DOCUMENT = {"person": {"address_as": "Sara", "personnummer": "19811218-9876"},
            "transcript": [{"from": "visitor", "text": "Han slår mig när han dricker."}]}


def consent() -> Consent:
    return Consent(int(time.time() * 1000), "consent-v1", hashlib.sha256(b"shown text").hexdigest(), "sv")


@pytest.fixture
async def records(redis_url):
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    prefix = f"in{secrets.token_hex(4)}:"
    keys = Keys.from_settings(load_settings({"KEY_PREFIX": prefix}))
    yield IntakeRecords(client, keys, intake_sealing(Fernet.generate_key().decode(), "s" * 40))
    await client.aclose()


async def test_a_record_is_sealed_queued_and_purged_whole(records, redis_url):
    intake_id = await records.create(DOCUMENT, consent(), kind="assessment", counselor="anna",
                                     proposal_id="p1")
    assert await records.document(intake_id) == DOCUMENT
    meta = await records.meta(intake_id)
    assert meta is not None and meta["consent_text_id"] == "consent-v1" and meta["status"] == "queued"
    assert "document" not in meta
    stored = repr(dump(redis_url, records.keys.prefix))
    assert "Sara" not in stored and "19811218" not in stored and "slår" not in stored, "sealed at rest"
    assert await records.redis.lrange(records.keys.intake_outbox, 0, -1) == [intake_id]
    await records.purge(intake_id)
    assert dump(redis_url, records.keys.prefix) == {}, "nothing of it is left"


async def test_no_record_without_a_complete_consent():
    with pytest.raises(ValueError, match="consent"):
        Consent(int(time.time() * 1000), "consent-v1", "not a hash", "sv")
    with pytest.raises(ValueError, match="consent"):
        Consent(0, "consent-v1", hashlib.sha256(b"x").hexdigest(), "sv")


async def test_keys_rotate_new_first_old_still_opens(redis_url):
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    keys = Keys.from_settings(load_settings({"KEY_PREFIX": f"in{secrets.token_hex(4)}:"}))
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = IntakeRecords(client, keys, intake_sealing(old, "s" * 40))
    intake_id = await before.create(DOCUMENT, consent(), kind="assessment", counselor="anna", proposal_id="p")
    after = IntakeRecords(client, keys, intake_sealing(f"{new},{old}", "s" * 40))
    assert await after.document(intake_id) == DOCUMENT
    await after.purge(intake_id)
    await client.aclose()
