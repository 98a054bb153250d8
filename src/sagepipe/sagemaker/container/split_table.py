"""sagepipe's table-splitting script, run by the tabular preprocessing step's processing job.

Reads every ``*.csv`` and ``*.tsv`` file under the ``data`` input (name order; all with the same
header row), and splits the rows into train, validation and test sets, stratified by the label
column: each label value's rows are shuffled with the configured seed and cut by the
configured fractions (rounded per value), so the same data and settings always give the same
files, and each set keeps the label's proportions. Rows with an empty label are dropped (and
counted). Within a set, rows keep their input order.

Writes, as comma-separated CSV:

- ``processed_data/{train,val,test}/{train,val,test}.csv``: the rows with the header, every
  column (the PyTorch training step's ``data`` channel layout);
- ``test_data/test_data.csv``: the test rows without the header and without the label column,
  the input of a batch transform (SageMaker splits objects by line, so a header would be a
  record).

Settings come from ``sagepipe_tabular_preprocessing.json`` beside this script: ``label_name``,
``val_fraction``, ``test_fraction``, ``seed``. Standalone on purpose: it runs inside the PyTorch
container, which has no sagepipe, and installs nothing (standard library only, Python 3.9+).
On bad input the reason goes to stderr and to ``/opt/ml/output/message`` (the job's failure
reason) and the script exits with status 1.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

# SageMaker mounts the job at /opt/ml; sagepipe's local engine, where it cannot mount it,
# names the directory that stands in for it.
OPT_ML = Path(os.environ.get("SAGEPIPE_OPT_ML", "/opt/ml"))
PROCESSING = OPT_ML / "processing"
CONFIG_FILE = "sagepipe_tabular_preprocessing.json"
DELIMITERS = {".csv": ",", ".tsv": "\t"}
SPLITS = ("train", "val", "test")


class SplitError(Exception):
    """The table cannot be split; the message says why."""


def table_files(input_dir: Path) -> list[Path]:
    """The ``*.csv``/``*.tsv`` files under ``input_dir``, in name order."""
    if not input_dir.is_dir():
        raise SplitError(f"the input directory {input_dir} does not exist (no data input)")
    files = sorted(p for p in input_dir.rglob("*") if p.is_file())
    parquet = [p for p in files if p.suffix.lower() == ".parquet"]
    if parquet:
        raise SplitError(
            f"{parquet[0]} is Parquet, which this step does not read (it runs with the "
            "standard library only); write the table as CSV or TSV"
        )
    tables = [p for p in files if p.suffix.lower() in DELIMITERS]
    if not tables:
        names = ", ".join(p.name for p in files[:5]) or "no files"
        raise SplitError(f"no *.csv or *.tsv file under {input_dir} (found: {names})")
    return tables


def read_table(files: list[Path], label_name: str) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of all files; every file must have the same header."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    for path in files:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=DELIMITERS[path.suffix.lower()])
            first = next(reader, None)
            if first is None:
                raise SplitError(f"{path} is empty; it needs a header row naming the columns")
            if label_name not in first:
                raise SplitError(
                    f"the label column {label_name!r} is not in {path}; its columns are: "
                    f"{', '.join(first)}. Set label_name to one of them"
                )
            if header is None:
                header = first
            elif first != header:
                raise SplitError(
                    f"{path} has the columns {first}, but {files[0]} has {header}; every "
                    "file of the table needs the same header"
                )
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise SplitError(
                        f"{path} line {reader.line_num} has {len(row)} fields, the header "
                        f"has {len(header)}"
                    )
                rows.append(row)
    if header is None:
        raise SplitError("no table files to read")
    return header, rows


def split_rows(
    rows: list[list[str]], label_index: int, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, list[list[str]]]:
    """Stratified, seeded split; each set keeps the input order of its rows."""
    by_label: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        by_label.setdefault(row[label_index], []).append(position)
    rng = random.Random(seed)
    chosen: dict[str, list[int]] = {name: [] for name in SPLITS}
    for label in sorted(by_label):
        positions = by_label[label]
        rng.shuffle(positions)
        n_test = round(len(positions) * test_fraction)
        n_val = round(len(positions) * val_fraction)
        chosen["test"] += positions[:n_test]
        chosen["val"] += positions[n_test : n_test + n_val]
        chosen["train"] += positions[n_test + n_val :]
    for name in SPLITS:
        if not chosen[name]:
            raise SplitError(
                f"the {name} set is empty ({len(rows)} labelled rows, val_fraction "
                f"{val_fraction}, test_fraction {test_fraction}); provide more rows or larger "
                "fractions"
            )
    return {name: [rows[i] for i in sorted(chosen[name])] for name in SPLITS}


def write_csv(path: Path, header: list[str] | None, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)


def run(input_dir: Path, output_dir: Path, settings: dict[str, Any]) -> dict[str, int]:
    """Split the table under ``input_dir`` into ``output_dir``; the row count of each set."""
    label_name = str(settings["label_name"])
    header, rows = read_table(table_files(input_dir), label_name)
    label_index = header.index(label_name)
    labelled = [row for row in rows if row[label_index].strip()]
    if len(labelled) < len(rows):
        print(f"split_table: dropped {len(rows) - len(labelled)} row(s) with an empty label")
    parts = split_rows(
        labelled,
        label_index,
        float(settings["val_fraction"]),
        float(settings["test_fraction"]),
        int(settings["seed"]),
    )
    for name, part in parts.items():
        write_csv(output_dir / "processed_data" / name / f"{name}.csv", header, part)
        missing = sorted({r[label_index] for r in labelled} - {r[label_index] for r in part})
        if missing:
            print(f"split_table: the {name} set has no row labelled {missing}")
    features = [
        [value for index, value in enumerate(row) if index != label_index] for row in parts["test"]
    ]
    write_csv(output_dir / "test_data" / "test_data.csv", None, features)
    return {name: len(part) for name, part in parts.items()}


def fail(message: str) -> int:
    print(message, file=sys.stderr)
    target = OPT_ML / "output" / "message"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(message[:1024] + "\n", encoding="utf-8")
    return 1


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", type=Path, default=PROCESSING / "input/data")
    parser.add_argument("--output-dir", type=Path, default=PROCESSING / "output")
    parser.add_argument("--config", type=Path, default=here / CONFIG_FILE)
    args = parser.parse_args(argv)
    try:
        settings = json.loads(args.config.read_text(encoding="utf-8"))
        counts = run(args.input_dir, args.output_dir, settings)
    except (SplitError, OSError, ValueError, KeyError, csv.Error) as exc:
        return fail(f"split_table: {exc}")
    print("split_table: " + ", ".join(f"{name} {count} rows" for name, count in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
