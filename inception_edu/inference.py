"""Running a model on images: its device, eval mode, a checked image batch, the main logits.

These are the small jobs that training, evaluation, calibration and the "looking inside" modules
all need; each is done here once.

- ``device_of(model)``: where the model's weights live.
- ``eval_mode(model)``: eval mode for a ``with`` block, the previous mode restored afterwards.
- ``kept_state(model)``: a ``with`` block after which the buffers (BatchNorm's running statistics)
  and every submodule's train/eval mode are as they were.
- ``split_output(output)`` / ``main_logits(output)``: GoogLeNet and Inception-v3 return a tuple
  (main logits, auxiliary logits…) in train mode and a tensor in eval mode; these accept both.
- ``check_image(model, image)``: an image (or batch) as the model needs it, or an ``ImageError``
  that says what was wrong.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

__all__ = [
    "ImageError",
    "check_image",
    "device_of",
    "eval_mode",
    "input_channels",
    "kept_state",
    "main_logits",
    "split_output",
]


class ImageError(ValueError):
    """An image the model cannot take: wrong number of dimensions, channels, size or dtype."""


def device_of(model: nn.Module) -> torch.device:
    """Return the device of the model's first parameter (the CPU for a model without any)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for the ``with`` block, then restore its previous mode."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextmanager
def kept_state(model: nn.Module) -> Iterator[None]:
    """Restore the buffers (BatchNorm's running statistics) and the train/eval modes afterwards."""
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    modes = [(m, m.training) for m in model.modules()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)
        for m, training in modes:
            m.training = training


def split_output(output: object) -> tuple[Tensor, list[Tensor]]:
    """Return (main logits, [auxiliary logits…]) of a model output: a tensor or an aux tuple."""
    if isinstance(output, Tensor):
        return output, []
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], Tensor):
        return output[0], [a for a in output[1:] if a is not None]
    raise TypeError(
        "expected a logits tensor or a (logits, aux, ...) tuple from the model, got "
        f"{type(output).__name__}"
    )


def main_logits(output: object) -> Tensor:
    """Return the main logits of a model output, whether a tensor or an (aux) tuple."""
    return split_output(output)[0]


def input_channels(model: nn.Module) -> int | None:
    """Return the number of input channels ``model`` expects, or None if it cannot be told."""
    channels = getattr(model, "in_channels", None)
    if isinstance(channels, int):
        return channels
    first_conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return first_conv.in_channels if first_conv is not None else None


def check_image(
    model: nn.Module,
    image: Tensor,
    input_shape: Sequence[int] | None = None,
    *,
    batch: bool = False,
) -> Tensor:
    """Return ``image`` as an N×C×H×W batch on the model's device; raise ImageError saying why not.

    ``image`` is one normalized C×H×W image (1×C×H×W is accepted too), or N×C×H×W images when
    ``batch=True``. ``input_shape`` (C, H, W) demands an exact shape, e.g. a dataset's images'.
    """
    expected = _expected(model, input_shape)
    if isinstance(image, (tuple, list)):
        raise ImageError(
            f"expected {expected} as a tensor, got a {type(image).__name__}. A dataset item is an "
            "(image, label) pair: pass dataset[i][0]."
        )
    if not isinstance(image, Tensor):
        raise ImageError(f"expected {expected} as a tensor, got {type(image).__name__}")
    if image.dim() == 2:
        raise ImageError(
            f"expected {expected}, got a {_shape(image.shape)} tensor without a channel dimension: "
            "pass image.unsqueeze(0)."
        )
    if image.dim() == 4 and image.shape[0] != 1 and not batch:
        raise ImageError(
            f"expected one image ({expected}), got a batch of {image.shape[0]}: pass images[i]."
        )
    if image.dim() not in (3, 4):
        raise ImageError(f"expected {expected}, got a tensor of shape {_shape(image.shape)}")
    x = image if image.dim() == 4 else image.unsqueeze(0)
    channels = input_channels(model)
    wrong_channels = channels is not None and x.shape[1] != channels
    if wrong_channels or (input_shape is not None and tuple(x.shape[1:]) != tuple(input_shape)):
        hint = " (a grayscale image is 1×H×W, an RGB one 3×H×W)" if wrong_channels else ""
        raise ImageError(f"expected {expected} for this model, got {_shape(x.shape[1:])}{hint}")
    limits = getattr(model, "input_limits", None)
    min_size = getattr(limits, "min_size", None)
    if isinstance(min_size, int) and min(x.shape[-2:]) < min_size:
        raise ImageError(
            f"this model needs images of at least {min_size}×{min_size} pixels, got "
            f"{_shape(x.shape[1:])}"
        )
    if not x.is_floating_point():
        raise ImageError(
            f"expected a float image normalized like the training data, got dtype {x.dtype}: "
            "use the dataset with transform=data.test_transform()."
        )
    return x.to(device_of(model))


def _shape(shape: Sequence[int]) -> str:
    return "×".join(str(int(s)) for s in shape)


def _expected(model: nn.Module, input_shape: Sequence[int] | None) -> str:
    if input_shape is not None:
        return f"a {_shape(input_shape)} image (C×H×W)"
    channels = input_channels(model)
    if channels is None:
        return "a C×H×W image"
    return f"a {channels}×H×W image (C×H×W with {channels} channel{'s' if channels > 1 else ''})"
