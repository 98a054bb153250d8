"""Helpers of the serving tests: tiny TorchScript models and a real server subprocess."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Weights are small integers so that every output is exact in float32: a batched and an
# unbatched forward then agree bit for bit whatever order the BLAS sums in.
LINEAR_WEIGHTS = [[1.0, 2.0]]
LINEAR_BIAS = [0.5]


# Handlers that sleep for the request's "sleep" seconds: for timeouts and busy connections.
SLOW_HANDLERS = """
    import json
    import time


    def model_fn(model_dir):
        return "model"


    def input_fn(request_body, content_type):
        return json.loads(request_body)


    def predict_fn(data, model):
        time.sleep(data.get("sleep", 0))
        return data


    def output_fn(prediction, accept):
        return json.dumps(prediction)
"""


def save_script(module: Any, path: Path) -> None:
    """``torch.jit.save(torch.jit.script(module))`` without its deprecation warnings."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(module), str(path))


def write_linear(model_dir: Path) -> Path:
    """``model.pt``: a TorchScript Linear(2 -> 1) with y = x0 + 2*x1 + 0.5."""
    import torch

    model_dir.mkdir(parents=True, exist_ok=True)
    layer = torch.nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(LINEAR_WEIGHTS))
        layer.bias.copy_(torch.tensor(LINEAR_BIAS))
    save_script(layer, model_dir / "model.pt")
    return model_dir


def write_mlp(model_dir: Path) -> Path:
    """``model.pt``: a TorchScript MLP 4 -> 8 -> 3 with integer weights (exact outputs)."""
    import torch

    model_dir.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randint(-3, 4, parameter.shape, generator=generator).float())
    save_script(model, model_dir / "model.pt")
    return model_dir


def write_code(model_dir: Path, source: str, name: str = "inference.py") -> Path:
    """Write ``code/<name>`` (dedented) into a model directory."""
    code = model_dir / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / name).write_text(textwrap.dedent(source))
    return code / name


def npy(array: Any) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def from_npy(body: bytes) -> Any:
    import numpy as np

    return np.load(io.BytesIO(body), allow_pickle=False)


class Server:
    """``sagepipe serve`` as a real subprocess on a free loopback port."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self.url = ""
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if "listening on " in line and not self.url:
                self.url = line.split("listening on ", 1)[1].strip()
                self._ready.set()
        self._ready.set()

    @property
    def log(self) -> str:
        return "".join(self.lines)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def wait_ready(self, timeout: float = 90) -> None:
        if not self._ready.wait(timeout) or not self.url:
            self.stop()
            raise RuntimeError(f"the server did not start:\n{self.log}")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            connection.close()

    def invoke(
        self, body: bytes, content_type: str, accept: str | None = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        sent = {
            "Content-Type": content_type,
            **{k.replace("_", "-"): v for k, v in headers.items()},
        }
        if accept is not None:
            sent["Accept"] = accept
        return self.request("POST", "/invocations", body, sent)

    def ping(self) -> int:
        return self.request("GET", "/ping")[0]

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.ping() == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server is not healthy:\n{self.log}")

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def serve_command(model: Path | str, *args: str) -> list[str]:
    return [sys.executable, "-m", "sagepipe", "serve", str(model), "--port", "0", *args]


@contextmanager
def running_server(
    model: Path | str,
    *args: str,
    env: dict[str, str] | None = None,
    workers: int = 1,
    new_session: bool = False,
) -> Iterator[Server]:
    """Start ``sagepipe serve MODEL --port 0 --workers N ARGS...``; stop it afterwards.

    ``new_session`` runs it in its own process group (as a shell job is).
    """
    process = subprocess.Popen(
        serve_command(model, "--workers", str(workers), *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=new_session,
    )
    server = Server(process)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def json_body(value: Any) -> bytes:
    return json.dumps(value).encode()
