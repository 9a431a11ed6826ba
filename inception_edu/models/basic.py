"""The conv → BatchNorm → ReLU unit every Inception network is built from, and the width rule.

``BasicConv2d`` keeps torchvision's attribute names (``conv``, ``bn``) so that torchvision's and
timm's state dicts load unchanged, and adds the activation as its own ``relu`` module (not in-place,
not ``F.relu``) so that hooks (Captum, feature visualisation) see every activation.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["BasicConv2d", "scaled"]


class BasicConv2d(nn.Module):
    """Conv2d → BatchNorm2d(eps=0.001) → ReLU; returns the activated feature map."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        # BatchNorm's shift makes a conv bias redundant; without BatchNorm the conv needs its own.
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            bias=not batch_norm,
        )
        # eps=0.001 is TensorFlow's default, the value Google's released weights were trained with.
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001) if batch_norm else nn.Identity()
        self.relu = nn.ReLU()
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))


def scaled(channels: int, width: float) -> int:
    """Return ``channels × width`` rounded to a multiple of 8 (at least 8).

    Every channel count in the three papers is a multiple of 8, so ``width=1`` changes nothing;
    multiples of 8 keep the small configurations fast, and the floor of 8 avoids 1-channel
    branches.
    """
    return max(8, int(channels * width / 8 + 0.5) * 8)
