"""Notebook 01: do several kernel sizes side by side beat one 3×3 convolution of the same cost?

``naive_small`` (a 3×3 stem, then a naive Inception module at 14×14 and one at 7×7) is compared
with ``SingleKernelNet``, the same stem and pooling with one 3×3 convolution in place of each
module. The single convolutions' widths (84 and 170 channels) are the integers that bring its
multiply-adds closest to ``naive_small``'s: 148 MACs fewer out of 11.27 M. Both train with the
course's default recipe on a class-balanced 10,000-image sample of the training split and are
measured on the validation split.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from ..models import naive_small
from ..models.basic import BasicConv2d
from .registry import experiment
from .training import train_run

__all__ = ["SINGLE_WIDTHS", "SingleKernelNet"]

#: The widths of SingleKernelNet's two 3×3 convolutions at equal MACs with naive_small.
SINGLE_WIDTHS = (84, 170)


class SingleKernelNet(nn.Module):
    """naive_small's layout with one 3×3 BasicConv2d of ``widths[i]`` channels per module."""

    def __init__(
        self, widths: Sequence[int] = SINGLE_WIDTHS, stem_channels: int = 32, num_classes: int = 10
    ) -> None:
        super().__init__()
        first, second = widths
        self.stem = BasicConv2d(1, stem_channels, 3, padding=1)
        self.blocks = nn.Sequential(
            nn.MaxPool2d(2, stride=2),
            BasicConv2d(stem_channels, first, 3, padding=1),
            nn.MaxPool2d(2, stride=2),
            BasicConv2d(first, second, 3, padding=1),
        )
        # The same head as naive_small: global average pooling, dropout 0.2, one linear layer.
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(second, num_classes)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.blocks(self.stem(x)))


@experiment(
    "naive_vs_single_3x3",
    notebook="01",
    config={
        "train_size": 10_000,
        "epochs": 2,
        "lr": 0.1,
        "single_widths": list(SINGLE_WIDTHS),
        "seeds": 5,
    },
)
def naive_vs_single_3x3(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """naive_small vs one 3×3 convolution per module at equal MACs (paired by seed)."""
    builds = {
        "naive": naive_small,
        "single": lambda: SingleKernelNet(config["single_widths"]),
    }
    metrics: dict[str, Any] = {}
    for arm, build in builds.items():
        run = train_run(build, config, seed)
        for key in ("val_acc", "val_acc_per_epoch", "train_loss", "images_per_second"):
            metrics[f"{key}_{arm}"] = run[key]
    return metrics
