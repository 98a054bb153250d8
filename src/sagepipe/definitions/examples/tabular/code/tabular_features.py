"""Record schema and feature encoding shared by ``train.py`` and ``inference.py``.

Standard library only, so that the same rules apply when training and when serving:

* categorical values are normalised with :func:`normalise_category` (stripped, lower case);
* numeric fields are standardised with the mean and standard deviation of the training split;
* each categorical field has a vocabulary built from the training split; index 0 is the
  unknown bucket, so a value never seen in training still gets an embedding.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Tokens that stand for a missing value in the raw data (compared after normalisation).
MISSING_TOKENS = frozenset({"", "na", "nan", "null", "none", "."})
PREPROCESSING_FILE = "preprocessing.json"


class DataError(ValueError):
    """The data does not fit the schema; the message names the field, record and fix."""


def normalise_category(value: object) -> str:
    """Canonical form of a categorical value: stripped, lower case."""
    return str(value).strip().lower()


def is_missing(value: object) -> bool:
    """Whether a raw value stands for "no value"."""
    return value is None or normalise_category(value) in MISSING_TOKENS


def parse_number(value: object, field: str, where: str) -> float:
    """A finite float from a raw value, or a :class:`DataError` naming the field and record."""
    if isinstance(value, bool) or value is None:
        raise DataError(f"{where}: numeric field {field!r} has {value!r}, expected a number")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataError(
            f"{where}: numeric field {field!r} has {value!r}, which is not a number"
        ) from None
    if not math.isfinite(number):
        raise DataError(f"{where}: numeric field {field!r} has {value!r}, which is not finite")
    return number


@dataclass(frozen=True)
class Schema:
    """Field roles of a record, as the model's hyperparameters name them."""

    id_name: str
    label_name: str
    full_field_list: tuple[str, ...]
    tab_field_list: tuple[str, ...]
    cat_field_list: tuple[str, ...]

    @classmethod
    def from_hyperparameters(cls, values: Mapping[str, Any]) -> Schema:
        """The schema part of a ``hyperparameters.json`` mapping."""
        return cls(
            id_name=values["id_name"],
            label_name=values["label_name"],
            full_field_list=tuple(values["full_field_list"]),
            tab_field_list=tuple(values.get("tab_field_list", ())),
            cat_field_list=tuple(values.get("cat_field_list", ())),
        )

    @property
    def record_layout(self) -> tuple[str, ...]:
        """Columns of an inference record: ``full_field_list`` without the label."""
        return tuple(f for f in self.full_field_list if f != self.label_name)

    @property
    def bare_layout(self) -> tuple[str, ...]:
        """Columns of an inference record without id: ``full_field_list`` minus id and label."""
        return tuple(f for f in self.record_layout if f != self.id_name)


@dataclass(frozen=True)
class FeatureEncoder:
    """Standardisation statistics and vocabularies fitted on the training split."""

    tab_fields: tuple[str, ...]
    cat_fields: tuple[str, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    vocabularies: tuple[tuple[str, ...], ...]

    @classmethod
    def fit(cls, schema: Schema, records: Sequence[Mapping[str, object]]) -> FeatureEncoder:
        """Fit on training records (each a mapping of field name to raw value)."""
        if not records:
            raise DataError("cannot fit the feature encoder on an empty training split")
        means, stds = [], []
        for field in schema.tab_field_list:
            values = [
                parse_number(r[field], field, f"train record {i + 1}")
                for i, r in enumerate(records)
            ]
            mean = sum(values) / len(values)
            variance = sum((v - mean) ** 2 for v in values) / len(values)
            means.append(mean)
            # A constant column would divide by zero; leave it unscaled instead.
            stds.append(math.sqrt(variance) if variance > 1e-12 else 1.0)
        vocabularies = tuple(
            tuple(sorted({normalise_category(r[field]) for r in records}))
            for field in schema.cat_field_list
        )
        return cls(
            tab_fields=schema.tab_field_list,
            cat_fields=schema.cat_field_list,
            means=tuple(means),
            stds=tuple(stds),
            vocabularies=vocabularies,
        )

    @property
    def vocabulary_sizes(self) -> list[int]:
        """Embedding table sizes: the vocabulary plus the unknown bucket at index 0."""
        return [len(vocabulary) + 1 for vocabulary in self.vocabularies]

    def encode(
        self, records: Iterable[Mapping[str, object]], where: str = "record"
    ) -> tuple[list[list[float]], list[list[int]]]:
        """Standardised numeric rows and categorical index rows, one per record."""
        lookups = [{v: i + 1 for i, v in enumerate(vocab)} for vocab in self.vocabularies]
        numeric: list[list[float]] = []
        categorical: list[list[int]] = []
        for n, record in enumerate(records, start=1):
            label = f"{where} {n}"
            numeric.append(
                [
                    (parse_number(record[f], f, label) - mean) / std
                    for f, mean, std in zip(self.tab_fields, self.means, self.stds, strict=True)
                ]
            )
            categorical.append(
                [
                    lookup.get(normalise_category(record[f]), 0)
                    for f, lookup in zip(self.cat_fields, lookups, strict=True)
                ]
            )
        return numeric, categorical

    def to_json(self) -> dict[str, Any]:
        """A JSON-able mapping; inverse of :meth:`from_json`."""
        return {
            "numeric": {
                f: {"mean": m, "std": s}
                for f, m, s in zip(self.tab_fields, self.means, self.stds, strict=True)
            },
            "categorical": {
                f: list(v) for f, v in zip(self.cat_fields, self.vocabularies, strict=True)
            },
            "unknown_index": 0,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], schema: Schema) -> FeatureEncoder:
        """Load statistics saved by :meth:`to_json`, in the field order of ``schema``."""
        numeric, categorical = data["numeric"], data["categorical"]
        missing = [f for f in schema.tab_field_list if f not in numeric] + [
            f for f in schema.cat_field_list if f not in categorical
        ]
        if missing:
            raise DataError(f"{PREPROCESSING_FILE} has no statistics for fields {missing}")
        return cls(
            tab_fields=schema.tab_field_list,
            cat_fields=schema.cat_field_list,
            means=tuple(float(numeric[f]["mean"]) for f in schema.tab_field_list),
            stds=tuple(float(numeric[f]["std"]) for f in schema.tab_field_list),
            vocabularies=tuple(tuple(categorical[f]) for f in schema.cat_field_list),
        )

    def save(self, model_dir: Path) -> Path:
        path = model_dir / PREPROCESSING_FILE
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, model_dir: Path, schema: Schema) -> FeatureEncoder:
        return cls.from_json(json.loads((model_dir / PREPROCESSING_FILE).read_text()), schema)
