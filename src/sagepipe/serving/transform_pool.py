"""Worker processes of a batch transform.

Each worker (``python -m sagepipe.serving.transform_worker``) loads the handler chain once
and answers chunks of requests in-process, batching them when the handlers allow. Frames on
its stdin/stdout are a JSON header plus the raw bodies (no pickling); the worker moves the
user's prints to stderr so they cannot corrupt the frames.
"""

from __future__ import annotations

import json
import os
import queue
import struct
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from sagepipe.serving.errors import TransformError
from sagepipe.serving.requirements import sagepipe_pythonpath

#: (status, body, content type) of one request.
Result = tuple[int, bytes, str]

SETTINGS_ENV = "SAGEPIPE_TRANSFORM_SETTINGS"
_FRAME = struct.Struct("<QQ")


def write_frame(stream: IO[bytes], header: dict[str, Any], bodies: list[bytes]) -> None:
    """Write one frame: lengths, JSON header, concatenated bodies."""
    head = json.dumps(header).encode("utf-8")
    payload = b"".join(bodies)
    stream.write(_FRAME.pack(len(head), len(payload)) + head)
    stream.write(payload)
    stream.flush()


def read_frame(stream: IO[bytes]) -> tuple[dict[str, Any], bytes] | None:
    """Read one frame; None at end of stream."""
    sizes = stream.read(_FRAME.size)
    if len(sizes) < _FRAME.size:
        return None
    head_size, payload_size = _FRAME.unpack(sizes)
    header = json.loads(stream.read(head_size))
    payload = stream.read(payload_size)
    if len(payload) < payload_size:
        return None
    return header, payload


def split_payload(payload: bytes, sizes: list[int]) -> list[bytes]:
    """Cut concatenated bodies back apart."""
    parts, offset = [], 0
    for size in sizes:
        parts.append(payload[offset : offset + size])
        offset += size
    return parts


class _Worker:
    def __init__(self, python: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [python, "-m", "sagepipe.serving.transform_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self.ready: bool | None = None

    def call(self, bodies: list[bytes], content_type: str, accept: str) -> list[Result]:
        stdin, stdout = self.process.stdin, self.process.stdout
        if stdin is None or stdout is None:
            raise TransformError("a transform worker has no pipes")
        if self.ready is None:
            status = read_frame(stdout)
            if status is None or "error" in status[0]:
                reason = status[0]["error"] if status else "it exited while loading the model"
                raise TransformError(
                    f"the model could not be loaded in a transform worker: {reason}"
                )
            self.ready = True
        header = {"content_type": content_type, "accept": accept, "sizes": [len(b) for b in bodies]}
        try:
            write_frame(stdin, header, bodies)
        except BrokenPipeError:
            raise TransformError("a transform worker exited unexpectedly") from None
        answer = read_frame(stdout)
        if answer is None:
            code = self.process.wait()
            raise TransformError(f"a transform worker exited with status {code} during a request")
        results = answer[0]["results"]
        bodies_out = split_payload(answer[1], [size for _, size, _ in results])
        return [
            (status, body, ctype)
            for (status, _, ctype), body in zip(results, bodies_out, strict=True)
        ]

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class TransformPool:
    """``workers`` processes with the model loaded once each; ``submit`` returns a Future."""

    def __init__(
        self,
        workers: int,
        python: str,
        model_dir: Path,
        code_dir: Path | None,
        program: str,
        env: dict[str, str],
        default_accept: str,
    ) -> None:
        threads = max(1, (os.cpu_count() or 1) // workers)
        settings = {
            "model_dir": str(model_dir),
            "code_dir": str(code_dir) if code_dir else None,
            "program": program,
            "threads": threads,
            "default_accept": default_accept,
        }
        child_env = {
            **env,
            "PYTHONPATH": sagepipe_pythonpath(env),
            SETTINGS_ENV: json.dumps(settings),
            "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", str(threads)),
        }
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._workers = [_Worker(python, child_env) for _ in range(workers)]
        for worker in self._workers:
            self._idle.put(worker)
        self._threads = ThreadPoolExecutor(max_workers=workers)

    def _call(self, bodies: list[bytes], content_type: str, accept: str) -> list[Result]:
        worker = self._idle.get()
        try:
            return worker.call(bodies, content_type, accept)
        finally:
            self._idle.put(worker)

    def submit(self, bodies: list[bytes], content_type: str, accept: str) -> Future[list[Result]]:
        """Send a chunk of request bodies to the next free worker."""
        return self._threads.submit(self._call, bodies, content_type, accept)

    def shutdown(self) -> None:
        """Stop accepting work, let the workers finish, and stop them."""
        self._threads.shutdown(wait=True, cancel_futures=True)
        for worker in self._workers:
            worker.stop()
