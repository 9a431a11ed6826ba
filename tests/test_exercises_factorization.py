"""Notebook 03's checkers: reference solutions and unusual correct answers pass; typical wrong
answers fail with the feedback that names the mistake."""

import math
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inception_edu import exercises as ex
from inception_edu.classroom.solutions import parse_solutions
from inception_edu.cost import count
from inception_edu.models.basic import BasicConv2d

pytestmark = pytest.mark.usefixtures("one_thread")


def reference_solutions() -> SimpleNamespace:
    """What the sections of solutions/03_factorization.py define (their check calls not run)."""
    path = Path(__file__).resolve().parents[1] / "solutions" / "03_factorization.py"
    namespace = {"torch": torch, "nn": nn, "BasicConv2d": BasicConv2d}
    for name in ex.__all__:
        if name.startswith("check_"):
            namespace[name] = lambda answer: None
    for source in parse_solutions(path.read_text()).values():
        exec(source, namespace)
    return SimpleNamespace(**namespace)


sol = reference_solutions()

# --- batch norm ----------------------------------------------------------------------------------


def per_channel(x, eps, dims=(0, 2, 3), unbiased=False, eps_inside=True):
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, unbiased=unbiased)
    return (x - mean) / ((var + eps).sqrt() if eps_inside else var.sqrt() + eps)


def batch_norm_var_mean(x, eps=1e-5):
    var, mean = torch.var_mean(x, dim=(0, 2, 3), correction=0, keepdim=True)
    return (x - mean) * torch.rsqrt(var + eps)


def batch_norm_channels_first(x, eps=1e-5):
    """Statistics of each row of a C × (N·H·W) matrix."""
    rows = x.transpose(0, 1).reshape(x.shape[1], -1)
    mean, var = rows.mean(1), rows.var(1, unbiased=False)
    return (x - mean[:, None, None]) / (var[:, None, None] + eps) ** 0.5


# --- factorized convolution ----------------------------------------------------------------------


class Unit(nn.Module):
    """A student's own conv → BN → ReLU with PyTorch's default eps (or a wrong order)."""

    def __init__(self, c_in, c_out, k, padding="same", steps="conv bn relu", stride=1):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.steps = steps.split()

    def forward(self, x):
        for step in self.steps:
            x = torch.relu(x) if step == "relu" else getattr(self, step)(x)
        return x


class ColumnDeclaredFirst(nn.Module):
    def __init__(self, in_channels, out_channels, n):
        super().__init__()
        self.column = Unit(out_channels, out_channels, (n, 1))
        self.row = Unit(in_channels, out_channels, (1, n))

    def forward(self, x):
        return self.column(self.row(x))


