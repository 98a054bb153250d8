"""Fixtures for the local engine's tests: code dirs, processing steps, runs in a fresh home."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sagepipe.cli.local_compile import compile_for_local
from sagepipe.config import ProcessingConfig, ProcessingInput, ProcessingOutput
from sagepipe.local.engine import ExecutionOutcome, RunOptions, run_definition
from sagepipe.pipeline import Pipeline, Step
from sagepipe.steps import ProcessingStepBuilder
from sagepipe.storage import RoutedStorage, get_storage

CodeFactory = Callable[..., Path]
StepFactory = Callable[..., Step]
Runner = Callable[..., ExecutionOutcome]


@pytest.fixture
def home(sagepipe_home_dir: Path) -> Path:
    """A fresh SAGEPIPE_HOME (also set in the environment)."""
    return sagepipe_home_dir


@pytest.fixture
def storage(home: Path) -> RoutedStorage:
    return get_storage("local", home)


@pytest.fixture
def make_code(tmp_path: Path) -> CodeFactory:
    """``make_code("prep", **{"prep.py": source})``: a code dir with those files."""

    def make(name: str, **files: str) -> Path:
        root = tmp_path / "code" / name
        root.mkdir(parents=True, exist_ok=True)
        for filename, text in files.items():
            (root / filename).write_text(textwrap.dedent(text))
        return root

    return make


@pytest.fixture
def processing_step() -> StepFactory:
    """A processing step built with the real builder."""

    def build(
        name: str,
        code: Path,
        entry_point: str = "script.py",
        inputs: dict[str, Any] | None = None,
        outputs: tuple[str, ...] = (),
        depends_on: tuple[Step, ...] = (),
        cache: bool = True,
        **config: Any,
    ) -> Step:
        config.setdefault("framework_version", "2.1.0")
        config.setdefault("py_version", "py310")
        processing = ProcessingConfig(
            processing_entry_point=entry_point,
            source_dir=str(code),
            inputs=[ProcessingInput(name=n) for n in (inputs or {})],
            outputs=[ProcessingOutput(name=n) for n in outputs],
            **config,
        )
        return ProcessingStepBuilder(processing).create_step(
            list(depends_on), name=name, inputs=inputs or {}, cache=cache
        )

    return build


@pytest.fixture
def run(home: Path, tmp_path: Path) -> Runner:
    """Run steps as a pipeline in the fresh home, as ``sagepipe run`` does: compiled to its
    SageMaker definition (code bundles into the store), and the definition executed."""

    def run_steps(
        steps: list[Step] | Pipeline,
        parameters: dict[str, Any] | None = None,
        name: str = "test-pipeline",
        **options: Any,
    ) -> ExecutionOutcome:
        pipeline = steps if isinstance(steps, Pipeline) else Pipeline(name, steps, root=tmp_path)
        run_options = RunOptions(home=home, **options)
        _, definition = compile_for_local(pipeline, get_storage(run_options.storage, home))
        params = {key: str(value) for key, value in (parameters or {}).items()}
        return run_definition(
            definition,
            params,
            run_options,
            name=pipeline.name,
            root=pipeline.root,
            source_ir=pipeline.to_json(),
        )

    return run_steps


def by_name(outcome: ExecutionOutcome) -> dict[str, Any]:
    """The outcome's step records by name."""
    return {step.name: step for step in outcome.steps}


def output_uri(step: Any, name: str) -> str:
    """A processing step's recorded output URI."""
    outputs = step.properties["ProcessingOutputConfig"]["Outputs"]
    [output] = [o for o in outputs if o["OutputName"] == name]
    uri: str = output["S3Output"]["S3Uri"]
    return uri
