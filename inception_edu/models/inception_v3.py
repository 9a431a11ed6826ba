"""Inception-v3: Szegedy et al., "Rethinking the Inception Architecture for Computer Vision",
arXiv 1512.00567.

Blocks and module names follow torchvision (``Mixed_5b`` … ``Mixed_7c``, ``AuxLogits``), which
follows Google's released model, so that ``InceptionV3`` loads torchvision's state dict with
``strict=True``. Where the paper's figures and the released model differ, the released model wins
(e.g. the 35×35 block keeps a 5×5 branch next to the two stacked 3×3s of Fig. 5).

=====================  ===============  =============================================  ===========
block                  grid             paper                                          torchvision
=====================  ===============  =============================================  ===========
InceptionV3A           35×35            Fig. 5, 5×5 factorised into two 3×3            InceptionA
InceptionV3ReductionA  35×35 → 17×17    Fig. 10, grid reduction with parallel stride 2  InceptionB
InceptionV3B           17×17            Fig. 6, n×n factorised into 1×n and n×1 (n=7)  InceptionC
InceptionV3ReductionB  17×17 → 8×8      grid reduction                                 InceptionD
InceptionV3C           8×8              Fig. 7, expanded filter bank outputs           InceptionE
InceptionV3Aux         on 17×17         Sec. 4, auxiliary classifier                   InceptionAux
=====================  ===============  =============================================  ===========

The names A/B/C (blocks on the 35×35, 17×17 and 8×8 grids) and Reduction-A/B are the ones the
Inception-v4 paper gives its own blocks on the same grids; torchvision numbers the five in order.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import Tensor, nn
from torchvision.models.inception import InceptionOutputs

from .basic import BasicConv2d, scaled
from .input_checks import InputLimits, check_input
from .network import Network, check_depths, new_classifier
from .small_stem import SMALL_CONFIG, SmallStem, check_stem_type
from .torchvision_weights import (
    check_no_weights,
    check_transform_input,
    check_weights_args,
    load_torchvision_weights,
    transform_input,
)

__all__ = [
    "InceptionOutputs",
    "InceptionV3",
    "InceptionV3A",
    "InceptionV3Aux",
    "InceptionV3B",
    "InceptionV3C",
    "InceptionV3ReductionA",
    "InceptionV3ReductionB",
    "inception_v3",
    "inception_v3_small",
]

#: The released model's modules on each grid, named as in torchvision, with the width argument that
#: varies between them (``pool_features`` at 35×35, ``channels_7x7`` at 17×17).
BLOCKS_35 = (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64))
BLOCKS_17 = (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192))
BLOCKS_8 = ("Mixed_7b", "Mixed_7c")

# Stated per stem and aux setting, proven tight by the tests. ImageNet stem: 75 px leave a 1×1 map
# after Mixed_7a; the aux head's 5×5 conv needs a 17×17 Mixed_6e map, i.e. 299 px; its BatchNorm
# sees a 1×1 map below 347 px, the main path's last BatchNorm below 107 px.
_AUX_CONV = "the auxiliary head's last convolution"
_LIMITS = {
    ("imagenet", True): InputLimits(
        min_size=75, min_size_train=299, min_size_batch_one=347, batch_one_where=_AUX_CONV
    ),
    ("imagenet", False): InputLimits(min_size=75, min_size_train=75, min_size_batch_one=107),
    ("small", True): InputLimits(
        min_size=2, min_size_train=2, min_size_batch_one=None, batch_one_where=_AUX_CONV
    ),
    ("small", False): InputLimits(min_size=2, min_size_train=2, min_size_batch_one=10),
}


class InceptionV3A(nn.Module):
    """The 35×35 module (Fig. 5: 5×5 factorised into two 3×3); returns its branches concatenated."""

    def __init__(self, in_channels: int, pool_features: int, width: float = 1.0) -> None:
        super().__init__()
        c = partial(scaled, width=width)

        self.branch1x1 = BasicConv2d(in_channels, c(64), 1)

        self.branch5x5_1 = BasicConv2d(in_channels, c(48), 1)
        self.branch5x5_2 = BasicConv2d(c(48), c(64), 5, padding=2)

        self.branch3x3dbl_1 = BasicConv2d(in_channels, c(64), 1)
        self.branch3x3dbl_2 = BasicConv2d(c(64), c(96), 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(c(96), c(96), 3, padding=1)

        self.pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, c(pool_features), 1)
        self.out_channels = c(64) + c(64) + c(96) + c(pool_features)

    def forward(self, x: Tensor) -> Tensor:
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(self.pool(x))
        return torch.cat([branch1x1, branch5x5, branch3x3dbl, branch_pool], 1)


class InceptionV3ReductionA(nn.Module):
    """Grid reduction 35×35 → 17×17 (Fig. 10: stride-2 convs beside a pool); returns the concat.

    ``padding=1`` pads the stride-2 layers ("same" padding) so that small grids halve exactly.
    """

    def __init__(self, in_channels: int, width: float = 1.0, padding: int = 0) -> None:
        super().__init__()
        c = partial(scaled, width=width)

        self.branch3x3 = BasicConv2d(in_channels, c(384), 3, stride=2, padding=padding)

        self.branch3x3dbl_1 = BasicConv2d(in_channels, c(64), 1)
        self.branch3x3dbl_2 = BasicConv2d(c(64), c(96), 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(c(96), c(96), 3, stride=2, padding=padding)

        self.pool = nn.MaxPool2d(3, stride=2, padding=padding)
        self.out_channels = c(384) + c(96) + in_channels

    def forward(self, x: Tensor) -> Tensor:
        branch3x3 = self.branch3x3(x)
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([branch3x3, branch3x3dbl, self.pool(x)], 1)


class InceptionV3B(nn.Module):
    """The 17×17 module (Fig. 6: n×n factorised into 1×n and n×1); returns the concat.

    ``channels_7x7`` is the width inside the factorised branches; ``n`` the kernel length (the paper
    uses n=7 on the 17×17 grid; the attribute names keep torchvision's "7x7" for any n).
    """

    def __init__(self, in_channels: int, channels_7x7: int, width: float = 1.0, n: int = 7) -> None:
        super().__init__()
        c = partial(scaled, width=width)

        c7, row, col = c(channels_7x7), ((1, n), (0, n // 2)), ((n, 1), (n // 2, 0))
        self.branch1x1 = BasicConv2d(in_channels, c(192), 1)

        self.branch7x7_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, row[0], padding=row[1])
        self.branch7x7_3 = BasicConv2d(c7, c(192), col[0], padding=col[1])

        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, col[0], padding=col[1])
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, row[0], padding=row[1])
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, col[0], padding=col[1])
        self.branch7x7dbl_5 = BasicConv2d(c7, c(192), row[0], padding=row[1])

        self.pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, c(192), 1)
        self.out_channels = 4 * c(192)

    def forward(self, x: Tensor) -> Tensor:
        branch1x1 = self.branch1x1(x)
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = self.branch7x7dbl_1(x)
        branch7x7dbl = self.branch7x7dbl_3(self.branch7x7dbl_2(branch7x7dbl))
        branch7x7dbl = self.branch7x7dbl_5(self.branch7x7dbl_4(branch7x7dbl))
        branch_pool = self.branch_pool(self.pool(x))
        return torch.cat([branch1x1, branch7x7, branch7x7dbl, branch_pool], 1)


class InceptionV3ReductionB(nn.Module):
    """Grid reduction 17×17 → 8×8; returns the stride-2 branches and the pool concatenated."""

    def __init__(self, in_channels: int, width: float = 1.0, padding: int = 0) -> None:
        super().__init__()
        c = partial(scaled, width=width)

        self.branch3x3_1 = BasicConv2d(in_channels, c(192), 1)
        self.branch3x3_2 = BasicConv2d(c(192), c(320), 3, stride=2, padding=padding)

        self.branch7x7x3_1 = BasicConv2d(in_channels, c(192), 1)
        self.branch7x7x3_2 = BasicConv2d(c(192), c(192), (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(c(192), c(192), (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(c(192), c(192), 3, stride=2, padding=padding)

        self.pool = nn.MaxPool2d(3, stride=2, padding=padding)
        self.out_channels = c(320) + c(192) + in_channels

    def forward(self, x: Tensor) -> Tensor:
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = self.branch7x7x3_2(self.branch7x7x3_1(x))
        branch7x7x3 = self.branch7x7x3_4(self.branch7x7x3_3(branch7x7x3))
        return torch.cat([branch3x3, branch7x7x3, self.pool(x)], 1)


class InceptionV3C(nn.Module):
    """The 8×8 module (Fig. 7: expanded filter bank, 1×3 ‖ 3×1); returns the concat."""

    def __init__(self, in_channels: int, width: float = 1.0) -> None:
        super().__init__()
        c = partial(scaled, width=width)

        self.branch1x1 = BasicConv2d(in_channels, c(320), 1)

        self.branch3x3_1 = BasicConv2d(in_channels, c(384), 1)
        self.branch3x3_2a = BasicConv2d(c(384), c(384), (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(c(384), c(384), (3, 1), padding=(1, 0))

        self.branch3x3dbl_1 = BasicConv2d(in_channels, c(448), 1)
        self.branch3x3dbl_2 = BasicConv2d(c(448), c(384), 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(c(384), c(384), (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(c(384), c(384), (3, 1), padding=(1, 0))

        self.pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, c(192), 1)
        self.out_channels = c(320) + 4 * c(384) + c(192)

    def forward(self, x: Tensor) -> Tensor:
        branch1x1 = self.branch1x1(x)
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat(
            [self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1
        )
        branch_pool = self.branch_pool(self.pool(x))
        return torch.cat([branch1x1, branch3x3, branch3x3dbl, branch_pool], 1)


class InceptionV3Aux(nn.Module):
    """The auxiliary classifier on the 17×17 grid (Sec. 4); returns class logits.

    The ImageNet head pools 5×5 with stride 3 (17×17 → 5×5) before a 5×5 conv, so it needs a 17×17
    map; ``adaptive=True`` pools to 5×5 from any grid, for the small configurations.
    """

    def __init__(
        self, in_channels: int, num_classes: int, width: float = 1.0, adaptive: bool = False
    ) -> None:
        super().__init__()
        c = partial(scaled, width=width)
        self.pool = nn.AdaptiveAvgPool2d((5, 5)) if adaptive else nn.AvgPool2d(5, stride=3)
        self.conv0 = BasicConv2d(in_channels, c(128), 1)
        self.conv1 = BasicConv2d(c(128), c(768), 5)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = new_classifier(c(768), num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(self.conv0(self.pool(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class InceptionV3(Network):
    """Inception-v3 as released; returns logits, or ``InceptionOutputs`` in train mode with aux.

    ``depths`` keeps the first 1–3, 1–4 and 1–2 of the released modules on the 35×35, 17×17 and
    8×8 grids; ``width`` scales every channel count; ``stem_type="small"`` replaces the ImageNet
    stem (299 → 35×35) by a light 3×3 stem for 28×28 images (→ 14×14) and pads the grid
    reductions (14 → 7 → 4). ``transform_input=True`` re-normalises ImageNet-normalised inputs to
    the [-1, 1] scale Google's weights expect (see ``torchvision_weights``).
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        aux_logits: bool = True,
        transform_input: bool = False,
        width: float = 1.0,
        depths: tuple[int, int, int] = (3, 4, 2),
        stem_type: str = "imagenet",
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        check_stem_type(stem_type)
        check_depths(depths, (len(BLOCKS_35), len(BLOCKS_17), len(BLOCKS_8)), "InceptionV3")
        check_transform_input(transform_input, in_channels)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.stem_type = stem_type
        small = stem_type == "small"
        pad = 1 if small else 0  # "same"-padded reductions halve the small 14×14 grid exactly
        c = partial(scaled, width=width)

        if small:
            self.small_stem = SmallStem(in_channels, c(64), c(192))
        else:
            self.Conv2d_1a_3x3 = BasicConv2d(in_channels, c(32), 3, stride=2)
            self.Conv2d_2a_3x3 = BasicConv2d(c(32), c(32), 3)
            self.Conv2d_2b_3x3 = BasicConv2d(c(32), c(64), 3, padding=1)
            self.maxpool1 = nn.MaxPool2d(3, stride=2)
            self.Conv2d_3b_1x1 = BasicConv2d(c(64), c(80), 1)
            self.Conv2d_4a_3x3 = BasicConv2d(c(80), c(192), 3)
            self.maxpool2 = nn.MaxPool2d(3, stride=2)

        # The paper's Table 1 reads "3× Inception (Fig. 5), 5× Inception (Fig. 6), 2× Inception
        # (Fig. 7)": one loop per row, registering each module under torchvision's name (Mixed_5b,
        # …) in torchvision's order, so that its state dict loads with strict=True.
        channels = c(192)
        self.blocks_35 = tuple(name for name, _ in BLOCKS_35[: depths[0]])
        for name, pool_features in BLOCKS_35[: depths[0]]:
            self.add_module(name, InceptionV3A(channels, pool_features, width))
            channels = self.get_submodule(name).out_channels
        self.Mixed_6a = InceptionV3ReductionA(channels, width=width, padding=pad)
        channels = self.Mixed_6a.out_channels
        self.blocks_17 = tuple(name for name, _ in BLOCKS_17[: depths[1]])
        for name, channels_7x7 in BLOCKS_17[: depths[1]]:
            self.add_module(name, InceptionV3B(channels, channels_7x7, width))
            channels = self.get_submodule(name).out_channels
        self.AuxLogits: InceptionV3Aux | None = None
        if aux_logits:
            self.AuxLogits = InceptionV3Aux(channels, num_classes, width, adaptive=small)
        self.Mixed_7a = InceptionV3ReductionB(channels, width=width, padding=pad)
        channels = self.Mixed_7a.out_channels
        self.blocks_8 = BLOCKS_8[: depths[2]]
        for name in self.blocks_8:
            self.add_module(name, InceptionV3C(channels, width=width))
            channels = self.get_submodule(name).out_channels
        self.num_features = channels
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = new_classifier(channels, num_classes)
        self._init_weights()

    @property
    def input_limits(self) -> InputLimits:
        """Return the smallest input sizes this configuration accepts."""
        return _LIMITS[(self.stem_type, self.AuxLogits is not None)]

    def forward(self, x: Tensor) -> Tensor | InceptionOutputs:
        check_input(self, x)
        with_aux = self.training and self.aux_logits
        x, aux = self._trunk_and_aux(x, with_aux)
        x = self.forward_head(x)
        return InceptionOutputs(x, aux) if with_aux else x

    def trunk(self, x: Tensor) -> Tensor:
        return self._trunk_and_aux(x, with_aux=False)[0]

    def reset_classifier(self, num_classes: int) -> None:
        super().reset_classifier(num_classes)
        if self.AuxLogits is not None:
            self.AuxLogits.fc = new_classifier(self.AuxLogits.conv1.out_channels, num_classes)

    def _trunk_and_aux(self, x: Tensor, with_aux: bool) -> tuple[Tensor, Tensor | None]:
        if self.transform_input:
            x = transform_input(x)
        x = self._stem(x)
        for name in self.blocks_35:  # Mixed_5b, Mixed_5c, Mixed_5d: 35×35 (Fig. 5)
            x = self.get_submodule(name)(x)
        x = self.Mixed_6a(x)  # 35×35 → 17×17
        for name in self.blocks_17:  # Mixed_6b … Mixed_6e: 17×17 (Fig. 6)
            x = self.get_submodule(name)(x)
        aux = self.AuxLogits(x) if with_aux and self.AuxLogits is not None else None
        x = self.Mixed_7a(x)  # 17×17 → 8×8
        for name in self.blocks_8:  # Mixed_7b, Mixed_7c: 8×8 (Fig. 7)
            x = self.get_submodule(name)(x)
        return x, aux

    def _stem(self, x: Tensor) -> Tensor:
        if self.stem_type == "small":
            return self.small_stem(x)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(self.maxpool1(x)))
        return self.maxpool2(x)

    def _init_weights(self) -> None:
        # torchvision's scheme (truncated normal, std 0.1; 0.001 for the aux classifier), in
        # torchvision's module order, so that the same seed gives the same weights. torchvision tags
        # AuxLogits.conv1 with stddev 0.01, but reads the tag from the nn.Conv2d inside it, so 0.1
        # applies; we reproduce what torchvision does.
        aux_fc = self.AuxLogits.fc if self.AuxLogits is not None else None
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                std = 0.001 if m is aux_fc else 0.1
                nn.init.trunc_normal_(m.weight, mean=0.0, std=std, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)


