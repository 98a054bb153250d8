"""Batch transform's ``DataProcessing`` filters: ``InputFilter`` and ``OutputFilter``.

SageMaker selects part of each record with a JSONPath expression, from the subset its
documentation lists: ``$`` (the whole record), ``.name`` and ``['name']`` (a child),
``['a','b']`` (several children: an object with those keys), ``[i]`` (an element, negative
from the end), ``[i,j]`` (several elements), ``[start:end]`` (a slice), ``*`` / ``[*]``
(every child). A CSV record is the array of its fields (``$[1:]`` drops the first column)
and is written back as CSV; a JSON record is parsed and written back as compact JSON.
Selecting one value gives the value; several (a slice, a list, a wildcard) give an array.

``InputFilter`` applies to each input record before it is sent; ``JoinSource=Input`` joins
the output with the record as it was read (not filtered), as SageMaker does; ``OutputFilter``
applies to each (joined) output record.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from sagepipe.serving.errors import TransformError

WHOLE = "$"
_NAME = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*|\*)")
_BRACKET = re.compile(r"\[([^\]]*)\]")
_QUOTED = re.compile(r"""\s*(?:'([^']*)'|"([^"]*)")\s*""")
_SLICE = re.compile(r"\s*(-?\d*)\s*:\s*(-?\d*)\s*")


@dataclass(frozen=True)
class _Step:
    kind: str  # "names", "indexes", "slice", "all"
    names: tuple[str, ...] = ()
    indexes: tuple[int, ...] = ()
    start: int | None = None
    end: int | None = None

    @property
    def several(self) -> bool:
        # Several names select one object; several indexes, a slice or * an array.
        return self.kind in ("slice", "all") or len(self.indexes) > 1


class RecordFilter:
    """A compiled ``InputFilter``/``OutputFilter`` expression.

    Args:
        expression: The JSONPath expression.
        field: ``InputFilter`` or ``OutputFilter``, for messages.

    Raises:
        TransformError: the expression is not in the supported subset.
    """

    def __init__(self, expression: str, field: str) -> None:
        self.expression = expression
        self.field = field
        self._steps = _parse(expression, field)

    @property
    def selects_all(self) -> bool:
        """Whether the filter is ``$`` (records pass unchanged)."""
        return not self._steps

    def apply(self, record: bytes, content_type: str) -> bytes:
        """The selected part of one record of ``content_type``.

        Raises:
            TransformError: the record cannot be parsed, or the path is not in it.
        """
        if self.selects_all:
            return record
        if _is_csv(content_type):
            values: Any = _csv_fields(record)
            return _csv_line(self._select(values, record))
        try:
            value = json.loads(record)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TransformError(
                f"{self.field} {self.expression} needs JSON records of {content_type}; "
                f"a record is not JSON ({exc})"
            ) from None
        return json.dumps(self._select(value, record), separators=(",", ":")).encode("utf-8")

    def _select(self, value: Any, record: bytes) -> Any:
        current: list[Any] = [value]
        several = False
        for step in self._steps:
            several = several or step.several
            current = [found for item in current for found in self._children(item, step, record)]
        if several:
            return current
        return current[0]

    def _children(self, value: Any, step: _Step, record: bytes) -> list[Any]:
        if step.kind == "all":
            if isinstance(value, dict):
                return list(value.values())
            return list(value) if isinstance(value, list) else []
        if step.kind == "names":
            if not isinstance(value, dict) or any(n not in value for n in step.names):
                raise self._missing(record)
            if len(step.names) > 1:
                # Several names select an object with those keys (as Jayway's JsonPath).
                return [{n: value[n] for n in step.names}]
            return [value[step.names[0]]]
        if not isinstance(value, list):
            raise self._missing(record)
        if step.kind == "slice":
            return value[step.start : step.end]
        try:
            return [value[i] for i in step.indexes]
        except IndexError:
            raise self._missing(record) from None

    def _missing(self, record: bytes) -> TransformError:
        shown = record[:200].decode("utf-8", "replace")
        return TransformError(
            f"{self.field} {self.expression} selects nothing in the record {shown}"
        )


def _parse(expression: str, field: str) -> list[_Step]:
    text = expression.strip()
    if not text.startswith(WHOLE):
        raise _bad(expression, field, "it must start with $")
    position, steps = 1, []
    while position < len(text):
        name = _NAME.match(text, position)
        bracket = _BRACKET.match(text, position)
        if name is not None:
            steps.append(_Step("all") if name[1] == "*" else _Step("names", names=(name[1],)))
            position = name.end()
        elif bracket is not None:
            steps.append(_bracket(bracket[1], expression, field))
            position = bracket.end()
        else:
            raise _bad(expression, field, f"unexpected {text[position:]!r}")
    return steps


def _bracket(inside: str, expression: str, field: str) -> _Step:
    if inside.strip() == "*":
        return _Step("all")
    parts = inside.split(",")
    quoted = [_QUOTED.fullmatch(p) for p in parts]
    if all(q is not None for q in quoted):
        return _Step("names", names=tuple(q[1] if q[1] is not None else q[2] for q in quoted if q))
    if len(parts) == 1 and (piece := _SLICE.fullmatch(inside)) is not None:
        start, end = (int(v) if v else None for v in piece.groups())
        return _Step("slice", start=start, end=end)
    try:
        return _Step("indexes", indexes=tuple(int(p) for p in parts))
    except ValueError:
        raise _bad(expression, field, f"[{inside}] is no name, index or slice") from None


def _bad(expression: str, field: str, why: str) -> TransformError:
    return TransformError(
        f"{field} {expression!r} is not a supported JSONPath ({why}); use $, .name, "
        "['name','other'], [index], [i,j], [start:end] or *"
    )


def _is_csv(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "text/csv"


def _csv_fields(record: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(record.decode("utf-8", "replace"))))
    return rows[0] if rows else []


def _csv_line(selected: Any) -> bytes:
    values = selected if isinstance(selected, list) else [selected]
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(
        [json.dumps(v) if isinstance(v, dict | list) else v for v in values]
    )
    return out.getvalue().encode("utf-8")
