"""Run the code blocks of one Markdown page, in order, in a work dir (see markdown_blocks).

    python run_blocks.py PAGE WORK_DIR

Python blocks share one namespace and run in this process with WORK_DIR as the current
directory; tracebacks name the page and its line numbers. Bash blocks run in a subprocess
each. Exits 1 at the first block that fails, naming it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from markdown_blocks import AWS_COMMANDS, Block, commands, read_blocks

BASH_TIMEOUT_S = 120


class BlockFailed(Exception):
    """A block failed; the message says which and why."""


def run_python(block: Block, namespace: dict[str, Any]) -> None:
    # Padding puts each statement on its line of the page, so tracebacks point into the doc.
    source = "\n" * (block.line - 1) + block.code
    code = compile(source, str(block.page), "exec")
    try:
        exec(code, namespace)
    except Exception as exc:
        raise BlockFailed(traceback.format_exc()) from exc


def run_bash(block: Block) -> None:
    try:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.code],
            timeout=BASH_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BlockFailed(f"did not finish within {BASH_TIMEOUT_S} s") from None
    if result.returncode != 0:
        raise BlockFailed(f"exited with status {result.returncode}")


def check_aws_commands(block: Block) -> None:
    """Parse each ``sagepipe`` command with the real parser; nothing runs."""
    from sagepipe.cli.main import build_parser

    for words in commands(block.code):
        if words[0] != "sagepipe":
            raise BlockFailed(f"a bash aws block holds only sagepipe commands, not {words[0]!r}")
        if words[1] not in AWS_COMMANDS and not {"--storage", "--upload"} & set(words):
            raise BlockFailed(
                f"`sagepipe {words[1]}` runs offline: put it in a bash block that runs"
            )
        try:
            build_parser().parse_args(words[1:])
        except SystemExit:
            raise BlockFailed(f"the parser rejects: {' '.join(words)}") from None


def check_file(block: Block) -> None:
    assert block.file is not None
    target = Path(block.file)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(block.code, encoding="utf-8")
    check_syntax(block)


def check_syntax(block: Block) -> None:
    try:
        if block.language == "python":
            compile(block.code, block.where, "exec")
        elif block.language == "yaml":
            import yaml

            yaml.safe_load(block.code)
        elif block.language == "json":
            json.loads(block.code)
    except Exception as exc:
        raise BlockFailed(f"is not valid {block.language}: {exc}") from exc


def run_block(block: Block, namespace: dict[str, Any]) -> None:
    if block.file is not None:
        check_file(block)
    elif block.flag == "aws":
        check_aws_commands(block)
    elif block.language == "python" and block.flag is None:
        run_python(block, namespace)
    elif block.language == "bash":
        run_bash(block)
    else:
        check_syntax(block)


def main(page: Path, work_dir: Path) -> int:
    blocks = read_blocks(page)
    os.chdir(work_dir)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for block in blocks:
        label = " ".join(filter(None, [block.language, block.flag, block.file]))
        print(f"--- {block.where} ({label})", flush=True)
        started = time.monotonic()
        try:
            run_block(block, namespace)
        except BlockFailed as exc:
            print(f"FAILED: the {label} block at {block.where} {exc}", flush=True)
            return 1
        print(f"--- ok in {time.monotonic() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()))
