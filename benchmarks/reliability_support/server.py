"""Model server figures for ``benchmarks/reliability.py``: load with errors, a soak's memory
growth, a killed worker (requests lost, time to recover, load back on it) and the bad-request
corpus with each kind's answer. Loopback only, bounded in time.

    python benchmarks/reliability_support/server.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
for _path in (_ROOT, _ROOT / "benchmarks"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from serving_support import procs  # noqa: E402
from serving_support.loadgen import generator_name, run_load  # noqa: E402
from tests.reliability.bad_requests import CORPUS, SERVER_ENV, send  # noqa: E402
from tests.reliability.connections import established  # noqa: E402
from tests.reliability.server_process import ServerProcess, serve  # noqa: E402
from tests.serving.support import write_linear  # noqa: E402

BODY = b"[[1.0, 2.0]]"
JSON = "application/json"
CONCURRENCY = 64
WORKERS = 2
_REQUEST = (
    b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Accept: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)
) + BODY
_CLOSE = re.compile(rb"(?i)\r\nconnection:\s*close\r\n")


def _server_rss_mb(server: ServerProcess) -> float:
    return procs.memory_mb(procs.descendants([server.process.pid]))[0]


# ------------------------------------------------------------------------------ load and soak


def _load_and_soak(model: Path, quick: bool) -> list[str]:
    load_s, soak_s = (5.0, 10.0) if quick else (30.0, 60.0)
    with serve(model, workers=WORKERS) as server:
        server.wait_healthy()
        url = f"http://127.0.0.1:{server.port}"
        run_load(url, BODY, JSON, JSON, CONCURRENCY, 2.0)  # warm-up
        load = run_load(url, BODY, JSON, JSON, CONCURRENCY, load_s)
        before = _server_rss_mb(server)
        soak = run_load(url, BODY, JSON, JSON, CONCURRENCY, soak_s)
        after = _server_rss_mb(server)
    return [
        f"| load, c={CONCURRENCY}, {load_s:g} s | {load.requests:,} requests, "
        f"{load.requests_per_s:,.0f} req/s, p99 {load.p99_ms:.1f} ms | {load.errors} |",
        f"| soak, c={CONCURRENCY}, {soak_s:g} s | {soak.requests:,} requests; RSS of the server "
        f"{before:,.0f} -> {after:,.0f} MiB ({after - before:+,.1f} MiB) | {soak.errors} |",
    ]


# ------------------------------------------------------------------------------ killed worker


@dataclass
class _Tally:
    ok: int = 0
    failed: int = 0
    done_at: list[float] = field(default_factory=list)


async def _client(port: int, deadline: float, tally: _Tally) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert reader is not None
            writer.write(_REQUEST)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            if head[9:12] == b"200":
                tally.ok += 1
                tally.done_at.append(time.monotonic())
            else:
                tally.failed += 1
            if _CLOSE.search(head):
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            tally.failed += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.001)
    if writer is not None:
        writer.close()


def _rate(times: list[float], start: float, end: float) -> float:
    return sum(1 for t in times if start <= t < end) / (end - start)


def _killed_worker(model: Path, quick: bool) -> list[str]:
    before_s, after_s = (3.0, 5.0) if quick else (5.0, 15.0)
    with serve(model, workers=WORKERS) as server:
        server.wait_healthy()
        run_load(server.url, BODY, JSON, JSON, CONCURRENCY, 2.0)  # warm-up
        survivor, victim = server.worker_pids()
        tally = _Tally()
        started = time.monotonic()
        killed_at = started + before_s
        deadline = killed_at + after_s
        restart: dict[str, float] = {}

        async def watch() -> None:
            await asyncio.sleep(killed_at - time.monotonic())
            os.kill(victim, signal.SIGKILL)
            while time.monotonic() < deadline - 0.2:
                pids = set(server.worker_pids()) - {survivor, victim}
                if pids and "process" not in restart:
                    restart["process"] = time.monotonic() - killed_at
                    restart["pid"] = pids.pop()
                pid = int(restart.get("pid", 0))
                if pid and established(pid, server.port) > 0:
                    restart.setdefault("load", time.monotonic() - killed_at)
                    # The restarted worker's share of the clients' connections, last seen.
                    restart["share"] = established(pid, server.port)
                await asyncio.sleep(0.002 if "load" not in restart else 0.1)

        async def main() -> None:
            clients = [_client(server.port, deadline, tally) for _ in range(CONCURRENCY)]
            await asyncio.gather(watch(), *clients)

        asyncio.run(main())
    final_share = int(restart.get("share", 0))
    rate_before = _rate(tally.done_at, started + 1.0, killed_at)
    rate_after = _rate(tally.done_at, deadline - min(3.0, after_s / 2), deadline)
    process_ms = restart.get("process", float("nan")) * 1000
    load_ms = restart.get("load", float("nan")) * 1000
    return [
        f"| SIGKILL of 1 of {WORKERS} workers under c={CONCURRENCY} | {tally.failed} requests "
        f"lost of {tally.ok + tally.failed:,}; restarted in {process_ms:.0f} ms, serving "
        f"connections {load_ms:.0f} ms after the kill; it holds {final_share} of "
        f"{CONCURRENCY} connections at the end; throughput after / before "
        f"{rate_after / rate_before:.2f} | {tally.failed} |",
    ]


# ------------------------------------------------------------------------------ the corpus


def _cell(text: str, limit: int = 110) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _corpus(model: Path) -> tuple[list[str], int]:
    rows = []
    unexpected = 0
    with serve(model, env=SERVER_ENV) as server:
        server.wait_healthy()
        for case in CORPUS:
            answer = send(case, server.port)
            got = answer.statuses[len(case.before) :]
            ok = (
                answer.statuses[: len(case.before)] == list(case.before)
                and len(got) == 1
                and got[0] in case.expected
                and server.ping() == 200
            )
            unexpected += not ok
            shown = " ".join(map(str, answer.statuses)) or "none"
            rows.append(
                f"| {_cell(case.kind, 60)} | {shown}{'' if ok else ' (UNEXPECTED)'} | "
                f"{_cell(answer.reason)} |"
            )
        if "Traceback" in server.log:
            rows.append("| (server log) | | a traceback was logged |")
            unexpected += 1
    return rows, unexpected


def measure(*, quick: bool = False) -> str:
    """Run the server measurements and return them as a Markdown section."""
    with tempfile.TemporaryDirectory(prefix="sagepipe-reliability-") as tmp:
        model = write_linear(Path(tmp) / "model")
        load_rows = _load_and_soak(model, quick)
        kill_rows = _killed_worker(model, quick)
        corpus_rows, unexpected = _corpus(model)
    lines = [
        "### Model server",
        "",
        f"`sagepipe serve` of a TorchScript Linear(2 -> 1), {WORKERS} workers, JSON requests "
        f"over loopback ({generator_name()}), {os.cpu_count()} cores"
        f"{', quick run' if quick else ''}.",
        "",
        "| scenario | result | errors |",
        "| --- | --- | --- |",
        *load_rows,
        *kill_rows,
        "",
        f"Bad-request corpus: {len(CORPUS)} kinds sent as raw bytes, each on its own "
        "connection, to one worker with a 1 MB payload limit and a 1 s request read timeout; "
        f"{len(CORPUS) - unexpected} answered as expected, /ping answered after each.",
        "",
        "| kind | status | reason |",
        "| --- | --- | --- |",
        *corpus_rows,
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short load and soak")
    args = parser.parse_args()
    print(measure(quick=args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
