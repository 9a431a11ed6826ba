"""Checkers for the exercises of notebook 04 (Inception-v3)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.inception_v3 import InceptionV3A, InceptionV3Aux, inception_v3
from ._check import (
    Mistake,
    NotAttempted,
    Verdict,
    fixed_seed,
    n_params,
    run_check,
    student,
    students_code,
)
from ._module_variants import branch_order, no_relu_after_bn, relu_before_bn, wrong_module
from ._modules import compare_modules
from ._values import Number, agree, close, diagnose, number

__all__ = [
    "MIXED_BLOCKS",
    "check_aux_head_params",
    "check_inception_v3a",
    "check_paper_learning_rate",
    "check_v3_shapes",
    "mixed_shapes",
]

#: The Inception blocks of Inception-v3, in order (torchvision's names).
MIXED_BLOCKS = (
    "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b",
    "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c",
)  # fmt: skip


def mixed_shapes(size: int = 299) -> dict[str, tuple[int, int, int]]:
    """Return the (C, H, W) output of every Mixed block of ``inception_v3()`` on a size×size image.

    Runs on the meta device: shapes only, no memory and no arithmetic.
    """
    return dict(_mixed_shapes(size))


def check_v3_shapes(
    shapes: Mapping[str, Sequence[int]] | Callable[[], Mapping[str, Sequence[int]]],
) -> Verdict:
    """Check the output (C, H, W) of each Mixed block for a 3×299×299 input.

    ``shapes`` is a dict mapping block names to shapes, or a function returning one.
    """

    def check() -> str:
        answer = student(shapes)() if callable(shapes) else shapes
        if not isinstance(answer, Mapping):
            raise Mistake(f"give a dict of block name → (C, H, W), got {type(answer).__name__}.")
        if not answer:
            raise NotAttempted()
        expected = mixed_shapes(299)
        missing = [name for name in MIXED_BLOCKS if name not in answer]
        if missing:
            raise Mistake(f"give one (C, H, W) entry per block; missing: {', '.join(missing)}.")
        for name in MIXED_BLOCKS:
            got, want = _shape(name, answer[name]), expected[name]
            if got != want:
                raise _shape_mistake(name, got, want)
        return "35×35 → 17×17 → 8×8 while the channels grow 256 → 768 → 2048."

    return run_check("04.1", check)


def check_inception_v3a(module_class: type[nn.Module]) -> Verdict:
    """Check a class built as ``module_class(in_channels, pool_features)``: the 35×35 block."""

    def check() -> str:
        with fixed_seed(0):
            mine = student(module_class)(24, 8)
            reference = InceptionV3A(24, pool_features=8)
            x = torch.randn(2, 24, 7, 7)
        if any(isinstance(m, nn.MaxPool2d) for m in mine.modules()):
            raise Mistake(_AVERAGE_POOLING)
        kernels = {m.kernel_size for m in mine.modules() if isinstance(m, nn.Conv2d)}
        if (5, 5) not in kernels:
            raise Mistake(
                "no 5×5 convolution: that is the paper's Fig. 5, but the released network (and "
                "torchvision, and this library) keeps a 1×1 (48) → 5×5 (64) branch beside the "
                "two stacked 3×3s. Build the released block."
            )
        return compare_modules(
            mine,
            reference,
            x,
            variants=[
                relu_before_bn(),
                no_relu_after_bn(),
                branch_order(_v3a_branches),
                wrong_module(
                    "your average pool leaves the zero padding out of the average "
                    "(count_include_pad=False): the released block, like torchvision's, counts it "
                    "(the default), so the border pixels differ.",
                    lambda ref, t: _v3a_with_pool(
                        ref, t, lambda u: F.avg_pool2d(u, 3, 1, 1, count_include_pad=False)
                    ),
                ),
                wrong_module(
                    _AVERAGE_POOLING,
                    lambda ref, t: _v3a_with_pool(ref, t, lambda u: F.max_pool2d(u, 3, 1, 1)),
                ),
                wrong_module(
                    "your pool branch projects before it pools: average-pool the input first, "
                    "then the 1×1 convolution to pool_features.",
                    lambda ref, t: torch.cat(
                        [out for _, out in _v3a_branches(ref, t)[:3]]
                        + [ref.pool(ref.branch_pool(t))],
                        1,
                    ),
                ),
            ],
            branches=_v3a_branches,
            widths_hint=(
                "Branch widths: 1×1: 64; 1×1 48 → 5×5 64; 1×1 64 → 3×3 96 → 3×3 96; avg-pool → "
                "1×1 pool_features."
            ),
        )

    return run_check("04.2", check)


def check_aux_head_params(aux_head_params: Callable[[int, int], int]) -> Verdict:
    """Check ``aux_head_params(in_channels, num_classes)``: parameters of ``InceptionV3Aux``."""
    cases = ((768, 1000), (96, 10), (768, 10))

    def check() -> str:
        answer = student(aux_head_params)
        got = [number(answer(c, k), "a number of parameters") for c, k in cases]
        expected = [n_params(InceptionV3Aux(c, k)) for c, k in cases]
        if agree(got, expected):
            return (
                "1×1 conv to 128, 5×5 conv to 768 (the head's 'fully connected' layer), BN after "
                "both, then a linear classifier."
            )
        bn = 2 * (128 + 768)  # scale and shift of the two BatchNorms
        variants = {
            f"{bn:,} short: each BasicConv2d ends in a BatchNorm with a scale and a shift per "
            "channel (the BN of 'BN-auxiliary').": [e - bn for e in expected],
            "BasicConv2d's convolutions have no bias (BatchNorm's shift does that job), so do not "
            "count 128 + 768 biases.": [e + 128 + 768 for e in expected],
            "the final linear layer has a bias per class too.": [
                e - k for e, (_, k) in zip(expected, cases, strict=True)
            ],
            "count BatchNorm's learned scale and shift only; its running mean and variance are "
            "buffers, not parameters.": [e + bn for e in expected],
        }
        labels = [f"for in_channels={c}, num_classes={k}" for c, k in cases]
        raise diagnose(got, expected, labels, variants)

    return run_check("04.3", check)


def check_paper_learning_rate(learning_rate: Callable[[int], float]) -> Verdict:
    """Check ``learning_rate(epoch)``: the paper's 0.045, decayed by 0.94 every two epochs."""
    epochs = (0, 1, 2, 3, 10, 99)

    def check() -> str:
        answer = student(learning_rate)
        got = [number(answer(epoch), "a learning rate (a number)") for epoch in epochs]
        expected = [0.045 * 0.94 ** (epoch // 2) for epoch in epochs]
        if agree(got, expected, _same_rate):
            return "0.045 × 0.94^(epoch // 2): by epoch 100 the rate is about 1/20 of its start."
        variants = {
            "that decays every epoch, the paper every two: 0.94 ** (epoch // 2).": [
                0.045 * 0.94**epoch for epoch in epochs
            ],
            "a smooth decay (what train.fit's 'exponential' schedule does, step by step). The "
            "paper's rate drops in stairs: 0.94 ** (epoch // 2).": [
                0.045 * 0.94 ** (epoch / 2) for epoch in epochs
            ],
            "your rate drops at the odd epochs (1, 3, …): the first decay comes after two full "
            "epochs, at epoch 2: 0.94 ** (epoch // 2), not ((epoch + 1) // 2).": [
                0.045 * 0.94 ** ((epoch + 1) // 2) for epoch in epochs
            ],
            "your rate is already decayed at epoch 0: training starts at 0.045.": [
                0.045 * 0.94 ** (epoch // 2 + 1) for epoch in epochs
            ],
        }
        labels = [f"at epoch {epoch}" for epoch in epochs]
        raise diagnose(got, expected, labels, variants, _same_rate)

    return run_check("04.4", check)


# --- helpers -------------------------------------------------------------------------------------

_AVERAGE_POOLING = (
    "the pool branch of Inception-v3's blocks uses average pooling: nn.AvgPool2d(3, stride=1, "
    "padding=1), then a 1×1 convolution."
)


def _same_rate(got: Number, expected: float) -> bool:
    return close(got, expected, rel=1e-9)


@functools.lru_cache(maxsize=4)
def _mixed_shapes(size: int) -> tuple[tuple[str, tuple[int, int, int]], ...]:
    shapes: dict[str, tuple[int, int, int]] = {}

    def recorder(name: str):
        def hook(module, inputs, output):
            shapes[name] = tuple(output.shape[1:])

        return hook

    with torch.device("meta"):
        model = inception_v3(aux_logits=False).eval()
        for name in MIXED_BLOCKS:
            getattr(model, name).register_forward_hook(recorder(name))
        model(torch.zeros(1, 3, size, size))
    return tuple(shapes.items())


def _shape(name: str, value: object) -> tuple[int, ...]:
    """The student's (C, H, W) for a block as a tuple of ints, or a Mistake."""
    # Tuples, lists, torch.Size, a 3-element tensor or array: anything iterable but text.
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise Mistake(f"{name}: give (channels, height, width), got {value!r}.")
    with students_code():
        items = list(value)
    values = [number(v, f"whole numbers for {name}") for v in items]
    if len(values) != 3 or any(not v.value.is_integer() for v in values):
        shown = tuple(v.value for v in values)
        raise Mistake(
            f"{name}: give (channels, height, width) as three whole numbers, got {shown}."
        )
    return tuple(int(v.value) for v in values)


def _shape_mistake(name: str, got: tuple[int, ...], want: tuple[int, int, int]) -> Mistake:
    if got[0] == want[0]:
        return Mistake(
            f"{name}: the grid is {want[1]}×{want[2]}, not {got[1]}×{got[2]}. The ImageNet "
            "network's reductions are unpadded: a 3×3 window with stride 2 takes a d×d "
            "grid to (d − 3) // 2 + 1."
        )
    if name in ("Mixed_6a", "Mixed_7a") and got[0] < want[0]:
        return Mistake(
            f"{name}: {got[0]} channels is too few. A grid reduction's max-pool branch "
            "passes every input channel on, concatenated with the conv branches."
        )
    if name in ("Mixed_7b", "Mixed_7c") and got[0] == want[0] - 768:
        return Mistake(
            f"{name}: the 1×3 and 3×1 convolutions of Fig. 7 run side by side and are "
            "concatenated, 384 channels each, in both of the block's split branches."
        )
    return Mistake(f"{name}: expected {want}, got {got}.")


def _v3a_branches(
    reference: nn.Module, x: Tensor, pool: Callable[[Tensor], Tensor] | None = None
) -> list[tuple[str, Tensor]]:
    pool = pool or reference.pool
    return [
        ("1×1", reference.branch1x1(x)),
        ("5×5", reference.branch5x5_2(reference.branch5x5_1(x))),
        (
            "double 3×3",
            reference.branch3x3dbl_3(reference.branch3x3dbl_2(reference.branch3x3dbl_1(x))),
        ),
        ("pool", reference.branch_pool(pool(x))),
    ]


def _v3a_with_pool(reference: nn.Module, x: Tensor, pool: Callable[[Tensor], Tensor]) -> Tensor:
    return torch.cat([out for _, out in _v3a_branches(reference, x, pool)], 1)
