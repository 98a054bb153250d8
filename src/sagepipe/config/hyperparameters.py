"""Model hyperparameters, serialisable to SageMaker's string-valued hyperparameters."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, model_validator

from sagepipe.config.base import ConfigModel
from sagepipe.errors import ConfigError


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
