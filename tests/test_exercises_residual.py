"""Notebook 06's checkers: reference solutions and unusual correct answers pass; typical wrong
answers fail with the feedback that names the mistake."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inception_edu import exercises as ex
from inception_edu.models.basic import BasicConv2d
from inception_edu.models.inception_v4 import ReductionA

import exercise_solutions_residual as sol

pytestmark = pytest.mark.usefixtures("one_thread")


def mixed(block, x, order=(0, 1, 2)):
    branches = [block.branch0, block.branch1, block.branch2]
    return torch.cat([branches[i](x) for i in order], 1)


# --- correct answers in unusual forms ------------------------------------------------------------


class ProjectionFirst(nn.Module):
    """Projection declared first, the scale kept as a buffer, padding="same", F.relu; branch 2 runs
    first (its 1×1 and 3×3s have the same shapes as branch 0's and 1's)."""

    def __init__(self, in_channels, scale):
        super().__init__()
        self.project = nn.Conv2d(96, in_channels, 1)
        self.register_buffer("scale", torch.tensor(scale))
        unit = lambda a, b, k: nn.Sequential(  # noqa: E731
            nn.Conv2d(a, b, k, padding="same", bias=False), nn.BatchNorm2d(b, eps=1e-3), nn.ReLU()
        )
        self.two = nn.Sequential(unit(in_channels, 32, 1), unit(32, 32, 3), unit(32, 32, 3))
        self.one = nn.Sequential(unit(in_channels, 32, 1), unit(32, 32, 3))
        self.zero = unit(in_channels, 32, 1)

    def forward(self, x):
        two = self.two(x)
        residual = self.project(torch.cat([self.zero(x), self.one(x), two], dim=1))
        return F.relu(x + self.scale * residual)


class ClampedSum(sol.ResidualBlockA):
    def forward(self, x):
        return (self.conv2d(mixed(self, x)).mul(self.scale) + x).clamp_min(0)


# --- wrong answers -------------------------------------------------------------------------------


class NoScale(sol.ResidualBlockA):
    def forward(self, x):
        return torch.relu(x + self.conv2d(mixed(self, x)))


class NoFinalReLU(sol.ResidualBlockA):
    def forward(self, x):
        return x + self.scale * self.conv2d(mixed(self, x))


class ScaledSum(sol.ResidualBlockA):
    def forward(self, x):
        return torch.relu(self.scale * (x + self.conv2d(mixed(self, x))))


class NoShortcut(sol.ResidualBlockA):
    def forward(self, x):
        return torch.relu(self.scale * self.conv2d(mixed(self, x)))


class ReLUOnResidual(sol.ResidualBlockA):
    def forward(self, x):
        return torch.relu(x + self.scale * torch.relu(self.conv2d(mixed(self, x))))


class ReLUOnShortcut(sol.ResidualBlockA):
    def forward(self, x):
        return torch.relu(torch.relu(x) + self.scale * self.conv2d(mixed(self, x)))


class BNProjection(sol.ResidualBlockA):
    def __init__(self, in_channels, scale):
        super().__init__(in_channels, scale)
        self.conv2d = BasicConv2d(96, in_channels, 1)


class BiaslessProjection(sol.ResidualBlockA):
    def __init__(self, in_channels, scale):
        super().__init__(in_channels, scale)
        self.conv2d = nn.Conv2d(96, in_channels, 1, bias=False)


class NoProjection(sol.ResidualBlockA):
    def forward(self, x):
        return torch.relu(mixed(self, x) + self.scale)  # 96 channels: cannot be added to x


class SwappedBranches(sol.ResidualBlockA):
    def forward(self, x):
        return torch.relu(x + self.scale * self.conv2d(mixed(self, x, order=(1, 0, 2))))


class ReLUBeforeBN(ProjectionFirst):
    def __init__(self, in_channels, scale):
        super().__init__(in_channels, scale)
        for unit in [*self.two, *self.one, self.zero]:
            conv, bn, relu = unit
            unit[1], unit[2] = relu, bn


class WideBranch(sol.ResidualBlockA):
    def __init__(self, in_channels, scale):
        super().__init__(in_channels, scale)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, 32, 1),
            BasicConv2d(32, 48, 3, padding=1),
            BasicConv2d(48, 32, 3, padding=1),
        )


# --- the cases -----------------------------------------------------------------------------------


def residual_variance_by_loop(var0, branch_var, scale, depth):
    variance = var0
    for _ in range(depth):
        variance += (scale * scale) * branch_var
    return variance


REFERENCE = [
    pytest.param(
        ex.check_reduction_a_channels, sol.reduction_a_channels, id="reduction_a_channels"
    ),
    pytest.param(ex.check_residual_block, sol.ResidualBlockA, id="residual_block"),
    pytest.param(ex.check_residual_variance, sol.residual_variance, id="residual_variance"),
]

UNUSUAL = [
    pytest.param(
        ex.check_reduction_a_channels, lambda c, k, l_, m, n: float(n + m + c), id="channels-float"
    ),
    pytest.param(
        ex.check_reduction_a_channels, lambda *a: ReductionA(*a).out_channels, id="channels-library"
    ),
    pytest.param(
        ex.check_reduction_a_channels,
        lambda c, k, l_, m, n: torch.tensor(n) + m + c,
        id="channels-tensor",
    ),
    pytest.param(ex.check_residual_block, ProjectionFirst, id="projection-first-buffer-scale"),
    pytest.param(ex.check_residual_block, ClampedSum, id="clamp_min"),
    pytest.param(ex.check_residual_variance, residual_variance_by_loop, id="variance-loop"),
    pytest.param(
        ex.check_residual_variance,
        lambda v0, v, s, n: np.float32(v0 + n * s * s * v),
        id="variance-float32",
    ),
]

WRONG = [
    pytest.param(
        ex.check_reduction_a_channels,
        lambda c, k, l_, m, n: n + m,
        "the max-pool branch outputs channels too",
        id="channels-no-pool",
    ),
    pytest.param(
        ex.check_reduction_a_channels,
        lambda c, k, l_, m, n: k + l_ + m + n + c,
        "only the last conv of each branch",
        id="channels-all-widths",
    ),
    pytest.param(
        ex.check_reduction_a_channels,
        lambda c, k, l_, m, n: k + l_ + m + n,
        "the pool branch passes its input channels on",
        id="channels-all-widths-no-pool",
    ),
    pytest.param(
        ex.check_reduction_a_channels,
        lambda *args: 1000,
        "inception_v4 (from 384 channels): expected 1,024, you gave 1,000",
        id="channels-other",
    ),
    pytest.param(
        ex.check_residual_block,
        NoScale,
        "you do not multiply the residual by `scale`",
        id="no-scale",
    ),
    pytest.param(
        ex.check_residual_block,
        NoFinalReLU,
        "the ReLU after the sum is missing",
        id="no-final-relu",
    ),
    pytest.param(ex.check_residual_block, ScaledSum, "you scale the whole sum", id="scaled-sum"),
    pytest.param(ex.check_residual_block, NoShortcut, "the shortcut is missing", id="no-shortcut"),
    pytest.param(
        ex.check_residual_block, ReLUOnResidual, "a ReLU sits on the residual", id="relu-residual"
    ),
    pytest.param(
        ex.check_residual_block, ReLUOnShortcut, "you add relu(x), not x", id="relu-shortcut"
    ),
    pytest.param(
        ex.check_residual_block,
        BNProjection,
        "the 1×1 projection has no BatchNorm",
        id="bn-projection",
    ),
    pytest.param(
        ex.check_residual_block,
        BiaslessProjection,
        "the 1×1 projection needs a bias",
        id="biasless-projection",
    ),
    pytest.param(
        ex.check_residual_block,
        NoProjection,
        "returns a map shaped like its input",
        id="no-projection",
    ),
    pytest.param(
        ex.check_residual_block,
        SwappedBranches,
        "in the order 3×3, 1×1, double 3×3; the reference's order is 1×1, 3×3, double 3×3",
        id="order",
    ),
    pytest.param(
        ex.check_residual_block, ReLUBeforeBN, "your ReLU comes before the BatchNorm", id="relu-bn"
    ),
    pytest.param(ex.check_residual_block, WideBranch, "v1's widths are 32 (1×1)", id="widths"),
    pytest.param(
        ex.check_residual_variance,
        lambda v0, v, s, n: v0 + n * s * v,
        "by s², not by s",
        id="variance-s",
    ),
    pytest.param(
        ex.check_residual_variance,
        lambda v0, v, s, n: v0 * (1 + s * s * v) ** n,
        "variances of independent terms add",
        id="variance-product",
    ),
    pytest.param(
        ex.check_residual_variance,
        lambda v0, v, s, n: (v0 + n * s * s * v) ** 0.5,
        "that is the standard deviation",
        id="variance-std",
    ),
    pytest.param(
        ex.check_residual_variance,
        lambda v0, v, s, n: v0,
        "for var0=1.0, v=0.2, s=1.0, depth=20",
        id="variance-other",
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
