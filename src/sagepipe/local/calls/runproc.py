"""The SageMaker Python SDK's ``FrameworkProcessor`` entrypoint, run without bash.

A ``FrameworkProcessor`` (``PyTorchProcessor``, ``SKLearnProcessor`` with ``source_dir``...)
uploads a ``runproc.sh`` and asks for ``["/bin/bash", ".../runproc.sh"]``. The script the SDK
writes always does the same: ``cd`` into the code dir, unpack ``sourcedir.tar.gz`` there,
``pip install -r requirements.txt`` if the bundle has one, and run
``python <entry point> "$@"``. Here the bundle is unpacked safely, the requirements go into
the cached per-requirements virtualenv (:mod:`sagepipe.training.requirements`, never this
environment), and the entry point runs with that interpreter or this one. A shell script of
any other form is refused: running arbitrary shell is not reproducing SageMaker.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sagepipe.local.errors import StepFailure
from sagepipe.local.layout import to_local

if TYPE_CHECKING:
    from sagepipe.local.calls.base import CallContext

_CD = re.compile(r"cd\s+(/opt/ml/processing/\S*?)/?")
_TAR = re.compile(r"tar\s+-xzf\s+([\w./-]+)")
_RUN = re.compile(r"python3?\s+([\w./-]+\.py)\s+\"\$@\"")
_INSTALL = re.compile(
    r"(?:\[\[ -f 'requirements\.txt' \]\] && )?pip3? install -r requirements\.txt"
)
_INERT = (
    re.compile(r"#.*"),
    re.compile(r"set -e"),
    re.compile(r"if \[\[ -f 'requirements\.txt' \]\]; then"),
    re.compile(r"fi"),
    re.compile(r"pip3? uninstall --yes typing"),
)


@dataclass
class RunProc:
    """What a ``runproc.sh`` does.

    Attributes:
        code_dir: The container directory it ``cd``s into.
        bundle: The archive it unpacks there (relative to ``code_dir``), if any.
        installs: Whether it installs the bundle's ``requirements.txt``.
        script: The Python script it runs (relative to ``code_dir``).
    """

    code_dir: str | None = None
    bundle: str | None = None
    installs: bool = False
    script: str | None = None


def parse_runproc(text: str, where: str) -> RunProc:
    """Read a ``runproc.sh`` the SDK wrote: line by line, each line one the SDK writes.

    Raises:
        StepFailure: it is not of the SDK's form; the message names the first line that is
            not.
    """
    found = RunProc()
    for line in (raw.strip() for raw in text.splitlines()):
        if not line or any(p.fullmatch(line) for p in _INERT):
            continue
        # No ".." anywhere: the paths it names stay inside the job's directories.
        cd, tar, run = (None, None, None) if ".." in line else _matches(line)
        if cd and found.code_dir is None:
            found.code_dir = cd[1]
        elif tar and found.code_dir and found.bundle is None and found.script is None:
            found.bundle = tar[1]
        elif _INSTALL.fullmatch(line) and found.code_dir and found.script is None:
            found.installs = True
        elif run and found.code_dir and found.script is None:
            found.script = run[1]
        else:
            raise StepFailure(
                f"{where} is a shell script that is not the SageMaker SDK's runproc.sh (it "
                f"has {line!r} there); the local engine runs Python scripts and runproc.sh"
            )
    if found.script is None:
        raise StepFailure(
            f"{where} is a shell script that is not the SageMaker SDK's runproc.sh: it never "
            'runs python <script> "$@" after cd /opt/ml/processing/...'
        )
    return found


def _matches(line: str) -> tuple[re.Match[str] | None, ...]:
    return _CD.fullmatch(line), _TAR.fullmatch(line), _RUN.fullmatch(line)


def prepare(context: CallContext, runproc: RunProc, opt_ml: Path) -> tuple[str, Path, str]:
    """Unpack the bundle and install the requirements as ``runproc.sh`` would.

    Returns:
        The interpreter, the local code dir and the script's container path.
    """
    from sagepipe.artifacts.safety import safe_extract

    container_dir = str(runproc.code_dir)
    code_dir = to_local(container_dir, opt_ml)
    if runproc.bundle is not None:
        bundle = code_dir / runproc.bundle
        if not bundle.is_file():
            raise StepFailure(
                f"runproc.sh unpacks {container_dir}/{runproc.bundle}, which no "
                "ProcessingInput provides"
            )
        safe_extract(bundle, code_dir)
    python = sys.executable
    requirements = code_dir / "requirements.txt"
    if runproc.installs and requirements.is_file() and context.install_requirements:
        from sagepipe.training.requirements import RequirementsError, ensure_requirements_venv

        try:
            python = str(ensure_requirements_venv(requirements, context.home, context.log))
        except RequirementsError as exc:
            raise StepFailure(f"runproc.sh: {exc}") from None
    return python, code_dir, f"{container_dir}/{runproc.script}"
