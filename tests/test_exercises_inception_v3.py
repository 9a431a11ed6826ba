"""Notebook 04's checkers: reference solutions and unusual correct answers pass; typical wrong
answers fail with the feedback that names the mistake."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inception_edu import cost
from inception_edu import exercises as ex
from inception_edu.exercises.inception_v3 import REDUCTIONS, reduction_module
from inception_edu.models.basic import BasicConv2d
from inception_edu.models.inception_v3 import InceptionV3Aux

import exercise_solutions_v3 as sol

pytestmark = pytest.mark.usefixtures("one_thread")


# --- the three grid reductions of §5 ------------------------------------------------------------


def reduction_costs(d, k):
    """The reference answer: (multiply-adds, narrowest cut) of each way."""
    half = (d // 2) ** 2
    return {
        "pool_first": (half * 9 * k * 2 * k, half * k),
        "conv_first": (d * d * 9 * k * 2 * k, half * 2 * k),
        "parallel": (half * 9 * k * k, half * 2 * k),
    }


def reduction_costs_measured(d, k):
    """Measure instead of derive: count the modules, read the cut off the shapes."""
    answer = {}
    for way in REDUCTIONS:
        module = reduction_module(way, k)
        x = torch.zeros(1, k, d, d)
        if way == "parallel":
            cut = module.conv(x).numel() + module.pool(x).numel()
        else:
            cut = min(module[0](x).numel(), module(x).numel())
        answer[way] = [torch.tensor(cost.count(module, (k, d, d)).macs), cut]
    return answer


def reduction_costs_as_floats(d, k):
    return {way: tuple(np.float64(v) for v in pair) for way, pair in reduction_costs(d, k).items()}


def changed(way, macs=None, cut=None):
    """The reference answer with one way's MACs or cut replaced by ``f(d, k)``."""

    def answer(d, k):
        result = reduction_costs(d, k)
        right_macs, right_cut = result[way]
        result[way] = (macs(d, k) if macs else right_macs, cut(d, k) if cut else right_cut)
        return result

    return answer


def test_the_reference_modules_halve_the_grid_and_double_the_channels():
    for way in REDUCTIONS:
        assert reduction_module(way, 6)(torch.zeros(1, 6, 10, 10)).shape == (1, 12, 5, 5)


# --- the 35×35 block -----------------------------------------------------------------------------


class Unit(nn.Module):
    """A student's own conv → BN → ReLU: padding="same", PyTorch's default eps, torch.relu."""

    def __init__(self, c_in, c_out, k, relu_first=False):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, padding="same", bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.relu_first = relu_first

    def forward(self, x):
        x = self.conv(x)
        return self.bn(torch.relu(x)) if self.relu_first else torch.relu(self.bn(x))


class OwnUnitsA(nn.Module):
    """Own units; the pool branch declared first; the double 3×3 branch computed first."""

    def __init__(self, in_channels, pool_features, relu_first=False, pool=None):
        super().__init__()
        unit = lambda *a: Unit(*a, relu_first=relu_first)  # noqa: E731
        self.pool = pool or nn.AvgPool2d(3, stride=1, padding=1)
        self.pool_proj = unit(in_channels, pool_features, 1)
        self.dbl = nn.Sequential(unit(in_channels, 64, 1), unit(64, 96, 3), unit(96, 96, 3))
        self.five = nn.Sequential(unit(in_channels, 48, 1), unit(48, 64, 5))
        self.one = unit(in_channels, 64, 1)

    def forward(self, x):
        double = self.dbl(x)  # runs first: its 1×1 has the same shape as the 1×1 branch's
        return torch.cat([self.one(x), self.five(x), double, self.pool_proj(self.pool(x))], 1)


class ComputedBackwards(sol.InceptionA):
    def forward(self, x):
        pool = self.bp(self.pool(x))
        double = self.b3_3(self.b3_2(self.b3_1(x)))
        five = self.b5_2(self.b5_1(x))
        return torch.cat([self.b1(x), five, double, pool], 1)


class PaperFigure5(sol.InceptionA):
    """Fig. 5 as drawn: a 1×1 → 3×3 branch where the released block has its 5×5."""

    def __init__(self, in_channels, pool_features):
        super().__init__(in_channels, pool_features)
        self.b5_2 = BasicConv2d(48, 64, 3, padding=1)


class MaxPoolA(sol.InceptionA):
    def __init__(self, in_channels, pool_features):
        super().__init__(in_channels, pool_features)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)


