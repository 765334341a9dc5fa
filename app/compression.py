"""Gzip for static files and visitor pages fetched with GET, and for nothing else.

Slow phone connections benefit most from compressed pages. A response that holds a secret next to
text an attacker can influence (a staff page with its CSRF token, a booking's change code, a form
echoing what was typed) is never compressed, so its size cannot leak the secret (BREACH): those are
the staff pages and every answer to a POST.
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

MINIMUM_BYTES = 500


class CompressPublicPages:
    """Applies gzip to GET and HEAD responses outside /staff."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=MINIMUM_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        public = scope["type"] == "http" and scope["method"] in ("GET", "HEAD") \
            and not scope["path"].startswith("/staff")
        await (self.gzip if public else self.app)(scope, receive, send)
