"""Model hyperparameters, serialisable to SageMaker's string-valued hyperparameters."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, model_validator

from sagepipe.config.base import ConfigModel
from sagepipe.errors import ConfigError
from sagepipe.expressions import JsonValue, Parameter


class ModelHyperparameters(ConfigModel):
    """Hyperparameters of a tabular model, as the training and inference scripts read them.

    Attributes:
        id_name: Name of the record id field.
        label_name: Name of the label field.
        full_field_list: Every field of a record, in order.
        tab_field_list: Numeric (tabular) feature fields.
        cat_field_list: Categorical feature fields (embedded by the example model).
        learning_rate: Optimiser learning rate (> 0).
        batch_size: Training batch size (> 0).
        epochs: Number of training epochs (> 0).
        hidden_units: Sizes of the hidden layers of the example MLP.
        embedding_dim: Embedding size for each categorical field.
        dropout: Dropout probability between hidden layers, in [0, 1).
        weight_decay: L2 penalty of the optimiser (>= 0).
        num_classes: Number of label classes; 2 for binary classification.
        seed: Random seed for reproducible training.
    """

    dump_set_fields: ClassVar[bool] = True

    id_name: str
    label_name: str
    full_field_list: list[str]
    tab_field_list: list[str] = Field(default_factory=list)
    cat_field_list: list[str] = Field(default_factory=list)
    learning_rate: float = Field(default=1e-3, gt=0)
    batch_size: int = Field(default=32, gt=0)
    epochs: int = Field(default=10, gt=0)
    hidden_units: list[int] = Field(default_factory=lambda: [64, 32])
    embedding_dim: int = Field(default=4, gt=0)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)
    num_classes: int = Field(default=2, ge=2)
    seed: int = 42

    @model_validator(mode="after")
    def _check_fields(self) -> ModelHyperparameters:
        full = self.full_field_list
        duplicates = sorted({f for f in full if full.count(f) > 1})
        if duplicates:
            raise ValueError(f"full_field_list repeats {duplicates}")
        for name in ("id_name", "label_name"):
            value = getattr(self, name)
            if value not in full:
                raise ValueError(f"{name} {value!r} is not in full_field_list {full}")
        for name in ("tab_field_list", "cat_field_list"):
            missing = [f for f in getattr(self, name) if f not in full]
            if missing:
                raise ValueError(f"{name} has fields not in full_field_list: {missing}")
        overlap = sorted(set(self.tab_field_list) & set(self.cat_field_list))
        if overlap:
            raise ValueError(f"fields {overlap} are in both tab_field_list and cat_field_list")
        features = set(self.tab_field_list) | set(self.cat_field_list)
        reserved = features & {self.id_name, self.label_name}
        if reserved:
            raise ValueError(f"id/label fields {sorted(reserved)} cannot also be features")
        if any(units <= 0 for units in self.hidden_units):
            raise ValueError(f"hidden_units must all be positive, got {self.hidden_units}")
        return self

    def to_sagemaker(self) -> dict[str, str]:
        """SageMaker hyperparameters: every value a string (strings as they are, others JSON)."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            out[name] = value if isinstance(value, str) else json.dumps(value)
        return out

    @classmethod
    def from_sagemaker(cls, values: dict[str, str]) -> ModelHyperparameters:
        """Inverse of :meth:`to_sagemaker`; keys that are not fields are an error."""
        parsed: dict[str, Any] = {}
        for key, raw in values.items():
            field = cls.model_fields.get(key)
            if field is None:
                parsed[key] = raw  # let validation report it with a suggestion
            elif field.annotation is str:
                parsed[key] = raw
            else:
                try:
                    parsed[key] = json.loads(raw)
                except json.JSONDecodeError:
                    raise ConfigError(
                        f"hyperparameter {key}={raw!r} is not valid JSON for a "
                        f"{field.annotation} value"
                    ) from None
        return cls(**parsed)

    def ir_dump(self, exclude: frozenset[str] = frozenset()) -> dict[str, JsonValue]:
        """Only the fields the user set (``model_dump(exclude_unset=True)``): the job passes
        exactly those to the script, whose own defaults cover the rest."""
        unset = frozenset(type(self).model_fields) - self.model_fields_set
        return super().ir_dump(exclude=exclude | unset)


# --- free-form hyperparameters --------------------------------------------------------------

#: The SageMaker SDK and the training toolkit own hyperparameters named ``sagemaker_*``.
RESERVED_PREFIX = "sagemaker_"
#: CreateTrainingJob's limits (botocore: HyperParameters key 256, value 2500 characters).
MAX_NAME_LENGTH = 256
MAX_VALUE_LENGTH = 2500


def check_free_form(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a free-form mapping of hyperparameters (any JSON value, or a pipeline
    parameter as a whole value) and return it as a plain dict.

    Raises:
        ValueError: A name is empty, too long or reserved (``sagemaker_*``), or a value is not
            JSON (or is a parameter nested inside a list or dict, or is too long once encoded).
    """
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"hyperparameter names must be non-empty strings, got {name!r}")
        if len(name) > MAX_NAME_LENGTH:
            raise ValueError(
                f"hyperparameter name {name[:40]!r}... is over {MAX_NAME_LENGTH} chars"
            )
        if name.startswith(RESERVED_PREFIX):
            raise ValueError(
                f"hyperparameter {name!r}: names starting with {RESERVED_PREFIX!r} are set by "
                "sagepipe (entry point, code, region, distribution); rename it"
            )
        if not isinstance(value, Parameter):
            _check_json(name, value)
            encoded = json.dumps(value)
            if len(encoded) > MAX_VALUE_LENGTH:
                raise ValueError(
                    f"hyperparameter {name!r} is {len(encoded)} characters once JSON-encoded; "
                    f"SageMaker allows {MAX_VALUE_LENGTH} (pass large values in a channel)"
                )
        checked[name] = value
    return checked


def _check_json(where: str, value: Any) -> None:
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"hyperparameter {where}: {value} is not a JSON number")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(f"{where}[{index}]", item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"hyperparameter {where}: key {key!r} is not a string")
            _check_json(f"{where}.{key}", item)
        return
    if isinstance(value, Parameter):
        raise ValueError(
            f"hyperparameter {where}: a pipeline parameter must be a whole value "
            f"(name: {{Get: Parameters.{value.name}}}), not inside a list or mapping"
        )
    raise ValueError(
        f"hyperparameter {where}: {type(value).__name__} {value!r} is not a JSON value "
        "(strings, numbers, booleans, null, lists, mappings)"
    )
