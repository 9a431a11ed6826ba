"""Inception-ResNet-v1 and -v2: Szegedy et al., "Inception-v4, Inception-ResNet and the Impact of
Residual Connections on Learning", arXiv 1602.07261, Figures 10–19.

Each residual block computes ``relu(x + scale · conv1x1(concat(branches)))``: the 1×1 convolution
brings the branches back to the input's width, and ``scale`` (0.1–0.3 in the paper, Sec. 3.3)
keeps the residual small so that wide networks do not "die" early in training. That 1×1
convolution has a bias and no BatchNorm, and the per-block scales are 0.17, 0.10 and 0.20: both
come from Google's released TF-slim code, not from the paper's text. The blocks take their branch
widths as arguments, so v1 and v2 share them.

Inception-ResNet-v2 follows timm's ``inception_resnet_v2`` (Google's released model) name by
name, so that timm's state dict loads with ``strict=True``. The released model differs from the
paper: its stem is Inception-v3's followed by a 35×35 Inception block
(``InceptionResNetV2StemBlock``, timm's ``mixed_5b``), giving 35×35×320 instead of Fig. 3's
35×35×384; it has 10/20/10 blocks instead of 5/10/5, the last block has no ReLU, and a 1×1 conv to
1536 channels comes before the pooling. Inception-ResNet-v1 exists in no library and follows the
paper's figures (Figs. 10–15, 35×35×256 → 17×17×896 → 8×8×1792), with timm's module names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from .basic import BasicConv2d, scaled
from .inception_v4 import REDUCTION_A, ReductionA
from .input_checks import IMAGENET_299_LIMITS, InputLimits
from .network import Network, check_depths, new_classifier
from .small_stem import SMALL_CONFIG, SmallStem, check_stem_type
from .torchvision_weights import check_no_weights

__all__ = [
    "InceptionResNetA",
    "InceptionResNetB",
    "InceptionResNetC",
    "InceptionResNetReductionB",
    "InceptionResNetV1",
    "InceptionResNetV2",
    "InceptionResNetV2StemBlock",
    "inception_resnet_v1",
    "inception_resnet_v1_small",
    "inception_resnet_v2",
    "inception_resnet_v2_small",
]

#: The released Inception-ResNet-v2's residual scales of the A, B and C blocks (TF-slim code; the
#: paper only says "between 0.1 and 0.3", Sec. 3.3).
RESIDUAL_SCALES = (0.17, 0.10, 0.20)


class InceptionResNetA(nn.Module):
    """Inception-ResNet-A, 35×35 (v1 Fig. 10, v2 Fig. 16); returns a map shaped like its input.

    Branch widths: ``branch0`` (1×1), ``branch1`` (1×1, 3×3), ``branch2`` (1×1, 3×3, 3×3). The
    defaults are v2's; v1 uses 32, (32, 32), (32, 32, 32).
    """

    def __init__(
        self,
        in_channels: int,
        branch0: int = 32,
        branch1: Sequence[int] = (32, 32),
        branch2: Sequence[int] = (32, 48, 64),
        scale: float = 0.17,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        c = partial(scaled, width=width)
        b0, (b1a, b1b), (b2a, b2b, b2c) = c(branch0), map(c, branch1), map(c, branch2)
        self.scale = scale
        self.branch0 = BasicConv2d(in_channels, b0, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, b1a, 1), BasicConv2d(b1a, b1b, 3, padding=1)
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, b2a, 1),
            BasicConv2d(b2a, b2b, 3, padding=1),
            BasicConv2d(b2b, b2c, 3, padding=1),
        )
        self.conv2d = nn.Conv2d(b0 + b1b + b2c, in_channels, 1)
        self.relu = nn.ReLU()
        self.out_channels = in_channels

    def forward(self, x: Tensor) -> Tensor:
        out = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)
        return self.relu(self.conv2d(out) * self.scale + x)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class InceptionResNetB(nn.Module):
    """Inception-ResNet-B, 17×17 (v1 Fig. 11, v2 Fig. 17); returns a map shaped like its input.

    Branch widths: ``branch0`` (1×1), ``branch1`` (1×1, 1×7, 7×1). Defaults are v2's; v1 uses 128,
    (128, 128, 128).
    """

    def __init__(
        self,
        in_channels: int,
        branch0: int = 192,
        branch1: Sequence[int] = (128, 160, 192),
        scale: float = 0.10,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        c = partial(scaled, width=width)
        b0, (b1a, b1b, b1c) = c(branch0), map(c, branch1)
        self.scale = scale
        self.branch0 = BasicConv2d(in_channels, b0, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, b1a, 1),
            BasicConv2d(b1a, b1b, (1, 7), padding=(0, 3)),
            BasicConv2d(b1b, b1c, (7, 1), padding=(3, 0)),
        )
        self.conv2d = nn.Conv2d(b0 + b1c, in_channels, 1)
        self.relu = nn.ReLU()
        self.out_channels = in_channels

    def forward(self, x: Tensor) -> Tensor:
        out = torch.cat([self.branch0(x), self.branch1(x)], 1)
        return self.relu(self.conv2d(out) * self.scale + x)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class InceptionResNetC(nn.Module):
    """Inception-ResNet-C, 8×8 (v1 Fig. 13, v2 Fig. 19); returns a map shaped like its input.

    Branch widths: ``branch0`` (1×1), ``branch1`` (1×1, 1×3, 3×1). Defaults are v2's; v1 uses 192,
    (192, 192, 192). ``activation=False`` drops the final ReLU (the last block of the released v2).
    """

    def __init__(
        self,
        in_channels: int,
        branch0: int = 192,
        branch1: Sequence[int] = (192, 224, 256),
        scale: float = 0.20,
        activation: bool = True,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        c = partial(scaled, width=width)
        b0, (b1a, b1b, b1c) = c(branch0), map(c, branch1)
        self.scale = scale
        self.branch0 = BasicConv2d(in_channels, b0, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, b1a, 1),
            BasicConv2d(b1a, b1b, (1, 3), padding=(0, 1)),
            BasicConv2d(b1b, b1c, (3, 1), padding=(1, 0)),
        )
        self.conv2d = nn.Conv2d(b0 + b1c, in_channels, 1)
        self.relu = nn.ReLU() if activation else nn.Identity()
        self.out_channels = in_channels

    def forward(self, x: Tensor) -> Tensor:
        out = torch.cat([self.branch0(x), self.branch1(x)], 1)
        return self.relu(self.conv2d(out) * self.scale + x)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class InceptionResNetReductionB(nn.Module):
    """Inception-ResNet Reduction-B, 17×17 → 8×8 (v1 Fig. 12, v2 Fig. 18); returns the concat.

    Branch widths: ``branch0`` (1×1, 3×3/2), ``branch1`` (1×1, 3×3/2), ``branch2`` (1×1, 3×3,
    3×3/2), then a 3×3/2 max-pool. Defaults are v2's; v1 uses (256, 384), (256, 256),
    (256, 256, 256). ``padding=1`` pads the stride-2 layers so that small grids halve exactly.
    """

    def __init__(
        self,
        in_channels: int,
        branch0: Sequence[int] = (256, 384),
        branch1: Sequence[int] = (256, 288),
        branch2: Sequence[int] = (256, 288, 320),
        width: float = 1.0,
        padding: int = 0,
    ) -> None:
        super().__init__()
        c = partial(scaled, width=width)
        (b0a, b0b), (b1a, b1b), (b2a, b2b, b2c) = map(c, branch0), map(c, branch1), map(c, branch2)
        self.branch0 = nn.Sequential(
            BasicConv2d(in_channels, b0a, 1), BasicConv2d(b0a, b0b, 3, stride=2, padding=padding)
        )
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, b1a, 1), BasicConv2d(b1a, b1b, 3, stride=2, padding=padding)
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, b2a, 1),
            BasicConv2d(b2a, b2b, 3, padding=1),
            BasicConv2d(b2b, b2c, 3, stride=2, padding=padding),
        )
        self.branch3 = nn.MaxPool2d(3, stride=2, padding=padding)
        self.out_channels = b0b + b1b + b2c + in_channels

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class InceptionResNetV2StemBlock(nn.Module):
    """End of the released Inception-ResNet-v2 stem, 35²×192 → 35²×320; returns the concat.

    A 35×35 Inception block (timm's ``mixed_5b``):
    1×1 ‖ 1×1 → 5×5 ‖ 1×1 → 3×3 → 3×3 ‖ avg-pool → 1×1.
    """

    def __init__(self, in_channels: int = 192, width: float = 1.0) -> None:
        super().__init__()
        c = partial(scaled, width=width)
        self.branch0 = BasicConv2d(in_channels, c(96), 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, c(48), 1), BasicConv2d(c(48), c(64), 5, padding=2)
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, c(64), 1),
            BasicConv2d(c(64), c(96), 3, padding=1),
            BasicConv2d(c(96), c(96), 3, padding=1),
        )
        # Like TensorFlow's "SAME" average pool, do not count the zero padding.
        self.branch3 = nn.Sequential(
            nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
            BasicConv2d(in_channels, c(64), 1),
        )
        self.out_channels = c(96) + c(64) + c(96) + c(64)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class _InceptionResNet(Network):
    """What Inception-ResNet-v1 and -v2 share: timm's head, input limits, Inception-v3's stem."""

    head_layers = ("global_pool", "head_drop", "classif")  # timm's names

    @property
    def input_limits(self) -> InputLimits:
        """Return the smallest input sizes this configuration accepts."""
        return IMAGENET_299_LIMITS[self.stem_type]

    def _add_v3_stem(self, in_channels: int, c: Callable[[int], int]) -> None:
        """Register Inception-v3's stem up to its 192-channel 3×3 conv (v1 Fig. 14 begins so)."""
        self.conv2d_1a = BasicConv2d(in_channels, c(32), 3, stride=2)
        self.conv2d_2a = BasicConv2d(c(32), c(32), 3)
        self.conv2d_2b = BasicConv2d(c(32), c(64), 3, padding=1)
        self.maxpool_3a = nn.MaxPool2d(3, stride=2)
        self.conv2d_3b = BasicConv2d(c(64), c(80), 1)
        self.conv2d_4a = BasicConv2d(c(80), c(192), 3)

    def _v3_stem(self, x: Tensor) -> Tensor:
        x = self.conv2d_2b(self.conv2d_2a(self.conv2d_1a(x)))
        return self.conv2d_4a(self.conv2d_3b(self.maxpool_3a(x)))


class InceptionResNetV1(_InceptionResNet):
    """Inception-ResNet-v1 (Fig. 15 with the stem of Fig. 14); returns logits.

    ``depths`` sets the number of A, B and C blocks (paper: 5, 10, 5); ``residual_scales`` their
    residual scales (the paper only says 0.1–0.3; we use the released v2's values). ``width`` scales
    every channel count; ``stem_type="small"`` replaces the stem (299 → 35×35) by a light 3×3 stem
    for 28×28 images (→ 14×14) and pads the reductions (14 → 7 → 4).
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        width: float = 1.0,
        depths: tuple[int, int, int] = (5, 10, 5),
        residual_scales: tuple[float, float, float] = RESIDUAL_SCALES,
        stem_type: str = "imagenet",
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        check_stem_type(stem_type)
        n_a, n_b, n_c = check_depths(depths, None, "InceptionResNetV1")
        scale_a, scale_b, scale_c = residual_scales
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.stem_type = stem_type
        pad = 1 if stem_type == "small" else 0
        c = partial(scaled, width=width)
        if stem_type == "small":
            self.small_stem = SmallStem(in_channels, c(64), c(256))
        else:  # Fig. 14
            self._add_v3_stem(in_channels, c)
            self.conv2d_4b = BasicConv2d(c(192), c(256), 3, stride=2)
        channels = c(256)
        block_a = partial(InceptionResNetA, channels, 32, (32, 32), (32, 32, 32), scale_a, width)
        self.repeat = nn.Sequential(*[block_a() for _ in range(n_a)])
        self.mixed_6a = ReductionA(
            channels, *REDUCTION_A["inception_resnet_v1"], width=width, padding=pad
        )
        channels = self.mixed_6a.out_channels
        block_b = partial(InceptionResNetB, channels, 128, (128, 128, 128), scale_b, width)
        self.repeat_1 = nn.Sequential(*[block_b() for _ in range(n_b)])
        self.mixed_7a = InceptionResNetReductionB(
            channels, (256, 384), (256, 256), (256, 256, 256), width=width, padding=pad
        )
        channels = self.mixed_7a.out_channels
        block_c = partial(InceptionResNetC, channels, 192, (192, 192, 192), scale_c, width=width)
        self.repeat_2 = nn.Sequential(*[block_c() for _ in range(n_c)])
        self.num_features = channels
        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.head_drop = nn.Dropout(dropout)
        self.classif = new_classifier(channels, num_classes)

    def trunk(self, x: Tensor) -> Tensor:
        x = self._stem(x)
        x = self.repeat(x)  # 35×35
        x = self.mixed_6a(x)
        x = self.repeat_1(x)  # 17×17
        x = self.mixed_7a(x)
        return self.repeat_2(x)  # 8×8

    def _stem(self, x: Tensor) -> Tensor:
        if self.stem_type == "small":
            return self.small_stem(x)
        return self.conv2d_4b(self._v3_stem(x))


class InceptionResNetV2(_InceptionResNet):
    """Inception-ResNet-v2 as released by Google (timm's ``inception_resnet_v2``); returns logits.

    ``depths`` sets the number of A, B and C blocks (released: 10, 20, 10, the last C block without
    ReLU and scale 1); ``residual_scales`` their residual scales. ``width`` scales every channel
    count; ``stem_type="small"`` replaces the stem (299 → 35×35) by a light 3×3 stem for 28×28
    images (→ 14×14) and pads the reductions (14 → 7 → 4).
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        width: float = 1.0,
        depths: tuple[int, int, int] = (10, 20, 10),
        residual_scales: tuple[float, float, float] = RESIDUAL_SCALES,
        stem_type: str = "imagenet",
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        check_stem_type(stem_type)
        n_a, n_b, n_c = check_depths(depths, None, "InceptionResNetV2")
        scale_a, scale_b, scale_c = residual_scales
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.stem_type = stem_type
        pad = 1 if stem_type == "small" else 0
        c = partial(scaled, width=width)
        if stem_type == "small":
            self.small_stem = SmallStem(in_channels, c(64), c(192))
        else:  # Inception-v3's stem
            self._add_v3_stem(in_channels, c)
            self.maxpool_5a = nn.MaxPool2d(3, stride=2)
        self.mixed_5b = InceptionResNetV2StemBlock(c(192), width)
        channels = self.mixed_5b.out_channels
        self.repeat = nn.Sequential(
            *[InceptionResNetA(channels, scale=scale_a, width=width) for _ in range(n_a)]
        )
        self.mixed_6a = ReductionA(
            channels, *REDUCTION_A["inception_resnet_v2"], width=width, padding=pad
        )
        channels = self.mixed_6a.out_channels
        self.repeat_1 = nn.Sequential(
            *[InceptionResNetB(channels, scale=scale_b, width=width) for _ in range(n_b)]
        )
        self.mixed_7a = InceptionResNetReductionB(channels, width=width, padding=pad)
        channels = self.mixed_7a.out_channels
        # The last of the n_c C blocks is ``block8``: scale 1, no ReLU (the released model).
        self.repeat_2 = nn.Sequential(
            *[InceptionResNetC(channels, scale=scale_c, width=width) for _ in range(n_c - 1)]
        )
        self.block8 = InceptionResNetC(channels, scale=1.0, activation=False, width=width)
        self.conv2d_7b = BasicConv2d(channels, c(1536), 1)
        self.num_features = c(1536)
        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.head_drop = nn.Dropout(dropout)
        self.classif = new_classifier(self.num_features, num_classes)
        # Weights keep PyTorch's default initialisation, as timm's; same seed, same weights.

    def trunk(self, x: Tensor) -> Tensor:
        x = self._stem(x)
        x = self.mixed_5b(x)
        x = self.repeat(x)  # 35×35
        x = self.mixed_6a(x)
        x = self.repeat_1(x)  # 17×17
        x = self.mixed_7a(x)
        x = self.repeat_2(x)  # 8×8
        return self.conv2d_7b(self.block8(x))

    def _stem(self, x: Tensor) -> Tensor:
        if self.stem_type == "small":
            return self.small_stem(x)
        return self.maxpool_5a(self._v3_stem(x))


def inception_resnet_v1(*, weights: None = None, **kwargs: Any) -> InceptionResNetV1:
    """Return Inception-ResNet-v1 for 3×299×299 images; keyword arguments go to the class."""
    check_no_weights(weights, "inception_resnet_v1")
    return InceptionResNetV1(**kwargs)


def inception_resnet_v1_small(*, weights: None = None, **kwargs: Any) -> InceptionResNetV1:
    """Return a small Inception-ResNet-v1 for 1×28×28 images, 10 classes."""
    check_no_weights(weights, "inception_resnet_v1_small")
    return InceptionResNetV1(**{**SMALL_CONFIG, "depths": (1, 2, 1), **kwargs})


def inception_resnet_v2(*, weights: None = None, **kwargs: Any) -> InceptionResNetV2:
    """Return Inception-ResNet-v2 for 3×299×299 images; keyword arguments go to the class."""
    check_no_weights(weights, "inception_resnet_v2")
    return InceptionResNetV2(**kwargs)


def inception_resnet_v2_small(*, weights: None = None, **kwargs: Any) -> InceptionResNetV2:
    """Return a small Inception-ResNet-v2 for 1×28×28 images, 10 classes."""
    check_no_weights(weights, "inception_resnet_v2_small")
    return InceptionResNetV2(**{**SMALL_CONFIG, "depths": (1, 2, 1), **kwargs})
