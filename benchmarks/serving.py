"""Serving benchmark: sagepipe's model server against the official SageMaker PyTorch stack.

The reference is what SageMaker's PyTorch endpoints run: sagemaker-pytorch-inference 2.0.25
on TorchServe 0.12, installed here in its own virtualenv (under --cache-dir) and started
without Docker through the toolkit's own ``serve`` entry point. Both servers get the same
TorchScript models (an MLP 64-256-256-2 and an MLP 1024-4096-4096-10), the same NPY requests
(the SDK PyTorchPredictor's default), 2 workers each, and the same loopback load (wrk when
installed, else a bounded asyncio client) at each concurrency for --duration seconds after a
short warm-up. sagepipe serves the large model with dynamic batching (--max-batch-size 32).

Printed per model and server: time from launch to the first successful /invocations, idle
memory of the whole process tree (RSS and PSS), and req/s, p50, p99 per concurrency; then
the ratios, measured in this run. When the reference cannot run, sagepipe is still measured
and the reason is printed.

    python benchmarks/serving.py [--duration 15] [--concurrency 1,8,32] [--workers 2]
                                 [--skip-reference] [--cache-dir DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import itertools

from serving_support import procs, reference
from serving_support.loadgen import LoadResult, generator_name, run_load

CONTENT_TYPE = ACCEPT = "application/x-npy"
TARGETS = {"small": 4.0, "large": 3.0}


@dataclass(frozen=True)
class Scenario:
    name: str
    sizes: tuple[int, ...]
    ours_args: tuple[str, ...]


SCENARIOS = (
    Scenario("small", (64, 256, 256, 2), ()),
    Scenario("large", (1024, 4096, 4096, 10), ("--max-batch-size", "32")),
)


@dataclass
class Measurement:
    server: str
    startup_s: float = 0.0
    rss_mb: float = 0.0
    pss_mb: float = 0.0
    loads: dict[int, LoadResult] = field(default_factory=dict)
    error: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_model(path: Path, sizes: tuple[int, ...]) -> Path:
    import torch

    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(n_in, n_out))
        if index < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    path.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(torch.nn.Sequential(*layers)), str(path / "model.pt"))
    return path


def payload(sizes: tuple[int, ...]) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    np.save(buffer, rng.standard_normal((1, sizes[0])).astype(np.float32))
    return buffer.getvalue()


def invoke(port: int, body: bytes) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(
            "POST", "/invocations", body, {"Content-Type": CONTENT_TYPE, "Accept": ACCEPT}
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_first_invocation(
    port: int, body: bytes, process: subprocess.Popen[bytes], started: float, log: Path
) -> tuple[float, bytes]:
    deadline = started + 300
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"exited with status {process.returncode}:\n{tail}")
        try:
            status, answer = invoke(port, body)
            if status == 200:
                return time.perf_counter() - started, answer
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError("no successful /invocations within 300 s")


def measure_load(
    measurement: Measurement, port: int, body: bytes, concurrencies: list[int], duration: float
) -> None:
    url = f"http://127.0.0.1:{port}"
    for concurrency in concurrencies:
        run_load(url, body, CONTENT_TYPE, ACCEPT, concurrency, min(3.0, duration))  # warm-up
        measurement.loads[concurrency] = run_load(
            url, body, CONTENT_TYPE, ACCEPT, concurrency, duration
        )


def run_ours(
    scenario: Scenario, model: Path, body: bytes, args: argparse.Namespace, work: Path
) -> tuple[Measurement, bytes]:
    measurement = Measurement("sagepipe")
    port = free_port()
    log = work / f"sagepipe-{scenario.name}.log"
    command = [
        sys.executable,
        "-m",
        "sagepipe",
        "serve",
        str(model),
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        *scenario.ours_args,
    ]
    started = time.perf_counter()
    with log.open("wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    answer = b""
    try:
        measurement.startup_s, answer = wait_first_invocation(port, body, process, started, log)
        time.sleep(3)
        measurement.rss_mb, measurement.pss_mb = procs.memory_mb(procs.descendants([process.pid]))
        measure_load(measurement, port, body, args.concurrencies, args.duration)
    except (RuntimeError, ValueError, subprocess.SubprocessError) as exc:
        measurement.error = f"{type(exc).__name__}: {exc}"
    finally:
        procs.kill_all(procs.descendants([process.pid]), timeout=30)
        process.wait()
    return measurement, answer


def run_reference(
    scenario: Scenario,
    model: Path,
    body: bytes,
    args: argparse.Namespace,
    work: Path,
    venv: Path,
) -> tuple[Measurement, bytes]:
    measurement = Measurement("official")
    if procs.find_by_cmdline(reference.TS_MARKER):
        raise reference.ReferenceUnavailable(
            "another TorchServe is already running on this machine; the toolkit refuses to "
            "start a second one (multiple ts model servers are not supported)"
        )
    port = free_port()
    log = work / f"official-{scenario.name}.log"
    run_dir = work / f"official-{scenario.name}"
    run_dir.mkdir()
    started = time.perf_counter()
    process = reference.start(venv, model / "model.pt", run_dir, port, args.workers, log)
    answer = b""
    try:
        measurement.startup_s, answer = wait_first_invocation(port, body, process, started, log)
        time.sleep(3)
        pids = procs.descendants([process.pid, *procs.find_by_cmdline(reference.TS_MARKER)])
        measurement.rss_mb, measurement.pss_mb = procs.memory_mb(pids)
        measure_load(measurement, port, body, args.concurrencies, args.duration)
    except (RuntimeError, ValueError, subprocess.SubprocessError) as exc:
        measurement.error = f"{type(exc).__name__}: {exc}"
    finally:
        pids = procs.descendants([process.pid, *procs.find_by_cmdline(reference.TS_MARKER)])
        procs.kill_all([process.pid], timeout=10)
        procs.kill_all(pids, timeout=20)
        process.wait()
    return measurement, answer


def print_measurements(scenario: Scenario, rows: list[Measurement]) -> None:
    print(f"\n== {scenario.name}: MLP {'-'.join(map(str, scenario.sizes))} ==")
    for row in rows:
        if row.error:
            print(f"  {row.server:9s} FAILED: {row.error}")
            continue
        print(
            f"  {row.server:9s} startup {row.startup_s:6.2f} s   idle RSS {row.rss_mb:7.0f} MiB"
            f" (PSS {row.pss_mb:6.0f} MiB)"
        )
        for concurrency, load in row.loads.items():
            print(
                f"  {'':9s} c={concurrency:<3d} {load.requests_per_s:9.1f} req/s   "
                f"p50 {load.p50_ms:7.2f} ms   p99 {load.p99_ms:7.2f} ms   errors {load.errors}"
            )


def print_ratios(scenario: Scenario, ours: Measurement, ref: Measurement) -> dict[str, float]:
    ratios: dict[str, float] = {}
    print(f"  ratios (sagepipe vs official, same run) for {scenario.name}:")
    for concurrency, load in ours.loads.items():
        other = ref.loads.get(concurrency)
        if other is None or other.requests_per_s == 0:
            continue
        speed = load.requests_per_s / other.requests_per_s
        p99 = other.p99_ms / load.p99_ms if load.p99_ms else float("inf")
        ratios[f"c{concurrency}_throughput_x"] = speed
        ratios[f"c{concurrency}_p99_lower_x"] = p99
        print(f"    c={concurrency:<3d} throughput {speed:5.2f}x   p99 {p99:5.2f}x lower")
    startup = ref.startup_s / ours.startup_s
    memory = ours.rss_mb / ref.rss_mb
    pss = ours.pss_mb / ref.pss_mb
    ratios.update(startup_faster_x=startup, rss_fraction=memory, pss_fraction=pss)
    print(f"    startup {startup:5.2f}x faster   idle RSS {memory:4.2f}x   idle PSS {pss:4.2f}x")
    target = TARGETS[scenario.name]
    top = max(ours.loads)
    ok_speed = ratios.get(f"c{top}_throughput_x", 0) >= target
    ok_p99 = ratios.get(f"c{top}_p99_lower_x", 0) > 1
    print(
        f"    targets: c={top} throughput >= {target:g}x {'met' if ok_speed else 'MISSED'}; "
        f"lower p99 {'met' if ok_p99 else 'MISSED'}; startup <= 1/3 "
        f"{'met' if startup >= 3 else 'MISSED'}; lower idle RSS {'met' if memory < 1 else 'MISSED'}"
    )
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--models", default="small,large")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sagepipe-bench",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    args.concurrencies = [int(c) for c in args.concurrency.split(",")]
    print(
        f"load generator: {generator_name()}; {args.workers} workers each; "
        f"{args.duration:g} s per concurrency; {os.cpu_count()} cores"
    )

    venv: Path | None = None
    why_not = "skipped (--skip-reference)" if args.skip_reference else ""
    if not args.skip_reference:
        try:
            venv = reference.ensure_installed(args.cache_dir)
        except (reference.ReferenceUnavailable, subprocess.CalledProcessError, OSError) as exc:
            why_not = f"the official stack could not be installed: {exc}"
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="sagepipe-bench-") as tmp:
        work = Path(tmp)
        for scenario in SCENARIOS:
            if scenario.name not in args.models.split(","):
                continue
            model = make_model(work / scenario.name, scenario.sizes)
            body = payload(scenario.sizes)
            ours, our_answer = run_ours(scenario, model, body, args, work)
            rows = [ours]
            ref: Measurement | None = None
            if venv is not None:
                try:
                    ref, ref_answer = run_reference(scenario, model, body, args, work, venv)
                    rows.append(ref)
                    if not ref.error and ref_answer != our_answer:
                        print("  WARNING: the two servers answered the same request differently")
                except reference.ReferenceUnavailable as exc:
                    why_not = str(exc)
            print_measurements(scenario, rows)
            entry: dict[str, object] = {"measurements": [asdict(r) for r in rows]}
            if ref is not None and not ref.error and not ours.error:
                entry["ratios"] = print_ratios(scenario, ours, ref)
            elif why_not or (ref is not None and ref.error):
                reason = why_not or f"the official stack failed: {ref.error if ref else ''}"
                print(f"  no ratios: {reason}")
                entry["reference_unavailable"] = reason
            results[scenario.name] = entry
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
