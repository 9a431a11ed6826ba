"""Check a network's input before it runs, so that mistakes fail early with a message that helps.

Without these checks an input that is too small fails deep inside torch ("Output size is too small",
"Kernel size can't be greater than actual input size"), and a batch of one in train mode fails in
some BatchNorm ("Expected more than 1 value per channel when training"). The sizes below are stated
per network and proven tight by the tests (one pixel less fails inside torch without the check).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

__all__ = ["InputLimits", "check_input"]


@dataclass(frozen=True)
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


def check_input(
    x: Tensor, model_name: str, in_channels: int, limits: InputLimits, training: bool
) -> None:
    """Raise a ValueError that says what to do if ``x`` cannot go through the network; else None."""
    if not isinstance(x, Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(
            f"{model_name} expects a batch of images shaped (N, C, H, W), got {shape}. "
            "For a single image use x.unsqueeze(0)."
        )
    n, c, h, w = x.shape
    if c != in_channels:
        convert = {
            (1, 3): " (grayscale to RGB: x.expand(-1, 3, -1, -1))",
            (3, 1): " (RGB to grayscale: torchvision.transforms.Grayscale())",
        }.get((c, in_channels), "")
        raise ValueError(
            f"{model_name} expects {in_channels} input channels, got {c} (input shape "
            f"{tuple(x.shape)}). Build the model with in_channels={c}, or convert the "
            f"images{convert}."
        )
    if min(h, w) < limits.min_size:
        raise ValueError(
            f"{model_name} needs inputs of at least {limits.min_size}×{limits.min_size} pixels, "
            f"got {h}×{w}: a smaller image shrinks to nothing before the last stage. "
            f"Resize the images first (e.g. torchvision.transforms.Resize({limits.min_size}))."
        )
    if not training:
        return
    if min(h, w) < limits.min_size_train:
        raise ValueError(
            f"{model_name} in train mode with auxiliary heads needs inputs of at least "
            f"{limits.min_size_train}×{limits.min_size_train} pixels, got {h}×{w}: the auxiliary "
            "head's convolution needs a larger feature map. Resize the images, call model.eval() "
            "for inference, or build the model with aux_logits=False."
        )
    # BatchNorm sees N·H'·W' values per channel: only N = 1 with a 1×1 map on both sides fails.
    if n == 1 and (limits.min_size_batch_one is None or max(h, w) < limits.min_size_batch_one):
        at_size = (
            "at any input size"
            if limits.min_size_batch_one is None
            else f"for inputs smaller than {limits.min_size_batch_one}×{limits.min_size_batch_one}"
        )
        larger = (
            ""
            if limits.min_size_batch_one is None
            else f", or inputs of at least {limits.min_size_batch_one}×{limits.min_size_batch_one}"
        )
        raise ValueError(
            f"{model_name} got a batch of one image in train mode: BatchNorm needs more than one "
            f"value per channel, and {limits.batch_one_where} is a 1×1 map {at_size} (got "
            f"{h}×{w}). Use a batch of 2 or more, call model.eval() for inference{larger}."
        )
