"""GoogLeNet (Inception-v1): Szegedy et al., "Going Deeper with Convolutions", arXiv 1409.4842.

The network is the paper's Table 1, module by module. Module names follow torchvision, so that
``GoogLeNet(branch3_kernel=3)`` loads torchvision's state dict with ``strict=True``.

Differences from the paper, all inherited from torchvision and kept for weight compatibility:
BatchNorm after every convolution instead of local response normalisation (``batch_norm=False``
removes it), and adaptive 4×4 pooling in the auxiliary heads (the paper's 5×5/3 average pool gives
4×4 too on the 14×14 grid, with slightly different windows). torchvision's branch 3 uses a 3×3
convolution where the paper has 5×5 (pytorch/vision#906); ``branch3_kernel`` chooses.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn
from torchvision.models.googlenet import GoogLeNetOutputs

from .basic import BasicConv2d, scaled
from .input_checks import InputLimits, check_input
from .network import Network, new_classifier
from .small_stem import SMALL_CONFIG, SmallStem, check_stem_type
from .torchvision_weights import (
    check_no_weights,
    check_transform_input,
    check_weights_args,
    load_torchvision_weights,
    transform_input,
)

__all__ = [
    "TABLE_1",
    "GoogLeNet",
    "GoogLeNetAux",
    "GoogLeNetOutputs",
    "Inception",
    "googlenet",
    "googlenet_small",
]

#: The paper's Table 1: (ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) of each module.
TABLE_1: dict[str, tuple[int, int, int, int, int, int]] = {
    "inception3a": (64, 96, 128, 16, 32, 32),
    "inception3b": (128, 128, 192, 32, 96, 64),
    "inception4a": (192, 96, 208, 16, 48, 64),
    "inception4b": (160, 112, 224, 24, 64, 64),
    "inception4c": (128, 128, 256, 24, 64, 64),
    "inception4d": (112, 144, 288, 32, 64, 64),
    "inception4e": (256, 160, 320, 32, 128, 128),
    "inception5a": (256, 160, 320, 32, 128, 128),
    "inception5b": (384, 192, 384, 48, 128, 128),
}

# Stated per stem and proven tight by the tests. ImageNet stem: below 15 px the stem's pools run out
# of pixels; below 47 px inception5b works on a 1×1 map, fatal for a batch of one in train mode.
_LIMITS = {
    "imagenet": InputLimits(min_size=15, min_size_train=15, min_size_batch_one=47),
    "small": InputLimits(min_size=4, min_size_train=4, min_size_batch_one=12),
}


class Inception(nn.Module):
    """Inception module with dimension reductions (Fig. 2b); returns its 4 branches concatenated."""

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        branch3_kernel: int = 5,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        if branch3_kernel < 1 or branch3_kernel % 2 == 0:
            raise ValueError(
                "branch3_kernel must be odd so that padding keeps the grid size, got "
                f"{branch3_kernel}; use 5 (the paper) or 3 (torchvision)"
            )
        bn = batch_norm
        self.branch1 = BasicConv2d(in_channels, ch1x1, 1, batch_norm=bn)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, 1, batch_norm=bn),
            BasicConv2d(ch3x3red, ch3x3, 3, padding=1, batch_norm=bn),
        )
        k = branch3_kernel
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, 1, batch_norm=bn),
            BasicConv2d(ch5x5red, ch5x5, k, padding=k // 2, batch_norm=bn),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, 1, batch_norm=bn),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNetAux(nn.Module):
    """An auxiliary classifier (paper Sec. 5); returns class logits from an intermediate map."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        width: float = 1.0,
        dropout: float = 0.7,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        conv_channels, hidden = scaled(128, width), scaled(1024, width)
        # Adaptive, so that the head gives 4×4 on any grid (the small configurations run at 7×7).
        self.avgpool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = BasicConv2d(in_channels, conv_channels, 1, batch_norm=batch_norm)
        self.fc1 = nn.Linear(conv_channels * 4 * 4, hidden)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.fc2 = new_classifier(hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.flatten(self.conv(self.avgpool(x)), 1)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class GoogLeNet(Network):
    """GoogLeNet (Table 1); returns logits, or ``GoogLeNetOutputs`` in train mode with aux heads.

    ``branch3_kernel=5`` is the paper, 3 is torchvision's variant. ``width`` scales every channel
    count; ``stem_type="small"`` replaces the ImageNet stem (224 → 28×28 grid) by a light 3×3 stem
    for 28×28 images (→ 14×14 grid). ``transform_input=True`` re-normalises ImageNet-normalised
    inputs to the [-1, 1] scale Google's weights expect (see ``torchvision_weights``).
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        aux_logits: bool = True,
        transform_input: bool = False,
        branch3_kernel: int = 5,
        batch_norm: bool = True,
        width: float = 1.0,
        stem_type: str = "imagenet",
        dropout: float = 0.4,
        dropout_aux: float = 0.7,
    ) -> None:
        super().__init__()
        check_stem_type(stem_type)
        check_transform_input(transform_input, in_channels)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.stem_type = stem_type
        c = partial(scaled, width=width)
        module = partial(Inception, branch3_kernel=branch3_kernel, batch_norm=batch_norm)
        conv = partial(BasicConv2d, batch_norm=batch_norm)

        if stem_type == "imagenet":
            self.conv1 = conv(in_channels, c(64), 7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.conv2 = conv(c(64), c(64), 1)
            self.conv3 = conv(c(64), c(192), 3, padding=1)
            self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        else:
            self.small_stem = SmallStem(in_channels, c(64), c(192), batch_norm=batch_norm)

        self.inception3a = module(c(192), *map(c, TABLE_1["inception3a"]))
        self.inception3b = module(self.inception3a.out_channels, *map(c, TABLE_1["inception3b"]))
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = module(self.inception3b.out_channels, *map(c, TABLE_1["inception4a"]))
        self.inception4b = module(self.inception4a.out_channels, *map(c, TABLE_1["inception4b"]))
        self.inception4c = module(self.inception4b.out_channels, *map(c, TABLE_1["inception4c"]))
        self.inception4d = module(self.inception4c.out_channels, *map(c, TABLE_1["inception4d"]))
        self.inception4e = module(self.inception4d.out_channels, *map(c, TABLE_1["inception4e"]))
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = module(self.inception4e.out_channels, *map(c, TABLE_1["inception5a"]))
        self.inception5b = module(self.inception5a.out_channels, *map(c, TABLE_1["inception5b"]))
        self.num_features = self.inception5b.out_channels

        self.aux1: GoogLeNetAux | None = None
        self.aux2: GoogLeNetAux | None = None
        if aux_logits:
            aux = partial(
                GoogLeNetAux, num_classes=num_classes, width=width, dropout=dropout_aux,
                batch_norm=batch_norm,
            )  # fmt: skip
            self.aux1 = aux(self.inception4a.out_channels)
            self.aux2 = aux(self.inception4d.out_channels)

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = new_classifier(self.num_features, num_classes)
        self._init_weights()

    @property
    def input_limits(self) -> InputLimits:
        """Return the smallest input sizes this configuration accepts."""
        return _LIMITS[self.stem_type]

    def forward(self, x: Tensor) -> Tensor | GoogLeNetOutputs:
        check_input(self, x)
        with_aux = self.training and self.aux_logits
        x, aux1, aux2 = self._trunk_and_aux(x, with_aux)
        x = self.forward_head(x)
        return GoogLeNetOutputs(x, aux2, aux1) if with_aux else x

    def trunk(self, x: Tensor) -> Tensor:
        return self._trunk_and_aux(x, with_aux=False)[0]

    def reset_classifier(self, num_classes: int) -> None:
        super().reset_classifier(num_classes)
        for aux in (self.aux1, self.aux2):
            if aux is not None:
                aux.fc2 = new_classifier(aux.fc1.out_features, num_classes)

    def _trunk_and_aux(
        self, x: Tensor, with_aux: bool
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        if self.transform_input:
            x = transform_input(x)
        x = self._stem(x)
        x = self.inception3a(x)
        x = self.inception3b(x)
        x = self.maxpool3(x)
        x = self.inception4a(x)
        aux1 = self.aux1(x) if with_aux and self.aux1 is not None else None
        x = self.inception4b(x)
        x = self.inception4c(x)
        x = self.inception4d(x)
        aux2 = self.aux2(x) if with_aux and self.aux2 is not None else None
        x = self.inception4e(x)
        x = self.maxpool4(x)
        x = self.inception5a(x)
        x = self.inception5b(x)
        return x, aux1, aux2

    def _stem(self, x: Tensor) -> Tensor:
        if self.stem_type == "small":
            return self.small_stem(x)
        x = self.maxpool1(self.conv1(x))
        return self.maxpool2(self.conv3(self.conv2(x)))

    def _init_weights(self) -> None:
        # torchvision's scheme (truncated normal, std 0.01), in torchvision's module order, so that
        # the same seed gives the same weights as torchvision's GoogLeNet(init_weights=True).
        # Without BatchNorm to rescale them, 22 layers of std-0.01 weights would shrink the signal
        # to nothing, so convolutions then get He (Kaiming) initialisation, made for ReLU nets.
        for m in self.modules():
            if isinstance(m, nn.Conv2d) and m.bias is not None:
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)


def googlenet(
    *,
    aux_logits: bool = True,
    branch3_kernel: int = 5,
    weights: str | None = None,
    transform_input: bool | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> GoogLeNet:
    """Return GoogLeNet for 3×224×224 ImageNet images (the paper's 5×5 branch by default).

    ``branch3_kernel=3`` gives torchvision's variant. ``weights="torchvision"`` loads torchvision's
    ImageNet weights (needs ``branch3_kernel=3`` and internet or a cached copy); it sets
    ``transform_input=True`` unless you pass it, because those weights expect inputs scaled to
    [-1, 1] while torchvision normalises with the ImageNet mean/std. As in torchvision, the
    auxiliary heads of those weights are not trained. Other keyword arguments go to ``GoogLeNet``.
    """
    check_weights_args(weights, kwargs, "googlenet")
    if weights is not None and branch3_kernel != 3:
        raise ValueError(
            "torchvision's GoogLeNet weights have a 3×3 convolution in branch 3 "
            f"(pytorch/vision#906), got branch3_kernel={branch3_kernel}; pass branch3_kernel=3"
        )
    if transform_input is None:
        transform_input = weights == "torchvision"
    model = GoogLeNet(
        aux_logits=aux_logits or weights is not None,
        branch3_kernel=branch3_kernel,
        transform_input=transform_input,
        **kwargs,
    )
    if weights is not None:
        load_torchvision_weights(model, "googlenet", progress=progress)
        if aux_logits:
            warnings.warn(
                "the auxiliary heads of torchvision's GoogLeNet weights are not trained",
                stacklevel=2,
            )
        else:
            model.aux_logits, model.aux1, model.aux2 = False, None, None
    return model


def googlenet_small(*, weights: None = None, **kwargs: Any) -> GoogLeNet:
    """Return a small GoogLeNet for 1×28×28 images, 10 classes (width 1/8, 3×3 stem)."""
    check_no_weights(weights, "googlenet_small")
    return GoogLeNet(**{**SMALL_CONFIG, "aux_logits": False, "dropout": 0.2, **kwargs})
