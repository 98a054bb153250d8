"""SageMaker processing script: test F1 and AUC of the batch transform output.

Runs unmodified in a SageMaker processing container (standard library only, with
``tabular_metrics.py`` beside it) and in sagepipe's local engine. Container paths live under
``/opt/ml``, or under ``$SAGEPIPE_OPT_ML`` when set.

Inputs:
    ``/opt/ml/processing/input/predictions``: every ``*.out`` file (searched recursively) of a
    batch transform whose records are ``inference.py`` results. With ``accept: text/csv`` a
    line is ``id,probability,prediction``; with ``application/json`` a line is a JSON list of
    ``{"id", "probability", "prediction"}`` objects (or one such object).
    ``/opt/ml/processing/input/test``: the labelled test split, CSV with a header: the
    ``*.csv`` files of its ``test/`` subdirectory when it has one (so the whole
    ``processed_data`` output may be mounted here), else its own ``*.csv`` files.

Predictions and test records are joined on the id field; an id on one side only is an error.

Output ``/opt/ml/processing/output/evaluation/evaluation.json``: ``{"f1": ..., "auc": ...,
"records": ...}``. Prints ``Test F1 Score: x`` and ``Test AUC ROC: x``. On bad input the reason
goes to ``/opt/ml/output/message`` and the script exits with status 1.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path
from typing import Any

from tabular_metrics import f1_score, roc_auc


class EvaluationError(Exception):
    """The inputs cannot be evaluated; the message says why."""


def opt_ml() -> Path:
    return Path(os.environ.get("SAGEPIPE_OPT_ML", "/opt/ml"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    processing = opt_ml() / "processing"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--id-name", default="penguin_id")
    parser.add_argument("--label-name", default="is_male")
    parser.add_argument("--predictions-dir", type=Path, default=processing / "input/predictions")
    parser.add_argument("--test-dir", type=Path, default=processing / "input/test")
    parser.add_argument("--output-dir", type=Path, default=processing / "output/evaluation")
    return parser.parse_args(argv)


def _result(item: Any, where: str) -> tuple[str, float, int]:
    if not isinstance(item, dict) or not {"id", "probability", "prediction"} <= item.keys():
        raise EvaluationError(f"{where}: expected an id/probability/prediction object")
    return str(item["id"]), float(item["probability"]), int(item["prediction"])


def read_predictions(directory: Path) -> dict[str, tuple[float, int]]:
    """Probability and predicted class by id, from every ``*.out`` file under ``directory``."""
    files = sorted(directory.rglob("*.out")) if directory.is_dir() else []
    if not files:
        raise EvaluationError(f"no *.out files under {directory}")
    results: dict[str, tuple[float, int]] = {}
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            where = f"{path.name} line {number}"
            line = line.strip()
            if not line:
                continue
            try:
                if line[0] in "[{":
                    parsed = json.loads(line)
                    items = parsed if isinstance(parsed, list) else [parsed]
                    rows = [_result(item, where) for item in items]
                else:
                    identifier, probability, prediction = next(csv.reader([line]))
                    rows = [(identifier, float(probability), int(prediction))]
            except (ValueError, TypeError) as exc:
                raise EvaluationError(f"{where}: cannot read {line[:80]!r} ({exc})") from None
            for identifier, probability, prediction in rows:
                if identifier in results:
                    raise EvaluationError(f"{where}: id {identifier!r} is predicted twice")
                results[identifier] = (probability, prediction)
    return results


def read_labels(directory: Path, id_name: str, label_name: str) -> dict[str, int]:
    """0/1 label by id from the test split's CSV files."""
    split_dir = directory / "test" if (directory / "test").is_dir() else directory
    files = sorted(split_dir.glob("*.csv"))
    if not files:
        raise EvaluationError(f"no *.csv files in {split_dir}")
    labels: dict[str, int] = {}
    for path in files:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [f for f in (id_name, label_name) if f not in (reader.fieldnames or [])]
            if missing:
                raise EvaluationError(f"{path} lacks the columns {missing}")
            for number, row in enumerate(reader, start=2):
                value = row[label_name].strip()
                if value not in ("0", "1"):
                    raise EvaluationError(f"{path.name} line {number}: label {value!r} is not 0/1")
                labels[row[id_name].strip()] = int(value)
    return labels


def evaluate(predictions: dict[str, tuple[float, int]], labels: dict[str, int]) -> dict[str, Any]:
    unpredicted = sorted(set(labels) - set(predictions))
    unknown = sorted(set(predictions) - set(labels))
    if unpredicted or unknown:
        raise EvaluationError(
            f"predictions and test records differ: {len(unpredicted)} test ids without a "
            f"prediction (e.g. {unpredicted[:5]}), {len(unknown)} predicted ids not in the test "
            f"split (e.g. {unknown[:5]}); run the transform on the test split"
        )
    ids = sorted(labels)
    truth = [labels[i] for i in ids]
    try:
        auc = roc_auc(truth, [predictions[i][0] for i in ids])
    except ValueError as exc:
        raise EvaluationError(f"test split: {exc}") from None
    return {
        "f1": f1_score(truth, [predictions[i][1] for i in ids]),
        "auc": auc,
        "records": len(ids),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        predictions = read_predictions(args.predictions_dir)
        labels = read_labels(args.test_dir, args.id_name, args.label_name)
        result = evaluate(predictions, labels)
    except EvaluationError as exc:
        message = f"evaluate.py: {exc}"
        print(message, file=sys.stderr)
        message_file = opt_ml() / "output" / "message"
        message_file.parent.mkdir(parents=True, exist_ok=True)
        message_file.write_text(message[:1024] + "\n", encoding="utf-8")
        return 1
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "evaluation.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"Test F1 Score: {result['f1']:.6f}")
    print(f"Test AUC ROC: {result['auc']:.6f}")
    print(f"Evaluated {result['records']} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
