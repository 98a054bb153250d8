"""The failure reason of a job: ``output/failure`` if written, else the traceback's tail.

A traceback's reason starts with its exception line (``OSError: [Errno 28] No space left on
device``), then the traceback: what shows one line of a reason (a progress line, a summary)
shows what went wrong, never the header "Traceback (most recent call last):".
"""

from __future__ import annotations

from pathlib import Path

_MAX_CHARS = 4000
_TRACEBACK = "Traceback (most recent call last):"
# torchrun's own summary after a worker failed; the worker's traceback is the real reason.
_LAUNCHER_ERRORS = ("torch.distributed.elastic.multiprocessing.errors.ChildFailedError",)
_TAIL_LINES = 20


def _tracebacks(lines: list[str]) -> list[list[str]]:
    """Each traceback block: from its header to the exception line (the first unindented)."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in lines:
        text = _strip_prefix(line)
        if text.startswith(_TRACEBACK):
            current = [text]
            continue
        if current is None:
            continue
        current.append(text)
        if text and not text[0].isspace():
            blocks.append(current)
            current = None
    return blocks


def _strip_prefix(line: str) -> str:
    """Remove the ``[algo-N] `` host prefix and torchrun's ``[rank]:`` prefix of a line."""
    if line.startswith("[algo-"):
        line = line.split("] ", 1)[-1]
    if line.startswith("[rank") and "]:" in line:
        line = line.split("]:", 1)[-1]
    return line


def failure_reason(failure_files: list[Path], log_lines: list[str], exit_code: int) -> str:
    """Describe why a job failed.

    Args:
        failure_files: Each host's ``output/failure``, first host first.
        log_lines: The job's log lines.
        exit_code: The failing exit status.
    """
    for path in failure_files:
        if path.is_file():
            content = path.read_text(errors="replace").strip()
            if content:
                return content[-_MAX_CHARS:]
    blocks = [
        block for block in _tracebacks(log_lines) if not block[-1].startswith(_LAUNCHER_ERRORS)
    ]
    if blocks:
        last = blocks[-1]
        shown = last if len(last) <= _TAIL_LINES else [last[0], "  ...", *last[-_TAIL_LINES:]]
        return f"{last[-1]}\n" + "\n".join(shown)[-_MAX_CHARS:]
    if exit_code < 0:
        import signal

        return f"the script was killed by signal {signal.Signals(-exit_code).name}"
    kept = [_strip_prefix(line) for line in log_lines[-10:] if line.strip()]
    if kept:
        # The first line says what went wrong (argparse's "error: ..." is printed last).
        reason = f"the script exited with code {exit_code}: {kept[-1]}\nlast lines:\n"
        return reason + "\n".join(kept)[-_MAX_CHARS:]
    return f"the script exited with code {exit_code} and printed nothing"
