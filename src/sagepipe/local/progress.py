"""Progress of a run: a live rich view on a terminal, plain lines otherwise.

The live view has a line per step (status and elapsed time) and, under each running step,
the last lines of its log. Plain lines are printed when a step changes status.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

_TAIL_BYTES = 4096
_TAIL_LINES = 3
_STYLES = {
    "Succeeded": "green",
    "Cached": "cyan",
    "Failed": "bold red",
    "Stopped": "yellow",
    "NotRun": "dim",
    "Executing": "bold blue",
    "Starting": "blue",
    "Waiting": "dim",
}


@dataclass
class StepView:
    """What the progress display knows of one step."""

    name: str
    status: str = "Waiting"
    started: float | None = None
    ended: float | None = None
    detail: str = ""
    log: Path | None = None

    def elapsed(self, now: float) -> str:
        if self.started is None:
            return ""
        return f"{(self.ended or now) - self.started:.1f}s"


class Reporter(Protocol):
    """Receives the events of a run."""

    def begin(self, execution_id: str, pipeline_name: str, steps: list[str]) -> None: ...

    def update(self, view: StepView) -> None: ...

    def tick(self) -> None: ...

    def end(self) -> None: ...


class SilentReporter:
    """Reports nothing (library use)."""

    def begin(self, execution_id: str, pipeline_name: str, steps: list[str]) -> None:
        pass

    def update(self, view: StepView) -> None:
        pass

    def tick(self) -> None:
        pass

    def end(self) -> None:
        pass


@dataclass
class PlainReporter:
    """One line per status change, for logs and pipes."""

    stream: IO[str] = field(default_factory=lambda: sys.stdout)

    def begin(self, execution_id: str, pipeline_name: str, steps: list[str]) -> None:
        self._print(f"execution {execution_id} of pipeline {pipeline_name}: {len(steps)} step(s)")

    def update(self, view: StepView) -> None:
        if view.status == "Waiting":
            return
        elapsed = view.elapsed(time.time()) if view.ended else ""
        parts = [f"{view.name}: {view.status}", f"({elapsed})" if elapsed else "", view.detail]
        self._print(" ".join(p for p in parts if p))

    def tick(self) -> None:
        pass

    def end(self) -> None:
        pass

    def _print(self, line: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {line}", file=self.stream, flush=True)


class LiveReporter:
    """A rich live view, refreshed a few times a second."""

    def __init__(self) -> None:
        from rich.console import Console

        self._console = Console()
        self._views: dict[str, StepView] = {}
        self._live: Any = None
        self._title = ""

    def begin(self, execution_id: str, pipeline_name: str, steps: list[str]) -> None:
        from rich.live import Live

        self._title = f"execution {execution_id} of pipeline {pipeline_name}"
        self._views = {name: StepView(name) for name in steps}
        self._live = Live(self._render(), console=self._console, refresh_per_second=4)
        self._live.start()

    def update(self, view: StepView) -> None:
        self._views[view.name] = view
        self.tick()

    def tick(self) -> None:
        if self._live is not None:
            self._live.update(self._render())

    def end(self) -> None:
        if self._live is not None:
            self._live.update(self._render(final=True))
            self._live.stop()
            self._live = None

    def _render(self, final: bool = False) -> Any:
        from rich.table import Table
        from rich.text import Text

        now = time.time()
        table = Table.grid(padding=(0, 2))
        table.title = self._title
        for view in self._views.values():
            style = _STYLES.get(view.status, "")
            table.add_row(
                Text(view.name, style="bold"),
                Text(view.status, style=style),
                Text(view.elapsed(now)),
                Text(view.detail, style="dim", overflow="fold"),
            )
            if not final and view.status == "Executing" and view.log is not None:
                for line in tail_lines(view.log, _TAIL_LINES):
                    table.add_row("", Text("  " + line, style="dim"), "", "")
        return table


def tail_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` non-empty lines of a file (read from its last few KiB)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - _TAIL_BYTES))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return [line[:160] for line in text.splitlines() if line.strip()][-count:]


def reporter_for(stream: IO[str]) -> Reporter:
    """A live view when ``stream`` is a terminal, else plain lines."""
    return LiveReporter() if stream.isatty() else PlainReporter(stream)
