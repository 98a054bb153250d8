"""Fixtures of the SageMaker backend tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagepipe.pipeline import Pipeline
from sagepipe.sagemaker import CompiledPipeline, compile_pipeline

from .resources.pipelines import full_pipeline


@pytest.fixture(scope="session")
def example() -> Pipeline:
    """The pipeline with every step type (see ``resources/pipelines.py``)."""
    return full_pipeline()


@pytest.fixture(scope="session")
def compiled_example(example: Pipeline) -> CompiledPipeline:
    return compile_pipeline(example)


def step_named(compiled: CompiledPipeline, name: str) -> dict[str, object]:
    """The definition's step called ``name``."""
    steps = compiled.definition["Steps"]
    assert isinstance(steps, list)
    for step in steps:
        assert isinstance(step, dict)
        if step["Name"] == name:
            return step
    raise AssertionError(f"no step {name!r}")


@pytest.fixture
def code_copy(tmp_path: Path) -> Path:
    """A copy of the fixture code directory that a test may change."""
    import shutil

    target = tmp_path / "code"
    shutil.copytree(Path(__file__).parent / "resources" / "code", target)
    return target
