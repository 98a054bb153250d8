"""Inference handlers for the waveform classifier (SageMaker's PyTorch inference contract).

Requests: ``application/json``, one signal (a list of floats) or a list of signals of the same
length; ``application/x-npy``, a float array of shape (length,) or (n, length).
Responses (``application/json``): one ``{"label": ..., "probabilities": {...}}`` per signal.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch
from model import CLASSES, WaveformClassifier

JSON = "application/json"
NPY = "application/x-npy"


def model_fn(model_dir: str) -> WaveformClassifier:
    root = Path(model_dir)
    config = json.loads((root / "model_config.json").read_text())
    model = WaveformClassifier(config["filters"])
    model.load_state_dict(torch.load(root / "model.pth", weights_only=True))
    model.eval()
    return model


def input_fn(request_body: bytes | str, content_type: str) -> torch.Tensor:
    if content_type == JSON:
        array = np.asarray(json.loads(request_body), dtype=np.float32)
    elif content_type == NPY:
        data = request_body.encode() if isinstance(request_body, str) else request_body
        array = np.load(io.BytesIO(data), allow_pickle=False).astype(np.float32)
    else:
        raise ValueError(f"unsupported content type {content_type!r}; send {JSON} or {NPY}")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] < 8:
        raise ValueError(f"expected signals of shape (length,) or (n, length), got {array.shape}")
    return torch.from_numpy(array)


def predict_fn(signals: torch.Tensor, model: WaveformClassifier) -> torch.Tensor:
    with torch.no_grad():
        return torch.softmax(model(signals), dim=1)


def output_fn(probabilities: torch.Tensor, accept: str) -> str:
    if accept not in (JSON, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}; ask for {JSON}")
    results = [
        {
            "label": CLASSES[int(row.argmax())],
            "probabilities": {
                name: round(float(p), 4) for name, p in zip(CLASSES, row, strict=True)
            },
        }
        for row in probabilities
    ]
    return json.dumps(results)
