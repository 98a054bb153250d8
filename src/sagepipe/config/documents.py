"""Reading and writing the JSON or YAML document of a config file, with located errors.

The file format is chosen by suffix (``.json``, ``.yaml``, ``.yml``). Syntax errors and
repeated keys are reported with the file, line and column: a repeated step name would
otherwise silently drop a step.

YAML is read with a safe loader (no python tags) that is also bounded: a document may use
at most :data:`MAX_YAML_ALIASES` aliases and expand to at most :data:`MAX_YAML_VALUES`
values, counted on the parsed node graph before anything is built. An alias bomb (a few
KB that expand to billions of values) is refused at once instead of keeping every later
stage busy for minutes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from sagepipe.errors import ConfigFileError

SUFFIXES: tuple[str, ...] = (".json", ".yaml", ".yml")
#: The most aliases (``*name``) one YAML document may use.
MAX_YAML_ALIASES = 100
#: The most values (scalars, lists, mappings) one YAML document may expand to.
MAX_YAML_VALUES = 100_000


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
    """A safe loader that rejects a key repeated in one mapping and counts aliases."""

    aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                raise _TooLarge(
                    f"too many YAML aliases (more than {MAX_YAML_ALIASES}); "
                    "write the repeated values out, or use fewer anchors"
                )
        return super().compose_node(parent, index)

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


class _TooLarge(ValueError):
    """The document is an alias bomb or otherwise expands too far."""


def _expanded_size(root: yaml.Node) -> int:
    """How many values the node graph expands to, with every alias written out.

    Aliases share one node, so sizes are memoised by node; a node reached again while it is
    being counted is a recursive alias, refused as well.
    """
    sizes: dict[int, int] = {}
    counting: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in counting:
            raise _TooLarge("a YAML anchor refers to itself (a recursive alias); remove the loop")
        counting.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        counting.discard(key)
        if total > MAX_YAML_VALUES:
            raise _TooLarge(
                f"the YAML expands to more than {MAX_YAML_VALUES:,} values through its aliases; "
                "write the repeated values out, or use fewer anchors"
            )
        sizes[key] = total
        return total

    return size(root)


def _parse_yaml(path: Path, text: str) -> Any:
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        return loader.construct_document(node)
    except _TooLarge as exc:
        raise ConfigFileError(f"{path}: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = exc.problem or str(exc)
        raise ConfigFileError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: invalid YAML: {exc}") from None
    except RecursionError:
        raise ConfigFileError(
            f"{path}: the YAML is nested too deeply to read; flatten it"
        ) from None
    finally:
        loader.dispose()
