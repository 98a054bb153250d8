"""A worker process: ``python -m sagepipe.serving.worker`` (started by the supervisor).

It binds the shared port with ``SO_REUSEPORT`` (the kernel spreads connections over the
workers), serves ``/ping`` with 503 at once, loads the model in a thread, then reports
``ready`` (or ``failed <reason>``) on the status pipe the supervisor gave it, after
``listening`` once its socket accepts connections. It writes ``restart`` when a handler ran
past the response timeout. SIGTERM drains it: in-flight requests finish, then it exits 0.
SIGUSR1 (sent when another worker has restarted) closes each of its keep-alive connections
after its next response, so clients reconnect and spread over all workers again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import threading
import traceback

from sagepipe.serving.protocol import HttpConnection
from sagepipe.serving.settings import WorkerSettings
from sagepipe.serving.worker_app import WorkerApp

SETTINGS_ENV = "SAGEPIPE_WORKER_SETTINGS"
INDEX_ENV = "SAGEPIPE_WORKER_INDEX"
STATUS_FD_ENV = "SAGEPIPE_WORKER_STATUS_FD"
#: Exit status of a worker whose model could not be loaded.
EXIT_LOAD_FAILED = 3

log = logging.getLogger("sagepipe.serving")


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready socket on ``host:port`` shared with the other workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


class _Status:
    """The pipe to the supervisor."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, line: str) -> None:
        if self.fd >= 0:
            os.write(self.fd, (" ".join(line.split()) + "\n").encode("utf-8", "replace"))


def _load(app: WorkerApp, settings: WorkerSettings, index: int, status: _Status) -> None:
    loop = app.loop
    try:
        from sagepipe import __version__
        from sagepipe.serving import defaults
        from sagepipe.serving.chain import HandlerChain

        gpu = defaults.worker_gpu_id(index)
        properties = {
            "model_dir": str(settings.model_dir),
            "gpu_id": gpu,
            "batch_size": settings.max_batch_size,
            "server_name": "sagepipe",
            "server_version": __version__,
            "limit_max_image_pixels": True,
        }
        chain = HandlerChain.load(
            settings.model_dir,
            settings.code_dir,
            settings.program,
            properties,
            settings.default_accept,
        )
    except BaseException as exc:  # noqa: BLE001 - reported to the supervisor, then exit
        from sagepipe.errors import SagepipeError

        # sagepipe's own errors say what is wrong and how to fix it (the supervisor prints
        # the message); a traceback is for failures in the user's code.
        if not isinstance(exc, SagepipeError):
            traceback.print_exc()
        status.send(f"failed {type(exc).__name__}: {exc}")
        sys.stderr.flush()
        os._exit(EXIT_LOAD_FAILED)

    def on_inference_thread() -> None:
        # Intra-op threads and the CUDA device are per thread: set them where inference runs.
        defaults.configure_threads(settings.threads)
        defaults.worker_gpu_id(index)

    def loaded() -> None:
        app.model_loaded(chain, on_inference_thread)
        status.send("ready")

    loop.call_soon_threadsafe(loaded)


def _die_with_parent() -> None:
    # A killed supervisor must not leave workers holding the port.
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def main() -> int:
    """Run one worker (started as ``python -m sagepipe.serving.worker``) until drained."""
    settings = WorkerSettings.from_json(os.environ[SETTINGS_ENV])
    index = int(os.environ.get(INDEX_ENV, "0"))
    return run_worker(settings, index, int(os.environ.get(STATUS_FD_ENV, "-1")))


def run_worker(settings: WorkerSettings, index: int, status_fd: int) -> int:
    """Serve on the shared port until drained; returns the exit status.

    Also the entry of workers the supervisor forks (with torch already imported).
    """
    import uvloop

    _die_with_parent()
    status = _Status(status_fd)
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s worker-{index} [%(process)d] %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    app = WorkerApp(settings, loop, on_drained=loop.stop, notify=status.send)
    sock = bind_socket(settings.host, settings.port)
    app.server = loop.run_until_complete(
        loop.create_server(lambda: HttpConnection(app), sock=sock, backlog=2048)
    )
    app.listeners = [sock]
    loop.add_signal_handler(signal.SIGTERM, app.begin_drain)
    loop.add_signal_handler(signal.SIGUSR1, app.connections.shed)
    app.connections.start()
    status.send("listening")
    # Ctrl-C reaches the whole process group; the supervisor turns it into SIGTERM.
    loop.add_signal_handler(signal.SIGINT, lambda: None)
    threading.Thread(
        target=_load, args=(app, settings, index, status), name="sagepipe-load", daemon=True
    ).start()
    try:
        loop.run_forever()
    finally:
        loop.close()
    if app.exit_code:
        # The inference thread may be stuck in user code; do not wait for it.
        sys.stderr.flush()
        os._exit(app.exit_code)
    return 0


def preload() -> None:
    """Import what every worker needs, so forked workers start with it loaded."""
    import httptools  # noqa: F401
    import uvloop  # noqa: F401

    from sagepipe.serving import chain  # noqa: F401  (imports torch)


if __name__ == "__main__":
    raise SystemExit(main())
