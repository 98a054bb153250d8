"""The waveform classifier: a small 1-D convolutional network."""

from __future__ import annotations

import torch
from torch import nn

CLASSES = ("sine", "square", "sawtooth")


class WaveformClassifier(nn.Module):
    """Two convolutions, global average pooling and a linear layer over the classes."""

    def __init__(self, filters: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, filters, kernel_size=7, padding=3),
            nn.ReLU(),
            nn.Conv1d(filters, filters, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(1),
        )
        self.head = nn.Linear(filters, len(CLASSES))

    def forward(self, signals: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch, classes) for signals of shape (batch, length)."""
        return self.head(self.features(signals.unsqueeze(1)).squeeze(-1))
