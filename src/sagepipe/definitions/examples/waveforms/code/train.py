"""SageMaker training script (script mode): the waveform classifier.

A plain script-mode script, as written for SageMaker's PyTorch container: hyperparameters
arrive as ``--name value`` arguments and are parsed strictly (an unknown argument is an error);
the data comes from the ``train`` and ``validation`` channels (``SM_CHANNEL_TRAIN``,
``SM_CHANNEL_VALIDATION``), each holding ``signals.npy`` and ``labels.npy``; the model goes to
``SM_MODEL_DIR``. Each epoch prints ``train_loss=...``, ``validation_loss=...`` and
``validation_accuracy=...`` for the job's metric definitions.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
from model import WaveformClassifier
from torch import nn


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    return parser.parse_args()


def load(channel: str) -> tuple[torch.Tensor, torch.Tensor]:
    root = Path(channel)
    signals = np.load(root / "signals.npy", allow_pickle=False)
    labels = np.load(root / "labels.npy", allow_pickle=False)
    return torch.from_numpy(signals), torch.from_numpy(labels)


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    x_train, y_train = load(args.train)
    x_val, y_val = load(args.validation)
    model = WaveformClassifier(args.filters)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(y_train))
        total = 0.0
        for start in range(0, len(order), args.batch_size):
            batch = order[start : start + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            accuracy = (logits.argmax(dim=1) == y_val).float().mean().item()
        print(
            f"epoch={epoch} train_loss={total / len(y_train):.4f} "
            f"validation_loss={val_loss:.4f} validation_accuracy={accuracy:.4f}"
        )
    model_dir = Path(args.model_dir)
    torch.save(model.state_dict(), model_dir / "model.pth")
    (model_dir / "model_config.json").write_text(json.dumps({"filters": args.filters}))


if __name__ == "__main__":
    main()
