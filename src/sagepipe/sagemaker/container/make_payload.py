"""sagepipe's payload script, run by the payload step's SageMaker processing job.

Standalone on purpose: it runs inside the PyTorch container, which has no sagepipe, and it
installs nothing. It uses only the standard library and runs on Python 3.9 and later.

Reads the field lists from ``hyperparameters.json`` inside the model archive (the one
``*.tar.gz`` under the model input), or from the config shipped beside this script when the
archive has none, and writes ``payload.tar.gz`` and ``manifest.json`` to the output, in the
same layout and with the same records as the local payload step
(:mod:`sagepipe.artifacts.payload`; a test compares the two byte for byte).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tarfile
from pathlib import Path
from typing import Any

# SageMaker mounts the job at /opt/ml; sagepipe's local engine, where it cannot mount it,
# names the directory that stands in for it.
PROCESSING = Path(os.environ.get("SAGEPIPE_OPT_ML", "/opt/ml")) / "processing"
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
    with tarfile.open(archives[0], "r:gz") as archive:
        members = [
            m for m in archive.getmembers() if m.isfile() and m.name.endswith(HYPERPARAMETERS)
        ]
        if not members:
            return None
        member = min(members, key=lambda m: (m.name.count("/"), m.name))
        handle = archive.extractfile(member)
        if handle is None:
            return None
        data: dict[str, Any] = json.loads(handle.read())
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
            }
        )
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
        hyperparameters = read_hyperparameters(args.model_dir) or config.get("hyperparameters")
        if not hyperparameters:
            raise PayloadError(
                f"the model archive has no {HYPERPARAMETERS} and the payload config gives no "
                "hyperparameters"
            )
        manifest = write_payload(hyperparameters, config, args.output_dir / "payload.tar.gz")
    except (PayloadError, tarfile.TarError, OSError, ValueError) as exc:
        print(f"payload: {exc}", file=sys.stderr)
        return 1
    print(f"payload: {len(manifest)} samples -> {args.output_dir}/payload.tar.gz")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
