"""Sample payloads for testing a registered model: the payload archive, its manifest, and
samples built from the model's field lists.

The archive (``payload.tar.gz``) holds the sample files and ``manifest.json``
(:class:`PayloadManifest`), which says, for each sample, its member name, the content type
it is sent as and, for a user-supplied file, where it came from (``source``). User files sit
under ``samples/<file name>``, as they were given (see
:mod:`sagepipe.artifacts.sample_files`); generated samples are described below.

Generated: one sample file per content type, every record laid out as the tabular example's
``inference.py`` reads it:

* ``text/csv``: one record per line, no header, the fields of ``full_field_list`` without
  the label, in that order (the id included);
* ``application/json``: a list of records, each an object keyed by the same field names.

Values: the id is generated (``sample-1``, ``sample-2``...), numeric (``tab_field_list``)
fields get ``default_numeric_value``, categorical (``cat_field_list``) and any other fields
get ``default_text_value``; ``field_defaults`` overrides single fields. The output directory
gets ``payload.tar.gz`` (the sample files and the manifest) and ``manifest.json``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from sagepipe.artifacts.errors import PayloadError
from sagepipe.artifacts.gzipio import open_tar_stream
from sagepipe.artifacts.tarstream import TarReader
from sagepipe.errors import did_you_mean

PAYLOAD_ARCHIVE = "payload.tar.gz"
MANIFEST = "manifest.json"
HYPERPARAMETERS_FILE = "hyperparameters.json"
_FILE_NAMES = {"text/csv": "payload_text_csv.csv", "application/json": "payload_json.json"}
_MAX_HYPERPARAMETERS_BYTES = 1 << 20
#: The content types generated from field lists.
GENERATED_TYPES = ("text/csv", "application/json")


class FieldLists(Protocol):
    """The model's field lists (what :class:`~sagepipe.config.ModelHyperparameters` holds;
    this module stays independent of the configs)."""

    @property
    def id_name(self) -> str: ...
    @property
    def label_name(self) -> str: ...
    @property
    def full_field_list(self) -> Sequence[str]: ...
    @property
    def tab_field_list(self) -> Sequence[str]: ...
    @property
    def cat_field_list(self) -> Sequence[str]: ...


class GenerationSettings(Protocol):
    """How to generate the records (what :class:`~sagepipe.config.PayloadConfig` holds)."""

    @property
    def content_types(self) -> Sequence[str]: ...
    @property
    def default_numeric_value(self) -> float: ...
    @property
    def default_text_value(self) -> str: ...
    @property
    def field_defaults(self) -> Mapping[str, str | float]: ...
    @property
    def sample_count(self) -> int: ...


class PayloadSample(BaseModel):
    """One sample file of the payload archive: one request of the smoke test.

    Attributes:
        content_type: The ``Content-Type`` it is sent with.
        file: Its member name in the archive (``samples/<name>`` for a user's file).
        records: Records in a generated sample; ``None`` for a user's file.
        fields: Field names of a generated sample's records, in order; empty for a user's file.
        source: The user's file it is a copy of (its file name for a local file, its
            ``s3://`` URI otherwise); ``None`` for a generated sample.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    content_type: str
    file: str
    records: int | None
    fields: tuple[str, ...]
    source: str | None = None

    @property
    def label(self) -> str:
        """How messages name this sample."""
        if self.source is None:
            return f"{self.content_type} sample payload"
        return f"sample file {self.source}"


class PayloadManifest(BaseModel):
    """What ``payload.tar.gz`` holds: one :class:`PayloadSample` per content type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    archive: str = PAYLOAD_ARCHIVE
    samples: tuple[PayloadSample, ...]

    def sample(self, content_type: str) -> PayloadSample:
        """The sample of ``content_type``.

        Raises:
            PayloadError: there is none.
        """
        for sample in self.samples:
            if sample.content_type == content_type:
                return sample
        known = [s.content_type for s in self.samples]
        raise PayloadError(f"the payload has no {content_type} sample (it has {known})")


def generate_payloads(
    hyperparameters: FieldLists, config: GenerationSettings, output_dir: Path
) -> PayloadManifest:
    """Write ``payload.tar.gz`` and ``manifest.json`` into ``output_dir``.

    Args:
        hyperparameters: The model's field lists.
        config: Content types, default values, per-field overrides and sample count.
        output_dir: Created if missing.

    Raises:
        PayloadError: no feature fields, an unknown content type, or a bad override.
    """
    unknown = [t for t in config.content_types if t not in GENERATED_TYPES]
    if unknown or not config.content_types:
        raise PayloadError(
            f"content types {unknown or '(none)'} cannot be generated; use "
            + ", ".join(GENERATED_TYPES)
        )
    fields = [f for f in hyperparameters.full_field_list if f != hyperparameters.label_name]
    records = [_record(hyperparameters, config, fields, n) for n in range(config.sample_count)]
    bodies = {
        "text/csv": lambda: _csv(records, fields),
        "application/json": lambda: json.dumps(records, indent=1).encode(),
    }
    samples = tuple(
        PayloadSample(
            content_type=content_type,
            file=_FILE_NAMES[content_type],
            records=len(records),
            fields=tuple(fields),
        )
        for content_type in config.content_types
    )
    manifest = PayloadManifest(samples=samples)
    manifest_bytes = (manifest.model_dump_json(indent=2) + "\n").encode()
    output_dir.mkdir(parents=True, exist_ok=True)
    files = [(s.file, bodies[s.content_type]()) for s in samples] + [(MANIFEST, manifest_bytes)]
    _write_archive(output_dir / PAYLOAD_ARCHIVE, files)
    (output_dir / MANIFEST).write_bytes(manifest_bytes)
    return manifest


def read_archive_files(archive: Path) -> dict[str, bytes]:
    """Every regular file of a small archive (a sample payload archive), by member name."""
    files: dict[str, bytes] = {}
    with open_tar_stream(archive) as stream:
        reader = TarReader(stream, archive)
        for info in reader:
            if info.isreg():
                files[info.name] = reader.read(info.size)
    return files


def read_payload_samples(payload_archive: Path) -> dict[str, bytes]:
    """The request bodies of a ``payload.tar.gz`` of generated samples, by content type."""
    return {sample.content_type: body for sample, body in read_payload_files(payload_archive)}


def read_payload_files(payload_archive: Path) -> list[tuple[PayloadSample, bytes]]:
    """Every sample of a ``payload.tar.gz`` with its request body, in manifest order.

    Raises:
        PayloadError: no or an invalid manifest, or a sample it names is missing.
    """
    files = read_archive_files(payload_archive)
    if MANIFEST not in files:
        raise PayloadError(f"{payload_archive} has no {MANIFEST}; it is not a payload archive")
    try:
        manifest = PayloadManifest.model_validate_json(files[MANIFEST])
    except ValidationError as exc:
        reason = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise PayloadError(
            f"{payload_archive}: {MANIFEST} is not a payload manifest: {reason}"
        ) from None
    missing = [s.file for s in manifest.samples if s.file not in files]
    if missing:
        raise PayloadError(f"{payload_archive}: {MANIFEST} names samples it lacks: {missing}")
    return [(sample, files[sample.file]) for sample in manifest.samples]


def read_hyperparameters(model_archive: Path) -> dict[str, Any] | None:
    """The JSON object of the ``hyperparameters.json`` at the top level of a model archive,
    or ``None`` (:func:`sagepipe.config.payload.resolve_hyperparameters` reads the field
    lists from it).

    The archive is streamed to its end even after the file is found: a payload made from a
    corrupt or truncated model archive must not count as a success.

    Raises:
        PayloadError: the file is over 1 MiB, not valid JSON or not a JSON object.
        ArchiveFormatError: the archive is corrupt or truncated (its CRC-32 or length).
    """
    found: dict[str, Any] | None = None
    with open_tar_stream(model_archive) as stream:
        reader = TarReader(stream, model_archive)
        for info in reader:
            if found is None and info.name == HYPERPARAMETERS_FILE and info.isreg():
                if info.size > _MAX_HYPERPARAMETERS_BYTES:
                    raise PayloadError(f"{model_archive}: {info.name} is over 1 MiB")
                found = _json_object(reader.read(info.size), model_archive)
    return found


def _json_object(raw: bytes, archive: Path) -> dict[str, Any]:
    where = f"{archive}: {HYPERPARAMETERS_FILE}"
    try:
        values = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PayloadError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(values, dict):
        raise PayloadError(f"{where} must hold a JSON object of hyperparameters")
    return values


def _record(
    hp: FieldLists, config: GenerationSettings, fields: list[str], n: int
) -> dict[str, Any]:
    features = set(hp.tab_field_list) | set(hp.cat_field_list)
    if not features:
        raise PayloadError(
            "the hyperparameters list no feature fields (tab_field_list and cat_field_list "
            "are both empty); the payload needs at least one"
        )
    for name in config.field_defaults:
        if name not in features:
            raise PayloadError(
                f"field_defaults names {name!r}, which is not a feature field"
                f"{did_you_mean(name, features)}; features: {sorted(features)}"
            )
    overrides = config.field_defaults
    record: dict[str, Any] = {}
    for name in fields:
        if name == hp.id_name:
            record[name] = f"sample-{n + 1}"
        elif name in hp.tab_field_list:
            record[name] = _number(name, overrides.get(name, config.default_numeric_value))
        else:
            record[name] = str(overrides.get(name, config.default_text_value))
    return record


def _number(name: str, value: str | float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise PayloadError(
            f"field_defaults[{name!r}] = {value!r} is not a number, but {name} is a numeric "
            "(tab_field_list) field"
        ) from None
    if not math.isfinite(number):
        raise PayloadError(f"field_defaults[{name!r}] = {value!r} is not a finite number")
    return number


def _csv(records: list[dict[str, Any]], fields: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for record in records:
        writer.writerow([record[f] for f in fields])
    return buffer.getvalue().encode()


def _write_archive(path: Path, files: list[tuple[str, bytes]]) -> None:
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, body in files:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(body))
