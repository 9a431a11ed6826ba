"""Notebook 05's checkers: reference solutions and unusual correct answers pass; typical wrong
answers fail with the feedback that names the mistake."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.functional import cross_entropy as imported_cross_entropy

from inception_edu import exercises as ex
from inception_edu.exercises.label_smoothing import _ece_cases

import exercise_solutions_label_smoothing as sol

pytestmark = pytest.mark.usefixtures("one_thread")

# --- smoothed targets and loss -------------------------------------------------------------------


def smooth_by_scatter(target, num_classes, eps):
    q = torch.full((len(target), num_classes), eps / num_classes, dtype=torch.float64)
    return q.scatter_(1, target[:, None], 1 - eps + eps / num_classes)


def over_wrong_classes(t, k, e):
    one_hot = F.one_hot(t, k).float()
    return (1 - e) * one_hot + e / (k - 1) * (1 - one_hot)


def true_class_without_its_share(t, k, e):
    one_hot = F.one_hot(t, k).float()
    return (1 - e) * one_hot + e / k * (1 - one_hot)


def cross_entropy_float64(logits, target, eps):
    return sol.smoothed_cross_entropy(logits.double(), target, eps)


def cross_entropy_soft_targets(logits, target, eps):
    return nn.CrossEntropyLoss()(logits, sol.smooth_targets(target, logits.shape[1], eps))


def cross_entropy_mixture(logits, target, eps):
    """(1 − ε)·H(q, p) + ε·H(u, p): the paper's decomposition."""
    log_p = F.log_softmax(logits, dim=1)
    return (1 - eps) * F.nll_loss(log_p, target) + eps * (-log_p.mean(dim=1)).mean()


# --- ECE -----------------------------------------------------------------------------------------


def ece_by_ceiling(confidences, correct, n_bins):
    """Bin (lo, hi] is number ceil(c · n) − 1; a confidence of 0 goes in the first bin."""
    index = (torch.ceil(confidences.double() * n_bins) - 1).clamp(min=0).long()
    total = torch.zeros((), dtype=torch.float64)
    for b in index.unique():
        mask = index == b
        total += (
            mask.sum()
            / len(confidences)
            * (correct[mask].double().mean() - confidences[mask].double().mean()).abs()
        )
    return total


def ece_by_masks(confidences, correct, n_bins):
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        mask = (confidences > lo) & (confidences <= hi)
        if b == 0:
            mask |= confidences == 0
        if mask.any():
            gap = correct[mask].float().mean() - confidences[mask].mean()
            total += mask.float().mean() * gap.abs()
    return total.to(torch.float16)


def ece_lower_closed(confidences, correct, n_bins, clamp=True):
    """Bins [lo, hi): an edge goes to the upper bin; without the clamp, 1.0 falls outside."""
    index = torch.bucketize(confidences, torch.linspace(0, 1, n_bins + 1), right=True) - 1
    if clamp:
        index = index.clamp(max=n_bins - 1)
    return _weighted_gaps(confidences, correct, index, n_bins)


def ece_without_zero(confidences, correct, n_bins):
    index = torch.bucketize(confidences, torch.linspace(0, 1, n_bins + 1)) - 1  # 0 → −1: lost
    return _weighted_gaps(confidences, correct, index, n_bins)


def _weighted_gaps(confidences, correct, index, n_bins):
    total = 0.0
    for b in range(n_bins):
        mask = index == b
        if mask.any():
            gap = correct[mask].float().mean() - confidences[mask].mean()
            total += mask.float().mean().item() * abs(gap.item())
    return total


def overall_gap(c, k, n):
    return abs(k.float().mean() - c.mean()).item()


def unweighted(c, k, n):
    index = (torch.bucketize(c, torch.linspace(0, 1, n + 1)) - 1).clamp(min=0)
    gaps = [abs(k[index == b].float().mean() - c[index == b].mean()).item()
            for b in range(n) if (index == b).any()]  # fmt: skip
    return sum(gaps) / len(gaps)


