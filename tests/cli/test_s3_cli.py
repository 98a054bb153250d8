"""``sagepipe s3 cp|ls|rm`` through the real entry point."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def _run(
    *args: str, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "SAGEPIPE_HOME": str(home), **(env or {})}
    full_env.pop("SAGEPIPE_STORAGE", None)
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", "s3", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +(\d+) (.+)$")


def _tree(tmp_path: Path) -> Path:
    src = tmp_path / "data"
    (src / "train").mkdir(parents=True)
    (src / "top.csv").write_text("a,b\n")
    (src / "train" / "part-0.csv").write_text("1,2\n3,4\n")
    return src


@pytest.mark.slow
def test_cp_ls_rm_on_the_local_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    src = _tree(tmp_path)

    up = _run("cp", str(src / "top.csv"), "s3://bkt/in/", home=home)
    assert up.returncode == 0, up.stderr
    assert up.stdout == f"upload: {src / 'top.csv'} to s3://bkt/in/top.csv\n"
    assert (home / "objects" / "bkt" / "in" / "top.csv").read_text() == "a,b\n"

    tree = _run("cp", "--recursive", str(src), "s3://bkt/tree", home=home)
    assert tree.returncode == 0, tree.stderr
    assert tree.stdout.splitlines() == [
        f"upload: {src / 'top.csv'} to s3://bkt/tree/top.csv",
        f"upload: {src / 'train' / 'part-0.csv'} to s3://bkt/tree/train/part-0.csv",
    ]

    shallow = _run("ls", "s3://bkt/tree", home=home)
    assert shallow.returncode == 0, shallow.stderr
    lines = shallow.stdout.splitlines()
    assert lines[0] == f"{'PRE':>30} train/"
    match = _LINE.match(lines[1])
    assert match is not None and match.groups() == ("4", "top.csv")

    deep = _run("ls", "--recursive", "s3://bkt/", home=home)
    names = [m.group(2) for m in map(_LINE.match, deep.stdout.splitlines()) if m]
    assert names == ["in/top.csv", "tree/top.csv", "tree/train/part-0.csv"]

    down = _run("cp", "s3://bkt/tree/train/part-0.csv", str(tmp_path / "out") + "/", home=home)
    assert down.returncode == 0, down.stderr
    assert down.stdout.startswith("download: s3://bkt/tree/train/part-0.csv to ")
    assert (tmp_path / "out" / "part-0.csv").read_text() == "1,2\n3,4\n"

    removed = _run("rm", "--recursive", "s3://bkt/tree", home=home)
    assert removed.stdout.splitlines() == [
        "delete: s3://bkt/tree/top.csv",
        "delete: s3://bkt/tree/train/part-0.csv",
    ]
    one = _run("rm", "s3://bkt/in/top.csv", home=home)
    assert one.stdout == "delete: s3://bkt/in/top.csv\n"
    assert _run("ls", "--recursive", "s3://bkt", home=home).stdout == ""


@pytest.mark.slow
def test_user_mistakes_exit_2_with_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    src = _tree(tmp_path)
    missing = _run("cp", "s3://bkt/nope.csv", str(tmp_path / "x"), home=home)
    assert missing.returncode == 2
    assert missing.stderr == "sagepipe: error: s3://bkt/nope.csv does not exist\n"
    directory = _run("cp", str(src), "s3://bkt/x/", home=home)
    assert directory.returncode == 2
    assert "add --recursive" in directory.stderr


@pytest.mark.slow
def test_cp_and_ls_against_s3(tmp_path: Path, s3_env: dict[str, str], s3_bucket: str) -> None:
    home = tmp_path / "home"
    src = _tree(tmp_path)
    env = {**s3_env, "SAGEPIPE_STORAGE": "s3"}
    up = _run(
        "cp", "--storage", "s3", "--recursive", str(src), f"s3://{s3_bucket}/d", home=home, env=env
    )
    assert up.returncode == 0, up.stderr
    listed = _run("ls", "--storage", "s3", "--recursive", f"s3://{s3_bucket}/d", home=home, env=env)
    names = [m.group(2) for m in map(_LINE.match, listed.stdout.splitlines()) if m]
    assert names == ["d/top.csv", "d/train/part-0.csv"]
    assert not (home / "objects").exists()  # nothing went to the local store
    down = _run(
        "cp",
        "--storage",
        "s3",
        "--recursive",
        f"s3://{s3_bucket}/d",
        str(tmp_path / "back"),
        home=home,
        env=env,
    )
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "back" / "train" / "part-0.csv").read_text() == "1,2\n3,4\n"
