"""Cache keys: a sha256 of what a step computes from, never of when or where it ran.

The key covers the step type and its request (``Arguments``) with parameters substituted, the
content of the data and code its URIs point to (not the URIs of upstream outputs, which hold
execution ids), and execution variables as their names, not their values. Object digests are
remembered in the run store by (URI, size, modification time), so unchanged data is read once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from typing import Any

from sagepipe.local.evaluation import EvaluationContext, evaluate
from sagepipe.local.records import StepRecord
from sagepipe.local.store import RunStore
from sagepipe.storage import Storage, StorageError, is_s3, local_path

CACHE_VERSION = 1
_CHUNK = 1 << 20
_SKIPPED_NAMES = frozenset({"__pycache__", ".git", ".DS_Store"})


class ContentDigester:
    """Digests of the data a URI or path names, remembered in the run store."""

    def __init__(self, storage: Storage, store: RunStore) -> None:
        self.storage = storage
        self.store = store
        self._by_uri: dict[str, str] = {}

    def value(self, value: Any) -> Any:
        """``value`` with every URI or existing path in it replaced by its content digest."""
        if isinstance(value, str) and _names_data(value):
            return self.uri(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        return value

    def uri(self, uri: str) -> str:
        """``sha256:<hex>`` over the relative names, sizes and digests of the objects under
        ``uri`` (or of the one object it names); ``missing`` when there is none."""
        if uri in self._by_uri:
            return self._by_uri[uri]
        try:
            objects = [info for info in self.storage.list(uri) if not info.is_prefix]
        except StorageError:
            objects = []
        if not objects:
            return "missing"
        base = uri.rstrip("/") if is_s3(uri) else str(local_path(uri))
        digest = hashlib.sha256()
        for info in objects:
            relative = info.uri[len(base) :].lstrip("/")
            sha = self.store.digest(info.uri, info.size, info.last_modified)
            if sha is None:
                sha = self._hash_object(info.uri)
                self.store.remember_digest(info.uri, info.size, info.last_modified, sha)
            digest.update(f"{relative}\0{info.size}\0{sha}\n".encode())
        self._by_uri[uri] = f"sha256:{digest.hexdigest()}"
        return self._by_uri[uri]

    def _hash_object(self, uri: str) -> str:
        digest = hashlib.sha256()
        with self.storage.open_read(uri) as reader:
            while chunk := reader.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()


def _names_data(value: str) -> bool:
    if is_s3(value) or value.startswith("file://"):
        return True
    return value.startswith("/") and os.path.exists(value)


def outputs_intact(record: StepRecord, storage: Storage) -> bool:
    """Whether everything a cached step uploaded is still there."""
    for output in record.outputs:
        expected = int(output.get("objects", 0))
        if expected == 0:
            continue
        try:
            found = [i for i in storage.list(str(output["uri"])) if not i.is_prefix]
        except StorageError:
            return False
        if len(found) < expected:
            return False
    return True


# --- steps of SageMaker pipeline definitions -------------------------------------------------

#: Request fields that name where a job writes, not what it reads: kept as text in the key
#: (their URIs may already hold an earlier run's output, which must not change the key).
_OUTPUT_FIELDS = frozenset(
    {"ProcessingOutputConfig", "OutputDataConfig", "TransformOutput", "CheckpointConfig"}
)
_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_UNIT_SECONDS = {
    "years": 365 * 86400.0,
    "months": 30 * 86400.0,
    "weeks": 7 * 86400.0,
    "days": 86400.0,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
}


def duration_seconds(text: str) -> float:
    """Seconds of an ISO 8601 duration (``PT1H``, ``P30D``; a year is 365 days, a month 30).

    Raises:
        ValueError: ``text`` is not such a duration.
    """
    found = _DURATION.match(text)
    if found is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT12H, P30D or P1DT6H")
    return sum(float(v) * _UNIT_SECONDS[k] for k, v in found.groupdict().items() if v)


def request_cache_key(
    step_type: str,
    arguments: Any,
    context: EvaluationContext,
    digester: ContentDigester,
    where: str,
) -> str:
    """The cache key of a definition step: its ``Arguments`` evaluated with the execution
    variables as their names, every URI it reads (inputs, code, upstream properties) replaced
    by the digest of its content, and the places it writes to kept as they are.

    Raises:
        ExpressionEvaluationError: naming ``where``.
    """
    symbolic = dataclasses.replace(
        context,
        execution={name: f"{{Execution.{name}}}" for name in context.execution},
        step_value=digester.value,
    )
    request = evaluate(arguments, symbolic, where)
    if isinstance(request, dict):
        request = {
            key: value if key in _OUTPUT_FIELDS else digester.value(value)
            for key, value in request.items()
        }
    material = {"version": CACHE_VERSION, "step_type": step_type, "request": request}
    text = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
