"""Checkers for the exercises of notebook 01 (the naive Inception module)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..cost import count
from ..models.naive import NaiveInception
from ._check import Mistake, Verdict, compare_modules, fixed_seed, run_check

__all__ = [
    "check_conv_macs",
    "check_naive_module",
    "check_naive_out_channels",
    "check_receptive_field",
]


def check_naive_out_channels(naive_out_channels: Callable[[int, int, int, int], int]) -> Verdict:
    """Check ``naive_out_channels(in_channels, ch1x1, ch3x3, ch5x5)``: channels a naive module outputs."""

    def check() -> str:
        for case in ((192, 64, 128, 32), (8, 4, 6, 2), (256, 128, 192, 96)):
            expected = NaiveInception(*case).out_channels
            got = naive_out_channels(*case)
            if got == sum(case[1:]):
                raise Mistake(
                    f"for {case} you gave {got}: the sum of the three convolutions. The max-pool branch "
                    "adds channels too: how many does a pooling layer output?"
                )
            if got != expected:
                raise Mistake(f"for in_channels, ch1x1, ch3x3, ch5x5 = {case} expected {expected}, got {got}.")
        return "the pool branch passes every input channel on, so the width can only grow."

    return run_check("naive_out_channels", check)


def check_conv_macs(conv_macs: Callable[[int, int, int, int, int], int]) -> Verdict:
    """Check ``conv_macs(in_channels, out_channels, kernel_size, out_h, out_w)``: MACs of one conv."""

    def check() -> str:
        for c_in, c_out, k, h, w in ((192, 32, 5, 28, 28), (3, 64, 7, 112, 112), (16, 8, 1, 5, 9)):
            conv = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
            expected = count(conv, (c_in, h, w)).macs
            got = conv_macs(c_in, c_out, k, h, w)
            if got == expected:
                continue
            if got == 2 * expected:
                raise Mistake(f"for {(c_in, c_out, k, h, w)} you gave {got:,}: that is FLOPs (2 per multiply-add).")
            if got * k == expected:
                raise Mistake("your count is k times too small: a k×k kernel has k·k weights per input channel.")
            if got * c_in == expected:
                raise Mistake("your count misses the input channels: every output sums over all of them.")
            raise Mistake(f"for {(c_in, c_out, k, h, w)} expected {expected:,} MACs, got {got:,}.")
        return "one multiply-add per weight per output position: c_in · k² · c_out · H · W."

    return run_check("conv_macs", check)


def check_naive_module(module_class: type[nn.Module]) -> Verdict:
    """Check a naive module class built as ``module_class(in_channels, ch1x1, ch3x3, ch5x5)``."""

    def check() -> str:
        with fixed_seed(0):
            mine = module_class(8, 4, 6, 2)
            reference = NaiveInception(8, 4, 6, 2)
            x = torch.randn(2, 8, 10, 10)
        return compare_modules(mine, reference, x)

    return run_check("naive module", check)


def check_receptive_field(receptive_field: Callable[[list[int], list[int]], int]) -> Verdict:
    """Check ``receptive_field(kernel_sizes, strides)``: input pixels seen by one unit of a conv stack."""
    cases = (
        ([3, 3, 3], [1, 1, 1], 7),
        ([5], [1], 5),
        ([3, 3], [2, 1], 7),
        ([7, 3, 3], [2, 2, 1], 19),
        ([1, 1], [1, 1], 1),
    )

    def check() -> str:
        for kernels, strides, expected in cases:
            got = receptive_field(list(kernels), list(strides))
            if got == sum(kernels) - len(kernels) + 1 and expected != got:
                raise Mistake(
                    f"for kernels {kernels}, strides {strides} you gave {got}: right for stride 1, but a "
                    "stride multiplies how far apart later layers' inputs are (the 'jump')."
                )
            if got != expected:
                raise Mistake(f"for kernels {kernels} and strides {strides} expected {expected}, got {got}.")
        return "r grows by (k − 1) × jump, and the jump is the product of the earlier strides."

    return run_check("receptive_field", check)
