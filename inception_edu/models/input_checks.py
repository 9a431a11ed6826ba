"""Check a network's input before it runs, so that mistakes fail early with a message that helps.

Without these checks an input that is too small fails deep inside torch ("Output size is too small",
"Kernel size can't be greater than actual input size"), a batch of one in train mode fails in some
BatchNorm ("Expected more than 1 value per channel when training"), and a uint8 or float64 batch
fails in the first convolution ("expected scalar type Double"). The sizes below are stated per
network and proven tight by the tests (one pixel less fails inside torch without the check).

The checks read only shapes and dtypes. While ``torch.fx`` traces a network symbolically they are
skipped (a traced graph has no Python checks in it); eager calls always run them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["IMAGENET_299_LIMITS", "InputLimits", "check_input"]


@dataclass(frozen=True, kw_only=True)
class InputLimits:
    """The smallest input side (in pixels) a network accepts, per mode."""

    #: Smallest side in eval mode (and in train mode without auxiliary heads).
    min_size: int
    #: Smallest side in train mode; more than ``min_size`` if an auxiliary head needs a bigger map.
    min_size_train: int
    #: Smallest side for a batch of one image in train mode: below it some BatchNorm sees a 1×1 map,
    #: i.e. a single value per channel. ``None`` means a batch of one never works in train mode.
    min_size_batch_one: int | None
    #: Where the 1×1 map appears, for the batch-of-one message.
    batch_one_where: str = "the last stage"


#: Inception-v4 and both Inception-ResNets (299 px stems, two grid reductions after 35×35): 75 px
#: leave a 1×1 map after the second reduction; a batch of one in train mode needs 2×2 there
#: (107 px).
#: Their small configurations: 2 px reach the last stage; a batch of one needs 10 px.
IMAGENET_299_LIMITS = {
    "imagenet": InputLimits(min_size=75, min_size_train=75, min_size_batch_one=107),
    "small": InputLimits(min_size=2, min_size_train=2, min_size_batch_one=10),
}


def check_input(model: nn.Module, x: Tensor) -> None:
    """Raise a ValueError that says what to do if ``x`` cannot go through ``model``; else None.

    ``model`` provides ``in_channels``, ``input_limits`` and ``training``; its first parameter's
    dtype is the dtype the batch must have.
    """
    if isinstance(x, torch.fx.Proxy):
        return
    name = type(model).__name__
    if not isinstance(x, Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(
            f"{name} expects a batch of images shaped (N, C, H, W), got {shape}. "
            "For a single image use x.unsqueeze(0)."
        )
    _check_dtype(name, x, model)
    n, c, h, w = x.shape
    if c != model.in_channels:
        raise ValueError(_channels_message(name, x, model.in_channels))
    limits: InputLimits = model.input_limits
    if min(h, w) < limits.min_size:
        raise ValueError(
            f"{name} needs inputs of at least {limits.min_size}×{limits.min_size} pixels, "
            f"got {h}×{w}: a smaller image shrinks to nothing before the last stage. "
            f"Resize the images first (e.g. torchvision.transforms.Resize({limits.min_size}))."
        )
    if not model.training:
        return
    if min(h, w) < limits.min_size_train:
        raise ValueError(
            f"{name} in train mode with auxiliary heads needs inputs of at least "
            f"{limits.min_size_train}×{limits.min_size_train} pixels, got {h}×{w}: the auxiliary "
            "head's convolution needs a larger feature map. Resize the images, call model.eval() "
            "for inference, or build the model with aux_logits=False."
        )
    # BatchNorm sees N·H'·W' values per channel: only N = 1 with a 1×1 map on both sides fails.
    if n == 1 and (limits.min_size_batch_one is None or max(h, w) < limits.min_size_batch_one):
        raise ValueError(_batch_of_one_message(name, limits, h, w))


def _check_dtype(name: str, x: Tensor, model: nn.Module) -> None:
    expected = next((p.dtype for p in model.parameters()), torch.float32)
    if x.dtype == expected:
        return
    if not x.is_floating_point():
        raise ValueError(
            f"{name} expects a batch of {expected} images, got {x.dtype}. Convert the pixels to "
            "floats and normalise them like the training data, e.g. "
            "torchvision.transforms.v2.ToDtype(torch.float32, scale=True) then Normalize."
        )
    raise ValueError(
        f"{name} has {expected} weights but got a {x.dtype} batch. Convert the batch with "
        f"x.to({expected}), or the model with model.to({x.dtype})."
    )


def _channels_message(name: str, x: Tensor, in_channels: int) -> str:
    c = x.shape[1]
    convert = {
        (1, 3): " (grayscale to RGB: x.expand(-1, 3, -1, -1))",
        (3, 1): " (RGB to grayscale: torchvision.transforms.Grayscale())",
    }.get((c, in_channels), "")
    return (
        f"{name} expects {in_channels} input channels, got {c} (input shape {tuple(x.shape)}). "
        f"Build the model with in_channels={c}, or convert the images{convert}."
    )


def _batch_of_one_message(name: str, limits: InputLimits, h: int, w: int) -> str:
    least = limits.min_size_batch_one
    at_size = "at any input size" if least is None else f"for inputs smaller than {least}×{least}"
    larger = "" if least is None else f", or inputs of at least {least}×{least}"
    return (
        f"{name} got a batch of one image in train mode: BatchNorm needs more than one value per "
        f"channel, and {limits.batch_one_where} is a 1×1 map {at_size} (got {h}×{w}). Use a batch "
        f"of 2 or more, call model.eval() for inference{larger}."
    )