def largest_gap(c, k, n):
    index = (torch.bucketize(c, torch.linspace(0, 1, n + 1)) - 1).clamp(min=0)
    return max(abs(k[index == b].float().mean() - c[index == b].mean()).item()
               for b in range(n) if (index == b).any())  # fmt: skip


REFERENCE = [
    pytest.param(ex.check_smooth_targets, sol.smooth_targets, id="smooth_targets"),
    pytest.param(
        ex.check_smoothed_cross_entropy, sol.smoothed_cross_entropy, id="smoothed_cross_entropy"
    ),
    pytest.param(ex.check_expected_calibration_error, sol.expected_calibration_error, id="ece"),
    pytest.param(ex.check_optimal_logit_gap, sol.optimal_logit_gap, id="optimal_logit_gap"),
]

UNUSUAL = [
    pytest.param(ex.check_smooth_targets, smooth_by_scatter, id="targets-scatter-float64"),
    pytest.param(
        ex.check_smooth_targets,
        lambda t, k, e: sol.smooth_targets(t, k, e).half(),
        id="targets-float16",
    ),
    pytest.param(ex.check_smoothed_cross_entropy, cross_entropy_float64, id="ce-float64"),
    pytest.param(ex.check_smoothed_cross_entropy, cross_entropy_soft_targets, id="ce-soft-targets"),
    pytest.param(ex.check_smoothed_cross_entropy, cross_entropy_mixture, id="ce-mixture"),
    pytest.param(ex.check_expected_calibration_error, ece_by_ceiling, id="ece-ceiling-tensor64"),
    pytest.param(ex.check_expected_calibration_error, ece_by_masks, id="ece-masks-float16"),
    pytest.param(
        ex.check_optimal_logit_gap,
        lambda e, k: math.log(1 - e + e / k) - math.log(e / k),
        id="gap-difference",
    ),
    pytest.param(
        ex.check_optimal_logit_gap, lambda e, k: math.log1p((1 - e) * k / e), id="gap-log1p"
    ),
    pytest.param(
        ex.check_optimal_logit_gap,
        lambda e, k: torch.tensor((1 - e + e / k) / (e / k)).log(),
        id="gap-float32-tensor",
    ),
]

