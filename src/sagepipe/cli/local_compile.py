"""``sagepipe run PIPELINE``: compile the pipeline to the SageMaker definition that ``compile``
writes, with local defaults, put its code bundles into the store, and hand the definition to
the local engine. What runs locally is then exactly what SageMaker would receive.

Local defaults: the bucket is the one the configs agree on, else the local object store's
default bucket; the role is a placeholder (no job assumes it here); the region is the configs'
(else ``us-east-1``).

Caching: SageMaker caches only the step types that take a ``CacheConfig`` (the compiler writes
``{"Enabled": <step.cache>}`` there). A local run of sagepipe's own pipeline also reuses its
model and model package steps (a rerun of an unchanged pipeline is then fully cached, as it has
always been locally): they get the ``CacheConfig`` of the IR step they come from. Endpoint
steps are never reused: they start a live server.
"""

from __future__ import annotations

import copy
import functools
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagepipe.local.layout import DEFAULT_BUCKET

if TYPE_CHECKING:
    from sagepipe.local.definition.model import Definition
    from sagepipe.pipeline import Pipeline
    from sagepipe.sagemaker.compiler import CompiledPipeline
    from sagepipe.sagemaker.context import Upload
    from sagepipe.storage import Storage

#: The role a locally compiled pipeline names; nothing assumes it on this machine.
PLACEHOLDER_ROLE = "arn:aws:iam::000000000000:role/sagepipe-local-run"


def compile_for_local(pipeline: Pipeline, storage: Storage) -> tuple[CompiledPipeline, Definition]:
    """Compile ``pipeline`` with local defaults and upload its code bundles to ``storage``.

    Raises:
        CompileError: the pipeline cannot be compiled (what SageMaker would refuse).
    """
    from sagepipe.local.definition.reading import definition_from_json
    from sagepipe.sagemaker import CompileOptions, compile_pipeline

    configured = any(step.config.get("bucket") for step in pipeline.steps)
    options = CompileOptions(role=PLACEHOLDER_ROLE, bucket=None if configured else DEFAULT_BUCKET)
    compiled = compile_pipeline(pipeline, options)
    upload_bundles(storage, compiled.uploads)
    local = local_cache_configs(compiled.definition, pipeline)
    definition = definition_from_json(local, source=f"pipeline {pipeline.name!r}")
    return compiled, definition


def local_cache_configs(definition: Any, pipeline: Pipeline) -> Any:
    """A copy of ``definition`` whose Model and RegisterModel steps carry the ``CacheConfig``
    of the IR step they were compiled from (see the module docstring)."""
    caches = {step.name: step.cache for step in pipeline.steps}
    copied = copy.deepcopy(definition)
    for step in _all_steps(copied.get("Steps", [])):
        if step.get("Type") not in _LOCALLY_CACHED or "CacheConfig" in step:
            continue
        name = str(step.get("Name"))
        origin = caches.get(name)
        if origin is None:  # a step the compiler added (``<ir step>-RepackModel``...)
            origin = next((c for n, c in caches.items() if name.startswith(f"{n}-")), False)
        step["CacheConfig"] = {"Enabled": origin}
    return copied


_LOCALLY_CACHED = frozenset({"Model", "CreateModel", "RegisterModel"})


def _all_steps(steps: list[Any]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            arguments = step.get("Arguments", {})
            yield from _all_steps([*arguments.get("IfSteps", []), *arguments.get("ElseSteps", [])])


def upload_bundles(storage: Storage, uploads: Iterable[Upload]) -> list[str]:
    """Put every code bundle that is not in the store yet (keys are content addresses, so an
    object already there holds the same bytes); returns the URIs written."""
    written: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sagepipe-bundle-") as scratch:
        staged = Path(scratch) / "object"
        for upload in uploads:
            items: list[tuple[str, Callable[[], bytes]]] = [(upload.uri, upload.bundle.archive)]
            if upload.kind != "archive":
                items = [
                    (upload.uri + item.arcname, functools.partial(upload.bundle.content, item))
                    for item in upload.bundle.files
                ]
            for uri, content in items:
                if storage.exists(uri):
                    continue
                staged.write_bytes(content())
                storage.put_file(staged, uri)
                written.append(uri)
    return written
