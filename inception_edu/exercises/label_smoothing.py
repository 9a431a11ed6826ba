"""Checkers for the exercises of notebook 05 (label smoothing and calibration)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.overrides import TorchFunctionMode

from ..calibration import expected_calibration_error
from ._check import Mistake, Verdict, fixed_seed, run_check, student
from ._values import (
    Number,
    agree,
    attached_loss,
    close,
    diagnose,
    number,
    tensor,
    tensors_close,
)

__all__ = [
    "check_expected_calibration_error",
    "check_optimal_logit_gap",
    "check_smooth_targets",
    "check_smoothed_cross_entropy",
]


def check_smooth_targets(smooth_targets: Callable[[Tensor, int, float], Tensor]) -> Verdict:
    """Check ``smooth_targets(target, num_classes, eps)``: the N×K smoothed distributions q'."""

    def check() -> str:
        target = torch.tensor([3, 0, 9, 3])
        answer = student(smooth_targets)
        for num_classes, eps in ((10, 0.1), (10, 0.3), (13, 0.2)):
            expected = _reference_targets(target, num_classes, eps)
            got = tensor(answer(target.clone(), num_classes, eps))
            if tuple(got.shape) != tuple(expected.shape):
                raise Mistake(
                    f"for {len(target)} targets and {num_classes} classes return a "
                    f"{len(target)}×{num_classes} tensor (one distribution per row); yours has "
                    f"shape {tuple(got.shape)}."
                )
            if tensors_close(got, expected, atol=1e-6):
                continue
            for feedback, wrong in _wrong_targets(target, num_classes, eps).items():
                if tensors_close(got, wrong, atol=1e-6):
                    raise Mistake(feedback)
            raise Mistake(
                f"for K = {num_classes}, ε = {eps}: expected the true class to get "
                f"{1 - eps + eps / num_classes:.4f} and every other class {eps / num_classes:.4f}."
            )
        return "q'(k) = (1 − ε)·δ(k, y) + ε/K: the true class keeps 1 − ε + ε/K, the others ε/K."

    return run_check("05.1", check)


def check_smoothed_cross_entropy(
    smoothed_cross_entropy: Callable[[Tensor, Tensor, float], Tensor],
) -> Verdict:
    """Check ``smoothed_cross_entropy(logits, target, eps)`` against F.cross_entropy.

    Calling ``F.cross_entropy`` or ``nn.CrossEntropyLoss`` with ``label_smoothing=`` is what the
    exercise rules out; soft targets (``F.cross_entropy(logits, q)``) are allowed.
    """

    def check() -> str:
        with fixed_seed(5):
            logits = 3 * torch.randn(8, 10)
            target = torch.randint(0, 10, (8,))
        answer = student(smoothed_cross_entropy)
        for eps in (0.1, 0.25, 0.0):
            with _label_smoothing_spy() as smoothing:
                loss = answer(logits.clone().requires_grad_(True), target.clone(), eps)
            if smoothing:
                raise Mistake(
                    f"you called cross_entropy with label_smoothing={smoothing[0]:g}: this "
                    "exercise asks you to build the loss yourself, from q' and log_softmax (the "
                    "checker compares it with that call)."
                )
            got = number(attached_loss(loss))
            expected = float(F.cross_entropy(logits, target, label_smoothing=eps))
            if _same_loss(got, expected):
                continue
            q, log_p = _reference_targets(target, 10, eps), logits.double().log_softmax(1)
            plain = float(F.cross_entropy(logits, target))
            variants = {
                "your loss has the wrong sign: cross-entropy is −Σ q'(k) log p(k).": [-expected],
                "you return the sum over the batch: take the mean, as F.cross_entropy does.": [
                    expected * len(target)
                ],
                f"with ε = {eps} you return the plain cross-entropy: ε is not used.": [
                    plain if eps else math.nan
                ],
                "take the log of the probabilities (log_softmax), not the probabilities.": [
                    float(-(q * log_p.exp()).sum(1).mean())
                ],
                "you average over the classes too: sum over the K classes, average over the "
                "batch.": [expected / 10],
            }
            raise diagnose([got], [expected], [f"with ε = {eps}"], variants, _same_loss)
        return "identical to F.cross_entropy(logits, target, label_smoothing=ε), for every ε tried."

    return run_check("05.2", check)


