"""Inference handlers for a TorchScript classifier (``model.pt`` at the top of the archive).

Records have an id and numeric features (default ``id`` and ``x1``, ``x2``, ``x3``; a
``hyperparameters.json`` beside the model, when there is one, names them with ``id_name`` and
``tab_field_list``). Requests:

* ``text/csv``: one record per line, ``id,x1,x2,x3`` (the payload step's layout) or just
  ``x1,x2,x3``;
* ``application/json``: a record object, a list of them (keyed by field name; the id is
  optional), a list of rows of numbers, or ``{"instances": [...]}``.

The response is JSON: ``[{"id": ..., "probabilities": [...]}]``, one entry per record.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import torch

MODEL_FILE = "model.pt"
HYPERPARAMETERS_FILE = "hyperparameters.json"
DEFAULT_ID = "id"
DEFAULT_FEATURES = ("x1", "x2", "x3")


@dataclass(frozen=True)
class Model:
    """The network and the field names of its records."""

    network: torch.jit.ScriptModule
    id_name: str
    features: tuple[str, ...]


@dataclass(frozen=True)
class Batch:
    """Decoded records: their ids (None when absent) and a 2-D float tensor of features."""

    ids: list[Any]
    features: torch.Tensor


def model_fn(model_dir: str) -> Model:
    """Load the TorchScript model and the field names from the extracted model archive."""
    network = torch.jit.load(os.path.join(model_dir, MODEL_FILE), map_location="cpu")
    network.eval()
    id_name, features = DEFAULT_ID, DEFAULT_FEATURES
    path = os.path.join(model_dir, HYPERPARAMETERS_FILE)
    if os.path.isfile(path):
        with open(path) as handle:
            hyperparameters = json.load(handle)
        id_name = hyperparameters.get("id_name", id_name)
        features = tuple(hyperparameters.get("tab_field_list") or features)
    return Model(network, id_name, features)


def input_fn(request_body: bytes | str, content_type: str) -> dict[str, str]:
    """Keep the body and its media type; :func:`predict_fn` decodes it with the field names."""
    text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in ("text/csv", "application/json"):
        raise ValueError(f"unsupported content type {content_type!r}; use text/csv or JSON")
    return {"media_type": media_type, "text": text}


def decode(request: dict[str, str], model: Model) -> Batch:
    """CSV lines or JSON records -> ids and a feature tensor."""
    count = len(model.features)
    ids: list[Any] = []
    rows: list[list[float]] = []
    if request["media_type"] == "text/csv":
        for line in request["text"].splitlines():
            values = [v.strip() for v in line.split(",")] if line.strip() else []
            if not values:
                continue
            if len(values) not in (count, count + 1):
                raise ValueError(
                    f"a CSV record has {len(values)} columns; expected {count} features, "
                    f"optionally after the id"
                )
            ids.append(values[0] if len(values) > count else None)
            rows.append([float(v) for v in values[-count:]])
    else:
        data: Any = json.loads(request["text"])
        if isinstance(data, dict):
            data = data.get("instances", [data])
        for record in data if isinstance(data, list) and data else [data]:
            if isinstance(record, dict):
                ids.append(record.get(model.id_name))
                rows.append([float(record[name]) for name in model.features])
            elif isinstance(record, list):
                ids.append(None)
                rows.append([float(v) for v in record])
            else:
                raise ValueError(f"a JSON record must be an object or a list, got {record!r}")
    return Batch(ids, torch.tensor(rows, dtype=torch.float32))


def predict_fn(request: dict[str, str], model: Model) -> list[dict[str, Any]]:
    """Class probabilities for each record."""
    batch = decode(request, model)
    with torch.no_grad():
        output = model.network(batch.features)
    if output.dim() == 1 or output.shape[-1] == 1:
        positive = torch.sigmoid(output.reshape(-1, 1))
        probabilities = torch.cat([1 - positive, positive], dim=1)
    else:
        probabilities = torch.softmax(output, dim=-1)
    return [
        {"id": record_id, "probabilities": values}
        for record_id, values in zip(batch.ids, probabilities.tolist(), strict=True)
    ]


def output_fn(prediction: list[dict[str, Any]], accept: str) -> str:
    """Serialise the predictions as JSON."""
    if accept.split(";")[0].strip() not in ("application/json", "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}; use application/json")
    return json.dumps(prediction)
