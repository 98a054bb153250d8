"""One worker's application: routes, model state and graceful draining.

Routes: ``GET /ping`` (200 once the model is loaded, 503 before), ``POST /invocations``,
``GET /execution-parameters``. Everything else is 404 (405 for a wrong method).

A worker whose handler ran past the response timeout keeps listening and answers 503 until
the supervisor has a replacement listening on the port (then it drains and exits): with one
worker, a port without a listener would answer connection resets instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from sagepipe.serving.connections import ConnectionTable
from sagepipe.serving.dispatcher import EXIT_TIMED_OUT, Dispatcher, Job
from sagepipe.serving.messages import Invocation, Response
from sagepipe.serving.protocol import HttpConnection, Request, decoded_headers, header_text
from sagepipe.serving.settings import WorkerSettings

if TYPE_CHECKING:
    from sagepipe.serving.chain import HandlerChain

log = logging.getLogger("sagepipe.serving")

_HEALTHY = Response(200, b'{"status": "Healthy"}\n', "application/json")
_LOADING = Response(503, b'{"status": "Loading"}\n', "application/json")
_RESTARTING = Response(503, b'{"status": "Restarting"}\n', "application/json")
#: Without word from the supervisor, a worker stuck in a handler exits after this long.
_REPLACEMENT_WAIT_S = 10.0
#: A connection accepted this recently that has sent nothing yet is not closed by a drain.
_FRESH_GRACE_S = 0.5


class WorkerApp:
    """Routes requests of all connections of one worker process."""

    def __init__(
        self,
        settings: WorkerSettings,
        loop: asyncio.AbstractEventLoop,
        on_drained: Callable[[], None],
        notify: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.settings = settings
        self.loop = loop
        self.max_payload = settings.max_payload_bytes
        self.max_header_bytes = settings.max_header_bytes
        self.connections = ConnectionTable(loop, settings)
        self.dispatcher = Dispatcher(loop, settings, self._respond, self._restart)
        self._notify = notify
        self._drained = False
        self._recheck_pending = False
        self.server: asyncio.AbstractServer | None = None
        #: The listening sockets ``server`` serves (set by the worker).
        self.listeners: list[socket.socket] = []
        self.draining = False
        self.exit_code = 0
        self._needs_headers = False
        self._on_drained = on_drained
        self._execution_parameters = Response(
            200,
            json.dumps(
                {
                    "MaxConcurrentTransforms": settings.workers,
                    "BatchStrategy": "MULTI_RECORD",
                    "MaxPayloadInMB": max(1, settings.max_payload_bytes // (1024 * 1024)),
                }
            ).encode(),
            "application/json",
        )

    @property
    def loaded(self) -> bool:
        """Whether the model is loaded and invocations are served."""
        return self.dispatcher.chain is not None

    def model_loaded(self, chain: HandlerChain, thread_setup: Callable[[], None]) -> None:
        """Start serving invocations with ``chain`` (called on the loop thread).

        ``thread_setup`` runs first on the inference thread (threads, CUDA device).
        """
        self._needs_headers = chain.needs_context
        self.dispatcher.start(chain, thread_setup)

    # ------------------------------------------------------------------ routing

    def handle(self, request: Request) -> None:
        """Answer one request, now or when its invocation has run."""
        path = request.path
        if request.conn.over_limit and path != b"/ping":
            self._respond(request, Response.error(503, self.connections.full_message()))
        elif path == b"/invocations":
            if request.method != b"POST":
                self._respond(request, Response.error(405, "use POST /invocations"))
            elif request.too_large:
                self._respond(request, self._too_large())
            elif self.dispatcher.chain is None:
                self._respond(request, Response.error(503, "the model is still loading"))
            else:
                self._invoke(request)
        elif path == b"/ping":
            if self.dispatcher.stuck:
                self._respond(request, _RESTARTING)
            else:
                self._respond(request, _HEALTHY if self.loaded else _LOADING)
        elif path == b"/execution-parameters":
            self._respond(request, self._execution_parameters)
        else:
            message = (
                "not found; the routes are GET /ping, POST /invocations and "
                "GET /execution-parameters"
            )
            self._respond(request, Response.error(404, message))

    def _invoke(self, request: Request) -> None:
        headers = request.headers
        invocation = Invocation(
            request.body,
            header_text(headers, b"content-type", "application/octet-stream"),
            header_text(headers, b"accept"),
            decoded_headers(headers) if self._needs_headers else {},
        )
        rejected = self.dispatcher.submit(Job(request, invocation))
        if rejected is not None:
            self._respond(request, rejected)

    def too_large_message(self) -> str:
        """Why a request body over the payload limit is refused."""
        mb = self.max_payload / (1024 * 1024)
        return (
            f"the request body is larger than {mb:g} MB (SAGEMAKER_MAX_PAYLOAD_IN_MB); send "
            "smaller requests or raise the limit"
        )

    def header_too_large_message(self) -> str:
        """Why a request line + headers over the limit is refused."""
        return (
            f"the request line and headers are larger than {self.max_header_bytes} bytes "
            "(SAGEPIPE_MAX_HEADER_BYTES); send fewer or shorter headers"
        )

    def _too_large(self) -> Response:
        return Response.error(413, self.too_large_message())

    def _respond(self, request: Request, response: Response) -> None:
        request.conn.respond(request, response)
        if self.draining:
            self.check_drained()

    # ------------------------------------------------------------------ draining

    def begin_drain(self) -> None:
        """Stop accepting, let in-flight requests finish, close idle connections."""
        if self.draining:
            return
        self.draining = True
        log.info("draining: finishing %d queued invocations", self.dispatcher.in_flight)
        if self.server is not None:
            self._stop_listening(self.server)
        now = self.loop.time()
        for conn in self.connections:
            if conn.is_idle() and not conn.is_fresh(now, _FRESH_GRACE_S):
                conn.close()
        self.check_drained()

    def _stop_listening(self, server: asyncio.AbstractServer) -> None:
        # Connections already in the listening socket's accept queue would be reset when it
        # closes: hold it open through a duplicate, accept what is queued, then close it.
        listeners = [socket.socket(fileno=os.dup(sock.fileno())) for sock in self.listeners]
        server.close()
        for listener in listeners:
            with listener:
                listener.setblocking(False)
                while True:
                    try:
                        accepted, _ = listener.accept()
                    except OSError:  # BlockingIOError once the queue is empty
                        break
                    self.loop.create_task(
                        self.loop.connect_accepted_socket(lambda: HttpConnection(self), accepted)
                    )

    def _restart(self) -> None:
        # The inference thread is stuck in a handler. Ask the supervisor for a replacement and
        # keep answering (503) until it is listening; its SIGTERM then drains this worker.
        self.exit_code = EXIT_TIMED_OUT
        self._notify("restart")
        self.loop.call_later(_REPLACEMENT_WAIT_S, self.begin_drain)

    def _recheck(self) -> None:
        self._recheck_pending = False
        self.check_drained()

    def _stop_loop_soon(self) -> None:
        # A stuck inference thread never ends; give writes a moment to flush, then stop.
        self.loop.call_later(0.2, self._on_drained)

    def connection_closed(self) -> None:
        """A connection went away."""
        if self.draining:
            self.check_drained()

    def check_drained(self) -> None:
        """Stop the worker once nothing is in flight."""
        if self._drained or self._recheck_pending:
            return
        if self.dispatcher.idle and all(c.is_idle() for c in self.connections):
            now = self.loop.time()
            if any(c.is_fresh(now, _FRESH_GRACE_S) for c in self.connections):
                # Accepted just before the drain, their requests are on the way: answer them.
                self._recheck_pending = True
                self.loop.call_later(_FRESH_GRACE_S, self._recheck)
                return
            self._drained = True
            for conn in self.connections:
                conn.close()
            self.dispatcher.stop()
            self.connections.stop()
            if self.exit_code:
                self._stop_loop_soon()
            else:
                self._on_drained()
