"""The store itself lets a counselor write in or end a conversation only while holding it."""

from __future__ import annotations

import pytest

from app.errors import NotAllowed

pytestmark = pytest.mark.anyio


async def test_a_chat_handed_on_is_closed_to_the_counselor_who_had_it(store):
    _, cid = await store.create("sv", queue_max=10)
    with pytest.raises(NotAllowed):  # waiting: nobody holds it yet
        await store.append(cid, "counselor", "hej", "c0", staff_id="anna")
    assert await store.take(cid, "anna", "Anna")
    with pytest.raises(NotAllowed):
        await store.append(cid, "counselor", "hej", "c1", staff_id="bo")
    assert (await store.append(cid, "counselor", "hej", "c2", staff_id="anna")).new
    assert (await store.append(cid, "visitor", "hej hej", "v1")).new

    await store.redis.zadd(store.keys.staff_online, {"bo": 2**40})  # bo is on duty
    assert await store.transfer(cid, "anna", "Anna", "bo", "Bo", "") == "ok"
    with pytest.raises(NotAllowed):
        await store.append(cid, "counselor", "är du kvar?", "c3", staff_id="anna")
    assert not await store.end(cid, "counselor", staff_id="anna")
    assert (await store.get(cid)).state == "active"
    assert await store.end(cid, "counselor", staff_id="bo")


async def test_a_letter_is_answered_only_by_the_counselor_who_has_it_open(store):
    _, _ = await store.create_letter("sv", "Jag behöver hjälp.", letters_max=10)
    [cid] = await store.redis.zrange(store.keys.letters, 0, -1)
    assert (await store.open_letter(cid, "anna", "Anna"))[0] == "ok"
    with pytest.raises(NotAllowed):
        await store.append(cid, "counselor", "svar", "c1", staff_id="bo")
    assert (await store.append(cid, "counselor", "svar", "c2", staff_id="anna")).new
