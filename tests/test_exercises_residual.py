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


def mixed(block, x, order=(0, 1)):
    branches = [block.branch0, block.branch1]
    return torch.cat([branches[i](x) for i in order], 1)


# --- correct answers in unusual forms ------------------------------------------------------------


class ProjectionFirst(nn.Module):
    """Projection declared first, the scale kept as a buffer, padding="same", F.relu; the 1×7
    branch runs first; torch.add(..., alpha=scale) for the scaled sum."""

    def __init__(self, in_channels, scale):
        super().__init__()
        self.project = nn.Conv2d(256, in_channels, 1)
        self.register_buffer("scale", torch.tensor(scale))
        unit = lambda a, b, k: nn.Sequential(  # noqa: E731
            nn.Conv2d(a, b, k, padding="same", bias=False), nn.BatchNorm2d(b, eps=1e-3), nn.ReLU()
        )
        self.long = nn.Sequential(
            unit(in_channels, 128, 1), unit(128, 128, (1, 7)), unit(128, 128, (7, 1))
        )
        self.short = unit(in_channels, 128, 1)

    def forward(self, x):
        long = self.long(x)
        residual = self.project(torch.cat([self.short(x), long], dim=1))
        return F.relu(torch.add(x, residual, alpha=float(self.scale)))


class ClampedSum(sol.ResidualBlockB):
    def forward(self, x):
        return (self.conv2d(mixed(self, x)).mul(self.scale) + x).clamp_min(0)


# --- wrong answers -------------------------------------------------------------------------------


class Unchanged(sol.ColleaguesInceptionResNetB):
    """The colleague's block handed in as it is."""


class ProjectionFixedOnly(sol.ResidualBlockB):
    def forward(self, x):
        return torch.relu(self.scale * x + self.conv2d(mixed(self, x)))


class ScaleFixedOnly(sol.ColleaguesInceptionResNetB):
    def forward(self, x):
        return torch.relu(x + self.scale * self.conv2d(mixed(self, x)))


class NoScale(sol.ResidualBlockB):
    def forward(self, x):
        return torch.relu(x + self.conv2d(mixed(self, x)))


class NoFinalReLU(sol.ResidualBlockB):
    def forward(self, x):
        return x + self.scale * self.conv2d(mixed(self, x))


class ScaledSum(sol.ResidualBlockB):
    def forward(self, x):
        return torch.relu(self.scale * (x + self.conv2d(mixed(self, x))))


class NoShortcut(sol.ResidualBlockB):
    def forward(self, x):
        return torch.relu(self.scale * self.conv2d(mixed(self, x)))


class ReLUOnResidual(sol.ResidualBlockB):
    """BN removed from the projection, its ReLU kept."""

    def forward(self, x):
        return torch.relu(x + self.scale * torch.relu(self.conv2d(mixed(self, x))))


class ReLUOnShortcut(sol.ResidualBlockB):
    def forward(self, x):
        return torch.relu(torch.relu(x) + self.scale * self.conv2d(mixed(self, x)))


class BiaslessProjection(sol.ResidualBlockB):
    def __init__(self, in_channels, scale):
        super().__init__(in_channels, scale)
        self.conv2d = nn.Conv2d(256, in_channels, 1, bias=False)


class NoProjection(sol.ResidualBlockB):
    def forward(self, x):
        return torch.relu(mixed(self, x) + self.scale)  # 256 channels: cannot be added to x


class SwappedBranches(sol.ResidualBlockB):
    def forward(self, x):
        return torch.relu(x + self.scale * self.conv2d(mixed(self, x, order=(1, 0))))


class ReLUBeforeBN(ProjectionFirst):
    def __init__(self, in_channels, scale):
        super().__init__(in_channels, scale)
        for unit in [*self.long, self.short]:
            conv, bn, relu = unit
            unit[1], unit[2] = relu, bn


class WideBranch(sol.ResidualBlockB):
    def __init__(self, in_channels, scale):
        super().__init__(in_channels, scale)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, 128, 1),
            BasicConv2d(128, 160, (1, 7), padding=(0, 3)),
            BasicConv2d(160, 128, (7, 1), padding=(3, 0)),
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
    pytest.param(ex.check_residual_bug, sol.ResidualBlockB, id="residual_bug"),
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
    pytest.param(ex.check_residual_bug, ProjectionFirst, id="projection-first-buffer-scale-add"),
    pytest.param(ex.check_residual_bug, ClampedSum, id="clamp_min"),
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
        ex.check_residual_bug,
        Unchanged,
        "the 1×1 projection still has a BatchNorm",
        id="unchanged",
    ),
    pytest.param(
        ex.check_residual_bug,
        ScaleFixedOnly,
        "That is one of the two bugs",
        id="scale-fixed-only",
    ),
    pytest.param(
        ex.check_residual_bug,
        ProjectionFixedOnly,
        "you scale the shortcut, not the residual",
        id="projection-fixed-only",
    ),
    pytest.param(
        ex.check_residual_bug, NoScale, "you do not multiply the residual by `scale`", id="no-scale"
    ),
    pytest.param(
        ex.check_residual_bug, NoFinalReLU, "the ReLU after the sum is missing", id="no-final-relu"
    ),
    pytest.param(ex.check_residual_bug, ScaledSum, "you scale the whole sum", id="scaled-sum"),
    pytest.param(ex.check_residual_bug, NoShortcut, "the shortcut is missing", id="no-shortcut"),
    pytest.param(
        ex.check_residual_bug, ReLUOnResidual, "a ReLU sits on the residual", id="relu-residual"
    ),
    pytest.param(
        ex.check_residual_bug, ReLUOnShortcut, "you add relu(x), not x", id="relu-shortcut"
    ),
    pytest.param(
        ex.check_residual_bug,
        BiaslessProjection,
        "the 1×1 projection needs a bias",
        id="biasless-projection",
    ),
    pytest.param(
        ex.check_residual_bug,
        NoProjection,
        "returns a map shaped like its input",
        id="no-projection",
    ),
    pytest.param(
        ex.check_residual_bug,
        SwappedBranches,
        "in the order 1×7, 7×1, 1×1; the reference's order is 1×1, 1×7, 7×1",
        id="order",
    ),
    pytest.param(
        ex.check_residual_bug, ReLUBeforeBN, "your ReLU comes before the BatchNorm", id="relu-bn"
    ),
    pytest.param(
        ex.check_residual_bug, WideBranch, "v1's Inception-ResNet-B widths are 128", id="widths"
    ),
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
