"""sagepipe's payload script, run by the payload step's SageMaker processing job.

Standalone on purpose: it runs inside the PyTorch container, which has no sagepipe, and it
installs nothing. It uses only the standard library and runs on Python 3.9 and later.

With user-supplied samples (the config's ``samples``: files shipped beside this script under
``samples/``, or downloaded from S3 under ``/opt/ml/processing/input/samples/<n>``), checks
each file as :mod:`sagepipe.artifacts.sample_files` does (size, JSON parses, CSV not blank,
NPY header sane and data complete, no object arrays) and packs them as they are under
``samples/<file name>``, the manifest saying which file came from where and is sent as which
content type. Without samples, reads the field lists from ``hyperparameters.json`` inside the
model archive (the one ``*.tar.gz`` under the model input), or from the config shipped beside
this script when the archive has none, and generates the records, in the same layout and with
the same records as :mod:`sagepipe.artifacts.payload` (a test compares the two byte for byte).
Either way it writes ``payload.tar.gz`` and ``manifest.json`` to the output.
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import json
import math
import os
import re
import sys
import tarfile
import zlib
from pathlib import Path
from typing import Any

# SageMaker mounts the job at /opt/ml; sagepipe's local engine, where it cannot mount it,
# names the directory that stands in for it.
PROCESSING = Path(os.environ.get("SAGEPIPE_OPT_ML", "/opt/ml")) / "processing"
_CONTAINER_PROCESSING = Path("/opt/ml/processing")
CONFIG_FILE = "sagepipe_payload.json"
HYPERPARAMETERS = "hyperparameters.json"


class PayloadError(Exception):
    """The payload cannot be generated."""


def read_hyperparameters(model_dir: Path) -> dict[str, Any] | None:
    """``hyperparameters.json`` from the model archive (the shallowest one), if any."""
    archives = sorted(p for p in model_dir.rglob("*.tar.gz") if p.is_file())
    if len(archives) > 1:
        raise PayloadError(f"expected one .tar.gz under {model_dir}, found {len(archives)}")
    if not archives:
        return None
    data: dict[str, Any] | None = None
    with tarfile.open(archives[0], "r:gz") as archive:
        members = [
            m for m in archive.getmembers() if m.isfile() and m.name.endswith(HYPERPARAMETERS)
        ]
        if members:
            member = min(members, key=lambda m: (m.name.count("/"), m.name))
            handle = archive.extractfile(member)
            data = json.loads(handle.read()) if handle is not None else None
        # tarfile stops at the end-of-archive blocks; only reading on to the end of the gzip
        # stream makes gzip compare its CRC-32 and length: no payload from a corrupt model.
        stream = archive.fileobj
        while stream is not None and stream.read(1 << 20):
            continue
    return data


_FILE_NAMES = {"text/csv": "payload_text_csv.csv", "application/json": "payload_json.json"}
_LIST_FIELDS = ("full_field_list", "tab_field_list", "cat_field_list")


def field_lists(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """The field lists, whether the JSON holds lists or SageMaker's JSON strings."""
    lists = dict(hyperparameters)
    for key in _LIST_FIELDS:
        if isinstance(lists.get(key), str):
            lists[key] = json.loads(lists[key])
    return lists


def sample_records(hyperparameters: dict[str, Any], config: dict[str, Any]) -> list[dict[str, Any]]:
    """The sample records, exactly as :mod:`sagepipe.artifacts.payload` makes them locally:
    the fields of ``full_field_list`` without the label, the id generated (``sample-<n>``),
    numeric fields the numeric default, every other field the text default, overrides
    applied."""
    hp = field_lists(hyperparameters)
    tab, cat = list(hp.get("tab_field_list") or []), list(hp.get("cat_field_list") or [])
    if not tab and not cat:
        raise PayloadError("the hyperparameters list no feature fields (tab/cat field lists)")
    overrides = config.get("field_defaults") or {}
    unknown = sorted(set(overrides) - set(tab) - set(cat))
    if unknown:
        raise PayloadError(f"field_defaults names fields that are not features: {unknown}")
    fields = [f for f in hp["full_field_list"] if f != hp.get("label_name")]
    records = []
    for n in range(int(config["sample_count"])):
        record: dict[str, Any] = {}
        for name in fields:
            if name == hp.get("id_name"):
                record[name] = f"sample-{n + 1}"
            elif name in tab:
                record[name] = float(overrides.get(name, config["default_numeric_value"]))
            else:
                record[name] = str(overrides.get(name, config["default_text_value"]))
        records.append(record)
    return records