class FunctionalMaxPoolA(sol.InceptionA):
    def forward(self, x):
        branches = [self.b1(x), self.b5_2(self.b5_1(x)), self.b3_3(self.b3_2(self.b3_1(x)))]
        return torch.cat([*branches, self.bp(F.max_pool2d(x, 3, 1, 1))], 1)


class NarrowA(sol.InceptionA):
    def __init__(self, in_channels, pool_features):
        super().__init__(in_channels, pool_features)
        self.b3_2 = BasicConv2d(64, 64, 3, padding=1)
        self.b3_3 = BasicConv2d(64, 96, 3, padding=1)


class SwappedA(sol.InceptionA):
    def forward(self, x):
        branches = [self.b1(x), self.b3_3(self.b3_2(self.b3_1(x))), self.b5_2(self.b5_1(x))]
        return torch.cat([*branches, self.bp(self.pool(x))], 1)


class ExcludePadA(sol.InceptionA):
    def __init__(self, in_channels, pool_features):
        super().__init__(in_channels, pool_features)
        self.pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class ProjectThenPoolA(sol.InceptionA):
    def forward(self, x):
        branches = [self.b1(x), self.b5_2(self.b5_1(x)), self.b3_3(self.b3_2(self.b3_1(x)))]
        return torch.cat([*branches, self.pool(self.bp(x))], 1)


# --- learning rate and parameter counts ----------------------------------------------------------


def learning_rate_by_loop(epoch):
    rate = 0.045
    for e in range(1, epoch + 1):
        if e % 2 == 0:
            rate *= 0.94
    return rate


def aux_head_params_by_counting(in_channels, num_classes):
    return sum(p.numel() for p in InceptionV3Aux(in_channels, num_classes).parameters())


REFERENCE = [
    pytest.param(ex.check_reduction_costs, reduction_costs, id="reduction_costs"),
    pytest.param(ex.check_inception_v3a, sol.InceptionA, id="inception_v3a"),
    pytest.param(ex.check_aux_head_params, sol.aux_head_params, id="aux_head_params"),
    pytest.param(ex.check_paper_learning_rate, sol.paper_learning_rate, id="paper_learning_rate"),
]

