"""Checkers for the exercises of notebook 06 (Inception-v4 and Inception-ResNet)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ..models.inception_resnet import InceptionResNetA
from ..models.inception_v4 import REDUCTION_A, ReductionA
from ._check import Mistake, Verdict, copy_weights, fixed_seed, n_params, run_check

__all__ = ["check_reduction_a_channels", "check_residual_block", "check_residual_variance"]

# The channels entering Reduction-A in each network of the paper
_REDUCTION_A_INPUTS = {"inception_v4": 384, "inception_resnet_v1": 256, "inception_resnet_v2": 320}


def check_reduction_a_channels(reduction_a_channels: Callable[[int, int, int, int, int], int]) -> Verdict:
    """Check ``reduction_a_channels(in_channels, k, l, m, n)``: the channels Reduction-A outputs."""

    def check() -> str:
        for network, in_channels in _REDUCTION_A_INPUTS.items():
            k, l, m, n = REDUCTION_A[network]
            expected = ReductionA(in_channels, k, l, m, n).out_channels
            got = reduction_a_channels(in_channels, k, l, m, n)
            if got == expected:
                continue
            if got == n + m:
                raise Mistake(
                    f"{network}: you gave {got} = n + m. The max-pool branch outputs channels too: "
                    "every one of its input channels."
                )
            if got in (k + l + m + n, k + l + m + n + in_channels):
                raise Mistake(
                    f"{network}: k and l are the widths of the 1×1 and 3×3 convs *inside* the second "
                    "branch; only the last conv of each branch (m, n) reaches the concatenation."
                )
            raise Mistake(f"{network}: expected {expected} channels from {in_channels}, got {got}.")
        return "n + m + the input channels that the pooling branch passes on (384 → 1024 in v4)."

    return run_check("reduction_a_channels", check)


def _variants(reference: InceptionResNetA, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Outputs of typical wrong residual blocks built from the reference's own layers."""
    with torch.no_grad():
        mixed = torch.cat([reference.branch0(x), reference.branch1(x), reference.branch2(x)], 1)
        r, s = reference.conv2d(mixed), reference.scale
        return {
            "you do not multiply the residual by `scale` before adding it: the paper scales it "
            "down (0.1–0.3) so that wide networks stay stable.": torch.relu(x + r),
            "the ReLU after the sum is missing: relu(x + scale · residual).": x + s * r,
            "you scale the whole sum; only the residual is scaled: relu(x + scale · residual).": torch.relu(
                s * (x + r)
            ),
            "the shortcut is missing: add the block's input x to the scaled residual.": torch.relu(s * r),
            "a ReLU sits on the residual before the sum; the 1×1 projection is linear, and the only "
            "ReLU comes after the sum.": torch.relu(x + s * torch.relu(r)),
        }


def check_residual_block(block_class: type[nn.Module]) -> Verdict:
    """Check an Inception-ResNet-A block (v1 widths) built as ``block_class(in_channels, scale)``."""

    def check() -> str:
        in_channels, scale = 64, 0.17
        with fixed_seed(0):
            mine = block_class(in_channels, scale)
            reference = InceptionResNetA(in_channels, 32, (32, 32), (32, 32, 32), scale=scale)
            x = torch.relu(torch.randn(2, in_channels, 9, 9))
            # Non-trivial BN statistics, so that a missing or misplaced layer shows in the outputs.
            for module in reference.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.running_mean.uniform_(-0.2, 0.2)
                    module.running_var.uniform_(0.5, 1.5)
                    module.bias.data.uniform_(-0.2, 0.2)
        mine.eval()
        reference.eval()
        with torch.no_grad():
            got = mine(x)
        if not isinstance(got, torch.Tensor):
            raise Mistake(f"forward should return one tensor, it returned {type(got).__name__}.")
        if got.shape != x.shape:
            raise Mistake(
                f"a residual block returns a map shaped like its input {tuple(x.shape)}; yours is "
                f"{tuple(got.shape)}. The 1×1 projection must bring the 96 concatenated channels "
                "back to in_channels."
            )
        extra = n_params(mine) - n_params(reference)
        if extra == in_channels:
            raise Mistake(
                "you have in_channels parameters too many: the 1×1 projection has no BatchNorm "
                "(a plain nn.Conv2d with a bias), since the paper puts BN only on the conv layers, "
                "not on the summations."
            )
        if extra == -in_channels:
            raise Mistake("the 1×1 projection needs a bias (it has no BatchNorm after it).")
        if extra:
            raise Mistake(
                f"your block has {n_params(mine):,} parameters, the reference {n_params(reference):,}: "
                "v1's widths are 32 (1×1), 32 → 32 (1×1, 3×3) and 32 → 32 → 32 (1×1, 3×3, 3×3), then "
                "a 1×1 conv from 96 to in_channels."
            )
        copy_weights(reference, mine)
        with torch.no_grad():
            got, expected = mine(x), reference(x)
        if torch.allclose(got, expected, atol=1e-5):
            return "relu(x + scale · conv1x1(concat(branches))): same parameters, same outputs."
        for feedback, wrong in _variants(reference, x).items():
            if torch.allclose(got, wrong, atol=1e-5):
                raise Mistake(feedback)
        diff = (got - expected).abs().max().item()
        raise Mistake(
            f"with the reference's weights your output differs by up to {diff:.3g}: check the order of "
            "the branches (1×1, then 3×3, then double 3×3), the padding, and relu(x + scale · residual)."
        )

    return run_check("residual block", check)


def check_residual_variance(residual_variance: Callable[[float, float, float, int], float]) -> Verdict:
    """Check ``residual_variance(var0, branch_var, scale, depth)``: variance after ``depth`` blocks."""
    cases = ((1.0, 0.2, 1.0, 20), (0.35, 0.06, 0.1, 20), (0.5, 1.0, 0.3, 7), (2.0, 0.5, 0.2, 0))

    def check() -> str:
        for var0, branch_var, scale, depth in cases:
            expected = var0 + depth * scale**2 * branch_var
            got = float(residual_variance(var0, branch_var, scale, depth))
            if math.isclose(got, expected, rel_tol=1e-9):
                continue
            if math.isclose(got, var0 + depth * scale * branch_var, rel_tol=1e-9) and scale != 1:
                raise Mistake(
                    "multiplying a signal by s multiplies its variance by s², not by s."
                )
            if math.isclose(got, var0 * (1 + scale**2 * branch_var) ** depth, rel_tol=1e-9):
                raise Mistake(
                    "variances of independent terms add: each block adds s²·v to the variance, it does "
                    "not multiply it."
                )
            if math.isclose(got, math.sqrt(expected), rel_tol=1e-9):
                raise Mistake("that is the standard deviation; return the variance.")
            raise Mistake(
                f"for var0={var0}, v={branch_var}, s={scale}, depth={depth} expected {expected:.4g}, "
                f"got {got:.4g}."
            )
        return "var0 + depth · s² · v: unscaled, the variance grows by v per block; at s = 0.1, by v/100."

    return run_check("residual_variance", check)
