"""Train a small binary classifier on the numeric fields (a SageMaker training script).

Reads ``train/`` and ``val/`` CSV files from the ``data`` channel, prints the metrics the
default metric definitions capture each epoch, and saves a TorchScript ``model.pt`` and
``hyperparameters.json`` to ``SM_MODEL_DIR``.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch


def parse_hyperparameters(argv: list[str]) -> dict[str, Any]:
    """``--name value`` pairs; values are JSON where they parse as JSON (lists, numbers)."""
    values: dict[str, Any] = {}
    for flag, raw in zip(argv[::2], argv[1::2], strict=False):
        try:
            values[flag.removeprefix("--")] = json.loads(raw)
        except json.JSONDecodeError:
            values[flag.removeprefix("--")] = raw
    return values


def load_split(folder: Path, features: list[str], label: str) -> tuple[torch.Tensor, torch.Tensor]:
    rows: list[dict[str, str]] = []
    for file in sorted(folder.glob("*.csv")):
        with file.open(newline="") as handle:
            rows.extend(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"no records under {folder}")
    missing = [name for name in [*features, label] if name not in rows[0]]
    if missing:
        raise ValueError(f"{folder}: columns {missing} are missing")
    x = torch.tensor([[float(row[f]) for f in features] for row in rows])
    y = torch.tensor([int(float(row[label])) for row in rows])
    return x, y


def f1_and_auc(scores: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    predicted = scores >= 0.5
    tp = int((predicted & (labels == 1)).sum())
    fp = int((predicted & (labels == 0)).sum())
    fn = int((~predicted & (labels == 1)).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    positives, negatives = scores[labels == 1], scores[labels == 0]
    if len(positives) == 0 or len(negatives) == 0:
        return f1, 0.5
    wins = (positives[:, None] > negatives[None, :]).float().mean().item()
    ties = (positives[:, None] == negatives[None, :]).float().mean().item()
    return f1, wins + ties / 2


def main(argv: list[str]) -> int:
    hp = parse_hyperparameters(argv)
    data_dir = Path(os.environ.get("SM_CHANNEL_DATA", "/opt/ml/input/data/data"))
    model_dir = Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    features, label = list(hp["tab_field_list"]), str(hp["label_name"])
    torch.manual_seed(int(hp.get("seed", 42)))
    try:
        x_train, y_train = load_split(data_dir / "train", features, label)
        x_val, y_val = load_split(data_dir / "val", features, label)
    except (ValueError, KeyError) as exc:
        print(f"bad training data: {exc}", file=sys.stderr)
        return 1

    model = torch.nn.Sequential(
        torch.nn.Linear(len(features), 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=float(hp.get("learning_rate", 0.01)))
    loss_fn = torch.nn.CrossEntropyLoss()
    batch_size = int(hp.get("batch_size", 32))
    for epoch in range(int(hp.get("epochs", 5))):
        model.train()
        order = torch.randperm(len(x_train))
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            optimiser.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            f1, auc = f1_and_auc(torch.softmax(logits, dim=1)[:, 1], y_val)
        print(f"Epoch {epoch}")
        print(f"Train Loss: {total / len(x_train):.6f}")
        print(f"Validation Loss: {val_loss:.6f}")
        print(f"Validation F1 Score: {f1:.6f}")
        print(f"Validation AUC ROC: {auc:.6f}")

    model_dir.mkdir(parents=True, exist_ok=True)
    torch.jit.script(model).save(str(model_dir / "model.pt"))
    (model_dir / "hyperparameters.json").write_text(json.dumps(hp, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