UNUSUAL = [
    pytest.param(ex.check_reduction_costs, reduction_costs_measured, id="costs-measured"),
    pytest.param(ex.check_reduction_costs, reduction_costs_as_floats, id="costs-numpy-floats"),
    pytest.param(ex.check_inception_v3a, OwnUnitsA, id="own-units-other-order"),
    pytest.param(ex.check_inception_v3a, ComputedBackwards, id="computed-backwards"),
    pytest.param(
        ex.check_aux_head_params, lambda c, k: float(sol.aux_head_params(c, k)), id="params-float"
    ),
    pytest.param(ex.check_aux_head_params, aux_head_params_by_counting, id="params-counted"),
    pytest.param(ex.check_paper_learning_rate, learning_rate_by_loop, id="lr-loop"),
    pytest.param(
        ex.check_paper_learning_rate, lambda e: math.pow(0.94, e // 2) * 0.045, id="lr-pow"
    ),
    pytest.param(
        ex.check_paper_learning_rate,
        lambda e: torch.tensor(0.045) * 0.94 ** (e // 2),
        id="lr-float32-tensor",
    ),
]

WRONG = [
    pytest.param(
        ex.check_reduction_costs,
        changed("pool_first", macs=lambda d, k: d * d * 9 * k * 2 * k),
        "pooling first leaves it (d/2)×(d/2)",
        id="pool-first-full-grid",
    ),
    pytest.param(
        ex.check_reduction_costs,
        changed("conv_first", macs=lambda d, k: 2 * d * d * k * k),
        "you left out the 3×3 kernel",
        id="conv-first-no-kernel",
    ),
    pytest.param(
        ex.check_reduction_costs,
        changed("parallel", macs=lambda d, k: d * d * 9 * k * k),
        "count its output positions",
        id="parallel-stride",
    ),
    pytest.param(
        ex.check_reduction_costs,
        changed("parallel", macs=lambda d, k: (d // 2) ** 2 * 9 * k * 2 * k),
        "the conv branch needs only k channels",
        id="parallel-2k",
    ),
    pytest.param(
        ex.check_reduction_costs,
        changed("pool_first", cut=lambda d, k: (d // 2) ** 2 * 2 * k),
        "representational bottleneck",
        id="pool-first-cut-output",
    ),
    pytest.param(
        ex.check_reduction_costs,
        changed("parallel", cut=lambda d, k: (d // 2) ** 2 * k),
        "must cross both branches",
        id="parallel-cut-one-branch",
    ),
    pytest.param(
        ex.check_reduction_costs,
        changed("conv_first", cut=lambda d, k: d * d * k),
        "the input does not count",
        id="cut-input",
    ),
    pytest.param(
        ex.check_reduction_costs,
        changed("conv_first", cut=lambda d, k: 7),
        "conv_first: the smallest tensor",
        id="cut-other",
    ),
    pytest.param(
        ex.check_reduction_costs,
        lambda d, k: {"pool_first": (1, 2)},
        "missing: conv_first, parallel",
        id="missing",
    ),
    pytest.param(
        ex.check_reduction_costs,
        lambda d, k: dict(reduction_costs(d, k), parallel=5),
        "parallel: give a pair (MACs, narrowest cut)",
        id="not-a-pair",
    ),
    pytest.param(
        ex.check_reduction_costs, lambda d, k: [1, 2, 3], "return a dict", id="not-a-dict"
    ),
    pytest.param(
        ex.check_inception_v3a, PaperFigure5, "keeps a 1×1 (48) → 5×5 (64) branch", id="fig5"
    ),
    pytest.param(ex.check_inception_v3a, MaxPoolA, "average pooling", id="max-pool"),
    pytest.param(ex.check_inception_v3a, FunctionalMaxPoolA, "average pooling", id="f-max-pool"),
    pytest.param(ex.check_inception_v3a, NarrowA, "Branch widths: 1×1: 64", id="narrow"),
    pytest.param(
        ex.check_inception_v3a,
        SwappedA,
        "in the order 1×1, double 3×3, 5×5, pool; "
        "the reference's order is 1×1, 5×5, double 3×3, pool",
        id="order",
    ),
    pytest.param(
        ex.check_inception_v3a, ExcludePadA, "count_include_pad=False", id="count-include-pad"
    ),
    pytest.param(
        ex.check_inception_v3a,
        lambda *a: OwnUnitsA(*a, relu_first=True),
        "your ReLU comes before the BatchNorm",
        id="relu-bn",
    ),
    pytest.param(
        ex.check_inception_v3a,
        ProjectThenPoolA,
        "your pool branch projects before it pools",
        id="project-then-pool",
    ),
    pytest.param(
        ex.check_aux_head_params,
        lambda c, k: sol.aux_head_params(c, k) - 2 * (128 + 768),
        "a scale and a shift per channel",
        id="params-no-bn",
    ),
    pytest.param(
        ex.check_aux_head_params,
        lambda c, k: sol.aux_head_params(c, k) + 128 + 768,
        "have no bias",
        id="params-conv-bias",
    ),
    pytest.param(
        ex.check_aux_head_params,
        lambda c, k: sol.aux_head_params(c, k) - k,
        "a bias per class",
        id="params-no-fc-bias",
    ),
    pytest.param(
        ex.check_aux_head_params,
        lambda c, k: sol.aux_head_params(c, k) + 2 * (128 + 768),
        "buffers, not parameters",
        id="params-buffers",
    ),
    pytest.param(
        ex.check_aux_head_params,
        lambda c, k: 3_326_696,
        "for in_channels=96, num_classes=10: expected 2,479,370",
        id="params-other",
    ),
    pytest.param(
        ex.check_paper_learning_rate,
        lambda e: 0.045 * 0.94**e,
        "decays every epoch",
        id="lr-every-epoch",
    ),
    pytest.param(
        ex.check_paper_learning_rate,
        lambda e: 0.045 * 0.94 ** (e / 2),
        "smooth decay",
        id="lr-smooth",
    ),
    pytest.param(
        ex.check_paper_learning_rate,
        lambda e: 0.045 * 0.94 ** ((e + 1) // 2),
        "your rate drops at the odd epochs",
        id="lr-off-by-one",
    ),
    pytest.param(
        ex.check_paper_learning_rate,
        lambda e: 0.045 * 0.94 ** (e // 2 + 1),
        "already decayed at epoch 0",
        id="lr-early",
    ),
    pytest.param(
        ex.check_paper_learning_rate, lambda e: 0.045, "at epoch 2: expected 0.0423", id="lr-other"
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
