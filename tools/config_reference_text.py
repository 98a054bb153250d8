"""Markdown pieces of docs/configuration.md: docstrings, field types, defaults, constraints.

Used by ``gen_config_reference.py``.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Iterator
from typing import Any

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from config_reference_rules import TYPE_CHECKS
from pydantic import AfterValidator, BaseModel, Discriminator, Tag
from pydantic.fields import FieldInfo


def rst_to_markdown(text: str) -> str:
    """Double-backtick literals and Sphinx roles become Markdown code spans."""
    text = re.sub(r":(?:class|func|meth|data|attr|mod):`~?([^`]+)`", r"`\1`", text)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def split_docstring(cls: type) -> tuple[str, dict[str, str]]:
    """The docstring's text before ``Attributes:``, and the attribute descriptions."""
    doc = inspect.getdoc(cls) or ""
    head, _, tail = doc.partition("\nAttributes:\n")
    attributes: dict[str, str] = {}
    current: str | None = None
    for line in tail.splitlines():
        if line and not line.startswith(" "):
            break  # the next section
        match = re.match(r"^ {4}(\w+): (.*)$", line)
        if match:
            current = match.group(1)
            attributes[current] = match.group(2).strip()
        elif current is not None and line.strip():
            attributes[current] += " " + line.strip()
    return rst_to_markdown(head.strip()), {k: rst_to_markdown(v) for k, v in attributes.items()}


def literal_blocks_to_fences(text: str, language: str) -> str:
    """reST ``::`` literal blocks become fenced code blocks (the only markup docstrings use)."""
    out: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.rstrip().endswith("::"):
            out.append(rst_to_markdown(line))
            index += 1
            continue
        intro = line.rstrip()[:-2].rstrip()
        out.append(rst_to_markdown(intro) + ":" if intro else "")
        index += 1
        block: list[str] = []
        while index < len(lines) and (not lines[index].strip() or lines[index].startswith(" ")):
            block.append(lines[index])
            index += 1
        while block and not block[-1].strip():
            block.pop()
        while block and not block[0].strip():
            block.pop(0)
        indent = min(len(b) - len(b.lstrip()) for b in block if b.strip())
        out += ["", f"```{language}", *(b[indent:] for b in block), "```", ""]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def type_text(annotation: Any) -> str:
    """A readable type: ``str | None``, ``list[str]``, ``"Line" | "None"``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_text(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(arg) for arg in args)
    if origin is typing.Literal:
        return " | ".join(json.dumps(arg) for arg in args)
    if origin in (list, dict, tuple):
        return f"{origin.__name__}[{', '.join(type_text(arg) for arg in args)}]"
    if annotation is type(None):
        return "None"
    if annotation is typing.Any:
        return "JSON"
    if isinstance(annotation, type):
        return annotation.__name__
    raise TypeError(f"cannot render the type {annotation!r}; teach type_text() about it")


def constraint_texts(
    metadata: list[Any], used: set[str], subject: str = "", unit: str = "characters"
) -> Iterator[str]:
    """Sentences for pydantic/annotated-types constraints and AfterValidator checks.

    Args:
        metadata: A field's (or an ``Annotated`` type's) metadata.
        used: Collects the names of the TYPE_CHECKS entries used.
        subject: What the constraint applies to when not the field itself (``Each item``).
        unit: What a length counts (``characters`` of a string, ``items`` of a list).
    """
    prefix = f"{subject}: " if subject else ""
    for item in metadata:
        if isinstance(item, Ge):
            yield f"{prefix}≥ {item.ge}."
        elif isinstance(item, Gt):
            yield f"{prefix}> {item.gt}."
        elif isinstance(item, Le):
            yield f"{prefix}≤ {item.le}."
        elif isinstance(item, Lt):
            yield f"{prefix}< {item.lt}."
        elif isinstance(item, MinLen) and item.min_length == 1:
            yield f"{prefix}Must not be empty."
        elif isinstance(item, MinLen):
            yield f"{prefix}At least {item.min_length} {unit}."
        elif isinstance(item, MaxLen):
            yield f"{prefix}At most {item.max_length} {unit}."
        elif isinstance(item, AfterValidator):
            name = getattr(item.func, "__name__", repr(item.func))
            if name not in TYPE_CHECKS:
                raise KeyError(
                    f"the type check {name}() has no description; add it to TYPE_CHECKS in "
                    "tools/config_reference_rules.py"
                )
            used.add(name)
            yield prefix + TYPE_CHECKS[name]
        elif isinstance(item, FieldInfo):
            yield from constraint_texts(item.metadata, used, subject, unit)
        elif getattr(item, "pattern", None) is not None:
            yield f"{prefix}Must match `{item.pattern}`."
        elif isinstance(item, (Discriminator, Tag)):
            continue  # how a union picks its member: the model's rules say it in words
        else:
            raise TypeError(f"cannot describe the constraint {item!r}; teach constraint_texts()")


def annotation_constraints(annotation: Any, used: set[str], subject: str = "") -> Iterator[str]:
    """Constraints carried by ``Annotated`` types inside an annotation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        yield from constraint_texts(list(args[1:]), used, subject)
        yield from annotation_constraints(args[0], used, subject)
    elif origin in (list, tuple):
        for arg in args:
            yield from annotation_constraints(arg, used, "Each item")
    elif origin is dict:
        yield from annotation_constraints(args[1], used, "Each value")
    elif origin in (typing.Union, types.UnionType):
        for arg in args:
            yield from annotation_constraints(arg, used, subject)


def plain(value: Any) -> Any:
    """A default value as plain data (nested models as their fields)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def default_value(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        return plain(field.default_factory())  # type: ignore[call-arg]
    return plain(field.default)


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
