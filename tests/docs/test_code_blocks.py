"""Every code block in docs/*.md runs (or, for shown-only code, is checked) in a test.

The convention is in markdown_blocks.py. Each page runs in a subprocess (run_blocks.py) in a
fresh work dir holding a copy of examples/, with SAGEPIPE_HOME and HOME inside it, no AWS
credentials, and ``sagepipe`` / ``python`` on PATH meaning this interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .markdown_blocks import AWS_COMMANDS, BlockError, commands, read_blocks

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
RUNNER = Path(__file__).resolve().parent / "run_blocks.py"
PAGES = sorted(DOCS.glob("*.md"))
PAGE_TIMEOUT_S = 300


def work_environment(root: Path) -> tuple[Path, dict[str, str]]:
    """A work dir with examples/ and the environment its blocks run in."""
    work = root / "work"
    shutil.copytree(
        REPO / "examples",
        work / "examples",
        ignore=shutil.ignore_patterns("__pycache__", ".sagepipe", "*.pyc"),
    )
    bin_dir = root / "bin"
    bin_dir.mkdir()
    python = f'"{sys.executable}"'
    for name, command in (("sagepipe", f"{python} -m sagepipe"), ("python", python)):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
        shim.chmod(0o755)
    empty = root / "empty"
    empty.write_text("")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "SAGEPIPE_", "SAGEMAKER_"))
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(root / "home"),
        SAGEPIPE_HOME=str(work / ".sagepipe"),
        SAGEPIPE_STORAGE="local",
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONDONTWRITEBYTECODE="1",
        # Local SageMaker runtimes on a free port, as in every test (tests/conftest.py): the
        # default 8089 may be taken on the machine.
        SAGEPIPE_RUNTIME_PORT="0",
    )
    return work, env


def run_page(page: Path, root: Path) -> subprocess.CompletedProcess[str]:
    work, env = work_environment(root)
    return subprocess.run(
        [sys.executable, str(RUNNER), str(page), str(work)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT_S,
    )


def test_docs_exist() -> None:
    names = {page.name for page in PAGES}
    expected = {"index.md", "concepts.md", "configuration.md", "cli.md", "serving.md"}
    assert expected | {"porting.md"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_page_code_blocks_run(page: Path, tmp_path: Path) -> None:
    result = run_page(page, tmp_path)
    assert result.returncode == 0, f"{page.name}:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_blocks_follow_the_convention(page: Path) -> None:
    blocks = read_blocks(page)  # raises BlockError for an untagged or unknown block
    for block in blocks:
        if block.flag == "sdk":  # SageMaker SDK code; sagepipe code must run
            assert "sagepipe" not in block.code, f"{block.where}: sagepipe code in an sdk block"
        if block.flag == "aws":
            for words in commands(block.code):
                assert words[0] == "sagepipe", block.where
                assert words[1] in AWS_COMMANDS or {"--storage", "--upload"} & set(words), (
                    f"{block.where}: `sagepipe {words[1]}` runs offline; put it in a bash block"
                )


def test_most_code_runs() -> None:
    """Shown-only code (SageMaker SDK for comparison, commands that need AWS) stays rare."""
    blocks = [block for page in PAGES for block in read_blocks(page)]
    code = [b for b in blocks if b.language in ("python", "bash") and b.file is None]
    shown = [b.where for b in code if not b.runs]
    assert len(shown) * 3 <= len(code), f"too many blocks that do not run: {shown}"


def write_page(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return page


def test_a_failing_python_block_fails_the_page_and_names_its_line(tmp_path: Path) -> None:
    page = write_page(
        tmp_path,
        "# t\n\n```python\nvalue = 1\n```\n\n```python\nassert value == 2, 'no'\n```\n",
    )
    result = run_page(page, tmp_path)
    assert result.returncode == 1
    assert "page.md:8" in result.stdout
    assert "AssertionError: no" in result.stdout


def test_a_failing_bash_command_fails_the_page(tmp_path: Path) -> None:
    page = write_page(tmp_path, "```bash\nsagepipe validate missing.yaml\necho never\n```\n")
    result = run_page(page, tmp_path)
    assert result.returncode == 1
    assert "exited with status 2" in result.stdout
    assert "never" not in result.stdout


def test_file_blocks_are_written_and_aws_commands_parsed(tmp_path: Path) -> None:
    page = write_page(
        tmp_path,
        "```yaml file=conf/a.yaml\nx: 1\n```\n\n```bash\ntest -f conf/a.yaml\n```\n\n"
        "```bash aws\nsagepipe submit p.yaml --no-such-option\n```\n",
    )
    result = run_page(page, tmp_path)
    assert result.returncode == 1
    assert "the parser rejects: sagepipe submit p.yaml --no-such-option" in result.stdout


@pytest.mark.parametrize(
    "info", ["", "sh", "python norun", "bash sdk", "yaml file=/etc/x", "python sdk file=a.py"]
)
def test_blocks_outside_the_convention_are_rejected(tmp_path: Path, info: str) -> None:
    page = write_page(tmp_path, f"```{info}\nx\n```\n")
    with pytest.raises(BlockError):
        read_blocks(page)
