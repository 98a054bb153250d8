"""The JSON paths ``Std:JsonGet`` takes: dotted keys and ``[index]`` (``metrics.mse.value``,
``results[0].score``), optionally after ``$.``, as SageMaker reads a property file."""

from __future__ import annotations

import re
from typing import Any

from sagepipe.local.definition.errors import JsonPathError

_TOKEN = re.compile(r"([A-Za-z0-9_\-]+)|\[(\d+)\]")


def parse_json_path(path: str) -> tuple[str | int, ...]:
    """Split a JSON path into keys and indexes.

    Raises:
        JsonPathError: The path is not keys joined by ``.`` and ``[index]``.
    """
    body = path.removeprefix("$.") if path.startswith("$.") else path
    tokens: list[str | int] = []
    position = 0
    while position < len(body):
        dotted = bool(tokens) and body[position] == "."
        position += 1 if dotted else 0
        match = _TOKEN.match(body, position)
        key, index = match.groups() if match is not None else (None, None)
        # A key comes first or after a dot; an index comes anywhere but after a dot.
        if (
            match is None
            or (key is not None and tokens and not dotted)
            or (index is not None and dotted)
        ):
            raise JsonPathError(
                f"JSON path {path!r} cannot be read at position {position}: use keys joined by "
                "'.' and [index], e.g. metrics.accuracy.value or results[0].score"
            )
        tokens.append(int(index) if index is not None else str(key))
        position = match.end()
    if not tokens:
        raise JsonPathError("the JSON path is empty")
    return tuple(tokens)


def read_json_path(document: Any, path: str, where: str) -> Any:
    """The value at ``path`` in ``document``.

    Raises:
        JsonPathError: naming ``where`` and the part of the path that is missing.
    """
    current = document
    walked = "$"
    for token in parse_json_path(path):
        if isinstance(token, int):
            if not isinstance(current, list) or token >= len(current):
                size = f"a list of {len(current)}" if isinstance(current, list) else "not a list"
                raise JsonPathError(
                    f"{where}: JSON path {path!r}: {walked} is {size}, it has no [{token}]"
                )
            walked += f"[{token}]"
        else:
            if not isinstance(current, dict) or token not in current:
                keys = ", ".join(sorted(current)) if isinstance(current, dict) else "no keys"
                raise JsonPathError(
                    f"{where}: JSON path {path!r}: {walked} has no key {token!r} (it has: {keys})"
                )
            walked += f".{token}"
        current = current[token]
    return current
