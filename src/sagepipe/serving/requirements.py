"""``code/requirements.txt``: installed once into the cached virtualenv training uses.

The virtualenv sees every package of the running interpreter, so pip installs only what is
missing and never a second torch. Workers started under its python find sagepipe itself
through :func:`sagepipe_pythonpath` (an editable install's ``.pth`` is not processed there).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import sagepipe

log = logging.getLogger("sagepipe.serving")


def requirements_python(requirements: Path) -> str:
    """The python of a cached virtualenv with ``requirements`` installed.

    Raises:
        RequirementsError: pip failed; the message holds the tail of its output.
    """
    from sagepipe.storage import sagepipe_home
    from sagepipe.training.requirements import ensure_requirements_venv

    return str(ensure_requirements_venv(requirements, sagepipe_home(), log.info))


def sagepipe_pythonpath(env: Mapping[str, str]) -> str:
    """``PYTHONPATH`` for a worker under another python: sagepipe's own root first."""
    root = str(Path(sagepipe.__file__).resolve().parent.parent)
    existing = env.get("PYTHONPATH", "")
    return root + (os.pathsep + existing if existing else "")
