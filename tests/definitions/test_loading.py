"""load_pipeline: config files and file.py:attribute, with clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sagepipe.definitions import load_pipeline
from sagepipe.errors import PipelineLoadError


def test_config_file(resources: Path) -> None:
    pipeline = load_pipeline(str(resources / "pipelines" / "tiny.yaml"))
    assert pipeline.name == "tiny-pipeline"
    assert pipeline.root == (resources / "pipelines").resolve()


def test_python_attribute_holding_a_pipeline(resources: Path) -> None:
    before = set(sys.modules)
    path_before = list(sys.path)
    pipeline = load_pipeline(f"{resources / 'pipelines' / 'tiny_pipeline.py'}:pipeline")
    assert pipeline.name == "tiny-python"
    assert [s.name for s in pipeline.steps] == ["preprocess", "train"]
    # The pipeline root is the .py file's directory: code paths are written relative to it.
    assert pipeline.root == (resources / "pipelines").resolve()
    assert '"source_dir": "../code"' in pipeline.to_json()
    # The private module does not stay in sys.modules; sys.path is restored.
    assert not [m for m in set(sys.modules) - before if m.startswith("_sagepipe_pipeline_")]
    assert sys.path == path_before


def test_python_function_returning_a_pipeline(resources: Path) -> None:
    pipeline = load_pipeline(Path(f"{resources / 'pipelines' / 'tiny_pipeline.py'}:build"))
    assert pipeline.name == "tiny-python"


def test_loading_twice_gives_the_same_ir(resources: Path) -> None:
    spec = f"{resources / 'pipelines' / 'tiny_pipeline.py'}:build"
    assert load_pipeline(spec).to_json() == load_pipeline(spec).to_json()


def test_a_pipeline_file_can_import_its_siblings(resources: Path) -> None:
    folder = resources / "pipelines"
    (folder / "sibling_helper.py").write_text("NAME = 'from-sibling'\n")
    (folder / "uses_sibling.py").write_text(
        "from sibling_helper import NAME\n"
        "from tiny_pipeline import build\n"
        "def make():\n"
        "    pipeline = build()\n"
        "    pipeline.name = NAME\n"
        "    return pipeline\n"
    )
    try:
        assert load_pipeline(f"{folder / 'uses_sibling.py'}:make").name == "from-sibling"
    finally:
        sys.modules.pop("sibling_helper", None)
        sys.modules.pop("tiny_pipeline", None)


def error(spec: str) -> str:
    with pytest.raises(PipelineLoadError) as caught:
        load_pipeline(spec)
    return str(caught.value)


def test_missing_files(tmp_path: Path) -> None:
    assert "pipeline file" in error(str(tmp_path / "nope.yaml"))
    assert "does not exist" in error(str(tmp_path / "nope.yaml"))
    assert "does not exist" in error(f"{tmp_path / 'nope.py'}:pipeline")


def test_missing_attribute_suggests_the_closest(resources: Path) -> None:
    file = resources / "pipelines" / "tiny_pipeline.py"
    message = error(f"{file}:pipelin")
    assert f"{file} has no attribute 'pipelin' (did you mean 'pipeline'?)" in message
    assert "it defines: build, needs_arguments, pipeline, returns_wrong_type" in message


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("NOT_A_PIPELINE", "is a int, not a Pipeline or a function returning one"),
        ("needs_arguments", "needs the arguments name"),
        ("returns_wrong_type", "returns_wrong_type() returned a str, not a Pipeline"),
        ("not-a-name", "'not-a-name' is not a Python name"),
        ("", "'' is not a Python name"),
    ],
)
def test_wrong_attributes(resources: Path, attribute: str, message: str) -> None:
    assert message in error(f"{resources / 'pipelines' / 'tiny_pipeline.py'}:{attribute}")


def test_a_python_file_without_attribute(resources: Path) -> None:
    file = resources / "pipelines" / "tiny_pipeline.py"
    assert f"e.g. {file}:pipeline" in error(str(file))


def test_a_directory_lists_its_config_files(resources: Path) -> None:
    message = error(str(resources / "pipelines"))
    assert "is a directory (it holds tiny.yaml)" in message


def test_an_unknown_spec(tmp_path: Path) -> None:
    assert "give a config file (.json, .yaml, .yml) or path/to/file.py:attribute" in error(
        str(tmp_path / "pipeline.txt")
    )


def test_a_config_file_without_pipeline_section(registration_example: Path) -> None:
    message = error(str(registration_example))
    assert f"{registration_example} holds configs but no pipeline: section" in message


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "broken.py"
    file.write_text("x = 1\ndef f(:\n")
    assert error(f"{file}:f").startswith(f"{file}:2: syntax error")


def test_import_error_names_the_file(tmp_path: Path) -> None:
    file = tmp_path / "imports.py"
    file.write_text("import sagepipe_no_such_module\n")
    message = error(f"{file}:x")
    assert message.startswith(f"{file}: cannot import")
    assert "sagepipe_no_such_module" in message
