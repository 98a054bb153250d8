"""Processing script of the SDK-written pipeline: split the CSV rows of the input directory
(``x1,x2,y`` with a header) into JSON lines for training and test.

The directories come as arguments (``/opt/ml/processing/...`` in the definition's
``ContainerArguments``). Only the top level of the input is read: the SDK puts this script's
own ``code`` input at /opt/ml/processing/input/code, inside the data input's directory.
"""

import argparse
import csv
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--input-dir", "--train-dir", "--test-dir"):
        parser.add_argument(name, type=Path, required=True)
    args = parser.parse_args()
    rows = []
    for path in sorted(args.input_dir.glob("*.csv")):
        with path.open(newline="") as handle:
            for record in csv.DictReader(handle):
                features = [float(record["x1"]), float(record["x2"])]
                rows.append({"features": features, "label": float(record["y"])})
    if not rows:
        raise SystemExit(f"no CSV rows under {args.input_dir}")
    train = [row for i, row in enumerate(rows) if i % 4 != 3]
    test = [row for i, row in enumerate(rows) if i % 4 == 3]
    for directory, name, part in ((args.train_dir, "train", train), (args.test_dir, "test", test)):
        with (directory / f"{name}.jsonl").open("w") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in part)
    print(f"rows: train={len(train)} test={len(test)}")


if __name__ == "__main__":
    main()
