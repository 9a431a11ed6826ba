"""Checkers for the exercises of notebook 05 (label smoothing and calibration)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..calibration import expected_calibration_error
from ._check import Mistake, Verdict, fixed_seed, run_check

__all__ = [
    "check_expected_calibration_error",
    "check_optimal_logit_gap",
    "check_smooth_targets",
    "check_smoothed_cross_entropy",
]


def _reference_targets(target: torch.Tensor, num_classes: int, eps: float) -> torch.Tensor:
    return (1 - eps) * F.one_hot(target, num_classes).double() + eps / num_classes


def check_smooth_targets(smooth_targets: Callable[[torch.Tensor, int, float], torch.Tensor]) -> Verdict:
    """Check ``smooth_targets(target, num_classes, eps)``: the N×K smoothed distributions q'."""

    def check() -> str:
        target = torch.tensor([3, 0, 9, 3])
        for num_classes, eps in ((10, 0.1), (10, 0.3), (13, 0.2)):
            expected = _reference_targets(target, num_classes, eps)
            got = smooth_targets(target.clone(), num_classes, eps)
            if not isinstance(got, torch.Tensor):
                raise Mistake(f"return a tensor, not {type(got).__name__}.")
            if tuple(got.shape) != tuple(expected.shape):
                raise Mistake(
                    f"for {len(target)} targets and {num_classes} classes return a "
                    f"{len(target)}×{num_classes} tensor (one distribution per row); yours has shape "
                    f"{tuple(got.shape)}."
                )
            got = got.double()
            if torch.allclose(got, expected, atol=1e-6):
                continue
            one_hot = F.one_hot(target, num_classes).double()
            if torch.allclose(got, one_hot):
                raise Mistake("these are the one-hot targets: ε is not used. Mix in ε × the uniform u(k).")
            other_convention = (1 - eps) * one_hot + eps / (num_classes - 1) * (1 - one_hot)
            if torch.allclose(got, other_convention, atol=1e-6):
                raise Mistake(
                    "you spread ε over the K − 1 wrong classes only. In the paper u(k) = 1/K is uniform "
                    "over all K classes, the true one included, so the true class gets 1 − ε + ε/K "
                    "(that is also what F.cross_entropy(label_smoothing=ε) uses)."
                )
            if not torch.allclose(got.sum(1), torch.ones(len(target), dtype=got.dtype), atol=1e-6):
                sums = ", ".join(f"{s:.3f}" for s in got.sum(1).tolist())
                raise Mistake(
                    f"each row should be a probability distribution summing to 1; yours sum to {sums}. "
                    "Did you give the true class 1 − ε but forget that it also gets its share ε/K?"
                )
            raise Mistake(
                f"for K = {num_classes}, ε = {eps}: expected the true class to get "
                f"{1 - eps + eps / num_classes:.4f} and every other class {eps / num_classes:.4f}."
            )
        return "q'(k) = (1 − ε)·δ(k, y) + ε/K: the true class keeps 1 − ε + ε/K, every other gets ε/K."

    return run_check("smooth_targets", check)


def check_smoothed_cross_entropy(
    smoothed_cross_entropy: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor],
) -> Verdict:
    """Check ``smoothed_cross_entropy(logits, target, eps)`` against F.cross_entropy."""

    def check() -> str:
        with fixed_seed(5):
            logits = 3 * torch.randn(8, 10)
            target = torch.randint(0, 10, (8,))
        for eps in (0.1, 0.25, 0.0):
            expected = F.cross_entropy(logits, target, label_smoothing=eps)
            got = smoothed_cross_entropy(logits.clone(), target.clone(), eps)
            if not isinstance(got, torch.Tensor) or got.dim() != 0:
                raise Mistake(
                    "return the mean loss over the batch as a 0-dimensional tensor (so that "
                    "you can call .backward() on it)."
                )
            if torch.allclose(got, expected, atol=1e-5):
                continue
            if torch.allclose(got, -expected, atol=1e-5):
                raise Mistake("your loss has the wrong sign: cross-entropy is −Σ q'(k) log p(k).")
            if torch.allclose(got, expected * len(target), atol=1e-4):
                raise Mistake("you return the sum over the batch: take the mean, as F.cross_entropy does.")
            if eps and torch.allclose(got, F.cross_entropy(logits, target), atol=1e-5):
                raise Mistake(f"with ε = {eps} you return the plain cross-entropy: ε is not used.")
            probs = logits.softmax(1)
            q = _reference_targets(target, 10, eps).float()
            if torch.allclose(got, -(q * probs).sum(1).mean(), atol=1e-5):
                raise Mistake("take the log of the probabilities (log_softmax), not the probabilities.")
            raise Mistake(
                f"with ε = {eps} expected {expected.item():.4f}, got {got.item():.4f}. "
                "The loss is the mean over the batch of −Σ_k q'(k) · log_softmax(logits)_k."
            )
        return "identical to F.cross_entropy(logits, target, label_smoothing=ε), for every ε tried."

    return run_check("smoothed_cross_entropy", check)