def check_expected_calibration_error(
    ece: Callable[[Tensor, Tensor, int], float],
) -> Verdict:
    """Check ``ece(confidences, correct, n_bins)`` against the library's function.

    Some test confidences lie exactly on bin edges (0, 0.25, 0.5, 0.75, 1 are exact in binary), so
    that bins [lo, hi) and (lo, hi] give different answers.
    """

    def check() -> str:
        cases = _ece_cases()
        answer = student(ece)
        got = [number(answer(c.clone(), k.clone(), n), "the ECE as a number") for c, k, n in cases]
        expected = [expected_calibration_error(c, k, n) for c, k, n in cases]
        if agree(got, expected, _same_ece):
            return "ECE = Σ_b (n_b / N)·|accuracy_b − confidence_b| over equal-width bins (lo, hi]."
        variants = {
            "that is |overall accuracy − mean confidence|: errors of opposite sign in different "
            "bins cancel out. Compute the gap in each confidence bin first.": [
                abs(float(k.double().mean() - c.double().mean())) for c, k, _ in cases
            ],
            "you average the bins' gaps equally: weight each bin by the fraction of predictions "
            "that fall in it (n_b / N).": [_ece(c, k, n, weighted=False) for c, k, n in cases],
            "that is the largest gap (maximum calibration error): ECE is a weighted mean.": [
                _ece(c, k, n, largest=True) for c, k, n in cases
            ],
            "return a fraction between 0 and 1, not a percentage.": [100 * e for e in expected],
            "a confidence exactly on a bin edge belongs to the lower bin: bins are (lo, hi], "
            "e.g. 0.5 is in (0.25, 0.5] with 4 bins. torch.bucketize(x, edges) (right=False) "
            "does that; right=True, or floor(confidence × n_bins), gives [lo, hi).": [
                _ece(c, k, n, right=True) for c, k, n in cases
            ],
            "your bins lose the confidences of exactly 1.0 and put every confidence that lies on "
            "an edge in the upper bin: use bins (lo, hi], whose last one holds 1.0.": [
                _ece(c, k, n, right=True, clamp=False) for c, k, n in cases
            ],
            "your bins lose the confidences of exactly 0: they go in the first bin (clamp the "
            "bin index at 0).": [_ece(c, k, n, clamp=False) for c, k, n in cases],
        }
        labels = [f"with {n} bins ({_edge_note(c, n)})" for c, _, n in cases]
        raise diagnose(got, expected, labels, variants, _same_ece)

    return run_check("05.3", check)


def check_optimal_logit_gap(optimal_logit_gap: Callable[[float, int], float]) -> Verdict:
    """Check ``optimal_logit_gap(eps, num_classes)``: z_true − z_other at the loss's minimum."""
    cases = ((0.1, 10), (0.1, 1000), (0.3, 10), (0.05, 100))

    def check() -> str:
        answer = student(optimal_logit_gap)
        got = [number(answer(eps, k), "a number") for eps, k in cases]
        expected = [math.log((1 - eps + eps / k) / (eps / k)) for eps, k in cases]
        if agree(got, expected, _same_gap):
            return "softmax(z) = q' at the minimum: z_true − z_other = log((1 − ε + ε/K) / (ε/K))."
        variants = {
            "close: but the true class's target probability is 1 − ε + ε/K, not 1 − ε (it also "
            "gets its share of the uniform part).": [math.log((1 - e) / (e / k)) for e, k in cases],
            "the gap grows with the number of classes K: each wrong class gets ε/K, not ε. "
            "Compare the two target probabilities q'(true) and q'(other).": [
                math.log((1 - e) / e) for e, _ in cases
            ],
            "that is the ratio of the probabilities; logits differ by its logarithm.": [
                (1 - e + e / k) / (e / k) for e, k in cases
            ],
        }
        labels = [f"for ε = {eps}, K = {k}" for eps, k in cases]
        raise diagnose(got, expected, labels, variants, _same_gap)

    return run_check("05.4", check)


# --- helpers -------------------------------------------------------------------------------------


def _reference_targets(target: Tensor, num_classes: int, eps: float) -> Tensor:
    return (1 - eps) * F.one_hot(target, num_classes).double() + eps / num_classes


