"""Notebook 02's checkers: reference solutions and unusual correct answers pass; typical wrong
answers fail with the feedback that names the mistake."""

from types import MappingProxyType

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inception_edu import exercises as ex
from inception_edu.cost import count
from inception_edu.models.basic import BasicConv2d
from inception_edu.models.googlenet import TABLE_1, Inception

import exercise_solutions as sol

pytestmark = pytest.mark.usefixtures("one_thread")


class Unit(nn.Module):
    """A student's own conv → BN → ReLU (PyTorch's default eps), or conv → ReLU → BN."""

    def __init__(self, c_in, c_out, k, relu_first=False):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, padding="same", bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.relu_first = relu_first

    def forward(self, x):
        x = self.conv(x)
        return self.bn(F.relu(x)) if self.relu_first else F.relu(self.bn(x))


class OwnUnits(nn.Module):
    """Own units with padding="same"; the pool branch declared and computed first."""

    def __init__(
        self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, relu_first=False
    ):
        super().__init__()
        unit = lambda *a: Unit(*a, relu_first=relu_first)  # noqa: E731
        self.pool_proj = unit(in_channels, pool_proj, 1)
        self.one = unit(in_channels, ch1x1, 1)
        self.three = nn.Sequential(unit(in_channels, ch3x3red, 1), unit(ch3x3red, ch3x3, 3))
        self.five = nn.Sequential(unit(in_channels, ch5x5red, 1), unit(ch5x5red, ch5x5, 5))

    def forward(self, x):
        pooled = self.pool_proj(F.max_pool2d(x, 3, 1, 1))
        return torch.cat([self.one(x), self.three(x), self.five(x), pooled], 1)


class ComputedInAnotherOrder(sol.InceptionModule):
    def forward(self, x):
        four, three = self.b4(x), self.b3(x)
        return torch.cat([self.b1(x), self.b2(x), three, four], 1)


class ThreeByThreeInception(sol.InceptionModule):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)
        self.b3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, 1), BasicConv2d(ch5x5red, ch5x5, 3, padding=1)
        )


class ReLUFirstInception(sol.InceptionModule):
    def forward(self, x):  # pools after a ReLU that is not in the reference
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(torch.relu(x))], 1)


class ProjectThenPool(sol.InceptionModule):
    def forward(self, x):
        pool, proj = self.b4
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), pool(proj(x))], 1)


class SwappedInception(sol.InceptionModule):
    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b2(x), self.b4(x)], 1)


class WideReduction(sol.InceptionModule):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)
        self.b3 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, 1), BasicConv2d(ch3x3red, ch5x5, 5, padding=2)
        )


