"""Checkers for the exercises of notebook 06 (Inception-v4 and Inception-ResNet)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.inception_resnet import InceptionResNetB
from ..models.inception_v4 import REDUCTION_A, ReductionA
from ._check import Mistake, Verdict, fixed_seed, n_params, run_check, student
from ._module_variants import branch_order, no_relu_after_bn, relu_before_bn
from ._modules import compare_modules, forward_layers
from ._values import Number, agree, close, diagnose, number

__all__ = ["check_reduction_a_channels", "check_residual_bug", "check_residual_variance"]

# The channels entering Reduction-A in each network of the paper
_REDUCTION_A_INPUTS = {"inception_v4": 384, "inception_resnet_v1": 256, "inception_resnet_v2": 320}


def check_reduction_a_channels(
    reduction_a_channels: Callable[[int, int, int, int, int], int],
) -> Verdict:
    """Check ``reduction_a_channels(in_channels, k, l, m, n)``: the channels Reduction-A outputs."""
    # (network, in_channels, k, l, m, n), with Table 1's k, l, m, n
    cases = [(network, c, *REDUCTION_A[network]) for network, c in _REDUCTION_A_INPUTS.items()]

    def check() -> str:
        answer = student(reduction_a_channels)
        got = [number(answer(*case[1:]), "a number of channels") for case in cases]
        expected = [ReductionA(*case[1:]).out_channels for case in cases]
        if agree(got, expected):
            return (
                "n + m + the input channels that the pooling branch passes on (384 → 1024 in v4)."
            )
        # The k and l of the paper's table are its two 1×1 → 3×3 widths of the second branch.
        widths = [(c, k_, l_, m, n) for _, c, k_, l_, m, n in cases]
        variants = {
            "you gave n + m: the max-pool branch outputs channels too, every one of its input "
            "channels.": [n + m for *_, m, n in widths],
            "k and l are the widths of the 1×1 and 3×3 convs *inside* the second branch; only the "
            "last conv of each branch (m, n) reaches the concatenation.": [sum(w) for w in widths],
            "k and l are the widths of the 1×1 and 3×3 convs *inside* the second branch, and the "
            "pool branch passes its input channels on: n + m + in_channels.": [
                sum(w[1:]) for w in widths
            ],
        }
        labels = [f"{network} (from {c} channels)" for network, c, *_ in cases]
        raise diagnose(got, expected, labels, variants)

    return run_check("06.1", check)


def check_residual_bug(block_class: type[nn.Module]) -> Verdict:
    """Check a fixed Inception-ResNet-B (v1's widths) built as ``block_class(in_channels, scale)``.

    The notebook's colleague's block scales the shortcut instead of the residual and puts BatchNorm
    and ReLU on the 1×1 projection; the fixed block must compute the library's
    ``relu(x + scale · conv1x1(concat(branches)))`` with a linear (biased, BN-free) projection.
    """

    def check() -> str:
        in_channels, scale = 64, 0.17
        with fixed_seed(0):
            mine = student(block_class)(in_channels, scale)
            reference = InceptionResNetB(in_channels, 128, (128, 128, 128), scale=scale)
            x = torch.randn(2, in_channels, 9, 9)  # negative values too: a stray ReLU shows
        _, got = forward_layers(mine, x, student=True)
        if got.shape != x.shape:
            raise Mistake(
                f"a residual block returns a map shaped like its input {tuple(x.shape)}; yours is "
                f"{tuple(got.shape)}. The 1×1 projection must bring the 256 concatenated channels "
                "back to in_channels."
            )
        extra = n_params(mine) - n_params(reference)
        if extra == in_channels:
            raise Mistake(
                "the 1×1 projection still has a BatchNorm (in_channels parameters too many; maybe "
                "still a ReLU too): it must be linear, a plain nn.Conv2d with a bias. With BN and "
                "ReLU the residual can never be negative: each block can only push activations up. "
                "(That is one of the two bugs; fix it and run the check again.)"
            )
        if extra == -in_channels:
            raise Mistake("the 1×1 projection needs a bias (it has no BatchNorm after it).")
        return compare_modules(
            mine,
            reference,
            x,
            variants=[
                _residual_variants(_b_branches),
                relu_before_bn(),
                no_relu_after_bn(),
                branch_order(_b_branches, _project(_b_branches)),
            ],  # fmt: skip
            widths_hint=(
                "v1's Inception-ResNet-B widths are 128 (1×1) and 128 → 128 → 128 (1×1, 1×7, "
                "7×1), then a 1×1 conv from 256 to in_channels."
            ),
        )

    return run_check("06.2", check)


def check_residual_variance(
    residual_variance: Callable[[float, float, float, int], float],
) -> Verdict:
    """Check ``residual_variance(var0, branch_var, scale, depth)``: the variance after ``depth``."""
    cases = ((1.0, 0.2, 1.0, 20), (0.35, 0.06, 0.1, 20), (0.5, 1.0, 0.3, 7), (2.0, 0.5, 0.2, 0))

    def check() -> str:
        answer = student(residual_variance)
        got = [number(answer(*case), "a variance (a number)") for case in cases]
        expected = [v0 + n * s**2 * v for v0, v, s, n in cases]
        if agree(got, expected, _same_variance):
            return "var0 + depth · s² · v: unscaled, each block adds v; at s = 0.1, only v/100."
        variants = {
            "multiplying a signal by s multiplies its variance by s², not by s.": [
                v0 + n * s * v for v0, v, s, n in cases
            ],
            "variances of independent terms add: each block adds s²·v to the variance, it does "
            "not multiply it.": [v0 * (1 + s**2 * v) ** n for v0, v, s, n in cases],
            "that is the standard deviation; return the variance.": [e**0.5 for e in expected],
        }
        labels = [f"for var0={v0}, v={v}, s={s}, depth={n}" for v0, v, s, n in cases]
        raise diagnose(got, expected, labels, variants, _same_variance)

    return run_check("06.3", check)


# --- helpers -------------------------------------------------------------------------------------


def _same_variance(got: Number, expected: float) -> bool:
    return close(got, expected, rel=1e-9)


def _b_branches(reference: nn.Module, x: Tensor) -> list[tuple[str, Tensor]]:
    return [("1×1", reference.branch0(x)), ("1×7, 7×1", reference.branch1(x))]


Branches = Callable[[nn.Module, Tensor], list[tuple[str, Tensor]]]


def _project(branches: Branches) -> Callable[[nn.Module, Tensor, Tensor], Tensor]:
    """The block's output for a given concatenation of its branches."""

    def combine(reference: nn.Module, x: Tensor, mixed: Tensor) -> Tensor:
        return F.relu(x + reference.scale * reference.conv2d(mixed))

    return combine


def _residual_variants(
    branches: Branches,
) -> Callable[[nn.Module, Tensor], Iterator[tuple[str, Tensor]]]:
    """Typical wrong residual blocks built from the reference's own layers."""

    def variants(reference: nn.Module, x: Tensor) -> Iterator[tuple[str, Tensor]]:
        mixed = torch.cat([out for _, out in branches(reference, x)], 1)
        r, s = reference.conv2d(mixed), reference.scale
        yield (
            "you scale the shortcut, not the residual: relu(x + scale · residual). Scaling x by "
            "0.1 in every block erases the identity path (after 10 blocks the input is "
            "multiplied by 10⁻¹⁰), the very thing a residual connection is for.",
            F.relu(s * x + r),
        )
        yield (
            "you do not multiply the residual by `scale` before adding it: the paper scales it "
            "down (0.1–0.3) so that wide networks stay stable.",
            F.relu(x + r),
        )
        yield "the ReLU after the sum is missing: relu(x + scale · residual).", x + s * r
        yield (
            "you scale the whole sum; only the residual is scaled: relu(x + scale · residual).",
            F.relu(s * (x + r)),
        )
        yield (
            "the shortcut is missing: add the block's input x to the scaled residual.",
            F.relu(s * r),
        )
        yield (
            "a ReLU sits on the residual before the sum; the 1×1 projection is linear, and the "
            "only ReLU comes after the sum.",
            F.relu(x + s * F.relu(r)),
        )
        yield (
            "you add relu(x), not x: the shortcut carries the block's input unchanged.",
            F.relu(F.relu(x) + s * r),
        )

    return variants
