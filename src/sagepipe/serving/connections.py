"""The open connections of one worker: their limit, their timeouts and rebalancing.

- **Limit.** A worker holds at most ``max_connections`` connections, lowered to what its
  file-descriptor limit (``RLIMIT_NOFILE``) leaves after the descriptors it already uses and
  a reserve. One more connection closes the oldest idle keep-alive connection, else answers
  the oldest partial request 503; when every connection has a request in progress, the new
  one is served ``/ping`` only (503 for the rest), so health checks always get an answer.
- **Timeouts.** A request must arrive whole within ``request_read_timeout_s`` of its first
  byte (else 408, then close: slowloris); an idle connection is closed after
  ``keep_alive_timeout_s``. One periodic sweep checks both, so requests pay no timer.
- **Rebalancing.** :meth:`ConnectionTable.shed` marks every open connection to close after its
  next response (``Connection: close``): its client reconnects and the kernel's
  ``SO_REUSEPORT`` hashing spreads it over all workers, the restarted one included.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sagepipe.serving.settings import WorkerSettings

if TYPE_CHECKING:
    from sagepipe.serving.protocol import HttpConnection

log = logging.getLogger("sagepipe.serving")

#: Descriptors kept free beyond those open at start: model files, pipes, the connections
#: served beyond the limit so that /ping is answered.
_FD_RESERVE = 32
_MIN_CONNECTIONS = 8
_MAX_SWEEP_INTERVAL_S = 1.0


def open_descriptors() -> int:
    """How many file descriptors this process has open."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 64  # no /proc: assume a typical Python process with torch loaded


def connection_limit(configured: int) -> int:
    """``configured``, lowered to what ``RLIMIT_NOFILE`` leaves for connections."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    allowed = soft - open_descriptors() - _FD_RESERVE
    return min(configured, max(_MIN_CONNECTIONS, allowed))


class ConnectionTable:
    """The connections of a worker, oldest first.

    Args:
        loop: The worker's event loop.
        settings: Where the limits and timeouts come from.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, settings: WorkerSettings) -> None:
        self.loop = loop
        self.settings = settings
        self.limit = connection_limit(settings.max_connections)
        if self.limit < settings.max_connections:
            log.info(
                "RLIMIT_NOFILE allows %d connections per worker (SAGEPIPE_MAX_CONNECTIONS=%d)",
                self.limit,
                settings.max_connections,
            )
        # A dict is an ordered set: the first idle entry is the oldest idle connection.
        self._open: dict[HttpConnection, None] = {}
        self._interval = min(
            _MAX_SWEEP_INTERVAL_S,
            settings.request_read_timeout_s / 4,
            settings.keep_alive_timeout_s / 4,
        )
        self._sweeper: asyncio.TimerHandle | None = None

    def __iter__(self) -> Iterator[HttpConnection]:
        return iter(list(self._open))

    def __len__(self) -> int:
        return len(self._open)

    def start(self) -> None:
        """Start the periodic timeout sweep."""
        self._sweeper = self.loop.call_later(self._interval, self._sweep)

    def stop(self) -> None:
        """Stop the sweep."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    # ------------------------------------------------------------------ open and close

    def opened(self, conn: HttpConnection) -> None:
        """Register a new connection, making room for it when the limit is reached."""
        if len(self._open) >= self.limit and not self._make_room():
            conn.over_limit = True
            conn.shed = True
        self._open[conn] = None

    def closed(self, conn: HttpConnection) -> None:
        """Forget a connection that went away."""
        self._open.pop(conn, None)

    def _make_room(self) -> bool:
        for conn in self._open:
            if conn.is_waiting():
                conn.close()
                self._open.pop(conn)
                return True
        for conn in self._open:
            if conn.reading and not conn.busy and not conn.closing:
                conn.fail(503, self.full_message())
                self._open.pop(conn)
                return True
        return False

    def full_message(self) -> str:
        """Why a connection is refused or closed at the limit."""
        return (
            f"the worker (pid {os.getpid()}) holds its limit of {self.limit} connections "
            "(SAGEPIPE_MAX_CONNECTIONS, bounded by the open-files limit); close idle "
            "connections or retry later"
        )

    # ------------------------------------------------------------------ timeouts

    def _sweep(self) -> None:
        # A connection's state (requests begun, reading, busy) unchanged since the sweep that
        # first saw it has been in that state at least that long: a timeout fires at most two
        # sweep intervals (2 s) after it is due, and requests never read the clock.
        now = self.loop.time()
        read_timeout = self.settings.request_read_timeout_s
        idle_timeout = self.settings.keep_alive_timeout_s
        for conn in list(self._open):
            state = (conn.requests, conn.reading, conn.busy)
            if state != conn.mark:
                conn.mark = state
                conn.mark_since = now
                continue
            age = now - conn.mark_since
            if conn.reading and not conn.closing and age >= read_timeout:
                conn.fail(
                    408,
                    f"the request did not arrive within {read_timeout:g} s "
                    "(SAGEPIPE_REQUEST_READ_TIMEOUT); send it whole without pausing",
                )
            elif conn.is_waiting() and age >= idle_timeout:
                conn.close()
        self._sweeper = self.loop.call_later(self._interval, self._sweep)

    # ------------------------------------------------------------------ rebalancing

    def shed(self) -> int:
        """Close every open connection after its next response; returns how many."""
        count = 0
        for conn in self._open:
            if not conn.shed:
                conn.shed = True
                count += 1
        return count
