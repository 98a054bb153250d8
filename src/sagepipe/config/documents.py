"""Reading and writing the JSON or YAML document of a config file, with located errors.

The file format is chosen by suffix (``.json``, ``.yaml``, ``.yml``). Syntax errors and
repeated keys are reported with the file, line and column: a repeated step name would
otherwise silently drop a step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from sagepipe.errors import ConfigFileError

SUFFIXES: tuple[str, ...] = (".json", ".yaml", ".yml")


def check_suffix(path: Path) -> str:
    """The lower-case suffix of a config file; anything but JSON or YAML is an error."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigFileError(
            f"{path}: a config file must end in {', '.join(SUFFIXES)} (got {suffix or 'none'})"
        )
    return suffix


def read_document(path: Path) -> Any:
    """Parse a JSON or YAML file into plain Python values."""
    suffix = check_suffix(path)
    if not path.exists():
        raise ConfigFileError(f"config file {path} does not exist")
    if not path.is_file():
        raise ConfigFileError(f"{path} is not a file; give the path of a config file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"cannot read config file {path}: {exc}") from None
    if suffix == ".json":
        return _parse_json(path, text)
    return _parse_yaml(path, text)


def write_document(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` as JSON or YAML (by suffix), keeping the key order."""
    suffix = check_suffix(path)
    if suffix == ".json":
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(
            document, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --- JSON ------------------------------------------------------------------------------------


class _RepeatedKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RepeatedKey(key)
        out[key] = value
    return out


def _parse_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as exc:
        raise ConfigFileError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except _RepeatedKey as exc:
        raise ConfigFileError(
            f"{path}: key {exc.args[0]!r} appears twice in one object; keep one of them"
        ) from None


# --- YAML ------------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that rejects a key repeated in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} appears twice in one mapping; keep one of them",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(path: Path, text: str) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = exc.problem or str(exc)
        raise ConfigFileError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: invalid YAML: {exc}") from None
