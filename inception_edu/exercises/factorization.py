"""Checkers for the exercises of notebook 03 (batch norm, factorization, grid-size reduction)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..cost import count
from ..models.basic import BasicConv2d
from ._check import Mistake, Verdict, fixed_seed, run_check, student
from ._module_variants import branch_order, no_relu_after_bn, relu_before_bn, wrong_module
from ._modules import compare_modules, forward_layers
from ._values import Number, agree, close, diagnose, number, tensor, tensors_close

__all__ = [
    "FactorizedConv",
    "ParallelReduction",
    "check_asymmetric_saving",
    "check_batch_norm",
    "check_factorized_conv",
    "check_parallel_reduction",
]


class FactorizedConv(nn.Module):
    """Reference: an n×n convolution factorized into a 1×n then an n×1 (Fig. 6), same H and W."""

    def __init__(self, in_channels: int, out_channels: int, n: int) -> None:
        super().__init__()
        self.row = BasicConv2d(in_channels, out_channels, (1, n), padding=(0, n // 2))
        self.column = BasicConv2d(out_channels, out_channels, (n, 1), padding=(n // 2, 0))

    def forward(self, x: Tensor) -> Tensor:
        return self.column(self.row(x))


class ParallelReduction(nn.Module):
    """Reference: Fig. 10 in its simplest form, a stride-2 conv beside a stride-2 max-pool."""

    def __init__(self, in_channels: int, conv_channels: int) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_channels, conv_channels, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.conv(x), self.pool(x)], 1)


def check_batch_norm(batch_norm: Callable[..., Tensor]) -> Verdict:
    """Check ``batch_norm(x, eps)``: train-mode batch norm of an N×C×H×W tensor, no scale/shift."""

    def check() -> str:
        with fixed_seed(0):
            scale = torch.tensor([1.0, 3.0, 0.5]).view(1, 3, 1, 1)
            x = torch.randn(4, 3, 5, 5) * scale + 2.0
        x[:, 2] = 0.7  # a constant channel: its variance is 0, so eps decides the result
        eps = 1e-3
        got = tensor(student(batch_norm)(x.clone(), eps), "a tensor of the input's shape")
        if got.shape != x.shape:
            raise Mistake(
                f"return a tensor of the input's shape {tuple(x.shape)}, got {tuple(got.shape)}."
            )
        if torch.isnan(got).any():
            raise Mistake(
                "your output has NaNs: channel 2 of the test input is constant, so its variance "
                "is 0. That is what eps is for: divide by sqrt(var + eps)."
            )
        if tensors_close(got, _normalized(x, eps), rtol=1e-4, atol=1e-5):
            return "one mean and one variance per channel, over the batch and every position."
        for wrong, hint in (
            (_normalized(x, eps, dims=(0, 1, 2, 3)), (
                "you used one mean and variance for the whole tensor: batch norm keeps one per "
                "channel, computed over dims (0, 2, 3)."
            )),
            (_normalized(x, eps, dims=(0,)), (
                "you computed statistics per pixel (over the batch only): a convolutional batch "
                "norm shares them across positions, so reduce over dims (0, 2, 3)."
            )),
            (_normalized(x, eps, dims=(1, 2, 3)), (
                "you normalized each image on its own (that is layer norm): batch norm averages "
                "over the batch, per channel: dims (0, 2, 3)."
            )),
            (_normalized(x, eps, unbiased=True), (
                "almost: use the biased variance (unbiased=False), dividing by N·H·W as batch "
                "norm does, not by N·H·W − 1."
            )),
            (_normalized(x, eps, eps_inside=False), (
                "almost: eps goes inside the square root, sqrt(var + eps), not after it."
            )),
            (_normalized(x, 1e-5), (
                f"almost: you used eps = 1e-5, not the eps argument the checker passes ({eps:g})."
            )),
        ):  # fmt: skip
            if tensors_close(got, wrong, rtol=1e-4, atol=1e-5):
                raise Mistake(hint)
        diff = float((got.double() - _normalized(x, eps)).abs().max())
        raise Mistake(
            f"your output differs from batch norm's by up to {diff:.3g}: compute "
            "(x − mean) / sqrt(var + eps) with per-channel statistics."
        )

    return run_check("03.1", check)


def check_asymmetric_saving(saving: Callable[[int], float]) -> Verdict:
    """Check ``saving(n)``: share of MACs saved by 1×n then n×1 instead of n×n (C → C)."""
    ns = (5, 7, 3)

    def check() -> str:
        answer = student(saving)
        got = [number(answer(n), "a number (a fraction between 0 and 1)") for n in ns]
        expected = [_saving(n) for n in ns]
        if agree(got, expected, _same_fraction):
            return "2n weights instead of n²: 1 − 2/n, a third for n = 3 and 71 % for n = 7."
        variants = {
            "that is a percentage: return the fraction.": [100 * e for e in expected],
            "that is the share of the cost that remains (2n / n²): the saving is the part that "
            "goes away.": [1 - e for e in expected],
            "that is 1 − 1/n: the factorization has two layers of n weights each (per pair of "
            "channels), so 2n weights instead of n².": [1 - 1 / n for n in ns],
        }
        labels = [f"for n={n}" for n in ns]
        raise diagnose(got, expected, labels, variants, _same_fraction)

    return run_check("03.2", check)


def check_factorized_conv(module_class: type[nn.Module]) -> Verdict:
    """Check a class built as ``module_class(in_channels, out_channels, n)``: 1×n then n×1."""

    def check() -> str:
        n = 5
        with fixed_seed(0):
            mine = student(module_class)(6, 8, n)
            reference = FactorizedConv(6, 8, n)
            x = torch.randn(2, 6, 9, 9)
        layers, _ = forward_layers(mine, x, student=True)
        convs = [layer.module for layer in layers if isinstance(layer.module, nn.Conv2d)]
        if len(convs) != 2:
            raise Mistake(
                f"use exactly two convolutions (a 1×{n}, then a {n}×1), you have {len(convs)}."
            )
        kernels = tuple(conv.kernel_size for conv in convs)
        if kernels == ((n, 1), (1, n)):
            raise Mistake(
                f"you start with the {n}×1 (a column). That factorizes too, but this exercise, "
                f"like the library's blocks, starts with the 1×{n} row: kernel_size=(1, {n})."
            )
        if kernels != ((1, n), (n, 1)):
            raise Mistake(f"the kernels should be (1, {n}) then ({n}, 1), yours are {kernels}.")
        if not any(isinstance(layer.module, nn.BatchNorm2d) for layer in layers):
            raise Mistake(
                "build both layers with BasicConv2d (conv → BN → ReLU): the non-linearity between "
                "the two halves is part of the factorization (§3.1 found it better than linear)."
            )
        return compare_modules(
            mine,
            reference,
            x,
            variants=[
                relu_before_bn(),
                no_relu_after_bn(),
                wrong_module(
                    "your paddings are swapped: a (1, n) kernel reaches sideways only and needs "
                    "padding (0, n // 2); an (n, 1) kernel needs (n // 2, 0).",
                    lambda ref, t: _swapped_padding(ref, t, n),
                ),
            ],
            shape_hint=lambda shape: (
                f"the output is {shape}, it should keep the 9×9 grid: a (1, n) kernel needs "
                "padding (0, n // 2), an (n, 1) kernel padding (n // 2, 0)."
                if len(shape) == 4 and shape[2:] != (9, 9)
                else None
            ),
            widths_hint=(
                "The 1×n goes from in_channels to out_channels, the n×1 from out_channels to "
                "out_channels."
            ),
        )

    return run_check("03.3", check)


def check_parallel_reduction(module_class: type[nn.Module]) -> Verdict:
    """Check a class built as ``module_class(in_channels, conv_channels)``: stride-2 conv ‖ pool."""

    def check() -> str:
        c_in, c_conv = 8, 12
        with fixed_seed(0):
            mine = student(module_class)(c_in, c_conv)
            reference = ParallelReduction(c_in, c_conv)
            x = torch.randn(2, c_in, 14, 14)
        if any(isinstance(m, nn.AvgPool2d) for m in mine.modules()):
            raise Mistake(_MAX_POOLING)
        return compare_modules(
            mine,
            reference,
            x,
            variants=[
                branch_order(_reduction_branches),
                relu_before_bn(),
                no_relu_after_bn(),
                wrong_module(
                    "your pool has no padding and rounds up (ceil_mode=True): that gives 7×7 too, "
                    "but its windows start at the corner instead of one pixel outside, so every "
                    "window is shifted. Use padding=1, as the conv does.",
                    lambda ref, t: _reduction_with_pool(
                        ref, t, F.max_pool2d(t, 3, 2, ceil_mode=True)
                    ),
                ),
                wrong_module(
                    _MAX_POOLING,
                    lambda ref, t: _reduction_with_pool(ref, t, F.avg_pool2d(t, 3, 2, 1)),
                ),
                wrong_module(
                    _MAX_POOLING,
                    lambda ref, t: _reduction_with_pool(
                        ref, t, F.avg_pool2d(t, 3, 2, 1, count_include_pad=False)
                    ),
                ),
                wrong_module(
                    "a ReLU acts on your pool branch: the pooled input is passed on as it is, "
                    "negative values included.",
                    lambda ref, t: _reduction_with_pool(ref, t, F.relu(ref.pool(t))),
                ),
            ],
            branches=_reduction_branches,
            shape_hint=lambda shape: _reduction_shape_hint(shape, c_in, c_conv),
        )

    return run_check("03.4", check)


# --- helpers -------------------------------------------------------------------------------------

_MAX_POOLING = (
    "use max-pooling, nn.MaxPool2d(3, stride=2, padding=1), as the exercise asks (Inception-v3's "
    "grid reductions max-pool too)."
)


def _normalized(
    x: Tensor,
    eps: float,
    dims: tuple[int, ...] = (0, 2, 3),
    unbiased: bool = False,
    eps_inside: bool = True,
) -> Tensor:
    """Batch norm without affine parameters, or one of the typical wrong versions (in float64)."""
    x = x.double()
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, unbiased=unbiased)
    return (x - mean) / ((var + eps).sqrt() if eps_inside else var.sqrt() + eps)


def _same_fraction(got: Number, expected: float) -> bool:
    return close(got, expected, rel=1e-6)


def _saving(n: int, channels: int = 8, size: int = 12) -> float:
    full = count(
        nn.Conv2d(channels, channels, n, padding=n // 2, bias=False), (channels, size, size)
    ).macs
    factorized = count(FactorizedConv(channels, channels, n), (channels, size, size)).macs
    return 1 - factorized / full


def _swapped_padding(reference: FactorizedConv, x: Tensor, n: int) -> Tensor:
    row, column = reference.row, reference.column
    x = row.relu(row.bn(F.conv2d(x, row.conv.weight, padding=(n // 2, 0))))
    return column.relu(column.bn(F.conv2d(x, column.conv.weight, padding=(0, n // 2))))


def _reduction_branches(reference: nn.Module, x: Tensor) -> list[tuple[str, Tensor]]:
    return [("conv", reference.conv(x)), ("max-pool", reference.pool(x))]


def _reduction_with_pool(reference: nn.Module, x: Tensor, pooled: Tensor) -> Tensor:
    return torch.cat([reference.conv(x), pooled], 1)


def _reduction_shape_hint(shape: tuple[int, ...], c_in: int, c_conv: int) -> str | None:
    if len(shape) != 4:
        return None
    if shape[1] == c_conv:
        return (
            f"the output has {shape[1]} channels, only the convolution's: the two branches run "
            f"side by side on the same input and are concatenated, so {c_conv} + {c_in} = "
            f"{c_conv + c_in} channels."
        )
    if shape[2:] == (14, 14):
        return "the grid did not shrink: both branches need stride=2."
    if shape[2:] == (6, 6):
        return (
            "the output is 6×6: add padding=1 to the 3×3 convolution and to the pool so that "
            "14×14 halves to 7×7."
        )
    if shape[1] != c_conv + c_in:
        return (
            f"the output has {shape[1]} channels, expected {c_conv} + {c_in} = {c_conv + c_in}: "
            "the pool branch keeps every input channel."
        )
    return None
