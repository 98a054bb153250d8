"""The example pipeline compiled by sagepipe against the same pipeline built with the
SageMaker Python SDK 2.257.7: every step's ``Arguments``, key by key.

The SDK runs in its own cached virtual environment (see ``sdk_env.py``), in a subprocess
talking to the moto server (its session creates the default bucket). The only differences
allowed are listed in ``ALLOWED`` with their reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sagepipe.sagemaker import CompiledPipeline

from .sdk_env import reference_spec, run_sdk_script

RESOURCES = Path(__file__).parent / "resources"

# The SDK names the steps of its step collections <name>-<kind>.
SDK_NAMES = {"model-CreateModel": "model", "registration-RegisterModel": "registration"}

_CODE_INPUT = r"ProcessingInputs\[1\]\.S3Input\.S3Uri"
_REPACK = (
    "sagepipe's model step has a local source_dir, so it serves the archive of its "
    "model-RepackModel step (the model with code/), as the SDK's ModelStep does for a "
    "PyTorchModel with entry_point; the reference builds a plain Model without code"
)
#: (step pattern, JSON path pattern, what differs) -> why.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("preprocess|packaging|payload", _CODE_INPUT, "value"): (
        "the code input: the SDK's ScriptProcessor ships the one script file; sagepipe ships "
        "the content-hashed prefix holding the whole source directory (and, for its own "
        "steps, the script's config), so sibling modules import"
    ),
    ("train", r"DebugHookConfig", "only SDK"): (
        "the SDK turns on the Debugger hook by default; sagepipe does not configure Debugger"
    ),
    ("train", r"ProfilerConfig", "only SDK"): (
        "the SDK turns on the Profiler config by default; sagepipe does not configure it"
    ),
    ("model", r"PrimaryContainer\.ModelDataUrl\.Std:Join", "only sagepipe"): _REPACK,
    ("model", r"PrimaryContainer\.ModelDataUrl\.Get", "only SDK"): _REPACK,
    ("endpoint-Config|endpoint", r"Tags", "only SDK"): (
        "the SDK writes an empty Tags list; sagepipe writes Tags only when there are tags"
    ),
}


@pytest.fixture(scope="module")
def sdk_definition(
    request: pytest.FixtureRequest,
    compiled_example: CompiledPipeline,
    moto_s3: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("sdk")
    spec = work / "spec.json"
    spec.write_text(json.dumps(reference_spec(compiled_example.definition)))
    out = work / "definition.json"
    run_sdk_script(request, moto_s3, work, RESOURCES / "sdk_reference.py", str(spec), str(out))
    definition: dict[str, Any] = json.loads(out.read_text())
    return definition


def renamed(value: Any) -> Any:
    """The SDK's value with its step names replaced by sagepipe's."""
    text = json.dumps(value)
    for sdk, ours in SDK_NAMES.items():
        text = text.replace(f"Steps.{sdk}.", f"Steps.{ours}.")
    return json.loads(text)


def differences(ours: Any, theirs: Any, path: str = "") -> list[tuple[str, str]]:
    """``(path, what)`` for every difference: ``only sagepipe``, ``only SDK``, ``value``."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found: list[tuple[str, str]] = []
        for key in sorted(set(ours) | set(theirs)):
            where = f"{path}.{key}" if path else key
            if key not in theirs:
                found.append((where, "only sagepipe"))
            elif key not in ours:
                found.append((where, "only SDK"))
            else:
                found.extend(differences(ours[key], theirs[key], where))
        return found
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        found = []
        for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            found.extend(differences(a, b, f"{path}[{index}]"))
        return found
    return [] if ours == theirs else [(path, "value")]


def allowed(step: str, path: str, what: str) -> str | None:
    for (steps, pattern, kind), reason in ALLOWED.items():
        if kind == what and re.fullmatch(steps, step) and re.fullmatch(pattern, path):
            return reason
    return None


@pytest.mark.slow
def test_arguments_match_the_sdk(
    compiled_example: CompiledPipeline, sdk_definition: dict[str, Any]
) -> None:
    ours = {s["Name"]: s for s in compiled_example.definition["Steps"]}  # type: ignore[union-attr, index]
    # The repack step has no counterpart in the reference, which builds a plain Model (see
    # ALLOWED); the SDK's own repack of a PyTorchModel is a training job with its script.
    repack = ours.pop("model-RepackModel")
    assert repack["Type"] == "Processing"  # type: ignore[index]
    theirs = {SDK_NAMES.get(s["Name"], s["Name"]): s for s in sdk_definition["Steps"]}
    assert set(ours) == set(theirs)
    unexpected: list[str] = []
    used: set[str] = set()
    for name in sorted(ours):
        assert ours[name]["Type"] == theirs[name]["Type"], name  # type: ignore[index]
        for path, what in differences(ours[name]["Arguments"], renamed(theirs[name]["Arguments"])):  # type: ignore[index]
            reason = allowed(name, path, what)
            if reason is None:
                unexpected.append(f"{name}: {path}: {what}")
            else:
                used.add(reason)
    assert unexpected == [], "\n".join(unexpected)
    assert used == set(ALLOWED.values()), "an allowed difference no longer occurs: update ALLOWED"


@pytest.mark.slow
def test_parameters_and_experiment_config_match_the_sdk(
    compiled_example: CompiledPipeline, sdk_definition: dict[str, Any]
) -> None:
    definition = compiled_example.definition
    assert definition["Version"] == sdk_definition["Version"]
    assert definition["PipelineExperimentConfig"] == sdk_definition["PipelineExperimentConfig"]
    by_name = sorted(sdk_definition["Parameters"], key=lambda p: p["Name"])
    assert definition["Parameters"] == by_name


@pytest.mark.slow
def test_the_sdk_definition_reads_and_passes_the_local_checks(
    sdk_definition: dict[str, Any],
) -> None:
    # What the SDK itself writes is what the local engine's reader must take (issue 13).
    from sagepipe.local.definition.checks import definition_problems
    from sagepipe.local.definition.reading import definition_from_json

    definition = definition_from_json(sdk_definition, source="the SDK's definition")
    assert definition_problems(definition) == []
    assert [s.Name for s in definition.Steps] == [s["Name"] for s in sdk_definition["Steps"]]
    dumped = json.loads(json.dumps(definition.model_dump(mode="json", exclude_unset=True)))
    assert dumped == sdk_definition
