"""Training script of the seed template tests: a nearest-centroid classifier, standard library
only (so the test needs no model library). Reads the ``data`` channel's ``train/`` and ``val/``
CSVs as the tabular preprocessing step writes them, and the label column from the
``LABEL_NAME`` environment variable; writes ``model.json`` and prints the validation accuracy.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

MISSING = frozenset({"", "NA", "nan"})


def read(split: str) -> list[dict[str, str]]:
    [path] = sorted((Path(os.environ["SM_CHANNEL_DATA"]) / split).glob("*.csv"))
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def number(text: str) -> float | None:
    if text in MISSING:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def predict(model: dict, values: dict[str, str]) -> str:
    def distance(centroid: dict[str, float]) -> float:
        total = 0.0
        for column, centre in centroid.items():
            value = number(values[column])
            if value is not None:
                total += ((value - centre) / model["scale"][column]) ** 2
        return total

    return min(sorted(model["centroids"]), key=lambda label: distance(model["centroids"][label]))


def main() -> int:
    label = os.environ["LABEL_NAME"]
    train, val = read("train"), read("val")
    columns = [c for c in train[0] if c != label]
    numeric = [
        c for c in columns if all(number(r[c]) is not None or r[c] in MISSING for r in train)
    ]
    scale = {}
    for column in numeric:
        values = [v for v in (number(r[column]) for r in train) if v is not None]
        mean = sum(values) / len(values)
        scale[column] = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5 or 1.0
    centroids = {}
    for value in sorted({r[label] for r in train}):
        group = [r for r in train if r[label] == value]
        centroids[value] = {}
        for column in numeric:
            found = [v for v in (number(r[column]) for r in group) if v is not None]
            centroids[value][column] = sum(found) / len(found)
    model = {"label": label, "columns": columns, "scale": scale, "centroids": centroids}
    accuracy = sum(predict(model, r) == r[label] for r in val) / len(val)
    print(f"val_accuracy={accuracy:.3f} train={len(train)} val={len(val)}")
    Path(os.environ["SM_MODEL_DIR"], "model.json").write_text(json.dumps(model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
