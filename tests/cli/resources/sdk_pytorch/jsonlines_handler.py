"""Inference handlers of the SDK-written pipeline's model (copied into model.tar.gz's code/
by train.py, selected by ``SAGEMAKER_PROGRAM``). JSON lines in, one ``{"prediction": ...}``
line out per input line, whether the request holds one record or several."""

import json
from pathlib import Path

import torch

JSON_LINES = "application/jsonlines"


def model_fn(model_dir: str) -> torch.nn.Module:
    model = torch.nn.Linear(2, 1)
    state = torch.load(Path(model_dir) / "model.pt", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    return model


def input_fn(request_body: bytes | str, content_type: str) -> torch.Tensor:
    if content_type != JSON_LINES:
        raise ValueError(f"expected {JSON_LINES}, got {content_type}")
    text = request_body.decode() if isinstance(request_body, bytes) else request_body
    rows = [json.loads(line)["features"] for line in text.splitlines() if line.strip()]
    return torch.tensor(rows, dtype=torch.float32)


def predict_fn(data: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return model(data)


def output_fn(prediction: torch.Tensor, accept: str) -> str:
    if accept != JSON_LINES:
        raise ValueError(f"expected to answer {JSON_LINES}, asked for {accept}")
    return "\n".join(json.dumps({"prediction": value}) for value in prediction[:, 0].tolist())
