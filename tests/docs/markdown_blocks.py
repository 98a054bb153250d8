"""Fenced code blocks of the Markdown docs, and the convention that says which ones run.

The info string after the opening fence is ``LANGUAGE [FLAG] [file=PATH]``:

============================  ===============================================================
```` ```python ````            executed, in order, in one namespace shared by the page's blocks
```` ```bash ````              run by ``bash -euo pipefail`` (``sagepipe`` is the real CLI)
```` ```LANG file=PATH ````    written to PATH (relative to the page's work dir) and checked:
                              Python compiles, YAML and JSON parse
```` ```yaml ```` / ``json``   parsed (never run)
```` ```text ````              shown only: output, usage lines, diagrams
```` ```python sdk ````        SageMaker Python SDK code shown for comparison: compiled only
```` ```bash aws ````          needs AWS: each ``sagepipe`` command is parsed by the real
                              argument parser, not run
============================  ===============================================================

Every page runs in a fresh work dir holding a copy of ``examples/``, with ``SAGEPIPE_HOME``
inside it, so the docs can use the paths a user sees at the repository root.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

LANGUAGES = ("python", "bash", "yaml", "json", "text")
FLAGS = {"python": ("sdk",), "bash": ("aws",)}
#: ``sagepipe`` commands that cannot run offline; only these may appear in ``bash aws`` blocks.
AWS_COMMANDS = ("submit", "describe")
_FENCE = re.compile(r"^( {0,3})(`{3,})(.*)$")


class BlockError(ValueError):
    """A code block's info string breaks the convention."""


@dataclass(frozen=True)
class Block:
    """One fenced code block.

    Attributes:
        page: The Markdown file.
        line: 1-based line of the block's first content line.
        language: ``python``, ``bash``, ``yaml``, ``json`` or ``text``.
        flag: ``sdk`` or ``aws`` for shown-only code, else ``None``.
        file: Where the block is written, for ``file=`` blocks.
        code: The block's content.
    """

    page: Path
    line: int
    language: str
    flag: str | None
    file: str | None
    code: str

    @property
    def where(self) -> str:
        return f"{self.page.name}:{self.line}"

    @property
    def runs(self) -> bool:
        """Whether the block is executed (python and bash blocks without a flag or file)."""
        return self.language in ("python", "bash") and self.flag is None and self.file is None


def parse_info(info: str, where: str) -> tuple[str, str | None, str | None]:
    """``(language, flag, file)`` of an info string, or :class:`BlockError`."""
    words = info.split()
    if not words:
        raise BlockError(
            f"{where}: a code block needs a language; use text for output and diagrams"
        )
    language, rest = words[0], words[1:]
    if language not in LANGUAGES:
        raise BlockError(f"{where}: unknown language {language!r}; use one of {LANGUAGES}")
    flag: str | None = None
    file: str | None = None
    for word in rest:
        if word.startswith("file="):
            file = word.removeprefix("file=")
            if not file or file.startswith("/") or ".." in Path(file).parts:
                raise BlockError(f"{where}: file= needs a relative path inside the work dir")
        elif word in FLAGS.get(language, ()):
            flag = word
        else:
            raise BlockError(
                f"{where}: unknown word {word!r} after {language}; allowed: "
                f"{', '.join(FLAGS.get(language, ())) or 'none'} and file=PATH"
            )
    if flag is not None and file is not None:
        raise BlockError(f"{where}: a block is either written (file=) or shown ({flag})")
    return language, flag, file


def read_blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page``, in order.

    Raises:
        BlockError: A block is unterminated or its info string breaks the convention.
    """
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        indent, fence, info = match.groups()
        start = index + 1
        where = f"{page.name}:{start}"
        language, flag, file = parse_info(info, where)
        index = start
        body: list[str] = []
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index].removeprefix(indent))
            index += 1
        if index == len(lines):
            raise BlockError(f"{where}: the code block is never closed")
        code = "\n".join(body) + "\n"
        blocks.append(Block(page, start + 1, language, flag, file, code))
        index += 1
    return blocks


def commands(code: str) -> list[list[str]]:
    """The command lines of a shell block (continuation lines joined, comments dropped)."""
    joined = re.sub(r"\\\n", " ", code)
    found = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            found.append(words)
    return found
