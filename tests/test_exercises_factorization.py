"""Notebook 03's checkers: reference solutions and unusual correct answers pass; typical wrong
answers fail with the feedback that names the mistake."""

from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inception_edu import exercises as ex
from inception_edu.models.basic import BasicConv2d

import exercise_solutions_v3 as sol

pytestmark = pytest.mark.usefixtures("one_thread")

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


# --- grid-size reduction -------------------------------------------------------------------------


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


class Stride1(sol.ParallelReduction):
    def __init__(self, in_channels, conv_channels):
        super().__init__(in_channels, conv_channels)
        self.conv = BasicConv2d(in_channels, conv_channels, 3, padding=1)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)


class Unpadded(sol.ParallelReduction):
    def __init__(self, in_channels, conv_channels):
        super().__init__(in_channels, conv_channels)
        self.conv = BasicConv2d(in_channels, conv_channels, 3, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2)


class CeilPool(sol.ParallelReduction):
    def __init__(self, in_channels, conv_channels):
        super().__init__(in_channels, conv_channels)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)


class PoolFirst(sol.ParallelReduction):
    def forward(self, x):
        return torch.cat([self.pool(x), self.conv(x)], 1)


class AvgPool(sol.ParallelReduction):
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


class ReLUOnPool(sol.ParallelReduction):
    def forward(self, x):
        return torch.cat([self.conv(x), torch.relu(self.pool(x))], 1)


# --- the cases -----------------------------------------------------------------------------------

REFERENCE = [
    pytest.param(ex.check_batch_norm, sol.batch_norm, id="batch_norm"),
    pytest.param(ex.check_asymmetric_saving, sol.asymmetric_saving, id="asymmetric_saving"),
    pytest.param(ex.check_factorized_conv, sol.FactorizedConv, id="factorized_conv"),
    pytest.param(ex.check_parallel_reduction, sol.ParallelReduction, id="parallel_reduction"),
]

UNUSUAL = [
    pytest.param(
        ex.check_batch_norm, lambda x, eps: sol.batch_norm(x.double(), eps), id="bn-float64"
    ),
    pytest.param(ex.check_batch_norm, batch_norm_var_mean, id="bn-var_mean"),
    pytest.param(ex.check_batch_norm, batch_norm_channels_first, id="bn-rows"),
    pytest.param(ex.check_asymmetric_saving, lambda n: Fraction(n - 2, n), id="saving-fraction"),
    pytest.param(ex.check_asymmetric_saving, lambda n: np.float32(1 - 2 / n), id="saving-float32"),
    pytest.param(
        ex.check_asymmetric_saving,
        lambda n: torch.tensor(1 - 2 / n, dtype=torch.float16),
        id="saving-float16",
    ),
    pytest.param(
        ex.check_factorized_conv, ColumnDeclaredFirst, id="same-padding-declared-otherwise"
    ),
    pytest.param(ex.check_factorized_conv, sequential_factorized, id="sequential"),
    pytest.param(ex.check_parallel_reduction, PoolDeclaredFirst, id="pool-declared-first"),
    pytest.param(ex.check_parallel_reduction, FunctionalReduction, id="functional-default-eps"),
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
        ex.check_asymmetric_saving,
        lambda n: 2 / n,
        "the share of the cost that remains",
        id="saving-remaining",
    ),
    pytest.param(
        ex.check_asymmetric_saving, lambda n: 100 * (1 - 2 / n), "a percentage", id="saving-percent"
    ),
    pytest.param(ex.check_asymmetric_saving, lambda n: 1 - 1 / n, "1 − 1/n", id="saving-one-layer"),
    pytest.param(
        ex.check_asymmetric_saving, lambda n: 1 / 3, "for n=5: expected 0.6", id="saving-other"
    ),
    pytest.param(ex.check_asymmetric_saving, lambda n: "33 %", "return a number", id="saving-text"),
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
    pytest.param(ex.check_parallel_reduction, PoolThenConv, "side by side", id="pool-then-conv"),
    pytest.param(ex.check_parallel_reduction, Stride1, "need stride=2", id="stride-1"),
    pytest.param(ex.check_parallel_reduction, Unpadded, "add padding=1", id="unpadded"),
    pytest.param(
        ex.check_parallel_reduction,
        CeilPool,
        "your pool has no padding and rounds up",
        id="ceil-mode",
    ),
    pytest.param(
        ex.check_parallel_reduction,
        PoolFirst,
        "in the order max-pool, conv; the reference's order is conv, max-pool",
        id="pool-first",
    ),
    pytest.param(ex.check_parallel_reduction, AvgPool, "use max-pooling", id="avg-pool"),
    pytest.param(
        ex.check_parallel_reduction, FunctionalAvgPool, "use max-pooling", id="f-avg-pool"
    ),
    pytest.param(
        ex.check_parallel_reduction,
        ReLUFirstReduction,
        "your ReLU comes before the BatchNorm",
        id="relu-bn-reduction",
    ),
    pytest.param(
        ex.check_parallel_reduction, ReLUOnPool, "a ReLU acts on your pool branch", id="relu-pool"
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
