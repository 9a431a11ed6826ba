"""Checkers for the exercises of notebook 02 (bottlenecks and GoogLeNet)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..cost import count
from ..models.googlenet import TABLE_1, Inception
from ..train import InceptionLoss
from ._check import Mistake, NotAttempted, Verdict, fixed_seed, run_check, student
from ._module_variants import branch_order, no_relu_after_bn, relu_before_bn, wrong_module
from ._modules import compare_modules
from ._values import Number, agree, attached_loss, close, diagnose, number

__all__ = [
    "check_aux_loss",
    "check_inception_macs",
    "check_inception_module",
    "check_stage_channels",
]

# Inception modules of Table 1 with their input (channels, size): (in_channels, size, name)
_MODULES = ((192, 28, "inception3a"), (480, 14, "inception4a"), (832, 7, "inception5b"))


def check_inception_macs(inception_macs: Callable[..., int]) -> Verdict:
    """Check ``inception_macs(in_channels, size, *six_widths)``: MACs of an Inception module.

    The six widths are Table 1's: ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj.
    """

    def check() -> str:
        answer = student(inception_macs)
        got = [
            number(answer(c, size, *TABLE_1[name]), "a number of multiply-adds")
            for c, size, name in _MODULES
        ]
        expected = [_macs(c, size, TABLE_1[name]) for c, size, name in _MODULES]
        if agree(got, expected):
            return "the sum of the six convolutions' costs (with the paper's 5×5 branch)."
        per_pixel = [(c * s * s, TABLE_1[name]) for c, s, name in _MODULES]
        variants = {
            "you left out the cost of the 1×1 reductions themselves: they run on the full input "
            "width.": [
                e - (w[1] + w[3]) * n for e, (n, w) in zip(expected, per_pixel, strict=True)
            ],
            "you left out the pool branch's 1×1 projection ('pool proj').": [
                e - w[5] * n for e, (n, w) in zip(expected, per_pixel, strict=True)
            ],
            "that is the cost with a 3×3 third branch (torchvision's); the paper's has a 5×5.": [
                _macs(c, s, TABLE_1[name], branch3_kernel=3) for c, s, name in _MODULES
            ],
            "that is FLOPs (2 per multiply-add): count multiply-adds.": [2 * e for e in expected],
        }
        labels = [f"{name} on a {c}×{s}×{s} input" for c, s, name in _MODULES]
        raise diagnose(got, expected, labels, variants)

    return run_check("02.1", check)


def check_inception_module(module_class: type[nn.Module]) -> Verdict:
    """Check an Inception module class built as ``module_class(in_channels, *six_widths)``.

    The six widths are Table 1's: ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj.
    """

    def check() -> str:
        widths = (8, 4, 6, 2, 4, 4)
        with fixed_seed(0):
            mine = student(module_class)(12, *widths)
            reference = Inception(12, *widths)
            x = torch.randn(2, 12, 9, 9)
        if not any(isinstance(m, nn.Conv2d) and m.kernel_size == (5, 5) for m in mine.modules()):
            raise Mistake(
                "your module has no 5×5 convolution: the paper's module (Fig. 2b, Table 1's "
                "'#5×5') has a 1×1 → 5×5 branch; torchvision's GoogLeNet uses a 3×3 there instead."
            )
        variants = [
            relu_before_bn(),
            no_relu_after_bn(),
            branch_order(_branches),
            wrong_module(
                "your pool branch projects before it pools: Fig. 2b max-pools the input first, "
                "then the 1×1 'pool proj' convolution.",
                lambda ref, t: _with_pool_branch(ref, t, ref.branch4[0](ref.branch4[1](t))),
            ),
            wrong_module(
                "your pool branch pools relu(x): the max-pool works on the module's input as it "
                "is, negative values included.",
                lambda ref, t: _with_pool_branch(ref, t, ref.branch4(F.relu(t))),
            ),
        ]
        widths_hint = (
            "Branch widths: 1×1 → ch1x1; 1×1 → ch3x3red → 3×3 → ch3x3; 1×1 → ch5x5red → 5×5 → "
            "ch5x5; max-pool → 1×1 → pool_proj."
        )
        return compare_modules(
            mine, reference, x, variants=variants, branches=_branches, widths_hint=widths_hint
        )

    return run_check("02.2", check)


def check_aux_loss(aux_loss: Callable[..., Tensor]) -> Verdict:
    """Check ``aux_loss(outputs, target)`` for GoogLeNet's train-mode (logits, aux2, aux1)."""

    def check() -> str:
        from torchvision.models.googlenet import GoogLeNetOutputs

        with fixed_seed(1):
            logits, aux2, aux1 = torch.randn(3, 6, 10).unbind(0)
            target = torch.randint(0, 10, (6,))
        leaves = [t.clone().requires_grad_(True) for t in (logits, aux2, aux1)]
        got = number(attached_loss(student(aux_loss)(GoogLeNetOutputs(*leaves), target.clone())))
        with torch.no_grad():
            expected = float(InceptionLoss(0.3)(GoogLeNetOutputs(logits, aux2, aux1), target))
            main, a2, a1 = (float(F.cross_entropy(t, target)) for t in (logits, aux2, aux1))
        if _same_loss(got, expected):
            return "main loss + 0.3 × each auxiliary loss, as in the paper."
        variants = {
            "you return the main loss only: add the two auxiliary losses, each weighted 0.3.": [
                main
            ],
            "the auxiliary losses should be weighted by 0.3 (paper §5), not 1.": [main + a2 + a1],
            "you average the three losses: the main loss counts fully, each auxiliary loss 0.3.": [
                (main + a2 + a1) / 3
            ],
            "you weight the whole sum by 0.3: only the auxiliary losses are discounted.": [
                0.3 * (main + a2 + a1)
            ],
        }
        raise diagnose([got], [expected], ["for random logits"], variants, _same_loss)

    return run_check("02.3", check)