def _wrong_targets(target: Tensor, num_classes: int, eps: float) -> dict[str, Tensor]:
    """Feedback → the targets a typical wrong formula gives."""
    one_hot, k = F.one_hot(target, num_classes).double(), num_classes
    over_wrong_classes = (1 - eps) * one_hot + eps / (k - 1) * (1 - one_hot)
    without_true_share = (1 - eps) * one_hot + eps / k * (1 - one_hot)
    swapped = eps * one_hot + (1 - eps) / k
    return {
        "these are the one-hot targets: ε is not used. Mix in ε × the uniform u(k).": one_hot,
        "you spread ε over the K − 1 wrong classes only. In the paper u(k) = 1/K is uniform over "
        "all K classes, the true one included, so the true class gets 1 − ε + ε/K (that is also "
        "what F.cross_entropy(label_smoothing=ε) uses).": over_wrong_classes,
        f"each row should be a probability distribution summing to 1; yours sum to "
        f"{1 - eps / k:.3f}: the true class gets 1 − ε and also its share ε/K of the uniform "
        "part.": without_true_share,
        "you swapped ε and 1 − ε: the one-hot part keeps the weight 1 − ε, the uniform part gets "
        "ε.": swapped,
    }


def _same_loss(got: Number, expected: float) -> bool:
    return close(got, expected, rel=1e-5, abs_tol=1e-6)


def _same_ece(got: Number, expected: float) -> bool:
    return close(got, expected, rel=1e-5, abs_tol=1e-6)


def _same_gap(got: Number, expected: float) -> bool:
    return close(got, expected, rel=1e-6)


class _SmoothingSpy(TorchFunctionMode):
    """Records the label_smoothing of every cross-entropy call made while it is active.

    A torch function mode sees ``F.cross_entropy`` however it was imported, and through
    ``nn.CrossEntropyLoss`` too (its forward calls ``F.cross_entropy``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.smoothing: list[float] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        if func is F.cross_entropy:
            value = kwargs.get("label_smoothing", args[7] if len(args) > 7 else 0.0)
        elif func is torch._C._nn.cross_entropy_loss:
            value = kwargs.get("label_smoothing", args[5] if len(args) > 5 else 0.0)
        else:
            value = 0.0
        if isinstance(value, (int, float)) and value:
            self.smoothing.append(float(value))
        return func(*args, **kwargs)


@contextmanager
def _label_smoothing_spy() -> Iterator[list[float]]:
    """Yield the list of label_smoothing values used inside the block (empty if none)."""
    with _SmoothingSpy() as spy:
        yield spy.smoothing


def _ece_cases() -> list[tuple[Tensor, Tensor, int]]:
    """(confidences, correct, n_bins) triples; two of them put confidences exactly on edges."""
    with fixed_seed(2):
        confidences = 0.1 + 0.9 * torch.rand(400) ** 0.5
        correct = torch.rand(400) < confidences**2  # over-confident: right less often than claimed
    # 1.0 and 0.0 are edges for every n_bins; 0.25, 0.5, 0.75 for n_bins = 4 (exact in binary).
    sure = torch.tensor([1.0] * 30 + [0.0] * 6)
    sure_correct = torch.tensor([True, False] * 18)
    edges = torch.tensor([0.5] * 50 + [0.75] * 50 + [0.25] * 30)
    edges_correct = torch.tensor([True] * 50 + [False] * 50 + [True, False] * 15)
    with_sure = (torch.cat([confidences, sure]), torch.cat([correct, sure_correct]))
    with_edges = (
        torch.cat([confidences, edges, sure]),
        torch.cat([correct, edges_correct, sure_correct]),
    )
    return [(*with_sure, 10), (confidences, correct, 15), (*with_edges, 4)]


def _ece(
    confidences: Tensor,
    correct: Tensor,
    n_bins: int,
    *,
    right: bool = False,
    clamp: bool = True,
    weighted: bool = True,
    largest: bool = False,
) -> float:
    """ECE, or one of its typical wrong versions (other edges, lost points, unweighted, maximum)."""
    c, k = confidences.double(), correct.double()
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    index = torch.bucketize(c, edges, right=right) - 1
    if clamp:
        index = index.clamp(0, n_bins - 1)
    gaps, weights = [], []
    for b in range(n_bins):
        mask = index == b
        if mask.any():
            gaps.append(abs(float(k[mask].mean() - c[mask].mean())))
            weights.append(float(mask.sum()) / len(c))
    if largest:
        return max(gaps)
    if not weighted:
        return sum(gaps) / len(gaps)
    return sum(w * g for w, g in zip(weights, gaps, strict=True))


def _edge_note(confidences: Tensor, n_bins: int) -> str:
    scaled = confidences.double() * n_bins  # in float64, as the library bins
    on_edges = int((scaled == scaled.round()).sum())
    return f"{on_edges} of {len(confidences)} confidences exactly on a bin edge"
