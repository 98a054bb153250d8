"""SageMaker processing script: accuracy of the batch transform's predictions.

Inputs, under ``--input-dir`` (``/opt/ml/processing/input``): ``predictions/requests.jsonl.out``
(one JSON answer per line, as the transform job assembled them) and ``labels/labels.json``.
Output: ``evaluation.json`` (accuracy and record count) in ``--output-dir``
(``/opt/ml/processing/output/evaluation``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input-dir", type=Path, default=Path("/opt/ml/processing/input"))
    parser.add_argument(
        "--output-dir", type=Path, default=Path("/opt/ml/processing/output/evaluation")
    )
    args = parser.parse_args()
    answers = (args.input_dir / "predictions" / "requests.jsonl.out").read_text().splitlines()
    labels = json.loads((args.input_dir / "labels" / "labels.json").read_text())
    predicted = [json.loads(line)[0]["label"] for line in answers if line.strip()]
    if len(predicted) != len(labels):
        raise SystemExit(f"{len(predicted)} predictions for {len(labels)} labels")
    accuracy = sum(p == t for p, t in zip(predicted, labels, strict=True)) / len(labels)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "evaluation.json").write_text(
        json.dumps({"accuracy": accuracy, "records": len(labels)})
    )
    print(f"test accuracy: {accuracy:.4f} on {len(labels)} signals")


if __name__ == "__main__":
    main()
