"""Notebook 03: is a network of two stacked 3×3 convolutions better than one of 5×5s at equal cost?

Rethinking the Inception Architecture (§3.1) replaces every 5×5 convolution by two 3×3s: the same
5×5 receptive field for 18/25 of the multiply-adds. ``PlainNet`` makes that the only difference
between networks: a small plain CNN whose four "5×5 layers" are one 5×5 convolution, two stacked
3×3s, or two stacked 3×3s with no ReLU between them (§3.1's control, Figure 2). The factorized
networks are made wider (18 channels against 16) until they cost about the same multiply-adds.
Every run trains with the course's default recipe on the shipped training split and is measured
on the validation split.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..models.basic import BasicConv2d
from .registry import experiment
from .training import train_run

__all__ = ["LAYERS", "PlainNet", "five_by_five_layer", "train_layer"]

#: What a "5×5 layer" of ``PlainNet`` can be.
LAYERS = ("5x5", "3x3", "3x3_linear")


class PlainNet(nn.Module):
    """A 3×3 stem, four "5×5 layers" (two at 14×14, two at 7×7), global pooling, a classifier.

    ``layer`` says what each "5×5 layer" is: "5x5", one 5×5 BasicConv2d; "3x3", two stacked 3×3
    BasicConv2d (conv → BN → ReLU each); "3x3_linear", the same without the ReLU after the first.
    The first two layers have ``width`` channels, the last two ``2 × width``.
    """

    def __init__(self, width: int, layer: str = "5x5") -> None:
        super().__init__()
        if layer not in LAYERS:
            raise ValueError(f"layer must be one of {', '.join(LAYERS)}, got {layer!r}")
        w = width
        self.features = nn.Sequential(
            BasicConv2d(1, w, 3, padding=1),
            nn.MaxPool2d(2),
            five_by_five_layer(w, w, layer),
            five_by_five_layer(w, w, layer),
            nn.MaxPool2d(2),
            five_by_five_layer(w, 2 * w, layer),
            five_by_five_layer(2 * w, 2 * w, layer),
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(2 * w, 10)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def five_by_five_layer(c_in: int, c_out: int, layer: str) -> nn.Module:
    """One "5×5 layer": a 5×5 unit, or two 3×3 units with or without the ReLU between them."""
    if layer == "5x5":
        return BasicConv2d(c_in, c_out, 5, padding=2)
    first = BasicConv2d(c_in, c_out, 3, padding=1)
    if layer == "3x3_linear":
        first.relu = nn.Identity()  # conv → BN only: the pair is linear up to the last ReLU
    return nn.Sequential(first, BasicConv2d(c_out, c_out, 3, padding=1))


_CONFIG = {
    "train_size": 10_000,
    "epochs": 3,
    "lr": 0.1,
    # Equal cost: 4.50 M MACs for the 5×5 network, 4.41 M for the factorized ones (2 % less).
    "widths": {"5x5": 16, "3x3": 18, "3x3_linear": 18},
}


@experiment("factorization_equal_macs", notebook="03", config={**_CONFIG, "seeds": 5})
def factorization_equal_macs(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """PlainNet with 5×5 layers vs two 3×3s (ReLU or linear between), at equal MACs, 3 epochs."""
    return _train_each_layer(config, seed)


@experiment(
    "factorization_equal_macs_long",
    notebook="03",
    # Twice the training and the two main arms only: a check of the training length. Five seeds, as
    # for the main comparison, because the gap it checks is about a point.
    config={**_CONFIG, "epochs": 6, "widths": {"5x5": 16, "3x3": 18}, "seeds": 5},
)
def factorization_equal_macs_long(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """5×5 vs two 3×3s at equal MACs trained for 6 epochs: does the 3-epoch comparison hold?"""
    return _train_each_layer(config, seed)


def train_layer(config: dict[str, Any], seed: int, layer: str) -> dict[str, Any]:
    """Train the PlainNet of one arm (``layer``) as ``config`` says; return its metrics by name."""
    width = config["widths"][layer]
    run = train_run(lambda: PlainNet(width, layer), config, seed)
    keys = ("val_acc", "val_acc_per_epoch", "images_per_second")
    return {f"{key}_{layer}": run[key] for key in keys}


def _train_each_layer(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train one PlainNet per entry of ``config["widths"]`` (same seed, same batches)."""
    metrics: dict[str, Any] = {}
    for layer in config["widths"]:
        metrics.update(train_layer(config, seed, layer))
    return metrics
