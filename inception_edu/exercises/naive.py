"""Checkers for the exercises of notebook 01 (the naive Inception module)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..cost import count
from ..models.naive import NaiveInception
from ._check import Verdict, fixed_seed, run_check, student
from ._module_variants import branch_order, no_relu_after_bn, relu_before_bn, wrong_module
from ._modules import compare_modules
from ._values import agree, diagnose, number

__all__ = [
    "check_conv_macs",
    "check_naive_module",
    "check_naive_out_channels",
    "check_receptive_field",
]


def check_naive_out_channels(naive_out_channels: Callable[[int, int, int, int], int]) -> Verdict:
    """Check ``naive_out_channels(in_channels, ch1x1, ch3x3, ch5x5)``: a naive module's width."""
    cases = ((192, 64, 128, 32), (8, 4, 6, 2), (256, 128, 192, 96))

    def check() -> str:
        answer = student(naive_out_channels)
        got = [number(answer(*case), "a number of channels") for case in cases]
        expected = [NaiveInception(*case).out_channels for case in cases]
        if agree(got, expected):
            return "the pool branch passes every input channel on, so the width can only grow."
        variants = {
            "that is the sum of the three convolutions. The max-pool branch adds channels too: "
            "how many does a pooling layer output?": [a + b + d for _, a, b, d in cases],
            "that is the input's width. The branches' outputs are concatenated along the "
            "channels, so their widths add up.": [c for c, *_ in cases],
            "that is the widest convolution. Concatenation stacks the branches' channels: their "
            "widths add up.": [max(case[1:]) for case in cases],
        }
        labels = [f"for in_channels, ch1x1, ch3x3, ch5x5 = {case}" for case in cases]
        raise diagnose(got, expected, labels, variants)

    return run_check("01.1", check)


def check_conv_macs(conv_macs: Callable[[int, int, int, int, int], int]) -> Verdict:
    """Check ``conv_macs(in_channels, out_channels, kernel_size, out_h, out_w)``: a conv's MACs."""
    cases = ((192, 32, 5, 28, 28), (3, 64, 7, 112, 112), (16, 8, 1, 5, 9))

    def check() -> str:
        answer = student(conv_macs)
        got = [number(answer(*case), "a number of multiply-adds") for case in cases]
        expected = [
            count(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), (c_in, h, w)).macs
            for c_in, c_out, k, h, w in cases
        ]
        if agree(got, expected):
            return "one multiply-add per weight per output position: c_in · k² · c_out · H · W."
        variants = {
            "that is FLOPs (a multiply-add counts as 2 operations): count multiply-adds.": [
                2 * e for e in expected
            ],
            "your count is k times too small: a k×k kernel has k·k weights per input channel.": [
                c_in * k * c_out * h * w for c_in, c_out, k, h, w in cases
            ],
            "your count misses the input channels: every output sums over all of them.": [
                k * k * c_out * h * w for _, c_out, k, h, w in cases
            ],
            "that is the number of weights: each is used once per output position (H · W).": [
                c_in * k * k * c_out for c_in, c_out, k, _, _ in cases
            ],
        }
        raise diagnose(got, expected, [f"for {case}" for case in cases], variants)

    return run_check("01.2", check)


def check_naive_module(module_class: type[nn.Module]) -> Verdict:
    """Check a naive module class built as ``module_class(in_channels, ch1x1, ch3x3, ch5x5)``."""

    def check() -> str:
        in_channels, widths = 8, (4, 6, 2)
        with fixed_seed(0):
            mine = student(module_class)(in_channels, *widths)
            reference = NaiveInception(in_channels, *widths)
            x = torch.randn(2, in_channels, 10, 10)
        averaging = "your pool branch averages: the naive module's fourth branch is a 3×3 max-pool."
        variants = [
            relu_before_bn(),
            no_relu_after_bn(),
            branch_order(_branches),
            wrong_module(averaging, lambda ref, t: _with_pool(ref, t, _avg_pool(t))),
            wrong_module(averaging, lambda ref, t: _with_pool(ref, t, _avg_pool(t, False))),
            wrong_module(
                "a ReLU acts on your pool branch (or on the concatenation): the max-pooled input "
                "is passed on as it is, negative values included.",
                lambda ref, t: _with_pool(ref, t, F.relu(ref.branch4(t))),
            ),
        ]
        return compare_modules(
            mine,
            reference,
            x,
            variants=variants,
            branches=_branches,
            shape_hint=lambda shape: _shape_hint(shape, in_channels, widths),
        )

    return run_check("01.3", check)


