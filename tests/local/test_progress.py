"""Progress: plain lines for pipes, a live table with the running step's last log lines."""

from __future__ import annotations

import io
import time
from pathlib import Path

from rich.console import Console

from sagepipe.local.progress import LiveReporter, PlainReporter, StepView, tail_lines


def test_plain_reporter_prints_status_changes() -> None:
    stream = io.StringIO()
    reporter = PlainReporter(stream)
    reporter.begin("abc123", "demo", ["prep", "train"])
    reporter.update(StepView("prep", "Executing", started=time.time()))
    reporter.update(StepView("prep", "Failed", started=1.0, ended=3.5, detail="boom"))
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("execution abc123 of pipeline demo: 2 step(s)")
    assert lines[1].endswith("prep: Executing")
    assert lines[2].endswith("prep: Failed (2.5s) boom")


def test_live_view_shows_running_steps_last_log_lines(tmp_path: Path) -> None:
    log = tmp_path / "step.log"
    log.write_text("".join(f"line {i}\n" for i in range(10)))
    reporter = LiveReporter()
    reporter.begin("abc123", "demo", ["prep", "train"])
    reporter.update(StepView("prep", "Executing", started=time.time(), log=log))
    console = Console(file=io.StringIO(), width=100, force_terminal=False)
    console.print(reporter._render())
    reporter.end()
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "prep" in text and "Executing" in text
    assert "line 9" in text and "line 7" in text and "line 6" not in text
    assert "train" in text and "Waiting" in text
    assert tail_lines(tmp_path / "missing.log", 3) == []
