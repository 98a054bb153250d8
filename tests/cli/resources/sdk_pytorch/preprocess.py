"""Processing script of the SDK-written pipeline: split the CSV rows under
/opt/ml/processing/input (``x1,x2,y`` with a header) into JSON lines for training and test.

Only the top level of the input is read: the SDK puts this script's own ``code`` input at
/opt/ml/processing/input/code, inside the data input's directory.
"""

import csv
import json
from pathlib import Path

INPUT = Path("/opt/ml/processing/input")
TRAIN = Path("/opt/ml/processing/train")
TEST = Path("/opt/ml/processing/test")


def main() -> None:
    rows = []
    for path in sorted(INPUT.glob("*.csv")):
        with path.open(newline="") as handle:
            for record in csv.DictReader(handle):
                features = [float(record["x1"]), float(record["x2"])]
                rows.append({"features": features, "label": float(record["y"])})
    if not rows:
        raise SystemExit(f"no CSV rows under {INPUT}")
    train = [row for i, row in enumerate(rows) if i % 4 != 3]
    test = [row for i, row in enumerate(rows) if i % 4 == 3]
    for directory, part in ((TRAIN, train), (TEST, test)):
        with (directory / f"{directory.name}.jsonl").open("w") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in part)
    print(f"rows: train={len(train)} test={len(test)}")


if __name__ == "__main__":
    main()
