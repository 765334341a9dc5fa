"""Intake records in the durable Redis: the sealed document, its consent record, and the outbox.

An intake exists only with its consent record: `create` refuses to store one without it,
and it is the only way a record comes into being. The document (everything personal:
the visitor's fields, the chosen transcript, the counselor's summary) is sealed with
Fernet under INTAKE_KEYS; the hash beside it holds only ids, times and states. Creating
a record also queues it for delivery, in the same transaction. After delivery and
acknowledgement `purge` removes every trace of it.

Key rotation: see `app/sealing.py`; intakes live only until delivered, so an old key can go soon.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from cryptography.fernet import MultiFernet

from app.keys import Keys
from app.sealing import sealing_keys


@dataclass(frozen=True)
class Consent:
    """What the visitor consented to, as shown to them: when, which text, in which language."""

    at_ms: int
    text_id: str
    text_sha256: str
    lang: str

    def __post_init__(self) -> None:
        if self.at_ms <= 0 or not self.text_id or len(self.text_sha256) != 64 or not self.lang:
            raise ValueError("an intake needs a complete consent record")


def intake_sealing(configured: str, secret_key: str) -> MultiFernet:
    """The keys intakes are sealed with: INTAKE_KEYS, or in development one derived from SECRET_KEY."""
    return sealing_keys(configured, secret_key, "intake records")


class IntakeRecords:
    """Create, read and purge sealed intake records; creating one queues it for delivery."""

    def __init__(self, durable: aioredis.Redis, keys: Keys, sealing: MultiFernet) -> None:
        self.redis = durable
        self.keys = keys
        self._sealing = sealing

    async def create(self, document: dict[str, Any], consent: Consent, *, kind: str, counselor: str,
                     proposal_id: str) -> str:
        """Store a consented intake and queue it for delivery; returns its id."""
        intake_id = secrets.token_urlsafe(16)
        sealed = self._sealing.encrypt(json.dumps(document, ensure_ascii=False).encode()).decode()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.intake(intake_id), mapping={
                "status": "queued", "created_ms": str(int(time.time() * 1000)), "kind": kind,
                "counselor": counselor, "proposal_id": proposal_id, "attempts": "0",
                "consent_ms": str(consent.at_ms), "consent_text_id": consent.text_id,
                "consent_text_sha256": consent.text_sha256, "lang": consent.lang, "document": sealed,
            })
            pipe.rpush(self.keys.intake_outbox, intake_id)
            await pipe.execute()
        await self.redis.publish(self.keys.intake_channel, "queued")
        return intake_id

    async def meta(self, intake_id: str) -> dict[str, str] | None:
        """The record's ids, times and states (never the document)."""
        fields = cast(dict[str, str], await self.redis.hgetall(self.keys.intake(intake_id)))
        fields.pop("document", None)
        return fields or None

    async def document(self, intake_id: str) -> dict[str, Any] | None:
        """The opened document, or None when the record is gone."""
        sealed = cast(str | None, await self.redis.hget(self.keys.intake(intake_id), "document"))
        if sealed is None:
            return None
        return cast(dict[str, Any], json.loads(self._sealing.decrypt(sealed.encode())))

    async def purge(self, intake_id: str) -> None:
        """Remove every trace of an intake: its record and its place in any list."""
        k = self.keys
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(k.intake(intake_id))
            pipe.lrem(k.intake_outbox, 0, intake_id)
            pipe.lrem(k.intake_dead, 0, intake_id)
            pipe.srem(k.intake_inbox, intake_id)
            pipe.zrem(k.intake_processing, intake_id)
            pipe.zrem(k.intake_retry, intake_id)
            await pipe.execute()
