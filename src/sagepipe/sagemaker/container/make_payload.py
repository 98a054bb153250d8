"""sagepipe's payload script, run by the payload step's SageMaker processing job.

Standalone on purpose: it runs inside the PyTorch container, which has no sagepipe, and it
installs nothing. It uses only the standard library and runs on Python 3.9 and later.

Reads the field lists from ``hyperparameters.json`` inside the model archive (the one
``*.tar.gz`` under the model input), or from the config shipped beside this script when the
archive has none, and writes ``payload.tar.gz`` to the output: ``sample_<i>.csv`` and/or
``sample_<i>.json`` (one request body each, features only, in the model's field order) and
``manifest.json`` listing every file with its content type.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

PROCESSING = Path("/opt/ml/processing")
CONFIG_FILE = "sagepipe_payload.json"
HYPERPARAMETERS = "hyperparameters.json"
EXTENSIONS = {"text/csv": "csv", "application/json": "json"}


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


def features(hyperparameters: dict[str, Any]) -> list[str]:
    """Feature fields in ``full_field_list`` order (id and label excluded)."""
    chosen = set(hyperparameters.get("tab_field_list", [])) | set(
        hyperparameters.get("cat_field_list", [])
    )
    if not chosen:
        raise PayloadError("the hyperparameters list no tab_field_list or cat_field_list")
    full = hyperparameters.get("full_field_list") or sorted(chosen)
    return [name for name in full if name in chosen]


def record(hyperparameters: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """One sample record: configured per-field defaults, else the numeric/text default."""
    categorical = set(hyperparameters.get("cat_field_list", []))
    overrides = config.get("field_defaults", {})
    values: dict[str, Any] = {}
    for name in features(hyperparameters):
        if name in overrides:
            values[name] = overrides[name]
        elif name in categorical:
            values[name] = config["default_text_value"]
        else:
            values[name] = config["default_numeric_value"]
    return values


def render(values: dict[str, Any], content_type: str) -> bytes:
    if content_type == "text/csv":
        return (",".join(str(v) for v in values.values()) + "\n").encode()
    if content_type == "application/json":
        return json.dumps(values, sort_keys=False).encode()
    raise PayloadError(f"content type {content_type!r} is not supported")


def write_payload(
    hyperparameters: dict[str, Any], config: dict[str, Any], output: Path
) -> list[dict[str, str]]:
    """Write ``payload.tar.gz``; returns its manifest."""
    values = record(hyperparameters, config)
    files: list[tuple[str, bytes]] = []
    manifest: list[dict[str, str]] = []
    for content_type in config["content_types"]:
        for index in range(config["sample_count"]):
            name = f"sample_{index}.{EXTENSIONS[content_type]}"
            files.append((name, render(values, content_type)))
            manifest.append({"file": name, "content_type": content_type})
    files.append(("manifest.json", json.dumps(manifest, indent=2).encode()))
    output.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(output, "w:gz") as archive:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return manifest


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
