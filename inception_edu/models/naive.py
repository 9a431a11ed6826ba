"""The naive Inception module (GoogLeNet paper, Fig. 2a) and a small network built from it.

The naive module runs 1×1, 3×3 and 5×5 convolutions and a 3×3 max-pool side by side on the same
input and concatenates them. Two problems motivate the 1×1 reductions of the real module (Fig. 2b,
``googlenet.Inception``): the 5×5 convolution on the full input width is expensive, and the pool
branch passes all input channels through, so the width grows from module to module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from .basic import BasicConv2d
from .input_checks import InputLimits
from .network import Network, new_classifier
from .torchvision_weights import check_no_weights

__all__ = ["NaiveInception", "NaiveInceptionNet", "naive_small"]

# Proven tight by the tests: two 2×2 pools need 4 px; a batch of one in train mode needs the second
# module's map to be at least 2×2, i.e. 8 px.
_LIMITS = InputLimits(min_size=4, min_size_train=4, min_size_batch_one=8)


class NaiveInception(nn.Module):
    """The naive Inception module (Fig. 2a): 1×1 ‖ 3×3 ‖ 5×5 ‖ 3×3 max-pool; returns the concat."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch2 = BasicConv2d(in_channels, ch3x3, 3, padding=1)
        self.branch3 = BasicConv2d(in_channels, ch5x5, 5, padding=2)
        self.branch4 = nn.MaxPool2d(3, stride=1, padding=1)
        # The pool branch keeps every input channel: the output is wider than the three convs.
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class NaiveInceptionNet(Network):
    """3×3 stem, then one naive module per grid (14×14, 7×7 for 28×28 images); returns logits.

    ``blocks`` lists (ch1x1, ch3x3, ch5x5) per module; a 2×2 max-pool precedes each module.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        stem_channels: int = 32,
        blocks: Sequence[tuple[int, int, int]] = ((16, 32, 16), (32, 64, 32)),
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.stem = BasicConv2d(in_channels, stem_channels, 3, padding=1)
        layers: list[nn.Module] = []
        channels = stem_channels
        for widths in blocks:
            layers += [nn.MaxPool2d(2, stride=2), NaiveInception(channels, *widths)]
            channels = layers[-1].out_channels
        self.blocks = nn.Sequential(*layers)
        self.num_features = channels
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = new_classifier(channels, num_classes)

    @property
    def input_limits(self) -> InputLimits:
        """Return the smallest input sizes this network accepts (for the default two blocks)."""
        return _LIMITS

    def trunk(self, x: Tensor) -> Tensor:
        return self.blocks(self.stem(x))


def naive_small(*, weights: None = None, **kwargs: Any) -> NaiveInceptionNet:
    """Return the naive multi-branch network for 1×28×28 images and 10 classes."""
    check_no_weights(weights, "naive_small")
    return NaiveInceptionNet(**kwargs)
