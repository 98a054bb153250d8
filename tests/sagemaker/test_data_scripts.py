"""sagepipe's data-loading and table-splitting container scripts (split_table.py,
load_data.py): the split's rules as functions, and each script run as the container runs it
(a subprocess, with the settings file its bundle ships)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from sagepipe.sagemaker.container import load_data, split_table

SPLIT_SCRIPT = Path(split_table.__file__)
LOAD_SCRIPT = Path(load_data.__file__)
SETTINGS = {"label_name": "label", "val_fraction": 0.2, "test_fraction": 0.2, "seed": 7}


def write_table(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    delimiter = "\t" if path.suffix == ".tsv" else ","
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header or ["id", "x", "label"])
        writer.writerows(rows)
    return path


def table(n_a: int, n_b: int) -> list[list[str]]:
    """Rows ``id, x, label``: ``n_a`` labelled ``a`` then ``n_b`` labelled ``b``."""
    labels = ["a"] * n_a + ["b"] * n_b
    return [[str(i), str(i * 10), label] for i, label in enumerate(labels)]


def read(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def run_split(tmp_path: Path, settings: dict[str, object]) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "settings.json"
    config.write_text(json.dumps(settings))
    return subprocess.run(
        [
            sys.executable,
            str(SPLIT_SCRIPT),
            "--input-dir",
            str(tmp_path / "in"),
            "--output-dir",
            str(tmp_path / "out"),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        env={"SAGEPIPE_OPT_ML": str(tmp_path / "opt_ml"), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_split_is_stratified_by_label_with_the_configured_fractions() -> None:
    rows = table(60, 40)
    parts = split_table.split_rows(rows, 2, val_fraction=0.2, test_fraction=0.1, seed=1)
    counts = {name: Counter(r[2] for r in part) for name, part in parts.items()}
    assert counts["test"] == {"a": 6, "b": 4}
    assert counts["val"] == {"a": 12, "b": 8}
    assert counts["train"] == {"a": 42, "b": 28}
    ids = [r[0] for part in parts.values() for r in part]
    assert sorted(ids, key=int) == [r[0] for r in rows]  # every row once
    for part in parts.values():  # each set keeps the input order
        assert [int(r[0]) for r in part] == sorted(int(r[0]) for r in part)


def test_split_is_deterministic_for_a_seed_and_changes_with_it() -> None:
    rows = table(50, 50)
    first = split_table.split_rows(rows, 2, 0.2, 0.2, seed=3)
    again = split_table.split_rows([list(r) for r in rows], 2, 0.2, 0.2, seed=3)
    other = split_table.split_rows(rows, 2, 0.2, 0.2, seed=4)
    assert first == again
    assert first["test"] != other["test"]


def test_an_empty_set_is_an_error_that_says_what_to_change() -> None:
    with pytest.raises(split_table.SplitError, match=r"the val set is empty \(3 labelled rows"):
        split_table.split_rows(table(2, 1), 2, 0.2, 0.1, seed=0)


def test_script_writes_the_training_channel_layout_and_the_transform_input(
    tmp_path: Path,
) -> None:
    write_table(tmp_path / "in" / "part-1.csv", table(30, 0))
    write_table(tmp_path / "in" / "nested" / "part-2.tsv", table(0, 20)[:20])
    (tmp_path / "in" / "_SUCCESS").write_text("")
    result = run_split(tmp_path, SETTINGS)
    assert result.returncode == 0, result.stderr
    processed = tmp_path / "out" / "processed_data"
    sets = {name: read(processed / name / f"{name}.csv") for name in ("train", "val", "test")}
    for rows in sets.values():
        assert rows[0] == ["id", "x", "label"]
    assert [len(rows) - 1 for rows in sets.values()] == [30, 10, 10]
    assert Counter(r[2] for r in sets["test"][1:]) == {"a": 6, "b": 4}
    test_data = read(tmp_path / "out" / "test_data" / "test_data.csv")
    assert test_data == [r[:2] for r in sets["test"][1:]]  # no header, no label
    assert "train 30 rows, val 10 rows, test 10 rows" in result.stdout


def test_a_missing_label_column_names_the_column_and_the_file(tmp_path: Path) -> None:
    write_table(tmp_path / "in" / "data.csv", table(10, 10), header=["id", "x", "target"])
    result = run_split(tmp_path, SETTINGS)
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("split_table: the label column 'label' is not in ")
    assert f"{tmp_path / 'in' / 'data.csv'}; its columns are: id, x, target" in line
    assert (tmp_path / "opt_ml" / "output" / "message").read_text().strip() == line
    assert not (tmp_path / "out" / "processed_data").exists()


def test_files_with_different_headers_are_refused(tmp_path: Path) -> None:
    write_table(tmp_path / "in" / "a.csv", table(5, 5))
    write_table(tmp_path / "in" / "b.csv", table(5, 5), header=["id", "label", "x"])
    result = run_split(tmp_path, SETTINGS)
    assert result.returncode == 1
    assert "b.csv has the columns ['id', 'label', 'x']" in result.stderr
    assert "every file of the table needs the same header" in result.stderr


def test_parquet_and_missing_tables_are_explained(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("x")
    result = run_split(tmp_path, SETTINGS)
    assert "no *.csv or *.tsv file under" in result.stderr
    assert "(found: notes.txt)" in result.stderr
    (tmp_path / "in" / "part.parquet").write_bytes(b"PAR1")
    result = run_split(tmp_path, SETTINGS)
    assert result.returncode == 1
    assert "part.parquet is Parquet, which this step does not read" in result.stderr


def test_rows_with_an_empty_label_are_dropped_and_counted(tmp_path: Path) -> None:
    write_table(tmp_path / "in" / "t.csv", [*table(10, 10), ["99", "1", ""]])
    result = run_split(tmp_path, SETTINGS)
    assert result.returncode == 0, result.stderr
    assert "dropped 1 row(s) with an empty label" in result.stdout
    sets = [
        read(tmp_path / "out" / "processed_data" / n / f"{n}.csv") for n in ("train", "val", "test")
    ]
    assert sum(len(rows) - 1 for rows in sets) == 20


def test_a_ragged_row_names_file_and_line(tmp_path: Path) -> None:
    path = write_table(tmp_path / "in" / "t.csv", table(10, 10))
    path.write_text(path.read_text() + "1,2\n")
    result = run_split(tmp_path, SETTINGS)
    assert result.returncode == 1
    assert "t.csv line 22 has 2 fields, the header has 3" in result.stderr


def run_load(tmp_path: Path, include: list[str]) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "load.json"
    config.write_text(json.dumps({"include": include}))
    return subprocess.run(
        [
            sys.executable,
            str(LOAD_SCRIPT),
            "--input-dir",
            str(tmp_path / "source"),
            "--output-dir",
            str(tmp_path / "data"),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        env={"SAGEPIPE_OPT_ML": str(tmp_path / "opt_ml"), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_load_copies_the_included_files_keeping_their_paths(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "2024" / "01").mkdir(parents=True)
    (source / "2024" / "01" / "a.csv").write_text("x\n1\n")
    (source / "b.csv").write_text("x\n2\n")
    (source / "manifest.json").write_text("{}")
    result = run_load(tmp_path, ["*.csv"])
    assert result.returncode == 0, result.stderr
    copied = sorted(
        p.relative_to(tmp_path / "data").as_posix()
        for p in (tmp_path / "data").rglob("*")
        if p.is_file()
    )
    assert copied == ["2024/01/a.csv", "b.csv"]
    assert (tmp_path / "data" / "2024" / "01" / "a.csv").read_text() == "x\n1\n"
    assert "copied 2 file(s)" in result.stdout


def test_load_with_nothing_matching_says_what_it_found(tmp_path: Path) -> None:
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "a.json").write_text("{}")
    result = run_load(tmp_path, ["*.csv"])
    assert result.returncode == 1
    assert "no file under the source (1 file(s) in" in result.stderr
    assert "matches the include patterns ['*.csv']" in result.stderr