def check_receptive_field(receptive_field: Callable[[list[int], list[int]], int]) -> Verdict:
    """Check ``receptive_field(kernel_sizes, strides)``: input pixels one unit of a stack sees."""
    cases = (
        ([3, 3, 3], [1, 1, 1]),
        ([5], [1]),
        ([3, 3], [2, 1]),
        ([7, 3, 3], [2, 2, 1]),
        ([1, 1], [1, 1]),
        ([3, 3, 3], [2, 2, 2]),  # the last two tell the jump from the layer's own stride
        ([3, 5], [3, 1]),
    )

    def check() -> str:
        answer = student(receptive_field)
        got = [number(answer(list(k), list(s)), "a number of pixels") for k, s in cases]
        expected = [_field(k, s) for k, s in cases]
        if agree(got, expected):
            return "r grows by (k − 1) × jump, and the jump is the product of the earlier strides."
        variants = {
            "right for stride 1 only: a stride multiplies how far apart later layers' inputs are "
            "(the 'jump').": [sum(k) - len(k) + 1 for k, _ in cases],
            "you multiply by each layer's own stride; the jump that widens a layer's field is the "
            "product of the strides *before* it.": [
                _field(k, s, own_stride=True) for k, s in cases
            ],
            "you multiply the jump by a layer's stride before growing the field with that layer: "
            "a layer's own stride only spaces its outputs.": [
                _field(k, s, stride_first=True) for k, s in cases
            ],
        }
        labels = [f"for kernels {k} and strides {s}" for k, s in cases]
        raise diagnose(got, expected, labels, variants)

    return run_check("01.4", check)


# --- helpers -------------------------------------------------------------------------------------


def _branches(reference: nn.Module, x: Tensor) -> list[tuple[str, Tensor]]:
    return [
        ("1×1", reference.branch1(x)),
        ("3×3", reference.branch2(x)),
        ("5×5", reference.branch3(x)),
        ("max-pool", reference.branch4(x)),
    ]


def _with_pool(reference: nn.Module, x: Tensor, pooled: Tensor) -> Tensor:
    """The naive module's output with another pool branch."""
    convs = [output for _, output in _branches(reference, x)[:3]]
    return torch.cat([*convs, pooled], 1)


def _avg_pool(x: Tensor, count_include_pad: bool = True) -> Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=count_include_pad)


def _shape_hint(shape: tuple[int, ...], in_channels: int, widths: tuple[int, ...]) -> str | None:
    if len(shape) == 4 and shape[1] == sum(widths):
        return (
            f"your output has {shape[1]} channels, the three convolutions' only: concatenate the "
            f"max-pooled input too ({sum(widths)} + {in_channels} channels)."
        )
    if len(shape) == 4 and shape[2:] != (10, 10):
        return (
            f"your output is {shape[2]}×{shape[3]}; every branch must keep the 10×10 grid: "
            "padding 1 for the 3×3 convolution and the pool, 2 for the 5×5."
        )
    return None


def _field(
    kernels: list[int], strides: list[int], own_stride: bool = False, stride_first: bool = False
) -> int:
    """The receptive field of a chain, or what one of the typical wrong rules gives."""
    size, jump = 1, 1
    for k, s in zip(kernels, strides, strict=True):
        if stride_first:
            jump *= s
        size += (k - 1) * (s if own_stride else jump)
        if not stride_first:
            jump *= s
    return size
