"""Reliability bins and expected calibration error, on cases small enough to check by hand."""

import math

import pytest
import torch
import torch.nn.functional as F

from inception_edu.calibration import (
    confidence_and_correct,
    expected_calibration_error,
    fit_temperature,
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


def planted(temperature, n=20_000, k=5, seed=0):
    """Logits, and labels drawn from softmax(logits / temperature): the best T is `temperature`."""
    rng = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(n, k, generator=rng)
    labels = torch.multinomial((logits / temperature).softmax(1), 1, generator=rng).squeeze(1)
    return logits, labels


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.5])
def test_fit_temperature_recovers_the_temperature_the_labels_were_drawn_with(temperature):
    logits, labels = planted(temperature)
    assert fit_temperature(logits, labels) == pytest.approx(temperature, rel=0.06)


def test_fit_temperature_is_the_minimum_of_the_loss_and_scales_with_the_logits():
    logits, labels = planted(2.0, n=3000)
    best = fit_temperature(logits, labels)

    def loss(t):
        return F.cross_entropy(logits.double() / t, labels).item()

    assert all(loss(best) < loss(best * f) for f in (0.9, 0.99, 1.01, 1.1))
    assert fit_temperature(4 * logits, labels) == pytest.approx(4 * best, rel=1e-9)
    assert fit_temperature(logits.half(), labels) == pytest.approx(best, rel=1e-2)


def test_fit_temperature_refuses_what_has_no_minimum_inside_its_bounds():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    with pytest.raises(ValueError, match="keeps falling below T = 0.01"):
        fit_temperature(logits, torch.tensor([0, 1, 0]))  # right on every example
    with pytest.raises(ValueError, match="above 100"):
        fit_temperature(logits, torch.tensor([1, 0, 1]))  # wrong on every example
    with pytest.raises(ValueError, match="N×K and targets N"):
        fit_temperature(logits, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="bounds"):
        fit_temperature(logits, torch.tensor([0, 1, 1]), bounds=(2.0, 1.0))
