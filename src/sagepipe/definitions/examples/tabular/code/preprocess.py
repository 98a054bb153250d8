"""SageMaker processing script: clean the Palmer penguins data and split it for training.

Runs unmodified in a SageMaker processing container (standard library only) and in sagepipe's
local engine. Container paths live under ``/opt/ml``, or under ``$SAGEPIPE_OPT_ML`` when set.

Input, ``/opt/ml/processing/input/raw/*.csv``:
    Raw records with a header holding at least ``species, island, bill_length_mm,
    bill_depth_mm, flipper_length_mm, body_mass_g, sex, year`` (the palmerpenguins schema: the
    example's ``data/penguins.csv``; ``generate_synthetic.py`` writes more of them). Files are
    read in name order.

Cleaning:
    Rows with a missing or unparsable value are dropped (and counted); categorical strings
    are stripped and lower-cased; ``sex`` must be ``male`` or ``female``.

Label ``is_male`` (1 for male):
    Species is almost perfectly separable from the measurements (any "species vs rest" label
    scores an F1 near 1.0, which demonstrates nothing), whereas sex depends on size *relative
    to the species*: the model has to combine the species embedding with the measurements, and
    reaches an F1 of about 0.9 rather than 1.0.

Outputs:
    ``/opt/ml/processing/output/processed_data/{train,val,test}/{split}.csv``: CSV with a
    header, fields ``penguin_id, species, island, bill_length_mm, bill_depth_mm,
    flipper_length_mm, body_mass_g, year, is_male`` (the training step's ``data`` channel).
    ``penguin_id`` is the 1-based position of the record in the raw data.

    ``/opt/ml/processing/output/test_features/test_features.csv``: the test split without
    header and without label (``full_field_list`` minus ``is_male``), the input of batch
    transform: a header line would become a record of its own when SageMaker splits by line.

The split is stratified by label and seeded, so the same data and arguments give the same
files. On bad input the reason goes to ``/opt/ml/output/message`` (the processing job's
ExitMessage) and the script exits with status 1.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path

RAW_NUMERIC = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year")
RAW_CATEGORICAL = ("species", "island", "sex")
ID_NAME = "penguin_id"
LABEL_NAME = "is_male"
OUTPUT_FIELDS = (ID_NAME, "species", "island", *RAW_NUMERIC, LABEL_NAME)
MISSING_TOKENS = frozenset({"", "na", "nan", "null", "none", "."})
SPLITS = ("train", "val", "test")


class PreprocessError(Exception):
    """The raw data or the arguments cannot be processed; the message says why."""


def opt_ml() -> Path:
    return Path(os.environ.get("SAGEPIPE_OPT_ML", "/opt/ml"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    root = opt_ml()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--val-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--input-dir", type=Path, default=root / "processing/input/raw")
    parser.add_argument("--output-dir", type=Path, default=root / "processing/output")
    return parser.parse_args(argv)


def raw_files(input_dir: Path) -> list[Path]:
    if not input_dir.is_dir():
        raise PreprocessError(
            f"input directory {input_dir} does not exist; give the job a 'raw' input with the "
            "CSV files (the example's data/ directory)"
        )
    files = sorted(p for p in input_dir.rglob("*.csv") if p.is_file())
    if not files:
        raise PreprocessError(f"input directory {input_dir} has no *.csv files")
    return files


def read_raw(files: list[Path]) -> Iterator[tuple[int, dict[str, str]]]:
    """Raw rows with their 1-based position across all files."""
    position = 0
    for path in files:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [
                f for f in (*RAW_NUMERIC, *RAW_CATEGORICAL) if f not in (reader.fieldnames or [])
            ]
            if missing:
                raise PreprocessError(
                    f"{path} lacks the columns {missing}; its header is {reader.fieldnames}"
                )
            for row in reader:
                position += 1
                yield position, row


def format_number(text: str) -> str:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text!r} is not finite")
    return str(int(value)) if value.is_integer() else repr(value)


def clean(
    rows: Iterator[tuple[int, dict[str, str]]],
) -> tuple[list[dict[str, str]], dict[str, int]]:
    """Cleaned records and the count of dropped rows per reason."""
    records: list[dict[str, str]] = []
    dropped = {"missing value": 0, "not a number": 0, "unknown sex": 0}
    for position, row in rows:
        values = {f: (row.get(f) or "").strip() for f in (*RAW_NUMERIC, *RAW_CATEGORICAL)}
        if any(v.lower() in MISSING_TOKENS for v in values.values()):
            dropped["missing value"] += 1
            continue
        try:
            numbers = {f: format_number(values[f]) for f in RAW_NUMERIC}
        except ValueError:
            dropped["not a number"] += 1
            continue
        sex = values["sex"].lower()
        if sex not in ("male", "female"):
            dropped["unknown sex"] += 1
            continue
        records.append(
            {
                ID_NAME: str(position),
                "species": values["species"].lower(),
                "island": values["island"].lower(),
                **numbers,
                LABEL_NAME: "1" if sex == "male" else "0",
            }
        )
    return records, dropped


def split(
    records: list[dict[str, str]], seed: int, val_fraction: float, test_fraction: float
) -> dict[str, list[dict[str, str]]]:
    """Stratified, seeded split; each split sorted by id."""
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise PreprocessError(
            f"--val-fraction {val_fraction} and --test-fraction {test_fraction} must each be in "
            "(0, 1) and sum to less than 1"
        )
    rng = random.Random(seed)
    parts: dict[str, list[dict[str, str]]] = {name: [] for name in SPLITS}
    for label in ("0", "1"):
        group = [r for r in records if r[LABEL_NAME] == label]
        rng.shuffle(group)
        n_test = round(len(group) * test_fraction)
        n_val = round(len(group) * val_fraction)
        parts["test"] += group[:n_test]
        parts["val"] += group[n_test : n_test + n_val]
        parts["train"] += group[n_test + n_val :]
    for name, part in parts.items():
        if not {r[LABEL_NAME] for r in part} >= {"0", "1"}:
            raise PreprocessError(
                f"the {name} split has fewer than two label classes ({len(records)} clean "
                "records); provide more data or larger fractions"
            )
        part.sort(key=lambda r: int(r[ID_NAME]))
    return parts


def write_csv(
    path: Path, fields: tuple[str, ...], rows: list[dict[str, str]], header: bool
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if header:
            writer.writerow(fields)
        writer.writerows([row[f] for f in fields] for row in rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        files = raw_files(args.input_dir)
        print(f"Reading {', '.join(str(f) for f in files)}", flush=True)
        records, dropped = clean(read_raw(files))
        parts = split(records, args.seed, args.val_fraction, args.test_fraction)
    except PreprocessError as exc:
        message = f"preprocess.py: {exc}"
        print(message, file=sys.stderr)
        message_file = opt_ml() / "output" / "message"
        message_file.parent.mkdir(parents=True, exist_ok=True)
        message_file.write_text(message[:1024] + "\n", encoding="utf-8")
        return 1
    print(f"Kept {len(records)} records; dropped {dropped}")
    processed = args.output_dir / "processed_data"
    for name, rows in parts.items():
        write_csv(processed / name / f"{name}.csv", OUTPUT_FIELDS, rows, header=True)
        positives = sum(r[LABEL_NAME] == "1" for r in rows)
        print(f"{name}: {len(rows)} records, {positives} positive")
    features = tuple(f for f in OUTPUT_FIELDS if f != LABEL_NAME)
    write_csv(
        args.output_dir / "test_features" / "test_features.csv", features, parts["test"], False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
