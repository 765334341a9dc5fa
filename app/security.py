"""Security headers on every response, and the Origin check for WebSockets and forms."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()" for feature in (
        "accelerometer", "camera", "display-capture", "geolocation", "gyroscope",
        "magnetometer", "microphone", "midi", "payment", "usb", "interest-cohort",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class SecurityHeaders:
    """Adds the headers above to every HTTP response; `no-store` unless it set its own cache.

    HSTS is added when the request came over TLS (directly, or per the proxy headers
    uvicorn trusts).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                if scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def own_origin(scope: Scope) -> str:
    """The origin the client used to reach us (scheme and Host header)."""
    headers = Headers(scope=scope)
    secure = scope.get("scheme") in ("https", "wss")
    return f"{'https' if secure else 'http'}://{headers.get('host', '')}"


def origin_allowed(scope: Scope, allowed: tuple[str, ...]) -> bool:
    """True when the request's Origin is this service's own origin or an allowed one.

    Our `Referrer-Policy: no-referrer` makes browsers send `Origin: null` on a plain form
    POST from our own page; then the browser-set `Sec-Fetch-Site: same-origin` (which no
    page can forge) is the proof instead.
    """
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin in (None, "", "null"):
        return headers.get("sec-fetch-site") == "same-origin"
    return origin == own_origin(scope) or origin in allowed