def inception_v3(
    *,
    aux_logits: bool = True,
    weights: str | None = None,
    transform_input: bool | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> InceptionV3:
    """Return Inception-v3 for 3×299×299 ImageNet images.

    ``weights="torchvision"`` loads torchvision's ImageNet weights (needs internet or a cached
    copy); it sets ``transform_input=True`` unless you pass it, because those weights expect inputs
    scaled to [-1, 1] while torchvision normalises with the ImageNet mean/std. Other keyword
    arguments go to ``InceptionV3``.
    """
    check_weights_args(weights, kwargs, "inception_v3")
    if transform_input is None:
        transform_input = weights == "torchvision"
    model = InceptionV3(
        aux_logits=aux_logits or weights is not None, transform_input=transform_input, **kwargs
    )
    if weights is not None:
        load_torchvision_weights(model, "inception_v3", progress=progress)
        if not aux_logits:
            model.aux_logits, model.AuxLogits = False, None
    return model


def inception_v3_small(*, weights: None = None, **kwargs: Any) -> InceptionV3:
    """Return a small Inception-v3 for 1×28×28 images, 10 classes (fewer, narrower modules)."""
    check_no_weights(weights, "inception_v3_small")
    return InceptionV3(
        **{**SMALL_CONFIG, "aux_logits": False, "depths": (1, 2, 1), "dropout": 0.2, **kwargs}
    )
