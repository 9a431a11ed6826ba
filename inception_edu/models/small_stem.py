"""The light stem that replaces the ImageNet stem in the small (1×28×28) configurations.

The ImageNet stems spend their layers shrinking 224 or 299 pixels to a 28×28 or 35×35 grid. A
Fashion-MNIST image is already 28×28, so two 3×3 convolutions and one pooling step are enough to
reach the 14×14 grid on which the small configurations run their first Inception stage.
"""

from __future__ import annotations

from torch import Tensor, nn

from .basic import BasicConv2d

__all__ = ["SMALL_CONFIG", "STEM_TYPES", "SmallStem", "check_stem_type"]


class SmallStem(nn.Module):
    """3×3 conv → 2×2 max-pool → 3×3 conv; returns a map at half the input size (28 → 14)."""

    def __init__(
        self, in_channels: int, mid_channels: int, out_channels: int, batch_norm: bool = True
    ) -> None:
        super().__init__()
        self.conv1 = BasicConv2d(in_channels, mid_channels, 3, padding=1, batch_norm=batch_norm)
        self.pool = nn.MaxPool2d(2, stride=2)
        self.conv2 = BasicConv2d(mid_channels, out_channels, 3, padding=1, batch_norm=batch_norm)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(self.pool(self.conv1(x)))


#: What every small configuration (1×28×28 images, 10 classes, channel counts ⅛ of the paper's,
#: rounded by ``scaled``) shares; each network's ``*_small`` adds its own depths or dropout.
SMALL_CONFIG = {"num_classes": 10, "in_channels": 1, "width": 0.125, "stem_type": "small"}

#: Accepted values of the networks' ``stem_type`` argument.
STEM_TYPES = ("imagenet", "small")


def check_stem_type(stem_type: str) -> None:
    """Raise a ValueError listing the valid stem types if ``stem_type`` is not one; else None."""
    if stem_type not in STEM_TYPES:
        raise ValueError(
            f"unknown stem_type {stem_type!r}; valid stem types are "
            f"{', '.join(map(repr, STEM_TYPES))}"
        )
