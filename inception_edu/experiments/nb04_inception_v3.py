"""Notebook 04: two experiments on the small Inception-v3.

- ``v3_grid_reduction`` tests the first design principle of Rethinking the Inception Architecture
  (§2: "Avoid representational bottlenecks, especially early in the network") with the paper's own
  example (§5, Figures 9 and 10). The small network's first grid reduction (Mixed_6a, 14×14 → 7×7)
  runs stride-2 convolutions beside a stride-2 pool on the full 14×14 map (Figure 10).
  ``PoolFirstReduction`` pools first and runs the same convolutions on the pooled 7×7 map
  (Figure 9, left): every value that reaches the rest of the network has passed through a map of
  a quarter of the input's size. It has the same output shape and, with its double-3×3 branch's
  1×1 four times wider (so the 3×3 after it reads four times the channels), exactly the same
  multiply-adds; every other layer of the two networks starts from the same weights.
- ``v3_vs_googlenet`` places the small Inception-v3 against a small GoogLeNet of the same
  multiply-adds (width 0.15 instead of 0.125), neither with auxiliary heads, same data and recipe.

Every run trains with the course's default recipe on a class-balanced subset of the shipped training
split (chosen with the seed) and is measured on the validation split.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from ..models import BasicConv2d, InceptionV3, googlenet_small, inception_v3_small, scaled
from .registry import experiment
from .training import train_run

__all__ = ["PoolFirstReduction", "v3_small_pool_first"]


class PoolFirstReduction(nn.Module):
    """A grid reduction that pools first (Figure 9, left); returns the branches concatenated.

    The branches of the small network's Mixed_6a (``InceptionV3ReductionA`` with ``padding=1``):
    a 3×3 convolution to ``c(384)`` channels, a 1×1 → 3×3 → 3×3 double branch to ``c(96)`` and the
    pooled input, but the convolutions run with stride 1 on the max-pooled map instead of with
    stride 2 on the full one. Output shape: the same. Multiply-adds: the double branch's first two
    layers, which Figure 10 runs on the full map, cost a quarter as much on the pooled one (the
    others have 7×7 outputs either way), so its middle width is ``widen`` (4) times ``c(64)``,
    which makes the total exactly equal.
    """

    def __init__(self, in_channels: int, width: float = 0.125, widen: int = 4) -> None:
        super().__init__()
        c = partial(scaled, width=width)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)

        self.branch3x3 = BasicConv2d(in_channels, c(384), 3, padding=1)

        self.branch3x3dbl_1 = BasicConv2d(in_channels, widen * c(64), 1)
        self.branch3x3dbl_2 = BasicConv2d(widen * c(64), c(96), 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(c(96), c(96), 3, padding=1)
        self.out_channels = c(384) + c(96) + in_channels

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.pool(x)  # the bottleneck: everything below sees only this map
        branch3x3 = self.branch3x3(pooled)
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(pooled)))
        return torch.cat([branch3x3, branch3x3dbl, pooled], 1)


def v3_small_pool_first() -> InceptionV3:
    """Return ``inception_v3_small()`` with Mixed_6a replaced by a ``PoolFirstReduction``.

    The network is built first and the reduction swapped in afterwards, so that under the same
    seed every other layer gets the same initial weights as ``inception_v3_small()``'s.
    """
    model = inception_v3_small()
    in_channels = model.Mixed_6a.branch3x3.conv.in_channels
    model.Mixed_6a = PoolFirstReduction(in_channels, width=0.125)
    return model


@experiment(
    "v3_grid_reduction",
    notebook="04",
    config={"train_size": 8000, "epochs": 1, "lr": 0.1, "seeds": 5},
)
def v3_grid_reduction(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Small Inception-v3 with the Fig. 10 grid reduction vs pool-first (Fig. 9), equal MACs."""
    metrics = {}
    for arm, build in (("parallel", inception_v3_small), ("pool_first", v3_small_pool_first)):
        run = train_run(build, config, seed)
        metrics[f"val_acc_{arm}"] = run["val_acc"]
        metrics[f"train_loss_{arm}"] = run["train_loss"]
    return metrics


@experiment(
    "v3_vs_googlenet",
    notebook="04",
    config={
        "train_size": 8000,
        "epochs": 1,
        "lr": 0.1,
        # 0.15 instead of googlenet_small's 0.125: 7.60 M MACs, within 1 % of the v3's 7.55 M.
        "googlenet_width": 0.15,
        "seeds": 5,
    },
)
def v3_vs_googlenet(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Small Inception-v3 vs a small GoogLeNet of equal MACs, no aux heads, same recipe."""
    builds = {
        "v3": inception_v3_small,
        "googlenet": lambda: googlenet_small(width=config["googlenet_width"], aux_logits=False),
    }
    metrics = {}
    for arm, build in builds.items():
        run = train_run(build, config, seed)
        metrics[f"val_acc_{arm}"] = run["val_acc"]
        metrics[f"train_loss_{arm}"] = run["train_loss"]
        metrics[f"train_seconds_{arm}"] = run["train_seconds"]
    return metrics
