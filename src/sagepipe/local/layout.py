"""Where an execution's files live, and how container paths map onto a step's work dir.

``<SAGEPIPE_HOME>/executions/<execution id>/<step>/`` holds the step's ``step.log``, the
request the engine hands its step process, the result it hands back, and ``work/opt/ml``,
the directory the step's process sees as ``/opt/ml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

OPT_ML = "/opt/ml"
DEFAULT_BUCKET = "sagepipe-local"
_JOB_NAME_CHARS = re.compile(r"[^A-Za-z0-9\-]")


@dataclass(frozen=True)
class StepLayout:
    """The files of one step of one execution."""

    step_dir: Path

    @property
    def log(self) -> Path:
        return self.step_dir / "step.log"

    @property
    def request(self) -> Path:
        return self.step_dir / "request.json"

    @property
    def result(self) -> Path:
        return self.step_dir / "result.json"

    @property
    def uploads(self) -> Path:
        """The manifest of every URI the step process started to upload."""
        return self.step_dir / "uploads.txt"

    @property
    def work_dir(self) -> Path:
        return self.step_dir / "work"

    @property
    def opt_ml(self) -> Path:
        """What the step's process sees as ``/opt/ml``."""
        return self.work_dir / "opt" / "ml"

    @property
    def namespace_scratch(self) -> Path:
        """Mount point of the private tmpfs used to build ``/opt/ml`` in a mount namespace."""
        return self.step_dir / "ns"

    def container_path(self, path: str) -> Path:
        """The local path of a container path under ``/opt/ml``."""
        return to_local(path, self.opt_ml)


def execution_dir(home: Path, execution_id: str) -> Path:
    return home / "executions" / execution_id


def step_layout(home: Path, execution_id: str, step_name: str) -> StepLayout:
    return StepLayout(execution_dir(home, execution_id) / step_name)


def to_local(path: str, opt_ml: Path) -> Path:
    """Map ``/opt/ml/<rest>`` onto ``opt_ml/<rest>``.

    Raises:
        ValueError: if ``path`` is not under ``/opt/ml`` (configs validate this before).
    """
    if path == OPT_ML:
        return opt_ml
    if not path.startswith(OPT_ML + "/"):
        raise ValueError(f"{path!r} is not under {OPT_ML}")
    return opt_ml.joinpath(*[p for p in path[len(OPT_ML) + 1 :].split("/") if p])


def rewrite_opt_ml(text: str, opt_ml: Path) -> str:
    """Replace a leading ``/opt/ml`` in an argument by the work dir (``--x=/opt/ml/...`` too)."""
    for prefix in ("", *_option_prefixes(text)):
        rest = text[len(prefix) :]
        if rest == OPT_ML or rest.startswith(OPT_ML + "/"):
            return prefix + str(opt_ml) + rest[len(OPT_ML) :]
    return text


def _option_prefixes(text: str) -> list[str]:
    head, sep, _ = text.partition("=")
    return [head + sep] if sep and head.startswith("-") else []


def job_name(step: str, execution_id: str) -> str:
    """A SageMaker-valid job name (letters, digits, hyphens; at most 63) for a step's job."""
    step_part = _JOB_NAME_CHARS.sub("-", step).strip("-") or "step"
    return f"{step_part[: 62 - len(execution_id)]}-{execution_id}"
