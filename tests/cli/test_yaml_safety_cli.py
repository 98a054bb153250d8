"""Alias bombs in a pipeline file are refused at once by the real entry point."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "tabular"


def alias_bomb(levels: int, width: int) -> str:
    """A flow list whose last item expands to ``width ** levels`` strings through aliases."""
    items = ["&a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for level in range(1, levels + 1):
        items.append(f"&a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "[" + ", ".join(items) + "]"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "tabular"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.mark.parametrize(
    ("levels", "width", "message"),
    [
        (8, 9, "the YAML expands to more than 100,000 values through its aliases"),
        (8, 20, "too many YAML aliases (more than 100)"),
    ],
)
def test_validate_refuses_an_alias_bomb_fast(
    project: Path, levels: int, width: int, message: str
) -> None:
    pipeline = project / "pipeline.yaml"
    text = pipeline.read_text()
    assert "      seed: 42\n" in text
    # Inside the training hyperparameters: before the loader was bounded, validating this
    # 4.5 KB file walked 43 million values.
    bomb = f"      bomb: {alias_bomb(levels, width)}\n"
    pipeline.write_text(text.replace("      seed: 42\n", "      seed: 42\n" + bomb, 1))

    result = subprocess.run(
        [sys.executable, "-m", "sagepipe", "validate", "pipeline.yaml"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=20,
    )

    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"sagepipe: error: {pipeline}: {message}; "
        "write the repeated values out, or use fewer anchors"
    ]