def check_stage_channels(channels: Mapping[str, int] | Callable[[], Mapping[str, int]]) -> Verdict:
    """Check a dict mapping each Inception module of Table 1 to its number of output channels."""

    def check() -> str:
        answer = student(channels)() if callable(channels) else channels
        if not isinstance(answer, Mapping):
            raise Mistake(f"give a dict of module name → channels, got {type(answer).__name__}.")
        if not answer:  # the notebook's template is an empty dict
            raise NotAttempted()
        missing = [name for name in TABLE_1 if name not in answer]
        if missing:
            raise Mistake(f"give one entry per module of Table 1; missing: {', '.join(missing)}.")
        unknown = [str(name) for name in answer if name not in TABLE_1]
        if unknown:
            raise Mistake(f"Table 1 has no module called {', '.join(unknown)}.")
        names = list(TABLE_1)
        got = [number(answer[name], f"a number of channels for {name}") for name in names]
        widths = [TABLE_1[name] for name in names]
        expected = [w[0] + w[2] + w[4] + w[5] for w in widths]
        if agree(got, expected):
            return "output = #1×1 + #3×3 + #5×5 + pool proj, for every module."
        variants = {
            "the reductions (#3×3 reduce, #5×5 reduce) are not outputs of the module: they feed "
            "the 3×3 and 5×5 convolutions.": [sum(w) for w in widths],
            "the pool branch's 'pool proj' channels are part of the output too.": [
                w[0] + w[2] + w[4] for w in widths
            ],
            "you took the reductions' widths for the 3×3 and 5×5 branches: the outputs are #3×3 "
            "and #5×5.": [w[0] + w[1] + w[3] + w[5] for w in widths],
        }
        raise diagnose(got, expected, names, variants)

    return run_check("02.4", check)


# --- helpers -------------------------------------------------------------------------------------


def _macs(in_channels: int, size: int, widths: tuple[int, ...], branch3_kernel: int = 5) -> int:
    module = Inception(in_channels, *widths, branch3_kernel=branch3_kernel)
    return count(module, (in_channels, size, size)).macs


def _same_loss(got: Number, expected: float) -> bool:
    return close(got, expected, rel=1e-5)


def _branches(reference: nn.Module, x: Tensor) -> list[tuple[str, Tensor]]:
    return [
        ("1×1", reference.branch1(x)),
        ("3×3", reference.branch2(x)),
        ("5×5", reference.branch3(x)),
        ("pool", reference.branch4(x)),
    ]


def _with_pool_branch(reference: nn.Module, x: Tensor, pool_branch: Tensor) -> Tensor:
    """The module's output with another pool branch."""
    convs = [output for _, output in _branches(reference, x)[:3]]
    return torch.cat([*convs, pool_branch], 1)
