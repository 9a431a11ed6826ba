"""Checkers for the exercises of notebook 02 (bottlenecks and GoogLeNet)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..cost import count
from ..models.googlenet import TABLE_1, Inception
from ..train import InceptionLoss
from ._check import Mistake, Verdict, compare_modules, fixed_seed, run_check

__all__ = ["check_aux_loss", "check_inception_macs", "check_inception_module", "check_stage_channels"]


def check_inception_macs(inception_macs: Callable[..., int]) -> Verdict:
    """Check ``inception_macs(in_channels, size, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)``."""

    def check() -> str:
        for in_channels, size, name in ((192, 28, "inception3a"), (480, 14, "inception4a"), (832, 7, "inception5b")):
            widths = TABLE_1[name]
            expected = count(Inception(in_channels, *widths), (in_channels, size, size)).macs
            got = inception_macs(in_channels, size, *widths)
            if got != expected:
                naive = expected - widths[1] * in_channels * size * size - widths[3] * in_channels * size * size
                hint = " Did you forget the 1×1 reductions' own cost?" if got == naive else ""
                raise Mistake(f"{name} on a {in_channels}×{size}×{size} input: expected {expected:,} MACs, got {got:,}.{hint}")
        return "the module's cost is the sum of its six convolutions (5×5 branch, as in the paper)."

    return run_check("inception_macs", check)


def check_inception_module(module_class: type[nn.Module]) -> Verdict:
    """Check an Inception module class built as ``module_class(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)``."""

    def check() -> str:
        widths = (8, 4, 6, 2, 4, 4)
        with fixed_seed(0):
            mine = module_class(12, *widths)
            reference = Inception(12, *widths)
            x = torch.randn(2, 12, 9, 9)
        return compare_modules(mine, reference, x)

    return run_check("Inception module", check)


def check_aux_loss(aux_loss: Callable[..., torch.Tensor]) -> Verdict:
    """Check ``aux_loss(outputs, target)`` for GoogLeNet's train-mode (logits, aux2, aux1) outputs."""

    def check() -> str:
        from torchvision.models.googlenet import GoogLeNetOutputs

        with fixed_seed(1):
            logits, aux2, aux1 = torch.randn(3, 6, 10).unbind(0)
            target = torch.randint(0, 10, (6,))
        outputs = GoogLeNetOutputs(logits, aux2, aux1)
        expected = InceptionLoss(0.3)(outputs, target)
        got = aux_loss(outputs, target)
        if not isinstance(got, torch.Tensor) or got.dim() != 0:
            raise Mistake("return the loss as a 0-dimensional tensor (so that you can call .backward() on it).")
        main = F.cross_entropy(logits, target)
        if torch.allclose(got, main):
            raise Mistake("you return the main loss only: add the two auxiliary losses, each weighted 0.3.")
        if torch.allclose(got, main + F.cross_entropy(aux2, target) + F.cross_entropy(aux1, target)):
            raise Mistake("the auxiliary losses should be weighted by 0.3 (paper §5), not 1.")
        if not torch.allclose(got, expected):
            raise Mistake(f"expected loss {expected.item():.4f}, got {got.item():.4f}.")
        return "main loss + 0.3 × each auxiliary loss, as in the paper."

    return run_check("aux_loss", check)


def check_stage_channels(channels: dict[str, int]) -> Verdict:
    """Check a dict mapping each Inception module of Table 1 to its number of output channels."""

    def check() -> str:
        if set(channels) != set(TABLE_1):
            missing = sorted(set(TABLE_1) - set(channels))
            raise Mistake(f"give one entry per module of Table 1; missing: {', '.join(missing) or 'none'}.")
        for name, widths in TABLE_1.items():
            expected = widths[0] + widths[2] + widths[4] + widths[5]
            if channels[name] == sum(widths):
                raise Mistake(f"{name}: the reductions (#3×3 reduce, #5×5 reduce) are not outputs of the module.")
            if channels[name] != expected:
                raise Mistake(f"{name}: expected {expected} output channels, got {channels[name]}.")
        return "output = #1×1 + #3×3 + #5×5 + pool proj, for every module."

    return run_check("stage_channels", check)
