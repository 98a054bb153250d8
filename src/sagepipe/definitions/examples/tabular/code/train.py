"""SageMaker training script: a PyTorch tabular binary classifier.

Runs unmodified in SageMaker's PyTorch training container and in sagepipe's local engine.

Environment (set by the training toolkit): ``SM_MODEL_DIR``, ``SM_CHANNEL_DATA`` (holding
``train/`` and ``val/`` CSV files with a header), ``SM_OUTPUT_DATA_DIR``, ``SM_OUTPUT_DIR``,
``SM_NUM_GPUS``.

Hyperparameters arrive as ``--name value`` arguments, one per field of sagepipe's
``ModelHyperparameters``; list values are JSON (``["a", "b"]``, as
``ModelHyperparameters.to_sagemaker()`` writes them) or Python literals (``['a', 'b']``, as the
training toolkit renders a list it decoded itself).

Each epoch prints ``Train Loss: x``, ``Validation Loss: x``, ``Validation F1 Score: x`` and
``Validation AUC ROC: x`` on their own lines (sagepipe's default metric definitions).

Writes into ``SM_MODEL_DIR`` (the top level of model.tar.gz):
    ``model.pth``: the ``state_dict`` of :class:`tabular_model.TabularClassifier` (tensors only,
    loaded with ``torch.load(..., weights_only=True)``);
    ``preprocessing.json``: means/stds of the numeric fields and vocabularies of the
    categorical fields, fitted on the training split;
    ``hyperparameters.json``: every ``ModelHyperparameters`` field with its JSON value.
And ``metrics.json`` (the last epoch's validation metrics) into ``SM_OUTPUT_DATA_DIR``.

On bad data or hyperparameters, the reason goes to ``$SM_OUTPUT_DIR/failure`` (the training
job's FailureReason) and the script exits with status 1.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

from tabular_features import DataError, FeatureEncoder, Schema, parse_number
from tabular_metrics import f1_score, roc_auc

# Hyperparameter name -> (kind, default); None marks a required one. Mirrors sagepipe's
# ModelHyperparameters, which this script cannot import inside the SageMaker container.
HYPERPARAMETERS: dict[str, tuple[str, Any]] = {
    "id_name": ("str", None),
    "label_name": ("str", None),
    "full_field_list": ("str_list", None),
    "tab_field_list": ("str_list", []),
    "cat_field_list": ("str_list", []),
    "learning_rate": ("float", 1e-3),
    "batch_size": ("int", 32),
    "epochs": ("int", 10),
    "hidden_units": ("int_list", [64, 32]),
    "embedding_dim": ("int", 4),
    "dropout": ("float", 0.1),
    "weight_decay": ("float", 0.0),
    "num_classes": ("int", 2),
    "seed": ("int", 42),
}


class TrainingError(Exception):
    """Bad data or hyperparameters; the message says what and where."""


def parse_value(name: str, kind: str, raw: str) -> Any:
    if kind == "str":
        return raw
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            number = float(raw)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError
            return number
        try:
            items = json.loads(raw)
        except json.JSONDecodeError:
            items = ast.literal_eval(raw)  # literals only: safe on untrusted text
        item_type = str if kind == "str_list" else int
        if not isinstance(items, list) or not all(type(i) is item_type for i in items):
            raise ValueError
        return items
    except (ValueError, SyntaxError):
        raise TrainingError(f"hyperparameter {name}={raw!r} is not a valid {kind}") from None


def parse_hyperparameters(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Train the tabular classifier")
    for name in HYPERPARAMETERS:
        parser.add_argument(f"--{name}", type=str, default=None)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        raise TrainingError(f"unknown arguments {unknown}; known: {sorted(HYPERPARAMETERS)}")
    values: dict[str, Any] = {}
    for name, (kind, default) in HYPERPARAMETERS.items():
        raw = getattr(args, name)
        if raw is None and default is None:
            raise TrainingError(f"hyperparameter {name} is required")
        values[name] = default if raw is None else parse_value(name, kind, raw)
    check_hyperparameters(values)
    return values


def check_hyperparameters(hp: dict[str, Any]) -> None:
    full = hp["full_field_list"]
    for name in ("id_name", "label_name"):
        if hp[name] not in full:
            raise TrainingError(f"{name} {hp[name]!r} is not in full_field_list {full}")
    features = hp["tab_field_list"] + hp["cat_field_list"]
    if not features:
        raise TrainingError("tab_field_list and cat_field_list are both empty: no features")
    unknown = [f for f in features if f not in full]
    if unknown or len(set(features)) != len(features):
        raise TrainingError(f"feature fields {features} repeat or are not in {full}")
    if {hp["id_name"], hp["label_name"]} & set(features):
        raise TrainingError("the id and label fields cannot also be features")
    if hp["num_classes"] != 2:
        raise TrainingError(f"num_classes is {hp['num_classes']}; this model is binary (2)")
    positive = ("learning_rate", "batch_size", "epochs", "embedding_dim")
    if any(hp[n] <= 0 for n in positive) or any(u <= 0 for u in hp["hidden_units"]):
        raise TrainingError(f"{', '.join(positive)} and hidden_units must be positive")
    if not 0 <= hp["dropout"] < 1 or hp["weight_decay"] < 0:
        raise TrainingError("dropout must be in [0, 1) and weight_decay >= 0")


def read_split(channel: Path, name: str, schema: Schema) -> tuple[list[dict[str, str]], list[int]]:
    """Records and 0/1 labels of one split directory (every *.csv in it, in name order)."""
    directory = channel / name
    files = sorted(directory.glob("*.csv")) if directory.is_dir() else []
    if not files:
        raise TrainingError(f"split {name!r}: no *.csv files in {directory}")
    records: list[dict[str, str]] = []
    for path in files:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [f for f in schema.full_field_list if f not in (reader.fieldnames or [])]
            if missing:
                raise TrainingError(
                    f"{path} lacks the columns {missing} (header: {reader.fieldnames})"
                )
            records.extend(reader)
    if not records:
        raise TrainingError(f"split {name!r} in {directory} has no records")
    labels = []
    for i, record in enumerate(records, start=1):
        value = parse_number(record[schema.label_name], schema.label_name, f"{name} record {i}")
        if value not in (0.0, 1.0):
            raise TrainingError(
                f"{name} record {i}: label {schema.label_name!r} is {record[schema.label_name]!r}; "
                "a binary label must be 0 or 1"
            )
        labels.append(int(value))
    if len(set(labels)) < 2:
        raise TrainingError(f"split {name!r} holds only label {labels[0]}; it needs both 0 and 1")
    return records, labels


def write_failure(message: str) -> None:
    output_dir = Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"))
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "failure").write_text(message + "\n", encoding="utf-8")


def train(hp: dict[str, Any], channel: Path, model_dir: Path, output_data_dir: Path) -> None:
    schema = Schema.from_hyperparameters(hp)
    train_records, train_labels = read_split(channel, "train", schema)
    val_records, val_labels = read_split(channel, "val", schema)
    encoder = FeatureEncoder.fit(schema, train_records)
    # Imported once the data is known to be good, so bad data fails in a fraction of a second.
    import torch
    from tabular_model import MODEL_FILE, build_model, to_tensors

    use_gpu = int(os.environ.get("SM_NUM_GPUS", "0")) > 0 and torch.cuda.is_available()
    device = torch.device("cuda" if use_gpu else "cpu")
    random.seed(hp["seed"])
    torch.manual_seed(hp["seed"])
    x_num, x_cat = to_tensors(encoder, *encoder.encode(train_records, "train record"), device)
    v_num, v_cat = to_tensors(encoder, *encoder.encode(val_records, "val record"), device)
    y = torch.tensor(train_labels, dtype=torch.float32, device=device)
    v_y = torch.tensor(val_labels, dtype=torch.float32, device=device)

    model = build_model(hp, encoder).to(device)
    optimiser = torch.optim.Adam(
        model.parameters(), lr=hp["learning_rate"], weight_decay=hp["weight_decay"]
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    shuffler = torch.Generator().manual_seed(hp["seed"])
    metrics: dict[str, float] = {}
    for epoch in range(1, hp["epochs"] + 1):
        model.train()
        total = 0.0
        for batch in torch.randperm(len(y), generator=shuffler).split(hp["batch_size"]):
            batch = batch.to(device)
            optimiser.zero_grad()
            loss = loss_fn(model(x_num[batch], x_cat[batch]), y[batch])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            logits = model(v_num, v_cat)
            val_loss = loss_fn(logits, v_y).item()
            scores = torch.sigmoid(logits).tolist()
        metrics = {
            "Train Loss": total / len(y),
            "Validation Loss": val_loss,
            "Validation F1 Score": f1_score(val_labels, [int(s >= 0.5) for s in scores]),
            "Validation AUC ROC": roc_auc(val_labels, scores),
        }
        print(f"Epoch {epoch}/{hp['epochs']}", flush=True)
        for name, value in metrics.items():
            print(f"{name}: {value:.6f}", flush=True)

    model_dir.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, model_dir / MODEL_FILE)
    encoder.save(model_dir)
    (model_dir / "hyperparameters.json").write_text(json.dumps(hp, indent=2) + "\n")
    output_data_dir.mkdir(parents=True, exist_ok=True)
    (output_data_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"Saved {MODEL_FILE}, preprocessing.json and hyperparameters.json to {model_dir}")


def main(argv: list[str] | None = None) -> int:
    env = os.environ
    try:
        hp = parse_hyperparameters(sys.argv[1:] if argv is None else argv)
        train(
            hp,
            channel=Path(env.get("SM_CHANNEL_DATA", "/opt/ml/input/data/data")),
            model_dir=Path(env.get("SM_MODEL_DIR", "/opt/ml/model")),
            output_data_dir=Path(env.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")),
        )
    except (TrainingError, DataError) as exc:
        message = f"train.py: {exc}"
        print(message, file=sys.stderr)
        write_failure(message)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
