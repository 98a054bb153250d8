"""Where the shipped examples live: inside the installed package, so that ``sagepipe demo``
and the example's ``pipeline.py`` work from any directory after ``pip install``.

The repository's ``examples/<name>/`` links to the same files (one copy of each).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

TABULAR = "tabular"
WAVEFORMS = "waveforms"
EXAMPLES = (TABULAR, WAVEFORMS)
PIPELINE_FILE = "pipeline.yaml"


def example_dir(name: str = TABULAR) -> Path:
    """The directory of a shipped example: its ``pipeline.yaml``, ``pipeline.py`` and the
    directories they name (``code/``, ``data/``, ``samples/``)."""
    root = resources.files("sagepipe.definitions").joinpath("examples", name)
    # sagepipe is installed as plain files (never zipped): the engine reads the code and data
    # directories by path, as it does for a user's pipeline.
    return Path(str(root))


def example_pipeline(name: str = TABULAR) -> Path:
    """The config file of a shipped example."""
    return example_dir(name) / PIPELINE_FILE
