"""Training script of the SDK-written pipeline (inside sourcedir.tar.gz with
jsonlines_handler.py).

Strict argparse: SageMaker passes only the user's hyperparameters as arguments, never the
``sagemaker_*`` ones. Trains a linear model on the ``train`` channel, reports the loss on the
``test`` channel, and writes the model and its inference code into SM_MODEL_DIR, so that
model.tar.gz carries both: ``code/jsonlines_handler.py``, which the model's
``SAGEMAKER_PROGRAM`` names, and a ``code/inference.py`` (the inference toolkit's default
program name) that fails if it is ever loaded instead.
"""

import argparse
import json
import os
import shutil
from pathlib import Path

import torch

HANDLER = "jsonlines_handler.py"
WRONG_PROGRAM = f"SAGEMAKER_PROGRAM names {HANDLER}; inference.py must not be loaded"


def load(channel: str) -> tuple[torch.Tensor, torch.Tensor]:
    directory = Path(os.environ[f"SM_CHANNEL_{channel.upper()}"])
    rows = [
        json.loads(line)
        for path in sorted(directory.glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    if not rows:
        raise SystemExit(f"channel {channel} at {directory} holds no rows")
    features = torch.tensor([row["features"] for row in rows], dtype=torch.float32)
    labels = torch.tensor([[row["label"]] for row in rows], dtype=torch.float32)
    return features, labels


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    train_x, train_y = load("train")
    test_x, test_y = load("test")
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for epoch in range(args.epochs):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(train_x), train_y)
        loss.backward()
        optimizer.step()
        print(f"epoch={epoch} train_loss={loss.item():.6f}")
    with torch.no_grad():
        test_loss = torch.nn.functional.mse_loss(model(test_x), test_y).item()
    print(f"test_loss={test_loss:.6f}")
    model_dir = Path(os.environ["SM_MODEL_DIR"])
    torch.save(model.state_dict(), model_dir / "model.pt")
    (model_dir / "epochs.json").write_text(json.dumps({"epochs": args.epochs}))
    code = model_dir / "code"
    code.mkdir(exist_ok=True)
    shutil.copy(Path(__file__).with_name(HANDLER), code / HANDLER)
    (code / "inference.py").write_text(f"raise RuntimeError({WRONG_PROGRAM!r})\n")


if __name__ == "__main__":
    main()