def _overall_gap(confidences: torch.Tensor, correct: torch.Tensor) -> float:
    return abs(correct.double().mean().item() - confidences.double().mean().item())


def _bin_gaps(confidences: torch.Tensor, correct: torch.Tensor, n_bins: int) -> list[float]:
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    index = (torch.bucketize(confidences.double(), edges) - 1).clamp(0, n_bins - 1)
    gaps = []
    for b in range(n_bins):
        mask = index == b
        if mask.any():
            accuracy, confidence = correct[mask].double().mean(), confidences[mask].double().mean()
            gaps.append(abs(accuracy.item() - confidence.item()))
    return gaps


def check_expected_calibration_error(
    ece: Callable[[torch.Tensor, torch.Tensor, int], float],
) -> Verdict:
    """Check ``ece(confidences, correct, n_bins)`` against the library's ``expected_calibration_error``."""

    def check() -> str:
        with fixed_seed(2):
            confidences = 0.1 + 0.9 * torch.rand(400) ** 0.5
            correct = torch.rand(400) < confidences**2  # over-confident: right less often than claimed
        for n_bins in (10, 15, 4):
            expected = expected_calibration_error(confidences, correct, n_bins)
            got = float(ece(confidences.clone(), correct.clone(), n_bins))
            if math.isclose(got, expected, abs_tol=1e-6):
                continue
            gaps = _bin_gaps(confidences, correct, n_bins)
            if math.isclose(got, _overall_gap(confidences, correct), abs_tol=1e-6):
                raise Mistake(
                    "that is |overall accuracy − mean confidence|: errors of opposite sign in "
                    "different bins cancel out. Compute the gap in each confidence bin first."
                )
            if math.isclose(got, sum(gaps) / len(gaps), abs_tol=1e-6):
                raise Mistake(
                    "you average the bins' gaps equally: weight each bin by the fraction of "
                    "predictions that fall in it (n_b / N)."
                )
            if math.isclose(got, max(gaps), abs_tol=1e-6):
                raise Mistake("that is the largest gap (maximum calibration error): ECE is a weighted mean.")
            if math.isclose(got, 100 * expected, abs_tol=1e-4):
                raise Mistake("return a fraction between 0 and 1, not a percentage.")
            raise Mistake(f"with {n_bins} bins expected ECE {expected:.4f}, got {got:.4f}.")
        return "ECE = Σ_b (n_b / N)·|accuracy_b − confidence_b| over equal-width confidence bins."

    return run_check("expected_calibration_error", check)


def check_optimal_logit_gap(optimal_logit_gap: Callable[[float, int], float]) -> Verdict:
    """Check ``optimal_logit_gap(eps, num_classes)``: z_true − z_other at the smoothed loss's minimum."""

    def check() -> str:
        for eps, k in ((0.1, 10), (0.1, 1000), (0.3, 10), (0.05, 100)):
            expected = math.log((1 - eps + eps / k) / (eps / k))
            got = float(optimal_logit_gap(eps, k))
            if math.isclose(got, expected, rel_tol=1e-6):
                continue
            if math.isclose(got, math.log((1 - eps) / (eps / k)), rel_tol=1e-6):
                raise Mistake(
                    "close: but the true class's target probability is 1 − ε + ε/K, not 1 − ε "
                    "(it also gets its share of the uniform part)."
                )
            if math.isclose(got, math.log((1 - eps) / eps), rel_tol=1e-6):
                raise Mistake(
                    "the gap grows with the number of classes K: each wrong class gets ε/K, "
                    "not ε. Compare the two target probabilities q'(true) and q'(other)."
                )
            if math.isclose(got, (1 - eps + eps / k) / (eps / k), rel_tol=1e-6):
                raise Mistake("that is the ratio of the probabilities; logits differ by its logarithm.")
            raise Mistake(f"for ε = {eps}, K = {k} expected a gap of {expected:.4f}, got {got:.4f}.")
        return "softmax(z) = q' at the minimum, so z_true − z_other = log((1 − ε + ε/K) / (ε/K))."

    return run_check("optimal_logit_gap", check)