class PlainConvs(nn.Module):
    """Convolutions with biases and ReLUs, no BatchNorm."""

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        conv = lambda a, b, k: nn.Sequential(nn.Conv2d(a, b, k, padding=k // 2), nn.ReLU())  # noqa: E731
        self.b1 = conv(in_channels, ch1x1, 1)
        self.b2 = nn.Sequential(conv(in_channels, ch3x3red, 1), conv(ch3x3red, ch3x3, 3))
        self.b3 = nn.Sequential(conv(in_channels, ch5x5red, 1), conv(ch5x5red, ch5x5, 5))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv(in_channels, pool_proj, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


# --- losses and channel tables -------------------------------------------------------------------


def aux_loss_float64(outputs, target):
    logits, aux2, aux1 = (o.double() for o in outputs)
    return (
        F.cross_entropy(logits, target)
        + 0.3 * F.cross_entropy(aux2, target)
        + 0.3 * F.cross_entropy(aux1, target)
    )


def aux_loss_by_name(outputs, target):
    criterion = nn.CrossEntropyLoss()
    aux = criterion(outputs.aux_logits1, target) + criterion(outputs.aux_logits2, target)
    return criterion(outputs.logits, target) + 0.3 * aux


def aux_loss_weights(outputs, target):
    losses = torch.stack([F.cross_entropy(o, target) for o in outputs])
    return losses @ torch.tensor([1.0, 0.3, 0.3])


def ce(outputs, target):
    return [F.cross_entropy(o, target) for o in outputs]


def widths_sum(indices):
    """Table 1's widths added up, for some of the six columns: a channel table, right or wrong."""
    return {name: sum(w[i] for i in indices) for name, w in TABLE_1.items()}


REFERENCE = [
    pytest.param(ex.check_inception_macs, sol.inception_macs, id="inception_macs"),
    pytest.param(ex.check_inception_module, sol.InceptionModule, id="inception_module"),
    pytest.param(ex.check_aux_loss, sol.aux_loss, id="aux_loss"),
    pytest.param(ex.check_stage_channels, sol.STAGE_CHANNELS, id="stage_channels"),
]

UNUSUAL = [
    pytest.param(
        ex.check_inception_macs, lambda *a: float(sol.inception_macs(*a)), id="macs-float"
    ),
    pytest.param(
        ex.check_inception_macs,
        lambda c, s, *w: count(Inception(c, *w), (c, s, s)).macs,
        id="macs-library",
    ),
    pytest.param(
        ex.check_inception_macs, lambda *a: np.int64(sol.inception_macs(*a)), id="macs-numpy"
    ),
    pytest.param(ex.check_inception_module, OwnUnits, id="own-units-pool-first"),
    pytest.param(ex.check_inception_module, ComputedInAnotherOrder, id="computed-in-another-order"),
    pytest.param(ex.check_aux_loss, aux_loss_float64, id="loss-float64"),
    pytest.param(ex.check_aux_loss, aux_loss_by_name, id="loss-attribute-names"),
    pytest.param(ex.check_aux_loss, aux_loss_weights, id="loss-weights-vector"),
    pytest.param(ex.check_stage_channels, lambda: dict(sol.STAGE_CHANNELS), id="stages-function"),
    pytest.param(
        ex.check_stage_channels,
        MappingProxyType({k: float(v) for k, v in sol.STAGE_CHANNELS.items()}),
        id="stages-floats",
    ),
    pytest.param(
        ex.check_stage_channels,
        {k: torch.tensor(v) for k, v in sol.STAGE_CHANNELS.items()},
        id="stages-tensors",
    ),
]

WRONG = [
    pytest.param(
        ex.check_inception_macs,
        lambda c, s, a, r3, b, r5, d, p: (
            sol.inception_macs(c, s, a, r3, b, r5, d, p) - (r3 + r5) * c * s * s
        ),
        "you left out the cost of the 1×1 reductions themselves",
        id="macs-no-reductions",
    ),
    pytest.param(
        ex.check_inception_macs,
        lambda c, s, a, r3, b, r5, d, p: (
            sol.inception_macs(c, s, a, r3, b, r5, d, p) - p * c * s * s
        ),
        "pool branch's 1×1 projection",
        id="macs-no-pool-proj",
    ),
    pytest.param(
        ex.check_inception_macs,
        lambda c, s, *w: count(Inception(c, *w, branch3_kernel=3), (c, s, s)).macs,
        "a 3×3 third branch (torchvision's)",
        id="macs-torchvision",
    ),
    pytest.param(
        ex.check_inception_macs,
        lambda *a: 2 * sol.inception_macs(*a),
        "that is FLOPs",
        id="macs-flops",
    ),
    pytest.param(
        ex.check_inception_macs,
        lambda *a: 1,
        "inception3a on a 192×28×28 input: expected",
        id="macs-other",
    ),
    pytest.param(
        ex.check_inception_module,
        lambda *a: OwnUnits(*a, relu_first=True),
        "your ReLU comes before the BatchNorm",
        id="relu-bn",
    ),
    pytest.param(
        ex.check_inception_module, ThreeByThreeInception, "no 5×5 convolution", id="three-by-three"
    ),
    pytest.param(
        ex.check_inception_module,
        ProjectThenPool,
        "your pool branch projects before it pools",
        id="project-then-pool",
    ),
    pytest.param(
        ex.check_inception_module, ReLUFirstInception, "your pool branch pools relu(x)", id="relu-x"
    ),
    pytest.param(
        ex.check_inception_module,
        SwappedInception,
        "in the order 1×1, 5×5, 3×3, pool; the reference's order is 1×1, 3×3, 5×5, pool",
        id="order",
    ),
    pytest.param(
        ex.check_inception_module, WideReduction, "Branch widths: 1×1 → ch1x1", id="widths"
    ),
    pytest.param(ex.check_inception_module, PlainConvs, "yours has no BatchNorm", id="no-bn"),
    pytest.param(
        ex.check_aux_loss, lambda o, t: F.cross_entropy(o[0], t), "main loss only", id="loss-main"
    ),
    pytest.param(
        ex.check_aux_loss, lambda o, t: sum(ce(o, t)), "weighted by 0.3", id="loss-unweighted"
    ),
    pytest.param(
        ex.check_aux_loss,
        lambda o, t: sum(ce(o, t)) / 3,
        "you average the three losses",
        id="loss-mean",
    ),
    pytest.param(
        ex.check_aux_loss,
        lambda o, t: 0.3 * sum(ce(o, t)),
        "you weight the whole sum by 0.3",
        id="loss-all-scaled",
    ),
    pytest.param(
        ex.check_aux_loss,
        lambda o, t: torch.tensor(sol.aux_loss(o, t).item()),
        "is cut off from the logits",
        id="loss-detached",
    ),
    pytest.param(
        ex.check_aux_loss,
        lambda o, t: sol.aux_loss(o, t).item(),
        "return the loss as a tensor, not a float",
        id="loss-float",
    ),
    pytest.param(
        ex.check_aux_loss,
        lambda o, t: F.cross_entropy(o[0], t, reduction="none"),
        "0-dimensional tensor",
        id="loss-per-sample",
    ),
    pytest.param(
        ex.check_stage_channels,
        widths_sum(range(6)),
        "the reductions (#3×3 reduce, #5×5 reduce) are not outputs",
        id="stages-all-six",
    ),
    pytest.param(
        ex.check_stage_channels,
        widths_sum((0, 2, 4)),
        "'pool proj' channels are part",
        id="stages-no-pool",
    ),
    pytest.param(
        ex.check_stage_channels,
        widths_sum((0, 1, 3, 5)),
        "you took the reductions' widths",
        id="stages-reductions",
    ),
    pytest.param(
        ex.check_stage_channels,
        dict(sol.STAGE_CHANNELS, inception4e=800),
        "inception4e: expected 832, you gave 800.",
        id="stages-one-wrong",
    ),
    pytest.param(
        ex.check_stage_channels, {"inception3a": 256}, "missing: inception3b", id="stages-missing"
    ),
    pytest.param(
        ex.check_stage_channels,
        dict(sol.STAGE_CHANNELS, inception6a=1024),
        "no module called inception6a",
        id="stages-unknown",
    ),
    pytest.param(ex.check_stage_channels, [256, 480], "give a dict", id="stages-list"),
]


@pytest.mark.parametrize("checker, answer", REFERENCE + UNUSUAL)
def test_accepts(checker, answer, capsys):
    verdict = checker(answer)
    assert verdict.status == "passed", verdict.message


@pytest.mark.parametrize("checker, answer, feedback", WRONG)
def test_rejects_with_the_diagnosis(checker, answer, feedback, capsys):
    verdict = checker(answer)
    assert verdict.status == "failed" and feedback in verdict.message, verdict.message


def test_the_empty_template_is_not_attempted(capsys):
    assert ex.check_stage_channels({}).status == "not attempted"
