"""Notebook 01's checkers: reference solutions and unusual correct answers pass; typical wrong
answers fail with the feedback that names the mistake."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inception_edu import exercises as ex
from inception_edu.cost import count
from inception_edu.models.basic import BasicConv2d

import exercise_solutions as sol

pytestmark = pytest.mark.usefixtures("one_thread")


class Unit(nn.Module):
    """A student's own conv + BatchNorm + ReLU, in a chosen (maybe wrong) order."""

    def __init__(self, c_in, c_out, k, padding, order="conv bn relu", bias=False, eps=1e-3):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, padding=padding, bias=bias)
        self.bn = nn.BatchNorm2d(c_out, eps=eps)
        self.order = order.split()

    def forward(self, x):
        for step in self.order:
            x = F.relu(x) if step == "relu" else getattr(self, step)(x)
        return x


class Naive(nn.Module):
    """The naive module with its parts swappable, to write the wrong answers briefly."""

    def __init__(self, c, a, b, d, pool=None, **unit):
        super().__init__()
        self.b1 = Unit(c, a, 1, 0, **unit)
        self.b3 = Unit(c, b, 3, 1, **unit)
        self.b5 = Unit(c, d, 5, 2, **unit)
        self.pool = pool or nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], 1)


# --- correct answers in unusual forms ------------------------------------------------------------


class DeclaredInAnotherOrder(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5):
        super().__init__()
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)
        self.b5 = BasicConv2d(in_channels, ch5x5, 5, padding=2)
        self.b3 = BasicConv2d(in_channels, ch3x3, 3, padding=1)
        self.b1 = BasicConv2d(in_channels, ch1x1, 1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], 1)


class OwnLayersSamePadding(nn.Module):
    """nn.Conv2d(padding="same") + BatchNorm with PyTorch's default eps + F.relu; pool run first."""

    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5):
        super().__init__()
        widths = ((ch1x1, 1), (ch3x3, 3), (ch5x5, 5))
        self.convs = nn.ModuleList(
            nn.Conv2d(in_channels, w, k, padding="same", bias=False) for w, k in widths
        )
        self.norms = nn.ModuleList(nn.BatchNorm2d(w) for w, _ in widths)

    def forward(self, x):
        pooled = F.max_pool2d(x, 3, stride=1, padding=1)
        maps = [F.relu(norm(conv(x))) for conv, norm in zip(self.convs, self.norms, strict=True)]
        return torch.concat([*maps, pooled], dim=-3)


class SequentialClamp(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels, w, k, padding=k // 2, bias=False),
                nn.BatchNorm2d(w, eps=1e-3),
            )
            for w, k in ((ch1x1, 1), (ch3x3, 3), (ch5x5, 5))
        )

    def forward(self, x):
        return torch.cat([b(x).clamp_min(0) for b in self.branches] + [F.max_pool2d(x, 3, 1, 1)], 1)


# --- wrong answers -------------------------------------------------------------------------------


class FrozenBatchNorm(nn.BatchNorm2d):
    def forward(self, x):  # the running statistics even in train mode
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
        )


class FrozenNaive(sol.NaiveModule):
    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5):
        super().__init__(in_channels, ch1x1, ch3x3, ch5x5)
        for unit in (self.b1, self.b3, self.b5):
            unit.bn = FrozenBatchNorm(unit.bn.num_features, eps=1e-3)


class StatelessNaive(sol.NaiveModule):
    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5):
        super().__init__(in_channels, ch1x1, ch3x3, ch5x5)
        for unit in (self.b1, self.b3, self.b5):
            unit.bn = nn.BatchNorm2d(unit.bn.num_features, eps=1e-3, track_running_stats=False)


class SwappedNaive(sol.NaiveModule):
    def forward(self, x):  # branches concatenated in the wrong order
        return torch.cat([self.b3(x), self.b1(x), self.b5(x), self.pool(x)], 1)


class NoPadNaive(sol.NaiveModule):
    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5):
        super().__init__(in_channels, ch1x1, ch3x3, ch5x5)
        self.b5 = BasicConv2d(in_channels, ch5x5, 5, padding=0)


class NoPoolNaive(sol.NaiveModule):
    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x)], 1)


class ReLUOnOutput(sol.NaiveModule):
    def forward(self, x):
        return torch.relu(super().forward(x))


