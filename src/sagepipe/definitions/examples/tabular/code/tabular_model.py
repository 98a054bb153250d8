"""The example's PyTorch model: embeddings for categorical fields, an MLP, one logit.

``train.py`` saves its ``state_dict`` as ``model.pth`` (loaded back with
``torch.load(..., weights_only=True)``); the architecture is rebuilt from
``hyperparameters.json`` and ``preprocessing.json`` by :func:`build_model`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from tabular_features import FeatureEncoder
from torch import nn

MODEL_FILE = "model.pth"


class TabularClassifier(nn.Module):
    """Binary classifier over standardised numeric fields and embedded categorical fields.

    Args:
        num_numeric: Number of numeric (tab) fields.
        vocabulary_sizes: Embedding table size of each categorical field (unknown bucket
            included).
        embedding_dim: Embedding size of each categorical field.
        hidden_units: Sizes of the hidden layers.
        dropout: Dropout probability after each hidden layer.
    """

    def __init__(
        self,
        num_numeric: int,
        vocabulary_sizes: Sequence[int],
        embedding_dim: int,
        hidden_units: Sequence[int],
        dropout: float,
    ) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(n, embedding_dim) for n in vocabulary_sizes)
        width = num_numeric + embedding_dim * len(vocabulary_sizes)
        layers: list[nn.Module] = []
        for units in hidden_units:
            layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(dropout)]
            width = units
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        """Logits of the positive class, shape ``(batch,)``.

        Args:
            numeric: Float tensor ``(batch, num_numeric)``.
            categorical: Long tensor ``(batch, num_categorical)`` of vocabulary indices.
        """
        parts = [numeric] + [emb(categorical[:, i]) for i, emb in enumerate(self.embeddings)]
        return self.mlp(torch.cat(parts, dim=1)).squeeze(1)


def build_model(hyperparameters: Mapping[str, Any], encoder: FeatureEncoder) -> TabularClassifier:
    """The (untrained) model that ``hyperparameters`` and the fitted ``encoder`` describe."""
    return TabularClassifier(
        num_numeric=len(encoder.tab_fields),
        vocabulary_sizes=encoder.vocabulary_sizes,
        embedding_dim=int(hyperparameters["embedding_dim"]),
        hidden_units=[int(u) for u in hyperparameters["hidden_units"]],
        dropout=float(hyperparameters["dropout"]),
    )


def to_tensors(
    encoder: FeatureEncoder,
    numeric: list[list[float]],
    categorical: list[list[int]],
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Encoded rows as tensors of shapes ``(rows, numeric fields)`` and ``(rows, categorical
    fields)``; the explicit shape keeps a model without numeric or categorical fields working."""
    rows = len(numeric)
    num = torch.tensor(numeric, dtype=torch.float32).reshape(rows, len(encoder.tab_fields))
    cat = torch.tensor(categorical, dtype=torch.long).reshape(rows, len(encoder.cat_fields))
    return num.to(device), cat.to(device)
