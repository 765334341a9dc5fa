"""Reading small forms and JSON bodies with a hard size limit, so a huge body is never read into memory."""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from app.errors import Malformed, TooLarge

FORM_MAX_BYTES = 4096
"""Every form the service has (language, login, logout) fits easily."""


async def small_form(request: Request, max_bytes: int = FORM_MAX_BYTES) -> FormData:
    """The form, or `TooLarge` when its declared length is missing or over `max_bytes`."""
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > max_bytes:
        raise TooLarge()
    return await request.form(max_files=0, max_fields=20)


async def small_json(request: Request, max_bytes: int) -> dict[str, Any]:
    """A JSON object, or `TooLarge` (declared length missing or over `max_bytes`) / `Malformed`."""
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > max_bytes:
        raise TooLarge()
    try:
        data = json.loads(await request.body())  # the server holds a body to its declared length
    except (ValueError, UnicodeDecodeError):
        raise Malformed("not JSON") from None
    if not isinstance(data, dict):
        raise Malformed("not an object")
    return data