class NarrowFive(sol.NaiveModule):
    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5):
        super().__init__(in_channels, ch1x1, ch3x3, ch5x5)
        self.b5 = BasicConv2d(in_channels, ch3x3, 5, padding=2)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x)[:, :2], self.pool(x)], 1)


class SpareLayer(sol.NaiveModule):
    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5):
        super().__init__(in_channels, ch1x1, ch3x3, ch5x5)
        self.b7 = BasicConv2d(in_channels, ch5x5, 7, padding=3)  # created, never used


# --- the cases -----------------------------------------------------------------------------------


class Colleague(nn.Module):
    """Exercise 3's module: the colleague's, or with some of its three bugs fixed."""

    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5, fixed=()):
        super().__init__()
        order = (nn.BatchNorm2d, nn.ReLU) if "relu" in fixed else (nn.ReLU, nn.BatchNorm2d)
        self.convs = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels, width, k, padding=k // 2, bias=False),
                *(
                    layer(width, eps=1e-3) if layer is nn.BatchNorm2d else layer()
                    for layer in order
                ),
            )
            for width, k in ((ch1x1, 1), (ch3x3, 3), (ch5x5, 5))
        )
        pool = nn.MaxPool2d if "pool" in fixed else nn.AvgPool2d
        self.pool = pool(3, stride=1, padding=1)
        self.pool_last = "order" in fixed

    def forward(self, x):
        convs = [conv(x) for conv in self.convs]
        if self.pool_last:
            return torch.cat([*convs, self.pool(x)], dim=1)
        return torch.cat([self.pool(x), *convs], dim=1)


def colleague(*fixed):
    return lambda *widths: Colleague(*widths, fixed=fixed)


FIELDS = {"1×1": 14, "3×3": 22, "5×5": 30, "max-pool": 22}


def fields_from_the_library():
    """Unusual but right: trace them with the library instead of working them out."""
    from inception_edu.models import naive_small
    from inception_edu.receptive_field import receptive_field

    net = naive_small()
    return [receptive_field(net, f"blocks.3.branch{i}", (1, 28, 28)).size for i in (1, 2, 3, 4)]


REFERENCE = [
    pytest.param(ex.check_naive_out_channels, sol.naive_out_channels, id="out_channels"),
    pytest.param(ex.check_conv_macs, sol.conv_macs, id="conv_macs"),
    pytest.param(ex.check_naive_module, sol.NaiveModule, id="naive_module"),
    pytest.param(ex.check_naive_module, colleague("relu", "pool", "order"), id="colleague-fixed"),
    pytest.param(ex.check_branch_fields, lambda: dict(FIELDS), id="branch_fields"),
]

