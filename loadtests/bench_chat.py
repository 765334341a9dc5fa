"""Benchmark: visitors chatting with counselors across 2-4 server processes, against a baseline relay.

    python -m loadtests.bench_chat                          # 100, 1,000 and 5,000 visitors, both systems
    python -m loadtests.bench_chat --visitors 1000 --system app --servers 4
    python -m loadtests.bench_chat --visitors 50 --seconds 20 --interval 2 --check   # CI's smoke run
    python -m loadtests.bench_chat --split-cores            # servers apart from the load generator
    python -m loadtests.bench_chat --visitors 100,1000 --runs 3   # the median of 3 runs each

For each number of visitors and each system, a private redis-server and --servers processes are
started on it: `python -m app serve` (the app) or `loadtests/baseline_relay.py` (the floor: one
WebSocket in, publish, subscribe, one WebSocket out). Every visitor and every counselor socket
connects to one of the processes at random, so most messages cross processes through Redis.
A counselor socket holds --chats-per-counselor chats (a counselor answers several at once; the
app's counselors take them from the queue). Once every chat is running, each side of each chat
sends one message per --interval seconds (phases spread at random) for --seconds; then the run
drains for a few seconds and the figures are taken:

    p50 / p99      ms from a message being sent to it arriving on the other side (both directions)
    msg/s          messages delivered per second
    lost / dup     messages sent and never delivered / delivered twice
    CPU ms/msg     the server processes' CPU time per delivered message
    KiB/visitor    the server processes' resident memory grown, per connected visitor (with its
                   counselor's side of the chat)
    KiB/conv       Redis memory grown, per conversation, at the end of the run (its messages included)

and a last table gives the app's latency as a multiple of the baseline's. Client load is spread
over --workers processes. Latency uses CLOCK_MONOTONIC, shared by every process on the machine:
the send time rides in the message's client id, so a message may be received by another worker.
--check exits with status 1 when anything was lost, duplicated or refused (never on timings).
--runs N measures each system N times, alternating between them, and reports the median of each
figure (the p99 also as the range over the runs; lost, duplicated and errors as sums): on a small
shared machine one run's p99 can be twice another's.
--split-cores runs Redis and the servers on the first half of the machine's cores and the clients
on the other half, as a load generator on its own machine would: on a small machine the clients
otherwise compete with the servers for the same cores, and that shows in the tail first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import queue
import random
import resource
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.__main__ import tune_gc  # noqa: E402
from app.redis import embedded_redis  # noqa: E402
from tests.clients import add_staff, staff_login  # noqa: E402
from tests.servers import ServerProcess, server_env  # noqa: E402

SETUP_SECONDS = 300.0
DRAIN_SECONDS = 10.0
START_CONCURRENCY = 50
SETTLE_SECONDS = 2.0
"""Pause after set-up before the run: lets the last subscriptions and the queue settle."""


@dataclass
class Plan:
    """What one client worker does."""

    worker: int
    system: str
    visitors: list[tuple[int, str]]
    """(visitor index, server URL)."""
    counselors: list[tuple[int, str, list[int]]]
    """(counselor index, server URL, the rooms it serves: baseline only; the app's take from the queue)."""
    total_counselors: int
    cookie: str
    interval: float
    seconds: float


@dataclass
class Result:
    """What one worker saw: ids it sent, (id, latency) for what it received, and errors."""

    sent: list[str] = field(default_factory=list)
    received: list[tuple[str, float]] = field(default_factory=list)
    errors: int = 0
    failures: list[str] = field(default_factory=list)
    """What went wrong, for the first few errors."""


def stamp(prefix: str, seq: int) -> str:
    return f"{prefix}-{seq}-{time.monotonic_ns()}"


def latency_ms(client_id: str) -> float:
    return (time.monotonic_ns() - int(client_id.rsplit("-", 1)[1])) / 1e6


def ws_url(url: str, path: str) -> str:
    return url.replace("http", "ws", 1) + path


class Run:
    """One worker's shared state: when the measured run began, and what it saw."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.result = Result()
        self.go: float | None = None
        self.ready = 0
        self.all_ready = asyncio.Event()
        self.counselors = 0
        self.counselors_ready = asyncio.Event()

    def one_ready(self) -> None:
        self.ready += 1
        if self.ready == len(self.plan.visitors):
            self.all_ready.set()

    def counselor_ready(self) -> None:
        self.counselors += 1
        if self.counselors == len(self.plan.counselors):
            self.counselors_ready.set()

    def over(self) -> bool:
        return self.go is not None and time.monotonic() > self.go + self.plan.seconds + DRAIN_SECONDS

    async def until_go(self) -> float:
        while self.go is None:
            await asyncio.sleep(0.05)
        return self.go

    async def sender(self, ws: ClientConnection, prefix: str, conv: str | int | None = None) -> None:
        """Once the run starts, send one message per interval until it ends."""
        go = await self.until_go()
        await asyncio.sleep(random.uniform(0, self.plan.interval))
        seq = 0
        while time.monotonic() < go + self.plan.seconds:
            client_id = stamp(prefix, seq)
            frame: dict[str, Any] = {"type": "msg", "text": f"meddelande {seq}", "client_id": client_id}
            if conv is not None:
                frame["conv"] = conv
            try:
                await ws.send(json.dumps(frame))
            except WebSocketException:  # the socket failed: its listener counts the error
                return
            self.result.sent.append(client_id)
            seq += 1
            await asyncio.sleep(self.plan.interval)

    def collect(self, frame: dict[str, Any], me: str) -> None:
        """Record a message from the other side that was sent during the measured run."""
        client_id = frame.get("client_id", "")
        if not client_id.startswith(("v", "c")):
            return
        if (self.plan.system == "baseline" and frame.get("type") == "msg") or \
                (frame.get("type") == "entry" and frame.get("kind") == "msg" and frame.get("from") != me):
            self.result.received.append((client_id, latency_ms(client_id)))

    async def listen(self, ws: ClientConnection, me: str) -> None:
        async for raw in ws:
            self.collect(json.loads(raw), me)
            if self.over():
                return


async def app_visitor(run: Run, index: int, url: str, http: httpx.AsyncClient,
                    gate: asyncio.Semaphore) -> None:
    async with survive(run) as ready:
        async with gate:
            response = await http.post(url + "/api/chat", json={}, headers={"Origin": url})
            response.raise_for_status()
            ws = await connect(ws_url(url, "/ws/chat"), origin=url, open_timeout=60,  # type: ignore[arg-type]
                               max_queue=None)
        async with ws:
            await ws.send(json.dumps({"type": "hello", "token": response.json()["token"]}))
            sending: asyncio.Task[None] | None = None
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "state" and frame["state"] == "active" and sending is None:
                    ready()
                    sending = asyncio.create_task(run.sender(ws, f"v{run.plan.worker}x{index}"))
                run.collect(frame, "visitor")
                if run.over():
                    return


@contextlib.asynccontextmanager
async def survive(run: Run) -> AsyncIterator[Callable[[], None]]:
    """A visitor whose connection fails (an overloaded server) is counted as an error, and as
    settled for the set-up, instead of ending the whole run; yields what marks it ready."""
    became_ready = False

    def ready() -> None:
        nonlocal became_ready
        became_ready = True
        run.one_ready()

    try:
        yield ready
    except (OSError, httpx.HTTPError, WebSocketException) as error:
        run.result.errors += 1
        run.result.failures.append(f"{type(error).__name__}: {error}"[:200])
        if not became_ready:
            run.one_ready()


async def app_counselor(run: Run, index: int, url: str) -> None:
    """Take the waiting chats this socket is responsible for (by a hash of the id); answer them."""
    ws = await connect(ws_url(url, "/staff/ws"), origin=url, open_timeout=60,  # type: ignore[arg-type]
                       additional_headers={"Cookie": f"nexus_staff={run.plan.cookie}"}, max_queue=None)
    asked: set[str] = set()
    senders: list[asyncio.Task[None]] = []
    async with ws:
        await ws.send(json.dumps({"type": "hello", "chats": {}}))
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "chats":
                run.counselor_ready()
            elif frame["type"] == "queue":
                for item in frame["items"]:
                    conv = item["conv"]
                    if conv not in asked and zlib.crc32(conv.encode()) % run.plan.total_counselors == index:
                        asked.add(conv)
                        await ws.send(json.dumps({"type": "take", "conv": conv}))
            elif frame["type"] == "taken":
                senders.append(asyncio.create_task(
                    run.sender(ws, f"c{index}x{len(senders)}", frame["conv"])))
            elif frame["type"] in ("take_failed", "error"):
                run.result.errors += 1
            run.collect(frame, "counselor")
            if run.over():
                break
    for task in senders:
        task.cancel()


async def baseline_visitor(run: Run, index: int, url: str, gate: asyncio.Semaphore) -> None:
    async with survive(run) as ready:
        async with gate:
            ws = await connect(ws_url(url, f"/ws?side=visitor&rooms={index}"), open_timeout=60,
                               max_queue=None)
        async with ws:
            ready()
            sending = asyncio.create_task(run.sender(ws, f"v{run.plan.worker}x{index}"))
            await run.listen(ws, "visitor")
            sending.cancel()


async def baseline_counselor(run: Run, index: int, url: str, rooms: list[int]) -> None:
    path = f"/ws?side=counselor&rooms={','.join(map(str, rooms))}"
    async with await connect(ws_url(url, path), open_timeout=60, max_queue=None) as ws:
        senders = [asyncio.create_task(run.sender(ws, f"c{index}x{n}", room)) for n, room in enumerate(rooms)]
        await run.listen(ws, "counselor")
        for task in senders:
            task.cancel()


def worker_main(plan: Plan, ready_queue: Any, visitors_go: Event, go: Event, results: Any) -> None:
    tune_gc()  # the load generator's own collection pauses would count as the servers' latency
    run = Run(plan)

    async def main() -> None:
        gate = asyncio.Semaphore(START_CONCURRENCY)
        # A new connection for every chat started: a kept-alive one can be closed by uvicorn (its
        # keep-alive timeout) just as a request goes out on it.
        limits = httpx.Limits(max_connections=START_CONCURRENCY, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=60) as http:
            if plan.system == "app":
                tasks = [asyncio.create_task(app_counselor(run, i, url)) for i, url, _ in plan.counselors]
                # Every counselor socket (of every worker) is connected before the first chat starts:
                # they share one account, and a console opened later would show the chats taken before.
                await asyncio.wait_for(run.counselors_ready.wait(), SETUP_SECONDS)
                ready_queue.put(("counselors", plan.worker))
                await asyncio.to_thread(visitors_go.wait, SETUP_SECONDS)
                tasks += [asyncio.create_task(app_visitor(run, i, url, http, gate))
                          for i, url in plan.visitors]
            else:
                tasks = [asyncio.create_task(baseline_counselor(run, i, url, rooms))
                         for i, url, rooms in plan.counselors]
                await asyncio.sleep(SETTLE_SECONDS)  # counselors subscribed before visitors
                ready_queue.put(("counselors", plan.worker))
                await asyncio.to_thread(visitors_go.wait, SETUP_SECONDS)
                tasks += [asyncio.create_task(baseline_visitor(run, i, url, gate))
                          for i, url in plan.visitors]
            ready = asyncio.create_task(run.all_ready.wait())
            await asyncio.wait([ready, *tasks], timeout=SETUP_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            failed = [task for task in tasks if task.done() and task.exception()]
            if failed or not run.all_ready.is_set():
                raise RuntimeError(f"worker {plan.worker}: set-up failed") from (
                    failed[0].exception() if failed else None)
            ready_queue.put(("visitors", plan.worker))
            await asyncio.to_thread(go.wait)
            run.go = time.monotonic()
            done, pending = await asyncio.wait(tasks, timeout=plan.seconds + DRAIN_SECONDS + 30)
            for task in pending:
                task.cancel()
            run.result.errors += sum(1 for task in done if task.exception())

    asyncio.run(main())
    results.put(run.result)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin(pid: int, cores: set[int]) -> None:
    """Run every thread of process `pid` on `cores` only."""
    for thread in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(thread), cores)


def split_cores() -> tuple[set[int], set[int]]:
    """The cores for Redis and the servers, and the cores for the clients: half each."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("--split-cores needs at least 2 cores")
    half = len(cores) // 2
    return set(cores[:half]), set(cores[half:])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


class BaselineProcess(ServerProcess):
    """One baseline relay process (loadtests/baseline_relay.py), started and stopped like the app."""

    command = [sys.executable, "-m", "loadtests.baseline_relay", "--host", "127.0.0.1"]


@dataclass
class Row:
    """The figures of one system at one number of visitors."""

    system: str
    visitors: int
    setup_s: float
    p50: float
    p99: float
    rate: float
    sent: int
    lost: int
    duplicated: int
    errors: int
    cpu_ms: float
    kib_per_visitor: float
    kib_per_conversation: float
    p99_range: tuple[float, float] = (0.0, 0.0)
    """The lowest and highest p99 over the runs this row is the median of."""


def median_row(runs: list[Row]) -> Row:
    """One system at one number of visitors over several runs: the median of each figure, and the
    sum of what went wrong."""
    def mid(name: str) -> Any:
        return statistics.median(getattr(run, name) for run in runs)

    p99s = [run.p99 for run in runs]
    return Row(runs[0].system, runs[0].visitors, mid("setup_s"), mid("p50"), mid("p99"), mid("rate"),
               sum(run.sent for run in runs), sum(run.lost for run in runs),
               sum(run.duplicated for run in runs), sum(run.errors for run in runs), mid("cpu_ms"),
               mid("kib_per_visitor"), mid("kib_per_conversation"), (min(p99s), max(p99s)))


def plans(system: str, visitors: int, servers: list[ServerProcess], args: argparse.Namespace,
          cookie: str) -> list[Plan]:
    """Visitors and counselors spread over the processes at random, and over the workers in turn."""
    rng = random.Random(visitors)
    counselors = max(1, -(-visitors // args.chats_per_counselor))
    rooms: list[list[int]] = [[] for _ in range(counselors)]
    for room in range(visitors):
        rooms[room % counselors].append(room)
    made = [Plan(w, system, [], [], counselors, cookie, args.interval, args.seconds)
            for w in range(args.workers)]
    for i in range(visitors):
        made[i % args.workers].visitors.append((i, rng.choice(servers).url))
    for c in range(counselors):
        made[c % args.workers].counselors.append((c, rng.choice(servers).url, rooms[c]))
    return [plan for plan in made if plan.visitors or plan.counselors]


def measure(system: str, visitors: int, args: argparse.Namespace,
            cores: tuple[set[int], set[int]] | None = None) -> Row:
    """Start Redis and the servers, run the clients, and take the figures; `cores`: the cores for
    Redis and the servers, and those for the clients, when they are kept apart."""
    with contextlib.ExitStack() as stack:
        redis_url = args.redis_url or stack.enter_context(embedded_redis())
        env = server_env(redis_url, QUEUE_MAX=str(visitors + 10), RATE_LIMIT_MESSAGES="100000")
        logs = Path(args.logs or stack.enter_context(tempfile.TemporaryDirectory(prefix="nexus-bench-")))
        kind = ServerProcess if system == "app" else BaselineProcess
        servers: list[ServerProcess] = []
        for n in range(args.servers):
            servers.append(kind(env, logs / f"{system}-{n}.log").start())
            stack.callback(servers[-1].stop)
        pids = [server.process.pid for server in servers if server.process]
        cookie = ""
        if system == "app":
            username, password = add_staff(env, name="Bench")
            cookie = asyncio.run(staff_login(servers[0], username, password))
        redis_client = stack.enter_context(redis.Redis.from_url(redis_url))
        if cores:
            server_cores, client_cores = cores
            for pid in pids if args.redis_url else [*pids, int(redis_client.info("server")["process_id"])]:
                pin(pid, server_cores)
            pin(os.getpid(), client_cores)  # the workers it starts inherit it
        time.sleep(1)  # let start-up garbage settle before the memory is read
        redis_before = int(redis_client.info("memory")["used_memory"])
        rss_before = sum(rss_kib(pid) for pid in pids)

        context = multiprocessing.get_context("spawn")
        ready_queue, results_queue = context.Queue(), context.Queue()
        visitors_go, go = context.Event(), context.Event()
        processes = []
        for plan in plans(system, visitors, servers, args, cookie):
            process = context.Process(target=worker_main,
                                      args=(plan, ready_queue, visitors_go, go, results_queue))
            process.start()
            processes.append(process)
            stack.callback(process.kill)
        started = time.monotonic()

        def all_workers(said: str) -> None:
            heard = set()
            while len(heard) < len(processes):
                try:
                    kind, worker = ready_queue.get(timeout=1)
                    assert kind == said, (kind, said)
                    heard.add(worker)
                except queue.Empty:
                    if not all(process.is_alive() for process in processes):
                        raise SystemExit(f"{system}, {visitors} visitors: a client worker failed in set-up") \
                            from None
                    if time.monotonic() - started > SETUP_SECONDS:
                        raise SystemExit(f"{system}, {visitors} visitors: set-up took too long") from None

        all_workers("counselors")
        visitors_go.set()
        all_workers("visitors")
        setup_s = time.monotonic() - started
        time.sleep(SETTLE_SECONDS)
        rss_after = sum(rss_kib(pid) for pid in pids)
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        go.set()
        results = [results_queue.get(timeout=args.seconds + DRAIN_SECONDS + 120) for _ in processes]
        cpu_used = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        redis_after = int(redis_client.info("memory")["used_memory"])
        for process in processes:
            process.join(10)

    for failure in sorted({failure for r in results for failure in r.failures})[:5]:
        print(f"  {system}, {visitors:,} visitors: a client saw {failure}")
    sent = [cid for r in results for cid in r.sent]
    received = [item for r in results for item in r.received]
    counts: dict[str, int] = {}
    for cid, _ in received:
        counts[cid] = counts.get(cid, 0) + 1
    latencies = [ms for cid, ms in received if counts[cid] == 1]
    return Row(system, visitors, setup_s, statistics.median(latencies) if latencies else float("nan"),
               percentile(latencies, 99), len(received) / args.seconds, len(sent),
               len(set(sent) - set(counts)), sum(1 for n in counts.values() if n > 1),
               sum(r.errors for r in results), 1000 * cpu_used / max(1, len(received)),
               (rss_after - rss_before) / visitors, (redis_after - redis_before) / 1024 / visitors)


def print_rows(rows: list[Row], args: argparse.Namespace) -> None:
    where = "on cores of their own" if args.split_cores else "on the same cores"
    runs = f"; the median of {args.runs} runs each" if args.runs > 1 else ""
    print(f"\n{os.cpu_count()} cores; {args.servers} server processes on one Redis; {args.workers} client "
          f"workers on the same machine, {where}; a counselor socket holds {args.chats_per_counselor} "
          f"chats; each side sends one message per {args.interval:g} s for {args.seconds:g} s{runs}\n")
    print("| system | visitors | p50 ms | p99 ms | p99 range | msg/s | lost | dup | errors | CPU ms/msg "
          "| KiB/visitor | KiB/conv | set-up s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r.system} | {r.visitors:,} | {r.p50:.1f} | {r.p99:.1f} | "
              f"{r.p99_range[0]:.1f}–{r.p99_range[1]:.1f} | {r.rate:.0f} | {r.lost} | "
              f"{r.duplicated} | {r.errors} | {r.cpu_ms:.2f} | {r.kib_per_visitor:.0f} | "
              f"{r.kib_per_conversation:.1f} | {r.setup_s:.1f} |")
    pairs = [(a, b) for a in rows for b in rows
             if a.system == "app" and b.system == "baseline" and a.visitors == b.visitors]
    if pairs:
        print("\n| visitors | p50 app / baseline | p99 app / baseline | CPU per message app / baseline |")
        print("|---:|---:|---:|---:|")
        for a, b in pairs:
            print(f"| {a.visitors:,} | {a.p50 / b.p50:.2f}x | {a.p99 / b.p99:.2f}x "
                  f"| {a.cpu_ms / b.cpu_ms:.1f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", default="100,1000,5000", help="comma-separated visitor counts")
    parser.add_argument("--system", choices=("both", "app", "baseline"), default="both")
    parser.add_argument("--servers", type=int, default=2, choices=(2, 3, 4), help="server processes")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between one side's messages")
    parser.add_argument("--chats-per-counselor", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--redis-url", help="default: a private redis-server started for each measurement")
    parser.add_argument("--logs", help="keep the server processes' logs in this directory")
    parser.add_argument("--runs", type=int, default=1, help="measurements of each system (medians reported)")
    parser.add_argument("--split-cores", action="store_true",
                        help="Redis and the servers on half the cores, the clients on the other half")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a message was lost or duplicated or a client saw an error")
    args = parser.parse_args()
    counts = [int(n) for n in args.visitors.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8 * max(counts) + 1024)), hard))

    systems = ("baseline", "app") if args.system == "both" else (args.system,)
    cores = split_cores() if args.split_cores else None  # before this process is pinned to its half
    rows = []
    for visitors in counts:
        measured: dict[str, list[Row]] = {system: [] for system in systems}
        for _ in range(args.runs):  # alternating, so that a slow spell of the machine hits both
            for system in systems:
                row = measure(system, visitors, args, cores)
                measured[system].append(row)
                print(f"{system}, {visitors:,} visitors: p50 {row.p50:.1f} ms, p99 {row.p99:.1f} ms",
                      flush=True)
        rows.extend(median_row(measured[system]) for system in systems)
    print_rows(rows, args)
    if args.check and any(r.lost or r.duplicated or r.errors or not r.sent for r in rows):
        raise SystemExit("messages were lost or duplicated, or a client saw an error")


if __name__ == "__main__":
    main()
