"""Checkers for the exercises of notebook 04 (Inception-v3)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import cost
from ..models.inception_v3 import InceptionV3A, InceptionV3Aux
from ._check import (
    Mistake,
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
    "REDUCTIONS",
    "check_aux_head_params",
    "check_inception_v3a",
    "check_paper_learning_rate",
    "check_reduction_costs",
    "reduction_module",
]

#: The three ways of §5 to take a d×d×k map to (d/2)×(d/2)×2k, in the exercise's order.
REDUCTIONS = ("pool_first", "conv_first", "parallel")


def reduction_module(way: str, k: int) -> nn.Module:
    """Return the reference module of one of the ``REDUCTIONS`` for ``k`` input channels.

    "pool_first" (Fig. 9, left): 3×3/2 max-pool, then a 3×3 conv k → 2k. "conv_first" (Fig. 9,
    right): a 3×3 conv k → 2k, then the pool. "parallel" (Fig. 10): a 3×3/2 conv k → k beside
    the pool, concatenated. Every conv and pool is padded by 1, so an even d halves exactly.
    """
    if way not in REDUCTIONS:
        raise ValueError(f"way must be one of {', '.join(REDUCTIONS)}, got {way!r}")
    pool = nn.MaxPool2d(3, stride=2, padding=1)
    if way == "pool_first":
        return nn.Sequential(pool, nn.Conv2d(k, 2 * k, 3, padding=1, bias=False))
    if way == "conv_first":
        return nn.Sequential(nn.Conv2d(k, 2 * k, 3, padding=1, bias=False), pool)
    return _Parallel(nn.Conv2d(k, k, 3, stride=2, padding=1, bias=False), pool)


def check_reduction_costs(
    reduction_costs: Callable[[int, int], Mapping[str, Sequence[object]]],
) -> Verdict:
    """Check ``reduction_costs(d, k)``: for each of ``REDUCTIONS``, (MACs, narrowest cut).

    The MACs are measured with ``cost.count`` on the reference modules; the narrowest cut is the
    fewest values that a cut between the input and the output must carry (a cut through parallel
    branches crosses all of them; the input itself does not count).
    """
    cases = ((14, 40), (8, 16), (36, 24))

    def check() -> str:
        answer = student(reduction_costs)
        answers = [_reduction_answer(answer(d, k)) for d, k in cases]
        labels = [f"for d = {d}, k = {k}" for d, k in cases]
        for way in REDUCTIONS:
            got = [a[way][0] for a in answers]
            expected = [_measured_macs(way, d, k) for d, k in cases]
            if not agree(got, expected, _same_count):
                raise diagnose(
                    got,
                    expected,
                    labels,
                    _macs_variants(way, cases),
                    _same_count,
                    hint=f"{way}: {_MACS_HINTS[way]}",
                )
            got = [a[way][1] for a in answers]
            expected = [_narrowest(way, d, k) for d, k in cases]
            if not agree(got, expected, _same_count):
                raise diagnose(
                    got,
                    expected,
                    labels,
                    _narrowest_variants(way, cases),
                    _same_count,
                    hint=f"{way}: the smallest tensor, or set of parallel tensors, that everything "
                    "passes through.",
                )
        d, k = cases[0]
        macs = {way: _measured_macs(way, d, k) for way in REDUCTIONS}
        return (
            f"for d = {d}, k = {k}: pool first {macs['pool_first'] / 1e6:.2f} M MACs through a "
            f"cut of only {_narrowest('pool_first', d, k):,} values; conv first 4× the MACs "
            f"({macs['conv_first'] / 1e6:.2f} M); parallel half of pool-first's "
            f"({macs['parallel'] / 1e6:.2f} M) with no bottleneck: §5's argument for Fig. 10."
        )

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


class _Parallel(nn.Module):
    """Two stride-2 branches of one input, concatenated (Fig. 10)."""

    def __init__(self, conv: nn.Module, pool: nn.Module) -> None:
        super().__init__()
        self.conv, self.pool = conv, pool

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.conv(x), self.pool(x)], 1)


_MACS_HINTS = {
    "pool_first": "one 3×3 conv k → 2k on the pooled (d/2)×(d/2) grid.",
    "conv_first": "one 3×3 conv k → 2k on the full d×d grid (the pool costs no multiply-adds).",
    "parallel": "one 3×3 conv k → k whose stride 2 gives a (d/2)×(d/2) output; the pool adds "
    "the other k channels for free.",
}


@functools.lru_cache(maxsize=32)
def _measured_macs(way: str, d: int, k: int) -> int:
    with torch.device("meta"):  # counting needs shapes only
        module = reduction_module(way, k)
    return cost.count(module, (k, d, d)).macs


def _narrowest(way: str, d: int, k: int) -> int:
    half = (d // 2) ** 2
    return half * k if way == "pool_first" else half * 2 * k


def _macs_variants(way: str, cases: Sequence[tuple[int, int]]) -> dict[str, list[float]]:
    def each(formula: Callable[[int, int], float]) -> list[float]:
        return [formula(d, k) for d, k in cases]

    full, half = (lambda d: d * d), (lambda d: (d // 2) ** 2)
    right = each(lambda d, k: _measured_macs(way, d, k))
    variants: dict[str, list[float]] = {}
    if way == "pool_first":
        variants[
            "you ran the conv on the full d×d grid: pooling first leaves it (d/2)×(d/2), "
            "a quarter of the positions."
        ] = each(lambda d, k: full(d) * 9 * k * 2 * k)
    if way == "conv_first":
        variants["the conv runs before the pool, on the full d×d grid, not on (d/2)×(d/2)."] = each(
            lambda d, k: half(d) * 9 * k * 2 * k
        )
    if way == "parallel":
        variants[
            "a stride-2 conv computes outputs only on the (d/2)×(d/2) grid: count its "
            "output positions, not its input's."
        ] = each(lambda d, k: full(d) * 9 * k * k)
        variants[
            "the conv branch needs only k channels: the pool branch passes the other k "
            "(the input's) on, concatenated."
        ] = each(lambda d, k: half(d) * 9 * k * 2 * k)
    generic = {
        "you left out the 3×3 kernel: each output value of a 3×3 conv takes 9 × (input "
        "channels) multiply-adds (the paper's 2d²k² counts per position, not per weight).": [
            m / 9 for m in right
        ],
        "that is twice the multiply-adds: you counted FLOPs (a multiply and an add) or both "
        "halves of a multiply-add.": [2 * m for m in right],
    }
    # The way's own mistakes first: an answer twice too large has two readings.
    return {**variants, **generic}


def _narrowest_variants(way: str, cases: Sequence[tuple[int, int]]) -> dict[str, list[float]]:
    def each(formula: Callable[[int, int], float]) -> list[float]:
        return [formula(d, k) for d, k in cases]

    variants = {
        "the input does not count: the cut lies between the input and the output, and you want "
        "the narrowest one.": each(lambda d, k: d * d * k),
    }
    if way == "pool_first":
        variants[
            "that is the output; before it, everything passes through the pooled map of "
            "(d/2)²·k values: the representational bottleneck of Fig. 9 (left)."
        ] = each(lambda d, k: (d // 2) ** 2 * 2 * k)
    if way == "conv_first":
        variants[
            "that is the widest tensor (the conv's output on the full grid); the narrowest "
            "is the pooled output."
        ] = each(lambda d, k: d * d * 2 * k)
    if way == "parallel":
        variants[
            "a cut between input and output must cross both branches: the conv's k "
            "channels and the pool's k channels together."
        ] = each(lambda d, k: (d // 2) ** 2 * k)
    return variants


def _reduction_answer(value: object) -> dict[str, tuple[Number, Number]]:
    """The student's dict of way → (MACs, narrowest cut) as Numbers, or a Mistake."""
    if not isinstance(value, Mapping):
        raise Mistake(
            f"return a dict with the keys {', '.join(REDUCTIONS)}, got {type(value).__name__}."
        )
    missing = [way for way in REDUCTIONS if way not in value]
    if missing:
        raise Mistake(f"return one entry per way; missing: {', '.join(missing)}.")
    answer = {}
    for way in REDUCTIONS:
        pair = value[way]
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__iter__"):
            raise Mistake(f"{way}: give a pair (MACs, narrowest cut), got {pair!r}.")
        with students_code():
            items = list(pair)
        if len(items) != 2:
            raise Mistake(f"{way}: give a pair (MACs, narrowest cut), got {len(items)} values.")
        answer[way] = (
            number(items[0], f"a number of MACs for {way}"),
            number(items[1], f"a number of values for {way}"),
        )
    return answer


def _same_count(got: Number, expected: float) -> bool:
    return close(got, expected, rel=1e-9)


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
