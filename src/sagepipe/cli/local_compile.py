"""``sagepipe run PIPELINE``: compile the pipeline to the SageMaker definition that ``compile``
writes, with local defaults, put its code bundles into the store, and hand the definition to
the local engine. What runs locally is then exactly what SageMaker would receive.

Local defaults: the bucket is the one the configs agree on, else the local object store's
default bucket; the role is a placeholder (no job assumes it here); the region is the configs'
(else ``us-east-1``).
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

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
    definition = definition_from_json(compiled.definition, source=f"pipeline {pipeline.name!r}")
    return compiled, definition


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
