"""Notebook 05's checkers: reference solutions and unusual correct answers pass; typical wrong
answers fail with the feedback that names the mistake."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from inception_edu import exercises as ex
from inception_edu.exercises.label_smoothing import STATEMENTS, _ece_cases

import exercise_solutions_label_smoothing as sol

pytestmark = pytest.mark.usefixtures("one_thread")

# --- smoothing and temperature for a target confidence -------------------------------------------


def smoothing_by_bisection(c, k):
    """Solve 1 − ε + ε/K = c numerically: another road to the same ε."""
    lo, hi = 0.0, 1.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if 1 - mid + mid / k > c else (lo, mid)
    return (lo + hi) / 2


def temperature_by_softmax(eps, k, c):
    """Build the optimal smoothed logits and search T until softmax(z / T) has top probability c."""
    z = torch.zeros(k, dtype=torch.float64)
    z[0] = math.log((1 - eps + eps / k) / (eps / k))
    lo, hi = 1e-3, 1e3  # top probability falls as T grows
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if (z / mid).softmax(0)[0] > c else (lo, mid)
    return torch.tensor(math.sqrt(lo * hi), dtype=torch.float64)


# --- the calibration statements, on made-up recorded runs ----------------------------------------


def fake_results(**changes):
    """Recorded runs of three seeds where a, c, d and e hold; ``changes`` edits seed 1."""
    base = {
        "confidence_plain": 0.90, "confidence_smooth": 0.80,
        "test_acc_plain": 0.85, "test_acc_smooth": 0.86,
        "ece_plain": 0.05, "ece_smooth": 0.04,
        "ece_ts_plain": 0.02, "ece_ts_smooth": 0.03,
        "temperature_smooth": 0.8,
    }  # fmt: skip
    runs = [{"seed": s, "metrics": dict(base)} for s in range(3)]
    runs[1]["metrics"].update(changes)
    runs[2]["metrics"]["test_acc_smooth"] = 0.84  # so b does not hold
    return SimpleNamespace(
        runs=runs, values=lambda metric: [run["metrics"][metric] for run in runs]
    )


def check_statements(answer, **changes):
    return ex.check_calibration_statements(answer, results=fake_results(**changes))


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
    pytest.param(ex.check_smoothing_for_confidence, sol.smoothing_for_confidence, id="smoothing"),
    pytest.param(
        ex.check_temperature_for_confidence, sol.temperature_for_confidence, id="temperature"
    ),
    pytest.param(ex.check_expected_calibration_error, sol.expected_calibration_error, id="ece"),
    pytest.param(ex.check_calibration_statements, sol.supported_statements, id="statements"),
]

UNUSUAL = [
    pytest.param(ex.check_smoothing_for_confidence, smoothing_by_bisection, id="eps-bisection"),
    pytest.param(
        ex.check_smoothing_for_confidence,
        lambda c, k: np.float64(1 - c) / (1 - 1 / k),
        id="eps-numpy",
    ),
    pytest.param(ex.check_temperature_for_confidence, temperature_by_softmax, id="t-search-tensor"),
    pytest.param(
        ex.check_temperature_for_confidence,
        lambda e, k, c: math.log1p((1 - e) * k / e) / (math.log(c / (1 - c)) + math.log(k - 1)),
        id="t-log1p",
    ),
    pytest.param(ex.check_expected_calibration_error, ece_by_ceiling, id="ece-ceil-float64"),
    pytest.param(ex.check_expected_calibration_error, ece_by_masks, id="ece-masks-float16"),
    pytest.param(ex.check_calibration_statements, "E, a", id="statements-string-upper"),
    pytest.param(ex.check_calibration_statements, ["e", "a"], id="statements-list"),
]

WRONG = [
    pytest.param(
        ex.check_smoothing_for_confidence,
        lambda c, k: 1 - c,
        "also gets its share ε/K",
        id="eps-no-share",
    ),
    pytest.param(
        ex.check_smoothing_for_confidence,
        lambda c, k: (1 - c) * k,
        "shared by the K − 1 wrong classes",
        id="eps-one-class",
    ),
    pytest.param(
        ex.check_smoothing_for_confidence,
        lambda c, k: (1 - c) * (k - 1) / k,
        "reciprocal factor",
        id="eps-inverted",
    ),
    pytest.param(
        ex.check_smoothing_for_confidence,
        lambda c, k: 0.1,
        "for c = 0.9, K = 10: expected 0.111111, you gave 0.1.",
        id="eps-other",
    ),
    pytest.param(
        ex.check_temperature_for_confidence,
        lambda e, k, c: 1 / sol.temperature_for_confidence(e, k, c),
        "that is 1/T",
        id="t-inverse",
    ),
    pytest.param(
        ex.check_temperature_for_confidence,
        lambda e, k, c: math.log((1 - e + e / k) / (e / k)) / math.log(c * k / (1 - c)),
        "not K of them",
        id="t-k-classes",
    ),
    pytest.param(
        ex.check_temperature_for_confidence,
        lambda e, k, c: math.log((1 - e + e / k) / (e / k)) / math.log(c / (1 - c)),
        "you solved for one wrong class",
        id="t-one-class",
    ),
    pytest.param(
        ex.check_temperature_for_confidence,
        lambda e, k, c: math.log((1 - e) / (e / k)) / math.log(c * (k - 1) / (1 - c)),
        "also gets its share ε/K",
        id="t-gap-no-share",
    ),
    pytest.param(
        ex.check_temperature_for_confidence,
        lambda e, k, c: "1.0",
        "return a temperature (a number), got str",
        id="t-string",
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
    # The calibration statements, decided on the recorded runs (label_smoothing_calibration.json).
    pytest.param(
        ex.check_calibration_statements,
        "ace",
        "statement c does not follow from the recorded runs: ECE lower with smoothing fails",
        id="statements-smoothing-calibrates",
    ),
    pytest.param(
        ex.check_calibration_statements,
        "ade",
        "statement d does not follow from the recorded runs: ECE lower after temperature scaling",
        id="statements-temperature-always-helps",
    ),
    pytest.param(
        ex.check_calibration_statements,
        "abe",
        "statement b does not follow from the recorded runs: accuracy higher with smoothing fails",
        id="statements-accuracy",
    ),
    pytest.param(
        ex.check_calibration_statements,
        "a",
        "statement e is supported, and you left it out",
        id="statements-left-out",
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


@pytest.mark.parametrize(
    "answer",
    [
        "acde",
        "E, d, C, a",
        ["a", "c", "d", "e"],
        {"A", "C", "D", "E"},
        lambda: ("e", "d", "c", "a"),
    ],
    ids=["string", "upper-with-commas", "list", "set", "function"],
)
def test_statements_accepted_in_any_form(answer, capsys):
    verdict = check_statements(answer)
    assert verdict.status == "passed", verdict.message


@pytest.mark.parametrize(
    "answer, changes, feedback",
    [
        (
            "abcde",
            {},
            "statement b does not follow from the recorded runs: accuracy higher with "
            "smoothing fails in seed 2 (per seed, plain: 0.850, 0.850, 0.850; smoothed: 0.860, "
            "0.860, 0.840)",
        ),
        ("acdef", {}, "statement f does not follow from the recorded runs: dividing every logit"),
        (
            "acd",
            {},
            "statement e is supported, and you left it out: temperature below 1 holds in "
            "all 3 recorded seeds (per seed, temperature: 0.800, 0.800, 0.800)",
        ),
        (
            "acde",
            {"ece_ts_smooth": 0.05},
            "statement d does not follow from the recorded runs: ECE"
            " lower after temperature scaling, for both networks fails in seed 1",
        ),
        ("acdg", {}, "there is no statement 'g'"),
        (3, {}, "give the letters of the statements as a string or a set, got 3"),
    ],
    ids=[
        "accuracy",
        "temperature-changes-accuracy",
        "left-out",
        "one-seed-differs",
        "unknown",
        "number",
    ],
)
def test_statements_rejected_with_the_evidence(answer, changes, feedback, capsys):
    verdict = check_statements(answer, **changes)
    assert verdict.status == "failed" and feedback in verdict.message, verdict.message


def test_statements_not_attempted(capsys):
    def supported_statements():
        raise NotImplementedError

    assert ex.check_calibration_statements(supported_statements).status == "not attempted"


def test_every_statement_is_decided_on_the_recorded_runs():
    from inception_edu import experiments

    recorded = experiments.load("label_smoothing_calibration")
    for letter, statement in STATEMENTS.items():
        holds, evidence = statement.holds(recorded)
        assert isinstance(holds, bool) and evidence, letter
    assert not STATEMENTS["f"].holds(recorded)[0]


def test_some_confidences_lie_exactly_on_bin_edges():
    """Without them, bins [lo, hi) and (lo, hi] give the same ECE and that mistake goes unseen."""
    (with_sure, _, n10), (random_only, _, n15), (with_edges, _, n4) = _ece_cases()
    assert n4 == 4 and int(((with_edges * 4) == (with_edges * 4).round()).sum()) >= 130
    assert (with_sure == 1.0).any() and (with_sure == 0.0).any()
    # The random confidences are nowhere near an edge in float32, where edges may round.
    for confidences, n_bins in ((random_only, n15), (with_sure, n10)):
        scaled = confidences[(confidences > 0) & (confidences < 1)].double() * n_bins
        assert float((scaled - scaled.round()).abs().min()) > 1e-5
