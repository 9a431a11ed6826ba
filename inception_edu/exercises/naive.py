"""Checkers for the exercises of notebook 01 (the naive Inception module)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..cost import count
from ..models.naive import NaiveInception, naive_small
from ..receptive_field import receptive_field
from ._check import Mistake, Verdict, fixed_seed, run_check, student
from ._module_variants import (
    branch_order,
    four_branches,
    no_relu_after_bn,
    relu_before_bn,
    relu_before_bn_everywhere,
    with_pool_branch,
    wrong_module,
)
from ._modules import compare_modules
from ._values import agree, diagnose, number

__all__ = [
    "check_branch_fields",
    "check_conv_macs",
    "check_naive_module",
    "check_naive_out_channels",
]

# The reference module's branches, in concatenation order, with their names in the feedback.
_BRANCHES = four_branches("max-pool")


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
            _colleagues_bugs,
            relu_before_bn(),
            no_relu_after_bn(),
            branch_order(_BRANCHES),
            wrong_module(averaging, lambda ref, t: with_pool_branch(ref, t, _avg_pool(t))),
            wrong_module(averaging, lambda ref, t: with_pool_branch(ref, t, _avg_pool(t, False))),
            wrong_module(
                "a ReLU acts on your pool branch (or on the concatenation): the max-pooled input "
                "is passed on as it is, negative values included.",
                lambda ref, t: with_pool_branch(ref, t, F.relu(ref.branch4(t))),
            ),
        ]
        return compare_modules(
            mine,
            reference,
            x,
            variants=variants,
            branches=_BRANCHES,
            shape_hint=lambda shape: _shape_hint(shape, in_channels, widths),
        )

    return run_check("01.3", check)


def check_branch_fields(fields: object) -> Verdict:
    """Check the receptive field (side, in pixels) of each branch of naive_small's second module.

    ``fields`` is a function returning the answer (or the answer itself): a dict from branch
    ("1×1", "3×3", "5×5", "max-pool") to a side length, or the four sides in that order.
    """

    def check() -> str:
        answer = student(fields)() if callable(fields) else fields
        got = [number(value, "a side length in pixels") for value in _four_sides(answer)]
        expected = [float(r) for r in _second_module_fields()]
        if agree(got, expected):
            r1, r3, r5, rp = (int(r) for r in expected)
            return (
                f"{r1}, {r3}, {r5} and {rp} pixels: the first module's field is its widest "
                f"branch's, and the jump is 4 by then. The 5×5 branch sees {r5}×{r5} pixels, more "
                "than the 28×28 image: every unit's field reaches into the zero padding."
            )
        variants = {
            "you left out the strides: after the first 2×2 pool (stride 2) neighbouring units are "
            "2 input pixels apart, after the second 4, and a k×k layer widens the field by "
            "(k − 1) × that jump.": _fields(jumps=False),
            "you followed the first module's 1×1 branch; the module's output concatenates all "
            "four branches, so a unit after it sees as far as its widest branch, the 5×5.": (
                _fields(first_module=1)
            ),
            "you followed the first module's 3×3 branch; the module's output concatenates all "
            "four branches, so a unit after it sees as far as its widest branch, the 5×5.": (
                _fields(first_module=3)
            ),
            "you left out what the 2×2 max-pools add: a pool is a window too, and widens the "
            "field by (2 − 1) × the jump before it.": _fields(pools_grow=False),
            "the max-pool branch is a 3×3 window on the module's input: it widens the field "
            "like a 3×3 convolution does.": _fields(pool_branch=1),
            "that is the module's field (its widest branch's) for every branch; each branch "
            "has its own.": [_fields()[2]] * 4,
        }
        labels = [f"the {name} branch" for name in _BRANCH_NAMES]
        raise diagnose(got, expected, labels, variants)

    return run_check("01.4", check)


# --- helpers -------------------------------------------------------------------------------------


def _colleagues_bugs(reference: nn.Module, x: Tensor) -> Iterator[tuple[str, Tensor]]:
    """Exercise 3's three bugs, in every combination of two or three, named together (the checks
    of one bug at a time name a module with a single one left)."""
    names = (
        "the ReLU comes before the BatchNorm (conv → BN → ReLU)",
        "the pool branch averages (the naive module max-pools)",
        "the pool branch comes first (the order is 1×1, 3×3, 5×5, pool)",
    )
    for bugs in itertools.product((False, True), repeat=3):
        if sum(bugs) < 2:
            continue
        relu_first, averaging, pool_first = bugs
        with relu_before_bn_everywhere(reference) if relu_first else nullcontext():
            convs = [reference.branch1(x), reference.branch2(x), reference.branch3(x)]
        pooled = _avg_pool(x) if averaging else reference.branch4(x)
        output = torch.cat([pooled, *convs] if pool_first else [*convs, pooled], 1)
        found = "; ".join(name for name, bug in zip(names, bugs) if bug)
        yield (
            f"{sum(bugs)} mistakes at once: {found}. Fix them one at a time and check again.",
            output,
        )


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


_BRANCH_NAMES = ("1×1", "3×3", "5×5", "max-pool")
# Other names a student may give a branch, lower-cased, with "3x3" read as "3×3".
_ALIASES = {
    "1×1": "1×1", "branch1": "1×1", "1": "1×1",
    "3×3": "3×3", "branch2": "3×3", "3": "3×3",
    "5×5": "5×5", "branch3": "5×5", "5": "5×5",
    "max-pool": "max-pool", "maxpool": "max-pool", "max pool": "max-pool", "pool": "max-pool",
    "max_pool": "max-pool", "branch4": "max-pool", "3×3 max-pool": "max-pool",
    "3×3 max pool": "max-pool",
}  # fmt: skip


def _four_sides(answer: object) -> list[object]:
    """The student's four sides in branch order, from a dict or a sequence; else a Mistake."""
    if isinstance(answer, Mapping):
        sides: dict[str, object] = {}
        for key, value in answer.items():
            name = _ALIASES.get(re.sub(r"(\d)\s*[x×]\s*(\d)", r"\1×\2", str(key).strip().lower()))
            if name is None:
                raise Mistake(
                    f"unknown branch {key!r}: name the branches "
                    f"{', '.join(repr(n) for n in _BRANCH_NAMES)}."
                )
            sides[name] = _side(value, name)
        missing = [name for name in _BRANCH_NAMES if name not in sides]
        if missing:
            raise Mistake(f"give a side length for every branch; missing: {', '.join(missing)}.")
        return [sides[name] for name in _BRANCH_NAMES]
    if isinstance(answer, (list, tuple)) and len(answer) == 4:
        return [_side(value, name) for value, name in zip(answer, _BRANCH_NAMES)]
    raise Mistake(
        "return a dict {'1×1': …, '3×3': …, '5×5': …, 'max-pool': …} of side lengths in pixels, "
        f"got {type(answer).__name__}."
    )