UNUSUAL = [
    pytest.param(
        ex.check_naive_out_channels, lambda c, a, b, d: float(c + a + b + d), id="out-float"
    ),
    pytest.param(
        ex.check_naive_out_channels,
        lambda c, a, b, d: torch.tensor([c, a, b, d]).sum(),
        id="out-tensor",
    ),
    pytest.param(ex.check_naive_out_channels, lambda *a: np.int64(sum(a)), id="out-numpy"),
    pytest.param(
        ex.check_conv_macs,
        lambda ci, co, k, h, w: math.prod([ci, k, k, co, h, w]) * 1.0,
        id="macs-float",
    ),
    pytest.param(
        ex.check_conv_macs,
        lambda ci, co, k, h, w: (
            count(nn.Conv2d(ci, co, k, padding=k // 2, bias=False), (ci, h, w)).macs
        ),
        id="macs-library",
    ),
    pytest.param(ex.check_conv_macs, lambda *a: torch.tensor(a).prod() * a[2], id="macs-tensor"),
    pytest.param(ex.check_naive_module, DeclaredInAnotherOrder, id="declared-otherwise"),
    pytest.param(ex.check_naive_module, OwnLayersSamePadding, id="same-padding-default-eps"),
    pytest.param(ex.check_naive_module, SequentialClamp, id="clamp_min"),
    pytest.param(ex.check_branch_fields, fields_from_the_library, id="fields-traced-pairs"),
    pytest.param(
        ex.check_branch_fields,
        lambda: {"1x1": 14.0, "3X3": np.int64(22), "branch3": torch.tensor(30), "pool": 22},
        id="fields-other-names-and-types",
    ),
    pytest.param(ex.check_branch_fields, (14, 22, 30, 22), id="fields-a-plain-tuple"),
]

WRONG = [
    pytest.param(
        ex.check_naive_out_channels,
        lambda c, a, b, d: a + b + d,
        "The max-pool branch adds channels too",
        id="out-no-pool",
    ),
    pytest.param(
        ex.check_naive_out_channels,
        lambda c, a, b, d: c,
        "that is the input's width",
        id="out-input-width",
    ),
    pytest.param(
        ex.check_naive_out_channels,
        lambda c, a, b, d: max(a, b, d),
        "that is the widest convolution",
        id="out-max",
    ),
    pytest.param(
        ex.check_naive_out_channels,
        lambda *a: 0,
        "(192, 64, 128, 32): expected 416, you gave 0.",
        id="out-other",
    ),
    pytest.param(
        ex.check_conv_macs, lambda *a: 2 * sol.conv_macs(*a), "that is FLOPs", id="macs-flops"
    ),
    pytest.param(
        ex.check_conv_macs,
        lambda ci, co, k, h, w: ci * k * co * h * w,
        "k times too small",
        id="macs-k",
    ),
    pytest.param(
        ex.check_conv_macs,
        lambda ci, co, k, h, w: co * k * k * h * w,
        "misses the input channels",
        id="macs-no-cin",
    ),
    pytest.param(
        ex.check_conv_macs,
        lambda ci, co, k, h, w: ci * k * k * co,
        "that is the number of weights",
        id="macs-weights",
    ),
    pytest.param(
        ex.check_naive_module,
        lambda *a: Naive(*a, order="conv relu bn"),
        "your ReLU comes before the BatchNorm",
        id="relu-bn",
    ),
    pytest.param(
        ex.check_naive_module,
        lambda *a: Naive(*a, order="conv bn"),
        "there is no ReLU after your BatchNorms",
        id="no-relu",
    ),
    pytest.param(
        ex.check_naive_module,
        SwappedNaive,
        "you concatenate the branches in the order 3×3, 1×1, 5×5, max-pool",
        id="order",
    ),
    pytest.param(
        ex.check_naive_module,
        lambda *a: Naive(*a, pool=nn.AvgPool2d(3, 1, 1)),
        "your pool branch averages",
        id="avg-pool",
    ),
    pytest.param(
        ex.check_naive_module, ReLUOnOutput, "a ReLU acts on your pool branch", id="relu-pool"
    ),
    pytest.param(
        ex.check_naive_module, NoPoolNaive, "concatenate the max-pooled input too", id="no-pool"
    ),
    pytest.param(
        ex.check_naive_module,
        NoPadNaive,
        "check that every branch keeps the input's size, with the padding of each convolution",
        id="no-padding",
    ),
    pytest.param(
        ex.check_naive_module,
        lambda *a: Naive(*a, bias=True),
        "your convolutions have a bias",
        id="conv-bias",
    ),
    pytest.param(
        ex.check_naive_module,
        NarrowFive,
        "The reference's `branch3.conv` (Conv2d 8→2, 5×5 kernel)",
        id="width",
    ),
    pytest.param(
        ex.check_naive_module,
        SpareLayer,
        "`b7.conv` (Conv2d 8→2, 7×7 kernel), `b7.bn` (BatchNorm2d over 2 channels) are created in "
        "__init__ but never used",
        id="unused-layer",
    ),
    pytest.param(
        ex.check_naive_module,
        FrozenNaive,
        "in train mode (BatchNorm normalizing with the batch's own statistics), your output "
        "differs by up to",
        id="frozen-batch-norm",
    ),
    pytest.param(
        ex.check_naive_module,
        StatelessNaive,
        "`b1.bn` (BatchNorm2d over 4 channels, track_running_stats=False)",
        id="no-running-statistics",
    ),
    pytest.param(ex.check_naive_module, lambda *a: Naive(*a, eps=0.1), "has eps=0.1", id="big-eps"),
    pytest.param(
        ex.check_naive_module,
        colleague(),
        "3 mistakes at once: the ReLU comes before the BatchNorm (conv → BN → ReLU); the pool "
        "branch averages (the naive module max-pools); the pool branch comes first",
        id="colleague-as-given",
    ),
    pytest.param(
        ex.check_naive_module,
        colleague("relu"),
        "2 mistakes at once: the pool branch averages (the naive module max-pools); the pool "
        "branch comes first",
        id="colleague-only-relu-fixed",
    ),
    pytest.param(
        ex.check_naive_module,
        colleague("pool"),
        "2 mistakes at once: the ReLU comes before the BatchNorm (conv → BN → ReLU); the pool "
        "branch comes first",
        id="colleague-only-pool-fixed",
    ),
    pytest.param(
        ex.check_naive_module,
        colleague("order"),
        "2 mistakes at once: the ReLU comes before the BatchNorm (conv → BN → ReLU); the pool "
        "branch averages",
        id="colleague-only-order-fixed",
    ),
    pytest.param(
        ex.check_naive_module,
        colleague("pool", "order"),
        "your ReLU comes before the BatchNorm",
        id="colleague-relu-left",
    ),
    pytest.param(
        ex.check_naive_module,
        colleague("relu", "order"),
        "your pool branch averages",
        id="colleague-pool-left",
    ),
    pytest.param(
        ex.check_naive_module,
        colleague("relu", "pool"),
        "in the order max-pool, 1×1, 3×3, 5×5",
        id="colleague-order-left",
    ),
    pytest.param(
        ex.check_branch_fields,
        lambda: {"1×1": 9, "3×3": 11, "5×5": 13, "max-pool": 11},
        "you left out the strides",
        id="fields-no-jump",
    ),
    pytest.param(
        ex.check_branch_fields,
        lambda: {"1×1": 6, "3×3": 14, "5×5": 22, "max-pool": 14},
        "you followed the first module's 1×1 branch",
        id="fields-first-module-1x1",
    ),
    pytest.param(
        ex.check_branch_fields,
        lambda: {"1×1": 11, "3×3": 19, "5×5": 27, "max-pool": 19},
        "what the 2×2 max-pools add",
        id="fields-pools-do-not-grow",
    ),
    pytest.param(
        ex.check_branch_fields,
        lambda: {"1×1": 14, "3×3": 22, "5×5": 30, "max-pool": 14},
        "the max-pool branch is a 3×3 window",
        id="fields-pool-branch",
    ),
    pytest.param(
        ex.check_branch_fields,
        lambda: [30, 30, 30, 30],
        "that is the module's field",
        id="fields-all-the-module",
    ),
    pytest.param(
        ex.check_branch_fields,
        lambda: {"1×1": 14, "3×3": 22, "5×5": 31, "max-pool": 22},
        "the 5×5 branch: expected 30, you gave 31.",
        id="fields-other",
    ),
    pytest.param(
        ex.check_branch_fields,
        lambda: {"1×1": 14, "3×3": 22, "5×5": 30},
        "missing: max-pool",
        id="fields-missing",
    ),
    pytest.param(
        ex.check_branch_fields,
        lambda: {"1×1": 14, "3×3": 22, "5×5": 30, "7×7": 22},
        "unknown branch '7×7'",
        id="fields-unknown-branch",
    ),
    pytest.param(
        ex.check_branch_fields,
        lambda: {"1×1": 14, "3×3": (22, 21), "5×5": 30, "max-pool": 22},
        "is square",
        id="fields-not-square",
    ),
    pytest.param(ex.check_branch_fields, lambda: 30, "return a dict", id="fields-one-number"),
]


@pytest.mark.parametrize("checker, answer", REFERENCE + UNUSUAL)
def test_accepts(checker, answer, capsys):
    verdict = checker(answer)
    assert verdict.status == "passed", verdict.message


@pytest.mark.parametrize("checker, answer, feedback", WRONG)
def test_rejects_with_the_diagnosis(checker, answer, feedback, capsys):
    verdict = checker(answer)
    assert verdict.status == "failed" and feedback in verdict.message, verdict.message


def test_the_torch_cat_error_comes_with_a_hint():
    verdict = ex.check_naive_module(NoPadNaive)
    assert "check that every branch keeps the input's size" in verdict.message


def test_default_eps_is_accepted_with_a_note():
    verdict = ex.check_naive_module(OwnLayersSamePadding)
    assert "eps=1e-05" in verdict.message and "BasicConv2d eps=0.001" in verdict.message
