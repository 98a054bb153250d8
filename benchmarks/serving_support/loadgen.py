"""Loopback load: ``wrk`` when it is installed, else a bounded asyncio keep-alive client.

Both keep ``concurrency`` connections busy for ``duration`` seconds, one request in flight
per connection, and report requests/s, p50 and p99 latency and the non-2xx count.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class LoadResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def generator_name() -> str:
    return "wrk" if shutil.which("wrk") else "asyncio client"


def run_load(
    url: str, body: bytes, content_type: str, accept: str, concurrency: int, duration: float
) -> LoadResult:
    if shutil.which("wrk"):
        return _wrk(url, body, content_type, accept, concurrency, duration)
    return asyncio.run(_asyncio_load(url, body, content_type, accept, concurrency, duration))


# ---------------------------------------------------------------------------- wrk


def _lua_string(data: bytes) -> str:
    return '"' + "".join(f"\\{byte:03d}" for byte in data) + '"'


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _wrk(
    url: str, body: bytes, content_type: str, accept: str, concurrency: int, duration: float
) -> LoadResult:
    script = (
        'wrk.method = "POST"\n'
        f"wrk.body = {_lua_string(body)}\n"
        f'wrk.headers["Content-Type"] = "{content_type}"\n'
        f'wrk.headers["Accept"] = "{accept}"\n'
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        threads = 1 if concurrency < 16 else 2
        output = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{concurrency}",
                f"-d{duration:g}s",
                "--latency",
                "-s",
                handle.name,
                f"{url}/invocations",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration + 60,
        ).stdout
    finally:
        Path(handle.name).unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    # Anchored: "87.50%" in the thread stats must not pass for the 50th percentile.
    p50 = _ms(re.search(r"(?m)^\s+50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"(?m)^\s+99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return LoadResult(rps, p50, p99, errors, total)


# ---------------------------------------------------------------------------- asyncio


_CLOSE = re.compile(rb"(?i)\r\nconnection:\s*close\r\n")


async def _connection(
    host: str, port: int, request: bytes, deadline: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status >= 300:
                errors[0] += 1
            if _CLOSE.search(head):
                # The server asked to close (e.g. to rebalance over workers): reconnect, as
                # wrk and HTTP clients do.
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _asyncio_load(
    url: str, body: bytes, content_type: str, accept: str, concurrency: int, duration: float
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"POST /invocations HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
        f"Accept: {accept}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors = [0]
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(
        *(_connection(host, port, request, deadline, latencies, errors) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()

    def quantile(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0
        )

    return LoadResult(
        len(latencies) / elapsed, quantile(0.5), quantile(0.99), errors[0], len(latencies)
    )
