"""Notebook 02's checkers: reference solutions and unusual correct answers pass; typical wrong
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
from inception_edu.models.googlenet import Inception
from inception_edu.train import InceptionLoss

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


class AveragingInception(sol.InceptionModule):
    """torchvision's habit of in-place ReLUs, and a pool branch that averages."""

    def __init__(self, *args):
        super().__init__(*args)
        self.b4[0] = nn.AvgPool2d(3, stride=1, padding=1)
        for unit in self.modules():
            if isinstance(unit, nn.ReLU):
                unit.inplace = True


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


# --- training steps ------------------------------------------------------------------------------


def step(weights=(1.0, 0.3, 0.3), train=True, zero=True, ret=True):
    """A training step, right by default, with the given mistakes otherwise."""

    def train_step(model, images, targets, optimizer):
        if train:
            model.train()
        outputs = model(images)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        loss = sum(w * F.cross_entropy(o, targets) for w, o in zip(weights, outputs))
        if zero:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss if ret else None

    return train_step


def colleagues_step(model, images, targets, optimizer):
    """Exercise 3's starting point, as given (without its `raise`)."""
    outputs = model(images)
    loss = F.cross_entropy(outputs[0], targets)
    loss.backward()
    optimizer.step()
    return loss


def step_with_the_library_loss(model, images, targets, optimizer):
    """Unusual but right: the library's InceptionLoss, gradients zeroed after the step."""
    model.train()
    loss = InceptionLoss(aux_weight=0.3)(model(images), targets)
    loss.backward()
    optimizer.step()
    model.zero_grad()
    return loss.item()


def step_by_attribute_names(model, images, targets, optimizer):
    """Unusual but right: the named tuple's fields, a criterion object, set_to_none=False."""
    model.train(True)
    criterion = nn.CrossEntropyLoss()
    out = model(images)
    aux = criterion(out.aux_logits1, targets) + criterion(out.aux_logits2, targets)
    loss = criterion(out.logits, targets) + 0.3 * aux
    optimizer.zero_grad(set_to_none=False)
    loss.backward()
    optimizer.step()
    return loss.detach()


def max_reduction(in_channels, out_channels, kernel_size):
    k2 = kernel_size**2
    bound = k2 * in_channels * out_channels / (in_channels + k2 * out_channels)
    return math.ceil(bound) - 1


def max_reduction_by_search(in_channels, out_channels, kernel_size):
    """Unusual but right: count both designs with the library and widen until it stops paying."""
    c, o, k = in_channels, out_channels, kernel_size
    direct = count(nn.Conv2d(c, o, k, padding=k // 2, bias=False), (c, 1, 1)).macs
    r = 0
    while True:
        pair = nn.Sequential(
            nn.Conv2d(c, r + 1, 1, bias=False), nn.Conv2d(r + 1, o, k, padding=k // 2, bias=False)
        )
        if count(pair, (c, 1, 1)).macs >= direct:
            return r
        r += 1


def bound(c, o, k):
    return k * k * c * o / (c + k * k * o)


REFERENCE = [
    pytest.param(ex.check_inception_macs, sol.inception_macs, id="inception_macs"),
    pytest.param(ex.check_inception_module, sol.InceptionModule, id="inception_module"),
    pytest.param(ex.check_train_step, step(), id="train_step"),
    pytest.param(ex.check_max_reduction, max_reduction, id="max_reduction"),
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
    pytest.param(ex.check_train_step, step_with_the_library_loss, id="step-library-zero-after"),
    pytest.param(ex.check_train_step, step_by_attribute_names, id="step-attribute-names"),
    pytest.param(
        ex.check_max_reduction,
        lambda c, o, k: float((k * k * c * o - 1) // (c + k * k * o)),
        id="reduction-integer-arithmetic-float",
    ),
    pytest.param(ex.check_max_reduction, max_reduction_by_search, id="reduction-by-search"),
    pytest.param(
        ex.check_max_reduction, lambda *a: torch.tensor(max_reduction(*a)), id="reduction-tensor"
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
        ex.check_inception_module, AveragingInception, "your pool branch averages", id="avg-pool"
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
    pytest.param(ex.check_train_step, colleagues_step, "arrives in eval mode", id="step-as-given"),
    pytest.param(
        ex.check_train_step,
        step(weights=(1.0,), zero=False),
        "two bugs",
        id="step-main-only-no-zero",
    ),
    pytest.param(
        ex.check_train_step, step(weights=(1.0,)), "main classifier only", id="step-main-only"
    ),
    pytest.param(
        ex.check_train_step, step(zero=False), "the step before are added", id="step-no-zero"
    ),
    pytest.param(ex.check_train_step, step(weights=(1, 1, 1)), "count fully", id="step-weight-1"),
    pytest.param(ex.check_train_step, step(train=False), "eval mode", id="step-eval"),
    pytest.param(
        ex.check_train_step,
        step(weights=(1 / 3, 1 / 3, 1 / 3)),
        "you average the three losses",
        id="step-mean",
    ),
    pytest.param(ex.check_train_step, step(ret=False), "return the loss", id="step-no-return"),
    pytest.param(
        ex.check_train_step,
        lambda model, images, targets, optimizer: 0.0,
        "leaves the weights as they were",
        id="step-nothing",
    ),
    pytest.param(
        ex.check_train_step,
        step(weights=(1.0, 0.5, 0.5)),
        "not in a way we recognise",
        id="step-other",
    ),
    pytest.param(
        ex.check_max_reduction,
        lambda c, o, k: math.floor(bound(c, o, k)),
        "both cost the same",
        id="reduction-non-strict",
    ),
    pytest.param(
        ex.check_max_reduction,
        lambda c, o, k: c - 1,
        "what the 1×1 reduction costs itself",
        id="reduction-free-1x1",
    ),
    pytest.param(
        ex.check_max_reduction,
        lambda c, o, k: math.ceil(k * c * o / (c + k * o)) - 1,
        "k² weights per input channel",
        id="reduction-k-not-k2",
    ),
    pytest.param(
        ex.check_max_reduction, bound, "the break-even width itself", id="reduction-bound"
    ),
    pytest.param(
        ex.check_max_reduction,
        lambda c, o, k: round(bound(c, o, k)),
        "you rounded the break-even width",
        id="reduction-rounded",
    ),
    pytest.param(
        ex.check_max_reduction,
        lambda c, o, k: 16,
        "for in, out, k = (192, 32, 5): expected 154, you gave 16.",
        id="reduction-other",
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


def test_a_crash_in_eval_mode_says_why():
    verdict = ex.check_train_step(colleagues_step)
    assert verdict.status == "failed" and "your code raised" in verdict.message
    assert "Call model.train()" in verdict.message


def test_a_crash_in_train_mode_gets_no_eval_hint():
    def crashing(model, images, targets, optimizer):
        model.train()
        raise ValueError("oops")

    verdict = ex.check_train_step(crashing)
    assert "ValueError: oops" in verdict.message and "eval mode" not in verdict.message


def test_the_template_is_not_attempted(capsys):
    def train_step(model, images, targets, optimizer):
        raise NotImplementedError

    assert ex.check_train_step(train_step).status == "not attempted"
    assert capsys.readouterr().out.startswith("… train_step: not attempted yet")
