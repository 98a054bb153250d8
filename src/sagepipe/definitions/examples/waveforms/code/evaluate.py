"""SageMaker processing script: accuracy of the batch transform's predictions.

Inputs: ``/opt/ml/processing/input/predictions/requests.jsonl.out`` (one JSON answer per line,
as the transform job assembled them) and ``/opt/ml/processing/input/labels/labels.json``.
Output: ``/opt/ml/processing/output/evaluation/evaluation.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

INPUT = Path("/opt/ml/processing/input")
OUTPUT = Path("/opt/ml/processing/output/evaluation")


def main() -> None:
    answers = (INPUT / "predictions" / "requests.jsonl.out").read_text().splitlines()
    labels = json.loads((INPUT / "labels" / "labels.json").read_text())
    predicted = [json.loads(line)[0]["label"] for line in answers if line.strip()]
    if len(predicted) != len(labels):
        raise SystemExit(f"{len(predicted)} predictions for {len(labels)} labels")
    accuracy = sum(p == t for p, t in zip(predicted, labels, strict=True)) / len(labels)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "evaluation.json").write_text(
        json.dumps({"accuracy": accuracy, "records": len(labels)})
    )
    print(f"test accuracy: {accuracy:.4f} on {len(labels)} signals")


if __name__ == "__main__":
    main()
