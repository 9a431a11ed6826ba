"""What every network of the course shares: checked inputs and timm's classifier interface.

timm splits a classifier's ``forward`` into ``forward_features`` (the convolutional trunk, an
N×C×H×W map) and ``forward_head`` (global pooling, dropout, the linear classifier), exposes the
trunk's width as ``num_features`` and swaps the classifier with ``reset_classifier``. Every network
here does the same, so that fine-tuning code written for timm runs on them unchanged:

    model = create_model("inception_v3_small")
    model.reset_classifier(5)          # a new 5-class head; the trunk keeps its weights
    features = model.forward_features(images)      # N × model.num_features × H' × W'
    logits = model.forward_head(features)

Each network names its head's layers as its reference implementation does (torchvision's
``avgpool``, ``dropout``, ``fc``; timm's ``global_pool``, ``head_drop``, ``last_linear`` or
``classif``) and lists those names in ``head_layers``; the head's methods below use them.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from .input_checks import InputLimits, check_input

__all__ = ["Network", "check_depths", "classify", "new_classifier"]


class Network(nn.Module):
    """Base class of the course's networks: ``forward`` = checked input → features → head."""

    #: Input channels the network expects (3 for ImageNet, 1 for the small configurations).
    in_channels: int
    #: Channels of the map ``forward_features`` returns, i.e. the classifier's input width.
    num_features: int
    #: Classes of the classifier (0 after ``reset_classifier(0)``: ``forward`` returns features).
    num_classes: int
    #: Names of the head's global pooling, dropout and classifier layers.
    head_layers: ClassVar[tuple[str, str, str]] = ("avgpool", "dropout", "fc")

    @property
    def input_limits(self) -> InputLimits:
        """Return the smallest input sizes this configuration accepts."""
        raise NotImplementedError(f"{type(self).__name__} does not state its input limits")

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def forward_features(self, x: Tensor) -> Tensor:
        """Return the last feature map (N × ``num_features`` × H' × W') for the batch ``x``."""
        check_input(self, x)
        return self.trunk(x)

    def trunk(self, x: Tensor) -> Tensor:
        """Return the last feature map, without checking ``x`` (``forward_features`` checks)."""
        raise NotImplementedError(f"{type(self).__name__} does not define its trunk")

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Return the logits for a feature map (or the pooled features, with ``pre_logits``)."""
        pool, dropout, classifier = (getattr(self, name) for name in self.head_layers)
        return classify(x, pool, dropout, classifier, pre_logits)

    def get_classifier(self) -> nn.Module:
        """Return the final linear layer."""
        return getattr(self, self.head_layers[2])

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier by a new, freshly initialised one for ``num_classes`` classes.

        ``num_classes=0`` removes it: ``forward`` then returns the pooled features.
        """
        setattr(self, self.head_layers[2], new_classifier(self.num_features, num_classes))
        self.num_classes = num_classes

    def extra_repr(self) -> str:
        shown = ("stem_type", "aux_logits", "transform_input")
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in shown if hasattr(self, name))


def classify(
    x: Tensor, pool: nn.Module, dropout: nn.Module, classifier: nn.Module, pre_logits: bool
) -> Tensor:
    """Return ``classifier(dropout(flatten(pool(x))))``; only the pooled features if
    ``pre_logits``."""
    x = dropout(torch.flatten(pool(x), 1))
    return x if pre_logits else classifier(x)


def new_classifier(num_features: int, num_classes: int) -> nn.Module:
    """Return a new ``Linear(num_features, num_classes)``, or ``Identity`` for 0 classes (timm)."""
    if not isinstance(num_classes, int) or num_classes < 0:
        raise ValueError(f"num_classes must be a whole number ≥ 0, got {num_classes!r}")
    return nn.Linear(num_features, num_classes) if num_classes > 0 else nn.Identity()


def check_depths(
    depths: object, most: tuple[int, int, int] | None, network: str
) -> tuple[int, int, int]:
    """Return ``depths`` as three whole numbers ≥ 1 (at most ``most``); else raise a ValueError.

    ``depths`` counts the blocks on the 35×35, 17×17 and 8×8 grids (A, B and C blocks).
    """
    ok = (
        isinstance(depths, (tuple, list))
        and len(depths) == 3
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in depths)
        and (most is None or all(d <= m for d, m in zip(depths, most)))
    )
    if not ok:
        upper = f" and at most {tuple(most)}" if most is not None else ""
        raise ValueError(
            f"{network} needs depths=(A, B, C): the number of blocks on the 35×35, 17×17 and 8×8 "
            f"grids, three whole numbers ≥ 1{upper}; got {depths!r}"
        )
    return tuple(depths)
