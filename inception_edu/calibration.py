"""Calibration: does a classifier's confidence match how often it is right?

A model is *calibrated* when, among the images it labels with confidence 0.8, 80 % are correct.
``reliability_bins`` sorts predictions into equal-width confidence bins and compares each bin's mean
confidence with its accuracy (the data of a reliability diagram); ``expected_calibration_error``
(ECE, Guo et al. 2017) is the average gap, weighted by how many predictions fall in each bin.
The logits come from ``train.collect_logits``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "ReliabilityBins",
    "confidence_and_correct",
    "expected_calibration_error",
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