def _csv(records: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for record in records:
        writer.writerow(list(record.values()))
    return buffer.getvalue().encode()


def write_payload(
    hyperparameters: dict[str, Any], config: dict[str, Any], output: Path
) -> list[dict[str, Any]]:
    """Write ``payload.tar.gz`` (one sample file per content type and ``manifest.json``)
    and ``manifest.json`` beside it; returns the manifest's samples."""
    records = sample_records(hyperparameters, config)
    fields = list(records[0]) if records else []
    samples = []
    bodies = []
    for content_type in config["content_types"]:
        if content_type not in _FILE_NAMES:
            raise PayloadError(f"content type {content_type!r} is not supported")
        body = _csv(records) if content_type == "text/csv" else json.dumps(records, indent=1)
        bodies.append(body if isinstance(body, bytes) else body.encode())
        samples.append(
            {
                "content_type": content_type,
                "file": _FILE_NAMES[content_type],
                "records": len(records),
                "fields": fields,
                "source": None,
            }
        )
    _write_archive(output, samples, bodies)
    return samples


def _write_archive(output: Path, samples: list[dict[str, Any]], bodies: list[bytes]) -> None:
    manifest = {"archive": "payload.tar.gz", "samples": samples}
    manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode()
    files = [(samples[i]["file"], bodies[i]) for i in range(len(samples))]
    files.append(("manifest.json", manifest_bytes))
    output.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(output, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    (output.parent / "manifest.json").write_bytes(manifest_bytes)


# --- user-supplied sample files ---------------------------------------------------------

SAMPLE_TYPES = {".json": "application/json", ".csv": "text/csv", ".npy": "application/x-npy"}
_NPY_MAGIC = b"\x93NUMPY"
_NPY_DESCR = re.compile(r"^[<>|=]?([biufcmMSUVa])(\d+)(?:\[\w+\])?$")


def _located(container_path: Path) -> Path:
    """Where a container path of the settings is: under PROCESSING when the job's /opt/ml is
    elsewhere (sagepipe's local engine where it cannot mount it)."""
    if container_path.is_relative_to(_CONTAINER_PROCESSING):
        return PROCESSING / container_path.relative_to(_CONTAINER_PROCESSING)
    return container_path


def collect_samples(config: dict[str, Any], here: Path) -> list[tuple[str, str, str | None, Path]]:
    """``(archive name, content type, source, file)`` of every sample, in config order."""
    found: list[tuple[str, str, str | None, Path]] = []
    for entry in config["samples"]:
        if "file" in entry:
            path = here / entry["file"]
            found.append((entry["file"], entry["content_type"], path.name, path))
            continue
        root = _located(Path(entry["input"]))
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        if not files:
            raise PayloadError(f"sample {entry['uri']}: no object was downloaded from it")
        uri = entry["uri"]
        for path in files:
            relative = path.relative_to(root).as_posix()
            single = len(files) == 1 and uri.endswith("/" + relative)
            source = uri if single else uri.rstrip("/") + "/" + relative
            content_type = entry.get("content_type") or _type_of(source)
            found.append((f"samples/{path.name}", content_type, source, path))
    names: dict[str, str | None] = {}
    for name, _, source, _ in found:
        if name in names:
            raise PayloadError(
                f"samples {names[name]} and {source} have the same file name; the payload "
                "archive keeps samples by file name: rename one"
            )
        names[name] = source
    return found


def _type_of(source: str) -> str:
    suffix = os.path.splitext(source)[1].lower()
    if suffix not in SAMPLE_TYPES:
        raise PayloadError(
            f"sample {source}: the extension {suffix or '(none)'!r} does not say its content "
            f"type; name it {', '.join(SAMPLE_TYPES)} or give content_type"
        )
    return SAMPLE_TYPES[suffix]


def check_sample(name: str, body: bytes, content_type: str, max_bytes: int) -> None:
    """The checks of :func:`sagepipe.artifacts.sample_files.check_sample`, standard library
    only (the NPY header is parsed as a Python literal, never unpickled)."""
    if len(body) > max_bytes:
        raise PayloadError(
            f"sample {name} is {len(body)} bytes, over the model server's default largest "
            f"request of {max_bytes} bytes; send a smaller sample"
        )
    if not body:
        raise PayloadError(f"sample {name} is empty; a sample is one request body")
    if content_type in ("application/json", "text/csv"):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(f"sample {name} is not UTF-8 text ({exc})") from None
        if content_type == "text/csv" and not text.strip():
            raise PayloadError(f"sample {name} holds no CSV record (only blank lines)")
        if content_type == "application/json":
            try:
                json.loads(text)
            except json.JSONDecodeError as exc:
                raise PayloadError(
                    f"sample {name} is not valid JSON: {exc.msg} at line {exc.lineno} "
                    f"column {exc.colno}"
                ) from None
    elif content_type == "application/x-npy":
        _check_npy(name, body)
    else:
        raise PayloadError(f"sample {name}: content type {content_type!r} is not supported")


def _check_npy(name: str, body: bytes) -> None:
    def bad(why: str) -> PayloadError:
        return PayloadError(f"sample {name} is not an NPY file with a valid header: {why}")

    if body[:6] != _NPY_MAGIC or len(body) < 10:
        raise bad("it does not start with the NPY magic string")
    major = body[6]
    if major == 1:
        size, start = int.from_bytes(body[8:10], "little"), 10
    elif major in (2, 3) and len(body) >= 12:
        size, start = int.from_bytes(body[8:12], "little"), 12
    else:
        raise bad(f"unsupported format version {major}.{body[7]}")
    try:
        header = ast.literal_eval(body[start : start + size].decode("latin-1"))
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise bad(f"the header is not a Python literal ({exc})") from None
    if not isinstance(header, dict) or set(header) != {"descr", "shape", "fortran_order"}:
        raise bad("the header must hold exactly descr, shape and fortran_order")
    shape, descr = header["shape"], header["descr"]
    if not isinstance(shape, tuple) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise bad(f"shape {shape!r} is not a tuple of sizes")
    match = _NPY_DESCR.match(descr) if isinstance(descr, str) else None
    if match is None:
        raise bad(f"descr {descr!r} is not a numeric dtype (object arrays are refused)")
    if not isinstance(header["fortran_order"], bool):
        raise bad("fortran_order is not True or False")
    kind, count = match.group(1), int(match.group(2))
    itemsize = 4 * count if kind == "U" else count
    expected = math.prod(shape) * itemsize
    found = len(body) - start - size
    if found != expected:
        raise PayloadError(
            f"sample {name}: its NPY header announces shape {shape} of {descr} ({expected} "
            f"bytes of data) but the file holds {found}; it is truncated or corrupt"
        )


def write_sample_files(config: dict[str, Any], here: Path, output: Path) -> list[dict[str, Any]]:
    """Check the user's sample files and write them as ``payload.tar.gz`` with a manifest
    (and ``manifest.json`` beside it); returns the manifest's samples."""
    samples: list[dict[str, Any]] = []
    bodies: list[bytes] = []
    for name, content_type, source, path in collect_samples(config, here):
        body = path.read_bytes()
        check_sample(source or name, body, content_type, int(config["max_sample_bytes"]))
        samples.append(
            {
                "content_type": content_type,
                "file": name,
                "records": None,
                "fields": [],
                "source": source,
            }
        )
        bodies.append(body)
    _write_archive(output, samples, bodies)
    return samples


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, default=PROCESSING / "input/model")
    parser.add_argument("--output-dir", type=Path, default=PROCESSING / "output/payload_sample")
    parser.add_argument("--config", type=Path, default=here / CONFIG_FILE)
    args = parser.parse_args(argv)
    config = json.loads(args.config.read_text())
    try:
        if config.get("samples"):
            manifest = write_sample_files(config, here, args.output_dir / "payload.tar.gz")
            print(f"payload: {len(manifest)} sample files -> {args.output_dir}/payload.tar.gz")
            return 0
        hyperparameters = read_hyperparameters(args.model_dir) or config.get("hyperparameters")
        if not hyperparameters:
            raise PayloadError(
                f"the model archive has no {HYPERPARAMETERS} and the payload config gives no "
                "hyperparameters"
            )
        manifest = write_payload(hyperparameters, config, args.output_dir / "payload.tar.gz")
    except (PayloadError, tarfile.TarError, OSError, ValueError, EOFError, zlib.error) as exc:
        print(f"payload: {exc}", file=sys.stderr)
        return 1
    print(f"payload: {len(manifest)} samples -> {args.output_dir}/payload.tar.gz")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
