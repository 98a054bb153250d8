"""Regenerate src/sagepipe/data/pytorch_images.json from the SageMaker Python SDK's image data.

    pip download sagemaker-core --no-deps -d /tmp/sdk    # or: pip download "sagemaker<3" ...
    python tools/update_pytorch_images.py /tmp/sdk/sagemaker_core-*.whl
    python tools/update_pytorch_images.py path/to/pytorch.json [--output FILE]

The source is either an SDK wheel (``sagemaker`` 2.x keeps the data in
``sagemaker/image_uri_config/pytorch.json``, ``sagemaker-core`` -- the data of ``sagemaker``
3.x -- in ``sagemaker/core/image_uri_config/pytorch.json``) or such a ``pytorch.json`` file.
Nothing is typed by hand:

- the ``training`` and ``inference`` scopes are copied (processors, version aliases, and per
  version the Python tags, repository, optional ``container_version``/``tag_prefix``), each
  version's region -> account map stored once per distinct map;
- the ECR hostname of every region is what botocore's endpoint data says (the SDK asks
  botocore the same question when it builds a URI);
- from a wheel, the Graviton instance families (``fw_utils.py``: the SDK serves them from
  Graviton images, which sagepipe does not look up) and the container-version suffixes the
  SDK's ``image_uris`` module appends to PyTorch GPU tags on ``ml.p4d`` instances or with
  smdistributed are read out of its source (the dict literal ``container_versions``); a bare
  ``pytorch.json`` has none (``--sdk-source image_uris.py`` reads the suffixes from a file,
  ``--neuron pytorch-neuron.json`` adds the Trainium images).

The output records where the data came from (package, version, file, SHA-256).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

OUTPUT = (
    Path(__file__).resolve().parent.parent / "src" / "sagepipe" / "data" / "pytorch_images.json"
)
SCOPES = ("training", "inference")
_DATA_PATHS = (
    "sagemaker/core/image_uri_config/pytorch.json",
    "sagemaker/image_uri_config/pytorch.json",
)
_CODE_PATHS = ("sagemaker/core/image_uris.py", "sagemaker/image_uris.py")
_FW_UTILS_PATHS = ("sagemaker/core/fw_utils.py", "sagemaker/fw_utils.py")
_VERSION_KEYS = ("py_versions", "repository", "container_version", "tag_prefix", "sdk_versions")
_WHEEL_NAME = re.compile(r"^(?P<name>[A-Za-z0-9_.]+)-(?P<version>[^-]+)-")


class UpdateError(Exception):
    """The source cannot be turned into an image table."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="an SDK wheel (.whl) or a pytorch.json")
    parser.add_argument(
        "--sdk-source",
        type=Path,
        help="the SDK's image_uris.py, for the p4d container-version suffixes (a wheel has it)",
    )
    parser.add_argument(
        "--neuron", type=Path, help="the SDK's pytorch-neuron.json (Trainium; a wheel has it)"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT}")
    args = parser.parse_args(argv)
    try:
        table = build_table(args.source, args.sdk_source, args.neuron)
    except UpdateError as exc:
        print(f"update_pytorch_images: {exc}", file=sys.stderr)
        return 1
    args.output.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    versions = {scope: len(table["scopes"][scope]["versions"]) for scope in SCOPES}
    print(f"wrote {args.output}: {versions} from {table['source']['description']}")
    return 0


def build_table(
    source: Path, sdk_source: Path | None = None, neuron_source: Path | None = None
) -> dict[str, Any]:
    """The image table of ``source`` (a wheel or a ``pytorch.json``)."""
    for given in (source, sdk_source, neuron_source):
        if given is not None and not given.is_file():
            raise UpdateError(f"{given}: no such file")
    code: str | None = None
    neuron_raw: bytes | None = None
    if source.suffix == ".whl":
        data_path, raw, code, neuron_raw, package, version = _read_wheel(source)
        graviton = _graviton_families(source)
    else:
        data_path, raw, package, version = source.name, source.read_bytes(), None, None
        graviton = []
    if sdk_source is not None:
        code = sdk_source.read_text()
    if neuron_source is not None:
        neuron_raw = neuron_source.read_bytes()
    config = _json(raw, data_path)
    registries: dict[str, dict[str, str]] = {}
    scopes = {scope: _scope(config, scope, registries, data_path) for scope in SCOPES}
    neuron = {}
    if neuron_raw is not None:
        neuron_config = _json(neuron_raw, "pytorch-neuron.json")
        neuron = {
            scope: _scope(neuron_config, scope, registries, "pytorch-neuron.json")
            for scope in SCOPES
            if scope in neuron_config
        }
    regions = sorted({region for accounts in registries.values() for region in accounts})
    described = f"{package} {version}" if package else "a pytorch.json file"
    return {
        "source": {
            "description": f"{described} ({data_path})",
            "package": package,
            "package_version": version,
            "file": data_path,
            "sha256": hashlib.sha256(raw).hexdigest(),
        },
        "hostnames": _hostnames(regions),
        "registries": registries,
        "scopes": scopes,
        "neuron": neuron,
        "gpu_container_versions": _container_versions(code) if code is not None else {},
        "graviton_families": graviton,
    }


