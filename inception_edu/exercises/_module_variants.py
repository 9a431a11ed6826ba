"""Typical wrong modules, computed from the reference's own layers (so with the same weights).

Each function returns a ``Variant``: called with the reference (already in the mode under test) and
the input, it yields (feedback, output of the wrong module). ``compare_modules`` names the first
variant whose output the student's module reproduces.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import torch
from torch import Tensor, nn

from ..models.basic import BasicConv2d
from ._diagnosis import Branches, Variant

__all__ = [
    "branch_order",
    "four_branches",
    "no_relu_after_bn",
    "relu_before_bn",
    "relu_before_bn_everywhere",
    "with_pool_branch",
    "wrong_module",
]

# (reference, input, concatenation of the branches) → the module's output
Combine = Callable[[nn.Module, Tensor, Tensor], Tensor]


def relu_before_bn() -> Variant:
    """Every BasicConv2d computed as conv → ReLU → BN."""
    return wrong_module(
        "your ReLU comes before the BatchNorm: BasicConv2d is conv → BN → ReLU, so the BatchNorm "
        "normalizes the convolution's output and the ReLU acts on the normalized values.",
        lambda reference, x: _with_basic_convs(reference, x, _relu_then_bn),
    )


def relu_before_bn_everywhere(reference: nn.Module):
    """A context in which every BasicConv2d of ``reference`` computes conv → ReLU → BN."""
    return _basic_convs_computing(reference, _relu_then_bn)


def no_relu_after_bn() -> Variant:
    """Every BasicConv2d computed as conv → BN, without its ReLU."""
    return wrong_module(
        "there is no ReLU after your BatchNorms: each BasicConv2d is conv → BN → ReLU, and without "
        "the ReLU stacked convolutions collapse into one linear map.",
        lambda reference, x: _with_basic_convs(reference, x, lambda m, t: m.bn(m.conv(t))),
    )


def four_branches(pool_label: str) -> Branches:
    """The branches of a GoogLeNet-style module (``branch1``…``branch4``: 1×1, 3×3, 5×5, pool)."""

    def branches(reference: nn.Module, x: Tensor) -> list[tuple[str, Tensor]]:
        return [
            ("1×1", reference.branch1(x)),
            ("3×3", reference.branch2(x)),
            ("5×5", reference.branch3(x)),
            (pool_label, reference.branch4(x)),
        ]

    return branches


def with_pool_branch(reference: nn.Module, x: Tensor, pooled: Tensor) -> Tensor:
    """A GoogLeNet-style module's output with ``pooled`` in place of its pool branch."""
    convs = [reference.branch1(x), reference.branch2(x), reference.branch3(x)]
    return torch.cat([*convs, pooled], 1)


def branch_order(branches: Branches, combine: Combine | None = None) -> Variant:
    """The reference's branches concatenated in every other order.

    ``combine(reference, x, maps)`` turns the concatenation into the module's output (default:
    the concatenation itself).
    """

    def variant(reference: nn.Module, x: Tensor) -> Iterator[tuple[str, Tensor]]:
        labelled = branches(reference, x)
        right = ", ".join(label for label, _ in labelled)
        for order in itertools.islice(itertools.permutations(labelled), 1, None):
            mixed = torch.cat([output for _, output in order], 1)
            out = combine(reference, x, mixed) if combine else mixed
            wrong = ", ".join(label for label, _ in order)
            yield (
                f"you concatenate the branches in the order {wrong}; the reference's order is "
                f"{right}. The next layer's weights expect each branch's channels at their place.",
                out,
            )

    return variant


def wrong_module(feedback: str, output: Callable[[nn.Module, Tensor], Tensor]) -> Variant:
    """A variant with one output: ``output(reference, x)`` computes the wrong module."""

    def variant(reference: nn.Module, x: Tensor) -> Iterator[tuple[str, Tensor]]:
        yield feedback, output(reference, x)

    return variant


def _relu_then_bn(unit: BasicConv2d, x: Tensor) -> Tensor:
    return unit.bn(unit.relu(unit.conv(x)))


def _with_basic_convs(
    reference: nn.Module, x: Tensor, forward: Callable[[BasicConv2d, Tensor], Tensor]
) -> Tensor:
    with _basic_convs_computing(reference, forward):
        return reference(x)


@contextmanager
def _basic_convs_computing(
    reference: nn.Module, forward: Callable[[BasicConv2d, Tensor], Tensor]
) -> Iterator[None]:
    """Make the reference's BasicConv2d units compute ``forward`` inside the block.

    An instance attribute ``forward`` shadows the class's method for that instance only; deleting
    it restores the class's. The reference is the checker's own copy, never the student's module.
    """
    units = [m for m in reference.modules() if isinstance(m, BasicConv2d)]
    for unit in units:
        unit.forward = partial(forward, unit)  # type: ignore[method-assign]
    try:
        yield
    finally:
        for unit in units:
            del unit.forward
