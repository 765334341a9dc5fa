"""Reading everything a Redis holds, to prove that nothing of a conversation is left."""

from __future__ import annotations

import redis


def dump(url: str, prefix: str = "") -> dict[str, str]:
    """Every key (under `prefix`) with its whole content as text, names included."""
    client = redis.Redis.from_url(url, decode_responses=True)
    contents: dict[str, str] = {}
    try:
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            kind = client.type(key)
            if kind == "string":
                value = client.get(key)
            elif kind == "hash":
                value = client.hgetall(key)
            elif kind == "list":
                value = client.lrange(key, 0, -1)
            elif kind == "set":
                value = client.smembers(key)
            elif kind == "zset":
                value = client.zrange(key, 0, -1, withscores=True)
            elif kind == "stream":
                value = client.xrange(key)
            else:
                value = kind
            contents[key] = repr(value)
    finally:
        client.close()
    return contents


def ttls(url: str, prefix: str) -> dict[str, int]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return {key: client.ttl(key) for key in client.scan_iter(match=f"{prefix}*", count=1000)}
    finally:
        client.close()


def audit_log(url: str, prefix: str) -> list[dict[str, str]]:
    """The audit log's entries, oldest first, each with its `ts` (ms) added."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return [{**fields, "ts": entry_id.split("-")[0]}
                for entry_id, fields in client.xrange(prefix + "audit")]
    finally:
        client.close()
