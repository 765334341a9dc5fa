"""The queue watcher wakes consoles and waiting visitors only when what they show can have changed;
the presence it reads."""

from __future__ import annotations

import pytest

from app.chat.queue_watch import QueueWatch
from app.chat.relay import Relay, Subscription
from app.staff.presence import Presence

pytestmark = pytest.mark.anyio


@pytest.fixture
def watch(store):
    return QueueWatch(store, Presence(store.redis, store.keys), Relay(store.redis, store.keys.queue_channel))


def woken(subscription: Subscription) -> int:
    """How many wake-ups the subscription got since last asked."""
    count = subscription.events.qsize()
    while not subscription.events.empty():
        subscription.events.get_nowait()
    return count


async def test_a_refresh_wakes_the_sockets_only_when_what_they_show_can_have_changed(watch: QueueWatch):
    console = Subscription(watch.relay)
    watch.watch(console)

    await watch.refresh()
    assert woken(console) == 0  # nobody waits, nobody on duty: as before

    await watch.presence.heartbeat("anna", "available")
    await watch.refresh()
    assert woken(console) == 1  # a counselor came on duty: visitors' "available" changes
    await watch.refresh()
    assert woken(console) == 0  # the periodic refresh, nothing changed: every console left alone

    _, cid = await watch.store.create("sv", queue_max=10)
    await watch.refresh()
    assert woken(console) == 1 and watch.snapshot.positions == {cid: 1}
    await watch.refresh()
    assert woken(console) == 1  # someone waits: the waiting time shown grows with every refresh

    assert await watch.store.take(cid, "anna", "Anna")
    await watch.refresh()
    assert woken(console) == 1 and watch.snapshot.items == ()
    await watch.refresh()
    assert woken(console) == 0


async def test_a_heartbeat_keeps_the_status_last_chosen(watch: QueueWatch):
    presence = watch.presence
    assert await presence.heartbeat("anna") == "available"  # nothing chosen yet
    assert await presence.heartbeat("anna", "busy") == "busy"
    assert await presence.heartbeat("anna") == "busy"  # a later beat, or a console opened again
    assert "anna" in await presence.online() and "anna" not in await presence.available()
    assert await presence.heartbeat("anna", "away") == "away"
    assert "anna" not in await presence.online()
    assert await presence.heartbeat("anna", "available") == "available"
    assert "anna" in await presence.available()
