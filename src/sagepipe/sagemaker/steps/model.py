"""PyTorchModelStep -> ``Model`` (CreateModel); RegistrationStep -> ``RegisterModel``
(CreateModelPackage).

SageMaker's PyTorch inference container runs ``code/<entry point>`` from inside
``model.tar.gz`` (``SAGEMAKER_SUBMIT_DIRECTORY`` is ``/opt/ml/model/code``). A model step with
a local ``source_dir`` therefore compiles, as the SageMaker SDK's ``ModelStep`` does with its
``_RepackModelStep``, to two steps: ``<name>-RepackModel``, a processing job running the
packaging script that streams the model archive into a new one with ``code/``, and the
``CreateModel`` step serving that archive (the local engine repacks the same way). Code on S3
(``source_dir`` an ``s3://`` ``sourcedir.tar.gz`` or prefix) is repacked the same way: the
container never reads ``SAGEMAKER_SUBMIT_DIRECTORY``. A model
package's container gets the same environment, with the entry point of the packaging step
that produced it.

SageMaker Pipelines registers model packages in the pipeline's own region; a registration
step for another region (``regions`` in its config) is an error that says how to proceed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path, PurePosixPath

from sagepipe.artifacts.sample_files import SAMPLE_TYPES, local_sample_files, sample_content_type
from sagepipe.expressions import JsonValue
from sagepipe.pipeline import Step
from sagepipe.sagemaker.context import CompileContext, join, tags
from sagepipe.sagemaker.errors import CompileError
from sagepipe.sagemaker.model_environment import model_environment
from sagepipe.sagemaker.steps.common import CompiledStep, framework_image, instance_type
from sagepipe.sagemaker.steps.processing import compile_packaging
from sagepipe.sagemaker.target import literal_config
from sagepipe.steps.packaging import SPECIFICATION as PACKAGING
from sagepipe.steps.payload import STEP_TYPE as PAYLOAD_STEP_TYPE

DEFAULT_ENTRY_POINT = "inference.py"


REPACK_SUFFIX = "-RepackModel"


def compile_model(ctx: CompileContext, step: Step) -> list[CompiledStep]:
    config = step.config
    _, concrete = instance_type(ctx, step, "inference_instance_type")
    model_data = ctx.object_value(step, "model_data")
    repack: list[CompiledStep] = []
    # As the SDK's ModelStep: the PyTorch inference container imports the code from the
    # model archive's code/ only, so code from a local directory or from S3 is repacked there.
    if step.code is not None:
        repack_step = _repack_step(step)
        repack = [
            replace(c, source=step.name, depends_on=list(step.depends_on))
            for c in compile_packaging(ctx, repack_step)
        ]
        output = repack_step.output_ref("packaged_model").to_json()
        model_data = join("/", [output, "model.tar.gz"])
    settings = dict(config.get("container_environment") or {})
    if "AWS_REGION" in settings:
        settings["AWS_REGION"] = ctx.target.region
    entry_point = step.code.entry_point if step.code is not None else None
    environment: dict[str, JsonValue] = dict(
        model_environment(ctx.target.region, entry_point, settings)
    )
    arguments: dict[str, JsonValue] = {
        "ExecutionRoleArn": ctx.role(step),
        "PrimaryContainer": {
            "Image": framework_image(ctx, step, "inference", concrete),
            "ModelDataUrl": model_data,
            "Environment": environment,
        },
    }
    if config.get("tags"):
        arguments["Tags"] = tags(step)
    depends_on = [*step.depends_on, *(r.name for r in repack)] if repack else None
    model = CompiledStep(
        step.name, "Model", "CreateModel", arguments, step.name, False, True, depends_on
    )
    return [*repack, model]


def _repack_step(step: Step) -> Step:
    """The packaging step that puts the model step's code into its model archive."""
    config = {
        key: step.config.get(key)
        for key in ("region", "role", "bucket", "prefix", "tags", "pipeline_name")
    }
    config.update({"compression_level": 6, "processing_instance_type": "ml.m5.large"})
    return Step(
        name=f"{step.name}{REPACK_SUFFIX}",
        step_type=PACKAGING.step_type,
        config_type="PackagingConfig",
        config=config,
        code=step.code,
        inputs={"model_input": step.inputs["model_data"]},
        specification=PACKAGING,
        depends_on=step.depends_on,
        cache=step.cache,
    )


