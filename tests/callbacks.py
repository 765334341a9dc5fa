"""Helpers for the callback tests: opening call times as a supervisor, booking as a visitor."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import redis.asyncio as aioredis

from app.callback.bookings import CallbackBook
from app.config import load_settings
from app.keys import Keys
from app.sealing import sealing_keys
from tests.clients import staff_http
from tests.servers import ServerProcess

ZONE = ZoneInfo("Europe/Stockholm")


def tomorrow() -> datetime:
    return datetime.now(ZONE) + timedelta(days=1)


async def open_times(
    server: ServerProcess, first: str = "10:00", last: str = "11:30", minutes: int = 30, places: int = 3
) -> httpx.Response:
    """A supervisor opens call times tomorrow, as on /staff/callbacks/slots."""
    day = tomorrow()
    async with staff_http(server, role="supervisor") as (http, _, csrf):
        return await http.post(
            "/staff/callbacks/slots",
            data={
                "csrf": csrf,
                "first": day.date().isoformat(),
                "last": day.date().isoformat(),
                "weekday": str(day.weekday()),
                "from": first,
                "to": last,
                "minutes": str(minutes),
                "places": str(places),
            },
        )


def free_slots(page: str) -> list[str]:
    """The slot ids a visitor can choose on the booking page, in time order."""
    return re.findall(r'<option value="(\d+)"\s*(?:selected)?\s*>', page)


def all_slots(page: str) -> list[str]:
    return re.findall(r'<option value="(\d+)"', page)


def booking(slot: str, phone: str = "070-123 45 67", **fields: str) -> dict[str, str]:
    return {
        "slot": slot,
        "phone": phone,
        "voicemail": "no",
        "say_where": "no",
        "safe_word": "blåbärspaj",
        "call_name": "Sam",
        "language": "sv",
        "topic": "Min sambo kontrollerar allt",
        **fields,
    }


async def book(
    server: ServerProcess, fields: dict[str, str], address: str | None = None, **kwargs: Any
) -> httpx.Response:
    """POST the booking form from the service's own page (`address`: pose as another client)."""
    headers = {"Origin": server.url, **({"X-Forwarded-For": address} if address else {})}
    async with httpx.AsyncClient(base_url=server.url, cookies={"lang": "en"}) as http:
        return await http.post("/callback", data=fields, headers=headers, **kwargs)


async def change(server: ServerProcess, fields: dict[str, str], address: str | None = None) -> httpx.Response:
    headers = {"Origin": server.url, **({"X-Forwarded-For": address} if address else {})}
    async with httpx.AsyncClient(base_url=server.url, cookies={"lang": "en"}) as http:
        return await http.post("/callback/change", data=fields, headers=headers)


def shown_codes(page: str) -> tuple[str, str]:
    """(reference, code) as the confirmation shows them."""
    reference = re.search(r'id="booking-reference">([^<]+)<', page)
    code = re.search(r'id="booking-code">([^<]+)<', page)
    assert reference and code, "the confirmation shows a reference and a code"
    return html.unescape(reference[1]), html.unescape(code[1])


def book_store(server: ServerProcess) -> tuple[CallbackBook, aioredis.Redis]:
    """The server's slots and bookings, reached directly (to open a slot at an exact moment)."""
    settings = load_settings(server.env)
    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    store = CallbackBook(
        client,
        Keys.from_settings(settings),
        sealing_keys("", settings.secret_key, "test"),
        settings.callback_grace_seconds,
        settings.callback_booking_closes_minutes,
    )
    return store, client
