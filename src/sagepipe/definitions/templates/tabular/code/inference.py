"""Inference handlers for a TorchScript model (``model.pt`` at the top of the model archive).

Requests are rows of numbers: ``text/csv`` (one record per line) or ``application/json``
(a list of rows, one row, or ``{"instances": [...]}``). The response is JSON: one list of class
probabilities per record.
"""

from __future__ import annotations

import json
import os
from typing import Any

import torch

MODEL_FILE = "model.pt"


def model_fn(model_dir: str) -> torch.jit.ScriptModule:
    """Load the TorchScript model from the extracted model archive."""
    model = torch.jit.load(os.path.join(model_dir, MODEL_FILE), map_location="cpu")
    model.eval()
    return model


def input_fn(request_body: bytes | str, content_type: str) -> torch.Tensor:
    """Parse CSV or JSON rows of numbers into a 2-D float tensor."""
    text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "text/csv":
        rows = [[float(v) for v in line.split(",")] for line in text.splitlines() if line.strip()]
    elif media_type == "application/json":
        data: Any = json.loads(text)
        if isinstance(data, dict):
            data = data["instances"]
        rows = data if data and isinstance(data[0], list) else [data]
    else:
        raise ValueError(f"unsupported content type {content_type!r}; use text/csv or JSON")
    return torch.tensor(rows, dtype=torch.float32)


def predict_fn(input_data: torch.Tensor, model: torch.jit.ScriptModule) -> torch.Tensor:
    """Class probabilities for each record."""
    with torch.no_grad():
        output = model(input_data)
    if output.dim() == 1 or output.shape[-1] == 1:
        positive = torch.sigmoid(output.reshape(-1, 1))
        return torch.cat([1 - positive, positive], dim=1)
    return torch.softmax(output, dim=-1)


def output_fn(prediction: torch.Tensor, accept: str) -> str:
    """Serialise the probabilities as JSON."""
    if accept not in ("application/json", "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}; use application/json")
    return json.dumps(prediction.tolist())
