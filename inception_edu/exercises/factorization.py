"""Checkers for the exercises of notebook 03 (batch norm, factorization, grid-size reduction)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..cost import count
from ..models.basic import BasicConv2d
from ._check import Mistake, Verdict, compare_modules, fixed_seed, run_check

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.column(self.row(x))


class ParallelReduction(nn.Module):
    """Reference: Fig. 10 in its simplest form, a stride-2 conv beside a stride-2 max-pool."""

    def __init__(self, in_channels: int, conv_channels: int) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_channels, conv_channels, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.pool(x)], 1)


def check_batch_norm(batch_norm: Callable[..., torch.Tensor]) -> Verdict:
    """Check ``batch_norm(x, eps)``: train-mode batch norm of an N×C×H×W tensor, no scale/shift."""

    def check() -> str:
        with fixed_seed(0):
            scale = torch.tensor([1.0, 3.0, 0.5]).view(1, 3, 1, 1)
            x = torch.randn(4, 3, 5, 5) * scale + 2.0
        x[:, 2] = 0.7  # a constant channel: its variance is 0, so eps decides the result
        eps = 1e-3
        expected = F.batch_norm(x, None, None, training=True, eps=eps)
        got = batch_norm(x.clone(), eps)
        if not isinstance(got, torch.Tensor) or got.shape != x.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise Mistake(f"return a tensor of the input's shape {tuple(x.shape)}, got {shape}.")
        if torch.isnan(got).any():
            raise Mistake(
                "your output has NaNs: channel 2 of the test input is constant, so its variance "
                "is 0. That is what eps is for: divide by sqrt(var + eps)."
            )
        if torch.allclose(got, expected, atol=1e-4):
            return "one mean and one variance per channel, over the batch and every position."

        def normalized(dims, unbiased=False, eps_inside=True):
            mean = x.mean(dims, keepdim=True)
            var = x.var(dims, keepdim=True, unbiased=unbiased)
            if eps_inside:
                return (x - mean) / (var + eps).sqrt()
            return (x - mean) / (var.sqrt() + eps)

        hints = [
            (normalized((0, 1, 2, 3)), (
                "you used one mean and variance for the whole tensor: batch norm keeps one per "
                "channel, computed over dims (0, 2, 3)."
            )),
            (normalized(0), (
                "you computed statistics per pixel (over the batch only): a convolutional batch "
                "norm shares them across positions, so reduce over dims (0, 2, 3)."
            )),
            (normalized((1, 2, 3)), (
                "you normalized each image on its own (that is layer norm): batch norm averages "
                "over the batch, per channel: dims (0, 2, 3)."
            )),
            (normalized((0, 2, 3), unbiased=True), (
                "almost: use the biased variance (unbiased=False), dividing by N·H·W as batch "
                "norm does, not by N·H·W − 1."
            )),
            (normalized((0, 2, 3), eps_inside=False), (
                "almost: eps goes inside the square root, sqrt(var + eps), not after it."
            )),
        ]  # fmt: skip
        for wrong, hint in hints:
            if torch.allclose(got, wrong, atol=1e-4):
                raise Mistake(hint)
        diff = (got - expected).abs().max().item()
        raise Mistake(
            f"your output differs from batch norm's by up to {diff:.3g}: compute "
            "(x − mean) / sqrt(var + eps) with per-channel statistics."
        )

    return run_check("batch_norm", check)


def check_asymmetric_saving(saving: Callable[[int], float]) -> Verdict:
    """Check ``saving(n)``: share of MACs saved by 1×n then n×1 instead of n×n (C → C)."""

    def check() -> str:
        channels, size = 8, 12
        for n in (5, 7, 3):
            full_conv = nn.Conv2d(channels, channels, n, padding=n // 2, bias=False)
            full = count(full_conv, (channels, size, size)).macs
            factorized = count(FactorizedConv(channels, channels, n), (channels, size, size)).macs
            expected = 1 - factorized / full
            got = saving(n)
            if not isinstance(got, (int, float)):
                kind = type(got).__name__
                raise Mistake(f"return a number (a fraction between 0 and 1), got {kind}.")
            if abs(got - expected) < 1e-6:
                continue
            if abs(got - 100 * expected) < 1e-4:
                raise Mistake(
                    f"for n={n} you gave {got}: a percentage. Return the fraction, {expected:.4f}."
                )
            if abs(got - (1 - expected)) < 1e-6:
                raise Mistake(
                    f"for n={n} you gave {got:.4f}: the share of the cost that remains (2n / n²). "
                    "The saving is the part that goes away."
                )
            if abs(got - (1 - 1 / n)) < 1e-6:
                raise Mistake(
                    f"for n={n} you gave {got:.4f} = 1 − 1/n: the factorization has two layers of "
                    "n weights each (per pair of channels), so 2n weights instead of n²."
                )
            raise Mistake(f"for n={n} expected a saving of {expected:.4f}, got {got}.")
        return "2n weights instead of n²: 1 − 2/n, a third for n = 3 and 71 % for n = 7."

    return run_check("asymmetric saving", check)


def _shape_hints(mine: nn.Module, x: torch.Tensor, expected: tuple[int, ...], hints) -> None:
    """Run ``mine`` on ``x``; raise the first hint whose condition holds on the output shape."""
    mine.eval()
    with torch.no_grad():
        got = mine(x)
    if not isinstance(got, torch.Tensor):
        raise Mistake(f"forward should return one tensor, it returned {type(got).__name__}.")
    shape = tuple(got.shape)
    if shape == expected:
        return
    for condition, hint in hints:
        if condition(shape):
            raise Mistake(hint.format(shape=shape, expected=expected))
    raise Mistake(f"for an input of shape {tuple(x.shape)} expected {expected}, got {shape}.")


def check_factorized_conv(module_class: type[nn.Module]) -> Verdict:
    """Check a class built as ``module_class(in_channels, out_channels, n)``: 1×n then n×1."""

    def check() -> str:
        n = 5
        with fixed_seed(0):
            mine = module_class(6, 8, n)
            reference = FactorizedConv(6, 8, n)
            x = torch.randn(2, 6, 9, 9)
        convs = [m for m in mine.modules() if isinstance(m, nn.Conv2d)]
        if len(convs) != 2:
            raise Mistake(
                f"use exactly two convolutions (a 1×{n}, then a {n}×1), you have {len(convs)}."
            )
        kernels = (convs[0].kernel_size, convs[1].kernel_size)
        if kernels == ((n, 1), (1, n)):
            raise Mistake(
                f"you start with the {n}×1 (a column). That factorizes too, but this exercise, "
                f"like the library's blocks, starts with the 1×{n} row: kernel_size=(1, {n})."
            )
        if kernels != ((1, n), (n, 1)):
            raise Mistake(f"the kernels should be (1, {n}) then ({n}, 1), yours are {kernels}.")
        paddings = (tuple(convs[0].padding), tuple(convs[1].padding))
        if paddings != ((0, n // 2), (n // 2, 0)):
            raise Mistake(
                f"your paddings are {paddings[0]} and {paddings[1]}. A (1, n) kernel needs padding "
                "(0, n // 2) (it reaches sideways only), an (n, 1) kernel padding (n // 2, 0)."
            )
        _shape_hints(mine, x, (2, 8, 9, 9), [
            (lambda s: s[2:] != (9, 9), (
                "the output is {shape}, it should keep the 9×9 grid: a (1, n) kernel needs "
                "padding (0, n // 2), an (n, 1) kernel padding (n // 2, 0)."
            )),
        ])  # fmt: skip
        if not any(isinstance(m, nn.BatchNorm2d) for m in mine.modules()):
            raise Mistake(
                "build both layers with BasicConv2d (conv → BN → ReLU): the non-linearity between "
                "the two halves is part of the factorization (§3.1 found it better than linear)."
            )
        return compare_modules(mine, reference, x)

    return run_check("factorized conv", check)


def check_parallel_reduction(module_class: type[nn.Module]) -> Verdict:
    """Check a class built as ``module_class(in_channels, conv_channels)``: stride-2 conv ‖ pool."""

    def check() -> str:
        c_in, c_conv = 8, 12
        with fixed_seed(0):
            mine = module_class(c_in, c_conv)
            reference = ParallelReduction(c_in, c_conv)
            x = torch.randn(2, c_in, 14, 14)
        expected = (2, c_conv + c_in, 7, 7)
        _shape_hints(mine, x, expected, [
            (lambda s: s[1] == c_conv, (
                "the output has {shape[1]} channels, only the convolution's: the two branches run "
                "side by side on the same input and are concatenated, so "
                f"{c_conv} + {c_in} = {c_conv + c_in} channels."
            )),
            (lambda s: s[2:] == (14, 14), "the grid did not shrink: both branches need stride=2."),
            (lambda s: s[2:] == (6, 6), (
                "the output is 6×6: add padding=1 to the 3×3 convolution and to the pool so that "
                "14×14 halves to 7×7."
            )),
            (lambda s: s[1] != c_conv + c_in, (
                "the output has {shape[1]} channels, expected "
                f"{c_conv} + {c_in} = {c_conv + c_in}: the pool branch keeps every input channel."
            )),
        ])  # fmt: skip
        if any(isinstance(m, nn.AvgPool2d) for m in mine.modules()):
            raise Mistake(
                "use max-pooling, nn.MaxPool2d(3, stride=2, padding=1), as in Fig. 10's pool "
                "branch."
            )
        try:
            return compare_modules(mine, reference, x)
        except Mistake as mistake:
            hint = "(Concatenate the conv branch first, then the pool.)"
            raise Mistake(f"{mistake} {hint}") from None

    return run_check("parallel reduction", check)