def sequential_factorized(in_channels, out_channels, n):
    return nn.Sequential(
        BasicConv2d(in_channels, out_channels, (1, n), padding=(0, n // 2)),
        BasicConv2d(out_channels, out_channels, (n, 1), padding=(n // 2, 0)),
    )


class Factorized(nn.Module):
    """Two units with chosen steps: the wrong answers below change one thing each."""

    def __init__(self, in_channels, out_channels, n, first="conv bn relu", second="conv bn relu"):
        super().__init__()
        self.a = Unit(in_channels, out_channels, (1, n), steps=first)
        self.b = Unit(out_channels, out_channels, (n, 1), steps=second)

    def forward(self, x):
        return self.b(self.a(x))


class ColumnFirst(nn.Module):
    def __init__(self, in_channels, out_channels, n):
        super().__init__()
        self.a = BasicConv2d(in_channels, out_channels, (n, 1), padding=(n // 2, 0))
        self.b = BasicConv2d(out_channels, out_channels, (1, n), padding=(0, n // 2))

    def forward(self, x):
        return self.b(self.a(x))


class SwappedPadding(nn.Module):
    def __init__(self, in_channels, out_channels, n):
        super().__init__()
        self.a = BasicConv2d(in_channels, out_channels, (1, n), padding=(n // 2, 0))
        self.b = BasicConv2d(out_channels, out_channels, (n, 1), padding=(0, n // 2))

    def forward(self, x):
        return self.b(self.a(x))


class Linear(nn.Module):  # plain convolutions: no BN, no ReLU in between
    def __init__(self, in_channels, out_channels, n):
        super().__init__()
        self.a = nn.Conv2d(in_channels, out_channels, (1, n), padding=(0, n // 2))
        self.b = nn.Conv2d(out_channels, out_channels, (n, 1), padding=(n // 2, 0))

    def forward(self, x):
        return self.b(self.a(x))


class OneConv(nn.Module):
    def __init__(self, in_channels, out_channels, n):
        super().__init__()
        self.a = BasicConv2d(in_channels, out_channels, n, padding=n // 2)

    def forward(self, x):
        return self.a(x)


class WrongChannels(sol.FactorizedConv):
    def __init__(self, in_channels, out_channels, n):
        super().__init__(in_channels, out_channels, n)
        self.conv_1xn = BasicConv2d(in_channels, in_channels, (1, n), padding=(0, n // 2))
        self.conv_nx1 = BasicConv2d(in_channels, out_channels, (n, 1), padding=(n // 2, 0))


class EvenPadding(nn.Module):
    def __init__(self, in_channels, out_channels, n):
        super().__init__()
        self.a = BasicConv2d(in_channels, out_channels, (1, n), padding=n // 2)
        self.b = BasicConv2d(out_channels, out_channels, (n, 1), padding=n // 2)

    def forward(self, x):
        return self.b(self.a(x))


# --- widest cheaper middle ------------------------------------------------------------------------


def widest_by_counting(c_in, c_out, n):
    """Try every middle width with the cost counter until the pair stops being cheaper."""

    def pair(c_mid):
        return nn.Sequential(
            nn.Conv2d(c_in, c_mid, (1, n), padding=(0, n // 2), bias=False),
            nn.Conv2d(c_mid, c_out, (n, 1), padding=(n // 2, 0), bias=False),
        )

    full = count(nn.Conv2d(c_in, c_out, n, padding=n // 2, bias=False), (c_in, 5, 5)).macs
    low, high = 0, n * max(c_in, c_out)  # the pair is cheaper at low, not at high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if count(pair(mid), (c_in, 5, 5)).macs < full else (low, mid)
    return low


def widest_from_fraction(c_in, c_out, n):
    bound = Fraction(n * c_in * c_out, c_in + c_out)
    return np.int64(math.ceil(bound) - 1)


def test_the_reference_formula_agrees_with_counted_macs():
    for case in [(64, 64, 3), (100, 60, 3), (48, 80, 5), (3, 7, 7), (1, 1, 3)]:
        assert sol.widest_cheaper_middle(*case) == widest_by_counting(*case), case


# --- grid-size reduction -------------------------------------------------------------------------


class Given(nn.Module):
    """The module of exercise 03.4 as the notebook gives it: right shapes and cost, and wrong."""

    def __init__(self, in_channels, conv_channels):
        super().__init__()
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv = BasicConv2d(in_channels, conv_channels, 3, padding=1)

    def forward(self, x):
        x = self.pool(x)
        return torch.cat([self.conv(x), x], 1)


class GivenFixedBySubclassing(Given):
    def __init__(self, in_channels, conv_channels):
        super().__init__(in_channels, conv_channels)
        self.conv = BasicConv2d(in_channels, conv_channels, (3, 3), stride=(2, 2), padding=(1, 1))

    def forward(self, x):
        return torch.cat([self.conv(x), self.pool(x)], 1)


class ConvThenPool(Given):
    def forward(self, x):
        return torch.cat([self.pool(self.conv(x)), self.pool(x)], 1)


class OnlyForwardFixed(Given):
    def forward(self, x):
        return torch.cat([self.conv(x), self.pool(x)], 1)


class PoolDeclaredFirst(nn.Module):
    def __init__(self, in_channels, conv_channels):
        super().__init__()
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv = BasicConv2d(in_channels, conv_channels, 3, stride=2, padding=1)

    def forward(self, x):
        return torch.cat([self.conv(x), self.pool(x)], 1)


class FunctionalReduction(nn.Module):
    def __init__(self, in_channels, conv_channels):
        super().__init__()
        self.unit = Unit(in_channels, conv_channels, 3, padding=1, stride=2)

    def forward(self, x):
        pooled = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
        return torch.concat((self.unit(x), pooled), dim=1)


class PoolThenConv(nn.Module):
    def __init__(self, in_channels, conv_channels):
        super().__init__()
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv = BasicConv2d(in_channels, conv_channels, 3, padding=1)

    def forward(self, x):
        return self.conv(self.pool(x))


class Stride1(sol.FixedReduction):
    def __init__(self, in_channels, conv_channels):
        super().__init__(in_channels, conv_channels)
        self.conv = BasicConv2d(in_channels, conv_channels, 3, padding=1)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)


class Unpadded(sol.FixedReduction):
    def __init__(self, in_channels, conv_channels):
        super().__init__(in_channels, conv_channels)
        self.conv = BasicConv2d(in_channels, conv_channels, 3, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2)


class CeilPool(sol.FixedReduction):
    def __init__(self, in_channels, conv_channels):
        super().__init__(in_channels, conv_channels)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)


class PoolFirst(sol.FixedReduction):
    def forward(self, x):
        return torch.cat([self.pool(x), self.conv(x)], 1)


class AvgPool(sol.FixedReduction):
    def __init__(self, in_channels, conv_channels):
        super().__init__(in_channels, conv_channels)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1)


class FunctionalAvgPool(FunctionalReduction):
    def forward(self, x):
        return torch.cat([self.unit(x), F.avg_pool2d(x, 3, 2, 1)], 1)


class ReLUFirstReduction(FunctionalReduction):
    def __init__(self, in_channels, conv_channels):
        super().__init__(in_channels, conv_channels)
        self.unit.steps = ["conv", "relu", "bn"]


class ReLUOnPool(sol.FixedReduction):
    def forward(self, x):
        return torch.cat([self.conv(x), torch.relu(self.pool(x))], 1)


# --- the cases -----------------------------------------------------------------------------------

REFERENCE = [
    pytest.param(ex.check_batch_norm, sol.batch_norm, id="batch_norm"),
    pytest.param(ex.check_widest_middle, sol.widest_cheaper_middle, id="widest_middle"),
    pytest.param(ex.check_factorized_conv, sol.FactorizedConv, id="factorized_conv"),
    pytest.param(ex.check_reduction_fix, sol.FixedReduction, id="reduction_fix"),
]

UNUSUAL = [
    pytest.param(
        ex.check_batch_norm, lambda x, eps: sol.batch_norm(x.double(), eps), id="bn-float64"
    ),
    pytest.param(ex.check_batch_norm, batch_norm_var_mean, id="bn-var_mean"),
    pytest.param(ex.check_batch_norm, batch_norm_channels_first, id="bn-rows"),
    pytest.param(ex.check_widest_middle, widest_by_counting, id="widest-by-counting"),
    pytest.param(ex.check_widest_middle, widest_from_fraction, id="widest-fraction-numpy"),
    pytest.param(
        ex.check_widest_middle,
        lambda a, b, n: torch.tensor(float(sol.widest_cheaper_middle(a, b, n))),
        id="widest-float-tensor",
    ),
    pytest.param(
        ex.check_factorized_conv, ColumnDeclaredFirst, id="same-padding-declared-otherwise"
    ),
    pytest.param(ex.check_factorized_conv, sequential_factorized, id="sequential"),
    pytest.param(ex.check_reduction_fix, PoolDeclaredFirst, id="pool-declared-first"),
    pytest.param(ex.check_reduction_fix, FunctionalReduction, id="functional-default-eps"),
    pytest.param(ex.check_reduction_fix, GivenFixedBySubclassing, id="subclass-of-the-given"),
]

WRONG = [
    pytest.param(
        ex.check_batch_norm,
        lambda x, eps: per_channel(x, eps, dims=(0, 1, 2, 3)),
        "whole tensor",
        id="bn-global",
    ),
    pytest.param(
        ex.check_batch_norm, lambda x, eps: per_channel(x, eps, dims=0), "per pixel", id="bn-pixel"
    ),
    pytest.param(
        ex.check_batch_norm,
        lambda x, eps: per_channel(x, eps, dims=(1, 2, 3)),
        "layer norm",
        id="bn-layer-norm",
    ),
    pytest.param(
        ex.check_batch_norm,
        lambda x, eps: per_channel(x, eps, unbiased=True),
        "biased variance",
        id="bn-unbiased",
    ),
    pytest.param(
        ex.check_batch_norm,
        lambda x, eps: per_channel(x, eps, eps_inside=False),
        "inside the square root",
        id="bn-eps-outside",
    ),
    pytest.param(
        ex.check_batch_norm,
        lambda x, eps: per_channel(x, 1e-5),
        "not the eps argument",
        id="bn-eps-ignored",
    ),
    pytest.param(ex.check_batch_norm, lambda x, eps: per_channel(x, 0.0), "NaNs", id="bn-no-eps"),
    pytest.param(
        ex.check_batch_norm,
        lambda x, eps: per_channel(x, eps)[:, :2],
        "input's shape",
        id="bn-shape",
    ),
    pytest.param(
        ex.check_batch_norm,
        lambda x, eps: 2 * per_channel(x, eps),
        "differs from batch norm's",
        id="bn-other",
    ),
    pytest.param(
        ex.check_widest_middle,
        lambda a, b, n: n * a * b // (a + b),
        "not less: when that bound is a whole number, the answer is one below it",
        id="widest-equal-cost-counts",
    ),
    pytest.param(
        ex.check_widest_middle,
        lambda a, b, n: math.ceil(n * a * b / (a + b)),
        "the first width that is no longer cheaper",
        id="widest-rounded-up",
    ),
    pytest.param(
        ex.check_widest_middle,
        lambda a, b, n: (n * a - 1) // 2,
        "holds when C_in = C_out only (it uses C_in",
        id="widest-equal-widths-in",
    ),
    pytest.param(
        ex.check_widest_middle,
        lambda a, b, n: math.ceil(n * b / 2) - 1,
        "holds when C_in = C_out only (it uses C_out",
        id="widest-equal-widths-out",
    ),
    pytest.param(
        ex.check_widest_middle,
        lambda a, b, n: (n * n * a * b - 1) // (a + b),
        "n weights per channel pair",
        id="widest-n-squared",
    ),
    pytest.param(
        ex.check_widest_middle,
        lambda a, b, n: n * a * b / (a + b),
        "that is the break-even width",
        id="widest-break-even",
    ),
    pytest.param(
        ex.check_widest_middle, lambda a, b, n: 7.5, "a whole number of channels", id="widest-half"
    ),
    pytest.param(
        ex.check_widest_middle,
        lambda a, b, n: 100,
        "for C_in=64, C_out=64, n=3: expected 95",
        id="widest-other",
    ),
    pytest.param(ex.check_widest_middle, lambda a, b, n: "95", "got str", id="widest-text"),
    pytest.param(
        ex.check_factorized_conv, ColumnFirst, "you start with the 5×1", id="column-first"
    ),
    pytest.param(
        ex.check_factorized_conv, SwappedPadding, "your paddings are swapped", id="swapped-padding"
    ),
    pytest.param(
        ex.check_factorized_conv, EvenPadding, "it should keep the 9×9 grid", id="even-padding"
    ),
    pytest.param(ex.check_factorized_conv, Linear, "BasicConv2d", id="linear"),
    pytest.param(ex.check_factorized_conv, OneConv, "exactly two convolutions", id="one-conv"),
    pytest.param(
        ex.check_factorized_conv,
        WrongChannels,
        "The 1×n goes from in_channels to out_channels",
        id="channels",
    ),
    pytest.param(
        ex.check_factorized_conv,
        lambda *a: Factorized(*a, "conv relu bn", "conv relu bn"),
        "your ReLU comes before the BatchNorm",
        id="relu-bn",
    ),
    pytest.param(
        ex.check_factorized_conv,
        lambda *a: Factorized(*a, "conv bn", "conv bn"),
        "there is no ReLU after your BatchNorms",
        id="no-relu",
    ),
    pytest.param(
        ex.check_factorized_conv,
        lambda *a: Factorized(*a, "conv bn", "conv bn relu"),
        "The first layer whose output differs is your `b.conv`",
        id="no-relu-between",
    ),
    pytest.param(
        ex.check_reduction_fix, Given, "your convolution still reads the pooled map", id="given"
    ),
    pytest.param(ex.check_reduction_fix, ConvThenPool, "4.0× the parallel", id="conv-then-pool"),
    pytest.param(
        ex.check_reduction_fix, OnlyForwardFixed, "needs stride=2 like the pool", id="stride-kept"
    ),
    pytest.param(ex.check_reduction_fix, PoolThenConv, "side by side", id="pool-then-conv"),
    pytest.param(ex.check_reduction_fix, Stride1, "need stride=2", id="stride-1"),
    pytest.param(ex.check_reduction_fix, Unpadded, "add padding=1", id="unpadded"),
    pytest.param(
        ex.check_reduction_fix,
        CeilPool,
        "your pool has no padding and rounds up",
        id="ceil-mode",
    ),
    pytest.param(
        ex.check_reduction_fix,
        PoolFirst,
        "in the order max-pool, conv; the reference's order is conv, max-pool",
        id="pool-first",
    ),
    pytest.param(ex.check_reduction_fix, AvgPool, "use max-pooling", id="avg-pool"),
    pytest.param(ex.check_reduction_fix, FunctionalAvgPool, "use max-pooling", id="f-avg-pool"),
    pytest.param(
        ex.check_reduction_fix,
        ReLUFirstReduction,
        "your ReLU comes before the BatchNorm",
        id="relu-bn-reduction",
    ),
    pytest.param(
        ex.check_reduction_fix, ReLUOnPool, "a ReLU acts on your pool branch", id="relu-pool"
    ),
]


@pytest.mark.parametrize("checker, answer", REFERENCE + UNUSUAL)
def test_accepts(checker, answer, capsys):
    verdict = checker(answer)
    assert verdict.status == "passed", verdict.message


@pytest.mark.parametrize("checker, answer, feedback", WRONG)
def test_rejects_with_the_diagnosis(checker, answer, feedback, capsys):
    verdict = checker(answer)
    assert verdict.status == "failed" and feedback in verdict.message, verdict.message
