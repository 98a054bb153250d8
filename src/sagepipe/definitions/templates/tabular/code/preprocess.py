"""Split the CSV files of the raw_data input into train/, val/ and test/.

A SageMaker processing script: it reads ``--input-dir`` (default
``/opt/ml/processing/input/raw_data``), whose CSV files share one header row, and writes
``<split>/data.csv`` under ``--output-dir`` (default ``/opt/ml/processing/output/processed_data``).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

INPUT_DIR = Path("/opt/ml/processing/input/raw_data")
OUTPUT_DIR = Path("/opt/ml/processing/output/processed_data")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input-dir", type=Path, default=INPUT_DIR)
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR)
    parser.add_argument("--train-ratio", type=float, default=0.7)
    parser.add_argument("--val-ratio", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    files = sorted(args.input_dir.rglob("*.csv"))
    if not files:
        print(f"no CSV files under {args.input_dir}", file=sys.stderr)
        return 1
    header: list[str] | None = None
    rows: list[list[str]] = []
    for file in files:
        with file.open(newline="") as handle:
            reader = csv.reader(handle)
            file_header = next(reader, None)
            if header is not None and file_header != header:
                print(f"{file} has header {file_header}, expected {header}", file=sys.stderr)
                return 1
            header = file_header
            rows.extend(row for row in reader if row)
    if header is None or not rows:
        print("the input CSV files hold no records", file=sys.stderr)
        return 1

    random.Random(args.seed).shuffle(rows)
    n_train = int(len(rows) * args.train_ratio)
    n_val = int(len(rows) * args.val_ratio)
    splits = {
        "train": rows[:n_train],
        "val": rows[n_train : n_train + n_val],
        "test": rows[n_train + n_val :],
    }
    for split, split_rows in splits.items():
        target = args.output_dir / split
        target.mkdir(parents=True, exist_ok=True)
        with (target / "data.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(split_rows)
        print(f"{split}: {len(split_rows)} records")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
