"""The honest wait estimate shown to a visitor in the queue (pure)."""

from __future__ import annotations

import math
from statistics import median

DEFAULT_CHAT_MINUTES = 15.0
"""Assumed length of a chat until the service has measured some."""


def estimate_wait_minutes(
    position: int, counselors_online: int, recent_chat_minutes: list[float]
) -> int | None:
    """Rough minutes until a counselor takes the chat, or None when nobody is on duty.

    Counselors on duty work through the queue in parallel: the people ahead of the
    visitor are served in rounds of `counselors_online`, each round as long as a typical
    recent chat. The first in line with someone on duty waits about a minute.
    """
    if counselors_online <= 0:
        return None
    per_chat = median(recent_chat_minutes) if recent_chat_minutes else DEFAULT_CHAT_MINUTES
    rounds = (max(position, 1) - 1) // counselors_online
    return max(1, math.ceil(rounds * per_chat))
