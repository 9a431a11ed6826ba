"""Google's ImageNet weights, as ported by torchvision, loaded into our GoogLeNet and Inception-v3.

Google trained these networks on images scaled to [-1, 1], i.e. ``(x - 0.5) / 0.5`` per channel,
while torchvision's data pipelines normalise with the ImageNet mean and std. torchvision bridges the
two with ``transform_input``, which its model builders switch on silently whenever weights are
loaded. Here ``transform_input`` is an explicit constructor argument of both networks, and the
factory functions set it to True for ``weights="torchvision"`` unless told otherwise.
"""

from __future__ import annotations

from typing import Any
from urllib.error import URLError

import torch
from torch import Tensor, nn

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MODELS_WITH_WEIGHTS",
    "WEIGHT_NAMES",
    "check_no_weights",
    "check_transform_input",
    "check_weights_args",
    "load_torchvision_weights",
    "transform_input",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Accepted values of the ``weights`` argument of ``googlenet`` and ``inception_v3``.
WEIGHT_NAMES = (None, "torchvision")
#: The ``create_model`` names that have pretrained weights (``weights="torchvision"``).
MODELS_WITH_WEIGHTS = ("googlenet", "inception_v3")


def transform_input(x: Tensor) -> Tensor:
    """Return ``x`` (normalised with ImageNet mean/std) re-normalised to ``(x - 0.5) / 0.5``."""
    # x_imagenet = (x - mean) / std, so (x - 0.5) / 0.5 = x_imagenet · std/0.5 + (mean - 0.5)/0.5
    std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    return x * (std / 0.5) + (mean - 0.5) / 0.5


def load_torchvision_weights(model: nn.Module, arch: str, progress: bool = True) -> None:
    """Download (or read from the torch hub cache) torchvision's ``arch`` weights into ``model``.

    ``arch`` is ``"googlenet"`` or ``"inception_v3"``. Raises a RuntimeError saying so when the
    weights can be neither downloaded nor found in the cache.
    """
    from torchvision.models import GoogLeNet_Weights, Inception_V3_Weights

    weights = {
        "googlenet": GoogLeNet_Weights.IMAGENET1K_V1,
        "inception_v3": Inception_V3_Weights.IMAGENET1K_V1,
    }[arch]
    try:
        state_dict = weights.get_state_dict(progress=progress, check_hash=True)
    except (URLError, OSError) as err:  # URLError, socket and connection errors are all OSErrors
        cache = torch.hub.get_dir() + "/checkpoints/" + weights.url.rsplit("/", 1)[-1]
        raise RuntimeError(
            f"Could not download torchvision's {arch} ImageNet weights from {weights.url} "
            f"({type(err).__name__}: {err}). Are you offline? Connect to the internet and try "
            f"again, copy the file to {cache}, or build the model with weights=None to train it "
            "from scratch."
        ) from err
    model.load_state_dict(state_dict, strict=True)


def check_weights_args(weights: str | None, kwargs: dict[str, Any], arch: str) -> None:
    """Raise a ValueError if ``weights`` is unknown or ``kwargs`` do not fit it; else None."""
    if weights not in WEIGHT_NAMES:
        raise ValueError(f"unknown weights {weights!r} for {arch}; valid values are {WEIGHT_NAMES}")
    if weights is None:
        return
    needs = (
        ("num_classes", 1000),
        ("in_channels", 3),
        ("width", 1.0),
        ("stem_type", "imagenet"),
        ("batch_norm", True),
    )
    for name, needed in needs:
        if kwargs.get(name, needed) != needed:
            raise ValueError(
                f"torchvision's {arch} weights need {name}={needed!r}, got {kwargs[name]!r}; load "
                "them with the defaults and replace the classifier afterwards for other classes"
            )


def check_no_weights(weights: object, arch: str) -> None:
    """Raise a ValueError naming the models that have weights if ``weights`` is set; else None."""
    if weights is not None:
        raise ValueError(
            f"{arch} has no pretrained weights here (got weights={weights!r}); build it with "
            f"weights=None and train it. Pretrained weights exist for: "
            f"{', '.join(MODELS_WITH_WEIGHTS)} (weights='torchvision'), and timm offers "
            "ImageNet weights for inception_v4 and inception_resnet_v2 whose state dicts load "
            "into these models with strict=True."
        )


def check_transform_input(transform_input: bool, in_channels: int) -> None:
    """Raise a ValueError if ``transform_input`` is asked for a network that is not RGB."""
    if transform_input and in_channels != 3:
        raise ValueError(
            f"transform_input=True needs 3 input channels (RGB), got in_channels={in_channels}"
        )
