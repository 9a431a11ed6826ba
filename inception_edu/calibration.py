"""Calibration: does a classifier's confidence match how often it is right?

A model is *calibrated* when, among the images it labels with confidence 0.8, 80 % are correct.
``reliability_bins`` sorts predictions into equal-width confidence bins and compares each bin's mean
confidence with its accuracy (the data of a reliability diagram); ``expected_calibration_error``
(ECE, Guo et al. 2017) is the average gap, weighted by how many predictions fall in each bin.
``fit_temperature`` is Guo et al.'s post-hoc remedy, temperature scaling: the one number T that
divides the logits so as to minimize the negative log-likelihood of held-out data (fit it on a
validation split, then measure on other data). The logits come from ``train.collect_logits``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "ReliabilityBins",
    "confidence_and_correct",
    "expected_calibration_error",
    "fit_temperature",
    "reliability_bins",
]


@dataclass(frozen=True)
class ReliabilityBins:
    """Per-bin data of a reliability diagram; empty bins have count 0 and NaN means."""

    edges: Tensor  # n_bins + 1 bin edges, from 0 to 1
    confidence: Tensor  # mean confidence of the predictions in each bin
    accuracy: Tensor  # fraction of correct predictions in each bin
    count: Tensor  # number of predictions in each bin

    @property
    def centers(self) -> Tensor:
        """Return the middle of each bin."""
        return (self.edges[:-1] + self.edges[1:]) / 2


def confidence_and_correct(logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Return the top softmax probability of each prediction and whether the prediction is right."""
    confidence, predicted = logits.softmax(dim=1).max(dim=1)
    return confidence, predicted == targets


def reliability_bins(confidences: Tensor, correct: Tensor, n_bins: int = 15) -> ReliabilityBins:
    """Sort predictions into ``n_bins`` equal-width confidence bins (lo, hi] and summarize each.

    A confidence of exactly 0 goes into the first bin.
    """
    if confidences.shape != correct.shape or confidences.dim() != 1:
        raise ValueError(
            f"confidences and correct must be 1-D and of the same length, got shapes "
            f"{tuple(confidences.shape)} and {tuple(correct.shape)}"
        )
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    confidences = confidences.double()
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    index = (torch.bucketize(confidences, edges, right=False) - 1).clamp(0, n_bins - 1)
    count = torch.bincount(index, minlength=n_bins)
    conf_sum = torch.bincount(index, weights=confidences, minlength=n_bins)
    correct_sum = torch.bincount(index, weights=correct.double(), minlength=n_bins)
    with torch.no_grad():
        confidence = conf_sum / count  # NaN where a bin is empty
        accuracy = correct_sum / count
    return ReliabilityBins(edges, confidence, accuracy, count)


def expected_calibration_error(confidences: Tensor, correct: Tensor, n_bins: int = 15) -> float:
    """Return ECE = Σ_b (n_b / N) · |accuracy_b − confidence_b| over equal-width confidence bins."""
    bins = reliability_bins(confidences, correct, n_bins)
    filled = bins.count > 0
    weights = bins.count[filled].double() / bins.count.sum()
    gaps = (bins.accuracy[filled] - bins.confidence[filled]).abs()
    return float((weights * gaps).sum())


def fit_temperature(
    logits: Tensor, targets: Tensor, *, bounds: tuple[float, float] = (0.01, 100.0)
) -> float:
    """Return the temperature T > 0 that minimizes the mean cross-entropy of ``logits / T``.

    Dividing the logits by T changes no prediction (the argmax stays), only the confidence:
    T > 1 softens an over-confident model, T < 1 sharpens an under-confident one. The loss is
    convex in β = 1/T (a log-sum-exp of linear functions of β), with derivative
    mean(E_p[z] − z_y), which grows with β; the minimum is where that derivative is zero, found by
    bisection on log β in float64, so the answer is unique and repeatable. Raises a ValueError if
    the minimum lies outside ``bounds`` (e.g. a model right on every example, whose loss keeps
    falling as T → 0).
    """
    if logits.dim() != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(
            f"logits must be N×K and targets N, got shapes {tuple(logits.shape)} and "
            f"{tuple(targets.shape)}"
        )
    if len(targets) == 0:
        raise ValueError("fit_temperature needs at least one example")
    low_t, high_t = bounds
    if not 0 < low_t < high_t:
        raise ValueError(f"bounds must be 0 < low < high, got {bounds}")
    z = logits.detach().double()
    true_logit = z.gather(1, targets.long()[:, None]).squeeze(1)

    def slope(log_beta: float) -> float:
        """d(mean loss)/dβ at β = exp(log_beta): mean over examples of E_p[z] − z_y."""
        p = (math.exp(log_beta) * z).softmax(dim=1)
        return float(((p * z).sum(dim=1) - true_logit).mean())

    lo, hi = -math.log(high_t), -math.log(low_t)  # log β: from the softest to the sharpest
    if slope(lo) >= 0:
        raise ValueError(
            f"the loss is smallest at a temperature above {high_t}: the logits carry almost no "
            "information about the targets"
        )
    if slope(hi) <= 0:
        raise ValueError(
            f"the loss keeps falling below T = {low_t}: the logits rank every target first, so "
            "any sharpening helps; temperature scaling needs data with mistakes"
        )
    for _ in range(100):  # 100 halvings of an interval of width < 10 reach float64 precision
        mid = (lo + hi) / 2
        if slope(mid) < 0:
            lo = mid
        else:
            hi = mid
    return math.exp(-(lo + hi) / 2)
