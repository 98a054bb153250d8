"""Inference handlers for the tabular classifier (SageMaker's PyTorch inference contract).

The model archive holds ``model.pth``, ``preprocessing.json`` and ``hyperparameters.json``
at its top level (as ``train.py`` writes them) and this script, with ``tabular_features.py``
and ``tabular_model.py``, under ``code/``.

Requests:
    ``text/csv``: one record per line, no quoting needed. A line has one of three layouts,
    told apart by its number of columns (id and label are never features, so the three
    widths differ):

    * ``full_field_list`` without the label field (the record layout, e.g. ``penguin_id,
      species, island, bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, year``);
      the id comes first when it is first in ``full_field_list``;
    * the whole ``full_field_list`` (the label column is ignored), so a labelled CSV works;
    * ``full_field_list`` without id and label (the record has no id).

    A first line that spells the field names of one of these layouts is a header and is
    skipped, so a CSV file with a header can be sent as it is. (The pipeline's batch transform
    reads ``test_features/``, written without a header, because SageMaker's ``Line`` splitting
    would send a header line as a record of its own.)

    ``application/json``: one record, or a list of records, each an object keyed by field
    name; the feature fields are required, the id is optional, other keys are ignored.

Categorical values are normalised as in training (stripped, lower case); a value never seen
in training falls into the unknown bucket. Numeric values must be numbers (or numeric strings).

Responses, one result per record, in order:
    ``application/json`` (also for ``*/*``): ``[{"id": ..., "probability": p, "prediction":
    0|1}]`` where ``p`` is the probability of the positive class (label 1) and the prediction
    is ``p >= 0.5``.
    ``text/csv``: lines ``id,probability,prediction`` (no header, no trailing newline, so that
    batch transform's ``AssembleWith: Line`` gives one line per record).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tabular_features import DataError, FeatureEncoder, Schema, is_missing
from tabular_model import MODEL_FILE, TabularClassifier, build_model, to_tensors

CSV = "text/csv"
JSON = "application/json"
SUPPORTED_CONTENT_TYPES = (CSV, JSON)
THRESHOLD = 0.5


@dataclass(frozen=True)
class TabularModel:
    """What :func:`model_fn` loads: the network and the rules to encode records for it."""

    network: TabularClassifier
    schema: Schema
    encoder: FeatureEncoder
    device: torch.device


@dataclass(frozen=True)
class DecodedInput:
    """A decoded request: CSV rows (lists of strings) or JSON records (mappings)."""

    content_type: str
    rows: list[Any]


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def model_fn(model_dir: str) -> TabularModel:
    """Load the network, its schema and its feature statistics from ``model_dir``."""
    root = Path(model_dir)
    hyperparameters = json.loads((root / "hyperparameters.json").read_text())
    schema = Schema.from_hyperparameters(hyperparameters)
    encoder = FeatureEncoder.load(root, schema)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    network = build_model(hyperparameters, encoder)
    state = torch.load(root / MODEL_FILE, map_location=device, weights_only=True)
    network.load_state_dict(state)
    network.to(device).eval()
    return TabularModel(network=network, schema=schema, encoder=encoder, device=device)


def input_fn(request_body: bytes | str, request_content_type: str) -> DecodedInput:
    """Decode a ``text/csv`` or ``application/json`` body; other types are a ValueError."""
    content_type = _media_type(request_content_type)
    if content_type not in SUPPORTED_CONTENT_TYPES:
        raise ValueError(
            f"content type {request_content_type!r} is not supported; "
            f"use one of {', '.join(SUPPORTED_CONTENT_TYPES)}"
        )
    text = request_body.decode("utf-8-sig") if isinstance(request_body, bytes) else request_body
    if content_type == CSV:
        rows = [row for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]
    else:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the body is not valid JSON: {exc}") from None
        rows = parsed if isinstance(parsed, list) else [parsed]
        if not all(isinstance(row, dict) for row in rows):
            raise ValueError("a JSON body must be an object or a list of objects keyed by field")
    if not rows:
        raise ValueError("the request holds no records")
    return DecodedInput(content_type=content_type, rows=rows)


def _csv_records(rows: list[list[str]], schema: Schema) -> list[dict[str, Any]]:
    layouts = {
        len(layout): layout
        for layout in (schema.full_field_list, schema.record_layout, schema.bare_layout)
    }
    first = [cell.strip() for cell in rows[0]]
    if tuple(first) in layouts.values():
        rows = rows[1:]
    records = []
    for n, row in enumerate(rows, start=1):
        layout = layouts.get(len(row))
        if layout is None:
            raise ValueError(
                f"CSV record {n} has {len(row)} columns; expected {len(schema.record_layout)} "
                f"({', '.join(schema.record_layout)}), {len(schema.full_field_list)} with the "
                f"label, or {len(schema.bare_layout)} without the id"
            )
        records.append(dict(zip(layout, row, strict=True)))
    return records


def _check_features(records: list[dict[str, Any]], schema: Schema) -> None:
    for n, record in enumerate(records, start=1):
        missing = [
            f
            for f in (*schema.tab_field_list, *schema.cat_field_list)
            if f not in record or is_missing(record[f])
        ]
        if missing:
            raise ValueError(f"record {n} has no value for the feature fields {missing}")


def predict_fn(data: DecodedInput, model: TabularModel) -> list[dict[str, Any]]:
    """Probability of the positive class and the predicted class of each record."""
    schema = model.schema
    records = _csv_records(data.rows, schema) if data.content_type == CSV else data.rows
    if not records:
        raise ValueError("the request holds only a header, no records")
    _check_features(records, schema)
    try:
        numeric, categorical = model.encoder.encode(records)
    except DataError as exc:
        raise ValueError(str(exc)) from None
    inputs = to_tensors(model.encoder, numeric, categorical, model.device)
    with torch.no_grad():
        probabilities = torch.sigmoid(model.network(*inputs)).tolist()
    return [
        {
            "id": record.get(schema.id_name),
            "probability": probability,
            "prediction": int(probability >= THRESHOLD),
        }
        for record, probability in zip(records, probabilities, strict=True)
    ]


def output_fn(prediction: list[dict[str, Any]], accept: str) -> tuple[str, str]:
    """Encode the results as JSON (``application/json`` or ``*/*``) or CSV (``text/csv``)."""
    media_type = _media_type(accept)
    if media_type in (JSON, "*/*", ""):
        return json.dumps(prediction), JSON
    if media_type == CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for result in prediction:
            identifier = "" if result["id"] is None else result["id"]
            writer.writerow([identifier, f"{result['probability']:.6f}", result["prediction"]])
        return buffer.getvalue().rstrip("\n"), CSV
    raise ValueError(
        f"accept {accept!r} is not supported; use one of {', '.join(SUPPORTED_CONTENT_TYPES)}"
    )
