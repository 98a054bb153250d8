"""Batch transform: every object under an input prefix through the handler chain, written
as ``<name>.out`` under the output prefix, exactly as a SageMaker transform job writes it.

Requests run in-process in ``max_concurrent`` worker processes (no HTTP); their answers are
assembled in input order. The first failing request fails the job, naming the object and
the record(s).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sagepipe.serving import transform_records as tr
from sagepipe.serving.errors import TransformError
from sagepipe.serving.model_source import prepare_model
from sagepipe.serving.requirements import requirements_python
from sagepipe.serving.settings import DEFAULT_MAX_PAYLOAD_MB
from sagepipe.serving.transform_filters import WHOLE, RecordFilter
from sagepipe.serving.transform_pool import Result, TransformPool

_CHUNK_REQUESTS = 32
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class TransformResult:
    """What a transform wrote.

    Attributes:
        outputs: URI (or path) of each ``.out`` object, in input order.
        records: Input records processed.
        requests: Requests sent to the handler chain.
    """

    outputs: list[str]
    records: int
    requests: int


@dataclass
class _Object:
    name: str  # relative to the input prefix
    path: Path
    pieces: list[tuple[tr.MiniBatch, bytes]]
    requests: int = 0
    answered: int = 0


def _list_inputs(uri: str, work: Path) -> list[tuple[str, Path]]:
    if uri.startswith("s3://"):
        from sagepipe.storage import get_storage

        storage = get_storage()
        prefix = uri.rstrip("/")
        infos = [i for i in storage.list(uri) if not i.is_prefix]
        result = []
        for info in infos:
            relative = info.uri[len(prefix) :].lstrip("/") or info.uri.rsplit("/", 1)[-1]
            if ".." in relative.split("/"):
                # "<output>/<name>.out" must stay under the output prefix.
                raise TransformError(f"the input object {info.uri} has '..' in its key")
            local = work / "input" / relative
            storage.get_file(info.uri, local)
            result.append((relative, local))
        return result
    root = Path(uri.removeprefix("file://")).expanduser()
    if root.is_file():
        return [(root.name, root)]
    if not root.is_dir():
        raise TransformError(f"the transform input {uri} does not exist")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return [(p.relative_to(root).as_posix(), p) for p in files]


def _write_output(output: str, name: str, data: bytes, work: Path) -> str:
    if output.startswith("s3://"):
        from sagepipe.storage import get_storage

        uri = f"{output.rstrip('/')}/{name}.out"
        local = work / "output" / f"{name}.out"
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(data)
        get_storage().put_file(local, uri)
        return uri
    target = Path(output.removeprefix("file://")).expanduser() / f"{name}.out"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, target)
    return str(target)


def _chunks(
    objects: list[_Object],
    split_type: str,
    strategy: str,
    max_payload: int,
    input_filter: RecordFilter,
    content_type: str,
) -> Iterator[list[tuple[_Object, tr.MiniBatch]]]:
    chunk: list[tuple[_Object, tr.MiniBatch]] = []
    size = 0
    for obj in objects:
        records = tr.split_records(obj.path.read_bytes(), split_type)
        if not input_filter.selects_all:
            records = [
                tr.Record(r.number, input_filter.apply(r.data, content_type), source=r.data)
                for r in records
            ]
        for batch in tr.mini_batches(records, strategy, max_payload, obj.name):
            obj.requests += 1
            chunk.append((obj, batch))
            size += len(batch.body)
            if len(chunk) >= _CHUNK_REQUESTS or size >= _CHUNK_BYTES:
                yield chunk
                chunk, size = [], 0
    if chunk:
        yield chunk


def run_transform(
    model: str,
    input: str,
    output: str,
    *,
    content_type: str = "text/csv",
    accept: str | None = None,
    split_type: Literal["Line", "None"] = "None",
    batch_strategy: Literal["SingleRecord", "MultiRecord"] = "SingleRecord",
    max_payload_mb: int = DEFAULT_MAX_PAYLOAD_MB,
    assemble_with: Literal["Line", "None"] = "None",
    join_source: Literal["Input", "None"] = "None",
    input_filter: str = WHOLE,
    output_filter: str = WHOLE,
    max_concurrent: int = 1,
    entry_point: str | None = None,
    source_dir: str | None = None,
    env: Mapping[str, str] | None = None,
) -> TransformResult:
    """Run a batch transform job locally.

    Args:
        model: Model directory, ``model.tar.gz`` path or ``s3://`` URI.
        input: A file, a directory or an ``s3://`` prefix; every object under it is read.
        output: Directory or ``s3://`` prefix for the ``<name>.out`` objects.
        content_type: Content type of the input records.
        accept: Accept of the requests (default ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` or
            ``application/json``, as the container decides).
        split_type: ``Line`` or ``None`` (whole objects).
        batch_strategy: ``SingleRecord`` or ``MultiRecord``.
        max_payload_mb: Largest request, in MB (0: no limit).
        assemble_with: ``Line`` or ``None``.
        join_source: ``Input`` joins each output record with its input record.
        input_filter: JSONPath selecting what of each input record is sent (``$``: all).
        output_filter: JSONPath selecting what of each (joined) output record is written.
        max_concurrent: Worker processes, each with the model loaded once.
        entry_point: Inference script (as ``sagepipe serve``).
        source_dir: Directory of the script (as ``sagepipe serve``).
        env: The model's environment variables (default: this process's).

    Returns:
        The outputs written and the counts.

    Raises:
        TransformError: a request failed (naming the object and the records), or the
            options contradict each other.
        ServingError: the model or its code cannot be prepared or loaded.
    """
    if join_source == "Input" and assemble_with != "Line":
        raise TransformError("--join-source Input needs --assemble-with Line")
    if max_concurrent < 1 or max_payload_mb < 0:
        raise TransformError("--max-concurrent must be >= 1 and --max-payload-mb >= 0")
    filters = (
        RecordFilter(input_filter, "InputFilter"),
        RecordFilter(output_filter, "OutputFilter"),
    )
    environment = dict(os.environ if env is None else env)
    accept = accept or environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or "application/json"
    with tempfile.TemporaryDirectory(prefix="sagepipe-transform-") as tmp:
        work = Path(tmp)
        source = prepare_model(model, work, environment, entry_point, source_dir)
        python = requirements_python(source.requirements) if source.requirements else sys.executable
        objects = [_Object(name, path, []) for name, path in _list_inputs(input, work)]
        pool = TransformPool(
            max_concurrent,
            python,
            source.model_dir,
            source.code_dir,
            source.program,
            environment,
            accept,
        )
        try:
            requests = _run(
                pool,
                objects,
                split_type,
                batch_strategy,
                max_payload_mb,
                content_type,
                accept,
                max_concurrent,
                filters[0],
            )
        finally:
            pool.shutdown()
        outputs = []
        for obj in objects:
            data = tr.assemble(
                obj.pieces,
                assemble_with=assemble_with,
                join_source=join_source,
                content_type=content_type,
                accept=accept,
                name=obj.name,
                output_filter=filters[1],
            )
            outputs.append(_write_output(output, obj.name, data, work))
        records = sum(len(b.records) for obj in objects for b, _ in obj.pieces)
        return TransformResult(outputs=outputs, records=records, requests=requests)


def _run(
    pool: TransformPool,
    objects: list[_Object],
    split_type: str,
    strategy: str,
    max_payload_mb: int,
    content_type: str,
    accept: str,
    workers: int,
    input_filter: RecordFilter,
) -> int:
    window: deque[tuple[list[tuple[_Object, tr.MiniBatch]], Future[list[Result]]]]
    window = deque()
    requests = 0

    def drain_one() -> None:
        chunk, future = window.popleft()
        answers = future.result()
        for (obj, batch), (status, body, _) in zip(chunk, answers, strict=True):
            if status >= 300:
                raise TransformError(
                    f"transform failed on {obj.name}, {batch.describe()}: HTTP {status}: "
                    f"{_message(body)}"
                )
            obj.pieces.append((batch, body))

    max_payload = max_payload_mb * 1024 * 1024
    for chunk in _chunks(objects, split_type, strategy, max_payload, input_filter, content_type):
        requests += len(chunk)
        bodies = [batch.body for _, batch in chunk]
        window.append((chunk, pool.submit(bodies, content_type, accept)))
        if len(window) > 2 * workers:
            drain_one()
    while window:
        drain_one()
    return requests


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        return body[:500].decode("utf-8", "replace")
