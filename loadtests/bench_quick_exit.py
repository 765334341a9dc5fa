"""Benchmark: how fast the quick exit hides the page and starts leaving, in headless Chromium.

    python loadtests/bench_quick_exit.py --runs 20

Starts a private redis-server (or uses --redis-url) and one `python -m app serve`, then for
each way out (a tap on the exit link on a phone-sized page, Shift pressed three times on a
desktop-sized one) and each place (the landing page; a chat waiting in the queue, which
also sends the beacon for a real chat) opens a fresh browser context --runs times, uses the
quick exit and reads, from the browser's own clocks:

- hidden: from the input event (the tap's touchend, the third Shift's keydown; the
  event's own timestamp) to the page's content being hidden (the `quick-exit:hidden` mark);
- next frame: to the first animation frame after that (the hidden page is painted then);
- replace(): to `location.replace` being called (the `quick-exit:navigating` mark);
- navigation start: to the neutral page's time origin, which is when the browser started
  navigating to it (a wall-clock comparison across the two documents, good to about 1 ms).

The neutral site is answered inside the browser (Playwright routing), so nothing leaves
the machine and its network time is not part of the figures. Prints p50/p90/max in ms.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Route, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.redis import embedded_redis  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS, DESKTOP, PHONE, chromium_path  # noqa: E402
from tests.servers import ServerProcess, server_env  # noqa: E402

NEUTRAL = "https://vader.test/"
METRICS = ("hidden", "next frame", "replace()", "navigation start")

# Runs in every document of the context before its own scripts. On the service's page it
# notes the input event, and sends what it measured with a beacon to a path of its own origin
# that Playwright answers (a leaving page's console messages are lost, and its CSP allows no
# other destination): once when quick-exit.js marks that it calls location.replace, once
# more from the first animation frame after hiding, if that comes before the page is gone.
# On the neutral page it reports that page's time origin.
PROBE = """
(() => {
  if (location.href.startsWith(%(neutral)s)) {
    console.log("QE-NAV " + JSON.stringify({ origin: performance.timeOrigin }));
    return;
  }
  const t = { origin: performance.timeOrigin };
  const send = () => navigator.sendBeacon("/bench-probe", "QE-OLD " + JSON.stringify(t));
  addEventListener("touchend", (e) => { t.input = e.timeStamp; }, true);
  addEventListener("keydown", (e) => { if (e.key === "Shift") t.input = e.timeStamp; }, true);
  const mark = performance.mark.bind(performance);
  performance.mark = (name, options) => {
    const entry = mark(name, options);
    if (name === "quick-exit:hidden") {
      t.hidden = entry.startTime;
      requestAnimationFrame(() => { t.frame = performance.now(); send(); });
    } else if (name === "quick-exit:navigating") {
      t.navigating = entry.startTime;
      send();
    }
    return entry;
  };
})();
"""


def neutral_page(route: Route) -> None:
    route.fulfill(status=200, content_type="text/html; charset=utf-8",
                  body="<!doctype html><html lang=sv><title>Väder</title><h1>Väder</h1>")


def probe_beacon(seen: dict[str, dict[str, Any]]) -> Callable[[Route], None]:
    def answer(route: Route) -> None:
        record(route.request.post_data or "", seen)  # the later beacon carries more
        route.fulfill(status=204)
    return answer


def one_run(browser: Browser, url: str, how: str, in_chat: bool) -> dict[str, float]:
    context = browser.new_context(**(PHONE if how == "tap" else DESKTOP))
    try:
        seen: dict[str, dict[str, Any]] = {}
        context.route(NEUTRAL + "**", neutral_page)
        context.route(url + "/bench-probe", probe_beacon(seen))
        context.add_init_script(PROBE % {"neutral": json.dumps(NEUTRAL)})
        page = context.new_page()
        page.on("console", lambda message: record(message.text, seen))
        page.goto(url + "/", wait_until="load")
        if in_chat:
            page.locator("#start-chat").click()
            page.locator("#chat-status").filter(has_text="1").wait_for()
        leave(page, how)
        page.wait_for_url(NEUTRAL)
        page.wait_for_load_state("load")
        for _ in range(100):  # the beacon and the console message may come a little later
            if "QE-OLD" in seen and "QE-NAV" in seen:
                break
            page.wait_for_timeout(20)
        old, new = seen["QE-OLD"], seen["QE-NAV"]
        start = old["input"]
        figures = {
            "hidden": old["hidden"] - start,
            "replace()": old["navigating"] - start,
            "navigation start": new["origin"] - old["origin"] - start,
        }
        if old.get("frame") is not None:
            figures["next frame"] = old["frame"] - start
        return figures
    finally:
        context.close()


def record(text: str, seen: dict[str, dict[str, Any]]) -> None:
    kind, _, body = text.partition(" ")
    if kind in ("QE-OLD", "QE-NAV"):
        seen[kind] = json.loads(body)


def leave(page: Page, how: str) -> None:
    if how == "tap":
        page.locator("#quick-exit").tap()
    else:
        for _ in range(3):
            page.keyboard.press("Shift")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def report(name: str, runs: list[dict[str, float]]) -> None:
    print(f"\n{name} ({len(runs)} runs), ms from the input event:")
    for metric in METRICS:
        values = [run[metric] for run in runs if metric in run]
        if not values:
            print(f"  {metric:<17} (not observed: the page was gone before its next frame)")
            continue
        note = "" if len(values) == len(runs) else f"  (seen in {len(values)} runs)"
        print(f"  {metric:<17} p50={percentile(values, 50):6.1f}  p90={percentile(values, 90):6.1f}  "
              f"max={max(values):6.1f}{note}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="runs per way out and place")
    parser.add_argument("--redis-url", default="", help="use this Redis instead of a private one")
    args = parser.parse_args()

    with ExitStack() as stack:
        redis_url = args.redis_url or stack.enter_context(embedded_redis())
        log = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "server.log"
        server = ServerProcess(server_env(redis_url, NEUTRAL_SITE_URL=NEUTRAL), log).start()
        stack.callback(server.stop)
        driver = stack.enter_context(sync_playwright())
        browser = driver.chromium.launch(executable_path=chromium_path(), headless=True,
                                         args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        print(f"Chromium {browser.version} (headless) on {platform.machine()}, "
              f"{platform.system()} {platform.release()}; {args.runs} runs each")
        for in_chat in (False, True):
            for how in ("tap", "shift"):
                runs = [one_run(browser, server.url, how, in_chat) for _ in range(args.runs)]
                place = "waiting in a chat" if in_chat else "landing page"
                report(f"{'Tap' if how == 'tap' else 'Shift x3'}, {place}", runs)


if __name__ == "__main__":
    main()
