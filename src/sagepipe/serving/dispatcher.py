"""Admission, queueing, dynamic batching and the response timeout of one worker.

Invocations run on one inference thread per worker, one batch at a time, as a TorchServe
backend worker runs one job at a time; the event loop keeps parsing, answering ``/ping``
and queueing meanwhile. The thread takes whatever is queued (up to ``max_batch_size``
requests with the same content type and accept) as soon as it is free, and waits a moment
(at most 5 ms, and a quarter of the last batch's run time) for as many requests as the last
batch held: under steady load the clients it just answered are sending their next requests,
and a lone request never waits. ``max_batch_delay_ms`` instead makes every batch wait up to
that long to fill up to ``max_batch_size`` (TorchServe's ``maxBatchDelay``).

A request whose handler runs past the response timeout is answered 504, those queued
behind it 503, and the worker then exits so the supervisor starts a fresh one, as
TorchServe restarts a stuck backend worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from sagepipe.serving.messages import Invocation, Response
from sagepipe.serving.settings import WorkerSettings

if TYPE_CHECKING:
    from sagepipe.serving.chain import HandlerChain
    from sagepipe.serving.protocol import Request

log = logging.getLogger("sagepipe.serving")

#: Exit status of a worker that gave up on a timed-out handler; the supervisor restarts it.
EXIT_TIMED_OUT = 75
#: Without an explicit batch delay, a batch waits for the next requests at most this long...
_MAX_FILL_S = 0.005
#: ...and at most this fraction of the last batch's run time.
_FILL_FRACTION = 0.25
_RESTARTING = "the worker is restarting after a timed-out invocation; retry"


class Job:
    """A request waiting for its invocation, with its batching key."""

    __slots__ = ("invocation", "key", "request", "response")

    def __init__(self, request: Request, invocation: Invocation) -> None:
        self.request = request
        self.invocation = invocation
        self.key = (invocation.content_type, invocation.accept)
        self.response: Response | None = None


class Dispatcher:
    """Feeds a worker's invocations to its inference thread and answers them in order."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        settings: WorkerSettings,
        respond: Callable[[Request, Response], None],
        on_stuck: Callable[[], None],
    ) -> None:
        self.loop = loop
        self.settings = settings
        self.respond = respond
        self.on_stuck = on_stuck
        self.chain: HandlerChain | None = None
        self.in_flight = 0
        self.running: tuple[float, list[Job]] | None = None
        self._inbox: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._done: deque[Job] = deque()
        self._delivery_pending = False
        self._batch = settings.max_batch_size
        self._delay = settings.max_batch_delay_ms / 1000.0
        self._stuck = False
        self._last_size = 1
        self._last_duration = 0.0

    # ------------------------------------------------------------------ loop side

    def submit(self, job: Job) -> Response | None:
        """Queue a job; returns a 503 answer instead when the worker is full or restarting."""
        if self._stuck:
            return Response.error(503, _RESTARTING)
        if self.in_flight >= self.settings.capacity:
            return Response.error(503, self._full_reason())
        self.in_flight += 1
        self._inbox.put(job)
        return None

    def _full_reason(self) -> str:
        settings = self.settings
        limit = settings.max_concurrent
        held = (
            f"{limit} invocations in flight (SAGEMAKER_MAX_CONCURRENT_INVOCATIONS={limit}) "
            f"and {settings.max_queue} queued"
            if limit
            else f"{settings.max_queue} invocations queued"
        )
        return (
            f"the worker (pid {os.getpid()}) is full: {held} (SAGEPIPE_MAX_QUEUE_SIZE="
            f"{settings.max_queue}); retry later or raise the limits"
        )

    @property
    def stuck(self) -> bool:
        """Whether a handler ran past the timeout (the worker is being replaced)."""
        return self._stuck

    @property
    def idle(self) -> bool:
        """Whether nothing is queued or running."""
        return self.in_flight == 0

    def _deliver(self) -> None:
        self._delivery_pending = False
        done = self._done
        while done:
            job = done.popleft()
            self.in_flight -= 1
            if job.response is not None:
                self.respond(job.request, job.response)

    def start(self, chain: HandlerChain, thread_setup: Callable[[], None]) -> None:
        """Start the inference thread (running ``thread_setup`` first) and the timeout
        check with a loaded chain."""
        self.chain = chain
        threading.Thread(
            target=self._work, args=(thread_setup,), name="sagepipe-inference", daemon=True
        ).start()
        interval = min(0.5, self.settings.timeout_s / 10)
        self.loop.call_later(interval, self._check_timeout, interval)

    def stop(self) -> None:
        """Let the inference thread end once the queue is empty."""
        self._inbox.put(None)

    def _check_timeout(self, interval: float) -> None:
        running = self.running
        timeout = self.settings.timeout_s
        if running is not None and time.monotonic() - running[0] > timeout:
            self._give_up(running[1], timeout)
            return
        self.loop.call_later(interval, self._check_timeout, interval)

    def _give_up(self, jobs: list[Job], timeout: float) -> None:
        self._stuck = True
        log.error("an invocation ran past %g s; answering 504 and restarting the worker", timeout)
        message = (
            f"the handler did not answer within {timeout:g} s (SAGEMAKER_MODEL_SERVER_TIMEOUT); "
            "the worker is restarted"
        )
        for job in jobs:
            self.respond(job.request, Response.error(504, message))
        busy = Response.error(503, _RESTARTING)
        while True:
            try:
                queued = self._inbox.get_nowait()
            except queue.Empty:
                break
            if queued is not None:
                self.respond(queued.request, busy)
        self.in_flight = 0
        self.on_stuck()

    # ------------------------------------------------------------------ inference thread

    def _work(self, thread_setup: Callable[[], None]) -> None:
        thread_setup()
        inbox = self._inbox
        deferred: deque[Job] = deque()
        while True:
            first = deferred.popleft() if deferred else inbox.get()
            if first is None:
                return
            self._run(self._gather(first, deferred))

    def _gather(self, first: Job, deferred: deque[Job]) -> list[Job]:
        jobs = [first]
        if self._batch == 1:
            return jobs
        # Same-key jobs already deferred keep their order ahead of new ones.
        for job in list(deferred):
            if len(jobs) >= self._batch:
                break
            if job.key == first.key:
                deferred.remove(job)
                jobs.append(job)
        now = time.monotonic()
        if self._delay > 0:
            target, deadline = self._batch, now + self._delay
        else:
            # The clients answered by the last batch send their next requests within a round
            # trip; waiting a moment for as many keeps batches full under steady load, and a
            # lone request (last batch of one) never waits.
            target = min(self._batch, self._last_size)
            deadline = now + min(_MAX_FILL_S, _FILL_FRACTION * self._last_duration)
        inbox = self._inbox
        while len(jobs) < self._batch:
            try:
                incoming = inbox.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if len(jobs) >= target or remaining <= 0:
                    break
                try:
                    incoming = inbox.get(timeout=remaining)
                except queue.Empty:
                    break
            if incoming is None:
                inbox.put(None)
                break
            (jobs if incoming.key == first.key else deferred).append(incoming)
        return jobs

    def _run(self, jobs: list[Job]) -> None:
        chain = self.chain
        if chain is None:
            return
        started = time.monotonic()
        self.running = (started, jobs)
        if len(jobs) == 1:
            responses = [chain.invoke(jobs[0].invocation)]
        else:
            responses = chain.invoke_batch([job.invocation for job in jobs])
        self.running = None
        self._last_size = len(jobs)
        self._last_duration = time.monotonic() - started
        if self._stuck:
            return  # already answered 504; the worker is going away
        for job, response in zip(jobs, responses, strict=True):
            job.response = response
        self._done.extend(jobs)
        if not self._delivery_pending:
            self._delivery_pending = True
            self.loop.call_soon_threadsafe(self._deliver)
