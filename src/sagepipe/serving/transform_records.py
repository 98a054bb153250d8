"""Batch transform record semantics, as SageMaker applies them (no I/O here).

* ``SplitType=Line`` splits an object into records at newlines (a trailing ``\\r`` is
  dropped, blank lines are skipped); ``None`` makes the whole object one record.
* ``BatchStrategy=SingleRecord`` sends one record per request; ``MultiRecord`` joins as many
  consecutive records with newlines as fit in ``MaxPayloadInMB``.
* ``AssembleWith=Line`` writes one output record per line (each followed by a newline);
  ``None`` concatenates the responses as they are.
* ``JoinSource=Input`` joins each output record with its input record as read (before any
  ``InputFilter``): CSV appends the output to the input row; JSON adds ``SageMakerOutput``
  to an input object, or wraps a non-object input as
  ``{"SageMakerInput": ..., "SageMakerOutput": ...}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from sagepipe.serving.errors import TransformError
from sagepipe.serving.transform_filters import RecordFilter


@dataclass(frozen=True)
class Record:
    """One input record: its 1-based number in the object, its bytes as sent and, when an
    ``InputFilter`` selected part of it, its bytes as read (what ``JoinSource=Input`` joins)."""

    number: int
    data: bytes
    source: bytes | None = None

    @property
    def as_read(self) -> bytes:
        """The record as read from the input object."""
        return self.data if self.source is None else self.source


@dataclass(frozen=True)
class MiniBatch:
    """The records one request carries and its body."""

    records: tuple[Record, ...]
    body: bytes

    def describe(self) -> str:
        """``record 7`` or ``records 3-9`` (numbers are lines for SplitType Line)."""
        first, last = self.records[0].number, self.records[-1].number
        return f"record {first}" if first == last else f"records {first}-{last}"


def split_records(data: bytes, split_type: str) -> list[Record]:
    """The records of one object."""
    if split_type == "None":
        return [Record(1, data)]
    records = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        line = line.removesuffix(b"\r")
        if line.strip():
            records.append(Record(number, line))
    return records


def mini_batches(
    records: list[Record], strategy: str, max_payload_bytes: int, name: str
) -> Iterator[MiniBatch]:
    """Group records into requests; ``max_payload_bytes`` 0 means no limit.

    Raises:
        TransformError: a single record is larger than the payload limit.
    """
    limit = max_payload_bytes or None
    batch: list[Record] = []
    size = 0
    for record in records:
        if limit is not None and len(record.data) > limit:
            raise TransformError(
                f"{name}: record {record.number} is {len(record.data)} bytes, more than "
                f"--max-payload-mb allows ({limit} bytes); raise it or split the record"
            )
        if strategy == "SingleRecord":
            yield MiniBatch((record,), record.data)
            continue
        added = len(record.data) + (1 if batch else 0)
        if batch and limit is not None and size + added > limit:
            yield MiniBatch(tuple(batch), b"\n".join(r.data for r in batch))
            batch, size, added = [], 0, len(record.data)
        batch.append(record)
        size += added
    if batch:
        yield MiniBatch(tuple(batch), b"\n".join(r.data for r in batch))


def output_records(body: bytes, batch: MiniBatch) -> list[bytes]:
    """Split one response into output records: the whole body for one input record,
    else its lines."""
    text = body.rstrip(b"\r\n")
    if len(batch.records) == 1:
        return [text]
    return [line.removesuffix(b"\r") for line in text.split(b"\n")]


def join_record(source: bytes, output: bytes, content_type: str, accept: str) -> bytes:
    """Join one input record with its output record (JoinSource=Input)."""
    if content_type.split(";")[0].strip() == "text/csv":
        return source + b"," + output
    try:
        value = json.loads(source)
    except json.JSONDecodeError as exc:
        raise TransformError(
            f"the input record is not JSON, so it cannot be joined: {exc}"
        ) from None
    result: object
    if accept.split(";")[0].strip() == "application/json":
        try:
            result = json.loads(output)
        except json.JSONDecodeError:
            result = output.decode("utf-8", "replace")
    else:
        result = output.decode("utf-8", "replace")
    if isinstance(value, dict):
        joined = {**value, "SageMakerOutput": result}
    else:
        joined = {"SageMakerInput": value, "SageMakerOutput": result}
    return json.dumps(joined).encode("utf-8")


def assemble(
    pieces: list[tuple[MiniBatch, bytes]],
    *,
    assemble_with: str,
    join_source: str,
    content_type: str,
    accept: str,
    name: str,
    output_filter: RecordFilter | None = None,
) -> bytes:
    """The ``.out`` object of one input object from its requests and responses.

    ``output_filter`` applies to each output record: a joined record is in the input's
    ``content_type``, an unjoined one in ``accept``.

    Raises:
        TransformError: joining needs one output record per input record and a response
            has another number of them.
    """
    selected = (
        output_filter if output_filter is not None and not output_filter.selects_all else None
    )
    output_type = content_type if join_source == "Input" else accept
    if assemble_with == "None" and join_source == "None":
        if selected is not None:
            return b"".join(selected.apply(body, output_type) for _, body in pieces)
        return b"".join(body for _, body in pieces)
    lines: list[bytes] = []
    for batch, body in pieces:
        outputs = output_records(body, batch)
        if join_source == "Input":
            if len(outputs) != len(batch.records):
                raise TransformError(
                    f"{name}, {batch.describe()}: the response has {len(outputs)} output "
                    f"records for {len(batch.records)} input records; --join-source Input "
                    "needs one output line per input record"
                )
            outputs = [
                join_record(record.as_read, output, content_type, accept)
                for record, output in zip(batch.records, outputs, strict=True)
            ]
        if selected is not None:
            outputs = [selected.apply(output, output_type) for output in outputs]
        lines.extend(outputs)
    if assemble_with == "Line":
        return b"".join(line + b"\n" for line in lines)
    return b"".join(lines)