def _json(raw: bytes, where: str) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UpdateError(f"{where} is not JSON ({exc})") from None
    return loaded


def _read_wheel(wheel: Path) -> tuple[str, bytes, str | None, bytes | None, str, str]:
    named = _WHEEL_NAME.match(wheel.name)
    if named is None:
        raise UpdateError(f"{wheel.name}: not a wheel file name (name-version-...whl)")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        data_path = next((path for path in _DATA_PATHS if path in names), None)
        if data_path is None:
            raise UpdateError(
                f"{wheel.name} has none of {', '.join(_DATA_PATHS)}; for sagemaker 3.x "
                "download sagemaker-core, which holds its image data"
            )
        code_path = next((path for path in _CODE_PATHS if path in names), None)
        code = archive.read(code_path).decode() if code_path else None
        neuron_path = data_path.replace("pytorch.json", "pytorch-neuron.json")
        neuron = archive.read(neuron_path) if neuron_path in names else None
        raw = archive.read(data_path)
        return data_path, raw, code, neuron, named["name"], named["version"]


def _scope(
    config: dict[str, Any], scope: str, registries: dict[str, dict[str, str]], where: str
) -> dict[str, Any]:
    spec = config.get(scope)
    if not isinstance(spec, dict) or not isinstance(spec.get("versions"), dict):
        raise UpdateError(f"{where} has no {scope!r} scope with versions")
    versions: dict[str, Any] = {}
    for version, entry in spec["versions"].items():
        missing = [key for key in ("py_versions", "repository", "registries") if key not in entry]
        if missing:
            raise UpdateError(f"{where}: {scope} {version} lacks {', '.join(missing)}")
        record = {key: entry[key] for key in _VERSION_KEYS if key in entry}
        record["registries"] = _registry_name(entry["registries"], registries)
        if "processors" in entry:
            record["processors"] = entry["processors"]
        versions[version] = record
    aliases = spec.get("version_aliases", {})
    unknown = sorted(alias for alias, target in aliases.items() if target not in versions)
    if unknown:
        raise UpdateError(f"{where}: {scope} aliases {unknown} point at no version")
    return {
        "processors": spec.get("processors", []),
        "version_aliases": aliases,
        "versions": versions,
    }


def _registry_name(accounts: dict[str, str], registries: dict[str, dict[str, str]]) -> str:
    """The name of ``accounts`` in the deduplicated registry maps (added when new)."""
    for name, known in registries.items():
        if known == accounts:
            return name
    name = f"r{len(registries) + 1}"
    registries[name] = dict(sorted(accounts.items()))
    return name


def _hostnames(regions: list[str]) -> dict[str, str]:
    """``ecr.<region>.<dns suffix>`` for each region, from botocore's endpoint data."""
    import botocore.session

    resolver = botocore.session.get_session()._get_internal_component("endpoint_resolver")
    hostnames: dict[str, str] = {}
    for region in regions:
        endpoint = resolver.construct_endpoint("ecr", region)
        if endpoint is None:
            # The SDK makes the same exception for il-central-1; any other region botocore
            # does not know would fail there too, so it is left out (no image there).
            if region != "il-central-1":
                print(f"note: botocore knows no ECR endpoint in {region}; left out")
                continue
            endpoint = {"hostname": f"ecr.{region}.amazonaws.com"}
        hostnames[region] = str(endpoint["hostname"])
    return hostnames


def _graviton_families(wheel: Path) -> list[str]:
    """The instance families the SDK serves from Graviton (arm64) images
    (``GRAVITON_ALLOWED_TARGET_INSTANCE_FAMILY`` in its ``fw_utils.py``)."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        path = next((p for p in _FW_UTILS_PATHS if p in names), None)
        if path is None:
            return []
        tree = ast.parse(archive.read(path).decode())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "GRAVITON_ALLOWED_TARGET_INSTANCE_FAMILY"
            for t in node.targets
        ):
            families: list[str] = ast.literal_eval(node.value)
            return families
    raise UpdateError(f"{path} has no GRAVITON_ALLOWED_TARGET_INSTANCE_FAMILY")


def _container_versions(code: str) -> dict[str, str]:
    """The PyTorch entries of the ``container_versions`` dict literal in ``image_uris.py``,
    keyed by the tag they extend (``1.6.0-gpu-py36``)."""
    for node in ast.walk(ast.parse(code)):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "container_versions" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            literal: dict[str, str] = ast.literal_eval(node.value)
            return {
                key.removeprefix("pytorch-"): value
                for key, value in sorted(literal.items())
                if key.startswith("pytorch-")
            }
    raise UpdateError("the SDK's image_uris.py has no container_versions dict literal")


if __name__ == "__main__":
    sys.exit(main())