WRONG = [
    pytest.param(
        ex.check_smooth_targets,
        lambda t, k, e: F.one_hot(t, k).float(),
        "ε is not used",
        id="targets-one-hot",
    ),
    pytest.param(
        ex.check_smooth_targets, over_wrong_classes, "K − 1 wrong classes", id="targets-k-minus-1"
    ),
    pytest.param(
        ex.check_smooth_targets, true_class_without_its_share, "summing to 1", id="targets-no-share"
    ),
    pytest.param(
        ex.check_smooth_targets,
        lambda t, k, e: sol.smooth_targets(t, k, e).T,
        "one distribution per row",
        id="targets-transposed",
    ),
    pytest.param(
        ex.check_smooth_targets,
        lambda t, k, e: e * F.one_hot(t, k) + (1 - e) / k,
        "you swapped ε and 1 − ε",
        id="targets-swapped",
    ),
    pytest.param(
        ex.check_smoothed_cross_entropy,
        lambda z, t, e: -sol.smoothed_cross_entropy(z, t, e),
        "wrong sign",
        id="ce-sign",
    ),
    pytest.param(
        ex.check_smoothed_cross_entropy,
        lambda z, t, e: sol.smoothed_cross_entropy(z, t, e) * len(t),
        "return the sum",
        id="ce-sum",
    ),
    pytest.param(
        ex.check_smoothed_cross_entropy,
        lambda z, t, e: F.cross_entropy(z, t),
        "ε is not used",
        id="ce-plain",
    ),
    pytest.param(
        ex.check_smoothed_cross_entropy,
        lambda z, t, e: -(sol.smooth_targets(t, 10, e) * z.softmax(1)).sum(1).mean(),
        "log_softmax",
        id="ce-probabilities",
    ),
    pytest.param(
        ex.check_smoothed_cross_entropy,
        lambda z, t, e: -(sol.smooth_targets(t, 10, e) * z.log_softmax(1)).mean(),
        "average over the classes",
        id="ce-class-mean",
    ),
    pytest.param(
        ex.check_smoothed_cross_entropy,
        lambda z, t, e: F.cross_entropy(z, t, label_smoothing=e),
        "you called cross_entropy with label_smoothing=0.1",
        id="ce-label-smoothing",
    ),
    pytest.param(
        ex.check_smoothed_cross_entropy,
        lambda z, t, e: nn.CrossEntropyLoss(label_smoothing=e)(z, t),
        "label_smoothing=0.1",
        id="ce-module-label-smoothing",
    ),
    pytest.param(
        ex.check_smoothed_cross_entropy,
        lambda z, t, e: imported_cross_entropy(z, t, None, None, -100, None, "mean", e),
        "label_smoothing=0.1",
        id="ce-imported-positional",
    ),
    pytest.param(
        ex.check_smoothed_cross_entropy,
        lambda z, t, e: torch.tensor(sol.smoothed_cross_entropy(z, t, e).item()),
        "cut off from the logits",
        id="ce-detached",
    ),
    pytest.param(
        ex.check_smoothed_cross_entropy,
        lambda z, t, e: -(sol.smooth_targets(t, 10, e) * z.log_softmax(1)).sum(1),
        "0-dimensional",
        id="ce-per-sample",
    ),
    pytest.param(
        ex.check_expected_calibration_error,
        overall_gap,
        "opposite sign in different bins cancel",
        id="ece-overall",
    ),
    pytest.param(
        ex.check_expected_calibration_error, unweighted, "weight each bin", id="ece-unweighted"
    ),
    pytest.param(
        ex.check_expected_calibration_error, largest_gap, "maximum calibration error", id="ece-max"
    ),
    pytest.param(
        ex.check_expected_calibration_error,
        lambda c, k, n: 100 * sol.expected_calibration_error(c, k, n),
        "not a percentage",
        id="ece-percent",
    ),
    pytest.param(
        ex.check_expected_calibration_error,
        ece_lower_closed,
        "belongs to the lower bin: bins are (lo, hi]",
        id="ece-lower-closed",
    ),
    pytest.param(
        ex.check_expected_calibration_error,
        lambda c, k, n: ece_lower_closed(c, k, n, clamp=False),
        "lose the confidences of exactly 1.0",
        id="ece-loses-one",
    ),
    pytest.param(
        ex.check_expected_calibration_error,
        ece_without_zero,
        "lose the confidences of exactly 0",
        id="ece-loses-zero",
    ),
    pytest.param(
        ex.check_optimal_logit_gap,
        lambda e, k: math.log((1 - e) / (e / k)),
        "1 − ε + ε/K, not 1 − ε",
        id="gap-no-share",
    ),
    pytest.param(
        ex.check_optimal_logit_gap,
        lambda e, k: math.log((1 - e) / e),
        "grows with the number of classes",
        id="gap-no-k",
    ),
    pytest.param(
        ex.check_optimal_logit_gap,
        lambda e, k: (1 - e + e / k) / (e / k),
        "ratio of the probabilities",
        id="gap-ratio",
    ),
    pytest.param(
        ex.check_optimal_logit_gap,
        lambda e, k: 4.5,
        "for ε = 0.1, K = 10: expected 4.51",
        id="gap-other",
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


def test_some_confidences_lie_exactly_on_bin_edges():
    """Without them, bins [lo, hi) and (lo, hi] give the same ECE and that mistake goes unseen."""
    (with_sure, _, n10), (random_only, _, n15), (with_edges, _, n4) = _ece_cases()
    assert n4 == 4 and int(((with_edges * 4) == (with_edges * 4).round()).sum()) >= 130
    assert (with_sure == 1.0).any() and (with_sure == 0.0).any()
    # The random confidences are nowhere near an edge in float32, where edges may round.
    for confidences, n_bins in ((random_only, n15), (with_sure, n10)):
        scaled = confidences[(confidences > 0) & (confidences < 1)].double() * n_bins
        assert float((scaled - scaled.round()).abs().min()) > 1e-5
