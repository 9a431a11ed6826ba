"""Reliability bins and expected calibration error, on cases small enough to check by hand."""

import math

import pytest
import torch

from inception_edu.calibration import (
    confidence_and_correct,
    expected_calibration_error,
    reliability_bins,
)


def test_bins_by_hand():
    confidences = torch.tensor([0.05, 0.3, 0.35, 0.9, 1.0])
    correct = torch.tensor([False, True, False, True, True])
    bins = reliability_bins(
        confidences, correct, n_bins=4
    )  # (0, .25], (.25, .5], (.5, .75], (.75, 1]
    assert bins.count.tolist() == [1, 2, 0, 2]
    assert torch.allclose(
        bins.confidence[[0, 1, 3]], torch.tensor([0.05, 0.325, 0.95], dtype=torch.float64)
    )
    assert bins.accuracy[[0, 1, 3]].tolist() == [0.0, 0.5, 1.0]
    assert math.isnan(bins.confidence[2]) and math.isnan(bins.accuracy[2])
    assert torch.allclose(
        bins.centers, torch.tensor([0.125, 0.375, 0.625, 0.875], dtype=torch.float64)
    )


def test_bins_are_closed_on_the_right_and_zero_goes_first():
    bins = reliability_bins(
        torch.tensor([0.0, 0.5, 0.5000001]), torch.tensor([True, True, True]), 2
    )
    assert bins.count.tolist() == [2, 1]


def test_ece_by_hand():
    confidences = torch.tensor([0.05, 0.3, 0.35, 0.9, 1.0])
    correct = torch.tensor([False, True, False, True, True])
    # bin gaps 0.05, 0.175, 0.05 with weights 1/5, 2/5, 2/5
    expected = 0.2 * 0.05 + 0.4 * 0.175 + 0.4 * 0.05
    assert math.isclose(
        expected_calibration_error(confidences, correct, n_bins=4), expected, abs_tol=1e-6
    )


def test_perfect_calibration_has_zero_ece():
    confidences = torch.full((10,), 0.7)
    correct = torch.tensor([True] * 7 + [False] * 3)
    assert expected_calibration_error(confidences, correct) == pytest.approx(
        0.0, abs=1e-6
    )  # float32 0.7


def test_always_right_at_full_confidence_has_zero_ece_and_wrong_has_one():
    ones = torch.ones(5)
    assert expected_calibration_error(ones, torch.ones(5, dtype=torch.bool)) == 0.0
    assert expected_calibration_error(ones, torch.zeros(5, dtype=torch.bool)) == 1.0


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="same length"):
        reliability_bins(torch.ones(3), torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="n_bins"):
        reliability_bins(torch.ones(3), torch.ones(3, dtype=torch.bool), n_bins=0)


def test_confidence_and_correct():
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0], [0.0, 3.0]])
    confidence, correct = confidence_and_correct(logits, torch.tensor([0, 1, 0]))
    assert torch.allclose(
        confidence, torch.tensor([1 / (1 + math.exp(-2)), 0.5, 1 / (1 + math.exp(-3))])
    )
    assert correct.tolist() == [True, False, False]  # a tie picks the first class