def compile_registration(ctx: CompileContext, step: Step) -> list[CompiledStep]:
    config = step.config
    region = literal_config(step, "region")
    # Without an explicit regions list, registration follows the pipeline (and --region).
    if config.get("regions") and region != ctx.target.region:
        raise CompileError(
            f"step {step.name!r} registers the model in {region}, but a SageMaker pipeline "
            f"registers model packages in its own region ({ctx.target.region}); compile a "
            f"pipeline for {region} (--region {region}, with regions: [{region}] in the "
            "registration config), or drop the region"
        )
    inference_types = list(config["inference_instance_types"])
    concrete = inference_types[0] if inference_types else "ml.m5.large"
    container: dict[str, JsonValue] = {
        "Image": framework_image(ctx, step, "inference", concrete),
        "ModelDataUrl": ctx.object_value(step, "packaged_model"),
        "Environment": _package_environment(ctx, step),
        "Framework": config["framework"],
    }
    framework_version = literal_config(step, "framework_version")
    if framework_version:
        container["FrameworkVersion"] = framework_version
    specification: dict[str, JsonValue] = {
        "Containers": [container],
        "SupportedContentTypes": list(config["content_types"]),
        "SupportedResponseMIMETypes": list(config["response_types"]),
    }
    if inference_types:
        specification["SupportedRealtimeInferenceInstanceTypes"] = inference_types
    if config["transform_instance_types"]:
        specification["SupportedTransformInstanceTypes"] = list(config["transform_instance_types"])
    arguments: dict[str, JsonValue] = {
        "ModelPackageGroupName": config["model_package_group_name"],
        "InferenceSpecification": specification,
        "ModelApprovalStatus": config["approval_status"],
        "Domain": config["domain"],
        "Task": config["task"],
        "SkipModelValidation": "All" if config.get("skip_smoke_test") else "None",
    }
    if config.get("model_description"):
        arguments["ModelPackageDescription"] = config["model_description"]
    if config.get("customer_metadata"):
        arguments["CustomerMetadataProperties"] = dict(sorted(config["customer_metadata"].items()))
    if "payload_sample" in step.inputs:
        arguments["SamplePayloadUrl"] = ctx.object_value(step, "payload_sample")
        _check_sample_types(ctx, step)
    if "metrics" in step.inputs:
        _add_metrics(ctx, step, arguments)
    if config.get("tags"):
        arguments["Tags"] = tags(step)
    return [
        CompiledStep(
            step.name, "RegisterModel", "CreateModelPackage", arguments, step.name, False, True
        )
    ]


def _package_environment(ctx: CompileContext, step: Step) -> dict[str, JsonValue]:
    producer = ctx.producer(ctx.input_value(step, "packaged_model"))
    entry_point = DEFAULT_ENTRY_POINT
    if producer is not None and producer.code is not None:
        entry_point = producer.code.entry_point
    else:
        ctx.warn(
            step,
            "packaged_model does not come from a packaging step; the package's container "
            f"runs code/{DEFAULT_ENTRY_POINT}",
        )
    return dict(model_environment(ctx.target.region, entry_point))


def _check_sample_types(ctx: CompileContext, step: Step) -> None:
    """Warn when the package's ``content_types`` leave out a type its own sample payloads are
    sent as: SupportedContentTypes would not say that the model accepts them."""
    producer = ctx.producer(ctx.input_value(step, "payload_sample"))
    if producer is None or producer.step_type != PAYLOAD_STEP_TYPE:
        return
    declared = list(step.config["content_types"])
    missing = sorted(set(_sample_types(producer.config)) - set(declared))
    if missing:
        ctx.warn(
            step,
            f"the sample payloads of {producer.name!r} are sent as {', '.join(missing)}, "
            f"which content_types ({', '.join(declared) or 'none'}) does not list; add "
            f"{'them' if len(missing) > 1 else 'it'} to the registration's content_types",
        )


def _sample_types(payload: dict[str, JsonValue]) -> list[str]:
    """The content types a payload step's samples are sent as, where known before it runs
    (an ``s3://`` prefix without ``content_type`` is known only then)."""
    samples = payload.get("samples")
    if not isinstance(samples, list) or not samples:
        generated = payload.get("content_types")
        return [str(t) for t in generated] if isinstance(generated, list) else []
    types: list[str] = []
    for sample in samples:
        assert isinstance(sample, dict)  # a SampleFile's JSON
        path, explicit = str(sample["path"]), sample.get("content_type")
        if isinstance(explicit, str):
            types.append(explicit)
        elif path.startswith("s3://"):
            suffix = PurePosixPath(path).suffix.lower()
            types.extend([SAMPLE_TYPES[suffix]] if suffix in SAMPLE_TYPES else [])
        else:
            # Checked (and refused with a clear error) by the payload step's compile, upstream.
            types.extend(sample_content_type(str(f), None) for f in local_sample_files(Path(path)))
    return types


def _add_metrics(ctx: CompileContext, step: Step, arguments: dict[str, JsonValue]) -> None:
    value = ctx.input_value(step, "metrics")
    producer = ctx.producer(value)
    if producer is not None and producer.specification.kind == "Training":
        ctx.warn(
            step,
            "metrics come from a training job's FinalMetricDataList, which SageMaker cannot "
            "attach to a model package (ModelMetrics needs a JSON report on S3); they are "
            "not recorded. Write a metrics report with a processing step to record them",
        )
        return
    arguments["ModelMetrics"] = {
        "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": value}}
    }
