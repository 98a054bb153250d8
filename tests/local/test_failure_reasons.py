"""A failed script's reason: the line that says what went wrong first, then where to look."""

from __future__ import annotations

from pathlib import Path

from sagepipe.local.calls.common import failure_with_tail, with_log

LOG = Path("/home/.sagepipe/executions/x/step/step.log")


def test_the_exception_line_comes_first_with_the_log() -> None:
    tail = 'Traceback (most recent call last):\n  File "a.py", line 1\nOSError: [Errno 28] No space'
    reason = failure_with_tail("processing script a.py exited with code 1", tail, LOG)
    first, rest = reason.split("\n", 1)
    assert first == (
        f"processing script a.py exited with code 1: OSError: [Errno 28] No space (log: {LOG})"
    )
    assert rest == tail


def test_a_traceback_cut_short_never_shows_its_header_as_the_reason() -> None:
    # The log's file hit its size limit before the exception line could be written.
    tail = "loading data\nTraceback (most recent call last):"
    reason = failure_with_tail("processing script a.py exited with code 1", tail, LOG)
    assert reason.splitlines()[0] == (
        f"processing script a.py exited with code 1: loading data (log: {LOG})"
    )


def test_no_output_names_the_log() -> None:
    assert failure_with_tail("script exited with code 3", "", LOG) == (
        f"script exited with code 3 (log: {LOG})"
    )


def test_the_log_goes_on_the_first_line() -> None:
    reason = with_log("OSError: [Errno 27] File too large\nTraceback ...", LOG)
    assert reason == f"OSError: [Errno 27] File too large (log: {LOG})\nTraceback ..."
