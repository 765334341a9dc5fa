"""Static assets served from memory under content-hashed names, cached for a year; CSS and JavaScript
minified once when read (the sources keep their comments; phones on slow connections get less)."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import rcssmin
import rjsmin
from starlette.requests import Request
from starlette.responses import Response

STATIC_DIR = Path(__file__).resolve().parent.parent / "frontend" / "static"
IMMUTABLE = "public, max-age=31536000, immutable"


def minified(path: Path) -> bytes:
    """The file's bytes, CSS and JavaScript without comments and needless space."""
    if path.suffix == ".css":
        return str(rcssmin.cssmin(path.read_text(encoding="utf-8"))).encode()
    if path.suffix == ".js":
        return str(rjsmin.jsmin(path.read_text(encoding="utf-8"))).encode()
    return path.read_bytes()


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str


class Assets:
    """Every file of frontend/static, read once; `url(name)` gives its hashed path."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self._by_hashed: dict[str, Asset] = {}
        self._urls: dict[str, str] = {}
        for path in sorted(directory.iterdir()):
            if not path.is_file():
                continue
            body = minified(path)
            digest = hashlib.sha256(body).hexdigest()[:12]
            hashed = f"{path.stem}.{digest}{path.suffix}"
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media_type.startswith("text/") or media_type.endswith("javascript"):
                media_type += "; charset=utf-8"
            self._by_hashed[hashed] = Asset(body, media_type)
            self._urls[path.name] = f"/static/{hashed}"

    def url(self, name: str) -> str:
        return self._urls[name]

    async def endpoint(self, request: Request) -> Response:
        asset = self._by_hashed.get(request.path_params["name"])
        if asset is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        return Response(asset.body, media_type=asset.media_type,
                        headers={"Cache-Control": IMMUTABLE})
