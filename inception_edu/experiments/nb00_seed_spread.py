"""Notebook 00: how far apart do runs land that differ only in their random seed?

Notebook 00's tiny CNN (five 3×3 convolutions with BatchNorm, global average pooling, a linear
classifier) is trained ten times with the course's default recipe on a class-balanced 5,000-image
sample of the training split; the seed sets the initial weights, the sample and its order. The
spread of the validation accuracies is the yardstick for every later comparison: a difference
between two networks smaller than this spread is not evidence of anything.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .registry import experiment
from .training import train_run

__all__ = ["tiny_cnn"]


def tiny_cnn(width: int = 16) -> nn.Sequential:
    """Return notebook 00's plain CNN: 3×3 conv → BN → ReLU units, two 2×2 max-pools, a head."""

    def unit(c_in: int, c_out: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
        )

    w = width
    return nn.Sequential(
        unit(1, w), nn.MaxPool2d(2),  # 28×28 → 14×14
        unit(w, 2 * w), unit(2 * w, 2 * w), nn.MaxPool2d(2),  # → 7×7
        unit(2 * w, 4 * w), unit(4 * w, 4 * w),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, 10),
    )  # fmt: skip


@experiment(
    "tiny_cnn_seeds",
    notebook="00",
    config={"width": 16, "train_size": 5_000, "epochs": 4, "lr": 0.1, "seeds": 10},
)
def tiny_cnn_seeds(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """The tiny CNN of notebook 00, one seed: how much the seed alone moves the accuracy."""
    run = train_run(lambda: tiny_cnn(config["width"]), config, seed)
    return {key: run[key] for key in ("val_acc", "val_acc_per_epoch", "train_loss")}
