"""Checkers for the exercises of notebook 03 (batch norm, factorization, grid-size reduction).

03.1 writes batch norm, 03.2 derives when a 1×n then n×1 pair is cheaper than one n×n convolution,
03.3 builds the factorized convolution, 03.4 finds and fixes the bug in a grid-reduction module.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..cost import count
from ..models.basic import BasicConv2d
from ._check import (
    Mistake,
    StudentError,
    Verdict,
    fixed_seed,
    run_check,
    student,
    students_code,
)
from ._module_variants import branch_order, no_relu_after_bn, relu_before_bn, wrong_module
from ._modules import compare_modules, forward_layers
from ._values import Number, agree, close, diagnose, number, tensor, tensors_close

__all__ = [
    "FactorizedConv",
    "ParallelReduction",
    "check_batch_norm",
    "check_factorized_conv",
    "check_reduction_fix",
    "check_widest_middle",
    "widest_cheaper_middle",
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


def widest_cheaper_middle(c_in: int, c_out: int, n: int) -> int:
    """Reference for 03.2: the largest C_mid for which a 1×n (C_in → C_mid) then an n×1
    (C_mid → C_out) costs fewer multiply-adds than one n×n convolution from C_in to C_out."""
    # Per output position: n·C_in·C_mid + n·C_mid·C_out < n²·C_in·C_out, i.e.
    # C_mid < n·C_in·C_out / (C_in + C_out): the largest whole number strictly below that.
    return (n * c_in * c_out - 1) // (c_in + c_out)


def check_widest_middle(widest: Callable[[int, int, int], int]) -> Verdict:
    """Check ``widest(c_in, c_out, n)``: the widest middle at which 1×n then n×1 is cheaper."""

    def check() -> str:
        answer = student(widest)
        what = "a whole number of channels"
        got = [number(answer(*case), what) for case in _MIDDLE_CASES]
        expected = [float(widest_cheaper_middle(*case)) for case in _MIDDLE_CASES]
        labels = [f"for C_in={a}, C_out={b}, n={n}" for a, b, n in _MIDDLE_CASES]
        if agree(got, expected):
            return (
                "C_mid < n·C_in·C_out / (C_in + C_out). Compare with the rank bound: to express "
                "every n×n kernel the pair needs C_mid ≥ n·min(C_in, C_out), which is never below "
                "your bound. The pair is cheaper exactly when it cannot express every kernel."
            )
        break_even = [n * a * b / (a + b) for a, b, n in _MIDDLE_CASES]
        if agree(got, break_even, _same_fraction):
            raise Mistake(
                "that is the break-even width n·C_in·C_out / (C_in + C_out), where both cost the "
                "same (and often not a whole number): return the largest whole number of channels "
                f"strictly below it. ({labels[1]}: {break_even[1]:g} → "
                f"{widest_cheaper_middle(*_MIDDLE_CASES[1])}.)"
            )
        fractional = next((g for g in got if not float(g.value).is_integer()), None)
        if fractional is not None:
            raise Mistake(
                f"return {what}, not {fractional.value:g}: a layer cannot have a fraction of a "
                "channel."
            )
        variants = {
            "at C_mid = n·C_in·C_out / (C_in + C_out) exactly, the pair costs as much as the n×n, "
            "not less: when that bound is a whole number, the answer is one below it.": [
                float(n * a * b // (a + b)) for a, b, n in _MIDDLE_CASES
            ],
            "that is the first width that is no longer cheaper (the bound rounded up): the "
            "answer is the last width below the bound.": [
                float(math.ceil(n * a * b / (a + b))) for a, b, n in _MIDDLE_CASES
            ],
            "your formula holds when C_in = C_out only (it uses C_in for both): with different "
            "widths the pair costs n·C_mid·(C_in + C_out) against n²·C_in·C_out.": [
                float((n * a - 1) // 2) for a, _, n in _MIDDLE_CASES
            ],
            "your formula holds when C_in = C_out only (it uses C_out for both): with different "
            "widths the pair costs n·C_mid·(C_in + C_out) against n²·C_in·C_out.": [
                float((n * b - 1) // 2) for _, b, n in _MIDDLE_CASES
            ],
            "you count n² multiply-adds per channel pair for the 1×n and the n×1 as well: each has "
            "n weights per channel pair, so the pair costs n·C_in·C_mid + n·C_mid·C_out.": [
                float((n * n * a * b - 1) // (a + b)) for a, b, n in _MIDDLE_CASES
            ],
        }
        raise diagnose(
            got,
            expected,
            labels,
            variants,
            hint="Count the multiply-adds of each layer per output position (weights × input "
            "channels × output channels), then solve for C_mid.",
        )

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


def check_reduction_fix(module_class: type[nn.Module]) -> Verdict:
    """Check the fixed grid reduction, built as ``module_class(in_channels, conv_channels)``."""

    def check() -> str:
        c_in, c_conv, size = 8, 12, 14
        with fixed_seed(0):
            mine = student(module_class)(c_in, c_conv)
            reference = ParallelReduction(c_in, c_conv)
            x = torch.randn(2, c_in, size, size)
        if any(isinstance(m, nn.AvgPool2d) for m in mine.modules()):
            raise Mistake(_MAX_POOLING)
        try:
            _, out = forward_layers(mine, x, student=True)
        except StudentError as err:
            if "Sizes of tensors must match" in str(err.error):
                err.hint = (
                    "(your branches end on different grids: both must halve it, so the "
                    "convolution needs stride=2 like the pool, and padding=1 like the pool.)"
                )
            raise
        if tuple(out.shape) == (2, c_in + c_conv, size // 2, size // 2):
            with students_code():
                macs = count(mine, (c_in, size, size)).macs
            expected = count(reference, (c_in, size, size)).macs
            if macs > expected:
                raise Mistake(
                    f"your module costs {macs:,} multiply-adds, {macs / expected:.1f}× the "
                    f"parallel block's {expected:,}: your convolution runs on the full "
                    f"{size}×{size} grid and is pooled afterwards. That removes the bottleneck at "
                    "the price of Figure 9's expensive version; Figure 10 avoids both by giving "
                    "the convolution stride 2."
                )
        praise = compare_modules(
            mine,
            reference,
            x,
            variants=[
                wrong_module(_STILL_POOLED, _conv_on_pooled),
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
                    "a ReLU acts on your pool branch: the pooled input is passed on as it is, "
                    "negative values included.",
                    lambda ref, t: _reduction_with_pool(ref, t, F.relu(ref.pool(t))),
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
            ],
            branches=_reduction_branches,
            shape_hint=lambda shape: _reduction_shape_hint(shape, c_in, c_conv),
        )
        return (
            f"{praise} The bug: the convolution read the pooled map, so every output channel saw "
            "the input only through the 7×7 pooled tensor (Figure 9's bottleneck, at Figure 10's "
            "cost). Now the stride-2 convolution reads the input itself."
        )

    return run_check("03.4", check)


# --- helpers -------------------------------------------------------------------------------------

# (C_in, C_out, n): equal and unequal widths, bounds that are whole numbers (64, 64, 3 → 96;
# 48, 80, 5 → 150) and that are not (100, 60, 3 → 112.5), and the single-channel case (1.5).
_MIDDLE_CASES = ((64, 64, 3), (100, 60, 3), (48, 80, 5), (192, 128, 7), (1, 1, 3))

_STILL_POOLED = (
    "your convolution still reads the pooled map: every output channel then sees the input only "
    "through the max-pooled tensor, the representational bottleneck of Figure 9 (left), hidden "
    "behind Figure 10's shapes and cost. The stride-2 convolution must read the input itself."
)

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


def _swapped_padding(reference: FactorizedConv, x: Tensor, n: int) -> Tensor:
    row, column = reference.row, reference.column
    x = row.relu(row.bn(F.conv2d(x, row.conv.weight, padding=(n // 2, 0))))
    return column.relu(column.bn(F.conv2d(x, column.conv.weight, padding=(0, n // 2))))


def _conv_on_pooled(reference: nn.Module, x: Tensor) -> Tensor:
    """The module of exercise 03.4 as given: a stride-1 convolution on the pooled map."""
    conv, pooled = reference.conv, reference.pool(x)
    convolved = conv.relu(conv.bn(F.conv2d(pooled, conv.conv.weight, padding=1)))
    return torch.cat([convolved, pooled], 1)


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
