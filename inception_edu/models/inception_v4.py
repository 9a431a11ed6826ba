"""Inception-v4: Szegedy et al., "Inception-v4, Inception-ResNet and the Impact of Residual
Connections on Learning", arXiv 1602.07261, Figures 3–9.

Module names follow timm's ``inception_v4`` (a flat ``features`` sequence, then ``global_pool``,
``head_drop``, ``last_linear``), so that timm's state dict loads with ``strict=True``. Like timm
(and TensorFlow), the average pools in the A/B/C blocks do not count the zero padding.

``ReductionA`` is shared with the Inception-ResNet networks: the paper gives its four widths
k, l, m, n per network in Table 1 (``REDUCTION_A``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from .basic import BasicConv2d, scaled
from .input_checks import IMAGENET_299_LIMITS, InputLimits
from .network import Network, check_depths, new_classifier
from .small_stem import SMALL_CONFIG, SmallStem, check_stem_type
from .torchvision_weights import check_no_weights

__all__ = [
    "REDUCTION_A",
    "InceptionV4",
    "InceptionV4A",
    "InceptionV4B",
    "InceptionV4C",
    "InceptionV4Stem",
    "ReductionA",
    "InceptionV4ReductionB",
    "inception_v4",
    "inception_v4_small",
]

#: The paper's Table 1: the widths (k, l, m, n) of Reduction-A in each network.
REDUCTION_A: dict[str, tuple[int, int, int, int]] = {
    "inception_v4": (192, 224, 256, 384),
    "inception_resnet_v1": (192, 192, 256, 384),
    "inception_resnet_v2": (256, 256, 384, 384),
}


def _avg_pool() -> nn.AvgPool2d:
    # TensorFlow's "SAME" average pool divides by the number of real pixels, not counting padding.
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class _Mixed3a(nn.Module):
    """Stem, Fig. 3, first filter concat: 3×3/2 max-pool ‖ 3×3/2 conv 96; returns the concat."""

    def __init__(self, in_channels: int, width: float = 1.0) -> None:
        super().__init__()
        c = partial(scaled, width=width)
        self.maxpool = nn.MaxPool2d(3, stride=2)
        self.conv = BasicConv2d(in_channels, c(96), 3, stride=2)
        self.out_channels = in_channels + c(96)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.maxpool(x), self.conv(x)], 1)


class _Mixed4a(nn.Module):
    """Stem, Fig. 3, second filter concat: two branches ending in 3×3 convs; returns the concat."""

    def __init__(self, in_channels: int, width: float = 1.0) -> None:
        super().__init__()
        c = partial(scaled, width=width)

        self.branch0 = nn.Sequential(
            BasicConv2d(in_channels, c(64), 1), BasicConv2d(c(64), c(96), 3)
        )
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, c(64), 1),
            BasicConv2d(c(64), c(64), (1, 7), padding=(0, 3)),
            BasicConv2d(c(64), c(64), (7, 1), padding=(3, 0)),
            BasicConv2d(c(64), c(96), 3),
        )
        self.out_channels = 2 * c(96)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch0(x), self.branch1(x)], 1)


class _Mixed5a(nn.Module):
    """Stem, Fig. 3, third filter concat: 3×3/2 conv 192 ‖ 3×3/2 max-pool; returns the concat."""

    def __init__(self, in_channels: int, width: float = 1.0) -> None:
        super().__init__()
        c = partial(scaled, width=width)
        self.conv = BasicConv2d(in_channels, c(192), 3, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2)
        self.out_channels = c(192) + in_channels

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.conv(x), self.maxpool(x)], 1)


class InceptionV4Stem(nn.Sequential):
    """The Inception-v4 stem (Fig. 3); returns 35×35×384 from 299×299×3."""

    def __init__(self, in_channels: int = 3, width: float = 1.0) -> None:
        c = partial(scaled, width=width)
        # Built in forward order: the random initialisation then matches timm's for the same seed.
        layers: list[nn.Module] = [
            BasicConv2d(in_channels, c(32), 3, stride=2),
            BasicConv2d(c(32), c(32), 3),
            BasicConv2d(c(32), c(64), 3, padding=1),
        ]
        layers.append(_Mixed3a(c(64), width))
        layers.append(_Mixed4a(layers[-1].out_channels, width))
        layers.append(_Mixed5a(layers[-1].out_channels, width))
        super().__init__(*layers)
        self.out_channels = layers[-1].out_channels


class InceptionV4A(nn.Module):
    """Inception-A, the 35×35 block (Fig. 4); returns the 4 branches concatenated."""

    def __init__(self, in_channels: int = 384, width: float = 1.0) -> None:
        super().__init__()
        c = partial(scaled, width=width)

        self.branch0 = BasicConv2d(in_channels, c(96), 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, c(64), 1), BasicConv2d(c(64), c(96), 3, padding=1)
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, c(64), 1),
            BasicConv2d(c(64), c(96), 3, padding=1),
            BasicConv2d(c(96), c(96), 3, padding=1),
        )
        self.branch3 = nn.Sequential(_avg_pool(), BasicConv2d(in_channels, c(96), 1))
        self.out_channels = 4 * c(96)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class ReductionA(nn.Module):
    """Reduction-A, 35×35 → 17×17 (Fig. 7), widths k, l, m, n of Table 1; returns the concat.

    ``padding=1`` pads the stride-2 layers ("same" padding) so that small grids halve exactly.
    """

    def __init__(
        self, in_channels: int, k: int, l: int, m: int, n: int, width: float = 1.0, padding: int = 0
    ) -> None:
        super().__init__()
        k, l, m, n = map(partial(scaled, width=width), (k, l, m, n))
        self.branch0 = BasicConv2d(in_channels, n, 3, stride=2, padding=padding)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, k, 1),
            BasicConv2d(k, l, 3, padding=1),
            BasicConv2d(l, m, 3, stride=2, padding=padding),
        )
        self.branch2 = nn.MaxPool2d(3, stride=2, padding=padding)
        self.out_channels = n + m + in_channels

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)


class InceptionV4B(nn.Module):
    """Inception-B, the 17×17 block (Fig. 5, 1×7 and 7×1 convs); returns the concatenation."""

    def __init__(self, in_channels: int = 1024, width: float = 1.0) -> None:
        super().__init__()
        c = partial(scaled, width=width)

        self.branch0 = BasicConv2d(in_channels, c(384), 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, c(192), 1),
            BasicConv2d(c(192), c(224), (1, 7), padding=(0, 3)),
            BasicConv2d(c(224), c(256), (7, 1), padding=(3, 0)),
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, c(192), 1),
            BasicConv2d(c(192), c(192), (7, 1), padding=(3, 0)),
            BasicConv2d(c(192), c(224), (1, 7), padding=(0, 3)),
            BasicConv2d(c(224), c(224), (7, 1), padding=(3, 0)),
            BasicConv2d(c(224), c(256), (1, 7), padding=(0, 3)),
        )
        self.branch3 = nn.Sequential(_avg_pool(), BasicConv2d(in_channels, c(128), 1))
        self.out_channels = c(384) + 2 * c(256) + c(128)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class InceptionV4ReductionB(nn.Module):
    """Reduction-B of Inception-v4, 17×17 → 8×8 (Fig. 8); returns the concatenation."""

    def __init__(self, in_channels: int = 1024, width: float = 1.0, padding: int = 0) -> None:
        super().__init__()
        c = partial(scaled, width=width)

        self.branch0 = nn.Sequential(
            BasicConv2d(in_channels, c(192), 1),
            BasicConv2d(c(192), c(192), 3, stride=2, padding=padding),
        )
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, c(256), 1),
            BasicConv2d(c(256), c(256), (1, 7), padding=(0, 3)),
            BasicConv2d(c(256), c(320), (7, 1), padding=(3, 0)),
            BasicConv2d(c(320), c(320), 3, stride=2, padding=padding),
        )
        self.branch2 = nn.MaxPool2d(3, stride=2, padding=padding)
        self.out_channels = c(192) + c(320) + in_channels

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)


class InceptionV4C(nn.Module):
    """Inception-C, the 8×8 block (Fig. 6, 1×3 and 3×1 side by side); returns the concatenation."""

    def __init__(self, in_channels: int = 1536, width: float = 1.0) -> None:
        super().__init__()
        c = partial(scaled, width=width)

        self.branch0 = BasicConv2d(in_channels, c(256), 1)

        self.branch1_0 = BasicConv2d(in_channels, c(384), 1)
        self.branch1_1a = BasicConv2d(c(384), c(256), (1, 3), padding=(0, 1))
        self.branch1_1b = BasicConv2d(c(384), c(256), (3, 1), padding=(1, 0))

        self.branch2_0 = BasicConv2d(in_channels, c(384), 1)
        self.branch2_1 = BasicConv2d(c(384), c(448), (3, 1), padding=(1, 0))
        self.branch2_2 = BasicConv2d(c(448), c(512), (1, 3), padding=(0, 1))
        self.branch2_3a = BasicConv2d(c(512), c(256), (1, 3), padding=(0, 1))
        self.branch2_3b = BasicConv2d(c(512), c(256), (3, 1), padding=(1, 0))

        self.branch3 = nn.Sequential(_avg_pool(), BasicConv2d(in_channels, c(256), 1))
        self.out_channels = 6 * c(256)

    def forward(self, x: Tensor) -> Tensor:
        x1 = self.branch1_0(x)
        x1 = torch.cat([self.branch1_1a(x1), self.branch1_1b(x1)], 1)
        x2 = self.branch2_2(self.branch2_1(self.branch2_0(x)))
        x2 = torch.cat([self.branch2_3a(x2), self.branch2_3b(x2)], 1)
        return torch.cat([self.branch0(x), x1, x2, self.branch3(x)], 1)


class InceptionV4(Network):
    """Inception-v4 (Fig. 9): stem, 4× A, Reduction-A, 7× B, Reduction-B, 3× C; returns logits.

    ``depths`` sets the number of A, B and C blocks; ``width`` scales every channel count;
    ``stem_type="small"`` replaces the stem (299 → 35×35) by a light 3×3 stem for 28×28 images
    (→ 14×14) and pads the reductions (14 → 7 → 4).
    """

    head_layers = ("global_pool", "head_drop", "last_linear")  # timm's names

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        width: float = 1.0,
        depths: tuple[int, int, int] = (4, 7, 3),
        stem_type: str = "imagenet",
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        check_stem_type(stem_type)
        n_a, n_b, n_c = check_depths(depths, None, "InceptionV4")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.stem_type = stem_type
        pad = 1 if stem_type == "small" else 0
        c = partial(scaled, width=width)
        if stem_type == "small":
            layers: list[nn.Module] = [SmallStem(in_channels, c(64), c(384))]
        else:
            # The stem's six parts go straight into ``features`` (not nested) to keep timm's names.
            layers = list(InceptionV4Stem(in_channels, width))
        channels = layers[-1].out_channels
        for _ in range(n_a):
            layers.append(InceptionV4A(channels, width))
            channels = layers[-1].out_channels
        layers.append(ReductionA(channels, *REDUCTION_A["inception_v4"], width=width, padding=pad))
        channels = layers[-1].out_channels
        for _ in range(n_b):
            layers.append(InceptionV4B(channels, width))
            channels = layers[-1].out_channels
        layers.append(InceptionV4ReductionB(channels, width, padding=pad))
        channels = layers[-1].out_channels
        for _ in range(n_c):
            layers.append(InceptionV4C(channels, width))
            channels = layers[-1].out_channels
        self.features = nn.Sequential(*layers)
        self.num_features = channels

        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.head_drop = nn.Dropout(dropout)
        self.last_linear = new_classifier(channels, num_classes)
        # Weights keep PyTorch's default initialisation, as timm's; same seed, same weights.

    @property
    def input_limits(self) -> InputLimits:
        """Return the smallest input sizes this configuration accepts."""
        return IMAGENET_299_LIMITS[self.stem_type]

    def trunk(self, x: Tensor) -> Tensor:
        return self.features(x)


def inception_v4(*, weights: None = None, **kwargs: Any) -> InceptionV4:
    """Return Inception-v4 for 3×299×299 images; keyword arguments go to ``InceptionV4``."""
    check_no_weights(weights, "inception_v4")
    return InceptionV4(**kwargs)


def inception_v4_small(*, weights: None = None, **kwargs: Any) -> InceptionV4:
    """Return a small Inception-v4 for 1×28×28 images, 10 classes (fewer, narrower blocks)."""
    check_no_weights(weights, "inception_v4_small")
    return InceptionV4(**{**SMALL_CONFIG, "depths": (1, 2, 1), **kwargs})