def _side(value: object, name: str) -> object:
    """A side length; a square's (h, w) pair counts as its side."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        h, w = value
        if number(h).value != number(w).value:
            raise Mistake(f"the {name} branch's field is square: (h, w) = {tuple(value)} differ.")
        return h
    return value


def _second_module_fields() -> list[int]:
    """The traced fields of naive_small's second module's branches (its `blocks.3`)."""
    net = naive_small()
    return [receptive_field(net, f"blocks.3.branch{i}", (1, 28, 28)).size[0] for i in (1, 2, 3, 4)]


def _fields(
    jumps: bool = True, first_module: int = 5, pools_grow: bool = True, pool_branch: int = 3
) -> list[float]:
    """naive_small's second-module fields by the rule r += (k − 1)·jump, right or typically wrong.

    stem 3×3 → 2×2/2 pool → first module (its widest branch: 5×5) → 2×2/2 pool → each branch.
    """
    pool = 2 if pools_grow else 1
    stem = [(3, 1), (pool, 2), (first_module, 1), (pool, 2)]
    sides = []
    for k in (1, 3, 5, pool_branch):
        size, jump = 1, 1
        for kernel, stride in [*stem, (k, 1)]:
            size += (kernel - 1) * jump
            jump *= stride if jumps else 1
        sides.append(float(size))
    return sides
