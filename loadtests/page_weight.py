"""Measure the visitor's first page view: HTML + CSS + JS + icon, uncompressed and as served (gzip).

    python -m loadtests.page_weight [--url http://127.0.0.1:8000] [--lang sv]

Fetches the landing page and every stylesheet, script and icon it links, the way a browser's first
visit does (nothing cached), and prints each one's size and the total. The budget is 60 KB
uncompressed for the whole first view (tests/test_page_weight.py checks it for every language), so
it loads on a 3G connection in about a second. Without --url it starts a server with the embedded
Redis and stops it afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

BUDGET_BYTES = 60 * 1024
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')
THREE_G_BYTES_PER_SECOND = 750_000 / 8
"""A "regular 3G" connection as browsers' throttling presets define it: 750 kbit/s down."""


def first_view(base_url: str, lang: str) -> list[tuple[str, int, int]]:
    """(path, bytes uncompressed, bytes as served) of the page and everything it links."""
    sizes = []
    with httpx.Client(base_url=base_url, cookies={"lang": lang}, headers={"Accept-Encoding": "gzip"}) as http:
        page = http.get("/")
        paths = ["/", *dict.fromkeys(ASSET.findall(page.text))]
        for path in paths:
            response = http.get(path)
            response.raise_for_status()
            served = (
                len(gzip.compress(response.content))
                if response.headers.get("content-encoding") == "gzip"
                else len(response.content)
            )
            sizes.append((path, len(response.content), served))
    return sizes


@contextlib.contextmanager
def local_server() -> Iterator[str]:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(40), "KEY_PREFIX": f"w{secrets.token_hex(3)}:"}
    port = 8700 + secrets.randbelow(200)
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", default="")
    parser.add_argument("--lang", default="sv")
    args = parser.parse_args()
    with contextlib.nullcontext(args.url) if args.url else local_server() as url:
        sizes = first_view(url, args.lang)
    for path, raw, served in sizes:
        print(f"  {path:<40}{raw:>9,} B{served:>9,} B served")
    raw_total, served_total = sum(s[1] for s in sizes), sum(s[2] for s in sizes)
    print(
        f"  {'total':<40}{raw_total:>9,} B{served_total:>9,} B served "
        f"(budget {BUDGET_BYTES:,} B uncompressed)"
    )
    print(f"  on 3G (750 kbit/s): {served_total / THREE_G_BYTES_PER_SECOND:.2f} s of transfer")


if __name__ == "__main__":
    main()
