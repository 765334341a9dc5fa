"""Benchmark: N visitor-counselor pairs across two server processes; prints delivery latency.

    python -m loadtests.bench_chat --pairs 100 --seconds 30

Starts a private redis-server (or uses --redis-url) and two `python -m app serve`
processes on it. Visitors connect to process A, counselors to process B, so every message
crosses processes through Redis. One staff login is shared by counselor sockets that each
hold about --chats-per-counselor chats (a counselor answers several at once). After set-up,
every visitor and every counselor chat sends one message per --interval seconds (phases
jittered) for --seconds; then the run drains and prints, per direction, the latency from
send to the entry arriving on the other side, messages per second, lost and duplicated
messages, and the server processes' CPU and memory. Client load is spread over --workers
processes so that the load generator is not the bottleneck it measures.

Latency uses CLOCK_MONOTONIC, shared by every process on the machine: the send time rides
in the message's client_id, so a message may be received in another worker than sent it.
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
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.redis import embedded_redis  # noqa: E402
from tests.clients import add_staff, staff_login  # noqa: E402
from tests.servers import ServerProcess, server_env  # noqa: E402

SETUP_SECONDS = 300.0
DRAIN_SECONDS = 15.0
START_CONCURRENCY = 50


@dataclass
class Plan:
    """What one worker does; the same for every worker but its share of the pairs."""

    worker: int
    visitors: int
    counselors: int
    counselor_index: int
    total_counselors: int
    visitor_url: str
    counselor_url: str
    cookie: str
    interval: float
    seconds: float


@dataclass
class Result:
    """What one worker saw: ids it sent, and (id, latency) for what it received."""

    sent: list[str] = field(default_factory=list)
    received: list[tuple[str, float]] = field(default_factory=list)
    setup_errors: int = 0


def stamp(prefix: str, seq: int) -> str:
    return f"{prefix}-{seq}-{time.monotonic_ns()}"


def latency_ms(client_id: str) -> float:
    return (time.monotonic_ns() - int(client_id.rsplit("-", 1)[1])) / 1e6


async def sender(ws: ClientConnection, prefix: str, plan: Plan, result: Result, go_time: list[float],
                 conv: str | None = None) -> None:
    """Once the run starts, send one message per interval until it ends."""
    await wait_for_go(go_time)
    go = go_time[0]
    await asyncio.sleep(random.uniform(0, plan.interval))
    seq = 0
    while time.monotonic() < go + plan.seconds:
        client_id = stamp(prefix, seq)
        frame: dict[str, Any] = {"type": "msg", "text": f"meddelande {seq}", "client_id": client_id}
        if conv:
            frame["conv"] = conv
        await ws.send(json.dumps(frame))
        result.sent.append(client_id)
        seq += 1
        await asyncio.sleep(plan.interval)


def collect(frame: dict[str, Any], me: str, result: Result) -> None:
    """Record a message entry from the other side that was sent during the measured run."""
    client_id = frame.get("client_id", "")
    if frame.get("type") == "entry" and frame.get("kind") == "msg" and frame.get("from") != me \
            and client_id.startswith(("v", "c")):
        result.received.append((client_id, latency_ms(client_id)))


async def visitor(plan: Plan, index: int, http: httpx.AsyncClient, gate: asyncio.Semaphore,
                  active: asyncio.Event, go_time: list[float], result: Result,
                  ready: list[int]) -> None:
    async with gate:
        response = await http.post("/api/chat", json={}, headers={"Origin": plan.visitor_url})
        response.raise_for_status()
        token = response.json()["token"]
        ws = await connect(plan.visitor_url.replace("http", "ws", 1) + "/ws/chat",
                           origin=plan.visitor_url, open_timeout=30)  # type: ignore[arg-type]
    async with ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        task: asyncio.Task[None] | None = None
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "state" and frame["state"] == "active" and task is None:
                ready[0] += 1
                if ready[0] == plan.visitors:
                    active.set()
                task = asyncio.create_task(sender(ws, f"v{plan.worker}x{index}", plan, result, go_time))
            collect(frame, "visitor", result)
            if go_time and time.monotonic() > go_time[0] + plan.seconds + DRAIN_SECONDS:
                break


async def wait_for_go(go_time: list[float]) -> None:
    while not go_time:
        await asyncio.sleep(0.05)


async def counselor(plan: Plan, index: int, go_time: list[float], result: Result) -> None:
    """Take the waiting chats this socket is responsible for (by a hash of the id); answer them."""
    ws = await connect(plan.counselor_url.replace("http", "ws", 1) + "/staff/ws",
                       origin=plan.counselor_url, open_timeout=30,  # type: ignore[arg-type]
                       additional_headers={"Cookie": f"nexus_staff={plan.cookie}"})
    asked: set[str] = set()
    senders: list[asyncio.Task[None]] = []
    async with ws:
        await ws.send(json.dumps({"type": "hello", "chats": {}}))
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "queue":
                for item in frame["items"]:
                    conv = item["conv"]
                    if conv not in asked and zlib.crc32(conv.encode()) % plan.total_counselors == index:
                        asked.add(conv)
                        await ws.send(json.dumps({"type": "take", "conv": conv}))
            elif frame["type"] == "taken":
                # Not waiting here for the run to start: this loop must go on taking chats.
                senders.append(asyncio.create_task(
                    sender(ws, f"c{index}x{len(senders)}", plan, result, go_time, frame["conv"])))
            elif frame["type"] == "take_failed":
                result.setup_errors += 1
            collect(frame, "counselor", result)
            if go_time and time.monotonic() > go_time[0] + plan.seconds + DRAIN_SECONDS:
                break
        for task in senders:
            task.cancel()


def worker_main(plan: Plan, ready_queue: Any, go: Event, results: Any) -> None:
    result = Result()

    async def run() -> None:
        active = asyncio.Event()
        go_time: list[float] = []
        ready = [0]
        gate = asyncio.Semaphore(START_CONCURRENCY)
        limits = httpx.Limits(max_connections=START_CONCURRENCY)
        async with httpx.AsyncClient(base_url=plan.visitor_url, limits=limits, timeout=60) as http:
            tasks = [asyncio.create_task(counselor(plan, plan.counselor_index + i, go_time, result))
                     for i in range(plan.counselors)]
            tasks += [asyncio.create_task(visitor(plan, i, http, gate, active, go_time, result, ready))
                      for i in range(plan.visitors)]
            all_active = asyncio.create_task(active.wait())
            await asyncio.wait([all_active, *tasks], timeout=SETUP_SECONDS,
                               return_when=asyncio.FIRST_COMPLETED)
            failed = [task for task in tasks if task.done()]
            if failed or not active.is_set():
                raise RuntimeError(f"worker {plan.worker}: set-up failed") from (
                    failed[0].exception() if failed else None)
            ready_queue.put(plan.worker)
            await asyncio.to_thread(go.wait)
            go_time.append(time.monotonic())
            done, pending = await asyncio.wait(tasks, timeout=plan.seconds + DRAIN_SECONDS + 30)
            for task in pending:
                task.cancel()
            for task in done:
                if task.exception():
                    result.setup_errors += 1

    asyncio.run(run())
    results.put(result)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def report(args: argparse.Namespace, results: list[Result], setup_s: float, elapsed_s: float,
           servers: list[ServerProcess], cpu_before: list[float]) -> None:
    sent = [cid for r in results for cid in r.sent]
    received = [item for r in results for item in r.received]
    counts: dict[str, int] = {}
    for cid, _ in received:
        counts[cid] = counts.get(cid, 0) + 1
    print(f"machine: {os.cpu_count()} cores; {args.pairs} pairs, {args.workers} client workers, "
          f"{args.chats_per_counselor} chats per counselor socket, 1 message / {args.interval:g} s "
          f"per side, {args.seconds:g} s")
    print(f"set-up (start {args.pairs} chats, connect, take all): {setup_s:.1f} s")
    for direction, prefix in (("visitor -> counselor", "v"), ("counselor -> visitor", "c")):
        latencies = [ms for cid, ms in received if cid.startswith(prefix) and counts[cid] == 1]
        if latencies:
            print(f"{direction}: n={len(latencies)} p50={statistics.median(latencies):.1f} ms "
                  f"p90={percentile(latencies, 90):.1f} ms p99={percentile(latencies, 99):.1f} ms "
                  f"max={max(latencies):.1f} ms")
    print(f"delivered: {len(received) / args.seconds:.0f} messages/s; sent {len(sent)}, "
          f"lost {len(set(sent) - set(counts))}, duplicated {sum(1 for n in counts.values() if n > 1)}, "
          f"client errors {sum(r.setup_errors for r in results)}")
    for name, server, before in zip("AB", servers, cpu_before, strict=True):
        assert server.process is not None
        pid = server.process.pid
        print(f"server {name}: {100 * (cpu_seconds(pid) - before) / elapsed_s:.0f} % of one core, "
              f"{rss_mib(pid):.0f} MiB resident")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between one side's messages")
    parser.add_argument("--chats-per-counselor", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--redis-url", help="default: a private redis-server started for the run")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8 * args.pairs + 1024)), hard))

    with contextlib.ExitStack() as stack:
        redis_url = args.redis_url or stack.enter_context(embedded_redis())
        env = server_env(redis_url, QUEUE_MAX=str(args.pairs + 10), RATE_LIMIT_MESSAGES="100000")
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nexus-bench-")))
        servers = [ServerProcess(env, logs / f"server-{name}.log").start() for name in "AB"]
        for server in servers:
            stack.callback(server.stop)
        username, password = add_staff(env, name="Bench")
        cookie = asyncio.run(staff_login(servers[1], username, password))

        counselors = max(1, -(-args.pairs // args.chats_per_counselor))
        context = multiprocessing.get_context("spawn")
        ready_queue, results_queue, go = context.Queue(), context.Queue(), context.Event()
        processes = []
        for w in range(args.workers):
            share = range(w * args.pairs // args.workers, (w + 1) * args.pairs // args.workers)
            mine = range(w * counselors // args.workers, (w + 1) * counselors // args.workers)
            plan = Plan(w, len(share), len(mine), mine.start, counselors, servers[0].url, servers[1].url,
                        cookie, args.interval, args.seconds)
            process = context.Process(target=worker_main, args=(plan, ready_queue, go, results_queue))
            process.start()
            processes.append(process)
        started = time.monotonic()
        waiting_for = args.workers
        while waiting_for:
            try:
                ready_queue.get(timeout=1)
                waiting_for -= 1
            except queue.Empty:
                if not all(process.is_alive() for process in processes):
                    raise SystemExit("a client worker failed during set-up (see above)") from None
                if time.monotonic() - started > SETUP_SECONDS:
                    raise SystemExit("set-up took too long") from None
        setup_s = time.monotonic() - started
        assert all(s.process is not None for s in servers)
        cpu_before = [cpu_seconds(s.process.pid) for s in servers if s.process]
        go.set()
        began = time.monotonic()
        results = [results_queue.get(timeout=args.seconds + DRAIN_SECONDS + 120) for _ in processes]
        for process in processes:
            process.join(10)
        report(args, results, setup_s, time.monotonic() - began, servers, cpu_before)


if __name__ == "__main__":
    main()
