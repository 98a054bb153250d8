"""Inference handlers of the seed template tests: the nearest-centroid model of ``train.py``.

A request is CSV records without header and label (the tabular preprocessing step's
``test_data``); the response is one predicted label per line.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from train import predict


def model_fn(model_dir: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(Path(model_dir, "model.json").read_text())
    return loaded


def input_fn(request_body: bytes | str, content_type: str) -> list[list[str]]:
    if content_type != "text/csv":
        raise ValueError(f"unsupported content type {content_type}")
    text = request_body.decode() if isinstance(request_body, bytes) else request_body
    return [row for row in csv.reader(io.StringIO(text)) if row]


def predict_fn(input_data: list[list[str]], model: dict[str, Any]) -> list[str]:
    return [predict(model, dict(zip(model["columns"], row, strict=True))) for row in input_data]


def output_fn(prediction: list[str], accept: str) -> str:
    return "".join(f"{label}\n" for label in prediction)
