"""Checkers for the exercises of notebook 05 (label smoothing and calibration)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..calibration import expected_calibration_error
from ._check import Mistake, Verdict, fixed_seed, run_check, student
from ._values import Number, agree, close, diagnose, number, statement_letters

__all__ = [
    "STATEMENTS",
    "check_calibration_statements",
    "check_expected_calibration_error",
    "check_smoothing_for_confidence",
    "check_temperature_for_confidence",
]


def check_smoothing_for_confidence(smoothing: Callable[[float, int], float]) -> Verdict:
    """Check ``smoothing(confidence, num_classes)``: the ε whose optimum has that top probability.

    At the minimum of the smoothed loss the prediction equals the target q', whose top
    probability is 1 − ε + ε/K; solving for ε gives ε = (1 − c)·K/(K − 1).
    """
    cases = ((0.9, 10), (0.8, 1000), (0.99, 2), (0.5, 3))

    def check() -> str:
        answer = student(smoothing)
        got = [number(answer(c, k), "a smoothing ε (a number)") for c, k in cases]
        expected = [(1 - c) * k / (k - 1) for c, k in cases]
        if agree(got, expected, _same_value):
            return (
                "ε = (1 − c)·K/(K − 1): the true class keeps 1 − ε + ε/K. For 10 classes and "
                f"a 90 % target, ε = {expected[0]:.4f}, a little more than 0.1."
            )
        variants = {
            "1 − c would be right if the true class got 1 − ε; it also gets its share ε/K of the "
            "uniform part, so it keeps 1 − ε + ε/K = c.": [1 - c for c, _ in cases],
            "you set the share of one wrong class, ε/K, to 1 − c; the whole 1 − c is shared by "
            "the K − 1 wrong classes: (K − 1)·ε/K = 1 − c.": [(1 - c) * k for c, k in cases],
            "that is the reciprocal factor: from 1 − ε·(K − 1)/K = c, ε = (1 − c)·K/(K − 1).": [
                (1 - c) * (k - 1) / k for c, k in cases
            ],
        }
        labels = [f"for c = {c}, K = {k}" for c, k in cases]
        raise diagnose(got, expected, labels, variants, _same_value)

    return run_check("05.1", check)


def check_temperature_for_confidence(
    temperature: Callable[[float, int, float], float],
) -> Verdict:
    """Check ``temperature(eps, num_classes, confidence)`` for a network at the smoothed optimum.

    There every wrong logit is equal and the true one is ahead by g = log((1 − ε + ε/K)/(ε/K));
    dividing the logits by T makes the top probability 1 / (1 + (K − 1)·exp(−g/T)), which equals
    c for T = g / log(c·(K − 1)/(1 − c)).
    """
    cases = ((0.1, 10, 0.95), (0.1, 10, 0.91), (0.2, 100, 0.6), (0.05, 5, 0.999))

    def check() -> str:
        answer = student(temperature)
        got = [number(answer(e, k, c), "a temperature (a number)") for e, k, c in cases]
        expected = [_gap(e, k) / math.log(c * (k - 1) / (1 - c)) for e, k, c in cases]
        if agree(got, expected, _same_value):
            return (
                f"T = g / log(c·(K − 1)/(1 − c)) with g = log((1 − ε + ε/K)/(ε/K)): a 95 % "
                f"target needs T = {expected[0]:.3f} (< 1 sharpens), 91 % needs T = 1, the "
                "smoothed optimum itself."
            )
        variants = {
            "that is 1/T: the logits are divided by T, so a sharper prediction needs T < 1.": [
                1 / x for x in expected
            ],
            "there are K − 1 wrong classes, each at exp(−g/T) relative to the true one: "
            "c = 1 / (1 + (K − 1)·exp(−g/T)), not K of them.": [
                _gap(e, k) / math.log(c * k / (1 - c)) for e, k, c in cases
            ],
            "you solved for one wrong class: with K − 1 of them the top probability is "
            "1 / (1 + (K − 1)·exp(−g/T)).": [
                _gap(e, k) / math.log(c / (1 - c)) for e, k, c in cases
            ],
            "the gap at the smoothed optimum is log((1 − ε + ε/K)/(ε/K)): the true class also "
            "gets its share ε/K.": [
                math.log((1 - e) / (e / k)) / math.log(c * (k - 1) / (1 - c)) for e, k, c in cases
            ],
        }
        labels = [f"for ε = {e}, K = {k}, c = {c}" for e, k, c in cases]
        raise diagnose(got, expected, labels, variants, _same_value)

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


@dataclass(frozen=True)
class Statement:
    """A claim about the recorded experiment, and the test that decides it on the seeds."""

    text: str
    holds: Callable[[Any], tuple[bool, str]]  # results -> (holds, the evidence, in words)


def _every(results: Any, what: str, test: Callable[[dict[str, Any]], bool]) -> tuple[bool, str]:
    """Whether ``test`` holds in every recorded seed; the evidence names the first exception."""
    failing = [run["seed"] for run in results.runs if not test(run["metrics"])]
    if failing:
        return False, f"{what} fails in seed {failing[0]}"
    return True, f"{what} holds in all {len(results.runs)} recorded seeds"


def _listed(results: Any, metric: str) -> str:
    return ", ".join(f"{float(v):.3f}" for v in results.values(metric))


STATEMENTS: dict[str, Statement] = {
    "a": Statement(
        "Smoothing lowered the mean confidence on the test set in every seed.",
        lambda r: _every(
            r,
            "confidence lower with smoothing",
            lambda m: m["confidence_smooth"] < m["confidence_plain"],
        ),
    ),
    "b": Statement(
        "Smoothing raised the test accuracy in every seed.",
        lambda r: _every(
            r,
            "accuracy higher with smoothing",
            lambda m: m["test_acc_smooth"] > m["test_acc_plain"],
        ),
    ),
    "c": Statement(
        "Smoothing lowered the test ECE in every seed.",
        lambda r: _every(r, "ECE lower with smoothing", lambda m: m["ece_smooth"] < m["ece_plain"]),
    ),
    "d": Statement(
        "Temperature scaling, fitted on the validation split, lowered the test ECE of both "
        "networks in every seed.",
        lambda r: _every(
            r,
            "ECE lower after temperature scaling, for both networks",
            lambda m: m["ece_ts_plain"] < m["ece_plain"] and m["ece_ts_smooth"] < m["ece_smooth"],
        ),
    ),
    "e": Statement(
        "The temperature fitted to the smoothed network is below 1 in every seed: it sharpens "
        "the smoothed network's predictions.",
        lambda r: _every(r, "temperature below 1", lambda m: m["temperature_smooth"] < 1),
    ),
    "f": Statement(
        "Temperature scaling changed the test accuracy of at least one network.",
        lambda r: (
            False,
            "dividing every logit of an image by the same T > 0 keeps their order, so every "
            "prediction, and the accuracy, stays the same",
        ),
    ),
}


def check_calibration_statements(
    answer: Callable[[], Iterable[str] | str] | Iterable[str] | str, results: Any = None
) -> Verdict:
    """Check which of ``STATEMENTS`` the recorded seeds support: letters, as a string or a set.

    ``results`` defaults to the recorded ``label_smoothing_calibration`` experiment.
    """

    def check() -> str:
        value = student(answer)() if callable(answer) else answer
        chosen = statement_letters(value, STATEMENTS)
        recorded = results if results is not None else _recorded()
        verdicts = {letter: s.holds(recorded) for letter, s in STATEMENTS.items()}
        right = {letter for letter, (holds, _) in verdicts.items() if holds}
        for letter in sorted(chosen - right):
            raise Mistake(
                f"statement {letter} does not follow from the recorded runs: "
                f"{verdicts[letter][1]}{_numbers(letter, recorded)}."
            )
        for letter in sorted(right - chosen):
            raise Mistake(
                f"statement {letter} is supported, and you left it out: "
                f"{verdicts[letter][1]}{_numbers(letter, recorded)}."
            )
        return (
            f"{', '.join(sorted(right))}: each holds in every recorded seed; the others are "
            "contradicted by at least one seed, or by what a temperature can do."
        )

    return run_check("05.4", check)


# --- helpers -------------------------------------------------------------------------------------


def _gap(eps: float, k: int) -> float:
    """z_true − z_other at the minimum of the smoothed loss."""
    return math.log((1 - eps + eps / k) / (eps / k))


def _same_value(got: Number, expected: float) -> bool:
    return close(got, expected, rel=1e-6)


def _same_ece(got: Number, expected: float) -> bool:
    return close(got, expected, rel=1e-5, abs_tol=1e-6)


def _recorded() -> Any:
    from ..experiments import load

    return load("label_smoothing_calibration")


# The metrics each statement is decided on, shown per seed with the evidence.
_SHOWN: dict[str, Sequence[tuple[str, str]]] = {
    "a": (("confidence_plain", "plain"), ("confidence_smooth", "smoothed")),
    "b": (("test_acc_plain", "plain"), ("test_acc_smooth", "smoothed")),
    "c": (("ece_plain", "plain"), ("ece_smooth", "smoothed")),
    "d": (
        ("ece_plain", "plain"),
        ("ece_ts_plain", "plain + T"),
        ("ece_smooth", "smoothed"),
        ("ece_ts_smooth", "smoothed + T"),
    ),
    "e": (("temperature_smooth", "temperature"),),
}


def _numbers(letter: str, results: Any) -> str:
    shown = _SHOWN.get(letter)
    if not shown:
        return ""
    listed = "; ".join(f"{label}: {_listed(results, metric)}" for metric, label in shown)
    return f" (per seed, {listed})"



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
