"""Benchmark: messages per second for moderation.assess, moderation.scrub and both, on one core.

    python -m loadtests.bench_moderation [--seconds 3]

"in a chat" is the whole screening of one visitor message as app/chat/screening.py does it (risk
over the last ten messages, identifiers, abuse, the repeat fingerprint).

Runs each over a fixed mix of typical chat messages (10-300 characters, mostly Swedish and
English, a few risky ones and a few with identifiers) for about the given time (a bounded loop
over the mix, checked against the clock after every pass) and prints messages per second of
this process's CPU time, so other work on the machine does not lower the figures.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence

from app.chat.screening import CONTEXT_MESSAGES
from moderation import Context, abusive, assess, fingerprint, scrub
from moderation.scrub import find

TARGET_BOTH = 5000  # msg/s for assess + scrub together

_PARTS = (
    "hej", "jag vet inte riktigt hur jag ska börja", "han kontrollerar min telefon",
    "vi har två barn tillsammans", "han blir arg när jag träffar mina vänner",
    "jag har inte berättat för någon", "kan jag vara anonym här?", "han säger att det är mitt fel",
    "hi, is this the right place", "he checks my messages every night", "i am scared of him",
    "he says nobody will believe me", "we have been together for six years",
    "ring mig på 070-123 45 67 efter fem", "han bor på Kungsgatan 12 i Uppsala",
    "han sa att han ska döda mig", "jag orkar inte leva längre", "pappa slår min lillebror",
    "my email is anna.svensson@example.com", "tack för att ni finns", "ok", "jag dör av skratt",
    "han är på väg hem nu", "i don't want to die", "för fem år sen slog han mig",
)


def messages(count: int, seed: int = 7) -> list[str]:
    """A reproducible mix of chat messages of 10 to 300 characters."""
    rng = random.Random(seed)
    mix = []
    while len(mix) < count:
        text = ". ".join(rng.choice(_PARTS) for _ in range(rng.randint(1, 6)))
        if 10 <= len(text) <= 300:
            mix.append(text)
    return mix


def rate(work: Callable[[str], object], mix: Sequence[str], seconds: float) -> float:
    """Messages per second of ``work`` over passes of ``mix`` for about ``seconds``."""
    for text in mix[:50]:  # warm caches, as a running server would have them
        work(text)
    done = 0
    cpu_start = time.process_time()
    deadline = time.perf_counter() + seconds
    for _ in range(10_000):  # bounded, whatever the clock says
        for text in mix:
            work(text)
        done += len(mix)
        if time.perf_counter() >= deadline:
            break
    return done / (time.process_time() - cpu_start)


def both(text: str) -> None:
    assess(text)
    scrub(text)


def in_a_chat(mix: Sequence[str]) -> Callable[[str], object]:
    """What the chat does per visitor message (app/chat/screening.py): the risk of it with the
    messages before it (kept prepared in a `Context`), the identifier check, abuse and the repeat
    fingerprint."""
    context = Context(CONTEXT_MESSAGES)

    def screen(text: str) -> None:
        context.add(text)
        context.assess()
        find(text)
        abusive(text)
        fingerprint(text)

    return screen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    mix = messages(500)
    average = sum(map(len, mix)) / len(mix)
    print(f"{len(mix)} messages, {average:.0f} characters on average, {args.seconds:g} s each")
    works = (("assess", assess), ("scrub", scrub), ("abusive", abusive), ("assess + scrub", both),
             ("in a chat", in_a_chat(mix)))
    for name, work in works:
        print(f"  {name:<15}{rate(work, mix, args.seconds):>10,.0f} msg/s")
    print(f"  target for assess + scrub: >= {TARGET_BOTH:,} msg/s")


if __name__ == "__main__":
    main()
