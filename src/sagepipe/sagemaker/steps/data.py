"""DataLoadingStep and TabularPreprocessingStep -> ``Processing`` steps (CreateProcessingJob).

Both run sagepipe's own standard-library scripts (:mod:`sagepipe.sagemaker.container`:
``load_data.py``, ``split_table.py``) in the PyTorch training image, as the packaging and
payload steps do: the bundle is the script and a JSON file of the step's settings, so the
local engine runs them as any processing job and nothing is installed in the container.
"""

from __future__ import annotations

import json

from sagepipe.expressions import JsonValue
from sagepipe.pipeline import Step
from sagepipe.sagemaker.bundles import Bundle
from sagepipe.sagemaker.context import CompileContext
from sagepipe.sagemaker.steps.common import SCRIPT_IMAGE_VERSIONS, CompiledStep
from sagepipe.sagemaker.steps.processing import (
    DEFAULT_MAX_RUNTIME_S,
    DEFAULT_VOLUME_GB,
    ROOT,
    _literal,
    _script,
    _settings,
    job,
    processing_input,
)


def compile_data_loading(ctx: CompileContext, step: Step) -> list[CompiledStep]:
    settings = {"include": _literal(step, "include")}
    bundle = ctx.bundle(
        ("data_loading", json.dumps(settings, sort_keys=True)),
        lambda: Bundle.of(
            [_script("load_data.py"), _settings("sagepipe_data_loading.json", settings)],
            "data-loading bundle",
        ),
    )
    source = processing_input("source", ctx.input_value(step, "source"), f"{ROOT}/input/source")
    output = ("data", f"{ROOT}/output/data", None)
    return [_builtin_job(ctx, step, "load_data.py", bundle, [source], [output])]


def compile_tabular_preprocessing(ctx: CompileContext, step: Step) -> list[CompiledStep]:
    keys = ("label_name", "val_fraction", "test_fraction", "seed")
    settings = {key: _literal(step, key) for key in keys}
    bundle = ctx.bundle(
        ("tabular_preprocessing", json.dumps(settings, sort_keys=True)),
        lambda: Bundle.of(
            [
                _script("split_table.py"),
                _settings("sagepipe_tabular_preprocessing.json", settings),
            ],
            "tabular preprocessing bundle",
        ),
    )
    data = processing_input("data", ctx.input_value(step, "data"), f"{ROOT}/input/data")
    # The order is the specification's, so Outputs[0] is processed_data, Outputs[1] test_data.
    outputs: list[tuple[str, str, str | None]] = [
        ("processed_data", f"{ROOT}/output/processed_data", None),
        ("test_data", f"{ROOT}/output/test_data", None),
    ]
    return [_builtin_job(ctx, step, "split_table.py", bundle, [data], outputs)]


def _builtin_job(
    ctx: CompileContext,
    step: Step,
    script: str,
    bundle: Bundle,
    inputs: list[JsonValue],
    outputs: list[tuple[str, str, str | None]],
) -> CompiledStep:
    return job(
        ctx,
        step,
        entry_point=script,
        code_uri=ctx.files_uri(bundle),
        inputs=inputs,
        outputs=outputs,
        instance_key="processing_instance_type",
        count=1,
        volume=DEFAULT_VOLUME_GB,
        max_runtime=DEFAULT_MAX_RUNTIME_S,
        arguments=[],
        environment={},
        fixed_versions=SCRIPT_IMAGE_VERSIONS,
    )
